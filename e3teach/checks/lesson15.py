"""Checkers for exercises/15_expressivity."""
from __future__ import annotations

import math

import numpy as np
import torch
from e3nn import o3

from .. import expressivity as ex
from .. import point_groups as pg
from ..graph import radius_graph
from .core import CheckFailed, NotAttempted, as_number, call, exercise, expect_tensor, fail

__all__ = ["q1", "q2", "q3", "q4", "q5"]

_F64 = torch.float64


def _as_float64(value, name: str, shape) -> torch.Tensor:
    out = expect_tensor(value, name, shape=shape)
    if not out.dtype.is_floating_point:
        fail(f"`{name}` has dtype {out.dtype}, expected a float tensor", "the harmonics are real numbers")
    if out.dtype != _F64:
        fail(f"`{name}` has dtype {out.dtype}, but the input was float64",
             "keep the input's dtype: do not call .float(); the comparisons of this lesson need ~1e-12, "
             "float32 only gives ~1e-7")
    return out


def _cloud(n, seed, scale=True):
    g = torch.Generator().manual_seed(seed)
    pts = torch.randn(n, 3, generator=g, dtype=_F64)
    if scale:                                      # distances far from 1: un-normalised directions show
        pts = pts * (0.5 + 2 * torch.rand(n, 1, generator=g, dtype=_F64))
    return pts


# ----------------------------------------------------------------------------------------------- q1
@exercise("the degree-l signal of a point cloud", hints=[
    "o3.spherical_harmonics(l, points, normalize=True, normalization='component') gives one row per point.",
    "The signal is the sum of those rows over the points: a vector of 2l+1 numbers.",
    "return o3.spherical_harmonics(l, points, normalize=True, normalization='component').sum(dim=0)",
])
def q1(sh_signal):
    """Check sh_signal(points, l) -> (2l+1,) against e3nn on a unit star and on random clouds, l = 0..5."""
    cases = [("a 5-fold star on the unit circle", ex.n_fold_star(5)), ("6 random points", _cloud(6, 0)),
             ("9 random points", _cloud(9, 1))]
    for what, pts in cases:
        for l in range(6):
            name = f"sh_signal(points, {l}) for {what}"
            raw = call(sh_signal, pts.clone(), l, name=name)
            if isinstance(raw, torch.Tensor) and raw.dim() == 2 and raw.shape == (len(pts), 2 * l + 1):
                fail(f"`{name}` has shape {tuple(raw.shape)}: one row per point",
                     "the signal is the sum over the points: .sum(dim=0)")
            out = _as_float64(raw, name, (2 * l + 1,))
            expected = ex.sh_signal(pts, l)
            if not torch.allclose(out, expected, atol=1e-10, rtol=1e-10):
                ratio = float(out.norm() / expected.norm()) if float(expected.norm()) > 1e-9 else float("nan")
                if abs(ratio * math.sqrt(4 * math.pi) - 1) < 1e-6:
                    hint = "that is normalization='integral' (e3nn's default): pass normalization='component'"
                elif l > 0 and abs(ratio * math.sqrt(2 * l + 1) - 1) < 1e-6:
                    hint = "that is normalization='norm': pass normalization='component'"
                else:
                    unnormalised = o3.spherical_harmonics(l, pts, normalize=False, normalization="component").sum(0)
                    hint = ("your harmonics were evaluated on the raw points: use normalize=True (only directions count)"
                            if torch.allclose(out, unnormalised, atol=1e-9) else
                            "sum e3nn's harmonics (normalization='component') of the normalised points")
                fail(f"`{name}` is off by {float((out - expected).abs().max()):.2g}", hint)
    return "matches Σ_i Y_l(r̂_i) (component normalization) on a 5-fold star and two random clouds, l = 0..5"


# ----------------------------------------------------------------------------------------------- q2
def _as_l_or_none(value, name):
    """None, or one whole number (Python, NumPy, a one-element tensor, an integral float)."""
    if value is None:
        return None
    return as_number(value, name, integer=True, hint="answer with a whole number, or None")


