r"""Interactive pieces (ipywidgets) for the lessons, each with a static counterpart for GitHub.

* :class:`RotationWidget` / :func:`rotation_widget`: rotate (and mirror) a point cloud with e3nn's
  YXY Euler angles and watch a model's output follow; :func:`static_rotation_panel` is the same
  at a few fixed orientations, as a matplotlib figure.
* :class:`SHSelector` / :func:`sh_selector`: pick l and m, see the real spherical harmonic.

The widgets redraw a plotly figure into a ``widgets.Output`` (plotly's ``FigureWidget`` needs the
``anywidget`` package, which the course does not install). They also work headless (under pytest,
no frontend): they build their figures but display nothing; ``set_angles`` / ``set_lm`` drive them
from code and return what would be drawn.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Sequence

import ipywidgets as widgets
import numpy as np
import plotly.graph_objects as go
import torch
from e3nn import o3

from .viz import ARROW_COLOR, as_points, mpl_arrows, to_numpy, add_arrows, point_cloud, sh_surface, static_point_cloud

__all__ = ["StaticTwin", "FigureBox", "RotationWidget", "rotation_widget", "static_rotation_panel", "SHSelector", "sh_selector",
           "rotation_matrix"]

_OUTPUT_KINDS = ("vector", "tensor")
_INPUT_VECTOR_COLOR = "#2ca02c"


def _in_kernel() -> bool:
    """True inside a Jupyter kernel, where widgets and ``display`` reach a frontend."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def show_in_output(out: widgets.Output, fig: Any) -> None:
    """Replace the content of ``out`` by ``fig`` (only where there is a kernel to display it)."""
    if not _in_kernel():
        return
    from IPython.display import display

    with out:
        out.clear_output(wait=True)
        display(fig)


#: CSS carried by every live course widget (in a hidden HTML child): in JupyterLab, while the widget is alive,
#: the picture of it displayed just before it (its static twin) is hidden. When the notebook is reopened without
#: its kernel, the widget cannot be drawn ("Error displaying widget: model not found", since notebooks store no
#: widget state): this CSS is gone with it, and the picture shows.
TWIN_CSS = ("<style>.jp-OutputArea-child:has(.e3teach-twin):has(+ .jp-OutputArea-child .e3teach-live)"
            "{display:none}</style>")
#: what a reader without the widget renderer (no kernel, GitHub) reads where the widget was
WIDGET_TEXT = "(An interactive widget: run the cell to use it. Its picture is above.)"
TWIN_CAPTION = ("The widget as the cell left it. It needs the running notebook: run the cell to move it "
                "(a reopened notebook shows this picture where the widget was).")


class StaticTwin:
    """Mixin for a widget that draws a plotly figure (``self.figure``): displaying it also displays a PNG of
    that figure, its static twin, in an output of its own just before the widget's.

    Readers without a kernel (GitHub, nbviewer, the website, a notebook reopened after its kernel stopped) see
    the picture where the widget was; in JupyterLab with a kernel the live widget hides it (see
    :data:`TWIN_CSS`). The twin carries :meth:`static_alt` as its text alternative.
    """

    #: the twin's text alternative (one or two sentences); default: from the figure's title
    alt: str | None = None

    def static_picture(self) -> Any:
        """The twin: the widget's current figure (override to draw something else)."""
        return self.figure

    def static_alt(self) -> str:
        """What the twin shows, for readers who cannot see it."""
        if self.alt:
            return self.alt
        title = getattr(getattr(getattr(self.static_picture(), "layout", None), "title", None), "text", None)
        return f"A picture of the interactive widget: {title}." if title else "A picture of the interactive widget."

    def twin_bundle(self) -> tuple[dict, dict]:
        """The twin's output: PNG, an HTML ``<figure>`` with alt text and caption, and the alt as text."""
        import base64

        from .viz import picture_html, png_bytes

        png = base64.b64encode(png_bytes(self.static_picture())).decode("ascii")
        alt = self.static_alt()
        bundle = {"image/png": png, "text/html": picture_html(png, alt, css_class="e3teach-twin", caption=TWIN_CAPTION),
                  "text/plain": alt}
        return bundle, {"image/png": {"alt": alt}}

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        bundle = super()._repr_mimebundle_(**kwargs)  # type: ignore[misc]
        if isinstance(bundle, dict) and getattr(self, "figure", None) is not None and _in_kernel():
            from IPython.display import display

            self.add_class("e3teach-live")
            if _twin_style() not in self.children:
                self.children = (*self.children, _twin_style())
            twin, metadata = self.twin_bundle()
            display(twin, raw=True, metadata=metadata)
            bundle["text/plain"] = WIDGET_TEXT
        return bundle


