"""Checkers for lesson 07 (point convolutions): ``from e3teach.checks import lesson07 as check``.

* ``q1(radius_graph)``: ``radius_graph(pos, r_max) -> (edge_src, edge_dst)`` without self-loops.
* ``q2(scatter_sum)``: ``scatter_sum(src, index, n)`` summing rows that share an index.
* ``q3(conv_step)``: ``conv_step(x, pos, edge_src, edge_dst, tp, mlp, radial, num_neighbors)``, one message-passing step.
* ``q4(receptive_field)``: ``receptive_field(edge_src, edge_dst, node, k)``, the nodes that can influence ``node``
  after ``k`` layers with a self-connection.
"""
from __future__ import annotations

import math

import torch
from e3nn import nn as enn
from e3nn import o3

from ..env import default_dtype
from ..equivariance import random_rotation
from ..graph import radius_graph as _ref_radius_graph
from ..graph import scatter_sum as _ref_scatter_sum
from ..models import RadialBasis
from .core import call, exercise, expect_close, expect_tensor, fail, fail_if_float32_precision

__all__ = ["q1", "q2", "q3", "q4"]

F64 = torch.float64


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# ----------------------------------------------------------------------------- q1
def _edge_pair(value, name: str, n_nodes: int) -> tuple[torch.Tensor, torch.Tensor]:
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        fail(f"`{name}` should return two tensors (edge_src, edge_dst), got {type(value).__name__}"
             + (f" of length {len(value)}" if isinstance(value, (tuple, list)) else ""),
             "end with `return src[keep], dst[keep]`")
    src, dst = (expect_tensor(v, f"{name}: {label}") for v, label in zip(value, ("edge_src", "edge_dst")))
    for t, label in ((src, "edge_src"), (dst, "edge_dst")):
        if t.dtype not in (torch.int64, torch.int32):
            fail(f"`{name}`: {label} has dtype {t.dtype}, expected integer node indices (torch.long)",
                 "build the indices with torch.arange, which gives torch.long")
        if t.dim() != 1:
            fail(f"`{name}`: {label} has shape {tuple(t.shape)}, expected a 1-D tensor (one entry per edge)")
    if src.shape != dst.shape:
        fail(f"`{name}`: edge_src has {src.numel()} entries but edge_dst {dst.numel()}")
    if src.numel() and (int(src.min()) < 0 or int(max(src.max(), dst.max())) >= n_nodes):
        fail(f"`{name}`: node indices out of range 0..{n_nodes - 1}")
    return src.long(), dst.long()


def _q1_clouds():
    g = _gen(71)
    yield "40 random points in float32", 3.0 * torch.rand(40, 3, generator=g, dtype=torch.float32), 1.2
    yield "60 random points in float64", 3.0 * torch.rand(60, 3, generator=g, dtype=F64) + 5.0, 1.0
    pos = 2.0 * torch.rand(30, 3, generator=g, dtype=F64)
    pos[7] = pos[3]                       # two points at the same place
    pos[20] = pos[3]
    yield "30 points, three of them at the same place", pos, 0.9
    yield "5 points (a small cloud)", torch.tensor([[0.0, 0, 0], [1, 0, 0], [0, 1, 0], [3, 3, 3], [3.5, 3, 3]], dtype=F64), 1.2
    grid = torch.stack(torch.meshgrid(*[torch.arange(3, dtype=F64)] * 3, indexing="ij"), dim=-1).reshape(-1, 3)
    yield "a 3×3×3 grid of spacing 1 with r_max = 1 (neighbours exactly at r_max are NOT edges)", grid, 1.0


