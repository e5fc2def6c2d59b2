"""Tests of the lesson-15 checkers: right answers pass (also in NumPy), typical mistakes fail with a useful
message, stubs are "not attempted", broken code is ❌ and a bug in the checker is ⚠️, without raising."""
import math

import numpy as np
import torch
from e3nn import o3

from checker_stubs import (assert_checker_error, assert_fails, assert_float32_named, assert_learner_error,
                           assert_missing_return, assert_not_attempted, assert_passes, returning_float32,
                           returning_numpy, stub_raise)
from e3teach import expressivity as ex
from e3teach.checks import lesson15 as check

F64 = torch.float64


# ----------------------------------------------------------------------------- q1: the signal
def good_signal(points, l):
    return o3.spherical_harmonics(l, points, normalize=True, normalization="component").sum(dim=0)


def test_q1_right_numpy_and_stubs():
    assert_passes(check.q1, good_signal)
    assert_passes(check.q1, returning_numpy(good_signal))
    assert_not_attempted(check.q1, stub_raise)
    assert_not_attempted(check.q1, ...)
    assert_missing_return(check.q1)
    assert_learner_error(check.q1)


def test_q1_typical_mistakes():
    integral = lambda p, l: o3.spherical_harmonics(l, p, normalize=True, normalization="integral").sum(0)
    assert_fails(check.q1, integral, words="integral")
    norm = lambda p, l: o3.spherical_harmonics(l, p, normalize=True, normalization="norm").sum(0)
    assert_fails(check.q1, norm, words="norm")
    # right only on the easy case: points on the unit circle (the first case) pass, raw points do not
    raw = lambda p, l: o3.spherical_harmonics(l, p, normalize=False, normalization="component").sum(0)
    assert_fails(check.q1, raw, words="normalize=True")
    per_point = lambda p, l: o3.spherical_harmonics(l, p, normalize=True, normalization="component")
    assert_fails(check.q1, per_point, words="sum over the points")
    assert_float32_named(check.q1.run(returning_float32(good_signal)))
    assert_fails(check.q1, lambda p, l: good_signal(p, l) * float("nan"), words="NaN")
    assert_fails(check.q1, lambda p, l: good_signal(p, l).tolist(), words="torch.Tensor")


def test_q1_checker_bug_is_not_blamed_on_the_learner(monkeypatch):
    assert_checker_error(monkeypatch, check.q1, ex, "sh_signal", good_signal)


# ----------------------------------------------------------------------------- q2: first l
def good_first_l(points, R, lmax=12):
    for l in range(lmax + 1):
        if (good_signal(points, l) - good_signal(points @ R.T, l)).abs().max() > 1e-8:
            return l
    return None


def test_q2_right_numpy_and_stubs():
    assert_passes(check.q2, good_first_l)
    assert_passes(check.q2, lambda *a: np.int64(good_first_l(*a)) if good_first_l(*a) is not None else None)
    assert_passes(check.q2, lambda *a: torch.tensor(good_first_l(*a)) if good_first_l(*a) is not None else None)
    assert_not_attempted(check.q2, stub_raise)
    assert_learner_error(check.q2)


def test_q2_typical_mistakes():
    def exact_compare(points, R, lmax=12):           # == instead of a tolerance: round-off counts as a difference
        for l in range(lmax + 1):
            if not torch.equal(good_signal(points, l), good_signal(points @ R.T, l)):
                return l
        return None
    res = check.q2.run(exact_compare)
    assert res.status == "fail" and "tolerance" in res.message, res
    # right only on the easy case: the fold of a star turned by π/n is its number of points
    assert_fails(check.q2, lambda points, R, lmax=12: len(points), words="expected")
    assert_fails(check.q2, lambda points, R, lmax=12: good_first_l(points, R.T @ R, lmax), words="Rotate")
    # forgetting `return None` at the end is fine: None is the answer there
    def no_final_return(points, R, lmax=12):
        for l in range(lmax + 1):
            if (good_signal(points, l) - good_signal(points @ R.T, l)).abs().max() > 1e-8:
                return l
    assert_passes(check.q2, no_final_return)
    assert_fails(check.q2, lambda *a: "3", words="whole number")
    assert_fails(check.q2, lambda *a: 2.5, words="whole number")


# ----------------------------------------------------------------------------- q3: k-chain
def good_chain(k, same_side):
    first = [0.8 if same_side else -0.8, -0.6, 0.0]
    return torch.tensor([first] + [[0.0, float(i), 0.0] for i in range(k)] + [[0.8, k - 1 + 0.6, 0.0]], dtype=F64)


