"""Exercise checkers. Each lesson's checkers live in ``e3teach.checks.lessonNN``::

    from e3teach.checks import lesson01 as check
    check.q1(my_answer)      # ✅ / ❌ / ⏳ with the reason
    check.q1.hint()          # tiered hints

The framework is in :mod:`e3teach.checks.core`.
"""
from .core import (STRICT_ENV, CheckFailed, Exercise, NotAttempted, Result, call, exercise, expect_close,
                   expect_equal, expect_tensor, fail, strict)

__all__ = ["STRICT_ENV", "CheckFailed", "Exercise", "NotAttempted", "Result", "call", "exercise",
           "expect_close", "expect_equal", "expect_tensor", "fail", "strict"]