_TURN = lambda n: pg.rotation((0, 0, 1), math.pi / n)


def _q2_cases():
    yield "a 3-fold star turned by π/3 about its axis", ex.n_fold_star(3), _TURN(3), 12, 3
    yield "a 6-fold star turned by π/6", ex.n_fold_star(6), _TURN(6), 12, 6
    yield "a 5-fold star turned by π/5", ex.n_fold_star(5, radius=2.0), _TURN(5), 12, 5
    yield "a 4-fold star turned by 2π/4 (a symmetry)", ex.n_fold_star(4), pg.rotation((0, 0, 1), math.pi / 2), 12, None
    yield "a 7-fold star turned by π/7, with lmax=5", ex.n_fold_star(7), _TURN(7), 5, None
    yield "a 5-fold star turned by π/5, with lmax=5 (the answer is lmax itself)", ex.n_fold_star(5), _TURN(5), 5, 5
    yield "a 4-fold star tilted by 0.3 rad", ex.n_fold_star(4), pg.rotation((0.6, 0.8, 0), 0.3), 12, 2
    yield "8 random points, a random rotation", _cloud(8, 2), pg.rotation((0.3, -0.5, 0.8), 1.1), 12, 1


@exercise("the first degree that sees a rotation", hints=[
    "For l = 0, 1, ..., lmax compare sh_signal(points, l) with sh_signal(points @ R.T, l).",
    "Two float vectors are 'different' when (a - b).abs().max() > 1e-8 — never use ==: round-off is ~1e-15.",
    "for l in range(lmax + 1): if (sh_signal(points, l) - sh_signal(points @ R.T, l)).abs().max() > 1e-8: return l; "
    "after the loop: return None",
])
def q2(first_l_that_sees):
    """Check first_l_that_sees(points, R, lmax) on stars turned and tilted, a symmetry, a case whose answer is lmax,
    and a random cloud."""
    cases = list(_q2_cases())
    answers = []
    for what, pts, R, lmax, expected in cases:
        name = f"first_l_that_sees(...) for {what}"
        try:
            got = call(first_l_that_sees, pts.clone(), R.clone(), lmax, name=name, returns=False)
        except CheckFailed as exc:
            if "cannot be multiplied" in exc.message and len(pts) != 3:
                fail(f"{exc.message}: for the {len(pts)} points of {what}, R @ points does not fit (and for 3 "
                     "points it mixes the points instead of turning them)",
                     "rows are points: the rotated cloud is points @ R.T")
            raise
        answers.append(_as_l_or_none(got, name))
    if all(got is None for got in answers):
        fail(f"first_l_that_sees returned None for all {len(cases)} cases, also where the signals differ at l = 1",
             "is a `return l` missing inside the loop (a function without `return` returns None), or do you compare "
             "the cloud with itself? Rotate it: points @ R.T, then compare")
    for (what, pts, R, lmax, expected), got in zip(cases, answers):
        if got == expected:
            continue
        name = f"first_l_that_sees(...) for {what}"
        if expected == lmax and got is None:
            fail(f"`{name}` = None, expected {lmax}: your loop stops before l = lmax",
                 "include lmax itself: range(lmax + 1)")
        if expected is None and got is not None:
            hint = ("the rotated cloud is the same set of points, so every signal agrees up to round-off (~1e-15): "
                    "compare with a tolerance, and return None when no l up to lmax differs")
        elif got is not None and expected is not None and got < expected:
            hint = "compare with a tolerance (1e-8): differences of 1e-15 are round-off, not a difference"
        elif got is None:
            hint = "the signals do differ at some l ≤ lmax: compare sh_signal(points, l) with sh_signal(points @ R.T, l)"
        else:
            hint = "return the first l at which the two signals differ, starting from l = 0"
        fail(f"`{name}` = {got}, expected {expected}", hint)
    return ("turned stars give l = n (3, 5, 6, also when n = lmax), symmetries and lmax < n give None, a tilt l = 2, "
            "a random cloud l = 1")


