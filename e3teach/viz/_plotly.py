"""Plotly builders: point clouds with arrows and bonds, spherical harmonics as surfaces and signals on the
sphere, and :func:`side_by_side` (several small 3D figures in one WebGL scene)."""
from __future__ import annotations

import math
from typing import Any, Iterable, Sequence

import numpy as np
import plotly.graph_objects as go
import torch
from e3nn import o3

from ._common import (
    ARROW_COLOR, ArrayLike, PALETTE, TWIN_SIZE, as_points, _bond_pairs, _check_lm,
    _check_normalization, _check_resolution, _count_clouds, f32, _points_of, _segments,
    style_layout, style_scene, surface_hover, to_numpy, _values, style,
)


# names of the real SH as atomic orbitals, in e3nn's order and axes (polar axis y); checked in tests
_ORBITALS = {
    0: ("s",),
    1: ("p_x", "p_y", "p_z"),
    2: ("d_xz", "d_xy", "d_3y²-r²", "d_yz", "d_z²-x²"),
}


# ----------------------------------------------------------------------------- point clouds
def add_arrows(
    fig: go.Figure,
    origins: ArrayLike,
    vectors: ArrayLike,
    *,
    color: str = ARROW_COLOR,
    name: str | None = None,
    head_fraction: float = 0.25,
    width: float = 5.0,
) -> go.Figure:
    """Draw arrows ``origins[i] -> origins[i] + vectors[i]`` on a 3D plotly figure.

    Two traces: the shafts (one ``Scatter3d`` of line segments) and the heads (one ``go.Cone``
    of length ``head_fraction * |v_i|``, anchored at the tip). Zero vectors get no head.
    """
    start = as_points(origins, "origins")
    vec = as_points(vectors, "vectors", n=len(start))
    tip = start + vec
    norm = np.linalg.norm(vec, axis=1)
    keep = norm > 0
    head = vec[keep] * head_fraction
    xs, ys, zs = _segments(start, tip)
    group = name or "arrows"
    fig.add_trace(go.Scatter3d(x=xs, y=ys, z=zs, mode="lines", line=dict(color=color, width=width),
                               name=group, legendgroup=group, hoverinfo="skip", meta="e3teach-arrows"))
    fig.add_trace(go.Cone(
        x=f32(tip[keep, 0]), y=f32(tip[keep, 1]), z=f32(tip[keep, 2]),
        u=f32(head[:, 0]), v=f32(head[:, 1]), w=f32(head[:, 2]),
        sizemode="raw", sizeref=1.0, anchor="tip", colorscale=[[0, color], [1, color]],
        showscale=False, name=group, legendgroup=group, showlegend=False, hoverinfo="skip",
        meta="e3teach-arrowheads",
    ))
    return fig


