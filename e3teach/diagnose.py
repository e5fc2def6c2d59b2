r"""Diagnosing a pipeline that "is not equivariant" (lesson 19).

:func:`e3teach.check_point_model` says *whether* a model is equivariant. When a researcher's check
fails, the model is often fine and the test is wrong: geometry computed once and reused, a "rotation"
that is not orthogonal, an edge of length zero, edges that cross graphs in a batch, float32 round-off
read as a bug, labels that do not transform as declared. :func:`diagnose` runs the whole pipeline —
structure → graph → model → outputs — and names those mistakes when it sees them.

The pipeline is any callable ``pipeline(pos)`` on positions ``pos`` (N, 3) in Å that returns

- the outputs: a tensor or a tuple of tensors, each of shape ``(..., irreps.dim)`` (per atom or per
  structure), or
- a ``dict`` with key ``"outputs"`` and, optionally, the graph it built: ``"edge_src"``/``"edge_dst"``
  (E,) or ``"edge_index"`` (2, E), ``"edge_vec"`` (E, 3), ``"edge_offset"`` (E, 3, periodic images)
  and ``"batch"`` (N,). Convention: ``edge_vec = pos[dst] - pos[src] (+ edge_offset)``.

What is tested (each finding has a short ``code``; :data:`CODES` lists them):

- the pipeline's outputs under rotations, inversions and translations, ``p → p Rᵀ + t``, in its own
  dtype; a failure is explained when it fits one pattern: outputs that do not move (stale geometry),
  outputs that move with ``Rᵀ`` (``R`` vs ``R.T``), only improper elements failing (wrong parity
  declared), only translations failing (absolute positions), float32 round-off (re-checked in float64),
  a small float64 error (an approximately equivariant architecture);
- a relabelling of the atoms (per-atom outputs must follow it): a neighbour list, radial basis or edge
  vectors computed once for one numbering and reused break it, even where rotations cannot see it;
- a small non-rigid move of the atoms: outputs that do not change at all ignore the positions;
- the graph, when the pipeline returns it: edge vectors that are not those of the positions passed in,
  edges longer than ``r_max`` or pairs within ``r_max`` missing, zero-length edges, edges between
  graphs of a batch; and duplicate atoms in the structure itself;
- optionally, the user's own test matrices (:func:`check_matrix`) and labels of one structure in two
  orientations (:func:`diagnose_labels`).
"""
from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from typing import Callable, Sequence

import torch
from e3nn import o3

from .env import default_dtype
from .equivariance import TOLERANCE, check_point_model, default_tolerance, group_elements
from .roundoff import decade, format_error

__all__ = ["CODES", "Finding", "Diagnosis", "diagnose", "check_matrix", "diagnose_labels", "rigid_motion"]

#: Every finding's code, and what it means.
CODES = {
    "bad-input": "the structure or the outputs cannot be checked as given",
    "non-orthogonal-matrix": "a test matrix is not a rotation or a reflection",
    "stale-geometry": "the outputs do not move with the structure: geometry reused from another structure",
    "stale-edge-vectors": "the graph's edge vectors are not those of the positions passed in",
    "stale-neighbour-list": "the neighbour list is not that of the positions passed in",
    "stale-per-edge-cache": "the outputs change when the atoms are relabelled",
    "ignores-positions": "the outputs do not change at all when the atoms move",
    "zero-length-edge": "an edge of length zero (a self-loop or duplicate atoms)",
    "cross-graph-edge": "an edge joins two graphs of a batch",
    "non-finite": "the outputs contain NaN or inf",
    "transposed-rotation": "the outputs rotate with Rᵀ instead of R",
    "wrong-parity": "rotations pass, inversions fail: an output's declared parity is wrong",
    "absolute-positions": "rotations pass, translations fail: the model reads absolute positions",
    "float32-roundoff": "float32 round-off, not a bug: the float64 re-check passes",
    "approximate": "a small float64 error: an approximately equivariant architecture, or a small bug",
    "not-equivariant": "not equivariant, for no reason the tool recognizes",
    "labels-not-rotated": "the label did not change when the structure turned (a lab-frame quantity)",
    "labels-transposed-rotation": "the label turned with Rᵀ instead of R",
    "labels-transposed-index": "a rank-2 label is stored with its indices swapped in one orientation",
    "labels-wrong": "the label does not transform as declared",
}
#: Findings that are not bugs.
NOTES = ("float32-roundoff", "approximate")
#: Printed lines are wrapped to this width.
WIDTH = 100
#: Tolerances relative to each output block's size, max(1, |block|), by the pipeline's dtype: the
#: equivariance check's (:data:`e3teach.equivariance.TOLERANCE`, imported above).
#: Relabelling the atoms only reorders sums: a change above this (relative) is a cache, not round-off.
RELABEL_TOLERANCE = {torch.float64: 1e-9, torch.float32: 1e-3}
#: A float64 error below this (and above the tolerance) may be an approximately equivariant design.
APPROXIMATE = 1e-2


