"""Checkers for lesson 17 (from scratch): ``from e3teach.checks import lesson17 as check``.

* ``q1(harmonics_up_to_2)``: the real spherical harmonics l = 0, 1, 2 as polynomials, e3nn's order and
  component normalization, at the directions of the input vectors;
* ``q2(D_from_harmonics)``: the Wigner matrix of any harmonics ``Y`` by least squares on Y(R x) = D Y(x);
* ``q3(invariant_basis)``: an orthonormal basis of the tensors c with (D1 ⊗ D2 ⊗ D3) c = c, as a null space;
* ``q4(n_invariants)``: the number of invariant tensors of three O(3) irreps, predicted without an SVD;
* ``q5(tp_by_einsum)``: ``FullyConnectedTensorProduct("0e + 2x1o", "1o + 2e", "0e + 2x1o")`` with ``einsum``.

The references come from e3nn, built in float64 (e3nn computes its constants in torch's default dtype), and
its D matrices are computed in batches (a single float64 matrix goes through an inaccurate ``matrix_exp``
branch, see AUTHORING.md).
"""
from __future__ import annotations

import math

import torch
from e3nn import o3

from ..env import default_dtype
from .core import as_number, call, exercise, expect_close, expect_tensor, fail

__all__ = ["q1", "q2", "q3", "q4", "q5", "Q5_IRREPS"]

F64 = torch.float64
Q5_IRREPS = ("1x0e + 2x1o", "1x1o + 1x2e", "1x0e + 2x1o")


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _dev(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a.to(F64) - b.to(F64)).abs().max()) if b.numel() else 0.0


def _rotations(n: int, seed: int) -> torch.Tensor:
    """``n`` random rotation matrices (float64), reproducible."""
    q = torch.nn.functional.normalize(torch.randn(n, 4, generator=_gen(seed), dtype=F64), dim=1)
    return o3.quaternion_to_matrix(q)


def _D(l: int, p: int, Rs: torch.Tensor) -> torch.Tensor:
    """e3nn's D of the irrep (l, p) for a batch of matrices (float64, batched: the accurate matrix_exp path)."""
    with default_dtype(F64):
        return o3.Irrep(l, p).D_from_matrix(torch.cat([Rs, Rs[:1]]))[:-1]      # ≥ 2 matrices per call


def _sh(l: int, x: torch.Tensor) -> torch.Tensor:
    with default_dtype(F64):
        return o3.spherical_harmonics(l, x.to(F64), normalize=True, normalization="component")


# ----------------------------------------------------------------------------- q1
_SLICES = {0: slice(0, 1), 1: slice(1, 4), 2: slice(4, 9)}


def _diagnose_block(out: torch.Tensor, ref: torch.Tensor, l: int, name: str) -> None:
    """Fail with what is wrong in block l (a constant factor, an order of the columns, a sign)."""
    o, r = out[:, _SLICES[l]].to(F64), ref[:, _SLICES[l]]
    ratio = float((o * r).sum() / (r * r).sum())
    if torch.allclose(o, ratio * r, atol=1e-6, rtol=1e-5):
        if math.isclose(ratio, 1 / math.sqrt(4 * math.pi), rel_tol=1e-4):
            fail(f"block l = {l} of `{name}` is e3nn's divided by √(4π): that is the \"integral\" normalization",
                 "component normalization: each harmonic has mean square 1 over the sphere, e.g. √3·x for l = 1")
        if l > 0 and math.isclose(ratio, 1 / math.sqrt(2 * l + 1), rel_tol=1e-4):
            fail(f"block l = {l} of `{name}` is e3nn's divided by √{2 * l + 1}: that is the \"norm\" normalization",
                 "component normalization: each of the 2l+1 components has mean square 1 (not the whole block)")
        fail(f"block l = {l} of `{name}` is {ratio:.4g} × e3nn's: the polynomials are right, the constant is not",
             "the constants: √3 for l = 1; √15, √15, √5/2, √15, √15/2 for l = 2 (mean square 1 on the sphere)")
    # the same columns in another order (or with another sign)?
    found = []
    for j in range(o.shape[1]):
        match = [k for k in range(r.shape[1]) for s in (1, -1) if torch.allclose(o[:, j], s * r[:, k], atol=1e-6)]
        found.append(match[0] if match else None)
    if None not in found and found != list(range(r.shape[1])):
        order = ", ".join(f"m = {k - l}" for k in found)
        fail(f"block l = {l} of `{name}` has e3nn's functions in another order (yours are e3nn's {order})",
             f"e3nn's order for l = {l}: {_ORDER[l]}")
    if None not in found:
        fail(f"block l = {l} of `{name}` has a wrong sign in some component", "compare each component with the lesson's formula")
    fail(f"block l = {l} of `{name}` is not e3nn's (off by up to {_dev(o, r):.3g})", _FORMULA[l])


