r"""Visualizers: plotly for 3D (point clouds, spherical harmonics), matplotlib for curves and
static pictures, and :func:`show`, which displays either with its static twin and its text alternative.

Conventions (the course's, see AUTHORING.md):

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

One reader per module:

* ``_common.py``: array conversion, input checks, the palette, the plotly layout rules (:func:`style`);
* ``_plotly.py``: the plotly builders (:func:`point_cloud`, :func:`sh_surface`, :func:`side_by_side`, …);
* ``_mpl.py``: matplotlib pictures and the matplotlib rules (:func:`plot_curves`, :func:`log_axis`, …);
* ``_twin.py``: :func:`static_twin`, a matplotlib picture of a plotly figure;
* ``_display.py``: :func:`show` (with :func:`caption_html`) and :func:`mimebundle`.
"""
from ._common import (ARROW_COLOR, LAYOUT, PALETTE, TWIN_DPI, TWIN_SIZE, ArrayLike, as_points,  # noqa: F401
                      f32, style_layout, style_scene, surface_hover, to_numpy, _values, style)
from ._display import CAPTION_KEY, caption_html, mimebundle, picture_html, png_bytes, show
from ._mpl import (MPL_RC, mpl_arrows, figure_problems, heatmap, irreps_blocks, log_axis, plot_curves,  # noqa: F401
                   static_point_cloud, style_3d_axes, subplots)
from ._plotly import (add_arrows, orbital_name, point_cloud, point_cloud_with_signal, sh_expansion, sh_grid,
                      sh_surface, side_by_side, sphere_signal)
from ._twin import static_twin

__all__ = [
    "CAPTION_KEY",
    "caption_html",
    "point_cloud",
    "add_arrows",
    "sh_surface",
    "sh_grid",
    "sphere_signal",
    "sh_expansion",
    "point_cloud_with_signal",
    "orbital_name",
    "plot_curves",
    "subplots",
    "log_axis",
    "figure_problems",
    "MPL_RC",
    "static_point_cloud",
    "style_3d_axes",
    "heatmap",
    "irreps_blocks",
    "show",
    "style",
    "static_twin",
    "side_by_side",
    "mimebundle",
    "png_bytes",
    "picture_html",
    "PALETTE",
    "ARROW_COLOR",
    "LAYOUT",
]
