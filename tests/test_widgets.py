"""Tests of e3teach.widgets, headless (no frontend): state, drawn outputs, static panels."""
import math

import matplotlib

matplotlib.use("Agg")

import ipywidgets  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from e3nn import o3  # noqa: E402

from e3teach import widgets  # noqa: E402

ANGLES = (0.7, 0.3, -0.4)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _cloud(n=6, seed=0):
    return torch.randn(n, 3, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def relative_vectors(p):
    """Equivariant under O(3) about the origin: p_i - centroid, per point."""
    return p - p.mean(0)


def summed_cross(p):
    """A pseudovector: sum_i p_i x p_{i+1} (does not flip under inversion)."""
    return torch.cross(p, p.roll(1, 0), dim=1).sum(0)


def not_equivariant(p):
    return p + torch.tensor([1.0, 0.0, 0.0], dtype=p.dtype)


def inertia(p):
    q = p - p.mean(0)
    return (q * q).sum() * torch.eye(3, dtype=p.dtype) - q.T @ q


def test_rotation_widget_constructs_headless():
    w = widgets.rotation_widget(_cloud(), relative_vectors, title="demo")
    assert isinstance(w, ipywidgets.VBox)
    assert len(w.sliders) == 3 and isinstance(w.mirror_box, ipywidgets.Checkbox)
    assert w.figure.layout.title.text.startswith("demo")
    assert "det R = +1" in w.summary.value


@pytest.mark.parametrize("model", [relative_vectors, not_equivariant])
def test_set_angles_draws_model_of_rotated_cloud(model):
    pos = _cloud()
    w = widgets.RotationWidget(pos, model)
    rotated, out = w.set_angles(*ANGLES)
    R = o3.angles_to_matrix(*torch.tensor(ANGLES, dtype=torch.float64))
    assert torch.allclose(rotated, pos @ R.T, atol=1e-12)
    assert torch.allclose(out, model(pos @ R.T), atol=1e-12)
    # what the figure draws: arrows from the rotated points along the output
    shafts = [t for t in w.figure.data if t.meta == "e3teach-arrows"][0]
    ends = np.array([[shafts.x[k], shafts.y[k], shafts.z[k]] for k in range(1, len(shafts.x), 3)])
    assert np.allclose(ends, (rotated + out).numpy(), atol=1e-4)
    assert [s.value for s in w.sliders.values()] == pytest.approx(list(ANGLES))


def test_equivariant_model_output_rotates_with_cloud():
    pos = _cloud()
    w = widgets.RotationWidget(pos, relative_vectors)
    for mirror in (False, True):
        _, out = w.set_angles(1.9, 1.1, 0.5, mirror=mirror)
        R = w.matrix
        assert torch.allclose(out, relative_vectors(pos) @ R.T, atol=1e-12)
    assert torch.det(w.matrix).item() == pytest.approx(-1.0)
    assert "det R = -1" in w.summary.value
    assert "mirror" in w.figure.layout.title.text


def test_pseudovector_and_sliders_drive_the_state():
    pos = _cloud()
    w = widgets.RotationWidget(pos, summed_cross)
    w.mirror_box.value = True  # as a user would click
    R = w.matrix
    assert torch.det(R).item() == pytest.approx(-1.0)
    assert torch.allclose(w.model_output, summed_cross(pos), atol=1e-12)  # -I: a pseudovector does not flip
    w.sliders["beta"].value = 1.0
    assert w.angles == (0.0, 1.0, 0.0)
    assert torch.allclose(w.rotated_pos, pos @ w.matrix.T)


def test_tensor_output_principal_axes():
    pos = _cloud()
    w = widgets.RotationWidget(pos, inertia, output="tensor")
    _, out = w.set_angles(*ANGLES)
    R = w.matrix
    assert torch.allclose(out, R @ inertia(pos) @ R.T, atol=1e-12)
    (axes,) = w.state.arrows
    values, vectors = torch.linalg.eigh(out)
    assert np.allclose(axes.vectors[:3], (vectors * values).T.numpy(), atol=1e-10)
    assert "eigenvalues" in w.summary.value


def test_irreps_output_and_input_vectors():
    pos = _cloud()

    def model(p):  # 0e + 1o: a scalar and a vector, global
        return torch.cat([p.norm(dim=1).sum()[None], p.sum(0)])

    w = widgets.RotationWidget(pos, model, irreps_out="0e + 1o", vectors=pos)
    w.set_angles(*ANGLES)
    labels = [a.label for a in w.state.arrows]
    assert labels == ["input vectors", "1x1o"]
    assert "0e:" in w.summary.value
    with pytest.raises(ValueError, match=r"\(6, 3\) or \(3,\).*got shape \(6, 4\)"):
        widgets.RotationWidget(pos, lambda p: torch.zeros(6, 4))
    with pytest.raises(ValueError, match="output must be one of"):
        widgets.RotationWidget(pos, relative_vectors, output="scalar")
    with pytest.raises(ValueError, match=r"pos must have shape \(N, 3\)"):
        widgets.RotationWidget(np.zeros((3, 4)))


def test_static_rotation_panel():
    pos = _cloud()
    fig = widgets.static_rotation_panel(pos, relative_vectors)
    axes = fig.get_axes()
    assert len(axes) == 3 and all(ax.name == "3d" for ax in axes)
    assert "mirror" in axes[-1].get_title() and "mirror" not in axes[0].get_title()
    fig2 = widgets.static_rotation_panel(pos.numpy(), angles=[(0, 0, 0), (1, 2, 3)], mirror_last=False)
    assert len(fig2.get_axes()) == 2


def test_sh_selector_headless():
    s = widgets.sh_selector(3, resolution=8)
    assert isinstance(s, ipywidgets.VBox)
    fig = s.set_lm(3, -2)
    assert fig.layout.title.text.startswith("l=3, m=-2")
    assert (s.m_slider.min, s.m_slider.max) == (-3, 3)
    s.l_slider.value = 1  # m range follows l, the value is clipped
    assert (s.m_slider.min, s.m_slider.max, s.m_slider.value) == (-1, 1, -1)
    assert s.figure.layout.title.text.startswith("l=1, m=-1")
    with pytest.raises(ValueError, match="-l <= m <= l"):
        s.set_lm(1, 2)


def test_rotation_matrix_matches_e3nn():
    R = widgets.rotation_matrix(*ANGLES, dtype=torch.float64)
    assert torch.allclose(R, o3.angles_to_matrix(*torch.tensor(ANGLES, dtype=torch.float64)))
    assert torch.allclose(widgets.rotation_matrix(*ANGLES, mirror=True, dtype=torch.float64), -R)
    assert abs(torch.det(R).item() - 1) < 1e-12 and math.isclose(widgets.rotation_matrix(0, 0, 0)[0, 0].item(), 1.0)