#: e3nn's order of the components, and each block's formula on unit vectors (the polar axis matters from l = 2 on).
_ORDER = {1: "(x, y, z)", 2: "(xz, xy, 2y² − x² − z², yz, z² − x²): the polar axis is y"}
_FORMULA = {0: "Y_0 = 1 for every vector (component normalization)",
            1: "Y_1 = √3 (x, y, z) of the unit vector x / |x|",
            2: "e3nn's l = 2 functions have the polar axis y: √15 xz, √15 xy, √5/2 (2y² − x² − z²), √15 yz, "
               "√15/2 (z² − x²)"}


@exercise("the spherical harmonics up to l = 2 as polynomials", hints=[
    "Normalize the vectors first (x / |x|), then concatenate the blocks l = 0 (1 number), 1 (3) and 2 (5).",
    "l = 0: 1;  l = 1: √3 (x, y, z);  l = 2 (polar axis y): √15 xz, √15 xy, √5/2 (2y² − x² − z²), √15 yz, √15/2 (z² − x²).",
    "torch.cat([torch.ones_like(x)[:, None], math.sqrt(3) * u, torch.stack([...], dim=1)], dim=1) with u the unit vectors.",
])
def q1(harmonics_up_to_2):
    name = "harmonics_up_to_2(vectors)"
    unit = torch.nn.functional.normalize(torch.randn(40, 3, generator=_gen(171), dtype=F64), dim=1)
    lengths = 0.5 + 2 * torch.rand(40, 1, generator=_gen(172), dtype=F64)
    vectors = unit * lengths
    ref = torch.cat([_sh(l, vectors) for l in range(3)], dim=1)
    out = expect_tensor(call(harmonics_up_to_2, vectors.clone()), name, shape=(40, 9))
    if _dev(out, ref) <= (1e-5 if out.dtype != F64 else 1e-10):
        expect_close(out, ref, name, atol=1e-10, float32_ok=True)
        return "equals o3.spherical_harmonics(l, x, normalize=True, normalization='component') for l = 0, 1, 2"
    on_unit = expect_tensor(call(harmonics_up_to_2, unit.clone()), "harmonics_up_to_2(unit vectors)", shape=(40, 9))
    if _dev(on_unit, ref) <= 1e-5:
        fail(f"`{name}` is right for unit vectors only: for other lengths it changes",
             "the harmonics depend on the direction: divide the vectors by their norm first")
    for l in range(3):
        if _dev(out[:, _SLICES[l]], ref[:, _SLICES[l]]) > 1e-5:
            _diagnose_block(out, ref, l, name)
    expect_close(out, ref, name, atol=1e-10, float32_ok=True)
    return "equals e3nn's harmonics"


# ----------------------------------------------------------------------------- q2
def _learner_D(D_from_harmonics, l: int, R: torch.Tensor) -> torch.Tensor:
    Y = lambda x: _sh(l, torch.as_tensor(x))
    name = f"D_from_harmonics(Y_{l}, R)"
    return expect_tensor(call(D_from_harmonics, Y, R.clone(), name=name), name, shape=(2 * l + 1, 2 * l + 1)), name


