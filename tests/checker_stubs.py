"""What every checker must survive, the way learners answer, and the asserts that go with it.

The classes of answers (issue 8 §2), each with a helper:

- stubs: ``...`` (a top-level answer not written yet) and a function whose body is ``raise
  NotImplementedError`` (what the exercise notebooks hold) → ⏳ (:func:`assert_not_attempted`);
- a function that computes but forgets ``return`` → ❌ "missing `return`?" (:func:`assert_missing_return`);
- an exception in the learner's code → ❌ "your code raised ..." (:func:`assert_learner_error`);
- an exception in the checker's own code → ⚠️ "the checker itself failed ... please report", with the answer
  (:func:`assert_checker_error`);
- a right answer in float32 → ✅ where float32 is enough, else ❌ that says "float32" and how to get float64,
  never a maths hint (:func:`returning_float32`, :func:`assert_float32_named`);
- a right answer in NumPy (arrays, NumPy integers, NumPy floats) → ✅ (:func:`returning_numpy`).
"""
from __future__ import annotations

import numpy as np
import torch


def status(exercise, *answers):
    """(status, message) of a checker run, without printing."""
    res = exercise.run(*answers)
    return res.status, res.message


def stub_raise(*args, **kwargs):
    """What a generated exercise holds: the body of the function is a stub."""
    raise NotImplementedError


def forgot_return(*args, **kwargs):
    """Computes something, returns None."""
    _ = [a for a in args]


#: kept for older tests: a function whose body is `...` returns None, i.e. forgot its return
stub_ellipsis = forgot_return


def crashes(*args, **kwargs):
    raise KeyError("oops")


def boom(*args, **kwargs):
    """Stands in for a checker's internal helper, to plant a bug in the checker."""
    raise RuntimeError("planted checker bug")


def _map(value, convert):
    if isinstance(value, torch.Tensor):
        return convert(value)
    if isinstance(value, tuple):
        return tuple(_map(v, convert) for v in value)
    if isinstance(value, list):
        return [_map(v, convert) for v in value]
    if isinstance(value, dict):
        return {k: _map(v, convert) for k, v in value.items()}
    return value


def _to_numpy(t: torch.Tensor):
    t = t.detach()
    if t.dim() == 0:
        return t.numpy()[()]          # a NumPy scalar (np.float64, np.int64, ...)
    return t.numpy()


def returning_numpy(fn):
    """``fn`` answering in NumPy: every tensor it returns becomes an ndarray (0-d ones a NumPy scalar)."""
    def wrapped(*args, **kwargs):
        return _map(fn(*args, **kwargs), _to_numpy)
    wrapped.__name__ = getattr(fn, "__name__", "numpy_answer")
    return wrapped


def returning_float32(fn):
    """``fn`` answering in float32 (the notebooks' default dtype): every float tensor it returns is cast."""
    def wrapped(*args, **kwargs):
        return _map(fn(*args, **kwargs), lambda t: t.float() if t.is_floating_point() else t)
    wrapped.__name__ = getattr(fn, "__name__", "float32_answer")
    return wrapped


def assert_passes(exercise, *answers):
    res = exercise.run(*answers)
    assert res.passed, str(res)
    return res


def assert_fails(exercise, *answers, words=()):
    """❌ whose message contains every one of ``words``."""
    res = exercise.run(*answers)
    assert res.status == "fail", str(res)
    for w in (words,) if isinstance(words, str) else words:
        assert w in res.message, (w, str(res))
    return res


def assert_not_attempted(exercise, *answers):
    res = exercise.run(*answers)
    assert res.status == "not attempted" and "not attempted" in res.message, str(res)


def assert_missing_return(exercise, *extra):
    """A function without ``return``, passed where the learner's function goes (first argument)."""
    res = exercise.run(forgot_return, *extra)
    assert res.status == "fail" and "missing `return`" in res.message, str(res)


def assert_learner_error(exercise, *extra):
    res = exercise.run(crashes, *extra)
    assert res.status == "fail" and "your code raised KeyError" in res.message and "oops" in res.message, str(res)
    assert "checker" not in res.message, str(res)


def assert_checker_error(monkeypatch, exercise, module, helper: str, *answers, shown: str | None = None,
                         planted: bool = True):
    """Plant a bug in ``module.helper`` (used by the checker): ⚠️, never blamed on the learner, answer shown."""
    monkeypatch.setattr(module, helper, boom)
    res = exercise.run(*answers)
    assert res.status == "checker error", str(res)
    assert "the checker itself failed" in res.message and "please report" in res.message, str(res)
    assert ("planted checker bug" in res.message or not planted) and "your code raised" not in res.message, str(res)
    if shown:
        assert shown in res.message, (shown, str(res))
    assert str(res).startswith("⚠️")
    return res


def assert_float32_named(res):
    """A float32 answer that fails must say so (and how to get float64), not give a maths hint."""
    assert res.status == "fail", str(res)
    assert "float32" in res.message and ("float64" in res.message or "dtype" in res.message), str(res)
