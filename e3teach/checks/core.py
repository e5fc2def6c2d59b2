"""The exercise-checker framework (how lessons use it: AUTHORING.md, section "Checkers").

A checker is an :class:`Exercise`: calling it with the learner's answer prints one line,

- ``✅ q1 · <title>: <what was verified>``,
- ``❌ q1 · <title>: <what is wrong>`` and where to look (``check.q1.hint()``),
- ``⏳ q1 · <title>: not attempted yet`` for an unfinished stub (``...`` or ``raise NotImplementedError``), or
- ``⚠️ q1 · <title>: the checker itself failed on your answer …`` when the checker's own code breaks
  (a bug to report, never blamed on the learner),

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

How answers are read, once, before any check:

- NumPy is converted: arrays become tensors, NumPy integers ``int``, NumPy floats ``float``
  (:func:`as_torch`); the answer itself and every value the learner's function returns (:func:`call`).
- ``...`` is a stub (⏳). A function whose body is ``raise NotImplementedError`` is a stub (⏳) — only that
  line of the learner's own code: a ``NotImplementedError`` that ase or e3nn raises is the learner's error. A
  function that returns ``None`` forgot its ``return`` (❌ "missing `return`?").
- An exception raised inside the learner's function (run through :func:`call`) is the learner's (❌ with
  the offending line). Any other exception comes from the checker (⚠️ "please report", with the answer).
- A float answer that is right only to float32 precision gets "your answer is float32 …, use float64",
  never a maths hint (:func:`expect_close`, :func:`fail_if_float32_precision`).

Test behaviour (values, shapes, equivariance), never source text.
"""
from __future__ import annotations

import inspect
import math
import numbers
import os
import re
import sys
import sysconfig
import textwrap
import traceback
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Callable, Sequence

import numpy as np
import torch

__all__ = ["CheckFailed", "NotAttempted", "fail", "strict", "Result", "Exercise", "exercise", "call", "learner",
           "expect_tensor", "expect_close", "expect_equal", "as_torch", "as_number", "describe", "show", "usage",
           "fail_if_float32_precision", "FLOAT64_HOW", "LOW_PRECISION", "STRICT_ENV", "is_stub", "exception_text",
           "raised"]

STRICT_ENV = "E3TEACH_STRICT"
NOT_ATTEMPTED = ("not attempted yet — replace each `...` or `raise NotImplementedError` with your answer, "
                 "run that cell, then this one")
#: Types whose precision is float32 or worse.
LOW_PRECISION = (torch.float32, torch.float16, torch.bfloat16, torch.complex64)
#: A relative deviation up to this is float32-level round-off (float32's epsilon is 1.2e-7, sums grow it).
FLOAT32_LEVEL = 1e-4
#: A relative deviation up to this is float64 round-off (epsilon 2.2e-16, sums grow it): never a float32 symptom.
FLOAT64_LEVEL = 1e-12


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
    """What a check found: ``status`` is ``"pass"``, ``"fail"``, ``"not attempted"`` or ``"checker error"``."""

    name: str
    title: str
    status: str
    message: str

    @property
    def passed(self) -> bool:
        return self.status == "pass"

    def __str__(self) -> str:
        """One verdict, folded at 100 columns (continuation lines indented) so no notebook scrolls."""
        icon = {"pass": "✅", "fail": "❌", "not attempted": "⏳", "checker error": "⚠️"}[self.status]
        text = f"{icon} {self.name} · {self.title}: {self.message}"
        return "\n".join(textwrap.fill(line, width=100, subsequent_indent="   ", break_on_hyphens=False)
                         for line in text.split("\n"))

    __repr__ = __str__


# --- reading answers ----------------------------------------------------------------------------------

