r"""Cartesian tensors: small helpers and pictures for lesson 06 (and the lessons that reuse them).

* :func:`rotate_tensor`: the Cartesian rule :math:`T'_{ij\dots} = R_{ia} R_{jb} \cdots T_{ab\dots}`
  for a tensor of any rank (``R @ T @ R.T`` for rank 2).
* :func:`trace_part`, :func:`antisymmetric_part`, :func:`symmetric_traceless`,
  :func:`antisymmetric_vector`: the three pieces of a 3x3 matrix (``0e + 1e + 2e``).
* :func:`inertia_tensor`: the inertia tensor of point masses about their centre of mass.
* :func:`ellipsoid` (plotly) and :func:`static_ellipsoid` (matplotlib): a symmetric 3x3 tensor as
  the surface :math:`x(n) = T n` over unit vectors :math:`n`.
* :class:`TensorFrameWidget` / :func:`tensor_frame_widget`: Euler-angle sliders; the ellipsoid of
  :math:`R T R^\top` turns with the frame. :func:`static_frame_panel` is its static counterpart.

The ellipsoid of a symmetric :math:`T = V \Lambda V^\top`: the points :math:`x = T n`, :math:`|n| = 1`.
Its principal axes are the eigenvectors :math:`v_k`, its semi-axes the :math:`|\lambda_k|`, and for an
invertible :math:`T` it is the quadric :math:`x^\top T^{-2} x = 1`. The colour at :math:`x = T n` is
:math:`n^\top T n`, the tensor's value in the direction :math:`n` (blue negative, red positive), so an
indefinite tensor (a stress with tension and compression) shows both colours. Because
:math:`(R T R^\top)(R n) = R (T n)`, the ellipsoid of the rotated tensor is the rotated ellipsoid.
"""
from __future__ import annotations

import math
import string
from typing import Any, Sequence

import ipywidgets as widgets
import numpy as np
import plotly.graph_objects as go
import torch

from .viz import f32, style_layout, style_scene, surface_hover, to_numpy, add_arrows, style_3d_axes
from .widgets import AngleControlled, StaticTwin, angles_text, show_in_output, angle_controls, rotation_matrix

__all__ = ["rotate_tensor", "trace_part", "antisymmetric_part", "symmetric_traceless", "antisymmetric_vector",
           "inertia_tensor", "ellipsoid_points", "ellipsoid", "static_ellipsoid", "TensorFrameWidget",
           "tensor_frame_widget", "static_frame_panel"]

_AXIS_COLORS = ("#d62728", "#2ca02c", "#1f77b4")  # x, y, z of the rotated frame


# ----------------------------------------------------------------------------- algebra
def rotate_tensor(T: torch.Tensor, R: torch.Tensor) -> torch.Tensor:
    r"""Rotate a Cartesian tensor of rank ``T.ndim`` (every axis of size 3): one ``R`` per index.

    :math:`T'_{i_1 \dots i_n} = R_{i_1 a_1} \cdots R_{i_n a_n} T_{a_1 \dots a_n}`; for rank 2 this is
    ``R @ T @ R.T``, for rank 1 ``R @ v``. Works for improper ``R`` (det -1) too: a rank-n tensor then
    picks up :math:`(-1)^n` under the inversion ``R = -I``.
    """
    n = T.ndim
    if n == 0 or any(s != 3 for s in T.shape):
        raise ValueError(f"T must have every axis of size 3 (a Cartesian tensor), got shape {tuple(T.shape)}")
    if n > 12:
        raise ValueError(f"rank {n} is too large for this helper")
    old, new = string.ascii_lowercase[:n], string.ascii_lowercase[n:2 * n]
    spec = ",".join(f"{b}{a}" for a, b in zip(old, new)) + f",{old}->{new}"
    return torch.einsum(spec, *([R.to(T.dtype)] * n), T)


def _check_matrix(T: torch.Tensor, name: str = "T") -> torch.Tensor:
    if not isinstance(T, torch.Tensor):
        T = torch.as_tensor(np.asarray(T, dtype=np.float64))
    if T.shape[-2:] != (3, 3):
        raise ValueError(f"{name} must have shape (..., 3, 3), got shape {tuple(T.shape)}")
    return T


def trace_part(T: torch.Tensor) -> torch.Tensor:
    r"""The isotropic part :math:`\tfrac{1}{3}\,\mathrm{tr}(T)\, I` (batched over leading axes)."""
    T = _check_matrix(T)
    eye = torch.eye(3, dtype=T.dtype, device=T.device)
    return T.diagonal(dim1=-2, dim2=-1).sum(-1)[..., None, None] / 3 * eye


