r"""Visualizers: plotly for 3D (point clouds, spherical harmonics), matplotlib for curves and
static pictures.

Conventions (the course's, see COURSE.md section 4):

* e3nn's axes: the l=1 components are (x, y, z); the polar axis of e3nn's spherical harmonics is
  **y**, so 3D views here are drawn with y pointing up.
* Rotations act on row-stacked data: positions as ``pos @ R.T``, irreps features as ``x @ D.T``.
* Real spherical harmonics come from ``o3.spherical_harmonics(l, x, normalize=True,
  normalization=...)`` with ``normalization="component"`` by default, so that
  :math:`\sum_m Y_{lm}(n)^2 = 2l+1`.

Every function accepts torch tensors or numpy arrays, raises a ``ValueError`` that names the
expected and the received shape, and returns its figure (plotly) or Axes/Figure (matplotlib)
without showing it. Plotly figures are kept small for executed notebooks: float32 arrays (which
plotly stores as compact base64) and the bare ``"none"`` template.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence, Union

import numpy as np
import plotly.graph_objects as go
import torch
from e3nn import o3

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

ArrayLike = Union[torch.Tensor, np.ndarray, Sequence]

__all__ = [
    "point_cloud",
    "add_arrows",
    "sh_surface",
    "sh_grid",
    "sphere_signal",
    "sh_expansion",
    "point_cloud_with_signal",
    "orbital_name",
    "plot_curves",
    "static_point_cloud",
    "heatmap",
    "irreps_blocks",
    "show",
    "style",
    "static_twin",
    "side_by_side",
    "mimebundle",
]

#: colours used in turn for successive point clouds in one figure
PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b")
#: colour of the arrows drawn by default
ARROW_COLOR = "#111111"
_NORMALIZATIONS = ("component", "norm", "integral")
# a fixed camera, y up as in e3nn's spherical harmonics
_CAMERA = dict(eye=dict(x=1.45, y=0.9, z=1.45), up=dict(x=0.0, y=1.0, z=0.0))
# names of the real SH as atomic orbitals, in e3nn's order and axes (polar axis y); checked in tests
_ORBITALS = {
    0: ("s",),
    1: ("p_x", "p_y", "p_z"),
    2: ("d_xz", "d_xy", "d_3y²-r²", "d_yz", "d_z²-x²"),
}


# ----------------------------------------------------------------------------- small helpers
def _to_numpy(x: ArrayLike, dtype: Any = np.float64) -> np.ndarray:
    """A numpy copy of a tensor, array or nested sequence (detached, on the CPU)."""
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    return np.asarray(x, dtype=dtype)


def _as_points(x: ArrayLike, name: str = "pos", n: int | None = None) -> np.ndarray:
    """``x`` as a float64 array of shape (N, 3), or a ``ValueError`` saying what was expected."""
    arr = _to_numpy(x)
    if arr.ndim != 2 or arr.shape[1] != 3 or (n is not None and arr.shape[0] != n):
        expected = f"({n}, 3)" if n is not None else "(N, 3)"
        raise ValueError(f"{name} must have shape {expected}, got shape {tuple(arr.shape)}")
    return arr


def _f32(a: np.ndarray) -> np.ndarray:
    """float32 copy (plotly serializes it as compact base64)."""
    return np.ascontiguousarray(a, dtype=np.float32)


def _check_normalization(normalization: str) -> None:
    if normalization not in _NORMALIZATIONS:
        raise ValueError(f"normalization must be one of {_NORMALIZATIONS}, got {normalization!r}")


def _check_lm(l: int, m: int | None = None) -> None:
    if not isinstance(l, (int, np.integer)) or isinstance(l, bool) or l < 0:
        raise ValueError(f"l must be an integer >= 0, got {l!r}")
    if m is not None and (not isinstance(m, (int, np.integer)) or not -l <= m <= l):
        raise ValueError(f"m must be an integer with -l <= m <= l, i.e. in [{-l}, {l}] for l={l}; got {m!r}")


def _check_resolution(resolution: int) -> None:
    if not isinstance(resolution, (int, np.integer)) or resolution < 4:
        raise ValueError(f"resolution must be an integer >= 4, got {resolution!r}")


def _segments(starts: np.ndarray, ends: np.ndarray) -> tuple[list, list, list]:
    """x, y, z lists of line segments start->end separated by ``None`` (plotly's line breaks)."""
    coords: tuple[list, list, list] = ([], [], [])
    for a, b in zip(starts, ends):
        for k in range(3):
            coords[k].extend((round(float(a[k]), 5), round(float(b[k]), 5), None))
    return coords


def _bond_pairs(pos: np.ndarray, bonds: str | Iterable[tuple[int, int]] | None) -> list[tuple[int, int]]:
    """Pairs (i, j) to connect: given, or "auto" = pairs closer than 1.1 x the smallest distance."""
    if bonds is None:
        return []
    n = len(pos)
    if isinstance(bonds, str):
        if bonds != "auto":
            raise ValueError(f'bonds must be "auto", None or a list of (i, j) pairs, got {bonds!r}')
        if n < 2:
            return []
        i, j = np.triu_indices(n, k=1)
        dist = np.linalg.norm(pos[i] - pos[j], axis=1)
        positive = dist[dist > 0]
        if positive.size == 0:
            return []
        close = (dist > 0) & (dist < 1.1 * positive.min())
        return list(zip(i[close].tolist(), j[close].tolist()))
    pairs = [tuple(int(k) for k in pair) for pair in bonds]
    for pair in pairs:
        if len(pair) != 2 or not all(0 <= k < n for k in pair):
            raise ValueError(f"each bond must be a pair (i, j) of point indices in [0, {n}), got {pair}")
    return pairs  # type: ignore[return-value]


def _style_scene(fig: go.Figure, *, axes: bool = True, **scene: Any) -> None:
    """Equal aspect, fixed camera, light axes, y up, for every scene of ``fig``."""
    axis = dict(showbackground=False, gridcolor="#e5e5e5", zerolinecolor="#bbbbbb", showspikes=False)
    if not axes:
        axis = dict(visible=False)
    fig.update_scenes(
        aspectmode="data",
        camera=_CAMERA,
        xaxis=dict(axis, title="x" if axes else None),
        yaxis=dict(axis, title="y" if axes else None),
        zaxis=dict(axis, title="z" if axes else None),
        **scene,
    )


def _style_layout(fig: go.Figure, title: str | None) -> None:
    """The course's layout rules (:data:`LAYOUT`, via :func:`style`) on a figure built here."""
    style(fig, title)
    if title is None:
        fig.update_layout(margin=dict(t=20))


def _count_clouds(fig: go.Figure) -> int:
    return sum(1 for trace in fig.data if getattr(trace, "meta", None) == "e3teach-points")


# ----------------------------------------------------------------------------- point clouds
def add_arrows(
    fig: go.Figure,
    origins: ArrayLike,
    vectors: ArrayLike,
    *,
    color: str = ARROW_COLOR,
    name: str | None = None,
    head_fraction: float = 0.25,
    width: float = 5.0,
) -> go.Figure:
    """Draw arrows ``origins[i] -> origins[i] + vectors[i]`` on a 3D plotly figure.

    Two traces: the shafts (one ``Scatter3d`` of line segments) and the heads (one ``go.Cone``
    of length ``head_fraction * |v_i|``, anchored at the tip). Zero vectors get no head.
    """
    start = _as_points(origins, "origins")
    vec = _as_points(vectors, "vectors", n=len(start))
    tip = start + vec
    norm = np.linalg.norm(vec, axis=1)
    keep = norm > 0
    head = vec[keep] * head_fraction
    xs, ys, zs = _segments(start, tip)
    group = name or "arrows"
    fig.add_trace(go.Scatter3d(x=xs, y=ys, z=zs, mode="lines", line=dict(color=color, width=width),
                               name=group, legendgroup=group, hoverinfo="skip", meta="e3teach-arrows"))
    fig.add_trace(go.Cone(
        x=_f32(tip[keep, 0]), y=_f32(tip[keep, 1]), z=_f32(tip[keep, 2]),
        u=_f32(head[:, 0]), v=_f32(head[:, 1]), w=_f32(head[:, 2]),
        sizemode="raw", sizeref=1.0, anchor="tip", colorscale=[[0, color], [1, color]],
        showscale=False, name=group, legendgroup=group, showlegend=False, hoverinfo="skip",
        meta="e3teach-arrowheads",
    ))
    return fig


def point_cloud(
    pos: ArrayLike,
    *,
    vectors: ArrayLike | None = None,
    vector_scale: float = 1.0,
    labels: Sequence[str] | None = None,
    colors: str | ArrayLike | None = None,
    bonds: str | Iterable[tuple[int, int]] | None = None,
    title: str | None = None,
    fig: go.Figure | None = None,
    name: str | None = None,
    vector_origins: ArrayLike | None = None,
    vector_color: str = ARROW_COLOR,
    size: float = 6.0,
    opacity: float = 1.0,
) -> go.Figure:
    """3D scatter of a point cloud ``pos`` (N, 3), optionally with arrows and bonds.

    Traces added: the points; the bonds if any (one line trace); for ``vectors`` two traces
    (shafts and cone heads, see :func:`add_arrows`) drawn from ``pos`` (or from
    ``vector_origins``, shape (M, 3) like ``vectors``) to ``origin + vector_scale * vector``.

    ``bonds``: a list of (i, j), or ``"auto"`` to connect the pairs closer than 1.1 x the smallest
    distance. ``colors``: one colour for all points, or one number per point (colour scale).
    ``fig``: add the traces to this figure (e.g. to overlay a rotated copy); successive clouds get
    successive colours of :data:`PALETTE`. Returns the figure (not shown).
    """
    p = _as_points(pos)
    fig = go.Figure() if fig is None else fig
    name = name or ("points" if _count_clouds(fig) == 0 else f"points {_count_clouds(fig) + 1}")
    default_color = PALETTE[_count_clouds(fig) % len(PALETTE)]
    marker: dict[str, Any] = dict(size=size, opacity=opacity, line=dict(width=0))
    if colors is None or isinstance(colors, str):
        marker["color"] = colors or default_color
        bond_color = marker["color"]
    else:
        values = _to_numpy(colors).reshape(-1)
        if values.shape[0] != len(p):
            raise ValueError(f"colors must be one colour or {len(p)} numbers (one per point), "
                             f"got shape {tuple(_to_numpy(colors).shape)}")
        marker.update(color=_f32(values), colorscale="Viridis", showscale=False)
        bond_color = "#888888"
    text = None
    if labels is not None:
        text = [str(s) for s in labels]
        if len(text) != len(p):
            raise ValueError(f"labels must have one entry per point ({len(p)}), got {len(text)}")
    pairs = _bond_pairs(p, bonds)
    if pairs:
        idx = np.asarray(pairs)
        xs, ys, zs = _segments(p[idx[:, 0]], p[idx[:, 1]])
        fig.add_trace(go.Scatter3d(x=xs, y=ys, z=zs, mode="lines", line=dict(color=bond_color, width=4),
                                   opacity=opacity, name=f"{name} bonds", legendgroup=name,
                                   showlegend=False, hoverinfo="skip", meta="e3teach-bonds"))
    fig.add_trace(go.Scatter3d(
        x=_f32(p[:, 0]), y=_f32(p[:, 1]), z=_f32(p[:, 2]),
        mode="markers+text" if text is not None else "markers", text=text,
        textposition="top center", marker=marker, name=name, legendgroup=name, meta="e3teach-points",
    ))
    if vectors is not None:
        origins = p if vector_origins is None else _as_points(vector_origins, "vector_origins")
        vec = _as_points(vectors, "vectors", n=len(origins)) * vector_scale
        add_arrows(fig, origins, vec, color=vector_color, name=f"{name} vectors")
    _style_scene(fig)
    _style_layout(fig, title)
    return fig


# ----------------------------------------------------------------------------- spherical harmonics
def orbital_name(l: int, m: int) -> str | None:
    """Chemist's name of the real SH Y_l^m in e3nn's basis (polar axis y), for l <= 2; else None.

    For example ``orbital_name(1, -1) == "p_x"``: e3nn's l=1 components are (x, y, z).
    """
    _check_lm(l, m)
    names = _ORBITALS.get(int(l))
    return None if names is None else names[m + l]


def _sphere_grid(resolution: int) -> torch.Tensor:
    r"""Unit vectors on a (resolution+1) x (2 resolution+1) grid, shape (..., 3), float64.

    e3nn's angles: :math:`\beta \in [0, \pi]` from the y axis, :math:`\alpha \in [0, 2\pi]`
    around it, converted with ``o3.angles_to_xyz`` so the components are e3nn's (x, y, z).
    """
    _check_resolution(resolution)
    beta = torch.linspace(0.0, math.pi, resolution + 1, dtype=torch.float64)
    alpha = torch.linspace(0.0, 2 * math.pi, 2 * resolution + 1, dtype=torch.float64)
    b, a = torch.meshgrid(beta, alpha, indexing="ij")
    return o3.angles_to_xyz(a, b)


def _surface_trace(
    values: np.ndarray,
    directions: np.ndarray,
    *,
    radial: bool,
    scale: float | None = None,
    center: ArrayLike | None = None,
    showscale: bool = True,
    opacity: float = 1.0,
    name: str | None = None,
) -> go.Surface:
    r"""A sphere-like surface: point :math:`c + s\,r(n)\,n` with :math:`r = |f(n)|` (or 1), coloured by f.

    ``scale``: when given, the largest radius becomes ``scale``. Colours: a diverging scale with
    symmetric limits :math:`\pm \max |f|` (blue negative, red positive).
    """
    vmax = float(np.abs(values).max())
    vmax = vmax if vmax > 0 else 1.0
    radius = np.abs(values) if radial else np.ones_like(values)
    if scale is not None:
        radius = radius * (scale / max(float(radius.max()), 1e-300))
    xyz = radius[..., None] * directions
    if center is not None:
        xyz = xyz + _to_numpy(center).reshape(3)
    return go.Surface(
        x=_f32(xyz[..., 0]), y=_f32(xyz[..., 1]), z=_f32(xyz[..., 2]), surfacecolor=_f32(values),
        colorscale="RdBu_r", cmin=-vmax, cmax=vmax, cmid=0.0, showscale=showscale, opacity=opacity,
        colorbar=dict(thickness=12, len=0.6), name=name, hovertemplate="f=%{surfacecolor:.3f}<extra></extra>",
    )


def sh_surface(
    l: int,
    m: int,
    *,
    resolution: int = 40,
    normalization: str = "component",
    fig: go.Figure | None = None,
    row: int | None = None,
    col: int | None = None,
    showscale: bool = True,
) -> go.Figure:
    r"""The real spherical harmonic :math:`Y_l^m` as the surface :math:`r(n) = |Y_l^m(n)|\,n`.

    Colour = value of :math:`Y_l^m` (diverging, symmetric limits), so the sign shows as blue/red.
    ``m`` runs over -l..l and picks index ``m + l`` of ``o3.spherical_harmonics(l, n, True,
    normalization)``. With ``fig``, ``row``, ``col`` the surface goes into a subplot of ``fig``
    (a grid made with ``make_subplots(..., specs=[[{"type": "scene"}, ...]])``).
    """
    _check_lm(l, m)
    _check_normalization(normalization)
    n = _sphere_grid(resolution)
    y = o3.spherical_harmonics(int(l), n, normalize=True, normalization=normalization)[..., m + l]
    orbital = orbital_name(l, m)
    label = f"l={l}, m={m}" + (f" ({orbital})" if orbital else "")
    trace = _surface_trace(y.numpy(), n.numpy(), radial=True, showscale=showscale, name=label)
    in_subplot = fig is not None and row is not None and col is not None
    fig = go.Figure() if fig is None else fig
    if in_subplot:
        fig.add_trace(trace, row=row, col=col)
    else:
        fig.add_trace(trace)
        _style_scene(fig)
        _style_layout(fig, label)
    return fig


def sh_grid(lmax: int, *, resolution: int = 24, normalization: str = "component") -> go.Figure:
    """All real SH :math:`Y_l^m`, l <= lmax, in ONE 3D scene: row l, column m (centred), each labelled.

    One WebGL context for the whole table (see :func:`side_by_side`); each surface is the radial plot
    :math:`|Y_l^m(n)|\,n` scaled to the same size so that shapes compare.
    """
    _check_lm(lmax)
    figs, labels, cells = [], [], []
    for l in range(lmax + 1):
        for m in range(-l, l + 1):
            f = sh_surface(l, m, resolution=resolution, normalization=normalization, showscale=False)
            f.data[0].update(x=_f32(_values(f.data[0].x) / _radius(f.data[0])),
                             y=_f32(_values(f.data[0].y) / _radius(f.data[0])),
                             z=_f32(_values(f.data[0].z) / _radius(f.data[0])))
            orbital = orbital_name(l, m)
            figs.append(f)
            labels.append(f"l={l}, m={m}" + (f"<br>{orbital}" if orbital else ""))
            cells.append((l, m + lmax))
    return side_by_side(figs, labels, cells=cells, gap=0.55,
                        title=f"real spherical harmonics, l ≤ {lmax} (rows l, columns m)")


def _radius(surface: Any) -> float:
    """Largest distance from the origin of a surface trace's points."""
    x, y, z = (_values(v) for v in (surface.x, surface.y, surface.z))
    return float(np.sqrt(x ** 2 + y ** 2 + z ** 2).max()) or 1.0


def _lmax_from_length(length: int, lmax: int | None) -> int:
    guess = math.isqrt(length) - 1
    if lmax is None:
        if (guess + 1) ** 2 != length or length == 0:
            raise ValueError(f"coefficients must have length (lmax+1)^2 (1, 4, 9, 16, ...), got length {length}")
        return guess
    _check_lm(lmax)
    if length != (lmax + 1) ** 2:
        raise ValueError(f"coefficients must have length (lmax+1)^2 = {(lmax + 1) ** 2} for lmax={lmax}, "
                         f"got length {length}")
    return int(lmax)


def sphere_signal(
    coefficients: ArrayLike,
    lmax: int | None = None,
    *,
    resolution: int = 40,
    normalization: str = "component",
    radial: bool = True,
    fig: go.Figure | None = None,
    title: str | None = None,
    scale: float | None = None,
    center: ArrayLike | None = None,
    opacity: float = 1.0,
    showscale: bool = True,
) -> go.Figure:
    r"""A function on the sphere :math:`f(n) = \sum_{l \le l_{max}} \sum_m c_{lm} Y_{lm}(n)`.

    ``coefficients``: 1D, length (lmax+1)^2, in the order of ``o3.Irreps.spherical_harmonics(lmax)``
    (l = 0, 1, ..., each with m = -l..l); ``lmax`` is inferred from the length when not given.
    Drawn as the surface of radius |f| (``radial=True``) or as the unit sphere, coloured by f.
    ``scale`` rescales so that the largest radius is ``scale``; ``center`` moves the surface.
    """
    c = _to_numpy(coefficients)
    if c.ndim != 1:
        raise ValueError(f"coefficients must be 1D of length (lmax+1)^2, got shape {tuple(c.shape)}")
    lmax = _lmax_from_length(c.shape[0], lmax)
    _check_normalization(normalization)
    n = _sphere_grid(resolution)
    basis = o3.spherical_harmonics(o3.Irreps.spherical_harmonics(lmax), n, normalize=True,
                                   normalization=normalization)
    values = (basis @ torch.as_tensor(c, dtype=torch.float64)).numpy()
    fig = go.Figure() if fig is None else fig
    fig.add_trace(_surface_trace(values, n.numpy(), radial=radial, scale=scale, center=center,
                                 showscale=showscale, opacity=opacity, name=f"signal (lmax={lmax})"))
    _style_scene(fig)
    _style_layout(fig, title)
    return fig


def sh_expansion(
    pos: ArrayLike,
    lmax: int,
    *,
    normalization: str = "component",
    weights: ArrayLike | None = None,
) -> torch.Tensor:
    r"""SH coefficients of a point cloud's signal on the sphere: :math:`c = \sum_i w_i\, Y(\hat r_i)`.

    :math:`\hat r_i = r_i / |r_i|` is the direction of point i *seen from the origin*: centre the
    cloud first (e.g. ``pos - pos.mean(0)``) if you want its shape about its centroid. Points at the
    origin have no direction and are skipped. ``weights`` (N,) default to 1.

    Returns a 1D tensor of length (lmax+1)^2 in the order of ``o3.Irreps.spherical_harmonics(lmax)``
    (float64 for numpy input, the input's dtype for a floating tensor). It is exactly equivariant
    under O(3): ``sh_expansion(pos @ R.T) == sh_expansion(pos) @ D.T`` with
    ``D = o3.Irreps.spherical_harmonics(lmax).D_from_matrix(R)``, also for det R = -1 (for a
    1e-10 check set ``torch.set_default_dtype(torch.float64)``: e3nn builds D in the default dtype).
    """
    _check_lm(lmax)
    _check_normalization(normalization)
    if isinstance(pos, torch.Tensor):
        p = pos if pos.is_floating_point() else pos.to(torch.get_default_dtype())
    else:
        p = torch.as_tensor(_to_numpy(pos))
    if p.ndim != 2 or p.shape[1] != 3:
        raise ValueError(f"pos must have shape (N, 3), got shape {tuple(p.shape)}")
    w = torch.ones(len(p), dtype=p.dtype, device=p.device)
    if weights is not None:
        w = torch.as_tensor(_to_numpy(weights), dtype=p.dtype, device=p.device)
        if w.shape != (len(p),):
            raise ValueError(f"weights must have shape ({len(p)},), got shape {tuple(w.shape)}")
    keep = p.norm(dim=1) > 0
    y = o3.spherical_harmonics(o3.Irreps.spherical_harmonics(lmax), p[keep], normalize=True,
                               normalization=normalization)
    return (w[keep, None] * y).sum(0)


def point_cloud_with_signal(
    pos: ArrayLike,
    lmax: int,
    *,
    normalization: str = "component",
    resolution: int = 40,
    radial: bool = True,
    signal_scale: float = 1.0,
    opacity: float = 0.55,
    vectors: ArrayLike | None = None,
    bonds: str | Iterable[tuple[int, int]] | None = None,
    title: str | None = None,
    fig: go.Figure | None = None,
) -> go.Figure:
    r"""The cloud and its SH signal :math:`f(n) = \sum_{lm} c_{lm} Y_{lm}(n)`, :math:`c` = :func:`sh_expansion`.

    The signal is drawn about the origin (centre the cloud first), semi-transparent, rescaled so
    its largest radius is ``signal_scale`` x the largest |pos_i|. Rotating the cloud rotates the
    signal with it: that is the equivariance :math:`c(R\,\cdot) = D(R)\,c`.
    """
    p = _as_points(pos)
    size = float(np.linalg.norm(p, axis=1).max()) if len(p) else 1.0
    coefficients = sh_expansion(p, lmax, normalization=normalization)
    fig = sphere_signal(coefficients, lmax, resolution=resolution, normalization=normalization, radial=radial,
                        fig=fig, scale=signal_scale * (size if size > 0 else 1.0), opacity=opacity,
                        showscale=False)
    title = f"point cloud and its SH signal (lmax={lmax})" if title is None else title
    return point_cloud(p, vectors=vectors, bonds=bonds, fig=fig, title=title)


# ----------------------------------------------------------------------------- matplotlib
def plot_curves(
    x: ArrayLike,
    curves: Mapping[str, ArrayLike],
    *,
    xlabel: str = "",
    ylabel: str = "",
    logx: bool = False,
    logy: bool = False,
    title: str | None = None,
    ax: "Axes | None" = None,
    hline: Mapping[str, float] | None = None,
    band: str = "minmax",
) -> "Axes":
    """Curves y(x) with markers and a legend; one line per entry of ``curves`` (+ one per ``hline``).

    Each curve is (len(x),) or (n_seeds, len(x)); for 2D data the line is the mean over seeds and
    a shaded band shows min-max (``band="minmax"``) or mean ± std (``band="std"``).
    ``hline``: labelled horizontal references, e.g. ``{"equivariant net": 1.0}``.
    """
    import matplotlib.pyplot as plt

    if band not in ("minmax", "std"):
        raise ValueError(f'band must be "minmax" or "std", got {band!r}')
    xs = _to_numpy(x)
    if xs.ndim != 1:
        raise ValueError(f"x must be 1D, got shape {tuple(xs.shape)}")
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4))
    markers = "osD^vPX*"
    for k, (label, data) in enumerate(curves.items()):
        y = _to_numpy(data)
        if y.ndim == 1:
            y = y[None]
        if y.ndim != 2 or y.shape[1] != len(xs):
            raise ValueError(f"curve {label!r} must have shape ({len(xs)},) or (n_seeds, {len(xs)}), "
                             f"got shape {tuple(_to_numpy(data).shape)}")
        mean = y.mean(0)
        (line,) = ax.plot(xs, mean, marker=markers[k % len(markers)], label=label)
        if y.shape[0] > 1:
            low, high = (y.min(0), y.max(0)) if band == "minmax" else (mean - y.std(0), mean + y.std(0))
            ax.fill_between(xs, low, high, color=line.get_color(), alpha=0.2, linewidth=0)
    for k, (label, value) in enumerate((hline or {}).items()):
        ax.axhline(float(value), color="0.25", linestyle=("--", ":", "-.")[k % 3], label=label)
    if logx:
        from matplotlib.ticker import NullFormatter

        ax.set_xscale("log")
        if len(np.unique(xs)) <= 12:  # label the measured x values, plainly
            ax.set_xticks(xs, [f"{v:g}" for v in xs])
            ax.xaxis.set_minor_formatter(NullFormatter())
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title is not None:
        ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    return ax


