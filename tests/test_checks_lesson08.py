import torch
from e3nn import nn

from e3teach.checks import lesson08 as check


def correct_norm_activation(x):
    v = x.reshape(len(x), -1, 3)
    return (torch.sigmoid(v.norm(dim=-1, keepdim=True)) * v).reshape(len(x), -1)


def stub(x):
    raise NotImplementedError


def test_q1():
    assert check.q1.run(correct_norm_activation).passed
    pointwise = check.q1.run(torch.sigmoid)
    assert pointwise.status == "fail" and "not equivariant" in pointwise.message
    wrong_scale = check.q1.run(lambda x: correct_norm_activation(x) * 2)
    assert wrong_scale.status == "fail" and "scale factor" in wrong_scale.message
    assert check.q1.run(stub).status == "not attempted"
    assert check.q1.run(lambda x: x[:, :3]).status == "fail"
    assert "NaN" in check.q1.run(lambda x: x * float("nan")).message
    assert "ZeroDivisionError" in check.q1.run(lambda x: 1 / 0).message


def test_q2():
    assert check.q2.run({"tanh", "sin", "cube", "softsign"}).passed
    assert "cos" in check.q2.run({"tanh", "sin", "cube", "softsign", "cos"}).message
    assert "left out" in check.q2.run({"tanh"}).message
    assert "not among" in check.q2.run({"tanh", "gelu"}).message
    assert check.q2.run("tanh").status == "fail"
    assert check.q2.run(...).status == "not attempted"


def test_q3():
    good = nn.Gate("4x0e", [torch.nn.functional.silu], "3x0e", [torch.sigmoid], "2x1o + 1x2e")
    assert check.q3.run(good).passed
    wrong = nn.Gate("2x0e", [torch.nn.functional.silu], "3x0e", [torch.sigmoid], "2x1o + 1x2e")
    assert check.q3.run(wrong).status == "fail"
    assert check.q3.run(torch.nn.Identity()).status == "fail"
    assert check.q3.run(...).status == "not attempted"


def test_q4():
    assert check.q4.run("blocks.2.conv.tp").passed
    assert "not the first" in check.q4.run("output").message
    assert "no module called" in check.q4.run("blocks.9").message
    assert check.q4.run(3).status == "fail"
    assert check.q4.run(...).status == "not attempted"


# ---- issue 8 classes
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from checker_stubs import (assert_checker_error, assert_float32_named, assert_learner_error,  # noqa: E402
                           assert_missing_return, assert_passes, returning_float32, returning_numpy)


def test_q1_float32_numpy_missing_return_errors():
    res = check.q1.run(returning_float32(correct_norm_activation))
    assert_float32_named(res)
    assert "not equivariant" not in res.message
    assert_passes(check.q1, returning_numpy(correct_norm_activation))
    assert_missing_return(check.q1)
    assert_learner_error(check.q1)


def test_q1_success_message_has_no_round_off():
    res = assert_passes(check.q1, correct_norm_activation)
    assert "(error < 1e-11)" in res.message


def test_q1_learner_error_inside_the_equivariance_check_is_the_learners():
    def fails_on_later_calls(x, calls=[]):
        calls.append(1)
        if len(calls) > 1:
            raise ValueError("later call")
        return correct_norm_activation(x)
    res = check.q1.run(fails_on_later_calls)
    assert res.status == "fail" and "your code raised ValueError" in res.message


@pytest.mark.parametrize("scalars, gates, words", [
    (torch.sigmoid, torch.nn.functional.silu, "swapped"),
    (torch.nn.functional.silu, torch.nn.functional.silu, "silu on the gates"),
    (torch.tanh, torch.sigmoid, "tanh on the scalars"),
    (torch.nn.functional.gelu, torch.sigmoid, "differs from"),
])
def test_q3_wrong_activations_with_the_right_irreps_fail(scalars, gates, words):
    """Look-alike: the irreps and the equivariance are right, the behaviour is not."""
    res = check.q3.run(nn.Gate("4x0e", [scalars], "3x0e", [gates], "2x1o + 1x2e"))
    assert res.status == "fail" and words in res.message, res.message


def test_q2_numpy_strings_and_q4_numpy_string():
    assert_passes(check.q2, [np.str_(a) for a in ("tanh", "sin", "cube", "softsign")])
    assert_passes(check.q4, np.str_("blocks.2.conv.tp"))
    assert check.q4.run(None).status == "fail"


@pytest.mark.parametrize("exercise, helper, answer", [
    (check.q1, "check_equivariance", correct_norm_activation), (check.q2, "ALL_ACTIVATIONS", {"tanh"}),
    (check.q3, "_gate", nn.Gate("4x0e", [torch.nn.functional.silu], "3x0e", [torch.sigmoid], "2x1o + 1x2e")),
    (check.q4, "_first_break", "blocks.2.conv.tp")])
def test_exception_in_the_checker_is_reported_as_such(monkeypatch, exercise, helper, answer):
    assert_checker_error(monkeypatch, exercise, check, helper, answer, planted=exercise is not check.q2)


def test_q2_a_set_of_functions_is_the_learners_answer_not_a_checker_crash():
    """Issue 19: {torch.tanh, torch.sin, softsign} made sorted() compare functions (⚠️)."""
    def softsign(s):
        return s / (1 + s.abs())
    res = check.q2.run({torch.tanh, torch.sin, softsign})
    assert res.status == "fail" and "strings" in res.message and "`tanh`" in res.message, res