@dataclass
class Finding:
    """One named mistake: ``code`` (a key of :data:`CODES`), what was seen, and what to do."""

    code: str
    message: str
    fix: str = ""

    @property
    def is_bug(self) -> bool:
        return self.code not in NOTES

    def __str__(self) -> str:
        mark = "ℹ️" if not self.is_bug else "❌"
        text = f"{mark} {self.code}: {self.message}" + (f" → {self.fix}" if self.fix else "")
        return textwrap.fill(text, WIDTH, subsequent_indent="   ")


@dataclass
class Diagnosis:
    """What :func:`diagnose` found. ``bool(diagnosis)`` is true when nothing is wrong."""

    findings: list[Finding] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)
    max_error: float = 0.0
    tolerance: float = TOLERANCE[torch.float64]

    @property
    def ok(self) -> bool:
        return not any(f.is_bug for f in self.findings)

    @property
    def codes(self) -> list[str]:
        return [f.code for f in self.findings]

    def __bool__(self) -> bool:
        return self.ok

    def verdict(self) -> str:
        if self.ok:
            extra = "; " + "; ".join(f.code for f in self.findings) if self.findings else ""
            return (f"✅ no set-up mistake found: max error {format_error(self.max_error, self.tolerance)} "
                    f"(tolerance {decade(self.tolerance)}); checked {', '.join(self.checked)}{extra}")
        bugs = [f.code for f in self.findings if f.is_bug]
        return f"❌ {len(bugs)} problem(s): {', '.join(bugs)}"

    def __str__(self) -> str:
        lines = [textwrap.fill(self.verdict(), WIDTH, subsequent_indent="   ")]
        return "\n".join(lines[:1] + [str(f) for f in self.findings])

    def __repr__(self) -> str:
        return str(self)


# ----------------------------------------------------------------------------- matrices
def check_matrix(R, name: str = "R", atol: float = 1e-6) -> Finding | None:
    """``None`` if ``R`` is a 3×3 orthogonal matrix (``R Rᵀ = 1``, det ±1), else a finding that says why.

    e3nn 0.6 does not check this: ``Irreps.D_from_matrix`` of a shear (det 1, not orthogonal) returns
    the D of some other rotation without a word, and for det ≠ ±1 it stops with a bare ``AssertionError``.
    """
    R = torch.as_tensor(R)
    if R.shape != (3, 3):
        raise ValueError(f"{name} should be a 3×3 matrix, got shape {tuple(R.shape)}")
    R = R.to(torch.float64)
    if not bool(torch.isfinite(R).all()):
        return Finding("non-orthogonal-matrix", f"{name} contains NaN or inf", "build it with e3nn.o3.rand_matrix")
    off = float((R @ R.T - torch.eye(3, dtype=torch.float64)).abs().max())
    det = float(torch.linalg.det(R))
    if off <= atol:
        return None
    why = "det is not ±1, so e3nn's D_from_matrix raises a bare AssertionError" if abs(abs(det) - 1) > atol else \
        "det is ±1 but it is not orthogonal (a shear?): e3nn's D_from_matrix silently returns the D of another rotation"
    return Finding("non-orthogonal-matrix", f"{name} is not a rotation or reflection: max |R Rᵀ − 1| = {off:.2g}, "
                   f"det = {det:.3g}; {why}",
                   "test with o3.rand_matrix() (or orthonormalize, e.g. torch.linalg.qr); scale and shear are not symmetries")


