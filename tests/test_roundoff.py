"""Errors within tolerance print as bands that do not move between CPUs; findings keep two digits."""
import math

import pytest

from e3teach.roundoff import LADDER, error_band, format_error


@pytest.mark.parametrize("error, tolerance, text", [
    (0.0, 1e-10, "< 1e-11"),
    (5.3e-15, 1e-10, "< 1e-11"),
    (7.1e-15, 1e-10, "< 1e-11"),          # the two CPUs of issue 8 now print the same
    (3e-13, 1e-10, "< 1e-11"),
    (4e-11, 1e-10, "≤ 1e-10"),
    (2e-7, 1e-5, "≤ 1e-5"),
    (2e-4, 1e-3, "< 1e-3"),
    (1e-14, 1e-12, "≤ 1e-12"),            # a rung above the tolerance is never used
])
def test_bands(error, tolerance, text):
    assert format_error(error, tolerance) == text == error_band(error, tolerance)


def test_findings_keep_two_significant_digits_and_nan_is_said():
    assert format_error(0.31, 1e-10) == "0.31"
    assert format_error(2.4e-7, 1e-10) == "2.4e-07"
    assert format_error(math.nan, 1e-10) == "nan"
    with pytest.raises(ValueError, match="not round-off"):
        error_band(1.0, 1e-10)


def test_without_a_ladder_only_the_tolerance_is_printed():
    assert format_error(2e-10, 1e-9, ladder=()) == "≤ 1e-9"
    assert format_error(1e-16, 1e-9, ladder=()) == "≤ 1e-9"


def test_rungs_lie_far_above_the_round_off_seen_in_the_course():
    float64_worst, float32_worst = 3e-13, 3e-4   # E(3) check of a 3-block network; float32-built network
    assert LADDER[0] / float64_worst >= 30 and LADDER[1] / float32_worst >= 3
