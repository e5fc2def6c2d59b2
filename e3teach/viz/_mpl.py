"""Matplotlib pictures and the course's matplotlib rules, in one place (as :data:`LAYOUT` is for plotly).

The rules (the figure rules of AUTHORING.md): one colour per series, the same for its dots, its line and its band
(:data:`PALETTE` in turn); readable log axes (labelled decades, or the measured values, never minor-tick labels
such as "3×10⁰ 4×10⁰" that run into each other: :func:`log_axis`); constrained layout (nothing clipped or
overlapping: :func:`subplots`); every axis labelled, with its unit. :func:`figure_problems` checks a finished
figure against them, so a test can.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence

import numpy as np
from e3nn import o3

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

from ._common import ArrayLike, PALETTE, as_points, _bond_pairs, to_numpy


#: the course's matplotlib settings (used by :func:`subplots` and the helpers here)
MPL_RC = {
    "axes.prop_cycle": None,              # filled below: PALETTE, one colour per series
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "legend.fontsize": 9,
    "legend.frameon": False,
    "figure.constrained_layout.use": True,
}


def _rc() -> dict:
    from cycler import cycler

    return dict(MPL_RC, **{"axes.prop_cycle": cycler(color=list(PALETTE))})


def subplots(nrows: int = 1, ncols: int = 1, *, figsize: tuple[float, float] | None = None, **kwargs: Any):
    """``plt.subplots`` with the course's rules: constrained layout, :data:`PALETTE`, light grid.

    ``figsize`` defaults to 4 x 3.2 inches a panel (at most 12 inches wide: readable on a phone once scaled).
    Returns ``(fig, axes)`` as ``plt.subplots`` does.
    """
    import matplotlib.pyplot as plt

    if figsize is None:
        figsize = (min(12.0, 4.0 * ncols), 3.2 * nrows)
    with plt.rc_context(_rc()):
        fig, axes = plt.subplots(nrows, ncols, figsize=figsize, layout="constrained", **kwargs)
    for ax in np.atleast_1d(axes).ravel():
        ax.grid(True, alpha=0.3)
        ax.set_prop_cycle(color=list(PALETTE))
    return fig, axes


def log_axis(ax: "Axes", axis: str = "x", values: Sequence[float] | None = None) -> "Axes":
    """Put ``axis`` ("x", "y" or "both") on a log scale with labels that never run into each other.

    With ``values`` (the measured points, e.g. training-set sizes) and at most 12 of them, exactly those are
    labelled, plainly (``100``, ``0.001``); otherwise the decades are (``10⁻³``, ``10⁰``, ``10³``) and, over a
    range shorter than a decade, a few plain values in it. Minor ticks are never labelled.
    """
    from matplotlib.ticker import FixedLocator, FuncFormatter, LogLocator, NullFormatter

    if axis not in ("x", "y", "both"):
        raise ValueError(f'axis must be "x", "y" or "both", got {axis!r}')
    for name in ("x", "y") if axis == "both" else (axis,):
        getattr(ax, f"set_{name}scale")("log")
        target = getattr(ax, f"{name}axis")
        shown = None if values is None else np.unique(np.asarray(values, dtype=float))
        if shown is not None and (shown <= 0).any():
            raise ValueError(f"a log axis needs positive values, got {shown[shown <= 0].tolist()}")
        if shown is not None and len(shown) <= 12:
            target.set_major_locator(FixedLocator(shown))
            target.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        else:
            low, high = sorted(getattr(ax, f"get_{name}lim")())
            if high / max(low, 1e-300) < 10:            # less than a decade: a few plain values
                target.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
                target.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
            else:
                target.set_major_locator(LogLocator(base=10, numticks=8))
                target.set_major_formatter(FuncFormatter(_decade))
        target.set_minor_formatter(NullFormatter())
    return ax


_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def _decade(value: float, _position: Any = None) -> str:
    """``10ⁿ`` for a power of ten (``1``, ``10`` and ``100`` written out), else the plain number."""
    if value <= 0:
        return ""
    exponent = np.log10(value)
    if abs(exponent - round(exponent)) > 1e-9:
        return f"{value:g}"
    n = int(round(exponent))
    return f"{value:g}" if 0 <= n <= 2 else "10" + str(n).translate(_SUPERSCRIPT)


def figure_problems(fig: Any) -> list[str]:
    """What in a finished matplotlib figure breaks the course's rules (empty list: none).

    Checks: constrained layout; every 2D Axes with both axis labels; no two tick labels of one axis overlapping;
    no text outside the figure; within one Axes, a series' markers and line in one colour (a line and a
    scatter with the same label and different colours). Draws the figure once to measure the text.
    """
    problems = []
    engine = fig.get_layout_engine()
    if engine is None or type(engine).__name__ != "ConstrainedLayoutEngine":
        problems.append("not in constrained layout (use viz.subplots or layout='constrained')")
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    box = fig.bbox
    hidden = set()                           # tick labels outside the axis limits: matplotlib does not draw them
    for ax in fig.axes:
        for name in ("x", "y") if getattr(ax, "name", "") != "3d" else ():
            low, high = sorted(getattr(ax, f"get_{name}lim")())
            eps = 1e-9 * (high - low)
            axis = getattr(ax, f"{name}axis")
            for tick in [*axis.get_major_ticks(), *axis.get_minor_ticks()]:
                if not low - eps <= tick.get_loc() <= high + eps:
                    hidden |= {id(tick.label1), id(tick.label2)}
    for k, ax in enumerate(fig.axes):
        if getattr(ax, "name", "") == "3d" or not ax.get_visible() or ax.get_label() == "<colorbar>":
            continue
        where = f"axes {k + 1}" + (f" ({ax.get_title()!r})" if ax.get_title() else "")
        for name in ("x", "y"):
            if not getattr(ax, f"get_{name}label")():
                problems.append(f"{where}: no {name} label")
            labels = [t for t in getattr(ax, f"get_{name}ticklabels")()
                      if t.get_visible() and t.get_text() and id(t) not in hidden]
            boxes = [t.get_window_extent(renderer) for t in labels]
            for (a, ta), (b, tb) in zip(zip(boxes, labels), zip(boxes[1:], labels[1:])):
                if a.overlaps(b):
                    problems.append(f"{where}: {name} tick labels {ta.get_text()!r} and {tb.get_text()!r} overlap")
        series: dict[str, set] = {}
        for line in ax.get_lines():
            if not line.get_label().startswith("_"):
                series.setdefault(line.get_label(), set()).add(_hex(line.get_color()))
        for collection in ax.collections:
            label = collection.get_label()
            if label and not label.startswith("_") and len(collection.get_facecolors()):
                series.setdefault(label, set()).add(_hex(collection.get_facecolors()[0]))
        problems += [f"{where}: series {label!r} drawn in {len(colours)} colours" for label, colours in series.items()
                     if len(colours) > 1]
    for text in fig.findobj(lambda a: hasattr(a, "get_text") and hasattr(a, "get_window_extent")):
        if not text.get_visible() or not str(text.get_text()).strip() or id(text) in hidden:
            continue
        if getattr(text, "axes", None) is not None and getattr(text.axes, "name", "") == "3d":
            continue
        extent = text.get_window_extent(renderer)
        if (extent.x0 < box.x0 - 1 or extent.x1 > box.x1 + 1 or extent.y0 < box.y0 - 1 or extent.y1 > box.y1 + 1):
            problems.append(f"text {str(text.get_text())[:40]!r} is cut at the edge of the figure")
    return problems


def _hex(colour: Any) -> str:
    from matplotlib.colors import to_hex

    return to_hex(colour, keep_alpha=False)


# ----------------------------------------------------------------------------- matplotlib pictures
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
    if band not in ("minmax", "std"):
        raise ValueError(f'band must be "minmax" or "std", got {band!r}')
    xs = to_numpy(x)
    if xs.ndim != 1:
        raise ValueError(f"x must be 1D, got shape {tuple(xs.shape)}")
    if ax is None:
        _, ax = subplots(figsize=(6, 4))
    markers = "osD^vPX*"
    for k, (label, data) in enumerate(curves.items()):
        y = to_numpy(data)
        if y.ndim == 1:
            y = y[None]
        if y.ndim != 2 or y.shape[1] != len(xs):
            raise ValueError(f"curve {label!r} must have shape ({len(xs)},) or (n_seeds, {len(xs)}), "
                             f"got shape {tuple(to_numpy(data).shape)}")
        mean = y.mean(0)
        (line,) = ax.plot(xs, mean, marker=markers[k % len(markers)], label=label, color=PALETTE[k % len(PALETTE)])
        if y.shape[0] > 1:
            low, high = (y.min(0), y.max(0)) if band == "minmax" else (mean - y.std(0), mean + y.std(0))
            ax.fill_between(xs, low, high, color=line.get_color(), alpha=0.2, linewidth=0)
    for k, (label, value) in enumerate((hline or {}).items()):
        ax.axhline(float(value), color="0.25", linestyle=("--", ":", "-.")[k % 3], label=label)
    if logx:
        log_axis(ax, "x", values=xs)          # the measured x values, plainly
    if logy:
        log_axis(ax, "y")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title is not None:
        ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    return ax


def mpl_arrows(ax: Any, origins: np.ndarray, vectors: np.ndarray, color: str) -> None:
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

    p = as_points(pos)
    if ax is None:
        ax = plt.figure(figsize=(4, 4)).add_subplot(projection="3d")
    elif getattr(ax, "name", None) != "3d":
        raise ValueError("ax must be a 3D Axes, e.g. fig.add_subplot(projection='3d')")
    ax.scatter(*p.T, color=color, s=30, depthshade=False)
    for i, j in _bond_pairs(p, bonds):
        ax.plot(*np.stack([p[i], p[j]]).T, color=color, alpha=0.6)
    drawn = [p]
    if vectors is not None:
        origins = p if vector_origins is None else as_points(vector_origins, "vector_origins")
        vec = as_points(vectors, "vectors", n=len(origins)) * vector_scale
        mpl_arrows(ax, origins, vec, vector_color)
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
    m = to_numpy(matrix)
    if m.ndim != 2:
        raise ValueError(f"matrix must be 2D, got shape {tuple(m.shape)}")
    if ax is None:
        _, ax = subplots(figsize=(4.5, 4))
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

