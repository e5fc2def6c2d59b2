"""Static twins (a PNG stored with every interactive figure) and the one-scene figure layouts."""
import base64

import numpy as np
import plotly.graph_objects as go
import pytest
import torch

from e3teach import viz, widgets

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
        viz.show(mpl)


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
    assert sum(t.type == "surface" for t in grid.data) == 9
    labels = [t.text[0] for t in grid.data if t.type == "scatter3d"]
    assert "l=1, m=0<br>p_y" in labels
    # surfaces do not overlap: their boxes are disjoint in x or y
    boxes = [(np.nanmin(np.stack([viz._values(t.x).ravel(), viz._values(t.y).ravel()]), 1),
              np.nanmax(np.stack([viz._values(t.x).ravel(), viz._values(t.y).ravel()]), 1))
             for t in grid.data if t.type == "surface"]
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


def test_widgets_store_their_static_twin_in_the_same_output():
    w = widgets.rotation_widget(torch.randn(4, 3), title="t")
    bundle = w._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    _png(bundle)
    _png(widgets.sh_selector(2)._repr_mimebundle_())
    from e3teach import point_groups

    _png(point_groups.group_explorer(["C2v"])._repr_mimebundle_())


def test_rotation_sliders_are_wide_enough_to_move_smoothly():
    w = widgets.rotation_widget(torch.randn(4, 3))
    alpha = w.sliders["alpha"]
    assert alpha.layout.width == "420px"  # 2π over ~370 px of track: under 0.02 rad a pixel
