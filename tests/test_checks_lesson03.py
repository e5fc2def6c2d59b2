"""Tests of the lesson 03 checkers: right answers pass, typical mistakes fail with a useful message,
stubs are "not attempted", and broken code is ❌ without raising."""
import pytest
import torch
from e3nn import o3

import numpy as np

from checker_stubs import (assert_checker_error, assert_float32_named, assert_learner_error, assert_missing_return,
                           assert_passes, crashes, returning_float32, returning_numpy, status, stub_raise)
from e3teach.checks import lesson03 as check




def returns_nan(x, *args):
    return torch.full((x.shape[0], 5, 3), float("nan"), dtype=torch.float64)


def returns_wrong_shape(x, *args):
    return torch.zeros(2, 2, dtype=torch.float64)


# --- q1 --------------------------------------------------------------------------------------------

Q1_RIGHT = {"dim": 22, "3x1o": (2, 11), "2e": (11, 16), "third 1o": (8, 11), "second 1e": (19, 22)}


def test_q1_right_answer_and_other_range_spellings_pass():
    assert status(check.q1, dict(Q1_RIGHT))[0] == "pass"
    spelled = dict(Q1_RIGHT, **{"3x1o": slice(2, 11), "2e": range(11, 16), "third 1o": [8, 11]})
    assert status(check.q1, spelled)[0] == "pass"


def test_q1_matches_e3nn():
    irreps = o3.Irreps(check.Q1_IRREPS)
    assert irreps.dim == Q1_RIGHT["dim"]
    assert (irreps.slices()[1].start, irreps.slices()[1].stop) == Q1_RIGHT["3x1o"]


@pytest.mark.parametrize("key, value, words", [
    ("dim", 8, "dimension"),
    ("3x1o", (2, 10), "stop is excluded"),
    ("2e", (12, 17), "off by one"),
    ("third 1o", (2, 5), "not where that block lives"),
    ("second 1e", "19:22", "pair of integers"),
])
def test_q1_typical_mistakes(key, value, words):
    st, msg = status(check.q1, dict(Q1_RIGHT, **{key: value}))
    assert st == "fail" and words in msg, msg


def test_q1_stubs_and_partial_answers():
    assert status(check.q1, ...)[0] == "not attempted"
    assert status(check.q1, {k: ... for k in Q1_RIGHT})[0] == "not attempted"
    assert status(check.q1, dict(Q1_RIGHT, **{"2e": ...}))[0] == "not attempted"      # the rest is right
    assert status(check.q1, dict(Q1_RIGHT, **{"2e": ..., "dim": 9}))[0] == "fail"     # a wrong answer shows
    st, msg = status(check.q1, {"dim": 22})
    assert st == "fail" and "missing" in msg
    assert status(check.q1, [22, (2, 11)])[0] == "fail"


# --- q2 --------------------------------------------------------------------------------------------

Q2_RIGHT = {"torque": "1e", "electric dipole moment": "1o", "magnetic dipole moment": "1e",
            "kinetic energy": "0e", "helicity": "0o", "moment of inertia tensor": "0e + 2e"}


def test_q2_right_answer_passes_in_any_spelling():
    assert status(check.q2, dict(Q2_RIGHT))[0] == "pass"
    spelled = dict(Q2_RIGHT, **{"moment of inertia tensor": "2e+0e", "torque": o3.Irreps("1x1e"),
                                "helicity": o3.Irrep("0o")})
    assert status(check.q2, spelled)[0] == "pass"


@pytest.mark.parametrize("key, value, words", [
    ("torque", "1o", "wrong parity"),
    ("helicity", "0e", "wrong parity"),
    ("moment of inertia tensor", "0e + 1e + 2e", "component"),
    ("electric dipole moment", "pseudovector", "could not read"),
    ("kinetic energy", 0, "e3nn string"),
])
def test_q2_typical_mistakes(key, value, words):
    st, msg = status(check.q2, dict(Q2_RIGHT, **{key: value}))
    assert st == "fail" and words in msg, msg


