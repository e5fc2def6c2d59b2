"""Checkers for lesson 06 (geometric tensors): ``from e3teach.checks import lesson06 as check``.

* ``q1(decompose)``: a 3x3 matrix = trace part + antisymmetric part + symmetric traceless part.
* ``q2(irreps_of)``: irreps of Cartesian tensors with index symmetries, written by hand.
* ``q3(inertia)``: the inertia tensor of point masses about their centre of mass.
* ``q4(rotate_via_irreps)``: rotate a Cartesian tensor by going to irreps, applying D(R), coming back.
"""
from __future__ import annotations

import functools

import torch
from e3nn import io, o3

from ..env import default_dtype
from ..equivariance import random_rotation
from ..tensors import antisymmetric_part, inertia_tensor, rotate_tensor, symmetric_traceless, trace_part
from ..roundoff import format_error
from .core import NotAttempted, call, exercise, expect_close, expect_tensor, fail, fail_if_float32_precision

__all__ = ["q1", "q2", "q3", "q4", "Q2_FORMULAS"]

F64 = torch.float64


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _max_dev(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a.to(F64) - b.to(F64)).abs().max())


# ----------------------------------------------------------------------------- q1
def _three_parts(value, name: str) -> list[torch.Tensor]:
    if not isinstance(value, (tuple, list)) or len(value) != 3:
        fail(f"`{name}` should return three tensors (trace part, antisymmetric part, symmetric traceless part), "
             f"got {type(value).__name__}" + (f" of length {len(value)}" if isinstance(value, (tuple, list)) else ""),
             "end your function with `return iso, A, S`")
    labels = ("trace part", "antisymmetric part", "symmetric traceless part")
    return [expect_tensor(v, f"{name}: {label}", shape=(3, 3)) for v, label in zip(value, labels)]


@exercise("decompose a 3x3 matrix into 0e + 1e + 2e pieces", hints=[
    "Three pieces: an isotropic matrix (a multiple of the identity), an antisymmetric one, and a symmetric one with zero trace.",
    "iso = trace(T)/3 * I;  A = (T - T.T)/2;  S = (T + T.T)/2 - iso. Build I as torch.eye(3, dtype=T.dtype): a bare "
    "torch.eye(3) is float32 and rounds the trace part.",
    "Return them in this order, each of shape (3, 3): `return iso, A, S`.",
])
def q1(decompose):
    """Check ``decompose(T) -> (iso, A, S)`` on random matrices, then equivariance under rotations."""
    T = torch.randn(3, 3, generator=_gen(61), dtype=F64)
    iso, A, S = _three_parts(call(decompose, T.clone()), "decompose(T)")
    references = (trace_part(T), antisymmetric_part(T), symmetric_traceless(T))
    labels = ("trace part", "antisymmetric part", "symmetric traceless part")
    for label, got, want in zip(labels, (iso, A, S), references):   # float32 round-off is not a maths error
        fail_if_float32_precision(got, _max_dev(got, want), f"the {label} of decompose(T)", tol=1e-10)
    if _max_dev(iso + A + S, T) > 1e-10:
        fail(f"the three parts do not add up to T (off by up to {_max_dev(iso + A + S, T):.3g})",
             "did you divide the trace by 3, and subtract the trace part from the symmetric part?")
    if _max_dev(A, -A.T) > 1e-10:
        fail("the second part is not antisymmetric (A.T should equal -A)", "A = (T - T.T) / 2")
    if _max_dev(S, S.T) > 1e-10:
        fail("the third part is not symmetric (S.T should equal S)", "start from (T + T.T) / 2")
    if abs(float(S.trace())) > 1e-10:
        fail(f"the third part has trace {float(S.trace()):.3g}, it should be traceless",
             "subtract trace(T)/3 times the identity")
    off_diag = iso - torch.diag(iso.diagonal())
    if float(off_diag.abs().max()) > 1e-10 or float(iso.diagonal().max() - iso.diagonal().min()) > 1e-10:
        fail("the first part is not a multiple of the identity", "iso = trace(T) / 3 * torch.eye(3, dtype=T.dtype)")
    for name, got, want in zip(labels, (iso, A, S), references):
        expect_close(got, want, f"{name} of a random T", atol=1e-10)
    worst = 0.0
    for seed in (1, 2):
        R = random_rotation(_gen(seed))
        parts = _three_parts(call(decompose, R @ T @ R.T), "decompose(R T Rᵀ)")
        for got, original in zip(parts, (iso, A, S)):
            worst = max(worst, _max_dev(got, R @ original @ R.T))
    if worst > 1e-10:
        fail(f"decompose(R T Rᵀ) is not R (each part) Rᵀ (off by {worst:.3g})",
             "use only rotation-friendly operations: transpose, trace, identity")
    return ("parts add up to T; antisymmetric; symmetric and traceless; each part of R T Rᵀ is R (part) Rᵀ "
            f"(error {format_error(worst, 1e-10)})")