@exercise("a radius graph without self-loops", hints=[
    "Build all ordered pairs (i, j) with torch.meshgrid(torch.arange(n), torch.arange(n), indexing='ij'), flatten them.",
    "Keep a pair when i != j (compare the INDICES, not the distance) and |pos[j] - pos[i]| < r_max.",
    "Two different points at the same place are neighbours (distance 0 < r_max): a `dist > 0` test would drop them, "
    "and with torch.cdist on > 25 points it would also keep spurious self-loops.",
])
def q1(radius_graph):
    """Compare the learner's edge set with a brute-force reference on several clouds."""
    for label, pos, r_max in _q1_clouds():
        n = pos.shape[0]
        src, dst = _edge_pair(call(radius_graph, pos.clone(), r_max), f"radius_graph({label})", n)
        loops = int((src == dst).sum())
        if loops:
            fail(f"for {label} your graph has {loops} self-loop(s) (src == dst)",
                 "remove self-loops by index (src != dst), not with a `distance > 0` test")
        got = list(zip(src.tolist(), dst.tolist()))
        if len(set(got)) != len(got):
            fail(f"for {label} some edges appear more than once")
        ref_src, ref_dst = _ref_radius_graph(pos, r_max)
        want = set(zip(ref_src.tolist(), ref_dst.tolist()))
        got = set(got)
        if got != want:
            missing, extra = want - got, got - want
            if missing and all(float((pos[a] - pos[b]).norm()) == 0.0 for a, b in missing):
                fail(f"for {label} you dropped the {len(missing)} edges between points at the same place",
                     "two distinct points with distance 0 are neighbours: test src != dst, not dist > 0")
            if missing and not extra and {(b, a) for a, b in missing} <= got:
                fail(f"for {label} each pair appears in one direction only ({len(missing)} edges missing)",
                     "keep both (i, j) and (j, i): messages go both ways")
            if extra and all(float((pos[b] - pos[a]).norm()) >= r_max for a, b in extra):
                fail(f"for {label} {len(extra)} of your edges are at least r_max long",
                     "keep pairs with distance strictly less than r_max")
            fail(f"for {label} your edge set differs from the reference: {len(missing)} missing, {len(extra)} extra",
                 "every ordered pair (i, j), i != j, with |pos[j] - pos[i]| < r_max, exactly once")
    return ("same edge sets as a brute-force reference on 5 clouds (40 and 60 points in float32/float64, "
            "coincident points, a small cloud, pairs exactly at r_max); no self-loops")


# ----------------------------------------------------------------------------- q2
@exercise("scatter-sum with index_add_", hints=[
    "Start from zeros of shape (n,) + src.shape[1:], with src's dtype and device: src.new_zeros(...).",
    "out.index_add_(0, index, src) adds row e of src into row index[e] of out — repeated indices add up.",
    "`out[index] = src` or `out[index] += src` keeps only one of the rows sharing an index: use index_add_.",
])
def q2(scatter_sum):
    """Values on repeated indices, empty rows, 1-D and 3-D inputs, dtype kept, input untouched."""
    g = _gen(72)
    cases = [
        ("2-D float64 rows", torch.randn(50, 5, generator=g, dtype=F64), torch.randint(0, 8, (50,), generator=g), 10),
        ("1-D float32 values", torch.randn(30, generator=g, dtype=torch.float32), torch.randint(0, 4, (30,), generator=g), 4),
        ("3-D rows, index 2 never used", torch.randn(6, 2, 3, generator=g, dtype=F64), torch.tensor([0, 1, 0, 3, 3, 3]), 5),
        ("no edges at all", torch.zeros(0, 3, dtype=F64), torch.zeros(0, dtype=torch.long), 3),
    ]
    for label, src, index, n in cases:
        original = src.clone()
        out = expect_tensor(call(scatter_sum, src, index, n), f"scatter_sum({label})", shape=(n,) + tuple(src.shape[1:]))
        if out.dtype != src.dtype:
            fail(f"for {label} the result has dtype {out.dtype}, but src is {src.dtype}",
                 "create the output with src.new_zeros(...) so it keeps src's dtype")
        if not torch.equal(src, original):
            fail(f"for {label} your function modified `src`", "write into a new tensor of zeros, not into src")
        want = _ref_scatter_sum(src, index, n)
        if not torch.allclose(out.to(F64), want.to(F64), atol=1e-5):
            last = src.new_zeros(want.shape)
            last[index] = src
            if src.numel() and torch.allclose(out.to(F64), last.to(F64)):
                fail(f"for {label} rows sharing an index overwrite each other instead of adding up",
                     "use out.index_add_(0, index, src)")
            expect_close(out, want, f"scatter_sum({label})", atol=1e-5,
                         hint="out[i] must be the sum of src[e] over all e with index[e] == i")
    return "sums rows per index (repeated indices add, unused rows stay 0) for 1-D, 2-D, 3-D and empty inputs"


# ----------------------------------------------------------------------------- q3
_Q3_IRREPS_IN, _Q3_IRREPS_OUT, _Q3_R_MAX = "2x0e + 1x1o", "2x0e + 2x1o + 1x2e", 1.5


def _q3_parts():
    with default_dtype(F64), torch.random.fork_rng():   # leaves the notebook's random state alone
        torch.manual_seed(73)  # the checker's own modules: initialise them reproducibly
        irreps_sh = o3.Irreps.spherical_harmonics(2)
        tp = o3.FullyConnectedTensorProduct(_Q3_IRREPS_IN, irreps_sh, _Q3_IRREPS_OUT, shared_weights=False)
        mlp = enn.FullyConnectedNet([8, 16, tp.weight_numel], torch.nn.functional.silu)
        radial = RadialBasis(_Q3_R_MAX, 8)
    return tp, mlp, radial