def test_q2_parity_hint_explains_the_physics():
    st, msg = status(check.q2, dict(Q2_RIGHT, torque="1o"))
    assert "cross product" in msg


def test_q2_stubs_and_partial_answers():
    assert status(check.q2, ...)[0] == "not attempted"
    assert status(check.q2, {k: ... for k in Q2_RIGHT})[0] == "not attempted"
    assert status(check.q2, dict(Q2_RIGHT, helicity=...))[0] == "not attempted"
    assert status(check.q2, dict(Q2_RIGHT, helicity=..., torque="1o"))[0] == "fail"
    st, msg = status(check.q2, {"torque": "1e"})
    assert st == "fail" and "missing" in msg


# --- q3 --------------------------------------------------------------------------------------------

def l1_blocks(x, irreps):
    irreps = o3.Irreps(irreps)
    parts = [x[:, sl].reshape(x.shape[0], mul, 3) for (mul, ir), sl in zip(irreps, irreps.slices()) if ir.l == 1]
    return torch.cat(parts, dim=1) if parts else x.new_zeros(x.shape[0], 0, 3)


def l1_component_major(x, irreps):
    irreps = o3.Irreps(irreps)
    parts = [x[:, sl].reshape(x.shape[0], 3, mul).transpose(1, 2)
             for (mul, ir), sl in zip(irreps, irreps.slices()) if ir.l == 1]
    return torch.cat(parts, dim=1) if parts else x.new_zeros(x.shape[0], 0, 3)


def only_1o(x, irreps):
    irreps = o3.Irreps(irreps)
    parts = [x[:, sl].reshape(x.shape[0], mul, 3) for (mul, ir), sl in zip(irreps, irreps.slices())
             if ir == o3.Irrep("1o")]
    return torch.cat(parts, dim=1) if parts else x.new_zeros(x.shape[0], 0, 3)


def no_empty_case(x, irreps):
    irreps = o3.Irreps(irreps)
    return torch.cat([x[:, sl].reshape(x.shape[0], mul, 3) for (mul, ir), sl in zip(irreps, irreps.slices())
                      if ir.l == 1], dim=1)


def reversed_order(x, irreps):
    return l1_blocks(x, irreps).flip(1)


@pytest.mark.parametrize("answer, words", [
    (l1_component_major, "(3, mul)"),
    (only_1o, "1e blocks are missing"),
    (no_empty_case, "no l = 1 at all"),
    (reversed_order, "right numbers"),
])
def test_q3_typical_mistakes(answer, words):
    st, msg = status(check.q3, answer)
    assert st == "fail" and words in msg, msg


def test_q3_right_answer_and_stubs():
    assert status(check.q3, l1_blocks)[0] == "pass"
    for stub in (stub_raise, ...):
        assert status(check.q3, stub)[0] == "not attempted"


@pytest.mark.parametrize("broken, words", [(crashes, "KeyError"), (returns_nan, "NaN"),
                                           (returns_wrong_shape, "shape")])
def test_q3_broken_code_fails_without_raising(broken, words):
    st, msg = status(check.q3, broken)
    assert st == "fail" and words in msg, msg


# --- q4 --------------------------------------------------------------------------------------------

def triple(a, b, c):
    return (a * torch.linalg.cross(b, c, dim=-1)).sum(-1, keepdim=True)


@pytest.mark.parametrize("answer, words", [
    (lambda a, b, c: (a * torch.linalg.cross(b, c, dim=-1)).sum(-1), "keepdim"),
    (lambda a, b, c: (a * b).sum(-1, keepdim=True), "0e, not a 0o"),
    (lambda a, b, c: torch.zeros(a.shape[0], 1, dtype=a.dtype), "zero"),
    (lambda a, b, c: (b * torch.linalg.cross(a, c, dim=-1)).sum(-1, keepdim=True), "opposite sign"),
    (lambda a, b, c: 2 * triple(a, b, c), "not the triple product"),
    (lambda a, b, c: a[:, :1] * triple(a, b, c), "does not transform as 0o"),
])
def test_q4_typical_mistakes(answer, words):
    st, msg = status(check.q4, answer)
    assert st == "fail" and words in msg, msg