# ----------------------------------------------------------------------------- labels
def rigid_motion(pos_a: torch.Tensor, pos_b: torch.Tensor, atol: float = 1e-6):
    """``(R, t)`` with ``pos_b = pos_a Rᵀ + t`` (R in O(3), reflections allowed), by orthogonal Procrustes.

    Raises ``ValueError`` when ``pos_b`` is not a rigid motion of ``pos_a`` (atoms in the same order).
    """
    a, b = torch.as_tensor(pos_a, dtype=torch.float64), torch.as_tensor(pos_b, dtype=torch.float64)
    if a.shape != b.shape or a.dim() != 2 or a.shape[1] != 3:
        raise ValueError(f"two structures of the same atoms, shapes (N, 3), are needed; got {tuple(a.shape)} "
                         f"and {tuple(b.shape)}")
    ca, cb = a - a.mean(0), b - b.mean(0)
    u, _, vt = torch.linalg.svd(cb.T @ ca)
    R = u @ vt
    t = b.mean(0) - a.mean(0) @ R.T
    residual = float((a @ R.T + t - b).abs().max())
    if residual > atol * max(1.0, float(a.abs().max())):
        raise ValueError(f"the second structure is not a rotated/reflected/translated copy of the first "
                         f"(best fit off by {residual:.2g} Å): compare one structure in two orientations, atoms in "
                         "the same order")
    return R, t


def diagnose_labels(pos_a, y_a, pos_b, y_b, irreps=None, *, atol: float = 1e-6) -> list[Finding]:
    """Check that labels ``y_a``, ``y_b`` of one structure in two orientations transform as declared.

    ``irreps``: how a label transforms (e.g. ``"1o"``, ``"0e + 2e"``); leave it ``None`` for rank-2
    Cartesian tensors given as (..., 3, 3), which must satisfy ``T_b = R T_a Rᵀ``. Returns ``[]`` when they
    do, else one finding naming the mistake when it recognizes one.
    """
    R, _ = rigid_motion(pos_a, pos_b)
    y_a, y_b = torch.as_tensor(y_a, dtype=torch.float64), torch.as_tensor(y_b, dtype=torch.float64)
    if y_a.shape != y_b.shape:
        raise ValueError(f"the two labels have different shapes {tuple(y_a.shape)} and {tuple(y_b.shape)}")
    scale = max(1.0, float(y_a.abs().max()))

    def close(x):
        return float((x - y_b).abs().max()) <= atol * scale

    if irreps is None:
        if y_a.shape[-2:] != (3, 3):
            raise ValueError("give irreps='...' for labels that are not (..., 3, 3) Cartesian tensors")
        expected, inverse = R @ y_a @ R.T, R.T @ y_a @ R
        swapped = R @ y_a.transpose(-1, -2) @ R.T
    else:
        irreps = o3.Irreps(irreps)
        if y_a.shape[-1] != irreps.dim:
            raise ValueError(f"labels have last axis {y_a.shape[-1]} but '{irreps}' has dimension {irreps.dim}")
        D = _D(irreps, R)
        expected, inverse, swapped = y_a @ D.T, y_a @ D, None
    if close(expected):
        return []
    if close(y_a):
        return [Finding("labels-not-rotated", "the label is the same in both orientations although it should turn "
                        "with the structure: it was computed in a fixed (lab or body) frame",
                        "recompute the label from the rotated structure, or rotate it as declared")]
    if close(inverse):
        return [Finding("labels-transposed-rotation", "the label of the turned structure is the label turned with Rᵀ, "
                        "not R: the data pipeline used pos @ R for positions or R.T for labels (or the reverse)",
                        "rotate positions as pos @ R.T and the label with the same R")]
    if swapped is not None and close(swapped):
        return [Finding("labels-transposed-index", "the turned label equals R T_aᵀ Rᵀ: one of the two tensors is "
                        "stored with its indices swapped (ij vs ji)", "store every tensor in one index order")]
    err = float((expected - y_b).abs().max())
    return [Finding("labels-wrong", f"the label does not transform as declared (off by {err:.2g})",
                    "check the label's declared irreps, its units and its frame")]


# ----------------------------------------------------------------------------- the pipeline
def _as_irreps_list(irreps_out) -> list[o3.Irreps]:
    try:
        if isinstance(irreps_out, (list, tuple)) and not isinstance(irreps_out, o3.Irreps):
            return [o3.Irreps(i) for i in irreps_out]
        return [o3.Irreps(irreps_out)]
    except (ValueError, TypeError, AssertionError) as exc:
        raise ValueError(f"irreps_out should be irreps such as '0e + 1o', or a list of them; got {irreps_out!r} "
                         f"({exc})") from None