def _mpl_arrows(ax: Any, origins: np.ndarray, vectors: np.ndarray, color: str) -> None:
    if len(origins):
        ax.quiver(*origins.T, *vectors.T, color=color, arrow_length_ratio=0.2, linewidth=1.5)


def static_point_cloud(
    pos: ArrayLike,
    *,
    vectors: ArrayLike | None = None,
    ax: Any = None,
    title: str | None = None,
    vector_origins: ArrayLike | None = None,
    vector_scale: float = 1.0,
    bonds: str | Iterable[tuple[int, int]] | None = None,
    color: str = PALETTE[0],
    vector_color: str = "C3",
    lim: float | None = None,
) -> Any:
    """A static matplotlib 3D picture of a point cloud (N, 3) with optional arrows.

    Arrows go from ``pos`` (or ``vector_origins``) along ``vector_scale * vectors``. Equal axes,
    y up as in e3nn; ``lim`` fixes the box to [-lim, lim]^3 (to compare several panels).
    Returns the 3D Axes (a new figure if ``ax`` is None).
    """
    import matplotlib.pyplot as plt

    p = _as_points(pos)
    if ax is None:
        ax = plt.figure(figsize=(4, 4)).add_subplot(projection="3d")
    elif getattr(ax, "name", None) != "3d":
        raise ValueError("ax must be a 3D Axes, e.g. fig.add_subplot(projection='3d')")
    ax.scatter(*p.T, color=color, s=30, depthshade=False)
    for i, j in _bond_pairs(p, bonds):
        ax.plot(*np.stack([p[i], p[j]]).T, color=color, alpha=0.6)
    drawn = [p]
    if vectors is not None:
        origins = p if vector_origins is None else _as_points(vector_origins, "vector_origins")
        vec = _as_points(vectors, "vectors", n=len(origins)) * vector_scale
        _mpl_arrows(ax, origins, vec, vector_color)
        drawn.append(origins + vec)
    if lim is None:
        every = np.concatenate(drawn)
        center = (every.max(0) + every.min(0)) / 2 if len(every) else np.zeros(3)
        half = max(float((every.max(0) - every.min(0)).max()) / 2 * 1.1, 1e-6) if len(every) else 1.0
    else:
        center, half = np.zeros(3), float(lim)
    return style_3d_axes(ax, center, half, title)