def _q3_reference(x, pos, src, dst, tp, mlp, radial, num_neighbors, *, flip=False, norm=True):
    vec = pos[dst] - pos[src]
    if flip:
        vec = -vec
    sh = o3.spherical_harmonics(tp.irreps_in2, vec, normalize=True, normalization="component")
    out = _ref_scatter_sum(tp(x[src], sh, mlp(radial(vec.norm(dim=1)))), dst, x.shape[0])
    return out / math.sqrt(num_neighbors) if norm else out


def _q3_compare(out, want, x, pos, src, dst, tp, mlp, radial, nn_):
    """❌ naming the mistake when ``out`` is not the reference layer's output ``want``."""
    if torch.allclose(out.to(F64), want, atol=1e-9):
        return
    fail_if_float32_precision(out, float((out.to(F64) - want).abs().max()), f"conv_step(..., num_neighbors={nn_:g})",
                              scale=float(want.abs().max()), needed="1e-9")
    with torch.no_grad():
        if torch.allclose(out.to(F64), _q3_reference(x, pos, src, dst, tp, mlp, radial, nn_, flip=True), atol=1e-9):
            fail("your edge vectors point the wrong way (the l = 1 parts of the output have the wrong sign)",
                 "the course convention is edge_vec = pos[edge_dst] - pos[edge_src]: the message goes src → dst")
        if torch.allclose(out.to(F64), _q3_reference(x, pos, src, dst, tp, mlp, radial, nn_, norm=False), atol=1e-9):
            fail("right messages and sums, but not normalized", "divide the sum by math.sqrt(num_neighbors)")
        if torch.allclose(out.to(F64), _q3_reference(x, pos, dst, src, tp, mlp, radial, nn_), atol=1e-9):
            fail("you swapped the roles of edge_src and edge_dst",
                 "messages take features x[edge_src] and are summed into edge_dst")
        plain = _q3_reference(x, pos, src, dst, tp, mlp, radial, nn_, norm=False)
        ratio = float((out.to(F64) * plain).sum() / (plain * plain).sum())
        if ratio > 0 and torch.allclose(out.to(F64), ratio * plain, atol=1e-9):
            integral = 1 / math.sqrt(4 * math.pi)                   # 'integral' Y_l = 'component' Y_l / √(4π)
            divided = math.isclose(ratio * math.sqrt(nn_), integral, rel_tol=1e-6)
            if divided or math.isclose(ratio, integral, rel_tol=1e-6):
                fail(f"your output is 1/√(4π) = {integral:.4f} times the reference"
                     f"{'' if divided else ', and not divided by √num_neighbors'}: these are 'integral'-normalized "
                     "harmonics, o3.spherical_harmonics' default",
                     "pass normalization='component' to o3.spherical_harmonics")
            fail(f"for num_neighbors = {nn_:g} your sum is divided by {1 / ratio:.4g}, not by √{nn_:g} = "
                 f"{math.sqrt(nn_):g}", "divide by math.sqrt(num_neighbors), the argument, not a constant")
        expect_close(out, want, f"conv_step(..., num_neighbors={nn_:g})", atol=1e-9,
                     hint="follow the formula: TP(x[src], Y(edge_vec); mlp(radial(|edge_vec|))), summed at dst, / sqrt(n)")


