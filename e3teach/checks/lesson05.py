"""Checkers for the exercises of lesson 05 (tensor products).

- ``q1(n_weights)``: the number of weights of a ``FullyConnectedTensorProduct``, counted by hand;
- ``q2(cross_path)``: the ``2x1o ⊗ 1o → 1e`` fully connected product as cross products times a constant;
- ``q3(tp_uvu)``: a ``"uvu"`` tensor product path rebuilt with ``einsum`` and ``o3.wigner_3j``;
- ``q4(allowed)``: the irreps allowed in ``2e ⊗ 1o``, as an Irreps string.

The reference values come from e3nn itself, built in float64 (e3nn computes its Clebsch–Gordan
constants in torch's default dtype).
"""
from __future__ import annotations

import math

import torch
from e3nn import o3

from ..env import default_dtype
from .core import CheckFailed, as_number, call, exercise, expect_tensor, fail

__all__ = ["Q1_IRREPS", "Q2_IRREPS", "Q3_IRREPS", "q1", "q2", "q3", "q4"]

# --- the tensor products of the exercises (shown in the solution notebook) ---------------------------
Q1_IRREPS = ("4x0e + 2x1o + 1x2e", "0e + 1o + 2e", "8x0e + 2x0o + 4x1o + 2x1e + 2x2o")
Q2_IRREPS = ("2x1o", "1o", "1e")
Q3_IRREPS = ("4x2e", "2x1o", "4x1o")


def _q1_counts() -> dict[str, int]:
    """The right count and the counts that typical mistakes give."""
    a, b, c = (o3.Irreps(s) for s in Q1_IRREPS)
    right = o3.FullyConnectedTensorProduct(a, b, c).weight_numel
    no_parity = sum(m1 * m2 * m3 for m1, i1 in a for m2, i2 in b for m3, i3 in c
                    if abs(i1.l - i2.l) <= i3.l <= i1.l + i2.l)
    allowed = [(m1, m2, m3) for m1, i1 in a for m2, i2 in b for m3, i3 in c if i3 in i1 * i2]
    return {"right": right, "no_parity": no_parity, "no_mul_out": sum(m1 * m2 for m1, m2, _ in allowed),
            "paths": len(allowed), "everything": sum(m1 * m2 * m3 for m1, _ in a for m2, _ in b for m3, _ in c)}


@exercise("count the weights of a FullyConnectedTensorProduct", hints=[
    "List every pair (block of input 1, block of input 2) and, for each, the output blocks its product may produce "
    "(selection_rules helps). Each such triple is one path.",
    "A path of a fully connected product ('uvw') has one weight per (u, v, w): m1 × m2 × m_out weights.",
    "Two traps: parity (1o ⊗ 1o gives 0e, 1e, 2e only) and the 2x0o output, which no pair of inputs can produce.",
])
def q1(n_weights):
    n = as_number(n_weights, "n_weights", integer=True, hint="write the count as an int, e.g. n_weights = 12")
    counts = _q1_counts()
    if n == counts["right"]:
        return f"{n} weights, the weight_numel of FullyConnectedTensorProduct{Q1_IRREPS}"
    if n == counts["no_parity"]:
        fail(f"{n} counts paths that parity forbids", "the output parity must be p1·p2: 1o ⊗ 1o has no 1o or 2o part")
    if n == counts["no_mul_out"]:
        fail(f"{n} is the number of (u, v) input pairs, without the output channels",
             "in a fully connected path every (u, v) pair feeds every output channel w: m1 × m2 × m_out")
    if n == counts["paths"]:
        fail(f"{n} is the number of paths (instructions), not of weights", "each path has m1 × m2 × m_out weights")
    if n == counts["everything"]:
        fail(f"{n} counts every combination of blocks, ignoring the selection rules",
             "keep only the output irreps allowed in ir1 ⊗ ir2: |l1−l2| ≤ l ≤ l1+l2 and p = p1·p2")
    fail(f"{n} is not the number of weights",
         "go block pair by block pair; a common slip is counting the 2x0o output, which nothing can produce")


def _close_or_explain(out: torch.Tensor, ref: torch.Tensor, name: str, ratios: dict[float, str],
                      otherwise: str) -> float:
    """Compare ``out`` with ``ref``; if they differ by a constant factor, name the mistake that gives that factor
    (``ratios``: factor → the mistake), else fail with this exercise's ``otherwise`` hint."""
    dev = float((out - ref).abs().max())
    if dev <= 1e-6 * (1 + float(ref.abs().max())):
        return dev
    ratio = float((out * ref).sum() / (ref * ref).sum())
    if torch.allclose(out, ratio * ref, atol=1e-6, rtol=1e-5):
        for value, why in ratios.items():
            if math.isclose(ratio, value, rel_tol=1e-4):
                fail(f"`{name}` is {ratio:.4g} × e3nn's output", why)
        fail(f"`{name}` is {ratio:.4g} × e3nn's output: the shape is right, the constant is not", otherwise)
    fail(f"`{name}` is off by up to {dev:.3g} from e3nn's output (not just by a constant factor)")