def as_torch(value: Any, _depth: int = 0) -> Any:
    """The learner's value with NumPy replaced by torch/Python: arrays → tensors, NumPy integers → ``int``,
    NumPy floats → ``float``, NumPy bools → ``bool``; inside tuples, lists, sets and dict values too.
    Tensors are detached and moved to the CPU. Anything else is returned as is."""
    if isinstance(value, torch.Tensor):
        if value.requires_grad:
            value = value.detach()
        return value.cpu() if value.device.type != "cpu" else value
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "biufc":
            return torch.from_numpy(np.array(value, copy=True))
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if _depth < 3:
        if isinstance(value, tuple) and type(value) is tuple:
            return tuple(as_torch(v, _depth + 1) for v in value)
        if type(value) is list:
            return [as_torch(v, _depth + 1) for v in value]
        if type(value) is dict:
            return {k: as_torch(v, _depth + 1) for k, v in value.items()}
        if type(value) in (set, frozenset):
            try:
                return type(value)(as_torch(v, _depth + 1) for v in value)
            except TypeError:               # an unhashable converted element: keep the original
                return value
    return value


def describe(value: Any) -> str:
    """A short description of a value for messages: tensors by shape and dtype, functions by name."""
    if isinstance(value, torch.Tensor):
        if value.numel() <= 6:
            return f"{value.detach().cpu().tolist()!r} ({str(value.dtype).removeprefix('torch.')} tensor)"
        return f"a {str(value.dtype).removeprefix('torch.')} tensor of shape {tuple(value.shape)}"
    if callable(value) and hasattr(value, "__name__"):
        return f"the function `{value.__name__}`"
    text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."


def show(a: float, b: float) -> tuple[str, str]:
    """``a`` and ``b`` printed with just enough significant digits to tell them apart (at most 17)."""
    a, b = float(a), float(b)
    for digits in range(3, 18):
        sa, sb = f"{a:.{digits}g}", f"{b:.{digits}g}"
        if sa != sb or a == b:
            return sa, sb
    return repr(a), repr(b)


def as_number(value: Any, name: str, *, integer: bool = False, hint: str | None = None) -> float | int:
    """One real number (Python, NumPy, ``Fraction``, a one-element tensor) as ``float`` — or ``int`` when
    ``integer``, where an integral float is accepted. Booleans, strings, NaN and inf are ❌ with ``hint``."""
    value = as_torch(value)
    if isinstance(value, torch.Tensor):
        if value.numel() != 1:
            fail(f"`{name}` should be one number, got a tensor of shape {tuple(value.shape)}", hint)
        value = value.item()
    if isinstance(value, Fraction):
        value = float(value)
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        kind = "a whole number" if integer else "one number"
        fail(f"`{name}` should be {kind}, got {describe(value)}", hint)
    if isinstance(value, float) and not math.isfinite(value):
        fail(f"`{name}` is {value}", hint or "look for a division by zero or a NaN in your computation")
    if integer:
        if isinstance(value, float) and not value.is_integer():
            fail(f"`{name}` is {value!r}, not a whole number", hint)
        return int(value)
    return float(value)


#: Folders whose code is not the learner's: installed packages, the standard library, e3teach itself.
_LIBRARY_DIRS = tuple(os.path.realpath(p) + os.sep for p in dict.fromkeys([
    sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"], sysconfig.get_paths()["stdlib"],
    os.path.dirname(os.path.dirname(os.path.abspath(__file__)))]) if p)     # e3teach's own folder last


def _learner_file(filename: str) -> bool:
    """Whether code in ``filename`` is the learner's (a notebook cell, or any file outside the libraries)."""
    if filename.startswith("<"):
        return not filename.startswith("<frozen")         # "<ipython-input-…>", "<cell …>", "<string>"
    return not os.path.realpath(filename).startswith(_LIBRARY_DIRS)


def is_stub(exc: BaseException) -> bool:
    """Whether ``exc`` is an unfinished stub's own ``raise NotImplementedError``: exactly that type, without a
    message, raised by a line of the learner's code. One raised inside a library (ase's
    ``PropertyNotImplementedError``, e3nn's ``Irrep.__len__`` or its l limit) by the learner's code, or one the
    learner raises with a message of their own, is an error of that code, not a stub."""
    if type(exc) is not NotImplementedError or exc.args:
        return False
    frames = traceback.extract_tb(exc.__traceback__)
    return bool(frames) and _learner_file(frames[-1].filename)