# ----------------------------------------------------------------------------- q2
#: the formulas of exercise 2
Q2_FORMULAS = ("ij=ji", "ij=-ji", "ijk=jik=ikj", "ijk=-jik=-ikj")
_Q2_EXPECTED: dict[str, o3.Irreps] = {}


def _expected_irreps(formula: str) -> o3.Irreps:
    if formula not in _Q2_EXPECTED:
        with default_dtype(F64):
            _Q2_EXPECTED[formula] = o3.Irreps(io.CartesianTensor(formula)).sort().irreps.simplify()
    return _Q2_EXPECTED[formula]


@exercise("irreps of Cartesian tensors with index symmetries", hints=[
    "Count the independent components first: that is the total dimension of the irreps.",
    "Rank 2: symmetric = 0e + 2e, antisymmetric = 1e (the axial vector). Rank 3 built from three 1o: parity (-1)^3 = odd.",
    "A fully symmetric rank-3 tensor has 10 components: it holds one vector (its trace over a pair of indices) plus l=3. "
    "A fully antisymmetric one is a multiple of the Levi-Civita symbol.",
])
def q2(irreps_of):
    """Check a dict ``{formula: irreps}`` against ``io.CartesianTensor(formula)`` for :data:`Q2_FORMULAS`."""
    if not isinstance(irreps_of, dict):
        fail(f"expected a dict {{formula: irreps}}, got {type(irreps_of).__name__}",
             'write e.g. irreps_of = {"ij=ji": "...", ...}')
    missing = [f for f in Q2_FORMULAS if f not in irreps_of]
    if missing:
        fail(f"the dict has no entry for {', '.join(repr(f) for f in missing)}", "give one irreps string per formula")
    for formula in Q2_FORMULAS:
        value = irreps_of[formula]
        if value is Ellipsis:
            continue                  # checked at the end: what is answered is checked first
        if value is None:
            fail(f"the entry for {formula!r} is None", "write an irreps string such as '1x0e + 1x2e'")
        try:
            got = o3.Irreps(value)
        except Exception as exc:  # noqa: BLE001 - any parse error is the learner's
            fail(f"{formula!r}: could not read {value!r} as irreps ({type(exc).__name__}: {exc})",
                 "irreps look like '1x0e + 2x1o' (multiplicity x l parity)")
        want = _expected_irreps(formula)
        if got.dim != want.dim:
            fail(f"{formula!r}: your irreps {got} have {got.dim} components, but a tensor with this symmetry has "
                 f"{'more' if want.dim > got.dim else 'fewer'} independent components",
                 "count the free entries of the tensor once its symmetries are imposed")
        if {ir.p for _, ir in got} != {ir.p for _, ir in want}:
            fail(f"{formula!r}: right number of components ({got.dim}), wrong parity",
                 "a Cartesian tensor of rank n built from vectors (1o) has parity (-1)^n")
        if got.sort().irreps.simplify() != want:
            fail(f"{formula!r}: right number of components ({got.dim}) and parity, but not the right l's",
                 "split the tensor into traces and traceless parts")
    if any(irreps_of[f] is Ellipsis for f in Q2_FORMULAS):
        raise NotAttempted()
    summary = "; ".join(f"{f} → {_expected_irreps(f)} ({_expected_irreps(f).dim})" for f in Q2_FORMULAS)
    return f"all four agree with io.CartesianTensor: {summary}"