def style_3d_axes(ax, center, half: float, title: str | None = None):
    """Cube-shaped matplotlib 3D axes of half-width ``half`` around ``center``, y up as in e3nn's harmonics."""
    for setter, c in zip((ax.set_xlim, ax.set_ylim, ax.set_zlim), center):
        setter(c - half, c + half)
    ax.set_box_aspect((1, 1, 1))
    ax.view_init(elev=20, azim=35, vertical_axis="y")
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.set_zlabel("z")
    if title is not None:
        ax.set_title(title)
    return ax


def irreps_blocks(irreps: str | o3.Irreps) -> list[tuple[str, int, int]]:
    """``(label, start, stop)`` for each ``mul x ir`` of ``irreps``: the ``block_labels`` of :func:`heatmap`."""
    irreps = o3.Irreps(irreps)
    return [(str(mul_ir), s.start, s.stop) for mul_ir, s in zip(irreps, irreps.slices())]


def heatmap(
    matrix: ArrayLike,
    *,
    ax: "Axes | None" = None,
    title: str | None = None,
    block_labels: Sequence[tuple[str, int, int]] | None = None,
    cmap: str = "RdBu_r",
    colorbar: bool = True,
) -> "Axes":
    """A matrix as a heatmap with symmetric colour limits ±max|M| (zero is white).

    ``block_labels``: ``(label, start, stop)`` blocks of a square matrix (e.g. the irreps of a
    block-diagonal Wigner-D, see :func:`irreps_blocks`): separator lines and labelled ticks.
    """
    import matplotlib.pyplot as plt

    m = _to_numpy(matrix)
    if m.ndim != 2:
        raise ValueError(f"matrix must be 2D, got shape {tuple(m.shape)}")
    if ax is None:
        _, ax = plt.subplots(figsize=(4.5, 4))
    vmax = float(np.abs(m).max()) if m.size else 1.0
    vmax = vmax if vmax > 0 else 1.0
    image = ax.imshow(m, cmap=cmap, vmin=-vmax, vmax=vmax, interpolation="nearest")
    if colorbar:
        ax.figure.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    if block_labels:
        if m.shape[0] != m.shape[1]:
            raise ValueError(f"block_labels need a square matrix, got shape {tuple(m.shape)}")
        centers, names, edges = [], [], set()
        for label, start, stop in block_labels:
            if not 0 <= start < stop <= m.shape[0]:
                raise ValueError(f"block ({label!r}, {start}, {stop}) must satisfy 0 <= start < stop <= {m.shape[0]}")
            edges |= {e for e in (start, stop) if 0 < e < m.shape[0]}
            centers.append((start + stop - 1) / 2)
            names.append(label)
        for edge in sorted(edges):
            ax.axhline(edge - 0.5, color="k", linewidth=0.8)
            ax.axvline(edge - 0.5, color="k", linewidth=0.8)
        ax.set_xticks(centers, names, rotation=90)
        ax.set_yticks(centers, names)
    if title is not None:
        ax.set_title(title)
    return ax


