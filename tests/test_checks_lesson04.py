"""The checkers of lesson 04: right answers pass, typical mistakes fail with a useful message, stubs are ⏳."""
import math

import pytest
import torch
from e3nn import o3

import e3teach
import e3teach.viz
from e3teach.checks import lesson04 as check


def status(exercise, *answers):
    return exercise.run(*answers)


def stub_raises(*args):
    raise NotImplementedError


def crashes(*args):
    raise ValueError("boom")


# ------------------------------------------------------------------------------------------- q1
def sh_l1(x):
    return math.sqrt(3) * x / x.norm(dim=1, keepdim=True)


@pytest.mark.parametrize("wrong, phrase", [
    (lambda x: math.sqrt(3) * x, "depend only on the direction"),
    (lambda x: x / x.norm(dim=1, keepdim=True), "math.sqrt(3)"),
    (lambda x: o3.spherical_harmonics(1, x, True), "integral"),
    (lambda x: sh_l1(x)[:, [1, 2, 0]], "(x, y, z)"),
    (lambda x: sh_l1(x).float(), "dtype"),
    (lambda x: sh_l1(x).T, "shape"),
    (lambda x: sh_l1(x) * float("nan"), "NaN"),
    (lambda x: sh_l1(x).tolist(), "torch.Tensor"),
])
def test_q1_wrong_answers(wrong, phrase):
    res = status(check.q1, wrong)
    assert res.status == "fail" and phrase in res.message, res.message


def test_q1():
    assert status(check.q1, sh_l1).passed
    assert status(check.q1, lambda x: o3.spherical_harmonics(1, x, True, normalization="component")).passed
    assert status(check.q1, ...).status == "not attempted"
    assert status(check.q1, stub_raises).status == "not attempted"
    res = status(check.q1, crashes)
    assert res.status == "fail" and "ValueError" in res.message and "boom" in res.message


# ------------------------------------------------------------------------------------------- q2
def sh_signal(pos, lmax):
    return o3.spherical_harmonics(o3.Irreps.spherical_harmonics(lmax), pos, True, normalization="component").sum(0)


@pytest.mark.parametrize("wrong, phrase", [
    (lambda pos, lmax: o3.spherical_harmonics(o3.Irreps.spherical_harmonics(lmax), pos, True).sum(0), "integral"),
    (lambda pos, lmax: sh_signal(pos, lmax) / len(pos), "averaged"),
    (lambda pos, lmax: o3.spherical_harmonics(o3.Irreps.spherical_harmonics(lmax), pos, False,
                                              normalization="component").sum(0), "directions"),
    (lambda pos, lmax: o3.spherical_harmonics(o3.Irreps.spherical_harmonics(lmax), pos, True,
                                              normalization="component"), "one row per point"),
    (lambda pos, lmax: o3.spherical_harmonics(lmax, pos, True, normalization="component").sum(0), "(lmax+1)²"),
    (lambda pos, lmax: sh_signal(pos, lmax) + float("inf"), "inf"),
    (lambda pos, lmax: sh_signal(pos, lmax) * 1.01, "off by"),
])
def test_q2_wrong_answers(wrong, phrase):
    res = status(check.q2, wrong)
    assert res.status == "fail" and phrase in res.message, res.message


def test_q2():
    assert status(check.q2, sh_signal).passed
    assert status(check.q2, lambda pos, lmax: e3teach.viz.sh_expansion(pos, lmax)).passed
    assert status(check.q2, ...).status == "not attempted"
    assert status(check.q2, stub_raises).status == "not attempted"
    assert status(check.q2, crashes).status == "fail"


# ------------------------------------------------------------------------------------------- q3
def sh_wigner_D(R, lmax):
    with e3teach.default_dtype(torch.float64):
        return o3.Irreps.spherical_harmonics(lmax).D_from_matrix(R)


