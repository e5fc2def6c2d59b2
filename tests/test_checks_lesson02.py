"""Tests of the lesson 02 checkers: right answers pass, typical mistakes fail with a useful message,
stubs are "not attempted", and broken code is ❌ without raising."""
import pytest
import torch

import numpy as np

from checker_stubs import (assert_checker_error, assert_float32_named, assert_learner_error, assert_missing_return,
                           assert_passes, crashes, returning_float32, returning_numpy, status, stub_raise)
from e3teach.checks import lesson02 as check




def returns_nan(*args):
    return torch.full((3, 3), float("nan"), dtype=torch.float64)


def returns_wrong_shape(*args):
    return torch.zeros(2, 2, dtype=torch.float64)


def skew(n):
    z = torch.zeros((), dtype=n.dtype)
    return torch.stack([torch.stack([z, -n[2], n[1]]), torch.stack([n[2], z, -n[0]]),
                        torch.stack([-n[1], n[0], z])])


def rodrigues(axis, angle):
    K = skew(axis)
    return torch.eye(3, dtype=axis.dtype) + torch.sin(angle) * K + (1 - torch.cos(angle)) * K @ K


def mirror(n):
    u = n / n.norm()
    return torch.eye(3, dtype=n.dtype) - 2 * torch.outer(u, u)


def decompose(Q):
    s = torch.det(Q).sign()
    return s * Q, s


def D_tensor(R):
    return torch.kron(R, R)


@pytest.mark.parametrize("exercise, answer", [(check.q1, rodrigues), (check.q2, mirror), (check.q3, decompose),
                                              (check.q4, D_tensor)])
def test_right_answers_pass_and_stubs_are_not_attempted(exercise, answer):
    st, msg = status(exercise, answer)
    assert st == "pass", msg
    for stub in (stub_raise, ...):
        assert status(exercise, stub)[0] == "not attempted"
    assert_missing_return(exercise)
    assert_learner_error(exercise)


@pytest.mark.parametrize("exercise", [check.q1, check.q2, check.q3, check.q4])
@pytest.mark.parametrize("broken, words", [(crashes, "KeyError"), (returns_nan, "NaN"),
                                           (returns_wrong_shape, "shape")])
def test_broken_code_fails_without_raising(exercise, broken, words):
    st, msg = status(exercise, broken)
    assert st == "fail"
    if exercise is check.q3 and broken is not crashes:
        assert "pair" in msg  # decompose must return a pair
    elif exercise is check.q4 and broken is returns_nan:
        assert "shape" in msg  # (3, 3) is checked against (9, 9) first
    else:
        assert words in msg, msg


def test_q1_wrong_answers():
    st, msg = status(check.q1, lambda axis, angle: rodrigues(axis, -angle))
    assert st == "fail" and "inverse rotation" in msg and "n × v" in msg
    st, msg = status(check.q1, lambda axis, angle: torch.eye(3, dtype=axis.dtype)
                     + torch.sin(angle) * skew(axis) + (1 - torch.cos(angle)) * skew(axis))
    assert st == "fail" and "not orthogonal" in msg
    st, msg = status(check.q1, lambda axis, angle: torch.eye(3, dtype=axis.dtype))
    assert st == "fail" and "differs from o3.axis_angle_to_matrix" in msg


def test_q2_wrong_answers():
    st, msg = status(check.q2, lambda n: torch.eye(3, dtype=n.dtype) - 2 * torch.outer(n, n))
    assert st == "fail" and "normalize" in msg
    st, msg = status(check.q2, lambda n: -mirror(n))
    assert st == "fail" and "rotation by π" in msg
    st, msg = status(check.q2, lambda n: -torch.eye(3, dtype=n.dtype))
    assert st == "fail" and "plane" in msg


def test_q3_wrong_answers():
    st, msg = status(check.q3, lambda Q: (Q, torch.det(Q)))
    assert st == "fail" and "det" in msg and "proper rotation" in msg
    st, msg = status(check.q3, lambda Q: (Q, 1.0))
    assert st == "fail" and "s is the sign of det Q" in msg
    st, msg = status(check.q3, lambda Q: Q)
    assert st == "fail" and "pair" in msg
    st, msg = status(check.q3, lambda Q: (torch.det(Q) * Q, "plus"))
    assert st == "fail" and "+1 or -1" in msg


def test_q4_wrong_answers():
    st, msg = status(check.q4, lambda R: torch.kron(R, R).T)
    assert st == "fail" and "transpose" in msg
    st, msg = status(check.q4, lambda R: torch.kron(R, R.T.contiguous()))
    assert st == "fail" and "differs" in msg
    st, msg = status(check.q4, lambda R: torch.kron(R, R) if torch.det(R) < 0 else torch.eye(9, dtype=R.dtype))
    assert st == "fail" and "not a representation" in msg


def test_hints_are_tiered(capsys):
    for k in range(4):
        check.q2.hint()
    out = capsys.readouterr().out
    assert "hint 1/3" in out and "hint 3/3" in out


# --- issue 8 classes --------------------------------------------------------------------------------
RIGHT = [(check.q1, rodrigues), (check.q2, mirror), (check.q3, decompose), (check.q4, D_tensor)]


