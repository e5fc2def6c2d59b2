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
    (lambda p, R: 1 / 0, "fail", "your code raised ZeroDivisionError"),
    (stub, "not attempted", "not attempted"),
    (lambda p, R: None, "fail", "missing `return`"),
    (lambda p, R: (p @ R.T).float(), "pass", "matches"),           # float32 inputs: float32 is right here
    (lambda p, R: (p @ R.T).double().numpy(), "pass", "matches"),
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
    assert lines[0].endswith("rows are points") and "hint 2/2" in lines[1]
    assert "last of 2 hints" in lines[2] and "solution" in lines[2]      # adds where to look, not a repeat


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


# --- issue 8: how answers are read ------------------------------------------------------------------
from e3teach.checks import as_number, as_torch, describe, fail_if_float32_precision, show  # noqa: E402
from e3teach.checks.core import CheckFailed  # noqa: E402


def test_as_torch_converts_numpy_once():
    out = as_torch((np.arange(3), np.int64(4), np.float32(0.5), [np.bool_(True)], {"a": np.zeros(2)}))
    assert isinstance(out[0], torch.Tensor) and out[1] == 4 and type(out[1]) is int
    assert type(out[2]) is float and out[3] == [True] and isinstance(out[4]["a"], torch.Tensor)
    t = torch.ones(2, requires_grad=True)
    assert not as_torch(t).requires_grad
    assert as_torch("text") == "text" and as_torch(np.array(["a"])).dtype.kind == "U"   # left alone


def test_as_number():
    assert as_number(np.int64(3), "n", integer=True) == 3 and as_number(torch.tensor(2.0), "n", integer=True) == 2
    assert as_number(np.float32(0.25), "x") == 0.25
    for bad in (True, "3", torch.ones(2), float("nan"), 2.5):
        with pytest.raises(CheckFailed):
            as_number(bad, "n", integer=True)


def test_show_prints_enough_digits_to_see_a_difference():
    a, b = show(-1.0, -0.9999999)
    assert a != b and a == "-1" and b.startswith("-0.9999999")
    assert show(0.5, 0.5) == ("0.5", "0.5")


def test_float32_precision_is_named_not_a_maths_error():
    with pytest.raises(CheckFailed, match="float32"):
        fail_if_float32_precision(torch.zeros(2), 3e-8, "x")
    with pytest.raises(CheckFailed, match="right only to float32 precision"):
        fail_if_float32_precision(torch.zeros(2, dtype=torch.float64), 3e-8, "x")
    fail_if_float32_precision(torch.zeros(2), 0.3, "x")          # a real error: not a precision problem


@exercise("needs float64")
def q_precise(f):
    x = torch.linspace(0.1, 1.0, 7, dtype=torch.float64)
    expect_close(call(f, x), x.sqrt(), "f(x)", atol=1e-12, rtol=0, hint="take the square root")
    return "ok"


def test_float32_answer_to_a_float64_check_gets_a_dtype_message():
    res = q_precise.run(lambda x: x.float().sqrt())
    assert res.status == "fail" and "float32" in res.message and "square root" not in res.message
    res = q_precise.run(lambda x: x.sqrt() * torch.tensor(1.0 + 1e-7, dtype=torch.float64))
    assert res.status == "fail" and "float32 precision" in res.message
    assert q_precise.run(lambda x: x.sqrt() + 1).status == "fail"
    assert "square root" in q_precise.run(lambda x: x + 1).message


@exercise("a buggy checker")
def q_buggy(f):
    call(f, 2.0)
    {}["missing key"]            # a bug in the checker itself


def test_exception_in_checker_is_not_blamed_on_the_learner():
    res = q_buggy.run(lambda x: x * 2)
    assert res.status == "checker error" and str(res).startswith("⚠️")
    assert "the checker itself failed" in res.message and "please report" in res.message
    assert "your code raised" not in res.message and "KeyError" in res.message
    assert "4.0" in res.message                                 # the learner's last value is shown
    assert not res.passed


def test_none_answers_and_missing_return():
    assert q_number.run(None).status == "fail" and "missing a `return`" in q_number.run(None).message
    assert "missing `return`" in q_rotate.run(lambda p, R: None).message
    assert describe(torch.zeros(10, 3)) == "a float32 tensor of shape (10, 3)"


