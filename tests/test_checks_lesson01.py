"""The checkers of lesson 01: right answers pass, typical mistakes fail with a useful message,
stubs are "not attempted", and broken code is ❌ without raising."""
from fractions import Fraction

import pytest
import torch

from e3teach.checks import lesson01 as check


def stub_raises(*args, **kwargs):
    raise NotImplementedError


def raises_other(*args, **kwargs):
    raise ValueError("boom")


def status(exercise, *answers):
    return exercise.run(*answers)


@pytest.mark.parametrize("exercise", [check.q1, check.q2, check.q3])
def test_stubs_are_not_attempted(exercise):
    for stub in (..., stub_raises):
        res = status(exercise, stub)
        assert res.status == "not attempted", res
        assert "not attempted" in res.message


@pytest.mark.parametrize("exercise", [check.q1, check.q2, check.q3])
def test_other_exceptions_fail_without_raising(exercise):
    res = status(exercise, raises_other)
    assert res.status == "fail"
    assert "ValueError" in res.message and "boom" in res.message


def test_q4_stub_is_not_attempted():
    assert status(check.q4, ...).status == "not attempted"


# --------------------------------------------------------------------------------------------- q1
def rotate_copies(pos, rotations):
    return pos @ rotations.transpose(1, 2)


def test_q1_correct_answers_pass():
    assert status(check.q1, rotate_copies).passed
    assert status(check.q1, lambda pos, Rs: torch.einsum("kij,nj->kni", Rs, pos)).passed
    assert status(check.q1, lambda pos, Rs: torch.stack([pos @ R.T for R in Rs])).passed


def test_q1_typical_mistakes():
    res = status(check.q1, lambda pos, Rs: pos @ Rs)                       # forgot the transpose
    assert res.status == "fail" and "inverse" in res.message
    res = status(check.q1, lambda pos, Rs: (pos @ Rs.transpose(1, 2)).transpose(0, 1))
    assert res.status == "fail" and "(K, n, 3)" in res.message
    res = status(check.q1, lambda pos, Rs: (pos @ Rs[0].T).expand(len(Rs), -1, -1))
    assert res.status == "fail" and "first rotation" in res.message

    def in_place(pos, Rs):
        pos.mul_(1.0)
        out = pos @ Rs.transpose(1, 2)
        pos.add_(1.0)
        return out
    res = status(check.q1, in_place)
    assert res.status == "fail" and "in place" in res.message


def test_q1_nan_and_wrong_shape_fail():
    res = status(check.q1, lambda pos, Rs: torch.full((len(Rs), len(pos), 3), float("nan"), dtype=pos.dtype))
    assert res.status == "fail" and "NaN" in res.message
    res = status(check.q1, lambda pos, Rs: pos)
    assert res.status == "fail" and "shape" in res.message
    res = status(check.q1, lambda pos, Rs: "not a tensor")
    assert res.status == "fail" and "torch.Tensor" in res.message


# --------------------------------------------------------------------------------------------- q2
def sorted_pair_distances(pos):
    i, j = torch.triu_indices(len(pos), len(pos), offset=1)
    return (pos[i] - pos[j]).norm(dim=1).sort().values


def test_q2_correct_answers_pass():
    res = status(check.q2, sorted_pair_distances)
    assert res.passed and "chiral_shape_1 and chiral_shape_2 the same" in res.message
    # unsorted distances, in index order: invariant under E(3) too (not under permutations, not required)
    assert status(check.q2, lambda pos: torch.pdist(pos)).passed
    # a float32 descriptor is accepted with a float32 tolerance
    assert status(check.q2, lambda pos: sorted_pair_distances(pos).float()).passed