# ----------------------------------------------------------------------------- layout rules and static twins
#: the course's one plotly look: bare template, room for a title, nothing clipped at the bottom
LAYOUT = dict(template="none", font=dict(size=12), margin=dict(l=10, r=10, b=30, t=60),
              legend=dict(x=0.0, y=1.0, bgcolor="rgba(255,255,255,0.6)"))
#: size (pixels) of a static twin when the figure sets none
TWIN_SIZE = (720, 460)
TWIN_DPI = 80


def style(fig: go.Figure, title: str | None = None, *, height: int | None = None) -> go.Figure:
    """Apply the course's layout rules to a figure you built yourself (template, margins, title); return it.

    The top margin leaves room for the title (and for subplot titles, which plotly draws above each
    subplot's domain), the bottom margin for axis labels; 3D scenes get equal aspect, y up.
    """
    fig.update_layout(**LAYOUT)
    if title is not None:
        fig.update_layout(title=dict(text=title, x=0.5, xanchor="center", y=0.98, yanchor="top"))
    if height is not None:
        fig.update_layout(height=height)
    if any(trace.type in _THREE_D for trace in fig.data) and fig.layout.scene.aspectmode is None:
        _style_scene(fig)  # a figure built by hand: equal aspect, the course's camera (y up)
    return fig


