import numpy as np
import pytest
import torch

from e3teach.checks import call, exercise, expect_close, expect_equal, expect_tensor, fail


@exercise("rotate a cloud", hints=["rows are points", "pos @ R.T"])
def q_rotate(rotate):
    pos = torch.arange(6.0).reshape(2, 3)
    R = torch.tensor([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    out = expect_tensor(call(rotate, pos, R), "rotate(pos, R)", shape=(2, 3))
    expect_close(out, pos @ R.T, "rotate(pos, R)", hint="did you transpose R?")
    return "matches pos @ R.T"


@exercise("a number")
def q_number(value):
    expect_equal(value, 8, "value")
    return "right"


def stub(pos, R):
    raise NotImplementedError


@pytest.mark.parametrize("answer, status, words", [
    (lambda p, R: p @ R.T, "pass", "matches"),
    (lambda p, R: p @ R, "fail", "did you transpose"),
    (lambda p, R: (p @ R.T)[0], "fail", "has shape (3,), expected (2, 3)"),
    (lambda p, R: (p @ R.T).tolist(), "fail", "should be a torch.Tensor"),
    (lambda p, R: p @ R.T * float("nan"), "fail", "contains NaN"),
    (lambda p, R: (p @ R.T).numpy(), "pass", "matches"),
    (lambda p, R: 1 / 0, "fail", "ZeroDivisionError"),
    (stub, "not attempted", "not attempted"),
    (..., "not attempted", "not attempted"),
    ("not a function", "fail", "expected a function"),
])
def test_statuses(answer, status, words):
    result = q_rotate.run(answer)
    assert result.status == status and words in result.message, result


def test_prints_and_never_raises_outside_strict_mode(capsys, monkeypatch):
    monkeypatch.delenv("E3TEACH_STRICT", raising=False)
    q_rotate(lambda p, R: 1 / 0)
    q_number(...)
    out = capsys.readouterr().out
    assert out.startswith("❌ q_rotate · rotate a cloud:") and "⏳ q_number" in out


def test_strict_mode_raises_unless_passed(monkeypatch):
    monkeypatch.setenv("E3TEACH_STRICT", "1")
    q_number(8)
    with pytest.raises(AssertionError, match="did not pass"):
        q_number(7)
    with pytest.raises(AssertionError):
        q_number(...)


def test_hints_are_tiered(capsys):
    q_rotate.hint()
    q_rotate.hint()
    q_rotate.hint()
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].endswith("rows are points") and "hint 2/2" in lines[1] and "hint 2/2" in lines[2]


def test_wrong_value_message_does_not_leak_answer():
    result = q_number.run(7)
    assert result.status == "fail" and "8" not in result.message


def test_fail_inside_check_and_dtype_message():
    @exercise("dtype")
    def q(x):
        expect_tensor(x, "x", dtype=torch.float64)
        fail("never reached")
    assert "expected torch.float64" in q.run(torch.zeros(2, dtype=torch.float32)).message
    assert "never reached" in q.run(torch.zeros(2, dtype=torch.float64)).message
    assert "contains inf" in q.run(np.array([np.inf])).message