def test_q2_typical_mistakes():
    res = status(check.q2, lambda pos: pos.reshape(-1))                         # raw coordinates
    assert res.status == "fail" and "not invariant" in res.message
    res = status(check.q2, lambda pos: pos.norm(dim=1).sort().values)           # distances to the origin
    assert res.status == "fail" and "translation" in res.message
    res = status(check.q2, lambda pos: torch.ones(1, dtype=pos.dtype))          # a constant
    assert res.status == "fail" and "cannot tell" in res.message
    res = status(check.q2, lambda pos: sorted_pair_distances(pos).max().reshape(1))   # too little information
    assert res.status == "fail" and "cannot tell" in res.message

    def rotation_only(pos):                                                     # SO(3)-invariant, not O(3): a triple product
        c = pos - pos.mean(dim=0)
        triple = torch.det(torch.stack([c[1] - c[0], c[2] - c[0], c[3] - c[0]])) if len(pos) >= 4 else c.sum() * 0
        return torch.cat([sorted_pair_distances(pos), triple.reshape(1)])
    res = status(check.q2, rotation_only)
    assert res.status == "fail" and "not invariant" in res.message
    assert "inversion" in res.message or "mirror" in res.message


def test_q2_nan_wrong_shape_and_types_fail():
    res = status(check.q2, lambda pos: sorted_pair_distances(pos) * float("nan"))
    assert res.status == "fail" and "NaN" in res.message
    res = status(check.q2, lambda pos: torch.cdist(pos, pos))                   # 2D output
    assert res.status == "fail" and "1D" in res.message
    res = status(check.q2, lambda pos: "abc")
    assert res.status == "fail"
    assert status(check.q2, lambda pos: sorted_pair_distances(pos).tolist()).passed   # a list of numbers is fine


# --------------------------------------------------------------------------------------------- q3
def equivariance_error(f, pos, R):
    return float((f(pos @ R.T) - f(pos) @ R.T).abs().max())


def test_q3_correct_answers_pass():
    assert status(check.q3, equivariance_error).passed
    assert status(check.q3, lambda f, pos, R: (f(pos @ R.T) - f(pos) @ R.T).abs().max()).passed   # 0-dim tensor


def test_q3_typical_mistakes():
    res = status(check.q3, lambda f, pos, R: float((f(pos @ R.T) - f(pos) @ R).abs().max()))
    assert res.status == "fail" and "centred" in res.message
    res = status(check.q3, lambda f, pos, R: float((f(pos @ R) - f(pos) @ R).abs().max()))
    assert res.status == "fail" and "inverse rotation" in res.message
    res = status(check.q3, lambda f, pos, R: float((f(pos @ R.T) - f(pos) @ R.T).abs().mean()))
    assert res.status == "fail" and "mean" in res.message
    res = status(check.q3, lambda f, pos, R: float((f(pos @ R.T) - f(pos) @ R.T).max()))
    assert res.status == "fail" and "absolute" in res.message
    res = status(check.q3, lambda f, pos, R: 0.0)
    assert res.status == "fail"


def test_q3_nan_wrong_shape_and_types_fail():
    res = status(check.q3, lambda f, pos, R: float("nan"))
    assert res.status == "fail" and "nan" in res.message.lower()
    res = status(check.q3, lambda f, pos, R: (f(pos @ R.T) - f(pos) @ R.T).abs())   # not reduced
    assert res.status == "fail" and "one number" in res.message
    res = status(check.q3, lambda f, pos, R: "small")
    assert res.status == "fail" and "one number" in res.message


# --------------------------------------------------------------------------------------------- q4
def test_q4_right_answer_in_several_forms():
    for answer in (7 / 8, 0.875, Fraction(7, 8), torch.tensor(0.875)):
        assert status(check.q4, answer).passed, answer


def test_q4_typical_mistakes():
    for answer, words in ((1.0, "cannot get both"), (0.5, "chiral pair alone"), (0.75, "one of the two"),
                          (87.5, "percentage"), (0.125, "chance"), (0.3, "not the best")):
        res = status(check.q4, answer)
        assert res.status == "fail" and words in res.message, (answer, res)


def test_q4_wrong_types_fail():
    for answer in ("7/8", torch.tensor([0.875, 0.5]), float("nan"), True):
        res = status(check.q4, answer)
        assert res.status == "fail", (answer, res)


