"""Checkers for lesson 11 (symmetry breaking): ``from e3teach.checks import lesson11 as check``.

* ``q1(loss_floor)``: the smallest mean squared error a G-symmetric prediction can reach on a target.
* ``q2(b1g)``: the x² − y² pattern (B1g of D4h) in e3nn's basis of ``io.CartesianTensor("ij=ji")``.
* ``q3(must_vanish)``: Curie's principle — which output irreps vanish for a D3h-symmetric input.
* ``q4(output_asymmetry)``: how far an output vector is from being invariant under a point group.
"""
from __future__ import annotations

import math

import torch
from e3nn import io, o3

from ..env import default_dtype
from ..point_groups import invariant_projector, point_group
from .core import (as_number, call, describe, exercise, expect_close, expect_tensor, fail, fail_if_float32_precision,
                   show)

__all__ = ["q1", "q2", "q3", "q4", "symmetrize_target", "reference_floor", "triangle", "Q3_IRREPS"]

F64 = torch.float64


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _scalar(value, name: str, hint: str) -> float:
    """A Python/NumPy number or a one-element tensor as a float (❌ with this exercise's ``hint`` otherwise)."""
    if isinstance(value, torch.Tensor):
        value = expect_tensor(value, name)
    return as_number(value, name, hint=hint)


# ----------------------------------------------------------------------------- q1
def symmetrize_target(pos: torch.Tensor, target: torch.Tensor, matrices: torch.Tensor) -> torch.Tensor:
    r"""The closest per-point vector field with the symmetry of ``pos``: :math:`\bar t_i = \frac1{|G|}\sum_g g^{-1} t_{\sigma_g(i)}`,
    where :math:`g\,x_i = x_{\sigma_g(i)}`. It is the orthogonal projection onto G-symmetric fields."""
    pos, target, matrices = pos.to(F64), target.to(F64), matrices.to(F64)
    out = torch.zeros_like(target)
    for g in matrices:
        perm = torch.cdist(pos @ g.T, pos).argmin(dim=1)      # g x_i = x_perm[i]
        out += target[perm] @ g                                # g^T t_perm[i], rows
    return out / matrices.shape[0]


def reference_floor(pos, target, matrices) -> float:
    """Mean (over points and coordinates) squared distance from ``target`` to its symmetrization."""
    return float(((target.to(F64) - symmetrize_target(pos, target, matrices)) ** 2).mean())


def _square():
    return torch.tensor([[1.0, 1, 0], [-1, 1, 0], [-1, -1, 0], [1, -1, 0]], dtype=F64)


def triangle() -> torch.Tensor:
    """An equilateral triangle in the xy plane with a vertex on +x (symmetry D3h in e3teach's orientation)."""
    t = torch.arange(3, dtype=F64) * 2 * math.pi / 3
    return torch.stack([t.cos(), t.sin(), torch.zeros(3, dtype=F64)], dim=1)


@exercise("the loss floor of a symmetric prediction", hints=[
    "An equivariant model fed a G-symmetric input can only output G-symmetric fields: p[σ_g(i)] = g p[i] for every g, "
    "where g x_i = x_σ_g(i). The best such field is the group average of the target.",
    "For each g: perm = torch.cdist(pos @ g.T, pos).argmin(1) gives σ_g; the symmetrized target is "
    "mean over g of target[perm] @ g (rows, so g acts transposed = inverted).",
    "Return ((target - symmetrized) ** 2).mean(): the same mean over points AND coordinates as the lesson's loss.",
])
def q1(loss_floor):
    """Check ``loss_floor(pos, target, matrices)`` on a rectangle target, a random target and a triangle."""
    D4h, Td, D3h = point_group("D4h").matrices, point_group("Td").matrices, point_group("D3h").matrices
    sq = _square()
    tet = torch.tensor([[1.0, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1]], dtype=F64)
    cases = [
        ("square → rectangle (a=2, b=0.5) under D4h", sq, sq * torch.tensor([2.0, 0.5, 1.0], dtype=F64), D4h),
        ("tetrahedron, random target under Td", tet, torch.randn(4, 3, generator=_gen(11), dtype=F64), Td),
        ("triangle, random target under D3h", triangle(), torch.randn(3, 3, generator=_gen(12), dtype=F64), D3h),
        ("already symmetric target (floor 0)", sq, 0.3 * sq, D4h),
    ]
    for label, pos, target, mats in cases:
        got = _scalar(call(loss_floor, pos.clone(), target.clone(), mats.clone()), f"loss_floor on {label}",
                      "average over every point and every coordinate: .mean() of the squared errors, one number")
        want = reference_floor(pos, target, mats)
        if abs(got - want) > 1e-6 * max(1.0, abs(want)):         # 1e-6: a float32 result is right too
            plain = float((target ** 2).mean())
            extra = (" — that is the mean of target², as if the best symmetric prediction were zero"
                     if abs(got - plain) < 1e-8 else "")
            fail(f"{label}: you return {show(got, want)[0]}, the floor is {show(got, want)[1]}{extra}",
                 "symmetrize the target over the group (group average), then take the mean squared difference")
    return ("right on 4 cases (rectangle under D4h = (a−b)²/6 = 0.375, tetrahedron/Td, triangle/D3h, "
            "symmetric target → 0)")