# ----------------------------------------------------------------------------------------------- q3
@exercise("build the k-chain pair", hints=[
    "k points at (0, i, 0) for i = 0..k-1; one end atom before the first and one after the last, each 1 away "
    "from its chain neighbour: offsets (±0.8, -0.6, 0) and (0.8, +0.6, 0) (a 3-4-5 triangle).",
    "same_side=True: both end atoms at x = +0.8; same_side=False: the first one at x = -0.8. "
    "Order the rows along the path: end, chain..., end.",
    "pts = [[x0, -0.6, 0]] + [[0, i, 0] for i in range(k)] + [[0.8, k - 1 + 0.6, 0]] with x0 = 0.8 if same_side "
    "else -0.8; return torch.tensor(pts, dtype=torch.float64)",
])
def q3(k_chain):
    """Check k_chain(k, same_side) for k = 2..6: all distances (so any placement or orientation is fine)."""
    for k in range(2, 7):
        for same_side in (True, False):
            name = f"k_chain({k}, same_side={same_side})"
            out = expect_tensor(call(k_chain, k, same_side, name=name), name, shape=(k + 2, 3))
            if not out.dtype.is_floating_point:
                fail(f"`{name}` has dtype {out.dtype}", "positions are floats: torch.tensor(..., dtype=torch.float64)")
            out = out.to(_F64)
            d = ex.pairwise_distances(out)
            expected = ex.pairwise_distances(ex.k_chain(k, same_side))
            if torch.allclose(d, expected, atol=1e-5):
                continue
            if torch.allclose(d, ex.pairwise_distances(ex.k_chain(k, not same_side)), atol=1e-5):
                fail(f"`{name}` is the other member of the pair", "same_side=True puts both end atoms on the same "
                     "side of the line (the same sign of x)")
            bonds = d.diagonal(offset=1)
            if not torch.allclose(bonds, torch.ones_like(bonds), atol=1e-5):
                fail(f"`{name}`: consecutive rows should be 1 apart, got {[round(float(b), 3) for b in bonds]}",
                     "rows in path order (end, chain..., end); chain spacing 1; end offsets (±0.8, ∓0.6) have length 1")
            src, dst = radius_graph(out, 1.5)
            if src.numel() != 2 * (k + 1):
                fail(f"`{name}`: the radius graph at 1.5 has {src.numel() // 2} bonds, a path of k+2 atoms has {k + 1}",
                     "an end atom must be farther than 1.5 from the second chain atom: offset it by (±0.8, -0.6), "
                     "away from the chain")
            fail(f"`{name}` does not have the distances of the k-chain",
                 "the chain is straight (x = 0), the end atoms are at (±0.8, -0.6) and (0.8, k - 1 + 0.6)")
    return "all pairwise distances right for k = 2..6, both members of each pair"


# ----------------------------------------------------------------------------------------------- q4
def _addition_theorem(vectors: torch.Tensor, lmax: int) -> torch.Tensor:
    """(2l+1) Σ_{j,k} P_l(cos θ_jk), l = 0..lmax, computed with Legendre polynomials (independent of e3nn)."""
    u = vectors / vectors.norm(dim=1, keepdim=True)
    cos = (u @ u.T).clamp(-1, 1).numpy()
    vals = [(2 * l + 1) * np.polynomial.legendre.legval(cos, [0] * l + [1]).sum() for l in range(lmax + 1)]
    return torch.tensor(vals, dtype=_F64)