@exercise("D from the harmonics, by least squares", hints=[
    "Take N ≥ 2l+1 random points as rows X (N, 3). Then A = Y(X) and B = Y(X @ R.T) satisfy B = A Dᵀ.",
    "torch.linalg.lstsq(A, B).solution is Dᵀ: return its transpose. Get the size 2l+1 from Y's output.",
    "points = torch.randn(30, 3, dtype=R.dtype); A, B = Y(points), Y(points @ R.T); "
    "return torch.linalg.lstsq(A, B).solution.T",
])
def q2(D_from_harmonics):
    Rs = _rotations(3, 173)
    Rs = torch.cat([Rs, -Rs[:1]])                          # three rotations and one improper element
    cases = [(1, 0), (2, 1), (2, 3), (3, 2)]               # (l, index of the group element)
    for l, i in cases:
        R = Rs[i]
        ref = _D(l, (-1) ** l, Rs)[i]
        out, name = _learner_D(D_from_harmonics, l, R)
        dev = _dev(out, ref)
        if dev <= (1e-5 if out.dtype != F64 else 1e-9):
            continue
        if _dev(out, ref.T) <= 1e-5:
            fail(f"`{name}` is the transpose of D (the D of the inverse rotation)",
                 "with points as rows, Y(X Rᵀ) = Y(X) Dᵀ: lstsq(A, B).solution is Dᵀ, so transpose it — "
                 "and rotate the points as X @ R.T")
        if _dev(out, _D(l, (-1) ** l, Rs.transpose(1, 2))[i].T) <= 1e-5:
            fail(f"`{name}` is D(Rᵀ)ᵀ: the points were rotated with X @ R instead of X @ R.T", "rows rotate as X @ R.T")
        new = torch.randn(100, 3, generator=_gen(174), dtype=F64)
        residual = _dev(_sh(l, new @ R.T), _sh(l, new) @ out.to(F64).T)
        fail(f"`{name}` does not satisfy Y(R x) = D Y(x) (off by up to {residual:.3g} on new points)",
             "use enough random points (at least 2l+1, say 30) so that the least-squares problem has one solution")
    expect_close(out, ref, name, atol=1e-9, float32_ok=True)
    return ("equals e3nn's D_from_matrix for l = 1, 2, 3 (any harmonics work, not only the ones you wrote), "
            "rotations and an improper element")


# ----------------------------------------------------------------------------- q3
def _block_D(irreps: list[tuple[int, int]], Rs: torch.Tensor) -> torch.Tensor:
    """Block-diagonal D of several irreps for a batch of matrices: (k, d, d)."""
    blocks = [_D(l, p, Rs) for l, p in irreps]
    return torch.stack([torch.block_diag(*(b[i] for b in blocks)) for i in range(len(Rs))])


def _q3_cases():
    """(label, irreps of the three slots, group elements, expected count, reference tensor or None)."""
    rot = _rotations(3, 175)
    with_inv = torch.cat([rot, -torch.eye(3, dtype=F64)[None]])
    with default_dtype(F64):
        C112, C123 = o3.wigner_3j(1, 1, 2), o3.wigner_3j(1, 2, 3)
    return [
        ("1 ⊗ 1 → 2", ([(1, 1)], [(1, 1)], [(2, 1)]), rot, 1, C112),
        ("1 ⊗ 2 → 3", ([(1, 1)], [(2, 1)], [(3, 1)]), rot, 1, C123),
        ("1 ⊗ 1 → 3", ([(1, 1)], [(1, 1)], [(3, 1)]), rot, 0, None),
        ("1o ⊗ 1o → 1o with the inversion", ([(1, -1)], [(1, -1)], [(1, -1)]), with_inv, 0, None),
        ("(1o + 1o) ⊗ 1o → 0e with the inversion", ([(1, -1), (1, -1)], [(1, -1)], [(0, 1)]), with_inv, 2, None),
    ]