def antisymmetric_part(T: torch.Tensor) -> torch.Tensor:
    r"""The antisymmetric part :math:`\tfrac12 (T - T^\top)`."""
    T = _check_matrix(T)
    return (T - T.transpose(-1, -2)) / 2


def symmetric_traceless(T: torch.Tensor) -> torch.Tensor:
    r"""The symmetric traceless part :math:`\tfrac12 (T + T^\top) - \tfrac13 \mathrm{tr}(T) I`."""
    T = _check_matrix(T)
    return (T + T.transpose(-1, -2)) / 2 - trace_part(T)


def antisymmetric_vector(T: torch.Tensor) -> torch.Tensor:
    r"""The axial vector :math:`w_k = \tfrac12 \sum_{ij} \epsilon_{ijk} T_{ij}` of the antisymmetric part.

    So :math:`w = (A_{yz}, A_{zx}, A_{xy})` with :math:`A = \tfrac12(T - T^\top)`, and
    :math:`A_{ij} = \sum_k \epsilon_{ijk} w_k`. For an outer product :math:`T = a b^\top`,
    :math:`w = \tfrac12\, a \times b`.
    """
    A = antisymmetric_part(T)
    return torch.stack([A[..., 1, 2], A[..., 2, 0], A[..., 0, 1]], dim=-1)


def inertia_tensor(pos: torch.Tensor, masses: torch.Tensor | None = None) -> torch.Tensor:
    r"""Inertia tensor of point masses about their centre of mass.

    :math:`I = \sum_a m_a \big(|r_a|^2 I_3 - r_a r_a^\top\big)` with :math:`r_a = p_a - p_\text{cm}` and
    :math:`p_\text{cm} = \sum_a m_a p_a / \sum_a m_a`. ``pos`` is (N, 3); ``masses`` (N,) defaults to ones.
    """
    if not isinstance(pos, torch.Tensor) or pos.ndim != 2 or pos.shape[1] != 3:
        raise ValueError(f"pos must be a tensor of shape (N, 3), got {getattr(pos, 'shape', type(pos))}")
    m = torch.ones(len(pos), dtype=pos.dtype, device=pos.device) if masses is None else masses.to(pos.dtype)
    if m.shape != (len(pos),):
        raise ValueError(f"masses must have shape ({len(pos)},), got {tuple(m.shape)}")
    r = pos - (m[:, None] * pos).sum(0) / m.sum()
    eye = torch.eye(3, dtype=pos.dtype, device=pos.device)
    return (m * (r * r).sum(1)).sum() * eye - torch.einsum("a,ai,aj->ij", m, r, r)


# ----------------------------------------------------------------------------- pictures
def _symmetric_numpy(T: Any) -> np.ndarray:
    t = to_numpy(T)
    if t.shape != (3, 3):
        raise ValueError(f"T must be a 3x3 matrix, got shape {t.shape}")
    if not np.all(np.isfinite(t)):
        raise ValueError("T contains NaN or inf")
    if not np.allclose(t, t.T, atol=1e-8 * max(1.0, float(np.abs(t).max()))):
        raise ValueError("T must be symmetric (T == T.T): draw its symmetric part (T + T.T) / 2 instead")
    return (t + t.T) / 2


def _unit_sphere(resolution: int) -> np.ndarray:
    """Unit vectors on a (resolution+1) x (2 resolution+1) latitude-longitude grid, y as polar axis."""
    if not isinstance(resolution, (int, np.integer)) or resolution < 4:
        raise ValueError(f"resolution must be an integer >= 4, got {resolution!r}")
    beta = np.linspace(0.0, math.pi, resolution + 1)
    alpha = np.linspace(0.0, 2 * math.pi, 2 * resolution + 1)
    b, a = np.meshgrid(beta, alpha, indexing="ij")
    return np.stack([np.sin(b) * np.sin(a), np.cos(b), np.sin(b) * np.cos(a)], axis=-1)


def ellipsoid_points(T: Any, *, resolution: int = 30, center: Sequence[float] = (0.0, 0.0, 0.0)
                     ) -> tuple[np.ndarray, np.ndarray]:
    r"""The surface drawn by :func:`ellipsoid`: points :math:`c + T n` and colours :math:`n^\top T n`.

    Returns ``(xyz, values)`` of shapes (resolution+1, 2 resolution+1, 3) and (resolution+1, 2 resolution+1).
    """
    t = _symmetric_numpy(T)
    n = _unit_sphere(resolution)
    xyz = n @ t.T + np.asarray(center, dtype=np.float64).reshape(3)
    values = np.einsum("...i,ij,...j->...", n, t, n)
    return xyz, values


