"""Tests of the lesson-06 checkers: right answers pass, typical mistakes fail with a useful message,
stubs are "not attempted", and broken code (exceptions, NaN, wrong shapes) is ❌ without raising."""
import torch
from e3nn import io, o3

import e3teach
from checker_stubs import crashes, status, stub_raise
from e3teach.checks import lesson06 as check




# ----------------------------------------------------------------------------- q1
def decompose(T):
    iso = T.trace() / 3 * torch.eye(3, dtype=T.dtype)
    return iso, (T - T.T) / 2, (T + T.T) / 2 - iso


def test_q1_right_and_wrong():
    assert status(check.q1, decompose)[0] == "pass"
    s, msg = status(check.q1, lambda T: (T.trace() * torch.eye(3, dtype=T.dtype), (T - T.T) / 2, (T + T.T) / 2 - T.trace() / 3 * torch.eye(3, dtype=T.dtype)))
    assert s == "fail" and "add up" in msg
    s, msg = status(check.q1, lambda T: (T.trace() / 3 * torch.eye(3, dtype=T.dtype), (T - T.T) / 2, (T + T.T) / 2))
    assert s == "fail" and "add up" in msg
    s, msg = status(check.q1, lambda T: decompose(T)[:2])
    assert s == "fail" and "three tensors" in msg
    s, msg = status(check.q1, lambda T: (T.trace(), *decompose(T)[1:]))
    assert s == "fail" and "shape" in msg


def test_q1_stub_error_nan():
    assert status(check.q1, stub_raise)[0] == "not attempted"
    assert status(check.q1, ...)[0] == "not attempted"
    s, msg = status(check.q1, crashes)
    assert s == "fail" and "KeyError" in msg
    s, msg = status(check.q1, lambda T: tuple(torch.full((3, 3), float("nan"), dtype=T.dtype) for _ in range(3)))
    assert s == "fail" and "NaN" in msg


# ----------------------------------------------------------------------------- q2
RIGHT = {"ij=ji": "0e + 2e", "ij=-ji": "1x1e", "ijk=jik=ikj": "1o + 3o", "ijk=-jik=-ikj": "0o"}


def test_q2_right_and_wrong():
    assert status(check.q2, RIGHT)[0] == "pass"
    assert status(check.q2, {k: o3.Irreps(v) for k, v in RIGHT.items()})[0] == "pass"
    s, msg = status(check.q2, {**RIGHT, "ij=-ji": "1o"})
    assert s == "fail" and "parity" in msg and "ij=-ji" in msg
    s, msg = status(check.q2, {**RIGHT, "ijk=jik=ikj": "1o + 2o"})
    assert s == "fail" and "8 components" in msg and "more" in msg
    s, msg = status(check.q2, {**RIGHT, "ijk=jik=ikj": "1o + 2o + 0o + 0o"})
    assert s == "fail" and "not the right l" in msg
    s, msg = status(check.q2, {"ij=ji": "0e + 2e"})
    assert s == "fail" and "no entry" in msg
    s, msg = status(check.q2, {**RIGHT, "ij=ji": "zero e"})
    assert s == "fail" and "could not read" in msg


def test_q2_stub_and_bad_types():
    assert status(check.q2, ...)[0] == "not attempted"
    s, msg = status(check.q2, ["0e"])
    assert s == "fail" and "dict" in msg
    s, msg = status(check.q2, {**RIGHT, "ij=ji": ...})
    assert s == "not attempted"
    s, msg = status(check.q2, {**RIGHT, "ij=ji": ..., "ij=-ji": "1e + 0e"})
    assert s == "fail" and "'ij=-ji'" in msg


# ----------------------------------------------------------------------------- q3
def inertia(pos, m):
    r = pos - (m[:, None] * pos).sum(0) / m.sum()
    return (m * (r * r).sum(1)).sum() * torch.eye(3, dtype=pos.dtype) - torch.einsum("a,ai,aj->ij", m, r, r)


def test_q3_right_and_wrong():
    assert status(check.q3, inertia)[0] == "pass"
    s, msg = status(check.q3, lambda p, m: inertia(p, torch.ones_like(m)))
    assert s == "fail" and "masses" in msg
    s, msg = status(check.q3, lambda p, m: (m * (p * p).sum(1)).sum() * torch.eye(3, dtype=p.dtype) - torch.einsum("a,ai,aj->ij", m, p, p))
    assert s == "fail" and "centre of mass" in msg
    def second_moment(p, m):
        r = p - (m[:, None] * p).sum(0) / m.sum()
        return torch.einsum("a,ai,aj->ij", m, r, r)
    s, msg = status(check.q3, second_moment)
    assert s == "fail" and "second moment" in msg
    s, msg = status(check.q3, lambda p, m: inertia(p, m)[0])
    assert s == "fail" and "shape" in msg


def test_q3_stub_error_nan():
    assert status(check.q3, stub_raise)[0] == "not attempted"
    s, msg = status(check.q3, crashes)
    assert s == "fail" and "KeyError" in msg
    s, msg = status(check.q3, lambda p, m: inertia(p, m) / 0.0 * 0.0)
    assert s == "fail" and "NaN" in msg


# ----------------------------------------------------------------------------- q4
def rotate_via_irreps(T, R, formula):
    with e3teach.default_dtype(torch.float64):
        ct = io.CartesianTensor(formula)
        rtp = ct.reduced_tensor_products(T)
        x = ct.from_cartesian(T, rtp)
        return ct.to_cartesian(x @ ct.D_from_matrix(R).T, rtp)