@exercise("invariant tensors as a null space", hints=[
    "For each group element build K = torch.kron(torch.kron(D1, D2), D3) and the constraint K − I; stack them "
    "all with torch.cat (one constraint per element, not just the first).",
    "torch.linalg.svd(A) returns U, S, Vh with S decreasing: the null space is the rows of Vh whose singular value "
    "is below a threshold (1e-8) — the LAST rows.",
    "n = int((S < 1e-8).sum()); return Vh[len(Vh) - n:].reshape(n, d1, d2, d3)",
])
def q3(invariant_basis):
    for label, irreps3, elements, expected, reference in _q3_cases():
        Ds = [list(_block_D(irreps, elements)) for irreps in irreps3]
        dims = tuple(len(D[0]) for D in Ds)
        name = f"invariant_basis(...) for {label}"
        out = expect_tensor(call(invariant_basis, *[[d.clone() for d in D] for D in Ds], name="invariant_basis"), name)
        if out.dim() != 4 or tuple(out.shape[1:]) != dims:
            fail(f"`{name}` has shape {tuple(out.shape)}, expected (n, {', '.join(map(str, dims))}) with n the number "
                 f"of solutions", "reshape the null vectors to (n, d1, d2, d3); with no solution n = 0")
        n = out.shape[0]
        flat = out.reshape(n, math.prod(dims)).to(F64)
        tol = 1e-5 if out.dtype != F64 else 1e-8
        if n and _dev(flat @ flat.T, torch.eye(n, dtype=F64)) > tol:
            fail(f"the {n} tensors of `{name}` are not orthonormal", "take rows of Vh from the SVD: they are orthonormal")
        if n:
            fresh = _rotations(2, 176)
            if elements.shape[0] > 3:
                fresh = torch.cat([fresh, -fresh[:1]])
            K = [_block_D(irreps, fresh) for irreps in irreps3]
            worst = max(_dev(torch.einsum("ia,jb,kc,nabc->nijk", K[0][g], K[1][g], K[2][g], out.to(F64)), out)
                        for g in range(len(fresh)))
            if worst > tol:
                fail(f"`{name}` returned {n} tensor(s) that are not invariant (off by {worst:.3g} under new rotations)",
                     "the null space is the right singular vectors of the SMALLEST singular values (the last rows of "
                     "Vh), and the constraint must be stacked for every group element")
        if n > expected:
            fail(f"`{name}` found {n} solutions, there are {expected}",
                 "stack the constraint of every group element given (torch.cat), and keep only singular values "
                 "below a small threshold such as 1e-8")
        if n < expected:
            fail(f"`{name}` found {n} solution(s), there are {expected}",
                 "count every singular value below the threshold (a repeated zero means several solutions); "
                 "a threshold like 1e-8 sits far below the nonzero ones")
        if reference is not None:
            sign = float(torch.sign((out[0].to(F64) * reference).sum()))
            expect_close(sign * out[0], reference, f"{name} (up to sign)", atol=tol,
                         hint="a unique invariant tensor with norm 1 is ± o3.wigner_3j")
    return ("right number of solutions (1, 1, 0, 0 by parity, 2 for a multiplicity), orthonormal, invariant, "
            "and ± o3.wigner_3j where unique")


# ----------------------------------------------------------------------------- q4
IRREPS_Q4 = [(l, p) for l in range(4) for p in (1, -1)]


def _expected_count(ir1, ir2, ir3) -> int:
    return int(o3.Irrep(*ir3) in o3.Irrep(*ir1) * o3.Irrep(*ir2))


@exercise("predict the number of invariant tensors", hints=[
    "Two conditions, both needed: the triangle rule |l1 − l2| ≤ l3 ≤ l1 + l2, and parity p3 = p1·p2.",
    "return int(abs(l1 - l2) <= l3 <= l1 + l2 and p3 == p1 * p2)",
])
def q4(n_invariants):
    wrong = []
    for ir1 in IRREPS_Q4:
        for ir2 in IRREPS_Q4:
            for ir3 in IRREPS_Q4:
                value = call(n_invariants, ir1, ir2, ir3, name="n_invariants")
                if isinstance(value, bool):
                    value = int(value)
                got = as_number(value, f"n_invariants{ir1, ir2, ir3}", integer=True,
                                hint="return a count: 0 or 1 here")
                want = _expected_count(ir1, ir2, ir3)
                if got != want:
                    wrong.append((ir1, ir2, ir3, got, want))
    if not wrong:
        return f"right on all {len(IRREPS_Q4) ** 3} triples of irreps with l ≤ 3 (each count equals a null space's)"
    name = lambda ir: f"{ir[0]}{'e' if ir[1] == 1 else 'o'}"
    ir1, ir2, ir3, got, want = wrong[0]
    example = f"{name(ir1)} ⊗ {name(ir2)} → {name(ir3)}: yours {got}, right {want}"
    parity_only = all(abs(a[0] - b[0]) <= c[0] <= a[0] + b[0] and c[1] != a[1] * b[1] for a, b, c, *_ in wrong)
    on_the_edge = all(c[0] in (abs(a[0] - b[0]), a[0] + b[0]) and c[1] == a[1] * b[1] and got == 0
                      for a, b, c, got, _ in wrong)
    if on_the_edge:
        fail(f"{len(wrong)} wrong counts, all where l3 is exactly |l1 − l2| or l1 + l2 (e.g. {example})",
             "the triangle rule includes its ends: |l1 − l2| <= l3 <= l1 + l2, not <")
    if parity_only:
        fail(f"{len(wrong)} wrong counts, all where the l's are allowed but the parity is not (e.g. {example})",
             "the parity of the output must be p1·p2")
    fail(f"{len(wrong)} wrong counts of {len(IRREPS_Q4) ** 3} (e.g. {example})",
         "one solution exactly when |l1 − l2| ≤ l3 ≤ l1 + l2 and p3 = p1·p2; zero otherwise")