def ellipsoid(T: Any, *, center: Sequence[float] = (0.0, 0.0, 0.0), resolution: int = 30, fig: go.Figure | None = None,
              axes: bool = True, name: str | None = None, opacity: float = 0.85, showscale: bool = True,
              title: str | None = None, cmax: float | None = None) -> go.Figure:
    r"""Plotly surface of a symmetric 3x3 tensor: :math:`x = c + T n` over unit :math:`n`, coloured by :math:`n^\top T n`.

    Principal axes = eigenvectors, semi-axes = |eigenvalues| (drawn as black segments when ``axes``).
    Colours are diverging with limits :math:`\pm` ``cmax`` (default :math:`\max_k |\lambda_k|`):
    a positive definite tensor is all red, an indefinite one red and blue. float32 arrays keep the
    figure JSON small (about 40 kB at the default resolution).
    """
    t = _symmetric_numpy(T)
    xyz, values = ellipsoid_points(t, resolution=resolution, center=center)
    eigvals, eigvecs = np.linalg.eigh(t)
    vmax = float(cmax) if cmax is not None else max(float(np.abs(eigvals).max()), 1e-12)
    new = fig is None
    fig = go.Figure() if fig is None else fig
    fig.add_trace(go.Surface(
        x=f32(xyz[..., 0]), y=f32(xyz[..., 1]), z=f32(xyz[..., 2]), surfacecolor=f32(values),
        colorscale="RdBu_r", cmin=-vmax, cmax=vmax, cmid=0.0, showscale=showscale, opacity=opacity,
        colorbar=dict(thickness=12, len=0.6, title=dict(text="nᵀTn")), name=name or "tensor",
        **surface_hover(values, "nᵀTn")))
    if axes:
        c = np.asarray(center, dtype=np.float64).reshape(1, 3)
        semi = (eigvecs * np.abs(eigvals)).T  # rows: |lambda_k| v_k
        starts, ends = np.concatenate([c - semi]), np.concatenate([c + semi])
        xs, ys, zs = [], [], []
        for a, b in zip(starts, ends):
            for lst, k in zip((xs, ys, zs), range(3)):
                lst.extend((round(float(a[k]), 5), round(float(b[k]), 5), None))
        fig.add_trace(go.Scatter3d(x=xs, y=ys, z=zs, mode="lines", line=dict(color="black", width=4),
                                   name="principal axes", hoverinfo="skip"))
    if new:
        style_scene(fig)
        style_layout(fig, title)
    return fig


def static_ellipsoid(T: Any, ax: Any = None, *, resolution: int = 24, title: str | None = None,
                     lim: float | None = None, frame: Any = None) -> Any:
    r"""Matplotlib version of :func:`ellipsoid`: the surface :math:`T n` coloured by the sign and size of
    :math:`n^\top T n`, the principal axes in black, and optionally a ``frame`` (3x3, columns = axes)
    drawn as red/green/blue arrows. Returns the 3D Axes (a new figure when ``ax`` is None)."""
    import matplotlib.pyplot as plt
    from matplotlib import cm, colors

    t = _symmetric_numpy(T)
    xyz, values = ellipsoid_points(t, resolution=resolution)
    eigvals, eigvecs = np.linalg.eigh(t)
    vmax = max(float(np.abs(eigvals).max()), 1e-12)
    if ax is None:
        ax = plt.figure(figsize=(4, 4)).add_subplot(projection="3d")
    elif getattr(ax, "name", None) != "3d":
        raise ValueError("ax must be a 3D Axes, e.g. fig.add_subplot(projection='3d')")
    face = cm.RdBu_r(colors.Normalize(-vmax, vmax)(values))
    ax.plot_surface(xyz[..., 0], xyz[..., 1], xyz[..., 2], facecolors=face, linewidth=0, antialiased=False,
                    shade=False, alpha=0.45)
    for k in range(3):
        a = eigvecs[:, k] * abs(eigvals[k])
        ax.plot(*np.stack([-a, a]).T, color="black", linewidth=1.5)
    half = float(lim) if lim is not None else 1.15 * vmax
    if frame is not None:
        f = to_numpy(frame).reshape(3, 3)
        for k, color in enumerate(_AXIS_COLORS):
            ax.quiver(0, 0, 0, *(half * f[:, k]), color=color, arrow_length_ratio=0.12, linewidth=2.5)
    return style_3d_axes(ax, (0.0, 0.0, 0.0), half, title)