_THREE_D = {"scatter3d", "surface", "mesh3d", "cone"}
_PLOTLY_SCALES = {"rdbu_r": "RdBu_r", "rdbu": "RdBu", "viridis": "viridis", "plasma": "plasma",
                  "blues": "Blues", "reds": "Reds", "greys": "Greys", "cividis": "cividis", "twilight": "twilight"}


def _mpl_color(color: Any, default: str = PALETTE[0]) -> Any:
    """A matplotlib colour from a plotly one ('#rrggbb', 'rgb(r,g,b)', 'rgba(r,g,b,a)', a name)."""
    if color is None:
        return default
    if isinstance(color, str):
        text = color.strip().lower()
        if text.startswith("rgb"):
            parts = [float(v) for v in text[text.index("(") + 1:text.index(")")].split(",")]
            rgb = [v / 255.0 for v in parts[:3]]
            return (*rgb, parts[3] if len(parts) > 3 else 1.0)
        return color
    return default


def _cmap(scale: Any):
    import matplotlib

    if isinstance(scale, str):
        name = _PLOTLY_SCALES.get(scale.lower(), "viridis")
        return matplotlib.colormaps[name]
    if isinstance(scale, (list, tuple)) and scale:  # [[0, color], ..., [1, color]]
        from matplotlib.colors import LinearSegmentedColormap

        return LinearSegmentedColormap.from_list("plotly", [(float(v), _mpl_color(c)) for v, c in scale])
    return matplotlib.colormaps["viridis"]


