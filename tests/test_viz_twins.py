"""Static twins (a PNG stored with every interactive figure) and the one-scene figure layouts."""
import base64

import numpy as np
import plotly.graph_objects as go
import pytest
import torch

from e3teach import viz, widgets
from test_viz import stacked_parts

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _png(bundle):
    data = base64.b64decode(bundle["image/png"])
    assert data.startswith(PNG_MAGIC)
    return data


def test_mimebundle_holds_the_interactive_figure_and_its_png():
    fig = viz.point_cloud(torch.randn(5, 3), vectors=torch.randn(5, 3), title="five points")
    bundle = viz.mimebundle(fig)
    assert set(bundle) == {"application/vnd.plotly.v1+json", "image/png", "text/plain"}
    assert bundle["application/vnd.plotly.v1+json"]["data"]  # the figure itself, as plotly's renderer stores it
    assert len(_png(bundle)) > 5_000
    assert "five points" in bundle["text/plain"]


def test_show_accepts_a_matplotlib_twin_and_refuses_non_figures():
    import matplotlib.pyplot as plt

    mpl = plt.figure(figsize=(2, 2))
    plt.close(mpl)
    fig = viz.sh_surface(1, 0)
    assert _png(viz.mimebundle(fig, static=mpl)) != _png(viz.mimebundle(fig))
    with pytest.raises(TypeError, match="plotly"):
        viz.show("a picture")


def test_show_gives_a_matplotlib_figure_an_html_picture_with_its_alt_text(monkeypatch):
    import matplotlib.pyplot as plt
    from IPython import display as ipd

    shown = []
    monkeypatch.setattr(ipd, "display", lambda bundle, raw, metadata: shown.append((bundle, metadata)))
    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    viz.show(fig, alt='A falling line: "y = 1 - x".')
    bundle, metadata = shown[-1]
    alt = 'A falling line: "y = 1 - x".'
    assert metadata == {"image/png": {"alt": alt}} and bundle["text/plain"] == alt
    assert 'alt="A falling line: &quot;y = 1 - x&quot;."' in bundle["text/html"]
    assert bundle["text/html"].startswith('<img class="e3teach-picture" src="data:image/png;base64,' + bundle["image/png"])
    viz.show(viz.sh_surface(1, 0), alt="p_y <the orbital>")
    figure, caption = shown[-2:]                # JupyterLab's plotly renderer wins over HTML in its output:
    assert "text/html" not in figure[0]         # the alt text comes in a second output, a visible caption
    assert caption == ({"text/html": '<p class="e3teach-caption"><em>Figure: p_y &lt;the orbital&gt;</em></p>',
                        "text/plain": "Figure: p_y <the orbital>"}, {"e3teach_caption": True})
    viz.show(viz.sh_surface(1, 0))              # no alt, no caption
    assert shown[-1][1] is None and len(shown) == 4


@pytest.mark.parametrize("make", [
    lambda: viz.sh_surface(2, 1),
    lambda: viz.point_cloud(np.eye(3), bonds=[(0, 1), (1, 2)]),
    lambda: go.Figure(go.Scatter(x=[0, 1, 2], y=[1, 0, 1], mode="lines+markers", name="a")),
    lambda: go.Figure(go.Heatmap(z=np.arange(12.0).reshape(3, 4))),
    lambda: go.Figure(go.Cone(x=[0], y=[0], z=[0], u=[1], v=[0], w=[0])),
])
def test_static_twin_draws_every_trace_type_the_course_uses(make):
    picture = viz.static_twin(make())
    assert picture.axes, "no axes drawn"


def test_static_twin_follows_subplot_domains():
    fig = viz.side_by_side([viz.sh_surface(0, 0)], ["s"])  # one scene
    from plotly.subplots import make_subplots

    two = make_subplots(rows=1, cols=2, specs=[[{"type": "scene"}, {"type": "scene"}]], subplot_titles=("left", "right"))
    two.add_trace(fig.data[0], row=1, col=1)
    two.add_trace(viz.sh_surface(1, 0).data[0], row=1, col=2)
    picture = viz.static_twin(two)
    assert len(picture.axes) == 2
    left, right = sorted(picture.axes, key=lambda ax: ax.get_position().x0)
    assert left.get_position().x1 <= right.get_position().x0 + 1e-9
    assert (left.get_title(), right.get_title()) == ("left", "right")


def test_side_by_side_and_sh_grid_use_one_webgl_scene():
    grid = viz.sh_grid(2, resolution=8)
    scenes = {t.scene or "scene" for t in grid.data if t.type in ("surface", "scatter3d")}
    assert scenes == {"scene"}
    surface, = (t for t in grid.data if t.type == "surface")           # the 9 harmonics, one trace
    labels = [t.text[0] for t in grid.data if t.type == "scatter3d"]
    assert "l=1, m=0<br>p_y" in labels
    # the harmonics do not overlap: their boxes are disjoint in x or y (parts: rows between rows of NaN)
    x, y = viz._values(surface.x), viz._values(surface.y)
    parts = stacked_parts(surface)
    assert len(parts) == 9
    boxes = [(np.nanmin(np.stack([x[rows].ravel(), y[rows].ravel()]), 1),
              np.nanmax(np.stack([x[rows].ravel(), y[rows].ravel()]), 1)) for rows in parts]
    for i in range(len(boxes)):
        for j in range(i):
            (lo1, hi1), (lo2, hi2) = boxes[i], boxes[j]
            assert (hi1 < lo2).any() or (hi2 < lo1).any(), (i, j)
    picture = viz.static_twin(grid)  # the twin is a grid of small panels, one per surface
    assert len(picture.axes) == 9
    with pytest.raises(ValueError, match="titles"):
        viz.side_by_side([viz.sh_surface(0, 0)], ["a", "b"])


def test_style_leaves_room_for_titles():
    fig = viz.style(go.Figure(go.Scatter(x=[0, 1], y=[0, 1])), "a title")
    assert fig.layout.margin.t >= 50 and fig.layout.margin.b >= 20
    assert fig.layout.title.text == "a title"


def test_widgets_display_their_static_twin_with_an_alt_text_and_hide_it_while_alive():
    from e3teach import point_groups

    w = widgets.rotation_widget(torch.randn(4, 3), title="t")
    assert "application/vnd.jupyter.widget-view+json" in w._repr_mimebundle_()
    for widget in (w, widgets.sh_selector(2), point_groups.group_explorer(["C2v"])):
        twin, metadata = widget.twin_bundle()
        _png(twin)
        alt = metadata["image/png"]["alt"]
        assert alt and twin["text/plain"] == alt and f'alt="{alt}"' in twin["text/html"]
        assert 'class="e3teach-twin"' in twin["text/html"] and twin["image/png"] in twin["text/html"]
    w.alt = "Four points and their centred copy."
    assert w.twin_bundle()[1]["image/png"]["alt"] == w.alt
    # the CSS that hides the twin names the classes the twin and the live widget carry
    assert ".e3teach-twin" in widgets.TWIN_CSS and ".e3teach-live" in widgets.TWIN_CSS


def test_rotation_sliders_are_wide_enough_to_move_smoothly():
    w = widgets.rotation_widget(torch.randn(4, 3))
    alpha = w.sliders["alpha"]
    assert alpha.layout.width == "420px"  # 2π over ~370 px of track: under 0.02 rad a pixel