def point_cloud(
    pos: ArrayLike,
    *,
    vectors: ArrayLike | None = None,
    vector_scale: float = 1.0,
    labels: Sequence[str] | None = None,
    colors: str | ArrayLike | None = None,
    bonds: str | Iterable[tuple[int, int]] | None = None,
    title: str | None = None,
    fig: go.Figure | None = None,
    name: str | None = None,
    vector_origins: ArrayLike | None = None,
    vector_color: str = ARROW_COLOR,
    size: float = 6.0,
    opacity: float = 1.0,
) -> go.Figure:
    """3D scatter of a point cloud ``pos`` (N, 3), optionally with arrows and bonds.

    Traces added: the points; the bonds if any (one line trace); for ``vectors`` two traces
    (shafts and cone heads, see :func:`add_arrows`) drawn from ``pos`` (or from
    ``vector_origins``, shape (M, 3) like ``vectors``) to ``origin + vector_scale * vector``.

    ``bonds``: a list of (i, j), or ``"auto"`` to connect the pairs closer than 1.1 x the smallest
    distance. ``colors``: one colour for all points, or one number per point (colour scale).
    ``fig``: add the traces to this figure (e.g. to overlay a rotated copy); successive clouds get
    successive colours of :data:`PALETTE`. Returns the figure (not shown).
    """
    p = as_points(pos)
    fig = go.Figure() if fig is None else fig
    name = name or ("points" if _count_clouds(fig) == 0 else f"points {_count_clouds(fig) + 1}")
    default_color = PALETTE[_count_clouds(fig) % len(PALETTE)]
    marker: dict[str, Any] = dict(size=size, opacity=opacity, line=dict(width=0))
    if colors is None or isinstance(colors, str):
        marker["color"] = colors or default_color
        bond_color = marker["color"]
    else:
        values = to_numpy(colors).reshape(-1)
        if values.shape[0] != len(p):
            raise ValueError(f"colors must be one colour or {len(p)} numbers (one per point), "
                             f"got shape {tuple(to_numpy(colors).shape)}")
        marker.update(color=f32(values), colorscale="Viridis", showscale=False)
        bond_color = "#888888"
    text = None
    if labels is not None:
        text = [str(s) for s in labels]
        if len(text) != len(p):
            raise ValueError(f"labels must have one entry per point ({len(p)}), got {len(text)}")
    pairs = _bond_pairs(p, bonds)
    if pairs:
        idx = np.asarray(pairs)
        xs, ys, zs = _segments(p[idx[:, 0]], p[idx[:, 1]])
        fig.add_trace(go.Scatter3d(x=xs, y=ys, z=zs, mode="lines", line=dict(color=bond_color, width=4),
                                   opacity=opacity, name=f"{name} bonds", legendgroup=name,
                                   showlegend=False, hoverinfo="skip", meta="e3teach-bonds"))
    fig.add_trace(go.Scatter3d(
        x=f32(p[:, 0]), y=f32(p[:, 1]), z=f32(p[:, 2]),
        mode="markers+text" if text is not None else "markers", text=text,
        textposition="top center", marker=marker, name=name, legendgroup=name, meta="e3teach-points",
    ))
    if vectors is not None:
        origins = p if vector_origins is None else as_points(vector_origins, "vector_origins")
        vec = as_points(vectors, "vectors", n=len(origins)) * vector_scale
        add_arrows(fig, origins, vec, color=vector_color, name=f"{name} vectors")
    style_scene(fig)
    style_layout(fig, title)
    return fig


# ----------------------------------------------------------------------------- spherical harmonics
def orbital_name(l: int, m: int) -> str | None:
    """Chemist's name of the real SH Y_l^m in e3nn's basis (polar axis y), for l <= 2; else None.

    For example ``orbital_name(1, -1) == "p_x"``: e3nn's l=1 components are (x, y, z).
    """
    _check_lm(l, m)
    names = _ORBITALS.get(int(l))
    return None if names is None else names[m + l]


def _sphere_grid(resolution: int) -> torch.Tensor:
    r"""Unit vectors on a (resolution+1) x (2 resolution+1) grid, shape (..., 3), float64.

    e3nn's angles: :math:`\beta \in [0, \pi]` from the y axis, :math:`\alpha \in [0, 2\pi]`
    around it, converted with ``o3.angles_to_xyz`` so the components are e3nn's (x, y, z).
    """
    _check_resolution(resolution)
    beta = torch.linspace(0.0, math.pi, resolution + 1, dtype=torch.float64)
    alpha = torch.linspace(0.0, 2 * math.pi, 2 * resolution + 1, dtype=torch.float64)
    b, a = torch.meshgrid(beta, alpha, indexing="ij")
    return o3.angles_to_xyz(a, b)