@pytest.mark.parametrize("wrong, phrase", [
    (lambda R, lmax: sh_wigner_D(R, lmax).T, "transpose"),
    (lambda R, lmax: o3.Irreps.spherical_harmonics(lmax).D_from_matrix(R), "float32-accurate"),
    (lambda R, lmax: sh_wigner_D(R, lmax).float(), "float32-accurate"),
    (lambda R, lmax: sh_wigner_D(R * torch.det(R), lmax), "parity"),
    (lambda R, lmax: torch.eye((lmax + 1) ** 2, dtype=R.dtype), "differ by"),
    (lambda R, lmax: sh_wigner_D(R, lmax)[:9, :9], "shape"),
    (lambda R, lmax: sh_wigner_D(R, lmax) * float("nan"), "NaN"),
])
def test_q3_wrong_answers(wrong, phrase):
    with e3teach.default_dtype(torch.float32):  # as in the notebooks: float32 default
        res = status(check.q3, wrong)
    assert res.status == "fail" and phrase in res.message, res.message


def test_q3_parity_with_even_irreps():
    def even(R, lmax):
        with e3teach.default_dtype(torch.float64):
            return o3.Irreps.spherical_harmonics(lmax, p=1).D_from_matrix(R)
    res = status(check.q3, even)
    assert res.status == "fail" and "parity" in res.message and "improper" in res.message


def test_q3():
    with e3teach.default_dtype(torch.float32):
        assert status(check.q3, sh_wigner_D).passed
    assert status(check.q3, ...).status == "not attempted"
    assert status(check.q3, stub_raises).status == "not attempted"
    assert status(check.q3, crashes).status == "fail"


# ------------------------------------------------------------------------------------------- q4
def flat_index(l, m):
    return l * l + l + m


@pytest.mark.parametrize("wrong, xy, phrase", [
    (lambda l, m: l + m, 5, "blocks before l"),
    (lambda l, m: l * l + m, 5, "m starts at -l"),
    (lambda l, m: (l + 1) ** 2 + m, 5, "not right"),
    (lambda l, m: str(l * l + l + m), 5, "integer"),
    (flat_index, 4, "textbook"),
    (flat_index, 6, "xy_index"),
])
def test_q4_wrong_answers(wrong, xy, phrase):
    res = status(check.q4, wrong, xy)
    assert res.status == "fail" and phrase in res.message, res.message


def test_q4():
    assert status(check.q4, flat_index, 5).passed
    assert status(check.q4, lambda l, m: torch.tensor(l * l + l + m), torch.tensor(5)).passed
    assert status(check.q4, flat_index, ...).status == "not attempted"
    assert status(check.q4, stub_raises, 5).status == "not attempted"
    assert status(check.q4, crashes, 5).status == "fail"


def test_checks_never_raise_outside_strict(monkeypatch, capsys):
    monkeypatch.delenv("E3TEACH_STRICT", raising=False)
    for q in (check.q1, check.q2, check.q3):
        q(crashes)
    check.q4(crashes, 5)
    out = capsys.readouterr().out
    assert out.count("❌") == 4


def test_hints_are_tiered(capsys):
    for q in (check.q1, check.q2, check.q3, check.q4):
        assert len(q.hints) >= 3


# ------------------------------------------------------------------------------------------- issue 8 classes
import numpy as np  # noqa: E402

from checker_stubs import (assert_checker_error, assert_float32_named, assert_learner_error,  # noqa: E402
                           assert_missing_return, assert_passes, returning_float32, returning_numpy)

FUNCTIONS = [(check.q1, sh_l1), (check.q2, sh_signal), (check.q3, sh_wigner_D)]


@pytest.mark.parametrize("exercise, right", FUNCTIONS)
def test_numpy_answers_pass(exercise, right):
    assert_passes(exercise, returning_numpy(right))


def test_float32_answers():
    assert_float32_named(status(check.q1, returning_float32(sh_l1)))            # dtype of the input must be kept
    assert_passes(check.q2, returning_float32(sh_signal))                      # a sum of harmonics: float32 is fine
    res = status(check.q3, returning_float32(sh_wigner_D))                     # 1e-10 needs float64
    assert res.status == "fail" and "float32" in res.message and "transpose" not in res.message


def test_q4_numpy_integers_pass():
    assert_passes(check.q4, lambda l, m: np.int64(l * l + l + m), np.int64(5))
    assert_passes(check.q4, flat_index, np.int32(5))


