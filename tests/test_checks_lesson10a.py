import torch
from e3nn import o3

from e3teach import point_groups as pg
from e3teach.checks import lesson10a as check


def stub(*args, **kwargs):
    raise NotImplementedError


# --- q1: closure ----------------------------------------------------------------------------------
def good_close(generators):
    return pg.generate(generators)


def test_q1():
    assert check.q1.run(good_close).passed
    # one pass of products only: not closed
    def one_pass(gens):
        els = [torch.eye(3, dtype=torch.float64)] + [g for g in gens]
        return torch.stack(els)
    res = check.q1.run(one_pass)
    assert res.status == "fail" and "missing" in res.message
    dup = check.q1.run(lambda gens: torch.cat([pg.generate(gens), pg.generate(gens)[:1]]))
    assert dup.status == "fail" and "twice" in dup.message
    extra = check.q1.run(lambda gens: torch.cat([pg.generate(gens), -pg.generate(gens)]).unique(dim=0))
    assert extra.status == "fail"
    assert check.q1.run(stub).status == "not attempted"
    assert check.q1.run(...).status == "not attempted"
    assert "ZeroDivisionError" in check.q1.run(lambda g: 1 / 0).message
    assert "NaN" in check.q1.run(lambda g: pg.generate(g) * float("nan")).message
    assert "shape" in check.q1.run(lambda g: pg.generate(g).reshape(-1, 9)).message
    assert "Tensor" in check.q1.run(lambda g: [m for m in pg.generate(g)]).message


# --- q2: invariant harmonics ----------------------------------------------------------------------
def good_n_invariant(group, l):
    D = group.D(o3.Irrep(l, (-1) ** l))
    return round(float(D.diagonal(dim1=1, dim2=2).sum(-1).mean()))


def test_q2():
    assert check.q2.run(good_n_invariant).passed
    assert check.q2.run(lambda G, l: torch.tensor(good_n_invariant(G, l))).passed     # tensor accepted

    def even_parity(group, l):
        return round(float(group.D(o3.Irrep(l, 1)).diagonal(dim1=1, dim2=2).sum(-1).mean()))
    res = check.q2.run(even_parity)
    assert res.status == "fail" and "parity" in res.message
    assert check.q2.run(lambda G, l: 2 * l + 1).status == "fail"
    assert "not an integer" in check.q2.run(lambda G, l: 0.5).message
    assert check.q2.run(lambda G, l: float("nan")).status == "fail"
    assert "one number" in check.q2.run(lambda G, l: torch.zeros(3)).message
    assert check.q2.run(stub).status == "not attempted"
    assert "KeyError" in check.q2.run(lambda G, l: {}[l]).message


# --- q3: allene -----------------------------------------------------------------------------------
def test_q3_allene_is_d2d():
    allene = torch.tensor([[0, 0, 0], [0, 0, 1.31], [0, 0, -1.31], [0.93, 0, 1.85], [-0.93, 0, 1.85],
                           [0, 0.93, -1.85], [0, -0.93, -1.85]])
    assert pg.identify(allene, list("CCCHHHH")).name == "D2d"


def test_q3():
    for ok in ["D2d", "d2d", "D_{2d}", "$D_{2d}$", "D₂d", " D2D "]:
        assert check.q3.run(ok).passed, ok
    res = check.q3.run("D2h")
    assert res.status == "fail" and "perpendicular" in res.message
    assert check.q3.run("C2v").status == "fail"
    assert "not a Schoenflies" in check.q3.run("X7").message
    assert check.q3.run(3).status == "fail"
    assert check.q3.run(...).status == "not attempted"


# ---- issue 8 classes
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from checker_stubs import (assert_checker_error, assert_learner_error, assert_missing_return,  # noqa: E402
                           assert_passes, returning_float32, returning_numpy)

FUNCTIONS = [(check.q1, good_close), (check.q2, good_n_invariant)]


@pytest.mark.parametrize("q, right", FUNCTIONS)
def test_float32_numpy_missing_return_and_learner_errors(q, right):
    assert_passes(q, returning_float32(right))          # group elements to 1e-6 and counts: float32 is enough
    assert_passes(q, returning_numpy(right))
    assert_missing_return(q)
    assert_learner_error(q)


def test_numpy_integers_and_near_integer_floats():
    assert_passes(check.q2, lambda g, l: np.int64(good_n_invariant(g, l)))
    assert_passes(check.q2, lambda g, l: float(good_n_invariant(g, l)) + 1e-9)     # a trace mean, not rounded


def test_q3_numpy_string_passes():
    assert_passes(check.q3, np.str_("D2d"))


@pytest.mark.parametrize("q, helper, answer", [
    (check.q1, "generate", good_close), (check.q2, "count_invariant_harmonics", good_n_invariant)])
def test_exception_in_the_checker_is_reported_as_such(monkeypatch, q, helper, answer):
    assert_checker_error(monkeypatch, q, check.pg, helper, answer)


def test_q3_exception_in_the_checker(monkeypatch):
    assert_checker_error(monkeypatch, check.q3, check, "normalize_schoenflies", "D2d", shown="'D2d'")
