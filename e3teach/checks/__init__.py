"""Exercise checkers. Each lesson's checkers live in ``e3teach.checks.lessonNN``::

    from e3teach.checks import lesson01 as check
    check.q1(my_answer)      # ✅ / ❌ / ⏳ with the reason (⚠️ if the checker itself breaks)
    check.q1.hint()          # tiered hints

The framework is in :mod:`e3teach.checks.core`.
"""
from .core import (FLOAT64_HOW, LOW_PRECISION, STRICT_ENV, CheckFailed, Exercise, NotAttempted, Result, as_number,
                   as_torch, call, describe, exercise, expect_close, expect_equal, expect_tensor,
                   fail, fail_if_float32_precision, learner, show, strict, usage)

__all__ = ["FLOAT64_HOW", "LOW_PRECISION", "STRICT_ENV", "CheckFailed", "Exercise", "NotAttempted", "Result",
           "as_number", "as_torch", "call", "describe", "exercise", "expect_close", "expect_equal", "expect_tensor",
           "fail", "fail_if_float32_precision", "learner", "show", "strict", "usage"]