_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def exception_text(exc: BaseException, limit: int = 200) -> str:
    """An exception's message for one line: ANSI colour codes removed, whitespace collapsed, an example it
    introduces (a sentence ending with ":" and what follows) left out, and a long text cut after a whole
    sentence (or a word) with "…"."""
    text = " ".join(_ANSI.sub("", str(exc)).split())
    example = re.search(r"(?<=[.!?]) [^.!?]*:( |$)", text)       # "… values. For example, the following: …"
    if example:
        text = text[:example.start()]
    if len(text) <= limit:
        return text
    cut = max(text.rfind(". ", 0, limit), text.rfind(": ", 0, limit))
    if cut < limit // 3:
        cut = text.rfind(" ", 0, limit)
    return text[:cut if cut > 0 else limit].rstrip(" .:,;") + " …"


#: What an exception raised inside a library by learner code usually means: (file ending, function) → advice.
_LIBRARY_HINTS = {
    ("_irreps.py", "__len__"): "an o3.Irrep is one irrep and has no len(): write o3.Irreps(...) for a list of irreps",
    ("_spherical_harmonics.py", "__init__"): "e3nn computes spherical harmonics up to l = 12: does a loop of "
                                            "yours run past lmax?",
    ("_rotation.py", "matrix_to_angles"): "e3nn's matrix_to_angles accepts only rotations (det R = +1); this R has "
                                          "det R = −1, and angles cannot carry the parity (it is lost): use "
                                          "irreps.D_from_matrix(R), which handles det R = −1",
    ("_rotation.py", "matrix_to_axis_angle"): "e3nn's matrix_to_axis_angle/quaternion accept only rotations (det R = +1); "
                                              "this R has det R = −1, and the parity is lost: use "
                                              "irreps.D_from_matrix(R), which handles det R = −1",
    ("serialization.py", "load"): "torch.load(..., weights_only=True), the default since torch 2.6, reads tensors "
                                  "only: save model.state_dict(), not the whole model",
    ("calculator.py", "get_property"): "ase reads what calculate() stored in self.results: assign "
                                      "self.results = {...} (with `self.`), with the keys 'energy' and 'forces'",
}


def _library_frame(exc: BaseException) -> tuple[str, str | None]:
    """Where a library raised ``exc`` ("inside e3nn's `Irrep.__len__`") and advice for it, if the innermost
    frame is not the learner's."""
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames or _learner_file(frames[-1].filename) or frames[-1].filename.startswith(_LIBRARY_DIRS[-1:]):
        return "", None                      # the learner's line, or e3teach's call of the learner's function
    frame = frames[-1]
    parts = os.path.realpath(frame.filename).split(os.sep)
    package = next((parts[i + 1] for i in range(len(parts) - 1) if parts[i] in ("site-packages", "dist-packages")),
                   None) or os.path.basename(frame.filename)
    hint = next((h for (end, fn), h in _LIBRARY_HINTS.items()
                 if frame.filename.endswith(end) and frame.name == fn), None)
    return f" inside {package} (`{frame.name}`)", hint


def raised(exc: BaseException) -> str:
    """"NotImplementedError inside e3nn (`__len__`) (in `len(irreps)`)": what the learner's code raised, in
    plain words: type, message (if any), the library function that raised it, and the learner's line."""
    text = exception_text(exc)
    inside, _ = _library_frame(exc)
    return f"{type(exc).__name__}{inside}{': ' + text if text else ''}{_user_frame(exc)}"


def _user_frame(exc: BaseException) -> str:
    """Where in the learner's code an exception happened: the last frame from a notebook cell."""
    frames = traceback.extract_tb(exc.__traceback__)
    for frame in reversed(frames):
        name = frame.filename
        if "ipykernel" in name or name.startswith("<ipython-input") or name.startswith("<cell"):
            return f" (in `{frame.line.strip()}`)" if frame.line else ""
    return ""


