"""What every figure of the course shares: array conversion, input checks, the palette and the plotly
layout rules (:data:`LAYOUT`, :func:`style`).
"""
from __future__ import annotations

from typing import Any, Iterable, Sequence, Union

import numpy as np
import plotly.graph_objects as go
import torch

ArrayLike = Union[torch.Tensor, np.ndarray, Sequence]

#: colours used in turn for successive point clouds in one figure
PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b")
#: colour of the arrows drawn by default
ARROW_COLOR = "#111111"
_NORMALIZATIONS = ("component", "norm", "integral")
# a fixed camera, y up as in e3nn's spherical harmonics
_CAMERA = dict(eye=dict(x=1.45, y=0.9, z=1.45), up=dict(x=0.0, y=1.0, z=0.0))

# ----------------------------------------------------------------------------- small helpers
def to_numpy(x: ArrayLike, dtype: Any = np.float64) -> np.ndarray:
    """A numpy copy of a tensor, array or nested sequence (detached, on the CPU)."""
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    return np.asarray(x, dtype=dtype)


def as_points(x: ArrayLike, name: str = "pos", n: int | None = None) -> np.ndarray:
    """``x`` as a float64 array of shape (N, 3), or a ``ValueError`` saying what was expected."""
    arr = to_numpy(x)
    if arr.ndim != 2 or arr.shape[1] != 3 or (n is not None and arr.shape[0] != n):
        expected = f"({n}, 3)" if n is not None else "(N, 3)"
        raise ValueError(f"{name} must have shape {expected}, got shape {tuple(arr.shape)}")
    return arr


def f32(a: np.ndarray) -> np.ndarray:
    """float32 copy (plotly serializes it as compact base64)."""
    return np.ascontiguousarray(a, dtype=np.float32)


def surface_hover(values: np.ndarray, label: str = "f") -> dict:
    """A surface trace's hover settings that show its colour value as ``label=value``.

    Plotly's surface hover cannot read ``surfacecolor`` in a template (it shows ``f=-``), so the values go to
    ``customdata``, transposed: a surface's hover reads it ``[column][row]``.
    """
    return dict(customdata=f32(values).T, hovertemplate=f"{label}=%{{customdata:.3f}}<extra></extra>")


def _check_normalization(normalization: str) -> None:
    if normalization not in _NORMALIZATIONS:
        raise ValueError(f"normalization must be one of {_NORMALIZATIONS}, got {normalization!r}")


def _check_lm(l: int, m: int | None = None) -> None:
    if not isinstance(l, (int, np.integer)) or isinstance(l, bool) or l < 0:
        raise ValueError(f"l must be an integer >= 0, got {l!r}")
    if m is not None and (not isinstance(m, (int, np.integer)) or not -l <= m <= l):
        raise ValueError(f"m must be an integer with -l <= m <= l, i.e. in [{-l}, {l}] for l={l}; got {m!r}")


def _check_resolution(resolution: int) -> None:
    if not isinstance(resolution, (int, np.integer)) or resolution < 4:
        raise ValueError(f"resolution must be an integer >= 4, got {resolution!r}")


def _segments(starts: np.ndarray, ends: np.ndarray) -> tuple[list, list, list]:
    """x, y, z lists of line segments start->end separated by ``None`` (plotly's line breaks)."""
    coords: tuple[list, list, list] = ([], [], [])
    for a, b in zip(starts, ends):
        for k in range(3):
            coords[k].extend((round(float(a[k]), 5), round(float(b[k]), 5), None))
    return coords


def _bond_pairs(pos: np.ndarray, bonds: str | Iterable[tuple[int, int]] | None) -> list[tuple[int, int]]:
    """Pairs (i, j) to connect: given, or "auto" = pairs closer than 1.1 x the smallest distance."""
    if bonds is None:
        return []
    n = len(pos)
    if isinstance(bonds, str):
        if bonds != "auto":
            raise ValueError(f'bonds must be "auto", None or a list of (i, j) pairs, got {bonds!r}')
        if n < 2:
            return []
        i, j = np.triu_indices(n, k=1)
        dist = np.linalg.norm(pos[i] - pos[j], axis=1)
        positive = dist[dist > 0]
        if positive.size == 0:
            return []
        close = (dist > 0) & (dist < 1.1 * positive.min())
        return list(zip(i[close].tolist(), j[close].tolist()))
    pairs = [tuple(int(k) for k in pair) for pair in bonds]
    for pair in pairs:
        if len(pair) != 2 or not all(0 <= k < n for k in pair):
            raise ValueError(f"each bond must be a pair (i, j) of point indices in [0, {n}), got {pair}")
    return pairs  # type: ignore[return-value]