# ----------------------------------------------------------------------------- q3
def _clouds():
    from ..data.tetris import tetris

    pieces = tetris(F64)
    g = _gen(63)
    yield "a tetris piece, unit masses", pieces.pos[5] + torch.tensor([0.3, -0.2, 0.5], dtype=F64), torch.ones(4, dtype=F64)
    pos = torch.randn(7, 3, generator=g, dtype=F64) + torch.tensor([2.0, -1.0, 0.5], dtype=F64)
    yield "7 random points, random masses", pos, torch.rand(7, generator=g, dtype=F64) + 0.5


@exercise("inertia tensor of point masses", hints=[
    "Work with positions relative to the centre of mass r_a = p_a - sum(m p)/sum(m).",
    "I = sum_a m_a (|r_a|^2 * identity - outer(r_a, r_a)).",
    "torch.einsum('a,ai,aj->ij', m, r, r) is sum_a m_a r_a r_aᵀ; (m * (r**2).sum(1)).sum() is sum_a m_a |r_a|^2.",
])
def q3(inertia):
    """Check ``inertia(pos, masses) -> (3, 3)``: values, rotation (R I Rᵀ), translation and mirror behaviour."""
    for label, pos, m in _clouds():
        I = expect_tensor(call(inertia, pos.clone(), m.clone()), f"inertia(pos, masses) for {label}", shape=(3, 3))
        want = inertia_tensor(pos, m)
        if _max_dev(I, want) > 1e-8:
            fail_if_float32_precision(I, _max_dev(I, want), f"inertia(pos, masses) for {label}",
                                      scale=float(want.abs().max()), needed="1e-8")
            r = pos - (m[:, None] * pos).sum(0) / m.sum()
            second_moment = torch.einsum("a,ai,aj->ij", m, r, r)
            unit = inertia_tensor(pos, torch.ones_like(m))
            about_origin = (m * (pos * pos).sum(1)).sum() * torch.eye(3, dtype=F64) - torch.einsum("a,ai,aj->ij", m, pos, pos)
            if _max_dev(I, second_moment) < 1e-8 or _max_dev(I, -second_moment) < 1e-8:
                fail(f"for {label} you returned ±sum m r rᵀ (the second moment), not the inertia tensor",
                     "I = sum m (|r|² identity − r rᵀ)")
            if _max_dev(I, about_origin) < 1e-8:
                fail(f"for {label} your tensor is about the origin, not the centre of mass",
                     "subtract the (mass-weighted) centre of mass from the positions first")
            if not torch.equal(m, torch.ones_like(m)) and _max_dev(I, unit) < 1e-8:
                fail(f"for {label} your tensor ignores the masses", "weight each point's contribution by its mass")
            expect_close(I, want, f"inertia(pos, masses) for {label}", atol=1e-8,
                         hint="I = sum m (|r|² identity − r rᵀ) with r measured from the centre of mass")
    worst = 0.0
    pos, m = list(_clouds())[1][1:]
    I = call(inertia, pos.clone(), m.clone())
    for seed, sign in ((1, 1.0), (2, -1.0)):
        R = sign * random_rotation(_gen(seed))
        moved = pos @ R.T + torch.tensor([0.5, 1.5, -2.0], dtype=F64)
        J = expect_tensor(call(inertia, moved, m.clone()), "inertia of the moved cloud", shape=(3, 3))
        worst = max(worst, _max_dev(J, R @ I @ R.T))
    if worst > 1e-8:
        fail(f"inertia(pos Rᵀ + t) differs from R I Rᵀ by {worst:.3g}", "measure positions from the centre of mass")
    return (f"matches Σ m(|r|²·1 − r rᵀ) about the centre of mass on 2 clouds; inertia(pos Rᵀ + t) = R I Rᵀ "
            f"for a rotation and an improper rotation (error {format_error(worst, 1e-8)})")