def _checker_frame(exc: BaseException) -> str:
    """Where in e3teach the checker broke: the last frame inside the package."""
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if f"{os.sep}e3teach{os.sep}" in frame.filename:
            return f" at {os.path.basename(frame.filename)}:{frame.lineno}"
    return ""


#: The exercise being run and the last value a learner's function returned (for ⚠️ messages).
_RUNNING: list["Exercise"] = []
_LAST_RETURN: list[Any] = []


def usage(what: str = "your_answer") -> str:
    """``check.q3(your_answer)`` for the exercise being checked (the line that shows how to call it)."""
    name = _RUNNING[-1].name if _RUNNING else "qN"
    return f"check.{name}({what})"


class Exercise:
    """A checker: call it with the answer(s); ``.hint()`` prints the next tier of hints."""

    def __init__(self, name: str, title: str, test: Callable[..., str], hints: Sequence[str] = ()):
        self.name, self.title, self.test, self.hints = name, title, test, list(hints)
        self._hints_shown = 0
        self.__doc__ = test.__doc__
        self.lesson = test.__module__.rsplit("lesson", 1)[-1] if "lesson" in test.__module__ else None

    def run(self, *answers, **kwargs) -> Result:
        """Run the check and return the :class:`Result` without printing (for tests)."""
        def result(status, message):
            return Result(self.name, self.title, status, message)

        answers = tuple(as_torch(a) for a in answers)
        kwargs = {k: as_torch(v) for k, v in kwargs.items()}
        if not answers or any(a is Ellipsis for a in answers):
            return result("not attempted", NOT_ATTEMPTED)
        if any(a is None for a in answers):
            return result("fail", "your answer is None. If it is the result of a function of yours, that function "
                                  "is missing a `return` (a function without one returns None)")
        missing = self._missing_arguments(answers, kwargs)
        if missing:
            return result("fail", missing)
        _RUNNING.append(self)
        _LAST_RETURN.clear()
        try:
            message = self.test(*answers, **kwargs)
        except NotAttempted:
            return result("not attempted", NOT_ATTEMPTED)
        except NotImplementedError as exc:
            if is_stub(exc):
                return result("not attempted", NOT_ATTEMPTED)
            inside, advice = _library_frame(exc)
            if inside:                       # a library raised it on the learner's object, e.g. ase on a calculator
                advice = advice or "fix the error, run the cell that defines your answer, then this one"
                return result("fail", f"your code raised {raised(exc)}. Hint: {advice}")
            return result("checker error", self._checker_error(exc, answers))
        except CheckFailed as exc:
            message = exc.message.rstrip()
            message += "" if message.endswith((".", "!", "?")) else "."
            tip = f" Hint: {exc.hint}" if exc.hint else ""
            more = f" (check.{self.name}.hint() for more)" if self.hints else ""
            return result("fail", f"{message}{tip}{more}")
        except KeyboardInterrupt:
            raise
        except Exception as exc:  # the learner's code runs inside call(): this is a bug of the checker
            return result("checker error", self._checker_error(exc, answers))
        finally:
            _RUNNING.pop()
        return result("pass", message or "correct")

    def _missing_arguments(self, answers: tuple, kwargs: dict) -> str | None:
        """"check.q4 takes 2 answers …" when the learner's call leaves one out (or passes too many)."""
        try:
            params = [p for p in inspect.signature(self.test).parameters.values()
                      if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
            inspect.signature(self.test).bind(*answers, **kwargs)
        except TypeError:
            names = [p.name for p in params]
            required = [p.name for p in params if p.default is p.empty]
            given = len(answers) + len(kwargs)
            if given < len(required):
                left = [n for n in required[len(answers):] if n not in kwargs]
                return (f"check.{self.name} takes {len(required)} answers, check.{self.name}({', '.join(names)}); "
                        f"your call leaves out `{'`, `'.join(left)}`. Hint: pass every answer the exercise names, "
                        f"in that order")
            return (f"check.{self.name} takes {len(names)} answer{'s' * (len(names) != 1)}, "
                    f"check.{self.name}({', '.join(names)}); your call passes {given}")
        except ValueError:                   # no signature to read: let the test itself decide
            return None
        return None

    def _checker_error(self, exc: BaseException, answers: tuple) -> str:
        shown = ", ".join(describe(a) for a in answers)
        last = f"; the last value your function returned was {describe(_LAST_RETURN[0])}" if _LAST_RETURN else ""
        return (f"the checker itself failed on your answer ({type(exc).__name__}: {exception_text(exc)}"
                f"{_checker_frame(exc)}): this is not your mistake — please report it to the course authors. "
                f"Your answer was {shown}{last}")

    def __call__(self, *answers, **kwargs) -> None:
        res = self.run(*answers, **kwargs)
        print(res)
        sys.stdout.flush()
        _record(self, res)
        if strict() and not res.passed:
            raise AssertionError(f"{STRICT_ENV}=1 and the check did not pass: {res}")

    def hint(self) -> None:
        """Print the next hint (they get more specific); after the last one, say where the worked answer is."""
        if not self.hints:
            print(f"💡 {self.name}: no hints for this one — reread the cell above the exercise.")
            return
        k = self._hints_shown
        self._hints_shown += 1
        if k < len(self.hints):
            print(f"💡 {self.name} hint {k + 1}/{len(self.hints)}: {self.hints[k]}")
            return
        where = f"solutions/{self.lesson}_*.ipynb" if self.lesson else "the solution notebook"
        print(f"💡 {self.name}: that was the last of {len(self.hints)} hints. The worked answer is in {where} "
              f"(the same notebook, solved); the last hint was: {self.hints[-1]}")

    def __repr__(self) -> str:
        return f"<exercise {self.name}: {self.title} — call it with your answer; .hint() for help>"


def _record(checker: Exercise, res: Result) -> None:
    """Store the verdict for ``e3teach.progress`` (a local file; never raises into the notebook)."""
    try:
        from ..progress import record
        record(checker.lesson, checker.name, res.status, checker.title)
    except Exception:  # recording is a convenience: a check must work without it
        pass


def exercise(title: str, hints: Sequence[str] = ()):
    """Decorator: turn a test function (returns a success message, or calls :func:`fail`) into an :class:`Exercise`."""
    def wrap(test: Callable[..., str]) -> Exercise:
        return Exercise(test.__name__, title, test, hints)
    return wrap


# --- helpers for writing checks ---------------------------------------------------------------------

def call(fn: Callable, *args, name: str | None = None, returns: bool = True, raw: bool = False, **kwargs):
    """Call the learner's function and return its value, converted by :func:`as_torch` (as it is with ``raw``,
    when its type is part of the answer).

    A stub (``...``, or a body whose own line raises ``NotImplementedError``: :func:`is_stub`) counts as not
    attempted; any other exception, a ``NotImplementedError`` raised inside a library included, becomes ❌
    with its type, message, the library function that raised it and the learner's line; ``None`` is ❌ "missing `return`?" unless
    ``returns=False``. Every call of learner code in a checker goes through here: an exception anywhere
    else is the checker's own (⚠️).
    """
    if fn is Ellipsis:
        raise NotAttempted()
    if not callable(fn):
        fail(f"expected a function, got {describe(fn)}",
             f"pass the function itself, without calling it: {usage('my_function')}")
    label = name or getattr(fn, "__name__", "your function")
    try:
        out = fn(*args, **kwargs)
    except NotAttempted:
        raise
    except KeyboardInterrupt:
        raise
    except Exception as exc:
        if is_stub(exc):
            raise NotAttempted() from None
        _, advice = _library_frame(exc)
        fail(f"your code raised {raised(exc)}, in {label}",
             advice or "fix the error, run the cell that defines your answer, then this one")
    if out is None and returns:
        fail(f"{label} returned None — missing `return`?",
             "a function that computes its result must end with `return result`")
    out = out if raw else as_torch(out)
    _LAST_RETURN[:] = [out]
    return out


def learner(fn: Callable, name: str | None = None) -> Callable:
    """``fn`` wrapped so that every call goes through :func:`call` (to hand to e3teach's equivariance checks)."""
    def wrapped(*args, **kwargs):
        return call(fn, *args, name=name, **kwargs)
    return wrapped


def expect_tensor(value, name: str, *, shape: Sequence[int] | None = None, dtype: torch.dtype | None = None,
                  finite: bool = True) -> torch.Tensor:
    """Check that ``value`` is a tensor (NumPy arrays are converted) of the right shape and dtype, without NaN/inf."""
    if value is Ellipsis:
        raise NotAttempted()
    value = as_torch(value)
    if value is None:
        fail(f"`{name}` is None — missing `return`?", "a function that computes its result must end with `return result`")
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


FLOAT64_HOW = ("create every tensor in the dtype of the inputs: torch.zeros(..., dtype=x.dtype), "
               "torch.eye(3, dtype=x.dtype) or x.new_zeros(...) — a bare torch.eye(3), torch.zeros(...) or "
               "torch.tensor(1.5) is float32, the notebook's default")


def fail_if_float32_precision(value, deviation: float, name: str, *, scale: float = 1.0, needed: str = "1e-10",
                              how: str = FLOAT64_HOW, tol: float | None = None) -> None:
    """If ``value`` deviates from the reference by float32-level round-off only, fail saying so (not a maths error).

    ``deviation`` is the largest absolute difference and ``scale`` the size of the reference values. A float32
    (or lower) ``value`` is named as such; a float64 one that is right only to float32 precision got a float32
    constant somewhere, or a rounded constant. A deviation within ``tol`` (when given), or of float64 round-off
    size, passes: the diagnosis is only for answers outside the tolerance.
    """
    scale = max(1.0, float(scale))
    if deviation <= FLOAT64_LEVEL * scale or (tol is not None and deviation <= tol):
        return
    if not deviation <= FLOAT32_LEVEL * scale:
        return
    dtype = value.dtype if isinstance(value, torch.Tensor) else None
    if dtype in LOW_PRECISION:
        fail(f"`{name}` is {str(dtype).removeprefix('torch.')}: right to {str(dtype).removeprefix('torch.')} "
             f"precision (off by {deviation:.1e}), but this check needs float64 accuracy ({needed})", how)
    kind = "float64 but right" if dtype is not None else "right"
    fail(f"`{name}` is {kind} only to float32 precision (off by {deviation:.1e}; this check needs "
         f"{needed}): a float32 tensor, or a constant rounded to a few digits, enters your computation", how)


def expect_close(actual: torch.Tensor, expected: torch.Tensor, name: str, *, atol: float = 1e-8,
                 rtol: float = 1e-6, hint: str | None = None, float32_ok: bool = False) -> float:
    """Check ``actual ≈ expected``; returns the largest deviation.

    A low-precision (float32) ``actual`` is compared at float32 tolerance when ``float32_ok``; otherwise a
    deviation of float32 size is reported as a precision problem (how to get float64), not with ``hint``.
    """
    expected = torch.as_tensor(expected)
    actual = expect_tensor(actual, name, shape=tuple(expected.shape))
    a64, e64 = actual.to(torch.float64), expected.to(torch.float64)
    dev = float((a64 - e64).abs().max()) if expected.numel() else 0.0
    scale = float(e64.abs().max()) if expected.numel() else 1.0
    if float32_ok and actual.dtype in LOW_PRECISION:
        atol, rtol = max(atol, 1e-5 * max(1.0, scale)), max(rtol, 1e-5)
    if not torch.allclose(a64, e64, atol=atol, rtol=rtol):
        fail_if_float32_precision(actual, dev, name, scale=scale, needed=f"{atol:.0e}", tol=atol)
        fail(f"`{name}` is off by up to {dev:.3g} from the expected values", hint)
    return dev


def expect_equal(actual, expected, name: str, hint: str | None = None):
    """Check a plain Python value (int, str, bool, tuple, ...) equals ``expected``."""
    if actual is Ellipsis:
        raise NotAttempted()
    actual = as_torch(actual)
    if actual != expected:
        fail(f"`{name}` is {actual!r}, which is not right", hint)
    return actual