def _surface_trace(
    values: np.ndarray,
    directions: np.ndarray,
    *,
    radial: bool,
    scale: float | None = None,
    center: ArrayLike | None = None,
    showscale: bool = True,
    opacity: float = 1.0,
    name: str | None = None,
) -> go.Surface:
    r"""A sphere-like surface: point :math:`c + s\,r(n)\,n` with :math:`r = |f(n)|` (or 1), coloured by f.

    ``scale``: when given, the largest radius becomes ``scale``. Colours: a diverging scale with
    symmetric limits :math:`\pm \max |f|` (blue negative, red positive).
    """
    vmax = float(np.abs(values).max())
    vmax = vmax if vmax > 0 else 1.0
    radius = np.abs(values) if radial else np.ones_like(values)
    if scale is not None:
        radius = radius * (scale / max(float(radius.max()), 1e-300))
    xyz = radius[..., None] * directions
    if center is not None:
        xyz = xyz + to_numpy(center).reshape(3)
    return go.Surface(
        x=f32(xyz[..., 0]), y=f32(xyz[..., 1]), z=f32(xyz[..., 2]), surfacecolor=f32(values),
        colorscale="RdBu_r", cmin=-vmax, cmax=vmax, cmid=0.0, showscale=showscale, opacity=opacity,
        colorbar=dict(thickness=12, len=0.6), name=name, **surface_hover(values),
    )


def sh_surface(
    l: int,
    m: int,
    *,
    resolution: int = 40,
    normalization: str = "component",
    fig: go.Figure | None = None,
    row: int | None = None,
    col: int | None = None,
    showscale: bool = True,
) -> go.Figure:
    r"""The real spherical harmonic :math:`Y_l^m` as the surface :math:`r(n) = |Y_l^m(n)|\,n`.

    Colour = value of :math:`Y_l^m` (diverging, symmetric limits), so the sign shows as blue/red.
    ``m`` runs over -l..l and picks index ``m + l`` of ``o3.spherical_harmonics(l, n, True,
    normalization)``. With ``fig``, ``row``, ``col`` the surface goes into a subplot of ``fig``
    (a grid made with ``make_subplots(..., specs=[[{"type": "scene"}, ...]])``).
    """
    _check_lm(l, m)
    _check_normalization(normalization)
    n = _sphere_grid(resolution)
    y = o3.spherical_harmonics(int(l), n, normalize=True, normalization=normalization)[..., m + l]
    orbital = orbital_name(l, m)
    label = f"l={l}, m={m}" + (f" ({orbital})" if orbital else "")
    trace = _surface_trace(y.numpy(), n.numpy(), radial=True, showscale=showscale, name=label)
    in_subplot = fig is not None and row is not None and col is not None
    fig = go.Figure() if fig is None else fig
    if in_subplot:
        fig.add_trace(trace, row=row, col=col)
    else:
        fig.add_trace(trace)
        style_scene(fig)
        style_layout(fig, label)
    return fig


def sh_grid(lmax: int, *, resolution: int = 24, normalization: str = "component") -> go.Figure:
    """All real SH :math:`Y_l^m`, l <= lmax, in ONE 3D scene: row l, column m (centred), each labelled.

    One WebGL context for the whole table (see :func:`side_by_side`); each surface is the radial plot
    :math:`|Y_l^m(n)|\,n` scaled to the same size so that shapes compare.
    """
    _check_lm(lmax)
    figs, labels, cells = [], [], []
    for l in range(lmax + 1):
        for m in range(-l, l + 1):
            f = sh_surface(l, m, resolution=resolution, normalization=normalization, showscale=False)
            f.data[0].update(x=f32(_values(f.data[0].x) / _radius(f.data[0])),
                             y=f32(_values(f.data[0].y) / _radius(f.data[0])),
                             z=f32(_values(f.data[0].z) / _radius(f.data[0])))
            orbital = orbital_name(l, m)
            figs.append(f)
            labels.append(f"l={l}, m={m}" + (f"<br>{orbital}" if orbital else ""))
            cells.append((l, m + lmax))
    grid = side_by_side(figs, labels, cells=cells, gap=0.55,
                        title=f"real spherical harmonics, l ≤ {lmax} (rows l, columns m)")
    return _one_surface(grid)