def _values(a: Any) -> np.ndarray:
    """A plotly data array (tuple, list with None for breaks, numpy, base64 dict) as float numpy (None → nan)."""
    if a is None:
        return np.zeros(0)
    if isinstance(a, dict) and "bdata" in a:  # plotly's typed-array encoding
        import base64

        return np.frombuffer(base64.b64decode(a["bdata"]), dtype=np.dtype(a["dtype"])).astype(float).reshape(
            a.get("shape", -1) if isinstance(a.get("shape"), (list, tuple)) else -1)
    arr = np.asarray(a, dtype=object)
    return np.where(arr == None, np.nan, arr).astype(float)  # noqa: E711


def _marker_colors(marker: Any, n: int, default: str) -> Any:
    color = getattr(marker, "color", None) if marker is not None else None
    if color is None or isinstance(color, str):
        return _mpl_color(color, default)
    values = np.asarray(color, dtype=object)
    if values.size and isinstance(values.flat[0], str):
        return [_mpl_color(c, default) for c in values.flat]
    numbers = values.astype(float)
    lo = marker.cmin if getattr(marker, "cmin", None) is not None else float(np.nanmin(numbers))
    hi = marker.cmax if getattr(marker, "cmax", None) is not None else float(np.nanmax(numbers))
    return _cmap(getattr(marker, "colorscale", None) or "viridis")((numbers - lo) / ((hi - lo) or 1.0))


def _draw_3d(ax: Any, traces: Sequence[Any]) -> list[np.ndarray]:
    """Draw plotly 3D traces on a matplotlib 3D Axes; return the drawn points (for the limits)."""
    drawn: list[np.ndarray] = []
    for k, t in enumerate(traces):
        default = PALETTE[k % len(PALETTE)]
        opacity = t.opacity if getattr(t, "opacity", None) is not None else 1.0
        if t.type == "surface":
            x, y, z = (_values(v) for v in (t.x, t.y, t.z))
            c = _values(t.surfacecolor) if t.surfacecolor is not None else z
            lo = t.cmin if t.cmin is not None else float(np.nanmin(c))
            hi = t.cmax if t.cmax is not None else float(np.nanmax(c))
            faces = _cmap(t.colorscale or "viridis")((c - lo) / ((hi - lo) or 1.0))
            ax.plot_surface(x, y, z, facecolors=faces, rstride=1, cstride=1, linewidth=0,
                            antialiased=False, shade=False, alpha=opacity)
            drawn.append(np.stack([x.ravel(), y.ravel(), z.ravel()], 1))
        elif t.type == "scatter3d":
            x, y, z = (_values(v) for v in (t.x, t.y, t.z))
            mode = t.mode or ("lines+markers" if len(x) < 20 else "lines")
            if "lines" in mode:
                line_color = _mpl_color(getattr(t.line, "color", None), default)
                width = getattr(t.line, "width", None) or 2
                ax.plot(x, y, z, color=line_color if not isinstance(line_color, list) else default,
                        linewidth=0.6 * width, alpha=opacity, label=t.name if t.showlegend is not False else None)
            if "markers" in mode:
                size = getattr(t.marker, "size", None)
                size = 6 if size is None or not np.isscalar(size) else size
                ax.scatter(x, y, z, color=_marker_colors(t.marker, len(x), default), s=1.5 * size ** 2 / 4,
                           depthshade=False, alpha=opacity,
                           label=t.name if ("lines" not in mode and t.showlegend is not False) else None)
            if "text" in mode and t.text is not None:
                texts = [t.text] * len(x) if isinstance(t.text, str) else list(t.text)
                for xi, yi, zi, s in zip(x, y, z, texts):
                    ax.text(xi, yi, zi, str(s), fontsize=8, ha="center")
            keep = np.isfinite(x)
            drawn.append(np.stack([x[keep], y[keep], z[keep]], 1))
        elif t.type == "cone":
            xyz = np.stack([_values(v) for v in (t.x, t.y, t.z)], 1)
            uvw = np.stack([_values(v) for v in (t.u, t.v, t.w)], 1)
            color = _mpl_color(t.colorscale[0][1] if isinstance(t.colorscale, (list, tuple)) and t.colorscale
                               else None, ARROW_COLOR)
            if t.sizemode == "raw":  # the course's arrow heads: |(u, v, w)| is the head's length
                ax.quiver(*xyz.T, *uvw.T, normalize=False, color=color, pivot="tip", linewidth=1.5,
                          arrow_length_ratio=1.0)
            else:
                size = 0.1 * max(float(np.ptp(np.concatenate(drawn), 0).max()) if drawn else 1.0, 1e-6)
                ax.quiver(*xyz.T, *uvw.T, length=size, normalize=True, color=color, pivot="tip", linewidth=1.5)
            drawn.append(xyz)
        elif t.type == "mesh3d":
            x, y, z = (_values(v) for v in (t.x, t.y, t.z))
            tri = np.stack([np.asarray(t.i, int), np.asarray(t.j, int), np.asarray(t.k, int)], 1)
            ax.plot_trisurf(x, y, z, triangles=tri, color=_mpl_color(t.color, default), alpha=opacity)
            drawn.append(np.stack([x, y, z], 1))
    return drawn


def _scene_axes_style(ax: Any, scene: Any, drawn: list[np.ndarray], title: str | None) -> None:
    points = np.concatenate(drawn) if drawn else np.zeros((1, 3))
    points = points[np.isfinite(points).all(1)] if len(points) else np.zeros((1, 3))
    lo, hi = points.min(0), points.max(0)
    ranges = [getattr(getattr(scene, name), "range", None) for name in ("xaxis", "yaxis", "zaxis")]
    for d, r in enumerate(ranges):
        if r is not None:
            lo[d], hi[d] = r
    span = np.maximum(hi - lo, 1e-3 * max(float((hi - lo).max()), 1e-9))  # a flat cloud keeps a thin box
    lo, hi = (lo + hi) / 2 - span / 2, (lo + hi) / 2 + span / 2
    if getattr(scene, "aspectmode", None) == "cube":
        center, half = (lo + hi) / 2, float(span.max()) / 2
        lo, hi, span = center - half, center + half, np.full(3, 2 * half)
    for setter, a, b in zip((ax.set_xlim, ax.set_ylim, ax.set_zlim), lo, hi):
        setter(a, b)
    # with y vertical, matplotlib orders the box's aspect as (z, x, y) on screen
    ax.set_box_aspect(tuple(span[[2, 0, 1]] / span.max()), zoom=0.95)  # room for the tick labels
    eye = getattr(getattr(scene, "camera", None), "eye", None)
    ex, ey, ez = (eye.x, eye.y, eye.z) if eye is not None and eye.x is not None else (1.45, 0.9, 1.45)
    # y is vertical (e3nn's polar axis); matplotlib's azimuth is measured in the z-x plane from z
    ax.view_init(elev=math.degrees(math.atan2(ey, math.hypot(ex, ez))), azim=math.degrees(math.atan2(ex, ez)),
                 vertical_axis="y")
    projection = getattr(getattr(getattr(scene, "camera", None), "projection", None), "type", None)
    ax.set_proj_type("ortho" if projection == "orthographic" else "persp")
    if getattr(scene.xaxis, "visible", None) is False:
        ax.set_axis_off()
    else:
        for set_label, name in zip((ax.set_xlabel, ax.set_ylabel, ax.set_zlabel), "xyz"):
            set_label(name, labelpad=-8)
        ax.tick_params(labelsize=7, pad=-2)
        ax.locator_params(nbins=4)
    if title:
        ax.set_title(title, fontsize=9, pad=0)