@exercise("three-body invariants from the atomic basis", hints=[
    "First the atomic basis of degree l: A_l = Σ_j Y_l(r̂_j) (your sh_signal), then B_l = Σ_m A_lm²: square AFTER summing.",
    "Squaring each neighbour's harmonics before summing gives Σ_j |Y_l(r̂_j)|² = M (2l+1): it only counts neighbours.",
    "return torch.stack([sh_signal(vectors, l).pow(2).sum() for l in range(lmax + 1)])",
])
def q4(angular_invariants):
    """Check angular_invariants(vectors, lmax) -> (lmax+1,) against the addition theorem on four environments."""
    g = torch.Generator().manual_seed(3)
    cases = [("one neighbour", _cloud(1, 4)), ("two neighbours", _cloud(2, 5)), ("four neighbours", _cloud(4, 6)),
             ("a planar 3-fold star", ex.n_fold_star(3))]
    R = pg.rotation(torch.randn(3, generator=g, dtype=_F64), 0.7)
    for what, vecs in cases:
        lmax = 4
        name = f"angular_invariants(vectors, {lmax}) for {what}"
        out = _as_float64(call(angular_invariants, vecs.clone(), lmax, name=name), name, (lmax + 1,))
        expected = _addition_theorem(vecs, lmax)
        if not torch.allclose(out, expected, atol=1e-9, rtol=1e-9):
            counts = torch.tensor([len(vecs) * (2 * l + 1) for l in range(lmax + 1)], dtype=_F64)
            if torch.allclose(out, counts, atol=1e-9):
                hint = ("you squared each neighbour's harmonics before summing: that only counts neighbours (2-body). "
                        "Sum over neighbours first (A_l), then square and sum over m")
            elif torch.allclose(out, expected.sqrt(), atol=1e-9):
                hint = "that is the norm |A_l|; the invariant B_l is its square"
            else:
                hint = "B_l = Σ_m (Σ_j Y_lm(r̂_j))² with component-normalized harmonics of the normalised vectors"
            fail(f"`{name}` is off by {float((out - expected).abs().max()):.2g}", hint)
        rotated = _as_float64(call(angular_invariants, vecs @ R.T, lmax, name=name), name, (lmax + 1,))
        if not torch.allclose(rotated, out, atol=1e-9):
            fail(f"`{name}` changes when the environment is rotated", "an invariant must not: sum over m of the squares")
    return "B_l = (2l+1) Σ_jk P_l(cos θ_jk) on 1, 2, 4 neighbours and a star, l = 0..4, rotation-invariant"


# ----------------------------------------------------------------------------------------------- q5
_Q5 = {"DistanceMPNN": None, "GatedMPNN": 8, "ProductMPNN": 4}


@exercise("how deep for a 7-chain?", hints=[
    "The distance-only model never separates a k-chain pair, whatever its depth: answer None.",
    "Section 3's table: GatedMPNN first separates a k-chain at depth k + 1, ProductMPNN at ⌊k/2⌋ + 1.",
    "k = 7: GatedMPNN 8, ProductMPNN 4 (7 // 2 + 1).",
])
def q5(depth_needed):
    """Check the dict {model name: first depth that separates a 7-chain pair, or None}."""
    if not isinstance(depth_needed, dict):
        fail(f"answer with a dict, got {type(depth_needed).__name__}",
             'depth_needed = {"DistanceMPNN": ..., "GatedMPNN": ..., "ProductMPNN": ...}')
    missing = [m for m in _Q5 if m not in depth_needed]
    if missing:
        fail(f"the dict has no entry for {', '.join(missing)}", "use the three model names as keys")
    for model, expected in _Q5.items():
        value = depth_needed[model]
        if value is ...:
            raise NotAttempted()
        if isinstance(value, float) and math.isinf(value):
            value = None
        got = _as_l_or_none(value, f'depth_needed["{model}"]')
        if got != expected:
            hint = {"DistanceMPNN": "every atom has the same neighbour distances in both chains: no depth helps (None)",
                    "GatedMPNN": "messages linear in h_j: one end's sign must reach the other end's bond, k + 1 layers",
                    "ProductMPNN": "A⊗A meets both signs in the middle of the chain: ⌊k/2⌋ + 1 layers"}[model]
            fail(f'depth_needed["{model}"] = {got}, expected something else for k = 7', hint)
    return "None, 8 and 4: distances never, linear messages k + 1, products ⌊k/2⌋ + 1"