# ----------------------------------------------------------------------------- q2
def _expected_b1g() -> torch.Tensor:
    with default_dtype(F64):
        return io.CartesianTensor("ij=ji").from_cartesian(torch.diag(torch.tensor([1.0, -1.0, 0.0], dtype=F64)))


@exercise("x² − y² in e3nn's basis", hints=[
    "The quadratic form x² − y² = rᵀ S r has S = diag(1, -1, 0): symmetric and traceless.",
    'ct = io.CartesianTensor("ij=ji") has irreps 1x0e + 1x2e (6 numbers); ct.from_cartesian(S) converts.',
    "Build it inside `with e3teach.default_dtype(torch.float64):` and pass a float64 S.",
])
def q2(b1g):
    """Check the 6 irreps coefficients of diag(1, -1, 0) and report its D4h behaviour."""
    v = expect_tensor(b1g, "b1g", shape=(6,))
    want = _expected_b1g()
    if float((v.to(F64) + want).abs().max()) < 1e-6:
        fail("your coefficients are those of y² − x² (the opposite sign)", "S = diag(1, -1, 0) for x² − y²")
    expect_close(v, want, "b1g", atol=1e-6, rtol=0,
                 hint='convert S = diag(1, -1, 0) with io.CartesianTensor("ij=ji").from_cartesian(S)')
    G = point_group("D4h")
    D = G.D("0e + 2e")
    images = torch.einsum("gij,j->gi", D, want)
    kept = int(sum(bool(torch.allclose(x, want, atol=1e-10)) for x in images))
    flipped = int(sum(bool(torch.allclose(x, -want, atol=1e-10)) for x in images))
    return (f"matches; 0e part = 0 (traceless); of the 16 operations of D4h, {kept} keep it and {flipped} flip its sign "
            "(e.g. the 90° rotation about z): it breaks D4h down to D2h")


# ----------------------------------------------------------------------------- q3
#: the output irreps of exercise 3
Q3_IRREPS = ("0e", "0o", "1o", "1e", "2e", "2o", "3o", "3e")


def _q3_expected() -> set[str]:
    G = point_group("D3h")
    return {ir for ir in Q3_IRREPS if int(torch.linalg.matrix_rank(invariant_projector(G, ir), atol=1e-8)) == 0}