def test_q4_right_and_float32_trap():
    prev = torch.get_default_dtype()
    torch.set_default_dtype(torch.float32)  # the notebook's default
    try:
        assert status(check.q4, rotate_via_irreps)[0] == "pass"

        def float32_built(T, R, formula):
            ct = io.CartesianTensor(formula)
            rtp = ct.reduced_tensor_products(T)
            return ct.to_cartesian(ct.from_cartesian(T, rtp) @ ct.D_from_matrix(R).T, rtp)
        s, msg = status(check.q4, float32_built)
        assert s == "fail" and "float32 accuracy" in msg and "default_dtype" in msg
    finally:
        torch.set_default_dtype(prev)


def test_q4_typical_mistakes():
    def lost_parity(T, R, formula):
        return rotate_via_irreps(T, R * torch.det(R), formula)
    s, msg = status(check.q4, lost_parity)
    assert s == "fail" and "parity" in msg
    s, msg = status(check.q4, lambda T, R, f: T.clone())
    assert s == "fail" and "unrotated" in msg
    s, msg = status(check.q4, lambda T, R, f: rotate_via_irreps(T, R.T, f))
    assert s == "fail" and "differs" in msg
    s, msg = status(check.q4, lambda T, R, f: rotate_via_irreps(T, R, f).float())
    assert s == "fail" and "float64" in msg


def test_q4_stub_error_nan_shape():
    assert status(check.q4, stub_raise)[0] == "not attempted"
    s, msg = status(check.q4, crashes)
    assert s == "fail" and "KeyError" in msg
    s, msg = status(check.q4, lambda T, R, f: T * float("nan"))
    assert s == "fail" and "NaN" in msg
    s, msg = status(check.q4, lambda T, R, f: T.flatten())
    assert s == "fail" and "shape" in msg


# --- issue 8 classes --------------------------------------------------------------------------------
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from checker_stubs import (assert_checker_error, assert_float32_named, assert_learner_error,  # noqa: E402
                           assert_missing_return, assert_passes, returning_float32, returning_numpy)

FUNCTIONS = [(check.q1, decompose), (check.q3, inertia), (check.q4, rotate_via_irreps)]


@pytest.mark.parametrize("exercise, right", FUNCTIONS)
def test_float32_is_named_numpy_passes(exercise, right):
    res = exercise.run(returning_float32(right))
    assert_float32_named(res)
    for maths in ("add up", "centre of mass", "unrotated", "parity", "ignores the masses"):
        assert maths not in res.message, res.message
    assert_passes(exercise, returning_numpy(right))
    assert_missing_return(exercise)
    assert_learner_error(exercise)


def test_q1_a_bare_torch_eye_in_the_trace_part_is_named():
    """trace(T)/3 * torch.eye(3): a 0-d float64 times a float32 matrix is float32 — the parts still add up to
    T to 1e-8, which used to read "did you divide the trace by 3?"."""
    def decompose_bare_eye(T):
        iso = torch.trace(T) / 3 * torch.eye(3)
        return iso, (T - T.T) / 2, (T + T.T) / 2 - iso
    res = check.q1.run(decompose_bare_eye)
    assert res.status == "fail" and "float32" in res.message and "torch.eye(3, dtype=" in res.message
    assert "divide the trace" not in res.message


def test_success_messages_print_no_round_off():
    for exercise, right in FUNCTIONS:
        res = assert_passes(exercise, right)
        assert "e-1" not in res.message.replace("< 1e-11", "").replace("1e-10", "").replace("1e-8", ""), res.message
        assert "< 1e-11" in res.message


@pytest.mark.parametrize("exercise, helper, answer", [
    (check.q1, "trace_part", decompose), (check.q2, "_expected_irreps", RIGHT),
    (check.q3, "inertia_tensor", inertia), (check.q4, "rotate_tensor", rotate_via_irreps)])
def test_exception_in_the_checker_is_reported_as_such(monkeypatch, exercise, helper, answer):
    assert_checker_error(monkeypatch, exercise, check, helper, answer)


def test_q2_unfinished_entries_are_not_attempted():
    assert exercise_status({f: ... for f in RIGHT}) == "not attempted"
    assert exercise_status({**RIGHT, "ij=ji": np.str_("0e + 2e")}) == "pass"


def exercise_status(answer):
    return check.q2.run(answer).status


def test_q1_float64_round_off_is_not_called_float32():
    """Issue 19: S = T − A − iso differs from the reference by 5.6e-17 — right, not "float32 precision"."""
    def by_subtraction(T):
        iso = T.trace() / 3 * torch.eye(3, dtype=T.dtype)
        A = 0.5 * T - 0.5 * T.T
        return iso, A, T - A - iso
    assert status(check.q1, by_subtraction)[0] == "pass"
    s, msg = status(check.q1, lambda T: tuple(p.float() for p in decompose(T)))      # a real float32 answer
    assert s == "fail" and "float32" in msg


def test_q4_angles_of_an_improper_rotation_say_det_minus_one():
    def via_angles(T, R, formula):
        with e3teach.default_dtype(torch.float64):
            ct = io.CartesianTensor(formula)
            D = ct.D_from_angles(*o3.matrix_to_angles(R))
            return ct.to_cartesian(ct.from_cartesian(T) @ D.T)
    s, msg = status(check.q4, via_angles)
    assert s == "fail" and "det R = −1" in msg and "parity" in msg, msg
