"""Tests of e3teach.viz: equivariance of sh_expansion, surface values, figure sizes, shapes."""
import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from e3nn import o3  # noqa: E402

import e3teach.tensors  # noqa: E402
from e3teach import viz  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture
def float64():
    """e3nn builds Wigner-D matrices in torch's default dtype: float64 for 1e-10 checks."""
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)


def _cloud(n=7, seed=0, dtype=torch.float64):
    return torch.randn(n, 3, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def _random_rotations(k, seed):
    g = torch.Generator().manual_seed(seed)
    return [o3.angles_to_matrix(*(torch.rand(3, generator=g, dtype=torch.float64) * 2 * math.pi))
            for _ in range(k)]


# ----------------------------------------------------------------------------- sh_expansion
@pytest.mark.parametrize("improper", [False, True])
def test_sh_expansion_is_o3_equivariant_float64(improper, float64):
    pos, lmax = _cloud(), 4
    irreps = o3.Irreps.spherical_harmonics(lmax)
    for R in _random_rotations(3, seed=1):
        R = -R if improper else R
        D = irreps.D_from_matrix(R)
        lhs = viz.sh_expansion(pos @ R.T, lmax)
        rhs = viz.sh_expansion(pos, lmax) @ D.T
        assert lhs.dtype == torch.float64 and lhs.shape == ((lmax + 1) ** 2,)
        assert (lhs - rhs).abs().max() < 1e-10


def test_sh_expansion_parity_flips_odd_l():
    pos, lmax = _cloud(), 3
    c, c_inv = viz.sh_expansion(pos, lmax), viz.sh_expansion(-pos, lmax)
    sign = torch.cat([torch.full((2 * l + 1,), (-1.0) ** l, dtype=torch.float64) for l in range(lmax + 1)])
    assert torch.allclose(c_inv, sign * c, atol=1e-12)


def test_sh_expansion_values_numpy_weights_and_origin():
    pos = np.array([[0.0, 0.0, 2.0], [0.0, 0.0, 0.0], [1.0, 0.0, 0.0]])
    c = viz.sh_expansion(pos, 1, weights=[2.0, 5.0, 1.0])
    # the point at the origin is skipped; component normalization: Y_0 = 1, Y_1(n) = sqrt(3) n
    expected = torch.tensor([3.0, math.sqrt(3), 0.0, 2 * math.sqrt(3)], dtype=torch.float64)
    assert torch.allclose(c, expected, atol=1e-12)
    with pytest.raises(ValueError, match=r"\(N, 3\).*\(4, 2\)"):
        viz.sh_expansion(np.zeros((4, 2)), 2)


# ----------------------------------------------------------------------------- sh_surface
def test_sh_surface_radius_is_abs_Y_at_sample_point():
    l, m = 2, -1
    fig = viz.sh_surface(l, m, resolution=12)
    (surface,) = fig.data
    xyz = np.stack([np.asarray(surface.x), np.asarray(surface.y), np.asarray(surface.z)], -1)
    i, j = 5, 7  # a grid point away from the poles
    point = torch.tensor(xyz[i, j], dtype=torch.float64)
    y = o3.spherical_harmonics(l, point / point.norm(), normalize=True, normalization="component")[m + l]
    assert abs(point.norm().item() - abs(y.item())) < 1e-5
    assert abs(float(surface.surfacecolor[i][j]) - y.item()) < 1e-5
    assert surface.cmin == -surface.cmax
    assert fig.layout.title.text.startswith("l=2, m=-1")


def test_orbital_names_match_e3nn_polynomials():
    x = torch.nn.functional.normalize(_cloud(5, seed=3), dim=1)
    X, Y, Z = x.T
    poly = {"p_x": X, "p_y": Y, "p_z": Z, "d_xz": X * Z, "d_xy": X * Y, "d_3y²-r²": 3 * Y**2 - 1,
            "d_yz": Y * Z, "d_z²-x²": Z**2 - X**2}
    for l in (1, 2):
        sh = o3.spherical_harmonics(l, x, normalize=True, normalization="component")
        for m in range(-l, l + 1):
            ratio = sh[:, m + l] / poly[viz.orbital_name(l, m)]
            assert torch.allclose(ratio, ratio[0].expand_as(ratio), atol=1e-10)
    assert viz.orbital_name(0, 0) == "s" and viz.orbital_name(3, 0) is None


def test_sh_figure_json_sizes():
    assert len(viz.sh_surface(3, 2).to_json()) < 150_000
    assert len(viz.sh_grid(2).to_json()) < 400_000
    assert len(viz.sphere_signal(torch.arange(16.0)).to_json()) < 150_000


@pytest.mark.parametrize("l, m, message", [(2, 3, r"-l <= m <= l.*\[-2, 2\]"), (-1, 0, "l must be"),
                                           (1.5, 0, "l must be")])
def test_sh_surface_bad_lm(l, m, message):
    with pytest.raises(ValueError, match=message):
        viz.sh_surface(l, m)


def test_sh_grid_layout():
    fig = viz.sh_grid(2, resolution=8)
    assert sum(t.type == "surface" for t in fig.data) == 1  # the 9 harmonics in one trace: one draw call
    assert [t.text[0] for t in fig.data if t.type == "scatter3d"][:2] == ["l=0, m=0<br>s", "l=1, m=-1<br>p_x"]
    assert sum(t.type == "scatter3d" for t in fig.data) == 9                          # a label each


def stacked_parts(surface) -> list[np.ndarray]:
    """The row indices of each part of a surface stacked by ``_one_surface`` (parts between rows of NaN)."""
    x = viz._values(surface.x)
    gaps = np.flatnonzero(np.isnan(x).all(axis=1))
    return [rows[np.isfinite(x[rows]).all(axis=1)] for rows in np.split(np.arange(len(x)), gaps)]


def test_sh_grid_is_its_harmonics_stacked_with_their_own_colour_ranges():
    """One surface trace, the same picture as one trace per harmonic: each part coloured by Y / max|Y| (its
    own ±range, as sh_surface colours it), hovering its true value (customdata, read [column][row] by plotly)."""
    grid = viz.sh_grid(2, resolution=8)
    surface = next(t for t in grid.data if t.type == "surface")
    colour, value = (np.asarray(a, dtype=float) for a in (surface.surfacecolor, surface.customdata))
    assert (surface.cmin, surface.cmax) == (-1.0, 1.0) and "customdata" in surface.hovertemplate
    parts = stacked_parts(surface)
    assert len(parts) == 9 and value.shape == colour.shape[::-1]
    for k, (l, m) in enumerate((l, m) for l in range(3) for m in range(-l, l + 1)):
        alone = viz.sh_surface(l, m, resolution=8).data[0]
        true = np.asarray(alone.surfacecolor, dtype=float)
        assert np.allclose(value.T[parts[k]], true, atol=1e-6), (l, m)
        assert np.allclose(colour[parts[k]], true / alone.cmax, atol=1e-6), (l, m)


@pytest.mark.parametrize("make", [
    lambda: viz.sh_surface(2, 1, resolution=6),
    lambda: viz.sphere_signal(torch.arange(9.0) - 4, resolution=6),
    lambda: viz.point_cloud_with_signal(torch.eye(3), 2, resolution=6),
    lambda: e3teach.tensors.ellipsoid(torch.diag(torch.tensor([1.0, -0.5, 2.0])), resolution=6),
], ids=["sh_surface", "sphere_signal", "point_cloud_with_signal", "ellipsoid"])
def test_every_surface_hovers_its_colour_value(make):
    """Plotly's surface hover cannot read ``surfacecolor`` (it showed 'f=-'): the values go as customdata,
    which it reads [column][row], so customdata is surfacecolor transposed."""
    surfaces = [t for t in make().data if t.type == "surface"]
    assert surfaces
    for surface in surfaces:
        assert "%{customdata:.3f}" in surface.hovertemplate and "surfacecolor" not in surface.hovertemplate
        assert np.array_equal(np.asarray(surface.customdata).T, np.asarray(surface.surfacecolor))


def test_sphere_signal_values_and_length_check():
    c = torch.zeros(9, dtype=torch.float64)
    c[0] = 2.0  # f = 2 Y_00 = 2: the sphere of radius 2
    fig = viz.sphere_signal(c, resolution=8)
    radius = np.linalg.norm(np.stack([np.asarray(fig.data[0][k]) for k in "xyz"], -1), axis=-1)
    assert np.allclose(radius, 2.0, atol=1e-6)
    flat = viz.sphere_signal(c, radial=False, resolution=8, scale=0.5)
    assert np.allclose(np.linalg.norm(np.stack([np.asarray(flat.data[0][k]) for k in "xyz"], -1), axis=-1), 0.5)
    with pytest.raises(ValueError, match=r"length \(lmax\+1\)\^2.*got length 5"):
        viz.sphere_signal(torch.zeros(5))
    with pytest.raises(ValueError, match="= 16 for lmax=3"):
        viz.sphere_signal(torch.zeros(9), lmax=3)


def test_point_cloud_with_signal():
    pos = _cloud(5)
    fig = viz.point_cloud_with_signal(pos, 3, resolution=10)
    surface = fig.data[0]
    radius = np.linalg.norm(np.stack([np.asarray(surface[k]) for k in "xyz"], -1), axis=-1)
    assert abs(radius.max() - pos.norm(dim=1).max().item()) < 1e-4
    assert any(getattr(t, "meta", None) == "e3teach-points" for t in fig.data)


# ----------------------------------------------------------------------------- point_cloud
def test_point_cloud_traces_overlay_and_shapes():
    pos = _cloud(4)
    assert len(viz.point_cloud(pos).data) == 1
    fig = viz.point_cloud(pos.numpy(), vectors=pos, title="cloud")
    assert len(fig.data) == 3  # points, shafts, cone heads
    assert fig.layout.scene.aspectmode == "data"
    viz.point_cloud(-pos, fig=fig, name="mirrored")
    assert len(fig.data) == 4
    points = [t for t in fig.data if t.meta == "e3teach-points"]
    assert points[0].marker.color != points[1].marker.color
    assert np.allclose(np.asarray(points[1].x), -pos[:, 0].numpy(), atol=1e-6)
    with pytest.raises(ValueError, match=r"pos must have shape \(N, 3\), got shape \(4, 2\)"):
        viz.point_cloud(np.zeros((4, 2)))
    with pytest.raises(ValueError, match=r"vectors must have shape \(4, 3\), got shape \(3, 3\)"):
        viz.point_cloud(pos, vectors=np.zeros((3, 3)))


def test_point_cloud_bonds_and_arrow_heads():
    square = np.array([[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0]], dtype=float)
    fig = viz.point_cloud(square, bonds="auto", labels="abcd")
    bonds = [t for t in fig.data if t.meta == "e3teach-bonds"]
    assert len(bonds) == 1 and list(bonds[0].x).count(None) == 4  # the 4 edges, not the diagonals
    with pytest.raises(ValueError, match="pair"):
        viz.point_cloud(square, bonds=[(0, 9)])
    vec = np.array([[0, 0, 2.0], [0, 0, 0], [1, 0, 0], [0, 1, 0]])
    cone = viz.point_cloud(square, vectors=vec, vector_scale=0.5).data[-1]
    assert len(cone.x) == 3  # no head for the zero vector
    assert np.allclose([cone.x[0], cone.y[0], cone.z[0]], [0, 0, 1.0])  # the tip
    assert len(viz.point_cloud(square, vectors=vec).to_json()) < 20_000
    colored = viz.point_cloud(square, colors=torch.arange(4.0)).data[0]
    assert list(colored.marker.color) == [0, 1, 2, 3]
    with pytest.raises(ValueError, match="one per point"):
        viz.point_cloud(square, colors=[1.0, 2.0])


# ----------------------------------------------------------------------------- matplotlib
def test_plot_curves_1d_2d_and_hline():
    x = np.array([1, 2, 4, 8])
    runs = np.random.default_rng(0).random((3, 4))
    ax = viz.plot_curves(x, {"MLP": runs, "other": torch.arange(4.0)}, xlabel="copies", ylabel="accuracy",
                         logx=True, hline={"equivariant net": 1.0}, title="t")
    assert len(ax.lines) == 3
    assert len(ax.collections) == 1  # one band, for the 2D curve
    assert ax.get_xscale() == "log" and ax.get_title() == "t"
    assert np.allclose(ax.lines[0].get_ydata(), runs.mean(0))
    assert len(ax.get_legend().get_texts()) == 3
    ax2 = viz.plot_curves(x, {"a": runs}, xlabel="x", ylabel="y", band="std")
    assert len(ax2.lines) == 1
    with pytest.raises(ValueError, match=r"'bad' must have shape \(4,\) or \(n_seeds, 4\), got shape \(5,\)"):
        viz.plot_curves(x, {"bad": np.zeros(5)}, xlabel="x", ylabel="y")


def test_static_point_cloud_and_heatmap():
    pos = _cloud(5)
    ax = viz.static_point_cloud(pos, vectors=pos, title="cloud")
    assert ax.name == "3d" and ax.get_title() == "cloud"
    with pytest.raises(ValueError, match="3D Axes"):
        viz.static_point_cloud(pos, ax=plt.figure().add_subplot())
    irreps = o3.Irreps("0e + 1o + 2e")
    D = irreps.D_from_angles(*torch.tensor([0.3, 1.0, -0.2]))
    blocks = viz.irreps_blocks(irreps)
    assert blocks == [("1x0e", 0, 1), ("1x1o", 1, 4), ("1x2e", 4, 9)]
    hm = viz.heatmap(D, block_labels=blocks, title="D")
    assert [t.get_text() for t in hm.get_xticklabels()] == ["1x0e", "1x1o", "1x2e"]
    assert len(hm.lines) == 4  # two boundaries, horizontal and vertical
    with pytest.raises(ValueError, match="2D"):
        viz.heatmap(np.zeros(3))
