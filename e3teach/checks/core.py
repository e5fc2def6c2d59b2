"""The exercise-checker framework (see ``shared/COURSE.md`` §6).

A checker is an :class:`Exercise`: calling it with the learner's answer prints one line,

- ``✅ q1 · <title>: <what was verified>``,
- ``❌ q1 · <title>: <what is wrong>`` and where to look (``check.q1.hint()``), or
- ``⏳ q1 · <title>: not attempted yet`` for an unfinished stub (``...`` or ``raise NotImplementedError``),

and never raises into the notebook — unless ``E3TEACH_STRICT=1`` is set (the test suite sets it for
solution notebooks), in which case anything but ✅ raises ``AssertionError``.

Writing a checker::

    @exercise("rotate a point cloud", hints=["Rows are points: multiply on the right.", "pos @ R.T"])
    def q1(rotate):
        pos = torch.randn(5, 3, dtype=torch.float64)
        R = random_rotation()
        out = expect_tensor(call(rotate, pos, R), "rotate(pos, R)", shape=(5, 3))
        expect_close(out, pos @ R.T, "rotate(pos, R)", hint="compare with pos @ R.T")
        return "matches pos @ R.T on a random cloud"

Test behaviour (values, shapes, equivariance), never source text.
"""
from __future__ import annotations

import os
import sys
import traceback
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np
import torch

STRICT_ENV = "E3TEACH_STRICT"
NOT_ATTEMPTED = ("not attempted yet — replace each `...` or `raise NotImplementedError` with your answer, "
                 "run that cell, then this one")


class CheckFailed(Exception):
    """Raised inside a checker when the answer is wrong; the message is shown to the learner."""

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message, self.hint = message, hint


class NotAttempted(Exception):
    """Raised inside a checker when the answer is still a stub."""


def fail(message: str, hint: str | None = None):
    """Stop the check with ❌ and ``message`` (plus an optional targeted ``hint``)."""
    raise CheckFailed(message, hint)


def strict() -> bool:
    return os.environ.get(STRICT_ENV, "").strip() not in ("", "0", "false", "False")


@dataclass
class Result:
    """What a check found: ``status`` is ``"pass"``, ``"fail"`` or ``"not attempted"``."""

    name: str
    title: str
    status: str
    message: str

    @property
    def passed(self) -> bool:
        return self.status == "pass"

    def __str__(self) -> str:
        icon = {"pass": "✅", "fail": "❌", "not attempted": "⏳"}[self.status]
        return f"{icon} {self.name} · {self.title}: {self.message}"

    __repr__ = __str__


def _user_frame(exc: BaseException) -> str:
    """Where in the learner's code an exception happened: the last frame from a notebook cell."""
    frames = traceback.extract_tb(exc.__traceback__)
    for frame in reversed(frames):
        name = frame.filename
        if "ipykernel" in name or name.startswith("<ipython-input") or name.startswith("<cell"):
            return f" (in `{frame.line.strip()}`)" if frame.line else ""
    return ""


def _is_stub(value: Any) -> bool:
    return value is Ellipsis or value is None


class Exercise:
    """A checker: call it with the answer(s); ``.hint()`` prints the next tier of hints."""

    def __init__(self, name: str, title: str, test: Callable[..., str], hints: Sequence[str] = ()):
        self.name, self.title, self.test, self.hints = name, title, test, list(hints)
        self._hints_shown = 0
        self.__doc__ = test.__doc__

    def run(self, *answers, **kwargs) -> Result:
        """Run the check and return the :class:`Result` without printing (for tests)."""
        def result(status, message):
            return Result(self.name, self.title, status, message)

        if not answers or any(_is_stub(a) for a in answers):
            return result("not attempted", NOT_ATTEMPTED)
        try:
            message = self.test(*answers, **kwargs)
        except (NotAttempted, NotImplementedError):
            return result("not attempted", NOT_ATTEMPTED)
        except CheckFailed as exc:
            tip = f" Hint: {exc.hint}" if exc.hint else ""
            more = f" (check.{self.name}.hint() for more)" if self.hints else ""
            return result("fail", f"{exc.message}.{tip}{more}".replace("..", "."))
        except KeyboardInterrupt:
            raise
        except Exception as exc:  # a bug in the learner's code must not escape as a traceback
            return result("fail", f"your code raised {type(exc).__name__}: {exc}{_user_frame(exc)}. "
                                  "Fix the error, run the cell that defines your answer, then this one.")
        return result("pass", message or "correct")

    def __call__(self, *answers, **kwargs) -> None:
        res = self.run(*answers, **kwargs)
        print(res)
        sys.stdout.flush()
        if strict() and not res.passed:
            raise AssertionError(f"{STRICT_ENV}=1 and the check did not pass: {res}")

    def hint(self) -> None:
        """Print the next hint (they get more specific); the last one repeats."""
        if not self.hints:
            print(f"💡 {self.name}: no hints for this one — reread the cell above the exercise.")
            return
        k = min(self._hints_shown, len(self.hints) - 1)
        self._hints_shown += 1
        print(f"💡 {self.name} hint {k + 1}/{len(self.hints)}: {self.hints[k]}")

    def __repr__(self) -> str:
        return f"<exercise {self.name}: {self.title} — call it with your answer; .hint() for help>"