class TensorFrameWidget(StaticTwin, AngleControlled, widgets.VBox):
    r"""Sliders for e3nn's Euler angles (R = R_y(α) R_x(β) R_y(γ)) and a mirror box (R → −R); shows the
    ellipsoid of :math:`R T R^\top` with the rotated frame :math:`(R e_x, R e_y, R e_z)`.

    The eigenvalues printed beside it do not change: they are the rotation invariants of T. Mirroring
    changes nothing at all for a rank-2 tensor, since :math:`(-R) T (-R)^\top = R T R^\top`.
    Drive it from code with :meth:`set_angles`, which returns the rotated tensor; it builds its figure
    without a frontend too (headless, e.g. under pytest).
    """

    def __init__(self, T: Any, *, resolution: int = 24, title: str | None = None) -> None:
        t = torch.as_tensor(_symmetric_numpy(T), dtype=torch.float64)
        self.tensor = t
        self.resolution = resolution
        self.title = title
        self._updating = False
        self._half = 1.15 * max(float(torch.linalg.eigvalsh(t).abs().max()), 1e-12)
        self.sliders, self.mirror_box, self.summary, self.out, children = angle_controls(self._on_change)
        super().__init__(children=children)
        self.angles: tuple[float, float, float] = (0.0, 0.0, 0.0)
        self.mirror = False
        self._refresh()

    @property
    def matrix(self) -> torch.Tensor:
        """The current R (float64), det +1 or -1."""
        return rotation_matrix(*self.angles, self.mirror, dtype=torch.float64)

    def rotated_tensor(self) -> torch.Tensor:
        """:math:`R T R^\\top` for the current sliders (float64)."""
        R = self.matrix
        return R @ self.tensor @ R.T

    def set_angles(self, alpha: float, beta: float, gamma: float, mirror: bool = False) -> torch.Tensor:
        """Move to R = ±R(α, β, γ) (sliders follow, clipped to their range); return R T Rᵀ."""
        self._move_controls(alpha, beta, gamma, mirror)
        return self.rotated_tensor()

    def _refresh(self) -> None:
        rotated = self.rotated_tensor()
        eig = torch.linalg.eigvalsh(rotated)
        diag = ", ".join(f"{v:.2f}" for v in rotated.diagonal().tolist())
        self.summary.value = (f"<code>det R = {torch.det(self.matrix).item():+.0f}; eigenvalues "
                              + ", ".join(f"{v:.3f}" for v in eig.tolist()) + f"; diagonal of RTRᵀ {diag}</code>")
        self.figure = self.make_figure()
        show_in_output(self.out, self.figure)

    def make_figure(self) -> go.Figure:
        """The plotly figure of the current state: ellipsoid of R T Rᵀ and the rotated frame."""
        fig = ellipsoid(self.rotated_tensor(), resolution=self.resolution)
        R = self.matrix.numpy()
        h = self._half
        for k, (label, color) in enumerate(zip("xyz", _AXIS_COLORS)):
            add_arrows(fig, np.zeros((1, 3)), 0.9 * h * R[:, k].reshape(1, 3), color=color, name=f"R e_{label}")
        fig.update_scenes(aspectmode="cube", xaxis_range=[-h, h], yaxis_range=[-h, h], zaxis_range=[-h, h])
        title = self.title + " — " if self.title else ""
        fig.update_layout(title=dict(text=title + angles_text(self.angles, self.mirror), x=0.5),
                          margin=dict(t=60, b=30), height=480, uirevision="e3teach-tensor-frame")
        return fig


def tensor_frame_widget(T: Any, *, resolution: int = 24, title: str | None = None) -> TensorFrameWidget:
    """A :class:`TensorFrameWidget` (a ``VBox``): Euler-angle sliders and the ellipsoid of R T Rᵀ."""
    return TensorFrameWidget(T, resolution=resolution, title=title)


def static_frame_panel(T: Any, *, angles: Sequence[Sequence[float]] = ((0, 0, 0), (0.7, 0.3, -0.4), (1.9, 1.1, 0.5)),
                       resolution: int = 20, title: str | None = None) -> Any:
    """The static counterpart of :class:`TensorFrameWidget`: the ellipsoid of R T Rᵀ with its frame at a
    few fixed Euler angles, side by side (a matplotlib Figure)."""
    import matplotlib.pyplot as plt

    t = torch.as_tensor(_symmetric_numpy(T), dtype=torch.float64)
    half = 1.15 * max(float(torch.linalg.eigvalsh(t).abs().max()), 1e-12)
    fig = plt.figure(figsize=(3.6 * len(angles), 3.8))
    for k, (a, b, g) in enumerate(angles):
        R = rotation_matrix(a, b, g, dtype=torch.float64)
        ax = fig.add_subplot(1, len(angles), k + 1, projection="3d")
        static_ellipsoid(R @ t @ R.T, ax, resolution=resolution, lim=half, frame=R,
                         title=f"α={a:.1f}, β={b:.1f}, γ={g:.1f}")
    if title is not None:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
