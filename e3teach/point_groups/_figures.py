"""Pictures of a point group: :func:`group_figure` (plotly) and :func:`group_explorer` (an ipywidgets
dropdown of groups). plotly and ipywidgets are imported when a picture is asked for."""
from __future__ import annotations

import torch

from ._groups import DTYPE, as_group
from ._invariants import GENERIC_POINT, first_invariant_harmonic, orbit

__all__ = ["group_figure", "group_explorer"]


def group_figure(group, *, point=GENERIC_POINT, lmax: int = 12, resolution: int = 30):
    """A plotly figure: the orbit of a generic point (left) and
    the lowest invariant spherical harmonic of the group (right)."""
    from plotly.subplots import make_subplots

    from ..viz import point_cloud, sphere_signal, style

    group = as_group(group)
    pts = orbit(group, point)
    l, c = first_invariant_harmonic(group, lmax)
    title = f"invariant harmonic l={l}" if l is not None else f"no invariant harmonic up to l={lmax}"
    fig = make_subplots(rows=1, cols=2, specs=[[{"type": "scene"}, {"type": "scene"}]],
                        subplot_titles=(f"{group.name}: orbit of one point ({group.order} images)", title))
    left = point_cloud(pts, colors=group.dets, size=5)   # colour = det: +1 proper, -1 improper
    for trace in left.data:
        fig.add_trace(trace, row=1, col=1)
    if l is not None:
        coeffs = torch.zeros((l + 1) ** 2, dtype=DTYPE)
        coeffs[l * l:(l + 1) ** 2] = c
        right = sphere_signal(coeffs, resolution=resolution, showscale=False)
        for trace in right.data:
            fig.add_trace(trace, row=1, col=2)
    style(fig, height=420)                     # the course's template and margins (titles and axes not clipped)
    fig.update_layout(showlegend=False)
    return fig


def group_explorer(names=("C2v", "C3v", "D3d", "D4h", "S4", "Td", "Th", "Oh", "Ih"), **kwargs):
    """A Dropdown of groups and :func:`group_figure` of the chosen one (an ipywidgets ``VBox``).
    ``.figure`` holds the current figure, ``.select(name)`` changes the group."""
    import ipywidgets as widgets

    from ..widgets import FigureBox, show_in_output

    box = FigureBox()
    dropdown = widgets.Dropdown(options=list(names), value=names[0], description="group")
    out = widgets.Output()

    def select(name):
        dropdown.value = name
        box.figure = group_figure(name, **kwargs)
        show_in_output(out, box.figure)
        return box.figure

    dropdown.observe(lambda change: select(change["new"]), names="value")
    box.children = [dropdown, out]
    box.select = select
    select(names[0])
    return box