def style_scene(fig: go.Figure, *, axes: bool = True, **scene: Any) -> None:
    """Equal aspect, fixed camera, light axes, y up, for every scene of ``fig``."""
    axis = dict(showbackground=False, gridcolor="#e5e5e5", zerolinecolor="#bbbbbb", showspikes=False)
    if not axes:
        axis = dict(visible=False)
    fig.update_scenes(
        aspectmode="data",
        camera=_CAMERA,
        xaxis=dict(axis, title="x" if axes else None),
        yaxis=dict(axis, title="y" if axes else None),
        zaxis=dict(axis, title="z" if axes else None),
        **scene,
    )


def style_layout(fig: go.Figure, title: str | None) -> None:
    """The course's layout rules (:data:`LAYOUT`, via :func:`style`) on a figure built here."""
    style(fig, title)
    if title is None:
        fig.update_layout(margin=dict(t=20))


def _count_clouds(fig: go.Figure) -> int:
    return sum(1 for trace in fig.data if getattr(trace, "meta", None) == "e3teach-points")


# ----------------------------------------------------------------------------- layout rules and static twins
#: the course's one plotly look: bare template, room for a title, nothing clipped at the bottom
LAYOUT = dict(template="none", font=dict(size=12), margin=dict(l=10, r=10, b=30, t=60),
              legend=dict(x=0.0, y=1.0, bgcolor="rgba(255,255,255,0.6)"))
#: size (pixels) of a static twin when the figure sets none
TWIN_SIZE = (720, 460)
TWIN_DPI = 80


def style(fig: go.Figure, title: str | None = None, *, height: int | None = None) -> go.Figure:
    """Apply the course's layout rules to a figure you built yourself (template, margins, title); return it.

    The top margin leaves room for the title (and for subplot titles, which plotly draws above each
    subplot's domain), the bottom margin for axis labels; 3D scenes get equal aspect, y up.
    """
    fig.update_layout(**LAYOUT)
    if title is not None:
        fig.update_layout(title=dict(text=title, x=0.5, xanchor="center", y=0.98, yanchor="top"))
    if height is not None:
        fig.update_layout(height=height)
    if any(trace.type in _THREE_D for trace in fig.data) and fig.layout.scene.aspectmode is None:
        style_scene(fig)  # a figure built by hand: equal aspect, the course's camera (y up)
    return fig


_THREE_D = {"scatter3d", "surface", "mesh3d", "cone"}



def _values(a: Any) -> np.ndarray:
    """A plotly data array (tuple, list with None for breaks, numpy, base64 dict) as float numpy (None → nan)."""
    if a is None:
        return np.zeros(0)
    if isinstance(a, dict) and "bdata" in a:  # plotly's typed-array encoding
        import base64

        return np.frombuffer(base64.b64decode(a["bdata"]), dtype=np.dtype(a["dtype"])).astype(float).reshape(
            a.get("shape", -1) if isinstance(a.get("shape"), (list, tuple)) else -1)
    arr = np.asarray(a, dtype=object)
    return np.where(arr == None, np.nan, arr).astype(float)  # noqa: E711


def _plain(text: str) -> str:
    import re

    return re.sub(r"<[^>]+>", "", text.replace("<br>", " "))


def _points_of(traces: Sequence[Any]) -> list[np.ndarray]:
    pts = []
    for t in traces:
        if t.type in ("scatter3d", "surface", "cone", "mesh3d"):
            x, y, z = (_values(v).ravel() for v in (t.x, t.y, t.z))
            keep = np.isfinite(x) & np.isfinite(y) & np.isfinite(z)
            pts.append(np.stack([x[keep], y[keep], z[keep]], 1))
    return pts or [np.zeros((1, 3))]