_STYLE: list = []


def _twin_style() -> widgets.HTML:
    """One hidden HTML widget per kernel holding :data:`TWIN_CSS`."""
    if not _STYLE:
        _STYLE.append(widgets.HTML(TWIN_CSS, layout=widgets.Layout(display="none")))
    return _STYLE[0]


class FigureBox(StaticTwin, widgets.VBox):
    """A ``VBox`` whose ``.figure`` (plotly) is stored as its static twin (see :class:`StaticTwin`)."""

    figure = None


def rotation_matrix(alpha: float, beta: float, gamma: float, mirror: bool = False, *,
                    dtype: torch.dtype | None = None) -> torch.Tensor:
    r"""e3nn's rotation :math:`R = R_y(\alpha) R_x(\beta) R_y(\gamma)` (``o3.angles_to_matrix``), times -1 if ``mirror``.

    With ``mirror`` the matrix is the inversion composed with the rotation (det = -1), i.e. an
    element of O(3) = SO(3) x {+1, -1}.
    """
    dtype = dtype or torch.get_default_dtype()
    angles = [torch.tensor(float(a), dtype=dtype) for a in (alpha, beta, gamma)]
    matrix = o3.angles_to_matrix(*angles)
    return -matrix if mirror else matrix


def _as_pos_tensor(pos: Any) -> torch.Tensor:
    """A floating tensor (N, 3): tensors keep their dtype, arrays get torch's default dtype."""
    if isinstance(pos, torch.Tensor):
        p = pos.detach()
        p = p if p.is_floating_point() else p.to(torch.get_default_dtype())
    else:
        p = torch.as_tensor(to_numpy(pos), dtype=torch.get_default_dtype())
    if p.ndim != 2 or p.shape[1] != 3:
        raise ValueError(f"pos must have shape (N, 3), got shape {tuple(p.shape)}")
    return p


@dataclass
class _Arrows:
    origins: np.ndarray  # (M, 3)
    vectors: np.ndarray  # (M, 3)
    label: str


@dataclass
class RotatedState:
    """What the rotation widget shows for one orientation."""

    matrix: torch.Tensor  # R (3, 3), det +1 or -1
    pos: torch.Tensor  # pos @ R.T
    output: torch.Tensor | None  # model(pos @ R.T), detached
    arrows: list  # list of _Arrows to draw
    summary: str  # one line: det R and any scalars


