"""Static twins: a matplotlib picture of a plotly figure, for readers without plotly (GitHub, nbviewer)."""
from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np
import plotly.graph_objects as go

from ._common import ARROW_COLOR, PALETTE, TWIN_DPI, TWIN_SIZE, _THREE_D, _plain, _points_of, _values


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