def _one_surface(fig: go.Figure) -> go.Figure:
    """Draw the figure's surfaces (same grid size, colour scale and symmetric range ±cmax) as ONE trace, in place.

    The parts are stacked along the first grid axis with a row of NaN points between them (a quad with a NaN
    corner is not drawn). Each part's colour values are divided by its own ``cmax``, so that one range, ±1,
    colours every part as before; the hover shows the true values (:func:`surface_hover`). The picture is the
    same, but the browser makes one draw call per frame instead of one per part: with software WebGL
    (Chromium's SwiftShader, used where there is no working GPU, as on CI) a frame of the 16 harmonics of
    l ≤ 3 costs about a quarter of the CPU time it did.
    """
    surfaces = [trace for trace in fig.data if trace.type == "surface"]
    shapes = {_values(trace.z).shape for trace in surfaces}
    symmetric = all(trace.cmax and trace.cmin == -trace.cmax for trace in surfaces)
    one_scale = len({str(trace.colorscale) for trace in surfaces}) == 1
    if len(surfaces) < 2 or len(shapes) != 1 or not symmetric or not one_scale:
        return fig
    (rows, columns), = shapes
    gap = np.full((1, columns), np.nan)

    def stack(arrays: list[np.ndarray]) -> np.ndarray:
        parts = [part for array in arrays for part in (array.reshape(rows, columns), gap)]
        return f32(np.concatenate(parts[:-1]))

    values = [_values(trace.surfacecolor) for trace in surfaces]
    merged = surfaces[0]
    merged.update({key: stack([_values(trace[key]) for trace in surfaces]) for key in "xyz"},
                  surfacecolor=stack([v / trace.cmax for v, trace in zip(values, surfaces)]),
                  cmin=-1.0, cmax=1.0, name=None, **surface_hover(stack(values)))
    fig.data = [trace for trace in fig.data if trace.type != "surface" or trace is merged]
    return fig


def _radius(surface: Any) -> float:
    """Largest distance from the origin of a surface trace's points."""
    x, y, z = (_values(v) for v in (surface.x, surface.y, surface.z))
    return float(np.sqrt(x ** 2 + y ** 2 + z ** 2).max()) or 1.0


def _lmax_from_length(length: int, lmax: int | None) -> int:
    guess = math.isqrt(length) - 1
    if lmax is None:
        if (guess + 1) ** 2 != length or length == 0:
            raise ValueError(f"coefficients must have length (lmax+1)^2 (1, 4, 9, 16, ...), got length {length}")
        return guess
    _check_lm(lmax)
    if length != (lmax + 1) ** 2:
        raise ValueError(f"coefficients must have length (lmax+1)^2 = {(lmax + 1) ** 2} for lmax={lmax}, "
                         f"got length {length}")
    return int(lmax)


def sphere_signal(
    coefficients: ArrayLike,
    lmax: int | None = None,
    *,
    resolution: int = 40,
    normalization: str = "component",
    radial: bool = True,
    fig: go.Figure | None = None,
    title: str | None = None,
    scale: float | None = None,
    center: ArrayLike | None = None,
    opacity: float = 1.0,
    showscale: bool = True,
) -> go.Figure:
    r"""A function on the sphere :math:`f(n) = \sum_{l \le l_{max}} \sum_m c_{lm} Y_{lm}(n)`.

    ``coefficients``: 1D, length (lmax+1)^2, in the order of ``o3.Irreps.spherical_harmonics(lmax)``
    (l = 0, 1, ..., each with m = -l..l); ``lmax`` is inferred from the length when not given.
    Drawn as the surface of radius |f| (``radial=True``) or as the unit sphere, coloured by f.
    ``scale`` rescales so that the largest radius is ``scale``; ``center`` moves the surface.
    """
    c = to_numpy(coefficients)
    if c.ndim != 1:
        raise ValueError(f"coefficients must be 1D of length (lmax+1)^2, got shape {tuple(c.shape)}")
    lmax = _lmax_from_length(c.shape[0], lmax)
    _check_normalization(normalization)
    n = _sphere_grid(resolution)
    basis = o3.spherical_harmonics(o3.Irreps.spherical_harmonics(lmax), n, normalize=True,
                                   normalization=normalization)
    values = (basis @ torch.as_tensor(c, dtype=torch.float64)).numpy()
    fig = go.Figure() if fig is None else fig
    fig.add_trace(_surface_trace(values, n.numpy(), radial=radial, scale=scale, center=center,
                                 showscale=showscale, opacity=opacity, name=f"signal (lmax={lmax})"))
    style_scene(fig)
    style_layout(fig, title)
    return fig


