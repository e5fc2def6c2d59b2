"""Tests of the lesson 05 checkers: right answers pass, typical mistakes fail with a useful message,
stubs are "not attempted", and broken code is ❌ without raising."""
import math

import numpy as np
import pytest
import torch
from e3nn import o3

from e3teach.checks import lesson05 as check


def status(ex, *answers):
    return ex.run(*answers)


def not_implemented(*args):
    raise NotImplementedError


def broken(*args):
    raise KeyError("oops")


# --- q1: counting weights -------------------------------------------------------------------------
def test_q1_right_count_passes_as_int_float_numpy_and_tensor():
    n = o3.FullyConnectedTensorProduct(*check.Q1_IRREPS).weight_numel
    assert n == 104
    for answer in (n, float(n), np.int64(n), torch.tensor(n)):
        assert status(check.q1, answer).passed, answer


@pytest.mark.parametrize("key, words", [
    ("no_parity", "parity"),
    ("no_mul_out", "output channels"),
    ("paths", "number of paths"),
    ("everything", "selection rules"),
])
def test_q1_typical_mistakes_get_targeted_messages(key, words):
    wrong = check._q1_counts()[key]
    assert wrong != 104
    res = status(check.q1, wrong)
    assert res.status == "fail" and words in res.message


def test_q1_other_wrong_answers():
    res = status(check.q1, 105)
    assert res.status == "fail" and "not the number of weights" in res.message
    for bad in ("104", 104.5, [104], True):
        res = status(check.q1, bad)
        assert res.status == "fail" and "whole number" in res.message, bad
    assert status(check.q1, ...).status == "not attempted"


# --- q2: cross path ----------------------------------------------------------------------------------
def cross_right(x, y, w):
    return (w[0] * torch.cross(x[:, :3], y, dim=1) + w[1] * torch.cross(x[:, 3:], y, dim=1)) / 2


def test_q2_right_answer_passes():
    assert status(check.q2, cross_right).passed


@pytest.mark.parametrize("factor, words", [
    (math.sqrt(2), "FullTensorProduct"),
    (2.0, "no constant"),
    (-1.0, "sign"),
    (1.7, "constant is not"),
])
def test_q2_wrong_constants_are_named(factor, words):
    res = status(check.q2, lambda x, y, w: cross_right(x, y, w) * factor)
    assert res.status == "fail" and words in res.message, res.message


def test_q2_wrong_structure_shape_nan_and_exceptions():
    res = status(check.q2, lambda x, y, w: (w[0] * torch.cross(x[:, :3], y, dim=1)) / 2)
    assert res.status == "fail" and "not just by a constant" in res.message
    res = status(check.q2, lambda x, y, w: cross_right(x, y, w)[:, :2])
    assert res.status == "fail" and "shape" in res.message
    res = status(check.q2, lambda x, y, w: cross_right(x, y, w) * float("nan"))
    assert res.status == "fail" and "NaN" in res.message
    res = status(check.q2, broken)
    assert res.status == "fail" and "KeyError" in res.message
    res = status(check.q2, lambda x, y, w: "a string")
    assert res.status == "fail" and "torch.Tensor" in res.message


def test_q2_stubs_are_not_attempted():
    assert status(check.q2, ...).status == "not attempted"
    assert status(check.q2, not_implemented).status == "not attempted"


# --- q3: uvu path ------------------------------------------------------------------------------------
def uvu_right(x1, x2, w):
    C = o3.wigner_3j(2, 1, 1, dtype=torch.float64)
    out = torch.einsum("uv,ijk,nui,nvj->nuk", w.reshape(4, 2), C, x1.reshape(-1, 4, 5), x2.reshape(-1, 2, 3))
    return math.sqrt(3 / 2) * out.reshape(-1, 12)


def test_q3_right_answer_passes():
    assert status(check.q3, uvu_right).passed


def test_q3_float32_answer_passes():
    assert status(check.q3, lambda x1, x2, w: uvu_right(x1, x2, w).float()).passed


@pytest.mark.parametrize("factor, words", [
    (math.sqrt(2 / 3), "no normalization"),
    (1 / math.sqrt(3), "2l_out+1"),
    (math.sqrt(2), "fan-in"),
])
def test_q3_wrong_constants_are_named(factor, words):
    res = status(check.q3, lambda x1, x2, w: uvu_right(x1, x2, w) * factor)
    assert res.status == "fail" and words in res.message, res.message


def test_q3_weights_in_wrong_order():
    res = status(check.q3, lambda x1, x2, w: uvu_right(x1, x2, w.reshape(2, 4).T.reshape(-1)))
    assert res.status == "fail" and "wrong order" in res.message