@exercise("one message-passing step", hints=[
    "edge_vec = pos[edge_dst] - pos[edge_src]; its spherical harmonics with o3.spherical_harmonics(tp.irreps_in2, "
    "edge_vec, normalize=True, normalization='component').",
    "weights = mlp(radial(edge_vec.norm(dim=1))); messages = tp(x[edge_src], sh, weights).",
    "Sum the messages into their destination nodes (index_add_ on edge_dst, x.shape[0] rows) and divide by "
    "math.sqrt(num_neighbors).",
])
def q3(conv_step):
    """Values against the reference on a random cloud, then E(3) equivariance in float64."""
    tp, mlp, radial = _q3_parts()
    g = _gen(74)
    pos = 3.0 * torch.rand(20, 3, generator=g, dtype=F64)
    irreps_in = o3.Irreps(_Q3_IRREPS_IN)
    x = torch.randn(20, irreps_in.dim, generator=g, dtype=F64)
    src, dst = _ref_radius_graph(pos, _Q3_R_MAX)
    keep = torch.rand(src.numel(), generator=g, dtype=F64) < 0.7      # a directed graph: some edges only one way
    src, dst = src[keep], dst[keep]
    dim_out = o3.Irreps(_Q3_IRREPS_OUT).dim
    for nn_ in (9.0, 4.0):     # two values: dividing by num_neighbors / 2 is √4 too
        out = call(conv_step, x.clone(), pos.clone(), src, dst, tp, mlp, radial, nn_, name="conv_step")
        out = expect_tensor(out, f"conv_step(..., num_neighbors={nn_:g})", shape=(20, dim_out)).detach()
        with torch.no_grad():
            want = _q3_reference(x, pos, src, dst, tp, mlp, radial, nn_)
        _q3_compare(out, want, x, pos, src, dst, tp, mlp, radial, nn_)
    worst = 0.0
    for seed, sign in ((1, 1.0), (2, -1.0)):
        R = sign * random_rotation(_gen(seed))
        t = torch.tensor([1.0, -2.0, 0.5], dtype=F64)
        with default_dtype(F64):  # e3nn builds D in the default dtype: float32 would cap the accuracy at ~1e-7
            D_in = irreps_in.D_from_matrix(R)
            D_out = o3.Irreps(_Q3_IRREPS_OUT).D_from_matrix(R)
        moved = call(conv_step, x @ D_in.T, pos @ R.T + t, src, dst, tp, mlp, radial, nn_, name="conv_step")
        moved = expect_tensor(moved, "conv_step on the moved cloud", shape=(20, dim_out)).detach()
        worst = max(worst, float((moved.to(F64) - out.to(F64) @ D_out.T).abs().max()))
    if worst > 1e-9:
        fail_if_float32_precision(moved, worst, "conv_step on the moved cloud", scale=float(out.abs().max()), needed="1e-9")
        fail(f"conv_step is not E(3)-equivariant (error {worst:.2g})", "use only edge vectors, never raw positions")
    return (f"matches the reference layer on a 20-point cloud, and is equivariant under a rotation and an "
            f"improper rotation with translations (error ≤ 1e-9)")


# ----------------------------------------------------------------------------- q4
def _reference_field(src, dst, n, node, k) -> set[int]:
    reach = {node}
    for _ in range(k):
        reach = reach | {s for s, d in zip(src.tolist(), dst.tolist()) if d in reach}
    return reach


def _q4_graphs():
    chain = torch.arange(7, dtype=torch.long)
    yield "a chain of 7 nodes", torch.cat([chain[:-1], chain[1:]]), torch.cat([chain[1:], chain[:-1]]), 7, 0
    ring = torch.arange(8, dtype=torch.long)
    yield "a ring of 8 nodes", torch.cat([ring, (ring + 1) % 8]), torch.cat([(ring + 1) % 8, ring]), 8, 3
    one_way = torch.arange(5, dtype=torch.long)
    yield "a one-way chain 0 → 1 → 2 → 3 → 4 (messages only go forward)", one_way[:-1], one_way[1:], 5, 4
    pos = 3.0 * torch.rand(25, 3, generator=_gen(75), dtype=F64)
    s, d = _ref_radius_graph(pos, 1.0)
    yield "a random radius graph of 25 points", s, d, 25, 0


@exercise("the receptive field after k layers", hints=[
    "After 0 layers a node only knows itself. Each layer (convolution + self-connection) adds the SOURCES of the edges "
    "that arrive at a node already in the set.",
    "Messages go src → dst: node j influences node i after one layer if there is an edge (src=j, dst=i).",
    "reach = {node}; repeat k times: reach |= {s for s, d in zip(edge_src.tolist(), edge_dst.tolist()) if d in reach}.",
])
def q4(receptive_field):
    """Sets for k = 0..3 on a chain, a ring, a one-way chain (direction) and a random graph."""
    for label, src, dst, n, node in _q4_graphs():
        for k in range(4):
            got = call(receptive_field, src.clone(), dst.clone(), node, k, name="receptive_field")
            if isinstance(got, torch.Tensor):
                got = got.reshape(-1).tolist()
            try:
                got = {int(v) for v in got}
            except TypeError:
                fail(f"receptive_field should return a set (or list) of node indices, got {type(got).__name__}")
            want = _reference_field(src, dst, n, node, k)
            if got != want:
                if k == 0:
                    fail(f"for {label} with k = 0 you returned {sorted(got)}; with no layer, node {node} only knows "
                         f"its own input", "start from {node}")
                if got == _reference_field(dst, src, n, node, k):
                    fail(f"for {label}, k = {k}: you followed the edges backwards",
                         "node j influences node i when there is an edge with src = j and dst = i")
                if node not in got:
                    fail(f"for {label}, k = {k}: node {node} is missing from its own receptive field",
                         "with a self-connection a node always keeps its own information")
                fail(f"for {label}, k = {k}: you returned {sorted(got)}, expected {sorted(want)}",
                     "grow the set one layer at a time")
    return "right receptive fields for k = 0..3 on a chain, a ring, a one-way chain and a random radius graph"
