"""Tests of e3teach.tensors: Cartesian helpers, the ellipsoid pictures and the tensor-frame widget (headless)."""
import json
import math

import matplotlib

matplotlib.use("Agg")

import ipywidgets  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from e3nn import io  # noqa: E402

from e3teach import tensors  # noqa: E402
from e3teach.env import default_dtype  # noqa: E402
from e3teach.equivariance import random_rotation  # noqa: E402
from e3teach.widgets import rotation_matrix  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


def _spd(seed=0):
    a = torch.randn(3, 3, generator=_gen(seed), dtype=torch.float64)
    return a @ a.T + 0.5 * torch.eye(3, dtype=torch.float64)


def test_rotate_tensor_matches_matrix_rule_and_irreps():
    T = torch.randn(3, 3, generator=_gen(1), dtype=torch.float64)
    R = random_rotation(_gen(2))
    assert torch.allclose(tensors.rotate_tensor(T, R), R @ T @ R.T, atol=1e-13)
    v = torch.randn(3, generator=_gen(3), dtype=torch.float64)
    assert torch.allclose(tensors.rotate_tensor(v, R), R @ v, atol=1e-13)
    with default_dtype(torch.float64):
        ct = io.CartesianTensor("ijk=ikj")
        rtp = ct.reduced_tensor_products()
        X = ct.to_cartesian(torch.randn(ct.dim, generator=_gen(4), dtype=torch.float64), rtp)
        for M in (R, -R):
            via_irreps = ct.to_cartesian(ct.from_cartesian(X, rtp) @ ct.D_from_matrix(M).T, rtp)
            assert torch.allclose(tensors.rotate_tensor(X, M), via_irreps, atol=1e-12)
    assert torch.allclose(tensors.rotate_tensor(X, -torch.eye(3, dtype=torch.float64)), -X)
    with pytest.raises(ValueError, match="size 3"):
        tensors.rotate_tensor(torch.zeros(3, 4), R)


def test_decomposition_pieces():
    T = torch.randn(3, 3, generator=_gen(5), dtype=torch.float64)
    iso, A, S = tensors.trace_part(T), tensors.antisymmetric_part(T), tensors.symmetric_traceless(T)
    assert torch.allclose(iso + A + S, T, atol=1e-14)
    assert torch.allclose(A, -A.T) and torch.allclose(S, S.T) and abs(float(S.trace())) < 1e-14
    a, b = torch.randn(2, 3, generator=_gen(6), dtype=torch.float64)
    w = tensors.antisymmetric_vector(torch.outer(a, b))
    assert torch.allclose(w, torch.linalg.cross(a, b) / 2, atol=1e-14)
    eps = torch.zeros(3, 3, 3, dtype=torch.float64)
    for i, j, k in ((0, 1, 2), (1, 2, 0), (2, 0, 1)):
        eps[i, j, k], eps[j, i, k] = 1.0, -1.0
    assert torch.allclose(torch.einsum("ijk,k->ij", eps, tensors.antisymmetric_vector(T)), A, atol=1e-14)
    batch = torch.randn(4, 3, 3, generator=_gen(7), dtype=torch.float64)
    assert tensors.symmetric_traceless(batch).shape == (4, 3, 3)
    with pytest.raises(ValueError, match="3, 3"):
        tensors.trace_part(torch.zeros(3, 4))


def test_inertia_tensor_values_and_equivariance():
    pos = torch.tensor([[1.0, 0, 0], [-1.0, 0, 0]], dtype=torch.float64)
    I = tensors.inertia_tensor(pos)
    assert torch.allclose(I, torch.diag(torch.tensor([0.0, 2.0, 2.0], dtype=torch.float64)))
    pos = torch.randn(6, 3, generator=_gen(8), dtype=torch.float64)
    m = torch.rand(6, generator=_gen(9), dtype=torch.float64) + 0.5
    R = random_rotation(_gen(10))
    I = tensors.inertia_tensor(pos, m)
    assert torch.allclose(tensors.inertia_tensor(pos @ R.T + 3.0, m), R @ I @ R.T, atol=1e-12)
    assert torch.allclose(tensors.inertia_tensor(-pos, m), I, atol=1e-12)
    with pytest.raises(ValueError, match="masses"):
        tensors.inertia_tensor(pos, torch.ones(5, dtype=torch.float64))