def _run(pipeline, pos, irreps_out, what):
    try:
        result = pipeline(pos)
    except Exception as exc:
        raise RuntimeError(f"the pipeline raised {type(exc).__name__} on {what}: {exc}") from exc
    graph = None
    if isinstance(result, dict):
        if "outputs" not in result:
            raise ValueError(f"the pipeline returned a dict without an 'outputs' key (keys: {sorted(result)})")
        graph, result = result, result["outputs"]
    outputs = list(result) if isinstance(result, (tuple, list)) else [result]
    if len(outputs) != len(irreps_out):
        raise ValueError(f"the pipeline returned {len(outputs)} output(s) but irreps_out lists {len(irreps_out)}")
    for n, (y, irreps) in enumerate(zip(outputs, irreps_out)):
        if not isinstance(y, torch.Tensor):
            raise ValueError(f"output {n} is a {type(y).__name__}, expected a torch.Tensor")
        if y.shape[-1] != irreps.dim:
            raise ValueError(f"output {n} has shape {tuple(y.shape)}: its last axis should be {irreps.dim} for '{irreps}'")
    return [y.detach() for y in outputs], graph


def _edges(graph):
    if "edge_index" in graph:
        return graph["edge_index"][0], graph["edge_index"][1]
    if "edge_src" in graph and "edge_dst" in graph:
        return graph["edge_src"], graph["edge_dst"]
    return None, None


def _graph_findings(graph, pos, batch, r_max, what) -> list[Finding]:
    """Check a graph the pipeline built from ``pos``."""
    found = []
    src, dst = _edges(graph)
    if src is None:
        return found
    src, dst = src.long(), dst.long()
    batch = graph.get("batch", batch)
    offset = graph.get("edge_offset")
    vec = pos[dst] - pos[src] + (offset.to(pos.dtype) if offset is not None else 0.0)
    given = graph.get("edge_vec")
    scale = max(1.0, float(pos.abs().max()))
    if given is not None:
        off = float((given.detach().to(pos.dtype) - vec).abs().max()) if len(vec) else 0.0
        if off > 1e-6 * scale:
            found.append(Finding("stale-edge-vectors", f"on {what}, edge_vec differs from pos[dst] - pos[src] by up to "
                                 f"{off:.2g} Å: the edge vectors were computed from another structure",
                                 "compute edge_vec (and its harmonics) inside the pipeline, from the positions passed in"))
        vec = given.detach().to(pos.dtype)
    length = vec.norm(dim=-1)
    zero = int((length < 1e-8).sum())
    if zero:
        k = int(torch.nonzero(length < 1e-8)[0, 0])
        found.append(Finding("zero-length-edge", f"{zero} edge(s) of length 0 on {what}, e.g. edge {k}: "
                             f"{int(src[k])} → {int(dst[k])}; harmonics of the zero vector have a value but a gradient "
                             "of ~1e12, so forces through them are meaningless",
                             "remove self-loops by index (src != dst) and check for duplicate atoms"))
    if batch is not None:
        batch = batch.long()
        cross = int((batch[src] != batch[dst]).sum())
        if cross:
            unsorted = bool((batch[1:] < batch[:-1]).any()) if batch.numel() > 1 else False
            found.append(Finding("cross-graph-edge", f"{cross} edge(s) join atoms of different graphs on {what}"
                                 + (" (and `batch` is not sorted)" if unsorted else ""),
                                 "build edges within each graph only; keep the nodes of each graph contiguous "
                                 "(a sorted batch vector)"))
    if r_max is not None:
        too_long = int((length > r_max * (1 + 1e-9)).sum())
        missing = 0
        if offset is None:
            n = pos.shape[0]
            dist = (pos[:, None, :] - pos[None, :, :]).norm(dim=-1)
            within = (dist < r_max * (1 - 1e-9)) & ~torch.eye(n, dtype=torch.bool)
            if batch is not None:
                within &= batch[:, None] == batch[None, :]
            have = torch.zeros(n, n, dtype=torch.bool)
            have[src, dst] = True
            missing = int((within & ~have).sum())
        if too_long or missing:
            found.append(Finding("stale-neighbour-list", f"on {what}, {too_long} edge(s) are longer than r_max = "
                                 f"{r_max} Å and {missing} pair(s) within r_max have no edge: the neighbour list "
                                 "belongs to another structure", "rebuild the neighbour list for every structure"))
    return found