def test_usage_line_names_the_question():
    @exercise("third")
    def q3(f):
        call(f)
    assert "check.q3(my_function)" in q3.run(42).message


def test_numpy_integer_answer():
    assert q_number.run(np.int64(8)).passed


def test_checker_error_raises_in_strict_mode(monkeypatch):
    monkeypatch.setenv("E3TEACH_STRICT", "1")
    with pytest.raises(AssertionError, match="checker itself failed"):
        q_buggy(lambda x: x)


def test_learner_wrapper_routes_exceptions_to_the_learner():
    from e3teach.checks import learner

    @exercise("wrapped")
    def q(f):
        g = learner(f, "f")
        g(1.0)
        return "ok"
    assert q.run(lambda x: x).passed
    res = q.run(lambda x: [][1])
    assert res.status == "fail" and "your code raised IndexError" in res.message


# --- issue 19 --------------------------------------------------------------------------------------------
def test_float64_round_off_is_never_a_float32_diagnosis():
    fail_if_float32_precision(torch.zeros(2, dtype=torch.float64), 5.6e-17, "x")          # round-off: passes
    fail_if_float32_precision(torch.zeros(2), 3e-9, "x", tol=1e-8)                       # within the tolerance
    with pytest.raises(CheckFailed, match="float32"):
        fail_if_float32_precision(torch.zeros(2), 3e-8, "x", tol=1e-10)


def _stub_method(x, R):
    raise NotImplementedError  # your code here


def _typo(x, R):
    from e3nn import o3
    return len(o3.Irrep("1o")) * x                       # o3.Irrep has no len(): e3nn raises NotImplementedError


def _past_lmax(x, R):
    from e3nn import o3
    return [o3.spherical_harmonics(l, torch.ones(3), True) for l in range(14)]


def _own_message(x, R):
    raise NotImplementedError("only l ≤ 2 so far")        # the learner's own, with a message: their error


@pytest.mark.parametrize("answer, status, words", [
    (_stub_method, "not attempted", "not attempted"),
    (_typo, "fail", "o3.Irreps"),
    (_past_lmax, "fail", "l = 12"),
    (_own_message, "fail", "only l ≤ 2 so far"),
])
def test_only_the_stubs_own_raise_is_not_attempted(answer, status, words):
    res = q_rotate.run(answer)
    assert res.status == status and words in res.message, res


def test_ase_property_not_implemented_is_the_learners_error():
    """`results = {...}` without `self.`: ase raises PropertyNotImplementedError (a NotImplementedError)."""
    from ase import Atoms
    from ase.calculators.calculator import Calculator, all_changes

    class Forgetful(Calculator):
        implemented_properties = ["energy"]

        def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
            super().calculate(atoms, properties, system_changes)
            results = {"energy": 1.0}                                   # noqa: F841 - the bug: no `self.`

    @exercise("energy through ase")
    def q(calculator_class):
        atoms = Atoms("H2", positions=[[0, 0, 0], [0, 0, 1]])
        atoms.calc = calculator_class()
        call(atoms.get_potential_energy)
        return "ok"

    res = q.run(Forgetful)
    assert res.status == "fail" and "PropertyNotImplementedError" in res.message and "self.results" in res.message, res

    @exercise("energy through ase, called directly")
    def q_direct(calculator_class):                      # a checker that calls ase without call(): still not a stub
        atoms = Atoms("H2", positions=[[0, 0, 0], [0, 0, 1]])
        atoms.calc = calculator_class()
        atoms.get_potential_energy()
        return "ok"
    res = q_direct.run(Forgetful)
    assert res.status == "fail" and "self.results" in res.message, res


def test_a_missing_answer_is_the_learners_call():
    @exercise("two answers")
    def q4(structure, site):
        return "ok"
    res = q4.run("cscl")
    assert res.status == "fail" and "leaves out `site`" in res.message and "check.q4(structure, site)" in res.message
    assert q4.run("cscl", site=0).passed and "passes 3" in q4.run(1, 2, 3).message


def test_exception_text_drops_ansi_codes_and_cuts_at_a_sentence():
    from e3teach.checks.core import exception_text
    text = exception_text(RuntimeError("\x1b[1mWeights only load failed.\x1b[0m " + "Re-running it. " * 40))
    assert "\x1b" not in text and text.startswith("Weights only load failed.") and text.endswith("…")
    assert len(text) <= 202