@exercise("the 2x1o ⊗ 1o → 1e path as cross products", hints=[
    "The output is w_0 (x_0 × y) + w_1 (x_1 × y), times one constant. x_u is x[:, 3u:3u+3]; rows are samples, so "
    "cross along dim=1.",
    "The constant is √α · (CG factor): the Clebsch–Gordan tensor of 1⊗1→1 is ε/√6, and α = (2·1+1)/fan_in "
    "with fan_in = m1·m2 = 2.",
    "√(3/2) · 1/√6 = 1/2: return (w[0] * torch.cross(x0, y, dim=1) + w[1] * torch.cross(x1, y, dim=1)) / 2.",
])
def q2(cross_path):
    with default_dtype(torch.float64):
        tp = o3.FullyConnectedTensorProduct(*Q2_IRREPS, internal_weights=False, shared_weights=True)
    gen = torch.Generator().manual_seed(5)
    for n in (7, 3):
        x = torch.randn(n, 6, generator=gen, dtype=torch.float64)
        y = torch.randn(n, 3, generator=gen, dtype=torch.float64)
        w = torch.randn(2, generator=gen, dtype=torch.float64)
        try:
            out = expect_tensor(call(cross_path, x.clone(), y.clone(), w.clone()), "cross_path(x, y, w)", shape=(n, 3))
            ref = tp(x, y, w)
            _close_or_explain(out.to(torch.float64), ref, "cross_path(x, y, w)", {
                # the right constant is √α · CG = √(3/2) · 1/√6 = 1/2; each factor below is one slip
                -1.0: "the sign is flipped: compute x_u × y (the first input on the left)",
                2.0: "no constant at all: both the path normalization √α = √(3/2) and the Clebsch–Gordan factor 1/√6 "
                     "are missing (together they give 1/2)",
                math.sqrt(2): "you forgot the fan-in: 1/√2 = √3 · 1/√6 is α = 3 without dividing by fan_in = m1·m2 = 2 "
                              "(the constant of a FullTensorProduct of single channels)",
                math.sqrt(6): "you forgot the Clebsch–Gordan factor: the plain cross product times √α = √(3/2); the "
                              "1⊗1→1 Clebsch–Gordan tensor is ε/√6, not ε",
                math.sqrt(2 / 3): "you forgot √α = √(3/2), the path normalization: 1/√6 is the bare Clebsch–Gordan "
                                  "contraction",
                math.sqrt(3 / 2): "you multiplied by α = 3/2 instead of its square root √α",
                1 / math.sqrt(2): "the wrong fan-in: 4 instead of m1·m2 = 2 (the two channels of x times the one of y)",
                1 / math.sqrt(3): "α without the 2l_out+1 = 3: you divided by √fan_in only",
                2 * math.sqrt(3): "the plain cross product times √3: both the fan-in (α = 3/2, not 3) and the "
                                  "Clebsch–Gordan factor 1/√6 are missing",
            }, otherwise="the constant is √α · (CG factor) = √(3/2) · 1/√6 = 1/2, with α = (2·1+1)/(m1·m2)")
        except CheckFailed as exc:
            if n != 3:
                raise
            fail(f"right for a batch of N = 7, wrong for N = 3 ({exc.message.rstrip('.')}): does your code pick an "
                 "axis by its size?", "torch.cross(a, b) without dim= crosses along the first axis of length 3 — the "
                 "batch axis when N = 3: write torch.cross(a, b, dim=1)")
    return "matches e3nn's FullyConnectedTensorProduct('2x1o', '1o', '1e') for random x, y, w (two batch sizes)"


def _uvu_reference():
    with default_dtype(torch.float64):
        return o3.TensorProduct(*Q3_IRREPS, [(0, 0, 0, "uvu", True)], internal_weights=False, shared_weights=True)