def _errors(a_list, b_list, ref_list, irreps_out):
    """Per output block, max |a - b| / max(1, max |ref|)."""
    errs = []
    for a, b, ref, irreps in zip(a_list, b_list, ref_list, irreps_out):
        for sl in irreps.slices():
            blk = (a[..., sl].to(torch.float64) - b[..., sl].to(torch.float64)).abs()
            scale = max(1.0, float(ref[..., sl].abs().max())) if ref[..., sl].numel() else 1.0
            errs.append(float(blk.max()) / scale if blk.numel() else 0.0)
    return errs


def _D(irreps: o3.Irreps, R: torch.Tensor) -> torch.Tensor:
    """``D(R)`` in float64: e3nn builds it in the default dtype, float32-accurate under a float32 default."""
    with default_dtype(torch.float64):
        return irreps.D_from_matrix(R.to(torch.float64))


def _transform(outputs, irreps_out, R):
    return [y @ _D(irreps, R).to(y.dtype).T for y, irreps in zip(outputs, irreps_out)]


def _permutation(n, batch, gen):
    if batch is None:
        return torch.randperm(n, generator=gen)
    batch = batch.long()
    if n > 1 and bool((batch[1:] < batch[:-1]).any()):
        return None
    parts, start = [], 0
    for count in torch.bincount(batch).tolist():
        parts.append(start + torch.randperm(count, generator=gen))
        start += count
    return torch.cat(parts)