# ----------------------------------------------------------------------------- q4
_Q4_CASES = (("ij", False), ("ij=ji", False), ("ijk=ikj", True), ("ijkl=jikl=ijlk=klij", True))


@functools.lru_cache(maxsize=None)
def _q4_tensor(formula: str, seed: int) -> torch.Tensor:
    """A random float64 tensor with the symmetry of ``formula`` (built from random irreps; cached: e3nn takes
    seconds to reduce a rank-4 tensor product, and the checker is run again and again)."""
    with default_dtype(F64):
        ct = io.CartesianTensor(formula)
        return ct.to_cartesian(torch.randn(ct.dim, generator=_gen(seed), dtype=F64), ct.reduced_tensor_products())


@exercise("rotate a Cartesian tensor through its irreps", hints=[
    "ct = io.CartesianTensor(formula); x = ct.from_cartesian(T, rtp); rotate x with ct.D_from_matrix(R); "
    "come back with ct.to_cartesian(..., rtp).",
    "x is a row: rotate it as x @ D.T. D_from_matrix(R) takes care of det R = -1 (parity) for you.",
    "For 1e-10 accuracy build ct, rtp = ct.reduced_tensor_products() and D inside "
    "`with e3teach.default_dtype(torch.float64):` — e3nn computes their constants in the default dtype.",
])
def q4(rotate_via_irreps):
    """Check ``rotate_via_irreps(T, R, formula)`` equals the Cartesian rule for ranks 2, 3, 4 to 1e-10 (float64)."""
    worst, done = 0.0, []
    for k, (formula, improper) in enumerate(_Q4_CASES):
        T = _q4_tensor(formula, 640 + k).clone()
        R = random_rotation(_gen(k + 1)) * (-1.0 if improper else 1.0)
        out = call(rotate_via_irreps, T.clone(), R.clone(), formula, name="rotate_via_irreps")
        out = expect_tensor(out, f"rotate_via_irreps(T, R, {formula!r})", shape=tuple(T.shape))
        if out.dtype != F64:
            fail(f"rotate_via_irreps(T, R, {formula!r}) returned {out.dtype}; keep float64 end to end",
                 "do not convert to float32; build the e3nn objects under e3teach.default_dtype(torch.float64)")
        want = rotate_tensor(T, R)
        dev = _max_dev(out, want) / max(1.0, float(want.abs().max()))
        if dev > 1e-10:
            if dev < 1e-4:
                fail(f"for {formula!r} the result is right only to {dev:.1e}: float32 accuracy",
                     "build CartesianTensor, its reduced_tensor_products() and D_from_matrix inside "
                     "`with e3teach.default_dtype(torch.float64):`")
            if improper and _max_dev(out, rotate_tensor(T, -R)) < 1e-4 * max(1.0, float(want.abs().max())):
                fail(f"for {formula!r} with det R = -1 the sign is wrong: the parity was lost",
                     "use ct.D_from_matrix(R), which includes the parity, not D_from_angles of R's angles")
            if _max_dev(out, T) < 1e-8:
                fail(f"for {formula!r} the tensor came back unrotated", "multiply the irreps by D: x @ D.T")
            fail(f"for {formula!r} the result differs from the rotated tensor by {dev:.3g}",
                 "rows: x @ D.T (not D @ x), then ct.to_cartesian")
        worst = max(worst, dev)
        done.append(formula)
    return (f"equals R⊗…⊗R applied to T for {', '.join(done)} (improper R for ranks 3 and 4), "
            f"error {format_error(worst, 1e-10)}")