def test_q3_right_float32_numpy_moved_and_stubs():
    assert_passes(check.q3, good_chain)
    assert_passes(check.q3, returning_float32(good_chain))           # positions: float32 is enough
    assert_passes(check.q3, returning_numpy(good_chain))
    R = torch.tensor([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]], dtype=F64)
    assert_passes(check.q3, lambda k, s: good_chain(k, s) @ R.T + 3.0)  # any placement
    assert_not_attempted(check.q3, stub_raise)
    assert_missing_return(check.q3)
    assert_learner_error(check.q3)


def test_q3_typical_mistakes():
    assert_fails(check.q3, lambda k, s: good_chain(k, not s), words="other member")
    assert_fails(check.q3, lambda k, s: good_chain(4, s), words="shape")            # right for k = 4 only
    assert_fails(check.q3, lambda k, s: good_chain(k, s)[torch.randperm(k + 2, generator=torch.Generator().manual_seed(0))],
                 words="path order")
    def end_towards_chain(k, s):                      # offset (±0.8, +0.6): the end atom bonds to two chain atoms
        p = good_chain(k, s)
        p[0, 1] = 0.6
        return p
    assert_fails(check.q3, end_towards_chain)
    assert_fails(check.q3, lambda k, s: good_chain(k, s).long(), words="dtype")


# ----------------------------------------------------------------------------- q4: 3-body invariants
def good_invariants(vectors, lmax):
    return torch.stack([good_signal(vectors, l).pow(2).sum() for l in range(lmax + 1)])


def test_q4_right_numpy_and_stubs():
    assert_passes(check.q4, good_invariants)
    assert_passes(check.q4, returning_numpy(good_invariants))
    assert_not_attempted(check.q4, stub_raise)
    assert_missing_return(check.q4)
    assert_learner_error(check.q4)


def test_q4_typical_mistakes():
    # right only on the easy case (one neighbour): square before summing = 2-body, counts neighbours
    square_first = lambda v, lmax: torch.stack([o3.spherical_harmonics(l, v, True, normalization="component")
                                                .pow(2).sum() for l in range(lmax + 1)])
    assert_fails(check.q4, square_first, words="2-body")
    assert_fails(check.q4, lambda v, lmax: good_invariants(v, lmax).sqrt(), words="square")
    assert_float32_named(check.q4.run(returning_float32(good_invariants)))
    assert_fails(check.q4, lambda v, lmax: good_invariants(v, lmax - 1), words="shape")


def test_q4_reference_is_the_addition_theorem():
    v = torch.randn(5, 3, dtype=F64, generator=torch.Generator().manual_seed(1))
    assert torch.allclose(check._addition_theorem(v, 4), good_invariants(v, 4), atol=1e-10)


# ----------------------------------------------------------------------------- q5: depth for a 7-chain
def test_q5():
    assert_passes(check.q5, {"DistanceMPNN": None, "GatedMPNN": 8, "ProductMPNN": 4})
    assert_passes(check.q5, {"DistanceMPNN": math.inf, "GatedMPNN": np.int64(8), "ProductMPNN": 4.0})
    assert_not_attempted(check.q5, ...)
    assert_not_attempted(check.q5, {"DistanceMPNN": ..., "GatedMPNN": ..., "ProductMPNN": ...})
    # the GWL count for every equivariant model: right for ProductMPNN only
    assert_fails(check.q5, {"DistanceMPNN": None, "GatedMPNN": 4, "ProductMPNN": 4}, words="k + 1")
    assert_fails(check.q5, {"DistanceMPNN": 8, "GatedMPNN": 8, "ProductMPNN": 4}, words="None")
    assert_fails(check.q5, {"GatedMPNN": 8, "ProductMPNN": 4}, words="no entry")
    assert_fails(check.q5, [None, 8, 4], words="dict")


def test_q2_loop_that_stops_before_lmax_wrong_side_and_missing_return():
    """Issue 19: a case whose answer is lmax; R @ points; a loop without `return`."""
    def stops_early(points, R, lmax=12):
        for l in range(lmax):
            if (good_signal(points, l) - good_signal(points @ R.T, l)).abs().max() > 1e-8:
                return l
        return None
    assert_fails(check.q2, stops_early, words="range(lmax + 1)")

    def wrong_side(points, R, lmax=12):
        rotated = R @ points
        for l in range(lmax + 1):
            if (good_signal(points, l) - good_signal(rotated, l)).abs().max() > 1e-8:
                return l
        return None
    assert_fails(check.q2, wrong_side, words="R @ points")

    def no_return(points, R, lmax=12):
        for l in range(lmax + 1):
            if (good_signal(points, l) - good_signal(points @ R.T, l)).abs().max() > 1e-8:
                l  # noqa: B018 - the missing `return`
    assert_fails(check.q2, no_return, words="`return l` missing")
