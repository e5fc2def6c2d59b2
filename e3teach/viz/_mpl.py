"""Matplotlib pictures: curves, static point clouds, heatmaps."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence

import numpy as np
from e3nn import o3

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

from ._common import ArrayLike, PALETTE, _as_points, _bond_pairs, _to_numpy


# ----------------------------------------------------------------------------- matplotlib
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
    import matplotlib.pyplot as plt

    if band not in ("minmax", "std"):
        raise ValueError(f'band must be "minmax" or "std", got {band!r}')
    xs = _to_numpy(x)
    if xs.ndim != 1:
        raise ValueError(f"x must be 1D, got shape {tuple(xs.shape)}")
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4))
    markers = "osD^vPX*"
    for k, (label, data) in enumerate(curves.items()):
        y = _to_numpy(data)
        if y.ndim == 1:
            y = y[None]
        if y.ndim != 2 or y.shape[1] != len(xs):
            raise ValueError(f"curve {label!r} must have shape ({len(xs)},) or (n_seeds, {len(xs)}), "
                             f"got shape {tuple(_to_numpy(data).shape)}")
        mean = y.mean(0)
        (line,) = ax.plot(xs, mean, marker=markers[k % len(markers)], label=label)
        if y.shape[0] > 1:
            low, high = (y.min(0), y.max(0)) if band == "minmax" else (mean - y.std(0), mean + y.std(0))
            ax.fill_between(xs, low, high, color=line.get_color(), alpha=0.2, linewidth=0)
    for k, (label, value) in enumerate((hline or {}).items()):
        ax.axhline(float(value), color="0.25", linestyle=("--", ":", "-.")[k % 3], label=label)
    if logx:
        from matplotlib.ticker import NullFormatter

        ax.set_xscale("log")
        if len(np.unique(xs)) <= 12:  # label the measured x values, plainly
            ax.set_xticks(xs, [f"{v:g}" for v in xs])
            ax.xaxis.set_minor_formatter(NullFormatter())
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title is not None:
        ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    return ax


def _mpl_arrows(ax: Any, origins: np.ndarray, vectors: np.ndarray, color: str) -> None:
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

    p = _as_points(pos)
    if ax is None:
        ax = plt.figure(figsize=(4, 4)).add_subplot(projection="3d")
    elif getattr(ax, "name", None) != "3d":
        raise ValueError("ax must be a 3D Axes, e.g. fig.add_subplot(projection='3d')")
    ax.scatter(*p.T, color=color, s=30, depthshade=False)
    for i, j in _bond_pairs(p, bonds):
        ax.plot(*np.stack([p[i], p[j]]).T, color=color, alpha=0.6)
    drawn = [p]
    if vectors is not None:
        origins = p if vector_origins is None else _as_points(vector_origins, "vector_origins")
        vec = _as_points(vectors, "vectors", n=len(origins)) * vector_scale
        _mpl_arrows(ax, origins, vec, vector_color)
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
    import matplotlib.pyplot as plt

    m = _to_numpy(matrix)
    if m.ndim != 2:
        raise ValueError(f"matrix must be 2D, got shape {tuple(m.shape)}")
    if ax is None:
        _, ax = plt.subplots(figsize=(4.5, 4))
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