@pytest.mark.parametrize("exercise, extra", [(check.q1, ()), (check.q2, ()), (check.q3, ()), (check.q4, (5,))])
def test_missing_return_and_learner_errors(exercise, extra):
    assert_missing_return(exercise, *extra)
    assert_learner_error(exercise, *extra)


@pytest.mark.parametrize("exercise, helper, answers", [
    (check.q1, "_cloud", (sh_l1,)), (check.q2, "_cloud", (sh_signal,)), (check.q3, "_rotation", (sh_wigner_D,)),
    (check.q4, "_sh", (flat_index, 5))])
def test_exception_in_the_checker_is_reported_as_such(monkeypatch, exercise, helper, answers):
    assert_checker_error(monkeypatch, exercise, check, helper, *answers, shown=f"`{answers[0].__name__}`")


def test_q2_right_only_for_one_lmax_fails():
    res = status(check.q2, lambda pos, lmax: sh_signal(pos, 3))
    assert res.status == "fail" and "shape" in res.message


# ------------------------------------------------------------------------------------------- q5, q6 (issue 10)
def sphere_quadrature(lmax, nodes_beta=None, nodes_alpha=None):
    nodes, weights = np.polynomial.legendre.leggauss(lmax + 1 if nodes_beta is None else nodes_beta)
    beta = torch.arccos(torch.from_numpy(nodes))
    n_alpha = 2 * lmax + 1 if nodes_alpha is None else nodes_alpha
    alpha = torch.arange(n_alpha, dtype=torch.float64) * (2 * math.pi / n_alpha)
    b, a = torch.meshgrid(beta, alpha, indexing="ij")
    w = torch.from_numpy(weights)[:, None] * (2 * math.pi / n_alpha) * torch.ones_like(a)
    return o3.angles_to_xyz(a, b).reshape(-1, 3), w.reshape(-1)


def monte_carlo(lmax):
    points = torch.nn.functional.normalize(torch.randn(20000, 3, dtype=torch.float64,
                                                       generator=torch.Generator().manual_seed(1)), dim=1)
    return points, torch.full((20000,), 4 * math.pi / 20000, dtype=torch.float64)


def sign_changes(values, periodic):
    s = torch.sign(values)
    if periodic:
        s = torch.cat([s, s[:1]])
    return int((s[1:] != s[:-1]).sum())


@pytest.mark.parametrize("wrong, phrase", [
    (lambda lmax: sphere_quadrature(lmax, nodes_beta=lmax), "too few nodes"),           # Gauss–Legendre one short
    (lambda lmax: sphere_quadrature(lmax, nodes_alpha=2 * lmax), "too few nodes"),      # α grid one short
    (monte_carlo, "only approximate"),
    (lambda lmax: sphere_quadrature(2), "too few nodes"),                               # right only for lmax ≤ 2
    (lambda lmax: (sphere_quadrature(lmax)[0], sphere_quadrature(lmax)[1] / math.pi / 2), "sum to 2"),
    (lambda lmax: (sphere_quadrature(lmax)[0], sphere_quadrature(lmax)[1] / 3), "4π"),
    (lambda lmax: (2 * sphere_quadrature(lmax)[0], sphere_quadrature(lmax)[1]), "unit sphere"),
    (lambda lmax: sphere_quadrature(lmax)[0], "(points, weights)"),
    (lambda lmax: (sphere_quadrature(lmax)[0].reshape(-1), sphere_quadrature(lmax)[1]), "(P, 3)"),
    (lambda lmax: (sphere_quadrature(lmax)[0], sphere_quadrature(lmax)[1][:-1]), "one per point"),
    (lambda lmax: (sphere_quadrature(lmax)[0], sphere_quadrature(lmax)[1] * float("nan")), "NaN"),
])
def test_q5_wrong_answers(wrong, phrase):
    res = status(check.q5, wrong)
    assert res.status == "fail" and phrase in res.message, res.message


def test_q5():
    res = status(check.q5, sphere_quadrature)
    assert res.passed and "exact" in res.message
    assert status(check.q5, lambda lmax: sphere_quadrature(lmax, lmax + 2, 2 * lmax + 2)).passed   # more nodes: fine
    assert status(check.q5, ...).status == "not attempted"
    assert status(check.q5, stub_raises).status == "not attempted"
    assert status(check.q5, crashes).status == "fail"