def test_q4_right_answer_and_stubs():
    assert status(check.q4, triple)[0] == "pass"
    assert status(check.q4, lambda a, b, c: torch.linalg.det(torch.stack([a, b, c], dim=-2))[:, None])[0] == "pass"
    for stub in (stub_raise, ...):
        assert status(check.q4, stub)[0] == "not attempted"


@pytest.mark.parametrize("broken, words", [(crashes, "KeyError"),
                                           (lambda a, b, c: torch.full((6, 1), float("nan")), "NaN"),
                                           (lambda a, b, c: torch.zeros(2, 2), "shape")])
def test_q4_broken_code_fails_without_raising(broken, words):
    st, msg = status(check.q4, broken)
    assert st == "fail" and words in msg, msg


def test_not_attempted_under_strict_does_raise(monkeypatch):
    monkeypatch.setenv("E3TEACH_STRICT", "1")
    with pytest.raises(AssertionError):
        check.q4(stub_raise)


def test_value_exercises_say_which_stub_to_replace():
    for exercise, right in ((check.q1, Q1_RIGHT), (check.q2, Q2_RIGHT)):
        res = exercise.run({k: ... for k in right})
        assert res.status == "not attempted" and "replace each `...`" in res.message


# --- issue 8 classes --------------------------------------------------------------------------------
def test_q1_numpy_integers_and_tensors_pass():
    answers = {k: (np.int64(v[0]), np.int64(v[1])) if isinstance(v, tuple) else np.int64(v) for k, v in Q1_RIGHT.items()}
    assert_passes(check.q1, answers)
    answers = {k: torch.tensor(v) for k, v in Q1_RIGHT.items()}
    assert_passes(check.q1, answers)
    res = check.q1.run({**Q1_RIGHT, "dim": 22.5})
    assert res.status == "fail" and "whole number" in res.message


def test_q3_float32_and_numpy_answers_pass():
    assert_passes(check.q3, returning_float32(l1_blocks))
    assert_passes(check.q3, returning_numpy(l1_blocks))


def test_q4_float32_answer_is_named_and_numpy_passes():
    res = check.q4.run(returning_float32(triple))
    assert_float32_named(res)
    assert "0e" not in res.message and "transform" not in res.message.split(":")[0]
    assert_passes(check.q4, returning_numpy(triple))


@pytest.mark.parametrize("exercise", [check.q3, check.q4])
def test_missing_return_and_learner_errors(exercise):
    assert_missing_return(exercise)
    assert_learner_error(exercise)


def test_q4_learner_error_inside_the_equivariance_check_is_the_learners():
    def fails_on_second_call(a, b, c, calls=[]):
        calls.append(1)
        if len(calls) > 1:
            raise ValueError("second call")
        return triple(a, b, c)
    res = check.q4.run(fails_on_second_call)
    assert res.status == "fail" and "your code raised ValueError" in res.message


@pytest.mark.parametrize("exercise, helper, answer", [
    (check.q1, "_q1_expected", Q1_RIGHT), (check.q2, "_degrees", {**Q2_RIGHT, "torque": "1o"}),
    (check.q3, "_l1_reference", l1_blocks), (check.q4, "check_equivariance", triple)])
def test_exception_in_the_checker_is_reported_as_such(monkeypatch, exercise, helper, answer):
    assert_checker_error(monkeypatch, exercise, check, helper, answer)


# --- q5: Schur's lemma --------------------------------------------------------------------------------
def schur_count(irreps_in, irreps_out):
    irreps_in, irreps_out = o3.Irreps(irreps_in), o3.Irreps(irreps_out)
    return sum(m1 * m2 for m1, ir1 in irreps_in for m2, ir2 in irreps_out if ir1 == ir2)


