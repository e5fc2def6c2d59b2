"""Tests of the lesson-11 checkers: right answers pass, typical mistakes fail with a useful message,
stubs are "not attempted", and broken code (exceptions, NaN, wrong shapes) is ❌ without raising."""
import torch
from e3nn import io, o3

import e3teach
from checker_stubs import crashes, status, stub_raise
from e3teach.checks import lesson11 as check

F64 = torch.float64




# ----------------------------------------------------------------------------- q1
def loss_floor(pos, target, matrices):
    average = torch.zeros_like(target)
    for g in matrices:
        perm = torch.cdist(pos @ g.T, pos).argmin(dim=1)
        average += target[perm] @ g
    return ((target - average / matrices.shape[0]) ** 2).mean()


def test_q1_right_and_wrong():
    assert status(check.q1, loss_floor)[0] == "pass"
    assert status(check.q1, lambda *a: float(loss_floor(*a)))[0] == "pass"
    s, msg = status(check.q1, lambda pos, t, m: (t ** 2).mean())
    assert s == "fail" and "best symmetric prediction were zero" in msg
    # transforming with g instead of g^T (no inverse) is wrong for groups with non-involutive elements
    def no_inverse(pos, target, matrices):
        average = torch.zeros_like(target)
        for g in matrices:
            perm = torch.cdist(pos @ g.T, pos).argmin(dim=1)
            average += target[perm] @ g.T
        return ((target - average / matrices.shape[0]) ** 2).mean()
    s, msg = status(check.q1, no_inverse)
    assert s == "fail" and "the floor is" in msg
    s, msg = status(check.q1, lambda pos, t, m: ((t - loss_floor(pos, t, m)) ** 2).sum(dim=1))
    assert s == "fail" and "one number" in msg


def test_q1_reference_is_the_lesson_formula():
    sq = torch.tensor([[1.0, 1, 0], [-1, 1, 0], [-1, -1, 0], [1, -1, 0]], dtype=F64)
    a, b = 1.8, 0.8
    floor = check.reference_floor(sq, sq * torch.tensor([a, b, 1.0], dtype=F64) - sq,
                                  e3teach.point_groups.point_group("D4h").matrices)
    assert abs(floor - (a - b) ** 2 / 6) < 1e-14


def test_q1_stub_error_nan():
    assert status(check.q1, stub_raise)[0] == "not attempted"
    assert status(check.q1, ...)[0] == "not attempted"
    s, msg = status(check.q1, crashes)
    assert s == "fail" and "KeyError" in msg
    s, msg = status(check.q1, lambda *a: torch.tensor(float("nan")))
    assert s == "fail" and "NaN" in msg
    s, msg = status(check.q1, lambda *a: "0.375")
    assert s == "fail" and "number" in msg


# ----------------------------------------------------------------------------- q2
def right_b1g():
    with e3teach.default_dtype(F64):
        return io.CartesianTensor("ij=ji").from_cartesian(torch.diag(torch.tensor([1.0, -1.0, 0.0], dtype=F64)))


def test_q2_right_and_wrong():
    s, msg = status(check.q2, right_b1g())
    assert s == "pass" and "8 keep it and 8 flip" in msg
    assert status(check.q2, right_b1g().float())[0] == "pass"
    s, msg = status(check.q2, -right_b1g())
    assert s == "fail" and "opposite sign" in msg
    with e3teach.default_dtype(F64):
        xy = io.CartesianTensor("ij=ji").from_cartesian(torch.tensor([[0.0, 1, 0], [1, 0, 0], [0, 0, 0]], dtype=F64))
    s, msg = status(check.q2, xy)
    assert s == "fail" and "off by" in msg
    s, msg = status(check.q2, torch.diag(torch.tensor([1.0, -1.0, 0.0])))
    assert s == "fail" and "shape" in msg


def test_q2_stub_and_nan():
    assert status(check.q2, ...)[0] == "not attempted"
    s, msg = status(check.q2, torch.full((6,), float("nan")))
    assert s == "fail" and "NaN" in msg
    s, msg = status(check.q2, [0, 0, 0, -1.22, 0, -0.71])
    assert s == "fail" and "torch.Tensor" in msg


# ----------------------------------------------------------------------------- q3
RIGHT = {"0o", "1o", "1e", "2o", "3e"}


def test_q3_right_and_wrong():
    s, msg = status(check.q3, RIGHT)
    assert s == "pass"
    assert status(check.q3, [o3.Irrep(x) for x in RIGHT])[0] == "pass"
    s, msg = status(check.q3, RIGHT | {"2e"})
    assert s == "fail" and "2e can be nonzero" in msg
    s, msg = status(check.q3, {"0o", "1o"})
    assert s == "fail" and "1e, 2o, 3e must vanish" in msg
    s, msg = status(check.q3, RIGHT | {"4e"})
    assert s == "fail" and "not one of the outputs" in msg
    s, msg = status(check.q3, {"one-odd"})
    assert s == "fail" and "could not read" in msg