def _output_arrows(output: torch.Tensor, pos: np.ndarray, kind: str, irreps_out: o3.Irreps | None) -> tuple[list, str]:
    """Arrows (and a text of scalars) that picture a model's output.

    * ``kind="vector"``: (N, 3) one arrow per point; (3,) one arrow at the centroid. With
      ``irreps_out`` the output is (N, dim) or (dim,): every l=1 irrep becomes an arrow, scalars
      (l=0) go to the text.
    * ``kind="tensor"``: a symmetric (3, 3) tensor T; its principal axes :math:`\pm \lambda_k v_k`
      (eigenvalues times eigenvectors, both signs as an eigenvector's sign is arbitrary) at the centroid.
    """
    out = to_numpy(output)
    centroid = pos.mean(0, keepdims=True)
    if kind == "tensor":
        t = out.reshape(3, 3) if out.shape in ((3, 3), (1, 3, 3), (9,)) else None
        if t is None:
            raise ValueError(f'output="tensor" expects the model to return a (3, 3) tensor, got shape {out.shape}')
        if not np.allclose(t, t.T, atol=1e-6 * max(1.0, float(np.abs(t).max()))):
            raise ValueError('output="tensor" expects a symmetric (3, 3) tensor; this one is not symmetric')
        values, vecs = np.linalg.eigh(t)
        axes = (vecs * values).T  # rows: lambda_k v_k
        text = "eigenvalues " + ", ".join(f"{v:.3f}" for v in values)
        return [_Arrows(np.repeat(centroid, 6, 0), np.concatenate([axes, -axes]), "principal axes")], text
    if irreps_out is None:
        if out.shape == (len(pos), 3):
            return [_Arrows(pos, out, "model output")], ""
        if out.shape in ((3,), (1, 3)):
            return [_Arrows(centroid, out.reshape(1, 3), "model output")], ""
        raise ValueError(f'output="vector" expects the model to return ({len(pos)}, 3) or (3,), got shape {out.shape}; '
                         "pass irreps_out for other outputs")
    per_point = out.ndim == 2 and out.shape == (len(pos), irreps_out.dim)
    if not per_point and out.shape not in ((irreps_out.dim,), (1, irreps_out.dim)):
        raise ValueError(f"irreps_out={irreps_out} expects an output of shape ({irreps_out.dim},) or "
                         f"({len(pos)}, {irreps_out.dim}), got shape {out.shape}")
    rows = out if per_point else out.reshape(1, -1)
    origins = pos if per_point else centroid
    arrows, scalars = [], []
    for mul_ir, s in zip(irreps_out, irreps_out.slices()):
        block = rows[:, s].reshape(len(rows), mul_ir.mul, mul_ir.ir.dim)
        if mul_ir.ir.l == 1:
            arrows.append(_Arrows(np.repeat(origins, mul_ir.mul, 0), block.reshape(-1, 3), f"{mul_ir}"))
        elif mul_ir.ir.l == 0 and not per_point:
            scalars.append(f"{mul_ir.ir}: " + ", ".join(f"{v:.3f}" for v in block.reshape(-1)))
    return arrows, "; ".join(scalars)


def _evaluate(pos: torch.Tensor, model: Callable | None, angles: Sequence[float], mirror: bool, *,
              output: str, irreps_out: o3.Irreps | None, vectors: torch.Tensor | None) -> RotatedState:
    """Rotate the cloud (and its input vectors) by R = ±R(α, β, γ) and evaluate the model there."""
    matrix = rotation_matrix(*angles, mirror, dtype=pos.dtype).to(pos.device)
    rotated = pos @ matrix.T
    rotated_np = to_numpy(rotated)
    arrows: list = []
    if vectors is not None:
        arrows.append(_Arrows(rotated_np, to_numpy(vectors @ matrix.T), "input vectors"))
    summary = f"det R = {torch.det(matrix).item():+.0f}"
    result = None
    if model is not None:
        result = model(rotated)
        result = result.detach() if isinstance(result, torch.Tensor) else torch.as_tensor(np.asarray(result))
        model_arrows, text = _output_arrows(result, rotated_np, output, irreps_out)
        arrows += model_arrows
        summary += f"; {text}" if text else ""
    return RotatedState(matrix, rotated, result, arrows, summary)


def _check_output_kind(output: str) -> None:
    if output not in _OUTPUT_KINDS:
        raise ValueError(f"output must be one of {_OUTPUT_KINDS}, got {output!r}")


def angles_text(angles: Sequence[float], mirror: bool) -> str:
    a, b, g = angles
    return f"α={a:.2f}, β={b:.2f}, γ={g:.2f}" + (" + mirror" if mirror else "")


class AngleControlled:
    """Behaviour shared by the widgets built on :func:`angle_controls` (they define ``_refresh``)."""

    def _move_controls(self, alpha: float, beta: float, gamma: float, mirror: bool) -> None:
        """Set R = ±R(α, β, γ): sliders follow (clipped to their range) without firing observers
        once per slider, then redraw once."""
        self._updating = True
        try:
            for key, value in zip(("alpha", "beta", "gamma"), (alpha, beta, gamma)):
                slider = self.sliders[key]
                slider.value = min(max(float(value), slider.min), slider.max)
            self.mirror_box.value = bool(mirror)
        finally:
            self._updating = False
        self.angles = (float(alpha), float(beta), float(gamma))
        self.mirror = bool(mirror)
        self._refresh()

    def _on_change(self, change: dict) -> None:
        if self._updating:
            return
        self.angles = tuple(float(self.sliders[k].value) for k in ("alpha", "beta", "gamma"))
        self.mirror = bool(self.mirror_box.value)
        self._refresh()


