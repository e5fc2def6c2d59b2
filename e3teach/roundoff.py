"""Printing numerical errors so that a notebook's stored output is the same on every machine.

An equivariance error of ``5.3e-15`` on one CPU is ``7.1e-15`` on another (other SIMD kernels, other
thread counts, another BLAS): it is round-off, not a result. Outputs that the test suite compares
(``# NBVAL_CHECK_OUTPUT``) must therefore never print it. The rule, in one place:

* an error **at or below its tolerance** is printed as a *band*, ``< 1e-11``: the smallest rung of a
  fixed ladder that lies above it, and never more than the tolerance itself;
* an error **above its tolerance** is a finding (a bug, a float32 constant) and is printed with two
  significant digits, e.g. ``0.31``.

The ladder's rungs sit far above the round-off of each floating-point type, so the band does not move
between machines: float64 errors in this course are ≤ ~3e-13 (a deep network checked under E(3)),
30× below the ``1e-11`` rung; float32 errors are ≤ ~3e-4, 3× below the ``1e-3`` rung. ::

    >>> error_band(5.3e-15, 1e-10)
    '< 1e-11'
    >>> error_band(4e-11, 1e-10)      # above every rung below the tolerance: the tolerance itself
    '≤ 1e-10'
    >>> format_error(0.31, 1e-10)
    '0.31'
"""
from __future__ import annotations

import math

__all__ = ["LADDER", "decade", "error_band", "format_error"]

#: Rungs of the ladder: float64 round-off, float32 round-off.
LADDER = (1e-11, 1e-3)


def decade(x: float) -> str:
    """``1e-11`` style text for a power of ten (or any positive float, rounded to one digit)."""
    return f"{x:.0e}".replace("e-0", "e-").replace("e+0", "e+").replace("e+", "e")


def error_band(error: float, tolerance: float, ladder=LADDER) -> str:
    """The band ``'< 1e-11'`` that an error below ``tolerance`` falls in (see the module docstring).

    ``ladder=()`` gives just ``'≤ tolerance'``: for errors whose round-off can lie anywhere below the
    tolerance (e.g. ``torch.matrix_exp``, off by up to ~2e-10 for small angles in float64).
    Raises ``ValueError`` for an error above the tolerance: that is a finding, print it with
    :func:`format_error`.
    """
    error, tolerance = float(error), float(tolerance)
    if math.isnan(error) or error > tolerance:
        raise ValueError(f"error {error:.2g} is above the tolerance {tolerance:.0e}: not round-off")
    for rung in ladder:
        if error < rung <= tolerance:
            return f"< {decade(rung)}"
    return f"≤ {decade(tolerance)}"


def format_error(error: float, tolerance: float, ladder=LADDER) -> str:
    """An error as a machine-independent band when it is within ``tolerance``, else with 2 digits."""
    error = float(error)
    if math.isnan(error):
        return "nan"
    if error <= float(tolerance):
        return error_band(error, tolerance, ladder)
    return f"{error:.2g}"