def test_q3_stub_and_bad_types():
    assert status(check.q3, ...)[0] == "not attempted"
    s, msg = status(check.q3, "1o")
    assert s == "fail" and "set of irreps" in msg
    s, msg = status(check.q3, 3)
    assert s == "fail" and "set of irreps" in msg


# ----------------------------------------------------------------------------- q4
def output_asymmetry(out, irreps, matrices):
    with e3teach.default_dtype(F64):
        D = o3.Irreps(irreps).D_from_matrix(matrices.to(F64))
    out = out.to(F64)
    return float((out - out @ D.transpose(1, 2)).abs().max())


def test_q4_right_and_wrong():
    assert status(check.q4, output_asymmetry)[0] == "pass"
    s, msg = status(check.q4, lambda out, irreps, m: float((out - out @ o3.Irreps(irreps).D_from_matrix(m).transpose(1, 2)).abs().max()))
    assert s == "fail" and "float32" in msg
    def mean_instead(out, irreps, matrices):
        with e3teach.default_dtype(F64):
            D = o3.Irreps(irreps).D_from_matrix(matrices)
        return float((out - out @ D.transpose(1, 2)).abs().mean())
    s, msg = status(check.q4, mean_instead)
    assert s == "fail" and "maximum" in msg
    s, msg = status(check.q4, lambda out, irreps, m: torch.zeros(m.shape[0]))
    assert s == "fail" and "one number" in msg


def test_q4_stub_error_nan():
    assert status(check.q4, stub_raise)[0] == "not attempted"
    assert status(check.q4, ...)[0] == "not attempted"
    s, msg = status(check.q4, crashes)
    assert s == "fail" and "KeyError" in msg
    s, msg = status(check.q4, lambda *a: float("nan"))
    assert s == "fail" and "nan" in msg


# ----------------------------------------------------------------------------- issue 8 classes
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from checker_stubs import (assert_checker_error, assert_learner_error, assert_missing_return,  # noqa: E402
                           assert_passes, returning_float32, returning_numpy)


def as_tensor_answer(fn):
    def wrapped(*args):
        return torch.tensor(fn(*args), dtype=F64)
    return wrapped


@pytest.mark.parametrize("q, right", [(check.q1, loss_floor), (check.q4, output_asymmetry)])
def test_numpy_float32_missing_return_and_learner_errors(q, right):
    assert_passes(q, returning_numpy(as_tensor_answer(right)))          # a NumPy float
    assert_passes(q, lambda *a: np.float64(right(*a)))
    assert_missing_return(q)
    assert_learner_error(q)


def test_float32_answers():
    assert_passes(check.q1, returning_float32(as_tensor_answer(loss_floor)))   # a loss floor to 1e-6 is fine
    assert_passes(check.q2, right_b1g().float())
    assert_passes(check.q2, right_b1g().numpy())
    res = check.q4.run(lambda *a: output_asymmetry(*a) * (1 + 3e-7) + 1e-9 * 0)
    assert res.status == "fail" and "float32" in res.message and "not a mean" not in res.message


def test_messages_show_the_digits_that_differ():
    res = check.q1.run(lambda *a: loss_floor(*a) * (1 + 3e-6))
    assert res.status == "fail"
    got, want = res.message.split("you return ")[1].split(", the floor is ")
    assert got != want.split(" ")[0].rstrip(".")


def test_q3_numpy_strings_pass():
    assert_passes(check.q3, {np.str_(v) for v in RIGHT})


@pytest.mark.parametrize("q, helper, answer", [
    (check.q1, "reference_floor", loss_floor), (check.q2, "_expected_b1g", right_b1g()),
    (check.q3, "_q3_expected", RIGHT), (check.q4, "_reference_asymmetry", output_asymmetry)])
def test_exception_in_the_checker_is_reported_as_such(monkeypatch, q, helper, answer):
    assert_checker_error(monkeypatch, q, check, helper, answer)


def test_q3_a_dict_of_ranks_is_not_read_by_its_keys():
    """Issue 19: {irrep: rank} iterated gives all 8 irreps; say it is a dict and how to keep the rank-0 ones."""
    from e3teach.point_groups import invariant_projector, point_group
    ranks = {ir: int(torch.linalg.matrix_rank(invariant_projector(point_group("D3h"), ir), atol=1e-8))
             for ir in check.Q3_IRREPS}
    res = check.q3.run(ranks)
    assert res.status == "fail" and "dict" in res.message and "rank == 0" in res.message, res
    assert check.q3.run({ir for ir, r in ranks.items() if r == 0}).passed