def test_q3_shape_nan_exception_and_stubs():
    res = status(check.q3, lambda x1, x2, w: uvu_right(x1, x2, w).reshape(-1, 4, 3))
    assert res.status == "fail" and "shape" in res.message
    res = status(check.q3, lambda x1, x2, w: uvu_right(x1, x2, w) / 0 * 0)
    assert res.status == "fail" and "NaN" in res.message
    res = status(check.q3, lambda x1, x2, w: x1 @ x2)  # a shape error inside the learner's code
    assert res.status == "fail" and "RuntimeError" in res.message
    assert status(check.q3, ...).status == "not attempted"
    assert status(check.q3, not_implemented).status == "not attempted"


# --- q4: selection rules --------------------------------------------------------------------------
@pytest.mark.parametrize("answer", ["1o + 2o + 3o", "3o+2o+1o", "1x1o+2x2o+1x3o", o3.Irreps("1o+2o+3o"), ["1o", "2o", "3o"]])
def test_q4_right_answers_pass(answer):
    assert status(check.q4, answer).passed


@pytest.mark.parametrize("answer, words", [
    ("1e + 2e + 3e", "parity"),
    ("1o + 2o", "missing 3o"),
    ("0o + 1o + 2o + 3o", "not allowed: 0o"),
    ("1o + 2o + 3o + 2e", "not allowed: 2e"),
    ("banana", "could not read"),
])
def test_q4_wrong_answers(answer, words):
    res = status(check.q4, answer)
    assert res.status == "fail" and words in res.message, res.message


def test_q4_stub():
    assert status(check.q4, ...).status == "not attempted"


def test_checkers_never_raise_in_the_notebook(capsys, monkeypatch):
    monkeypatch.delenv("E3TEACH_STRICT", raising=False)
    check.q2(broken)
    check.q3(lambda *a: float("nan"))
    check.q4(42)
    out = capsys.readouterr().out
    assert out.count("❌") == 3


# --- issue 8 classes --------------------------------------------------------------------------------
from checker_stubs import (assert_checker_error, assert_learner_error, assert_missing_return,  # noqa: E402
                           assert_passes, returning_float32, returning_numpy)


@pytest.mark.parametrize("exercise, right", [(check.q2, cross_right), (check.q3, uvu_right)])
def test_float32_numpy_missing_return_and_errors(exercise, right):
    assert_passes(exercise, returning_float32(right))       # a constant right to float32 is the right constant
    assert_passes(exercise, returning_numpy(right))
    assert_missing_return(exercise)
    assert_learner_error(exercise)


@pytest.mark.parametrize("factor, words", [
    (math.sqrt(2 / 3), "forgot √α"),
    (math.sqrt(6), "Clebsch–Gordan factor"),
    (1 / math.sqrt(2), "wrong fan-in"),
    (math.sqrt(3 / 2), "instead of its square root"),
    (1 / math.sqrt(3), "2l_out+1"),
])
def test_q2_each_ratio_names_its_mistake(factor, words):
    res = status(check.q2, lambda x, y, w: cross_right(x, y, w) * factor)
    assert res.status == "fail" and words in res.message, res.message


@pytest.mark.parametrize("factor, words", [
    (math.sqrt(2), "forgot the fan-in"),
    (1 / math.sqrt(2), "4 = m1"),
    (1 / 2, "'uvw'"),
])
def test_q3_each_fan_in_mistake_is_named(factor, words):
    res = status(check.q3, lambda x1, x2, w: uvu_right(x1, x2, w) * factor)
    assert res.status == "fail" and words in res.message, res.message


def test_q1_numpy_integer_and_float():
    assert_passes(check.q1, np.int32(104))
    assert_passes(check.q1, np.float64(104.0))


@pytest.mark.parametrize("exercise, helper, answer", [
    (check.q1, "_q1_counts", 104), (check.q2, "_close_or_explain", cross_right),
    (check.q3, "_uvu_reference", uvu_right), (check.q4, "_allowed", "1o + 2o + 3o")])
def test_exception_in_the_checker_is_reported_as_such(monkeypatch, exercise, helper, answer):
    assert_checker_error(monkeypatch, exercise, check, helper, answer)


def test_q2_cross_without_dim_says_which_batch_size_failed():
    """Issue 19: torch.cross without dim= is right for N = 7 and crosses the batch axis when N = 3."""
    def no_dim(x, y, w):
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return (w[0] * torch.cross(x[:, :3], y) + w[1] * torch.cross(x[:, 3:], y)) / 2
    res = check.q2.run(no_dim)
    assert res.status == "fail" and "N = 7" in res.message and "N = 3" in res.message and "dim=1" in res.message, res