@exercise("a 'uvu' tensor product path with einsum + wigner_3j", hints=[
    "Reshape x1 to (N, 4, 5) and x2 to (N, 2, 3): e3nn stores a block 'mul x ir' channel by channel. "
    "The weights are w.reshape(4, 2), indexed [u, v].",
    "Output channel u = Σ_v w[u, v] · C(x1_u, x2_v) with C = o3.wigner_3j(2, 1, 1): "
    "torch.einsum('uv,ijk,nui,nvj->nuk', W, C, X1, X2).",
    "The constant: √α with α = (2·1+1)/fan_in, and a 'uvu' path sums over v only, so fan_in = m2 = 2. "
    "Multiply by √(3/2) and reshape to (N, 12).",
])
def q3(tp_uvu):
    tp = _uvu_reference()
    gen = torch.Generator().manual_seed(7)
    for n in (6, 2):
        x1 = torch.randn(n, 20, generator=gen, dtype=torch.float64)
        x2 = torch.randn(n, 6, generator=gen, dtype=torch.float64)
        w = torch.randn(8, generator=gen, dtype=torch.float64)
        out = expect_tensor(call(tp_uvu, x1.clone(), x2.clone(), w.clone()), "tp_uvu(x1, x2, w)", shape=(n, 12))
        out = out.to(torch.float64)
        ref = tp(x1, x2, w)
        if not torch.allclose(out, ref, atol=1e-6, rtol=1e-5):
            swapped = tp(x1, x2, w.reshape(2, 4).T.reshape(-1))
            if torch.allclose(out, swapped, atol=1e-6, rtol=1e-5):
                fail("the weights are read in the wrong order",
                     "e3nn stores a uvu path's weights as w.reshape(m1, m2)[u, v] = w.reshape(4, 2)")
        _close_or_explain(out, ref, "tp_uvu(x1, x2, w)", {
            # the right constant is √α = √(3/fan_in) with fan_in = m2 = 2 (wigner_3j carries the CG factor)
            math.sqrt(2 / 3): "no normalization constant: multiply by √α = √(3/2), the path normalization",
            1 / math.sqrt(3): "you divided by √fan_in but forgot the 2l_out+1 = 3 in α = 3 / fan_in",
            math.sqrt(2): "you forgot the fan-in: √3 is α = 2l_out+1 = 3 without dividing by fan_in = m2 = 2",
            1 / math.sqrt(2): "the wrong fan-in: 4 = m1, but a 'uvu' path sums over v only, so fan_in = m2 = 2",
            1 / 2: "the wrong fan-in: 8 = m1·m2 is the fan-in of a 'uvw' path; 'uvu' sums over v only: fan_in = m2 = 2",
            math.sqrt(3 / 2): "you multiplied by α = 3/2 instead of its square root √α",
            -1.0: "the sign is flipped: contract C[i, j, k] with x1 on index i and x2 on index j",
        }, otherwise="the constant is √α = √(3/fan_in), and a 'uvu' path's fan_in is m2 = 2")
    return "matches e3nn's TensorProduct('4x2e', '2x1o', '4x1o', [(0, 0, 0, 'uvu', True)]) for random inputs and weights"


def _allowed(ir1: str, ir2: str) -> set:
    """The irreps in ir1 ⊗ ir2, from e3nn."""
    return set(o3.Irrep(ir1) * o3.Irrep(ir2))


@exercise("selection rules: what 2e ⊗ 1o contains", hints=[
    "Two rules: |l1 − l2| ≤ l ≤ l1 + l2, and the parity of the product is p1 · p2.",
    "l runs from |2 − 1| = 1 to 2 + 1 = 3; even × odd = odd.",
])
def q4(allowed):
    try:
        if isinstance(allowed, (list, set)) or (isinstance(allowed, tuple) and not isinstance(allowed, o3.Irreps)):
            irreps = o3.Irreps([(1, o3.Irrep(str(ir))) for ir in allowed])
        else:
            irreps = o3.Irreps(allowed)
    except Exception:
        fail(f"could not read {allowed!r} as irreps", "write it like \"0e + 1o\" (a string e3nn's o3.Irreps understands)")
    given = {ir for mul, ir in irreps if mul > 0}
    right = _allowed("2e", "1o")
    if given == right:
        return "2e ⊗ 1o = 1o + 2o + 3o (l from 1 to 3, odd parity)"
    if {ir.l for ir in given} == {ir.l for ir in right} and all(ir.p == 1 for ir in given):
        fail("the l values are right but the parity is not", "parity multiplies: even (+1) × odd (−1) = odd (−1)")
    missing = sorted(right - given, key=lambda ir: ir.l)
    extra = sorted(given - right, key=lambda ir: (ir.l, ir.p))
    parts = []
    if missing:
        parts.append("missing " + ", ".join(map(str, missing)))
    if extra:
        parts.append("not allowed: " + ", ".join(map(str, extra)))
    fail("; ".join(parts), "l must satisfy |2−1| ≤ l ≤ 2+1, and the parity is p1·p2 = odd")