def test_strict_mode_raises(monkeypatch, capsys):
    monkeypatch.setenv("E3TEACH_STRICT", "1")
    with pytest.raises(AssertionError):
        check.q4(0.5)
    check.q4(7 / 8)
    assert "✅" in capsys.readouterr().out
    monkeypatch.setenv("E3TEACH_STRICT", "0")
    check.q1(...)
    assert "⏳" in capsys.readouterr().out


def test_hints_are_tiered(capsys):
    for exercise in (check.q1, check.q2, check.q3, check.q4):
        exercise._hints_shown = 0
        exercise.hint()
        exercise.hint()
        out = capsys.readouterr().out
        assert "hint 1/" in out and "hint 2/" in out


# --------------------------------------------------------------------------------------------- issue 8 classes
import numpy as np  # noqa: E402

from checker_stubs import (assert_checker_error, assert_learner_error, assert_missing_return,  # noqa: E402
                           assert_passes, returning_float32, returning_numpy)

FUNCTIONS = [(check.q1, rotate_copies), (check.q2, sorted_pair_distances), (check.q3, equivariance_error)]


@pytest.mark.parametrize("exercise, right", FUNCTIONS)
def test_float32_and_numpy_answers_pass(exercise, right):
    assert_passes(exercise, returning_float32(right))
    assert_passes(exercise, returning_numpy(right))


def test_q3_float32_and_numpy_scalars_pass():
    assert_passes(check.q3, lambda f, pos, R: (f(pos @ R.T) - f(pos) @ R.T).abs().max().float())
    assert_passes(check.q3, lambda f, pos, R: np.float32((f(pos @ R.T) - f(pos) @ R.T).abs().max().item()))


def test_q4_numpy_numbers():
    assert_passes(check.q4, np.float64(0.875))
    assert_passes(check.q4, np.float32(0.875))
    res = status(check.q4, np.int64(1))
    assert res.status == "fail" and "cannot get both" in res.message


@pytest.mark.parametrize("exercise, right", FUNCTIONS)
def test_learner_errors_and_missing_return(exercise, right):
    assert_learner_error(exercise)
    assert_missing_return(exercise)


@pytest.mark.parametrize("exercise, helper, answer", [
    (check.q1, "_rotations", rotate_copies), (check.q2, "_transformations", sorted_pair_distances),
    (check.q3, "_reference_error", equivariance_error), (check.q4, "as_number", 0.875)])
def test_exception_in_the_checker_is_reported_as_such(monkeypatch, exercise, helper, answer):
    assert_checker_error(monkeypatch, exercise, check, helper, answer,
                         shown="0.875" if answer == 0.875 else f"`{answer.__name__}`")


def test_q1_right_only_for_four_rotations_fails():
    res = status(check.q1, lambda pos, Rs: torch.stack([pos @ Rs[k].T for k in range(4)]))
    assert res.status == "fail" and "your code raised IndexError" in res.message


def test_q3_numbers_in_the_message_show_the_difference():
    res = status(check.q3, lambda f, pos, R: equivariance_error(f, pos, R) * (1 + 1e-5))
    assert res.status == "fail"
    got, rest = res.message.split("your error is ")[1].split(", expected ")
    expected = rest.split(". Hint")[0]
    assert got != expected and float(got) != float(expected), res.message


def test_q2_one_summary_number_passes_as_the_statement_allows():
    """Issue 19: the mean pairwise distance separates the 7 shapes; the statement allows one number, and the
    checker accepts it (as a 0-d tensor, a NumPy float or a Python float) while saying what it loses."""
    for answer in (lambda pos: torch.pdist(pos).mean(), lambda pos: torch.pdist(pos).mean().numpy(),
                   lambda pos: float(torch.pdist(pos).mean())):
        res = status(check.q2, answer)
        assert res.passed and "one summary number cannot tell every pair" in res.message, res