def angle_controls(on_change):
    """The controls shared by the rotation widgets: sliders for e3nn's Y-X-Y Euler angles (α, β, γ), a
    mirror checkbox (R → −R), a summary line and an output area. ``on_change`` observes every control.

    Returns ``(sliders, mirror_box, summary, out, children)``; ``children`` is the laid-out rows.
    """
    # one slider per row, wide enough that a step of the mouse is a small angle (−π..π over 420 px)
    slider = dict(step=0.01, readout_format=".2f", continuous_update=False,
                  layout=widgets.Layout(width="420px"), style=dict(description_width="48px"))
    sliders = {
        "alpha": widgets.FloatSlider(value=0.0, min=-math.pi, max=math.pi, description="α (y)", **slider),
        "beta": widgets.FloatSlider(value=0.0, min=0.0, max=math.pi, description="β (x)", **slider),
        "gamma": widgets.FloatSlider(value=0.0, min=-math.pi, max=math.pi, description="γ (y)", **slider),
    }
    mirror_box = widgets.Checkbox(value=False, description="mirror (R → −R)", indent=False)
    summary, out = widgets.HTML(), widgets.Output()
    for control in (*sliders.values(), mirror_box):
        control.observe(on_change, names="value")
    children = [widgets.VBox(list(sliders.values())), widgets.HBox([mirror_box, summary]), out]
    return sliders, mirror_box, summary, out, children