@pytest.mark.parametrize("exercise, answer", RIGHT)
def test_numpy_answers_pass(exercise, answer):
    assert_passes(exercise, returning_numpy(answer))


@pytest.mark.parametrize("exercise, answer", RIGHT)
def test_float32_answers_pass(exercise, answer):
    """A 3x3 matrix right to float32 precision is a right answer here (the checks compare with rtol 1e-5)."""
    assert_passes(exercise, returning_float32(answer))


def test_q1_float64_answer_with_a_rounded_constant_is_named():
    res = check.q1.run(lambda axis, angle: rodrigues(axis, angle) * (1 + 3e-5))
    assert res.status == "fail" and "float32 precision" in res.message and "orthogonal" not in res.message


def test_q3_unrounded_float32_determinant_shows_the_digits():
    res = check.q3.run(lambda Q: (Q * torch.det(Q).sign(), torch.det(Q.float()).double() * (1 + 3e-7)))
    assert res.status == "fail" and "round-off" in res.message
    assert "-1 should be -1" not in res.message and "got -1," not in res.message


def test_q3_numpy_integer_sign_passes():
    assert_passes(check.q3, lambda Q: (Q * torch.det(Q).sign(), np.int64(round(float(torch.det(Q))))))


@pytest.mark.parametrize("exercise, helper", [(check.q1, "_unit"), (check.q2, "_unit"), (check.q3, "random_rotation"),
                                              (check.q4, "check_representation")])
def test_exception_in_the_checker_is_reported_as_such(monkeypatch, exercise, helper):
    answer = dict((e.name, a) for e, a in RIGHT)[exercise.name]
    assert_checker_error(monkeypatch, exercise, check, helper, answer, shown=f"`{answer.__name__}`")


def test_q2_right_only_for_unit_normals_fails():
    res = check.q2.run(lambda n: torch.eye(3, dtype=n.dtype) - 2 * torch.outer(n, n))
    assert res.status == "fail" and "normalize" in res.message


# --- q5: axis and angle, also at θ = π ----------------------------------------------------------------
def axis_angle(R):
    angle = torch.acos(((torch.trace(R) - 1) / 2).clamp(-1, 1))
    values, vectors = torch.linalg.eig(R)
    axis = vectors[:, int((values - 1).abs().argmin())].real
    axis = axis / axis.norm()
    w = torch.stack([R[2, 1] - R[1, 2], R[0, 2] - R[2, 0], R[1, 0] - R[0, 1]])
    return (-axis if w @ axis < 0 else axis), angle


def test_q5_right_answers_pass_and_stubs_are_not_attempted():
    assert_passes(check.q5, axis_angle)
    assert_passes(check.q5, returning_numpy(axis_angle))
    assert_passes(check.q5, returning_float32(axis_angle))
    assert_passes(check.q5, lambda R: (axis_angle(R)[0], float(axis_angle(R)[1])))
    for stub in (stub_raise, ...):
        assert status(check.q5, stub)[0] == "not attempted"
    assert_missing_return(check.q5)
    assert_learner_error(check.q5)


def test_q5_e3nn_matrix_to_axis_angle_fails_at_pi():
    """Right only on the easy case: e3nn's own conversion reads the axis from R - Rᵀ, zero at θ = π."""
    from e3nn import o3
    st, msg = status(check.q5, o3.matrix_to_axis_angle)
    assert st == "fail" and "half-turn" in msg and "unit vector" in msg and "eigenvector" in msg, msg


@pytest.mark.parametrize("wrong, words", [
    (lambda R: (-axis_angle(R)[0], axis_angle(R)[1]), ["wrong way", "sign"]),
    (lambda R: (axis_angle(R)[0], torch.rad2deg(axis_angle(R)[1])), ["degrees"]),
    (lambda R: (axis_angle(R)[0], axis_angle(R)[1] + 0.1), ["trace"]),
    (lambda R: (2 * axis_angle(R)[0], axis_angle(R)[1]), ["unit vector", "norm"]),
    (lambda R: axis_angle(R)[0], ["pair"]),
    (lambda R: (torch.zeros(2, dtype=R.dtype), 0.0), ["shape"]),
    (lambda R: (torch.full((3,), float("nan"), dtype=R.dtype), 0.0), ["NaN"]),
    (lambda R: (axis_angle(R)[0], "pi"), ["number"]),
    (lambda R: (torch.tensor([1, 0, 0]), axis_angle(R)[1]), ["integer"]),
])
def test_q5_wrong_answers(wrong, words):
    res = check.q5.run(wrong)
    assert res.status == "fail", str(res)
    for w in words:
        assert w in res.message, (w, str(res))


def test_q5_exception_in_the_checker_is_reported_as_such(monkeypatch):
    assert_checker_error(monkeypatch, check.q5, check, "_unit", axis_angle, shown="`axis_angle`")


def test_q5_acos_without_clamp_fails_on_a_half_turn_that_rounds_below_minus_one():
    """Issue 19: right on the easy half-turns only; round-off pushes (tr R − 1)/2 to −1.0000000000000002."""
    def unclamped(R):
        return axis_angle(R)[0], torch.acos((torch.trace(R) - 1) / 2)
    res = check.q5.run(unclamped)
    assert res.status == "fail" and "NaN" in res.message and "clamp" in res.message, str(res)