def static_twin(fig: go.Figure, *, dpi: int = TWIN_DPI) -> Any:
    """A matplotlib picture of a plotly figure: the static twin GitHub and nbviewer readers see.

    Draws the traces the course uses (scatter3d markers/lines/text, surface, cone, mesh3d, 2D scatter
    and heatmap) on one matplotlib Axes per plotly scene or 2D axes, placed at the scene's domain,
    with plotly's camera (y up). Returns the matplotlib Figure (closed in pyplot).
    """
    import matplotlib.pyplot as plt

    fig = fig if isinstance(fig, go.Figure) else go.Figure(fig)
    if getattr(fig, "_e3teach_parts", None) is not None:
        return _static_grid(fig, dpi)
    layout = fig.layout
    width, height = layout.width or TWIN_SIZE[0], layout.height or TWIN_SIZE[1]
    out = plt.figure(figsize=(width / 100, height / 100), dpi=dpi)
    groups: dict[str, list] = {}
    for t in fig.data:
        key = (t.scene or "scene") if t.type in _THREE_D else (getattr(t, "xaxis", None) or "x")
        groups.setdefault(key, []).append(t)
    titles = _subplot_titles(fig)
    top = 1.0 - (0.09 if layout.title.text else 0.02)
    for key, traces in groups.items():
        three_d = key.startswith("scene")
        if three_d:
            x_domain, y_domain = layout[key].domain.x, layout[key].domain.y
        else:
            x_domain, y_domain = layout["xaxis" + key[1:]].domain, layout["yaxis" + key[1:]].domain
        (x0, x1) = x_domain if x_domain else (0, 1)
        (y0, y1) = y_domain if y_domain else (0, 1)
        rect = [x0 + 0.04, y0 * top + 0.05, (x1 - x0) - 0.06, (y1 - y0) * top - 0.07]  # room for tick labels
        title = titles.get(key)
        if three_d:
            ax = out.add_axes(rect, projection="3d")
            _scene_axes_style(ax, layout[key], _draw_3d(ax, traces), title)
        else:
            ax = out.add_axes(rect)
            _draw_2d(ax, traces, layout, key)
            if title:
                ax.set_title(title, fontsize=9)
        named = [h for h in ax.get_legend_handles_labels()[1] if h and not h.startswith("_")]
        if len(named) > 1 and layout.showlegend is not False:
            ax.legend(fontsize=7, loc="upper left", frameon=False)
    if layout.title.text:
        out.suptitle(_plain(layout.title.text), fontsize=11, y=0.995, va="top")
    plt.close(out)
    return out


def _static_grid(fig: go.Figure, dpi: int) -> Any:
    """The twin of a :func:`side_by_side` figure: one small matplotlib 3D panel per part, on its grid cell."""
    import matplotlib.pyplot as plt

    figs, titles, cells = fig._e3teach_parts
    rows, cols = 1 + max(r for r, _ in cells), 1 + max(c for _, c in cells)
    panel = min(3.2, TWIN_SIZE[0] / 100 / cols * 1.3)
    out = plt.figure(figsize=(panel * cols, panel * rows + 0.4), dpi=dpi)
    boxes = [np.concatenate(_points_of(part.data)) for part in figs]
    half = 0.5 * max(float(np.ptp(b, 0).max()) for b in boxes) or 1.0  # one scale for every panel
    for part, label, (r, c), points in zip(figs, titles, cells, boxes):
        ax = out.add_subplot(rows, cols, r * cols + c + 1, projection="3d")
        _scene_axes_style(ax, part.layout.scene, _draw_3d(ax, part.data), label)
        center = (points.min(0) + points.max(0)) / 2
        for setter, m in zip((ax.set_xlim, ax.set_ylim, ax.set_zlim), center):
            setter(m - half, m + half)
        ax.set_box_aspect((1, 1, 1), zoom=1.0)
        ax.set_axis_off()
    if fig.layout.title.text:
        out.suptitle(_plain(fig.layout.title.text), fontsize=11)
    out.subplots_adjust(left=0, right=1, bottom=0, top=1 - 0.4 / (panel * rows + 0.4), wspace=0, hspace=0.05)
    plt.close(out)
    return out


def _plain(text: str) -> str:
    import re

    return re.sub(r"<[^>]+>", "", text.replace("<br>", " "))


def _subplot_titles(fig: go.Figure) -> dict[str, str]:
    """Subplot titles (annotations above a domain) by the scene/axes key whose domain they centre."""
    titles: dict[str, str] = {}
    keys = [k for k in fig.layout if k.startswith("scene")] or []
    keys += ["x" + k[5:] for k in fig.layout if k.startswith("xaxis")]
    for a in fig.layout.annotations or ():
        if a.xref != "paper" or a.text is None:
            continue
        best, dist = None, 1e9
        for key in keys:
            if key.startswith("scene"):
                xdom, ydom = fig.layout[key].domain.x, fig.layout[key].domain.y
            else:
                xdom, ydom = fig.layout["xaxis" + key[1:]].domain, fig.layout["yaxis" + key[1:]].domain
            if not xdom or not ydom:
                continue
            d = abs((xdom[0] + xdom[1]) / 2 - a.x) + abs(ydom[1] - a.y)
            if d < dist:
                best, dist = key, d
        if best is not None:
            titles[best] = _plain(a.text)
    return titles


def _draw_2d(ax: Any, traces: Sequence[Any], layout: Any, key: str) -> None:
    for k, t in enumerate(traces):
        default = PALETTE[k % len(PALETTE)]
        if t.type == "heatmap":
            z = _values(t.z)
            ax.imshow(z, origin="lower", aspect="auto", cmap=_cmap(t.colorscale or "viridis"))
        elif t.type in ("scatter", "scattergl"):
            x, y = _values(t.x), _values(t.y)
            if not len(x):
                x = np.arange(len(y), dtype=float)
            mode = t.mode or "lines"
            ax.plot(x, y, ("-" if "lines" in mode else "") + ("o" if "markers" in mode else ""),
                    color=_mpl_color(getattr(t.line, "color", None) or getattr(t.marker, "color", None), default),
                    markersize=4, label=t.name)
        elif t.type == "bar":
            ax.bar(np.arange(len(_values(t.y))) if t.x is None else list(t.x), _values(t.y),
                   color=_mpl_color(getattr(t.marker, "color", None), default), label=t.name)
    xaxis, yaxis = layout["xaxis" + key[1:]], layout["yaxis" + key[1:]]
    if xaxis.title.text:
        ax.set_xlabel(_plain(xaxis.title.text))
    if yaxis.title.text:
        ax.set_ylabel(_plain(yaxis.title.text))
    if xaxis.type == "log":
        ax.set_xscale("log")
    if yaxis.type == "log":
        ax.set_yscale("log")
    ax.grid(alpha=0.3)