class RotationWidget(StaticTwin, AngleControlled, widgets.VBox):
    r"""Sliders for e3nn's Euler angles (α, β, γ; R = R_y(α) R_x(β) R_y(γ)) and a mirror box.

    On each change the cloud is rotated, ``pos @ R.T`` (R → -R when mirrored), and, with a
    ``model``, ``model(pos @ R.T)`` is drawn: arrows per point or at the centroid
    (``output="vector"``, see ``irreps_out`` for irreps outputs), or the principal axes of a
    symmetric (3, 3) tensor (``output="tensor"``). Optional input ``vectors`` (N, 3) rotate with
    the cloud (as polar vectors, ``v @ R.T``). The original orientation stays as a faint ghost.

    It is an ``ipywidgets.VBox``: display it; drive it from code with :meth:`set_angles`.
    """

    def __init__(self, pos: Any, model: Callable | None = None, *, output: str = "vector",
                 irreps_out: str | o3.Irreps | None = None, vectors: Any = None, title: str | None = None,
                 vector_scale: float = 1.0, bonds: str | Iterable[tuple[int, int]] | None = None,
                 show_original: bool = True) -> None:
        _check_output_kind(output)
        self.pos = _as_pos_tensor(pos)
        self.model = model
        self.output_kind = output
        self.irreps_out = None if irreps_out is None else o3.Irreps(irreps_out)
        self.input_vectors = None
        if vectors is not None:
            as_points(vectors, "vectors", n=len(self.pos))
            self.input_vectors = torch.as_tensor(to_numpy(vectors), dtype=self.pos.dtype)
        self.title = title
        self.vector_scale = float(vector_scale)
        self.bonds = bonds
        self.show_original = show_original
        self._updating = False

        self.sliders, self.mirror_box, self.summary, self.out, children = angle_controls(self._on_change)
        super().__init__(children=children)
        self.angles: tuple[float, float, float] = (0.0, 0.0, 0.0)
        self.mirror = False
        self._reference = _evaluate(self.pos, self.model, self.angles, False, output=self.output_kind,
                                    irreps_out=self.irreps_out, vectors=self.input_vectors)
        self._radius = self._extent(self._reference)
        self._refresh()

    # ------------------------------------------------------------------ state
    @property
    def rotated_pos(self) -> torch.Tensor:
        return self.state.pos

    @property
    def model_output(self) -> torch.Tensor | None:
        return self.state.output

    @property
    def matrix(self) -> torch.Tensor:
        return self.state.matrix

    def set_angles(self, alpha: float, beta: float, gamma: float, mirror: bool = False
                   ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Move to R = ±R(α, β, γ) (sliders follow, clipped to their range); return (pos @ R.T, model output)."""
        self._move_controls(alpha, beta, gamma, mirror)
        return self.state.pos, self.state.output

    def _refresh(self) -> None:
        self.state = _evaluate(self.pos, self.model, self.angles, self.mirror, output=self.output_kind,
                               irreps_out=self.irreps_out, vectors=self.input_vectors)
        self.summary.value = f"<code>{self.state.summary}</code>"
        self.figure = self.make_figure()
        show_in_output(self.out, self.figure)

    # ------------------------------------------------------------------ drawing
    def _extent(self, state: RotatedState) -> float:
        """Half-width of a fixed view box that holds every orientation (|R x| = |x|)."""
        norms = [np.linalg.norm(to_numpy(self.pos), axis=1).max(initial=0.0)]
        norms += [np.linalg.norm(a.origins + self.vector_scale * a.vectors, axis=1).max(initial=0.0)
                  for a in state.arrows]
        return 1.1 * max(max(norms), 1e-6)

    def make_figure(self) -> go.Figure:
        """The plotly figure of the current state (what the widget displays)."""
        fig = go.Figure()
        if self.show_original:
            point_cloud(self.pos, fig=fig, name="original", colors="#bbbbbb", opacity=0.5, bonds=self.bonds)
        name = "rotated + mirrored" if self.mirror else "rotated"
        point_cloud(self.state.pos, fig=fig, name=name, bonds=self.bonds, colors="#1f77b4")
        for arrows, color in zip(self.state.arrows, _arrow_colors(self.state.arrows)):
            add_arrows(fig, arrows.origins, self.vector_scale * arrows.vectors, color=color, name=arrows.label)
        r = self._radius
        fig.update_scenes(aspectmode="cube", xaxis_range=[-r, r], yaxis_range=[-r, r], zaxis_range=[-r, r])
        title = self.title + " — " if self.title else ""
        fig.update_layout(title=dict(text=title + angles_text(self.angles, self.mirror), x=0.5),
                          margin=dict(t=60, b=30), height=500, uirevision="e3teach-rotation")
        return fig


def _arrow_colors(arrows: list) -> list[str]:
    palette = (ARROW_COLOR, "#d62728", "#9467bd", "#ff7f0e")
    colors, k = [], 0
    for a in arrows:
        if a.label == "input vectors":
            colors.append(_INPUT_VECTOR_COLOR)
        else:
            colors.append(palette[k % len(palette)])
            k += 1
    return colors


def rotation_widget(pos: Any, model: Callable | None = None, *, output: str = "vector",
                    irreps_out: str | o3.Irreps | None = None, vectors: Any = None, title: str | None = None,
                    **kwargs: Any) -> RotationWidget:
    """A :class:`RotationWidget` (a ``VBox``): sliders α, β, γ, a mirror box, the rotated cloud and model output."""
    return RotationWidget(pos, model, output=output, irreps_out=irreps_out, vectors=vectors, title=title, **kwargs)


def static_rotation_panel(pos: Any, model: Callable | None = None, *,
                          angles: Sequence[Sequence[float]] = ((0, 0, 0), (0.7, 0.3, -0.4), (1.9, 1.1, 0.5)),
                          mirror_last: bool = True, output: str = "vector",
                          irreps_out: str | o3.Irreps | None = None, vectors: Any = None,
                          vector_scale: float = 1.0, title: str | None = None) -> Any:
    """The static picture beside :func:`rotation_widget`: one 3D panel per orientation in ``angles``.

    Each panel shows ``pos @ R.T`` and ``model(pos @ R.T)`` drawn as in the widget; the last
    orientation is mirrored (R → -R) when ``mirror_last``. All panels share one box so sizes
    compare. Returns the matplotlib Figure, closed in pyplot so that it shows once (as a cell's
    value or with ``display``).
    """
    import matplotlib.pyplot as plt

    _check_output_kind(output)
    p = _as_pos_tensor(pos)
    irreps = None if irreps_out is None else o3.Irreps(irreps_out)
    vecs = None
    if vectors is not None:
        as_points(vectors, "vectors", n=len(p))
        vecs = torch.as_tensor(to_numpy(vectors), dtype=p.dtype)
    angles = [tuple(float(a) for a in abc) for abc in angles]
    if not angles or any(len(abc) != 3 for abc in angles):
        raise ValueError(f"angles must be a non-empty list of (alpha, beta, gamma), got {angles}")
    mirrors = [mirror_last and k == len(angles) - 1 for k in range(len(angles))]
    states = [_evaluate(p, model, abc, m, output=output, irreps_out=irreps, vectors=vecs)
              for abc, m in zip(angles, mirrors)]
    tips = [np.linalg.norm(to_numpy(s.pos), axis=1).max(initial=0.0) for s in states]
    tips += [np.linalg.norm(a.origins + vector_scale * a.vectors, axis=1).max(initial=0.0)
             for s in states for a in s.arrows]
    lim = 1.1 * max(max(tips), 1e-6)
    fig = plt.figure(figsize=(3.3 * len(states), 3.6))
    for k, (state, abc, m) in enumerate(zip(states, angles, mirrors)):
        ax = fig.add_subplot(1, len(states), k + 1, projection="3d")
        static_point_cloud(state.pos, ax=ax, title=angles_text(abc, m), lim=lim, color="#1f77b4")
        for arrows, color in zip(state.arrows, _arrow_colors(state.arrows)):
            mpl_arrows(ax, arrows.origins, vector_scale * arrows.vectors, color)
    if title is not None:
        fig.suptitle(title)
    fig.tight_layout()
    plt.close(fig)
    return fig


class SHSelector(StaticTwin, widgets.VBox):
    """Sliders l and m (m's range follows l) showing the real spherical harmonic :func:`~e3teach.viz.sh_surface`."""

    def __init__(self, lmax: int = 4, *, resolution: int = 40, normalization: str = "component") -> None:
        if not isinstance(lmax, int) or lmax < 0:
            raise ValueError(f"lmax must be an integer >= 0, got {lmax!r}")
        self.resolution = resolution
        self.normalization = normalization
        self._updating = False
        self.l_slider = widgets.IntSlider(value=min(1, lmax), min=0, max=lmax, description="l",
                                          continuous_update=False)
        self.m_slider = widgets.IntSlider(value=0, min=-self.l_slider.value, max=self.l_slider.value,
                                          description="m", continuous_update=False)
        self.out = widgets.Output()
        self.l_slider.observe(self._on_change, names="value")
        self.m_slider.observe(self._on_change, names="value")
        super().__init__(children=[widgets.HBox([self.l_slider, self.m_slider]), self.out])
        self._refresh()

    def set_lm(self, l: int, m: int) -> go.Figure:
        """Show Y_l^m (sliders follow); return its figure. Invalid (l, m) raise ``ValueError``."""
        if not 0 <= l <= self.l_slider.max or not -l <= m <= l:
            raise ValueError(f"need 0 <= l <= {self.l_slider.max} and -l <= m <= l, got l={l}, m={m}")
        self._updating = True
        try:
            self.l_slider.value = l
            self._follow_l()
            self.m_slider.value = m
        finally:
            self._updating = False
        self._refresh()
        return self.figure

    def _follow_l(self) -> None:
        l = self.l_slider.value
        self.m_slider.min, self.m_slider.max = -l, l  # min first: valid whether l grows or shrinks

    def _on_change(self, change: dict) -> None:
        if self._updating:
            return
        self._updating = True
        try:
            self._follow_l()
        finally:
            self._updating = False
        self._refresh()

    def _refresh(self) -> None:
        self.figure = sh_surface(self.l_slider.value, self.m_slider.value, resolution=self.resolution,
                                 normalization=self.normalization)
        self.figure.update_layout(height=420)
        show_in_output(self.out, self.figure)


def sh_selector(lmax: int = 4, *, resolution: int = 40, normalization: str = "component") -> SHSelector:
    """An :class:`SHSelector` (a ``VBox``): l and m sliders and the surface of Y_l^m."""
    return SHSelector(lmax, resolution=resolution, normalization=normalization)