@exercise("Curie's principle: which outputs must vanish", hints=[
    "An output irrep can be nonzero for a symmetric input only if it contains a vector invariant under the whole group.",
    "Count those with the projector of lesson 10: rank of invariant_projector(point_group('D3h'), ir) — 0 means it must vanish.",
    "For D3h: the scalar 0e survives, and of the l=2 and l=3 irreps one each has an invariant; every other one vanishes.",
])
def q3(must_vanish):
    """Check a set of irreps strings against the invariant-projector ranks for D3h."""
    if must_vanish is Ellipsis:
        from .core import NotAttempted
        raise NotAttempted()
    if isinstance(must_vanish, str) or not hasattr(must_vanish, "__iter__"):
        fail(f"expected a set of irreps such as {{'0o', '1o'}}, got {type(must_vanish).__name__}",
             "write must_vanish = {'...', '...'}")
    if isinstance(must_vanish, dict):
        fail(f"your answer is a dict with {len(must_vanish)} keys ({describe(must_vanish)}): read as a set it is "
             "only its keys; the exercise asks for the set of irreps that must vanish",
             "keep the irreps whose rank is 0: {ir for ir, rank in ranks.items() if rank == 0}")
    got = set()
    for item in must_vanish:
        try:
            ir = o3.Irrep(item)
        except Exception as exc:  # noqa: BLE001 - any parse error is the learner's
            fail(f"could not read {item!r} as an irrep ({type(exc).__name__}: {exc})", "irreps look like '2e' or '3o'")
        if str(ir) not in Q3_IRREPS:
            fail(f"{ir} is not one of the outputs {', '.join(Q3_IRREPS)}", "answer with irreps from that list")
        got.add(str(ir))
    want = _q3_expected()
    wrongly = sorted(got - want)
    missing = sorted(want - got)
    if wrongly:
        fail(f"{', '.join(wrongly)} can be nonzero: D3h leaves a vector of {'each of these' if len(wrongly) > 1 else 'it'} invariant",
             "compute the rank of invariant_projector(point_group('D3h'), ir) for each irrep")
    if missing:
        fail(f"{', '.join(missing)} must vanish too: no vector of {'these' if len(missing) > 1 else 'it'} is D3h-invariant",
             "compute the rank of invariant_projector(point_group('D3h'), ir) for each irrep")
    return (f"{{{', '.join(sorted(want))}}} must vanish; 0e, 2e and 3o each have one D3h-invariant direction")


# ----------------------------------------------------------------------------- q4
def _reference_asymmetry(out, irreps, matrices) -> float:
    with default_dtype(F64):
        D = o3.Irreps(irreps).D_from_matrix(matrices.to(F64))
    out = out.to(F64)
    return float((out - torch.einsum("gij,j->gi", D, out)).abs().max())


_Q4_NUMBER = "return one number: float(...) of the largest absolute difference over all g and components"
_Q4_FLOAT64 = ("is D only float32-accurate? e3nn builds D in the default dtype (float32 in the notebook): compute it "
               "under `with e3teach.default_dtype(torch.float64):`")


@exercise("how far is an output from the input's symmetry?", hints=[
    "An output y is G-symmetric when y = D(g) y for every g of the group.",
    "D = o3.Irreps(irreps).D_from_matrix(matrices) gives (n, d, d); for a row vector y, y @ D.transpose(1, 2) applies them all.",
    "Compute D under `with e3teach.default_dtype(torch.float64):` (otherwise it is only ~1e-7 accurate), "
    "and return the largest absolute difference as a float.",
])
def q4(output_asymmetry):
    """Check ``output_asymmetry(out, irreps, matrices)`` = max_g max |out − D(g) out|."""
    irreps = "1x0e + 1x1o + 1x2e + 1x2o"
    dim = o3.Irreps(irreps).dim
    for name in ("D4h", "Td"):
        G = point_group(name)
        sym = invariant_projector(G, irreps) @ torch.randn(dim, generator=_gen(41), dtype=F64)
        got = _scalar(call(output_asymmetry, sym.clone(), irreps, G.matrices.clone()),
                      f"output_asymmetry(a {name}-invariant vector)", _Q4_NUMBER)
        if got > 1e-9:
            fail(f"a {name}-invariant vector gets {got:.3g}, it should be ~0 (< 1e-9)",
                 _Q4_FLOAT64 if got < 1e-4 else "y − D(g) y is zero for every g when y is invariant: check which "
                 "side D acts on (D(g) y for a column, y @ D.T for a row)")
        rnd = torch.randn(dim, generator=_gen(42), dtype=F64)
        got = _scalar(call(output_asymmetry, rnd.clone(), irreps, G.matrices.clone()),
                      f"output_asymmetry(a random vector, {name})", _Q4_NUMBER)
        want = _reference_asymmetry(rnd, irreps, G.matrices)
        if abs(got - want) > 1e-8:
            fail_if_float32_precision(None, abs(got - want), f"output_asymmetry(a random vector, {name})",
                                      scale=want, needed="1e-8", how=_Q4_FLOAT64)
            got_text, want_text = show(got, want)
            fail(f"for a random vector and {name} you return {got_text}, expected {want_text} = max over g and "
                 "components of |y − D(g) y|",
                 "take the maximum over all group elements and all components (not a mean, not a norm)")
    return "≈0 for invariant vectors of D4h and Td (< 1e-9), the right maximum for random vectors"