def exercise(title: str, hints: Sequence[str] = ()):
    """Decorator: turn a test function (returns a success message, or calls :func:`fail`) into an :class:`Exercise`."""
    def wrap(test: Callable[..., str]) -> Exercise:
        return Exercise(test.__name__, title, test, hints)
    return wrap


# --- helpers for writing checks ---------------------------------------------------------------------

def call(fn: Callable, *args, name: str | None = None, **kwargs):
    """Call the learner's function; a stub counts as not attempted, other errors become ❌ with the reason."""
    if _is_stub(fn):
        raise NotAttempted()
    if not callable(fn):
        fail(f"expected a function, got {type(fn).__name__}", "pass the function itself, without calling it: check.q1(my_function)")
    label = name or getattr(fn, "__name__", "your function")
    try:
        return fn(*args, **kwargs)
    except (NotImplementedError, NotAttempted):
        raise NotAttempted()
    except KeyboardInterrupt:
        raise
    except Exception as exc:
        fail(f"{label} raised {type(exc).__name__}: {exc}{_user_frame(exc)}")


def expect_tensor(value, name: str, *, shape: Sequence[int] | None = None, dtype: torch.dtype | None = None,
                  finite: bool = True) -> torch.Tensor:
    """Check that ``value`` is a tensor (NumPy arrays are converted) of the right shape and dtype, without NaN/inf."""
    if _is_stub(value):
        raise NotAttempted()
    if isinstance(value, np.ndarray):
        value = torch.from_numpy(value)
    if not isinstance(value, torch.Tensor):
        fail(f"`{name}` should be a torch.Tensor, got {type(value).__name__}",
             "build it with torch operations (torch.tensor(...) converts a list)")
    if shape is not None and tuple(value.shape) != tuple(shape):
        fail(f"`{name}` has shape {tuple(value.shape)}, expected {tuple(shape)}",
             "print(x.shape) at each step of your code to see where the shape changes")
    if dtype is not None and value.dtype != dtype:
        fail(f"`{name}` has dtype {value.dtype}, expected {dtype}", f"convert with .to({dtype})")
    if not value.dtype.is_floating_point and not value.dtype.is_complex and dtype is None and finite:
        return value
    if finite and not bool(torch.isfinite(value).all()):
        bad = "NaN" if bool(torch.isnan(value).any()) else "inf"
        fail(f"`{name}` contains {bad}", "look for a division by zero (e.g. normalizing a zero vector) or a log/sqrt of a negative number")
    return value


def expect_close(actual: torch.Tensor, expected: torch.Tensor, name: str, *, atol: float = 1e-8,
                 rtol: float = 1e-6, hint: str | None = None) -> float:
    """Check ``actual ≈ expected``; returns the largest deviation."""
    expected = torch.as_tensor(expected)
    actual = expect_tensor(actual, name, shape=tuple(expected.shape))
    dev = float((actual.to(torch.float64) - expected.to(torch.float64)).abs().max()) if expected.numel() else 0.0
    if not torch.allclose(actual.to(torch.float64), expected.to(torch.float64), atol=atol, rtol=rtol):
        fail(f"`{name}` is off by up to {dev:.3g} from the expected values", hint)
    return dev


def expect_equal(actual, expected, name: str, hint: str | None = None):
    """Check a plain Python value (int, str, bool, tuple, ...) equals ``expected``."""
    if _is_stub(actual):
        raise NotAttempted()
    if actual != expected:
        fail(f"`{name}` is {actual!r}, which is not right", hint)
    return actual


__all__ = ["CheckFailed", "NotAttempted", "fail", "strict", "Result", "Exercise", "exercise", "call",
           "expect_tensor", "expect_close", "expect_equal", "STRICT_ENV"]