def sh_expansion(
    pos: ArrayLike,
    lmax: int,
    *,
    normalization: str = "component",
    weights: ArrayLike | None = None,
) -> torch.Tensor:
    r"""SH coefficients of a point cloud's signal on the sphere: :math:`c = \sum_i w_i\, Y(\hat r_i)`.

    :math:`\hat r_i = r_i / |r_i|` is the direction of point i *seen from the origin*: centre the
    cloud first (e.g. ``pos - pos.mean(0)``) if you want its shape about its centroid. Points at the
    origin have no direction and are skipped. ``weights`` (N,) default to 1.

    Returns a 1D tensor of length (lmax+1)^2 in the order of ``o3.Irreps.spherical_harmonics(lmax)``
    (float64 for numpy input, the input's dtype for a floating tensor). It is exactly equivariant
    under O(3): ``sh_expansion(pos @ R.T) == sh_expansion(pos) @ D.T`` with
    ``D = o3.Irreps.spherical_harmonics(lmax).D_from_matrix(R)``, also for det R = -1 (for a
    1e-10 check set ``torch.set_default_dtype(torch.float64)``: e3nn builds D in the default dtype).
    """
    _check_lm(lmax)
    _check_normalization(normalization)
    if isinstance(pos, torch.Tensor):
        p = pos if pos.is_floating_point() else pos.to(torch.get_default_dtype())
    else:
        p = torch.as_tensor(to_numpy(pos))
    if p.ndim != 2 or p.shape[1] != 3:
        raise ValueError(f"pos must have shape (N, 3), got shape {tuple(p.shape)}")
    w = torch.ones(len(p), dtype=p.dtype, device=p.device)
    if weights is not None:
        w = torch.as_tensor(to_numpy(weights), dtype=p.dtype, device=p.device)
        if w.shape != (len(p),):
            raise ValueError(f"weights must have shape ({len(p)},), got shape {tuple(w.shape)}")
    keep = p.norm(dim=1) > 0
    y = o3.spherical_harmonics(o3.Irreps.spherical_harmonics(lmax), p[keep], normalize=True,
                               normalization=normalization)
    return (w[keep, None] * y).sum(0)


def point_cloud_with_signal(
    pos: ArrayLike,
    lmax: int,
    *,
    normalization: str = "component",
    resolution: int = 40,
    radial: bool = True,
    signal_scale: float = 1.0,
    opacity: float = 0.55,
    vectors: ArrayLike | None = None,
    bonds: str | Iterable[tuple[int, int]] | None = None,
    title: str | None = None,
    fig: go.Figure | None = None,
) -> go.Figure:
    r"""The cloud and its SH signal :math:`f(n) = \sum_{lm} c_{lm} Y_{lm}(n)`, :math:`c` = :func:`sh_expansion`.

    The signal is drawn about the origin (centre the cloud first), semi-transparent, rescaled so
    its largest radius is ``signal_scale`` x the largest |pos_i|. Rotating the cloud rotates the
    signal with it: that is the equivariance :math:`c(R\,\cdot) = D(R)\,c`.
    """
    p = as_points(pos)
    size = float(np.linalg.norm(p, axis=1).max()) if len(p) else 1.0
    coefficients = sh_expansion(p, lmax, normalization=normalization)
    fig = sphere_signal(coefficients, lmax, resolution=resolution, normalization=normalization, radial=radial,
                        fig=fig, scale=signal_scale * (size if size > 0 else 1.0), opacity=opacity,
                        showscale=False)
    title = f"point cloud and its SH signal (lmax={lmax})" if title is None else title
    return point_cloud(p, vectors=vectors, bonds=bonds, fig=fig, title=title)