def png_bytes(picture: Any, *, dpi: int = TWIN_DPI) -> bytes:
    """PNG bytes of a matplotlib Figure, or of a plotly figure's :func:`static_twin`."""
    import io

    if isinstance(picture, (go.Figure, dict)):
        picture = static_twin(picture, dpi=dpi)
    buffer = io.BytesIO()
    picture.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
    return buffer.getvalue()


def mimebundle(fig: go.Figure, *, static: Any = None) -> dict:
    """One output holding the interactive figure (plotly's mimetype) and its PNG twin.

    JupyterLab renders the richest type it knows (the plotly figure); GitHub and nbviewer, which do not
    run plotly, show the PNG. ``static``: a matplotlib Figure to use as the twin instead of
    :func:`static_twin`.
    """
    import base64

    import plotly.io as pio

    bundle = pio.renderers["plotly_mimetype"].to_mimebundle(fig.to_dict())
    bundle["image/png"] = base64.b64encode(png_bytes(fig if static is None else static)).decode("ascii")
    bundle["text/plain"] = f"<plotly figure: {_plain(fig.layout.title.text or 'untitled')}>"
    return bundle


def show(fig: Any, *, static: Any = None, alt: str | None = None) -> None:
    """Display a figure with its text alternative, as one output.

    ``fig``: a plotly figure (shown with its static twin, see :func:`mimebundle`) or a matplotlib
    Figure (shown as a PNG, then closed so that the inline backend does not draw it twice).
    ``alt``: one or two sentences saying what the figure shows and what it finds; it travels with the
    picture as its alternative text (output metadata ``alt`` and the ``text/plain`` form).
    """
    import base64

    from IPython.display import display

    if isinstance(fig, go.Figure):
        bundle = mimebundle(fig, static=static)
    elif hasattr(fig, "savefig"):
        import matplotlib.pyplot as plt

        bundle = {"image/png": base64.b64encode(png_bytes(fig)).decode("ascii"),
                  "text/plain": "<figure>"}
        plt.close(fig)
    else:
        raise TypeError(f"show expects a plotly go.Figure or a matplotlib Figure, got {type(fig).__name__}")
    metadata = None
    if alt is not None:
        alt = " ".join(str(alt).split())
        bundle["text/plain"] = alt
        metadata = {"image/png": {"alt": alt}}
    display(bundle, raw=True, metadata=metadata)


def side_by_side(figs: Sequence[go.Figure], titles: Sequence[str] | None = None, *, gap: float = 0.35,
                 columns: int | None = None, cells: Sequence[tuple[int, int]] | None = None,
                 title: str | None = None) -> go.Figure:
    """Several 3D figures in ONE WebGL scene, each shifted to its own place on a grid, labelled.

    Browsers keep only ~16 WebGL contexts per page (and the course keeps ≤ 6 scenes per notebook): a
    subplot grid of 3D scenes costs one context each, this costs one. Each figure's traces are shifted
    along x (columns) and down y (rows) by its extent plus ``gap`` (relative); a text label sits above.
    ``cells``: the (row, column) of each figure (default: filled row by row, ``columns`` per row).
    The camera looks along -z, so the grid reads like a page (x right, y up).
    """
    figs = list(figs)
    if not figs:
        raise ValueError("side_by_side needs at least one figure")
    titles = list(titles) if titles is not None else [None] * len(figs)
    if len(titles) != len(figs):
        raise ValueError(f"got {len(figs)} figures but {len(titles)} titles")
    columns = columns or len(figs)
    cells = list(cells) if cells is not None else [divmod(k, columns) for k in range(len(figs))]
    if len(cells) != len(figs):
        raise ValueError(f"got {len(figs)} figures but {len(cells)} cells")
    boxes = []
    for f in figs:
        pts = np.concatenate(_points_of(f.data)) if f.data else np.zeros((1, 3))
        boxes.append((np.nanmin(pts, 0), np.nanmax(pts, 0)))
    cell = max(float((hi - lo)[:2].max()) for lo, hi in boxes) * (1 + gap)
    out = go.Figure()
    for k, (f, label, (lo, hi)) in enumerate(zip(figs, titles, boxes)):
        row, col = cells[k]
        shift = np.array([col * cell, -row * cell * 1.3, 0.0]) - (lo + hi) / 2  # rows leave room for labels
        for trace in f.data:
            t = go.Figure(trace).data[0]
            if t.type in ("scatter3d", "surface", "cone", "mesh3d"):
                t.update(x=_f32(_values(t.x) + shift[0]), y=_f32(_values(t.y) + shift[1]), z=_f32(_values(t.z) + shift[2]))
                if t.type == "surface":
                    t.update(showscale=False)
                out.add_trace(t)
        if label:  # above the part, on its front face (the camera looks along -z): never hidden behind a surface
            top = (hi - lo)[1] / 2 + shift[1] + (lo + hi)[1] / 2
            front = (hi - lo)[2] / 2 + shift[2] + (lo + hi)[2] / 2
            out.add_trace(go.Scatter3d(x=[col * cell], y=[top + 0.22 * cell], z=[front], mode="text", text=[label],
                                       textfont=dict(size=10), showlegend=False, hoverinfo="skip"))
    _style_scene(out, axes=False)
    rows, cols = 1 + max(r for r, _ in cells), 1 + max(c for _, c in cells)
    style(out, title, height=int(min(900, max(300, 80 + TWIN_SIZE[0] * rows / cols))))
    out.update_layout(showlegend=False)
    # face-on, close: the grid fills the figure (an orthographic camera's distance sets its zoom)
    out.update_scenes(camera=dict(eye=dict(x=0.0, y=0.06, z=0.62), up=dict(x=0.0, y=1.0, z=0.0),
                                  projection=dict(type="orthographic")))
    out._e3teach_parts = (figs, titles, cells)  # the static twin draws the parts as a grid of panels
    return out


def _points_of(traces: Sequence[Any]) -> list[np.ndarray]:
    pts = []
    for t in traces:
        if t.type in ("scatter3d", "surface", "cone", "mesh3d"):
            x, y, z = (_values(v).ravel() for v in (t.x, t.y, t.z))
            keep = np.isfinite(x) & np.isfinite(y) & np.isfinite(z)
            pts.append(np.stack([x[keep], y[keep], z[keep]], 1))
    return pts or [np.zeros((1, 3))]