def null_space_count(irreps_in, irreps_out):
    from e3teach.schur import count_equivariant_linear_maps
    return count_equivariant_linear_maps(irreps_in, irreps_out)


def ignores_parity(irreps_in, irreps_out):
    irreps_in, irreps_out = o3.Irreps(irreps_in), o3.Irreps(irreps_out)
    return sum(m1 * m2 for m1, ir1 in irreps_in for m2, ir2 in irreps_out if ir1.l == ir2.l)


def adds_multiplicities(irreps_in, irreps_out):
    irreps_in, irreps_out = o3.Irreps(irreps_in), o3.Irreps(irreps_out)
    return sum(m1 + m2 for m1, ir1 in irreps_in for m2, ir2 in irreps_out if ir1 == ir2)


def entry_by_entry(irreps_in, irreps_out):
    """Right only when the entries line up one to one (the easy case)."""
    return sum(m1 * m2 for (m1, ir1), (m2, ir2) in zip(o3.Irreps(irreps_in), o3.Irreps(irreps_out)) if ir1 == ir2)


def without_strings(irreps_in, irreps_out):
    return sum(m1 * m2 for m1, ir1 in irreps_in for m2, ir2 in irreps_out if ir1 == ir2)


def test_q5_cases_match_e3nn_and_the_null_space():
    for irreps_in, irreps_out in check.Q5_CASES:
        assert o3.Linear(irreps_in, irreps_out).weight_numel == schur_count(irreps_in, irreps_out) == \
            null_space_count(irreps_in, irreps_out)
    assert any(schur_count(a, b) == 0 for a, b in check.Q5_CASES)              # a parity mismatch with no map


@pytest.mark.parametrize("answer", [schur_count, null_space_count, returning_numpy(lambda a, b: torch.tensor(schur_count(a, b))),
                                    lambda a, b: np.int64(schur_count(a, b)), lambda a, b: float(schur_count(a, b))])
def test_q5_right_answers_pass(answer):
    assert_passes(check.q5, answer)


@pytest.mark.parametrize("answer, words", [
    (ignores_parity, "parity"),
    (adds_multiplicities, "multiply"),
    (entry_by_entry, "expected"),
    (without_strings, "your code raised"),
    (lambda a, b: 0.5, "whole number"),
    (lambda a, b: "7", "whole number"),
    (lambda a, b: torch.ones(2), "one number"),
])
def test_q5_typical_mistakes(answer, words):
    st, msg = status(check.q5, answer)
    assert st == "fail" and words in msg, msg


def test_q5_stub_missing_return_and_errors(monkeypatch):
    assert status(check.q5, stub_raise)[0] == "not attempted"
    assert_missing_return(check.q5)
    assert_learner_error(check.q5)
    assert_checker_error(monkeypatch, check.q5, check, "_q5_expected", schur_count)


def test_q3_q5_looping_over_an_irreps_string_points_to_o3_irreps():
    """Issue 19: code that iterates its irreps argument works on o3.Irreps and breaks on a string."""
    from e3nn import o3

    def l1_no_conversion(x, irreps):
        parts = [x[:, sl].reshape(len(x), mul, 3) for (mul, ir), sl in zip(irreps, irreps.slices()) if ir.l == 1]
        return torch.cat(parts, dim=1) if parts else x.new_zeros(len(x), 0, 3)

    def count_no_conversion(irreps_in, irreps_out):
        return sum(m1 * m2 for m1, ir1 in irreps_in for m2, ir2 in irreps_out if ir1 == ir2)

    for exercise, answer in ((check.q3, l1_no_conversion), (check.q5, count_no_conversion)):
        res = exercise.run(answer)
        assert res.status == "fail" and "o3.Irreps(irreps)" in res.message and "string" in res.message, str(res)
    assert check.q3.run(lambda x, irreps: l1_no_conversion(x, o3.Irreps(irreps))).passed