def diagnose(pipeline: Callable, pos: torch.Tensor, *, irreps_out, batch: torch.Tensor | None = None,
             r_max: float | None = None, matrices: Sequence | None = None, labels: Sequence | None = None,
             label_irreps=None, group: str = "E3", n_rotations: int = 3, seed: int = 0) -> Diagnosis:
    """Run ``pipeline(pos)`` on transformed copies of a structure and name the set-up mistakes it finds.

    Args:
        pipeline: ``pos (N, 3) → outputs`` or ``→ {"outputs": ..., graph keys}`` (see the module docstring).
        pos: the structure's positions (N, 3), Å. Its dtype is the one the pipeline is tested in.
        irreps_out: how each output transforms (e.g. ``["0e", "1o"]`` for energy and forces).
        batch: (N,) graph index of each atom, for a batch of structures.
        r_max: the cutoff (Å) the neighbour list should use; checks the graph when the pipeline returns it.
        matrices: your own test matrices, checked with :func:`check_matrix`.
        labels: ``(pos_b, y_a, y_b)``: labels of ``pos`` (``y_a``) and of a moved copy ``pos_b`` (``y_b``),
            checked with :func:`diagnose_labels` against ``label_irreps`` (``None``: (..., 3, 3) tensors).
        group: ``"E3"`` (default), ``"SE3"``, ``"O3"`` or ``"SO3"``.

    Returns a :class:`Diagnosis`; ``print`` it. Bad arguments raise ``ValueError`` with the reason.
    """
    if not isinstance(pos, torch.Tensor) or pos.dim() != 2 or pos.shape[1] != 3:
        raise ValueError(f"pos should be a tensor of shape (N, 3), got {getattr(pos, 'shape', type(pos).__name__)}")
    if not pos.is_floating_point() or not bool(torch.isfinite(pos).all()):
        raise ValueError("pos should hold finite floating-point coordinates")
    if not callable(pipeline):
        raise ValueError(f"pipeline should be a function pos → outputs, got {type(pipeline).__name__}")
    irreps_out = _as_irreps_list(irreps_out)
    if batch is not None:
        if not isinstance(batch, torch.Tensor) or batch.shape != (pos.shape[0],) or batch.is_floating_point():
            raise ValueError(f"batch should be an integer tensor of shape ({pos.shape[0]},), one graph index per "
                             f"atom; got {getattr(batch, 'shape', type(batch).__name__)}")
    if r_max is not None and not float(r_max) > 0:
        raise ValueError(f"r_max should be a positive cutoff in Å, got {r_max}")
    pos = pos.detach()
    dtype = pos.dtype
    tol = default_tolerance(dtype)
    diag = Diagnosis(tolerance=tol)
    findings = diag.findings

    for k, R in enumerate(matrices or []):
        bad = check_matrix(R, name=f"matrices[{k}]")
        if bad:
            findings.append(bad)
    if labels is not None:
        if len(labels) != 3:
            raise ValueError("labels should be (pos_b, y_a, y_b): a moved copy of pos, and the labels of both")
        findings += diagnose_labels(pos, labels[1], labels[0], labels[2], label_irreps)
        diag.checked.append("labels")

    n = pos.shape[0]
    dist = (pos[:, None, :] - pos[None, :, :]).norm(dim=-1) + torch.eye(n, dtype=dtype)
    if batch is not None:
        dist = dist.masked_fill(batch[:, None] != batch[None, :], 1.0)
    if bool((dist < 1e-8).any()):
        i, j = torch.nonzero(dist < 1e-8)[0].tolist()
        findings.append(Finding("zero-length-edge", f"atoms {i} and {j} sit at the same position: any edge between "
                                "them has length 0 (harmonics of the zero vector: a value, but a gradient of ~1e12)",
                                "remove duplicate atoms (a wrapped periodic image counted twice?)"))

    reference, graph = _run(pipeline, pos, irreps_out, "the structure as given")
    if any(not bool(torch.isfinite(y).all()) for y in reference):
        findings.append(Finding("non-finite", "the outputs contain NaN or inf", "look for a zero-length edge or a "
                                "division by a distance"))
        return diag
    seen = set()

    def add_graph(g, p, what):
        if g is None:
            return
        for f in _graph_findings(g, p, batch, r_max, what):
            if f.code not in seen:
                seen.add(f.code)
                findings.append(f)

    add_graph(graph, pos, "the structure as given")
    diag.checked.append("graph" if graph is not None and _edges(graph)[0] is not None else "outputs")

    # --- group elements
    elements = group_elements(group, n_rotations, seed=seed, dtype=torch.float64)
    rows = []
    for g in elements:
        R = g.matrix
        moved = pos @ R.to(dtype).T + (g.translation.to(dtype) if g.translation is not None else 0.0)
        out, gr = _run(pipeline, moved, irreps_out, f"the {g.kind}")
        add_graph(gr, moved, f"the {g.kind}")
        expected = _transform(reference, irreps_out, R)
        err = max(_errors(out, expected, reference, irreps_out))
        stale = max(_errors(out, reference, reference, irreps_out))
        moves = max(_errors(expected, reference, reference, irreps_out))
        inverse = max(_errors(out, _transform(reference, irreps_out, R.T), reference, irreps_out))
        rows.append((g, err, stale, moves, inverse))
    diag.max_error = max(r[1] for r in rows)
    diag.checked.append(f"{len(elements)} elements of {group}")
    failing = [r for r in rows if r[1] > tol]
    if failing and "stale-edge-vectors" not in seen:
        findings += _explain(failing, rows, reference, irreps_out, pipeline, pos, dtype, tol, group, seed)

    # --- relabelling the atoms
    gen = torch.Generator().manual_seed(seed + 7)
    perm = _permutation(n, batch, gen)
    if perm is not None and n > 1:
        out, gr = _run(pipeline, pos[perm], irreps_out, "the relabelled atoms")
        add_graph(gr, pos[perm], "the relabelled atoms")
        expected = [y[perm] if y.dim() >= 2 and y.shape[0] == n and n != 1 else y for y in reference]
        err = max(_errors(out, expected, reference, irreps_out))
        diag.checked.append("relabelling")
        if err > RELABEL_TOLERANCE.get(dtype, 1e-3) and not any(f.code.startswith("stale") for f in findings):
            findings.append(Finding("stale-per-edge-cache", f"the outputs change by {err:.2g} (relative) when the "
                                    "atoms are renumbered: something per edge or per atom (neighbour list, radial "
                                    "basis, edge vectors) was computed for one structure and reused",
                                    "compute the graph and everything on its edges inside the pipeline, every call"))
    # --- a small non-rigid move
    jitter = 1e-2 * torch.randn(pos.shape, generator=gen, dtype=torch.float64).to(dtype)
    out, gr = _run(pipeline, pos + jitter, irreps_out, "the perturbed structure")
    add_graph(gr, pos + jitter, "the perturbed structure")
    change = max(_errors(out, reference, reference, irreps_out))
    diag.checked.append("a non-rigid move")
    if change == 0.0 and not any(f.code.startswith("stale") for f in findings):
        findings.append(Finding("ignores-positions", "the outputs did not change at all when the atoms moved: the "
                                "pipeline ignores the positions it is given (cached geometry?)",
                                "recompute the graph, edge vectors and harmonics from the positions passed in"))
    return diag