def side_by_side(figs: Sequence[go.Figure], titles: Sequence[str] | None = None, *, gap: float = 0.35,
                 columns: int | None = None, cells: Sequence[tuple[int, int]] | None = None,
                 title: str | None = None) -> go.Figure:
    """Several 3D figures in ONE WebGL scene, each shifted to its own place on a grid, labelled.

    Browsers keep only ~16 WebGL contexts per page (and the course keeps ≤ 6 scenes per notebook): a
    subplot grid of 3D scenes costs one context each, this costs one. Each figure's traces are shifted
    along x (columns) and down y (rows) by its extent plus ``gap`` (relative); a text label sits above.
    ``cells``: the (row, column) of each figure (default: filled row by row, ``columns`` per row).
    The camera looks along -z, so the grid reads like a page (x right, y up).
    """
    figs = list(figs)
    if not figs:
        raise ValueError("side_by_side needs at least one figure")
    titles = list(titles) if titles is not None else [None] * len(figs)
    if len(titles) != len(figs):
        raise ValueError(f"got {len(figs)} figures but {len(titles)} titles")
    columns = columns or len(figs)
    cells = list(cells) if cells is not None else [divmod(k, columns) for k in range(len(figs))]
    if len(cells) != len(figs):
        raise ValueError(f"got {len(figs)} figures but {len(cells)} cells")
    boxes = []
    for f in figs:
        pts = np.concatenate(_points_of(f.data)) if f.data else np.zeros((1, 3))
        boxes.append((np.nanmin(pts, 0), np.nanmax(pts, 0)))
    cell = max(float((hi - lo)[:2].max()) for lo, hi in boxes) * (1 + gap)
    out = go.Figure()
    for k, (f, label, (lo, hi)) in enumerate(zip(figs, titles, boxes)):
        row, col = cells[k]
        shift = np.array([col * cell, -row * cell * 1.3, 0.0]) - (lo + hi) / 2  # rows leave room for labels
        for trace in f.data:
            t = go.Figure(trace).data[0]
            if t.type in ("scatter3d", "surface", "cone", "mesh3d"):
                t.update(x=f32(_values(t.x) + shift[0]), y=f32(_values(t.y) + shift[1]), z=f32(_values(t.z) + shift[2]))
                if t.type == "surface":
                    t.update(showscale=False)
                out.add_trace(t)
        if label:  # above the part, on its front face (the camera looks along -z): never hidden behind a surface
            top = (hi - lo)[1] / 2 + shift[1] + (lo + hi)[1] / 2
            front = (hi - lo)[2] / 2 + shift[2] + (lo + hi)[2] / 2
            out.add_trace(go.Scatter3d(x=[col * cell], y=[top + 0.22 * cell], z=[front], mode="text", text=[label],
                                       textfont=dict(size=10), showlegend=False, hoverinfo="skip"))
    style_scene(out, axes=False)
    rows, cols = 1 + max(r for r, _ in cells), 1 + max(c for _, c in cells)
    style(out, title, height=int(min(900, max(300, 80 + TWIN_SIZE[0] * rows / cols))))
    out.update_layout(showlegend=False)
    # face-on, close: the grid fills the figure (an orthographic camera's distance sets its zoom)
    out.update_scenes(camera=dict(eye=dict(x=0.0, y=0.06, z=0.62), up=dict(x=0.0, y=1.0, z=0.0),
                                  projection=dict(type="orthographic")))
    out._e3teach_parts = (figs, titles, cells)  # the static twin draws the parts as a grid of panels
    return out