def test_ellipsoid_points_lie_on_the_quadric_with_eigen_semi_axes():
    T = _spd(0)
    xyz, values = tensors.ellipsoid_points(T, resolution=20)
    x = xyz.reshape(-1, 3)
    Tinv2 = np.linalg.inv(T.numpy() @ T.numpy())
    np.testing.assert_allclose(np.einsum("ni,ij,nj->n", x, Tinv2, x), 1.0, atol=1e-10)
    lam = np.linalg.eigvalsh(T.numpy())
    r = np.linalg.norm(x, axis=1)
    assert r.max() <= lam.max() + 1e-10 and r.min() >= lam.min() - 1e-10
    assert r.max() > 0.97 * lam.max()  # the grid reaches close to the longest semi-axis
    assert values.min() >= lam.min() - 1e-10 and values.max() <= lam.max() + 1e-10
    # indefinite: semi-axes are |eigenvalues| and both colour signs appear
    D = torch.diag(torch.tensor([2.0, -1.0, 0.5], dtype=torch.float64))
    xyz, values = tensors.ellipsoid_points(D, resolution=20, center=(1.0, 0.0, 0.0))
    x = xyz.reshape(-1, 3) - np.array([1.0, 0, 0])
    np.testing.assert_allclose(np.einsum("ni,ij,nj->n", x, np.linalg.inv(D.numpy() @ D.numpy()), x), 1.0, atol=1e-10)
    assert values.min() < 0 < values.max()


def test_ellipsoid_figure_is_small_and_rejects_bad_input():
    fig = tensors.ellipsoid(_spd(1), title="demo")
    size = len(fig.to_json())
    assert size < 100_000, size
    assert fig.data[0].type == "surface" and fig.data[1].name == "principal axes"
    with pytest.raises(ValueError, match="symmetric"):
        tensors.ellipsoid(torch.arange(9.0).reshape(3, 3))
    with pytest.raises(ValueError, match="3x3"):
        tensors.ellipsoid(torch.eye(2))
    with pytest.raises(ValueError, match="NaN"):
        tensors.ellipsoid(torch.full((3, 3), float("nan")))


def test_static_ellipsoid_and_panel():
    ax = tensors.static_ellipsoid(_spd(2), title="t")
    assert ax.name == "3d" and ax.get_title() == "t"
    fig = tensors.static_frame_panel(_spd(2))
    assert len(fig.axes) == 3
    with pytest.raises(ValueError, match="3D"):
        tensors.static_ellipsoid(_spd(2), plt.figure().add_subplot())


def test_widget_headless_rotated_tensor_is_R_T_Rt():
    T = _spd(3)
    w = tensors.tensor_frame_widget(T, title="frame")
    assert isinstance(w, ipywidgets.VBox) and len(w.sliders) == 3
    assert torch.allclose(w.rotated_tensor(), T)
    angles = (0.7, 0.3, -0.4)
    out = w.set_angles(*angles)
    R = rotation_matrix(*angles, dtype=torch.float64)
    assert torch.allclose(out, R @ T @ R.T, atol=1e-13)
    assert w.sliders["alpha"].value == pytest.approx(0.7)
    assert w.figure.layout.title.text.startswith("frame")
    # eigenvalues are invariants, and a mirror changes nothing for a rank-2 tensor
    assert torch.allclose(torch.linalg.eigvalsh(out), torch.linalg.eigvalsh(T), atol=1e-12)
    assert torch.allclose(w.set_angles(*angles, mirror=True), out, atol=1e-13)
    assert "det R = -1" in w.summary.value
    # moving a slider (as a user would) updates the state
    w.sliders["beta"].value = 1.0
    R = rotation_matrix(0.7, 1.0, -0.4, True, dtype=torch.float64)
    assert torch.allclose(w.rotated_tensor(), R @ T @ R.T, atol=1e-13)
    assert len(w.figure.to_json()) < 100_000