def _explain(failing, rows, reference, irreps_out, pipeline, pos, dtype, tol, group, seed) -> list[Finding]:
    worst = max(r[1] for r in failing)
    kinds = sorted({r[0].kind for r in failing})
    if all(r[2] <= tol and r[3] > tol for r in failing):
        return [Finding("stale-geometry", f"for {', '.join(kinds)} the outputs stayed exactly as they were, "
                        "although they should have turned: the pipeline reuses edge vectors or harmonics "
                        "computed from the structure before it was moved",
                        "compute edge vectors and harmonics inside the pipeline, from the positions passed in")]
    if all(r[4] <= tol for r in failing):
        return [Finding("transposed-rotation", "the outputs turn with Rᵀ instead of R: somewhere positions are "
                        "rotated as pos @ R (or a D is used where its transpose is meant)",
                        "rows are points: rotate positions as pos @ R.T and features as x @ D.T")]
    proper_ok = all(r[1] <= tol for r in rows if r[0].is_proper)
    if proper_ok and all(not r[0].is_proper for r in failing):
        return [_parity(reference, irreps_out, pipeline, pos, dtype, tol, rows)]
    rotation_ok = all(r[1] <= tol for r in rows if r[0].translation is None)
    if rotation_ok:
        return [Finding("absolute-positions", f"rotations pass but translations change the outputs by up to "
                        f"{worst:.2g}: the model reads absolute positions", "use only pos[dst] - pos[src]")]
    if dtype != torch.float64 and worst < 1e-2:
        recheck = _float64_recheck(pipeline, pos, irreps_out, group, seed)
        if recheck is not None and recheck.ok:
            return [Finding("float32-roundoff", f"error {worst:.2g} relative to the outputs' size in {str(dtype).replace('torch.', '')}; "
                            f"re-checked in float64: {format_error(recheck.max_error, recheck.tolerance)} — "
                            "round-off, which grows with the weights and the depth, not a bug",
                            "judge equivariance in float64 (or with a relative float32 tolerance)")]
    if dtype == torch.float64 and worst < APPROXIMATE:
        return [Finding("approximate", f"error {worst:.2g} (relative) in float64, far above round-off and far below "
                        "a broken layer: an approximately equivariant design (a grid or S2 activation, a learned "
                        "frame) — or a small bug", "if the design is approximate, see the error fall as its grid "
                        "resolution grows; else locate it with e3teach.equivariance.locate_equivariance_break")]
    return [Finding("not-equivariant", f"error {worst:.2g} (relative) for {', '.join(kinds)}",
                    "find the first broken layer with e3teach.equivariance.locate_equivariance_break")]


def _parity(reference, irreps_out, pipeline, pos, dtype, tol, rows) -> Finding:
    improper = [r[0] for r in rows if not r[0].is_proper]
    flipped = [o3.Irreps([(mul, (ir.l, -ir.p)) for mul, ir in irreps]) for irreps in irreps_out]
    bad = []
    for g in improper:
        moved = pos @ g.matrix.to(dtype).T + (g.translation.to(dtype) if g.translation is not None else 0.0)
        out, _ = _run(pipeline, moved, irreps_out, "an improper element")
        e_dec = _errors(out, _transform(reference, irreps_out, g.matrix), reference, irreps_out)
        e_flip = _errors(out, _transform(reference, flipped, g.matrix), reference, flipped)
        labels = [f"{mul}x{ir}" for irreps in irreps_out for mul, ir in irreps]
        bad += [(lab, str(o3.Irrep(ir.l, -ir.p))) for lab, (mul, ir), a, b in
                zip(labels, [m for irreps in irreps_out for m in irreps], e_dec, e_flip) if a > tol and b <= tol]
    bad = sorted(set(bad))
    if bad:
        text = ", ".join(f"{lab} behaves as {new}" for lab, new in bad)
        return Finding("wrong-parity", f"rotations pass, inversions fail: {text}",
                       "declare the parity the output really has, or make the model produce the declared one "
                       "(an even function of a 0o is a 0e)")
    return Finding("wrong-parity", "rotations pass, inversions fail: the parity of the outputs is not the declared one",
                   "check the parity (e/o) of every output and of the activations on odd scalars")


def _float64_recheck(pipeline, pos, irreps_out, group, seed):
    def outputs(p):
        result = pipeline(p)
        return result["outputs"] if isinstance(result, dict) else result
    try:
        return check_point_model(outputs, pos.to(torch.float64), irreps_out=irreps_out, group=group, seed=seed)
    except Exception:  # the pipeline cannot run in float64: no re-check
        return None
