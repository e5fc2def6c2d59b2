import numpy as np
import pytest
import torch

from checker_stubs import (assert_checker_error, assert_learner_error, assert_missing_return, assert_passes,
                           returning_float32, returning_numpy)
from e3teach import point_groups as pg
from e3teach.checks import lesson10b as check


def stub(*args, **kwargs):
    raise NotImplementedError


# --- q1: degeneracies from Schur's lemma -----------------------------------------------------------
def schur_average(group, irreps, average=True):
    D = group.D(irreps)
    A = torch.randn(D.shape[1], D.shape[1], generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    A = A + A.T
    if not average:
        return D[1] @ A @ D[1].T
    return torch.einsum("gij,jk,glk->il", D, A, D) / group.order


def good_level_sizes(group, irreps):
    return sorted(m for _, m in pg.energy_levels(schur_average(group, irreps)))


def test_q1():
    assert check.q1.run(good_level_sizes).passed
    assert check.q1.run(lambda G, ir: good_level_sizes(G, ir)[::-1]).passed             # any order
    assert check.q1.run(lambda G, ir: tuple(good_level_sizes(G, ir))).passed
    assert check.q1.run(lambda G, ir: torch.tensor(good_level_sizes(G, ir))).passed
    assert check.q1.run(lambda G, ir: torch.tensor(good_level_sizes(G, ir), dtype=torch.float32)).passed
    # no group average: a random symmetric matrix has no degenerate levels
    res = check.q1.run(lambda G, ir: sorted(m for _, m in pg.energy_levels(schur_average(G, ir, average=False))))
    assert res.status == "fail" and "average" in res.message and "Oh" in res.message
    # too tight a tolerance splits the degenerate levels (round-off), too loose merges them
    res = check.q1.run(lambda G, ir: [1] * G.D(ir).shape[1])
    assert res.status == "fail" and "fewer degeneracies" in res.message
    res = check.q1.run(lambda G, ir: [G.D(ir).shape[1]])
    assert res.status == "fail" and "merged" in res.message
    res = check.q1.run(lambda G, ir: [2, 2])
    assert res.status == "fail" and "add up" in res.message
    # energy levels instead of sizes, a 2-d tensor, a number, a non-integer
    res = check.q1.run(lambda G, ir: pg.energy_levels(schur_average(G, ir)))
    assert res.status == "fail" and "energy_levels" in res.message
    assert "shape" in check.q1.run(lambda G, ir: torch.ones(2, 2)).message
    assert "list" in check.q1.run(lambda G, ir: 5).message
    assert "whole number" in check.q1.run(lambda G, ir: [2.5, 2.5]).message
    assert check.q1.run(lambda G, ir: [float("nan")]).status == "fail"
    assert check.q1.run(stub).status == "not attempted"
    assert check.q1.run(...).status == "not attempted"


# --- q2: piezoelectric ----------------------------------------------------------------------------
def good_piezo(group):
    return pg.tensor_component_count(group, "ijk=ikj", i="1o")


def test_q2():
    assert check.q2.run(good_piezo).passed
    res = check.q2.run(lambda G: pg.tensor_component_count(G, "ijk=ikj", i="1e"))
    assert res.status == "fail" and "1o" in res.message
    res = check.q2.run(lambda G: pg.tensor_component_count(G, "ijk", i="1o"))
    assert res.status == "fail"
    assert check.q2.run(lambda G: 27 if G.name == "C1" else good_piezo(G)).message.count("27") >= 1
    assert check.q2.run(stub).status == "not attempted"
    assert check.q2.run(lambda G: float("nan")).status == "fail"
    assert "ValueError" in check.q2.run(lambda G: int("x")).message


# ---- the classes of answers of issue 8
FUNCTIONS = [(check.q1, good_level_sizes), (check.q2, good_piezo)]


@pytest.mark.parametrize("q, right", FUNCTIONS)
def test_float32_numpy_missing_return_and_learner_errors(q, right):
    assert_passes(q, returning_float32(right))          # sizes and counts are whole numbers: float32 is enough
    assert_passes(q, returning_numpy(right))
    assert_missing_return(q)
    assert_learner_error(q)


def test_numpy_integers_and_near_integer_floats():
    assert_passes(check.q1, lambda g, ir: np.array(good_level_sizes(g, ir), dtype=np.int64))
    assert_passes(check.q1, lambda g, ir: [np.int64(m) for m in good_level_sizes(g, ir)])
    assert_passes(check.q2, lambda g: np.int32(good_piezo(g)))
    res = check.q2.run(lambda g: good_piezo(g) + 0.5)
    assert res.status == "fail" and "not an integer" in res.message and "matrix_rank" in res.message


@pytest.mark.parametrize("q, helper, answer", [(check.q1, "degeneracies", good_level_sizes),
                                               (check.q2, "point_group", good_piezo)])
def test_exception_in_the_checker_is_reported_as_such(monkeypatch, q, helper, answer):
    assert_checker_error(monkeypatch, q, check.pg, helper, answer)


def test_q1_unsymmetrized_random_matrix_fails_on_groups_with_complex_irreps():
    """Issue 19: right only for groups whose irreps are all real; C4's 1o and S4's 2e separate it."""
    def unsymmetrized(group, irreps):
        D = group.D(irreps)
        A = torch.randn(D.shape[1], D.shape[1], dtype=torch.float64, generator=torch.Generator().manual_seed(1))
        H = torch.einsum("gij,jk,glk->il", D, A, D) / len(D)
        return sorted(m for _, m in pg.energy_levels(H))
    res = check.q1.run(unsymmetrized)
    assert res.status == "fail" and "C4" in res.message and "A = B + B.T" in res.message, res