@pytest.mark.parametrize("wrong, phrase", [
    (lambda v, periodic: sign_changes(v, False), "last value back to the first"),
    (lambda v, periodic: sign_changes(v, True), "ends are not neighbours"),
    (lambda v, periodic: int((torch.sign(v) < 0).sum()), "not right"),
    (lambda v, periodic: 0.5, "whole number"),
    (lambda v, periodic: "3", "whole number"),
])
def test_q6_wrong_answers(wrong, phrase):
    res = status(check.q6, wrong)
    assert res.status == "fail" and phrase in res.message, res.message


def test_q6_right_on_the_easy_cases_only():
    def by_hand_only(values, periodic):                     # right on short sequences, wrong on long ones
        return sign_changes(values, periodic) if len(values) < 10 else 0
    res = status(check.q6, by_hand_only)
    assert res.status == "fail" and "pole to pole" in res.message, res.message


def test_q6():
    res = status(check.q6, sign_changes)
    assert res.passed and "2|m|" in res.message and "l − |m|" in res.message
    assert status(check.q6, lambda v, periodic: torch.tensor(sign_changes(v, periodic))).passed
    assert status(check.q6, ...).status == "not attempted"
    assert status(check.q6, stub_raises).status == "not attempted"
    assert status(check.q6, crashes).status == "fail"


def test_q5_q6_numpy_and_float32():
    assert_passes(check.q5, returning_numpy(sphere_quadrature))
    assert_float32_named(status(check.q5, returning_float32(sphere_quadrature)))    # 1e-12 needs float64
    assert_passes(check.q6, returning_numpy(lambda v, periodic: torch.tensor(sign_changes(v, periodic))))
    assert_passes(check.q6, lambda v, periodic: sign_changes(v.float(), periodic))  # signs: float32 is fine


@pytest.mark.parametrize("exercise", [check.q5, check.q6])
def test_q5_q6_missing_return_learner_errors_and_hints(exercise):
    assert_missing_return(exercise)
    assert_learner_error(exercise)
    assert len(exercise.hints) >= 3


def test_q5_q6_checker_errors(monkeypatch):
    assert_checker_error(monkeypatch, check.q5, check, "_gram_error", sphere_quadrature, shown="`sphere_quadrature`")
    monkeypatch.undo()
    assert_checker_error(monkeypatch, check.q6, check, "_latitude_circle", sign_changes, shown="`sign_changes`")


# --- issue 19 ---------------------------------------------------------------------------------------------
def test_q1_one_global_norm_is_named():
    res = status(check.q1, lambda x: math.sqrt(3) * x / x.norm())
    assert res.status == "fail" and "one norm of the whole" in res.message and "dim=1" in res.message, res


def test_q3_angles_of_an_improper_rotation_say_det_minus_one():
    """D_from_angles(*matrix_to_angles(R)): e3nn asserts det R = +1 inside; the learner hears det −1, parity lost."""
    def via_angles(R, lmax):
        with e3teach.default_dtype(torch.float64):
            return o3.Irreps.spherical_harmonics(lmax).D_from_angles(*o3.matrix_to_angles(R))
    res = status(check.q3, via_angles)
    assert res.status == "fail" and "det R = −1" in res.message and "parity" in res.message, res
    assert "D_from_matrix" in res.message and "AssertionError: ," not in res.message


def test_q5_swapped_angles_to_xyz_arguments_are_named():
    def swapped(lmax):
        nodes, weights = np.polynomial.legendre.leggauss(lmax + 1)
        beta = torch.arccos(torch.from_numpy(nodes))
        n_alpha = 2 * lmax + 1
        alpha = torch.arange(n_alpha, dtype=torch.float64) * (2 * math.pi / n_alpha)
        b, a = torch.meshgrid(beta, alpha, indexing="ij")
        w = torch.from_numpy(weights)[:, None] * (2 * math.pi / n_alpha) * torch.ones_like(a)
        return o3.angles_to_xyz(b, a).reshape(-1, 3), w.reshape(-1)
    res = status(check.q5, swapped)
    assert res.status == "fail" and "swapped" in res.message and "too few nodes" not in res.message, res