# ----------------------------------------------------------------------------- q5
def _q5_reference(x, y, w):
    with default_dtype(F64):
        tp = o3.FullyConnectedTensorProduct(*Q5_IRREPS, internal_weights=False, shared_weights=True)
    return tp(x, y, w)


def _q5_per_path(x, y, w):
    """The look-alike: each path scaled by √((2l+1)/its own fan-in), not by the fan-in of its output block."""
    with default_dtype(F64):
        full = o3.FullyConnectedTensorProduct(*Q5_IRREPS, internal_weights=False, shared_weights=True)
        out, start = 0, 0
        for ins in full.instructions:
            one = o3.TensorProduct(*Q5_IRREPS, [(ins.i_in1, ins.i_in2, ins.i_out, "uvw", True)],
                                   internal_weights=False, shared_weights=True)
            out = out + one(x, y, w[start:start + one.weight_numel])
            start += one.weight_numel
    return out


@exercise("a fully connected tensor product with einsum", hints=[
    "Three paths, in e3nn's order: 0e ⊗ 1o → 1o (2 weights), 1o ⊗ 1o → 0e (2), 1o ⊗ 2e → 1o (4). Weights are cut "
    "in that order, each piece reshaped (m1, m2, m_out).",
    "Each path: torch.einsum('uvw,ijk,nui,nvj->nwk', W, o3.wigner_3j(l1, l2, l3), x_block, y_block), with blocks "
    "of shape (N, mul, 2l+1).",
    "Constants √((2l_out+1)/fan_in): the 0e output has fan-in 2·1 = 2, so √(1/2); the 1o output has fan-in "
    "1·1 + 2·1 = 3, so √(3/3) = 1.",
])
def q5(tp_by_einsum):
    name = "tp_by_einsum(x, y, w)"
    for n, seed in ((9, 177), (4, 178)):
        x = torch.randn(n, 7, generator=_gen(seed), dtype=F64)
        y = torch.randn(n, 8, generator=_gen(seed + 100), dtype=F64)
        w = torch.randn(8, generator=_gen(seed + 200), dtype=F64)
        out = expect_tensor(call(tp_by_einsum, x.clone(), y.clone(), w.clone()), name, shape=(n, 7))
        ref = _q5_reference(x, y, w)
        if _dev(out, ref) <= (1e-5 if out.dtype != F64 else 1e-10):
            continue
        for label, cols, fan in (("0e", slice(0, 1), 2), ("1o", slice(1, 7), 3)):
            o, r = out[:, cols].to(F64), ref[:, cols]
            if _dev(o, r) <= 1e-5:
                continue
            ratio = float((o * r).sum() / (r * r).sum())
            if torch.allclose(o, ratio * r, atol=1e-6, rtol=1e-5):
                alpha = (1 if label == "0e" else 3) / fan
                if math.isclose(ratio, 1 / math.sqrt(alpha), rel_tol=1e-4):
                    fail(f"the {label} output block is {ratio:.4g} × e3nn's: the constant √α = √{alpha:.3g} is missing",
                         "α = (2 l_out + 1) / fan-in, with the fan-in summed over every path into that block")
                fail(f"the {label} output block is {ratio:.4g} × e3nn's: the paths are right, the constant is not",
                     f"√((2l+1)/fan-in) with fan-in {fan} for {label}")
            if _dev(o, _q5_per_path(x, y, w)[:, cols]) <= 1e-8:
                fail(f"the {label} output block normalizes each path by its own fan-in: e3nn divides by the fan-in "
                     "summed over every path into the block", f"one constant per output block: √((2l+1)/{fan}) "
                     f"for {label}, the same for each of its paths")
            fail(f"the {label} output block is off by up to {_dev(o, r):.3g} (not just by a constant)",
                 "check the weight order (0e⊗1o→1o, 1o⊗1o→0e, 1o⊗2e→1o, each reshaped (m1, m2, m_out)) and that "
                 "every path into the block is summed")
    expect_close(out, ref, name, atol=1e-10, float32_ok=True)
    return f"equals e3nn's FullyConnectedTensorProduct{Q5_IRREPS} for random inputs and weights (two batch sizes)"
