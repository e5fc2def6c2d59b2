"""Unit tests of the lesson 17 checkers: right answers pass (also as float32 or NumPy), typical mistakes fail
with a useful message, stubs are "not attempted", crashes and a missing `return` are ❌ without raising."""
import math

import numpy as np
import pytest
import torch
from e3nn import o3

from checker_stubs import (assert_checker_error, assert_learner_error, assert_missing_return, assert_not_attempted,
                           crashes, returning_float32, returning_numpy, status, stub_raise)
from e3teach.checks import lesson17 as check
from e3teach.env import default_dtype

ALL = (check.q1, check.q2, check.q3, check.q4, check.q5)


# --- right answers (as in the solution notebook) ------------------------------------------------------------
def harmonics_right(vectors):
    u = torch.nn.functional.normalize(vectors, dim=1)
    x, y, z = u.unbind(1)
    s15 = math.sqrt(15)
    l2 = torch.stack([s15 * x * z, s15 * x * y, math.sqrt(5) / 2 * (2 * y**2 - x**2 - z**2),
                      s15 * y * z, s15 / 2 * (z**2 - x**2)], dim=1)
    return torch.cat([torch.ones_like(x)[:, None], math.sqrt(3) * u, l2], dim=1)


def D_right(Y, R):
    points = torch.randn(40, 3, dtype=R.dtype, generator=torch.Generator().manual_seed(0))
    return torch.linalg.lstsq(Y(points), Y(points @ R.T)).solution.T


def basis_right(D1s, D2s, D3s, threshold=1e-8, elements=None):
    d1, d2, d3 = len(D1s[0]), len(D2s[0]), len(D3s[0])
    triples = list(zip(D1s, D2s, D3s))[:elements]
    eye = torch.eye(d1 * d2 * d3, dtype=D1s[0].dtype)
    A = torch.cat([torch.kron(torch.kron(a, b), c) - eye for a, b, c in triples])
    _, sigma, Vh = torch.linalg.svd(A)
    n = int((sigma < threshold).sum())
    return Vh[len(Vh) - n:].reshape(n, d1, d2, d3)


def count_right(ir1, ir2, ir3):
    (l1, p1), (l2, p2), (l3, p3) = ir1, ir2, ir3
    return int(abs(l1 - l2) <= l3 <= l1 + l2 and p3 == p1 * p2)


def tp_right(x, y, w, constants=True):
    n = len(x)
    x0, x1 = x[:, :1].reshape(n, 1, 1), x[:, 1:].reshape(n, 2, 3)
    y1, y2 = y[:, :3].reshape(n, 1, 3), y[:, 3:].reshape(n, 1, 5)
    W_a, W_b, W_c = w[0:2].reshape(1, 1, 2), w[2:4].reshape(2, 1, 1), w[4:8].reshape(2, 1, 2)
    path = lambda W, ls, a, b: torch.einsum("uvw,ijk,nui,nvj->nwk", W, o3.wigner_3j(*ls, dtype=x.dtype), a, b)
    c0 = math.sqrt(1 / 2) if constants else 1.0
    out_0e = c0 * path(W_b, (1, 1, 0), x1, y1)
    out_1o = path(W_a, (0, 1, 1), x0, y1) + path(W_c, (1, 2, 1), x1, y2)
    return torch.cat([out_0e.reshape(n, 1), out_1o.reshape(n, 6)], dim=1)


RIGHT = {check.q1: harmonics_right, check.q2: D_right, check.q3: basis_right, check.q4: count_right,
         check.q5: tp_right}


# --- every checker: right, float32, NumPy, stubs, crash, missing return, checker bug ----------------------
@pytest.mark.parametrize("ex", ALL, ids=lambda e: e.name)
def test_right_answer_passes(ex):
    assert status(ex, RIGHT[ex])[0] == "pass", status(ex, RIGHT[ex])


@pytest.mark.parametrize("ex", ALL, ids=lambda e: e.name)
def test_stubs_crashes_and_missing_return(ex):
    assert_not_attempted(ex, stub_raise)
    assert_not_attempted(ex, ...)
    assert_learner_error(ex)
    assert_missing_return(ex)


@pytest.mark.parametrize("ex", [check.q1, check.q2, check.q3, check.q5], ids=lambda e: e.name)
def test_float32_answer_passes(ex):
    st, msg = status(ex, returning_float32(RIGHT[ex]))
    assert st == "pass", msg


@pytest.mark.parametrize("ex", ALL, ids=lambda e: e.name)
def test_numpy_answer_passes(ex):
    answer = RIGHT[ex]
    if ex is check.q4:                       # a count as a NumPy integer
        answer = lambda *irs: torch.tensor(count_right(*irs))
    st, msg = status(ex, returning_numpy(answer))
    assert st == "pass", msg


def test_q4_bool_counts_pass():
    assert status(check.q4, lambda *irs: bool(count_right(*irs)))[0] == "pass"


@pytest.mark.parametrize("ex, helper", [(check.q1, "_sh"), (check.q2, "_D"), (check.q3, "_block_D"),
                                        (check.q4, "_expected_count"), (check.q5, "_q5_reference")],
                         ids=lambda v: getattr(v, "name", v))
def test_a_bug_in_the_checker_is_reported_as_such(monkeypatch, ex, helper):
    assert_checker_error(monkeypatch, ex, check, helper, RIGHT[ex])


# --- q1 -----------------------------------------------------------------------------------------------------
def _not_normalized(v):                      # right on the easy case (unit vectors) only
    x, y, z = v.unbind(1)
    s15 = math.sqrt(15)
    l2 = torch.stack([s15 * x * z, s15 * x * y, math.sqrt(5) / 2 * (2 * y**2 - x**2 - z**2),
                      s15 * y * z, s15 / 2 * (z**2 - x**2)], dim=1)
    return torch.cat([torch.ones_like(x)[:, None], math.sqrt(3) * v, l2], dim=1)


def test_q1_unit_vectors_only():
    st, msg = status(check.q1, _not_normalized)
    assert st == "fail" and "unit vectors only" in msg, msg


@pytest.mark.parametrize("factor, words", [
    (lambda l: 1 / math.sqrt(4 * math.pi), "integral"),
    (lambda l: 1 / math.sqrt(2 * l + 1), "norm"),
    (lambda l: 2.0 if l == 2 else 1.0, "constant is not"),
])
def test_q1_wrong_normalizations_are_named(factor, words):
    def answer(v):
        out = harmonics_right(v)
        return torch.cat([factor(0) * out[:, :1], factor(1) * out[:, 1:4], factor(2) * out[:, 4:]], dim=1)
    st, msg = status(check.q1, answer)
    assert st == "fail" and words in msg, msg


def test_q1_textbook_order_of_l1_is_named():
    st, msg = status(check.q1, lambda v: harmonics_right(v)[:, [0, 2, 3, 1, 4, 5, 6, 7, 8]])   # (y, z, x)
    assert st == "fail" and "another order" in msg, msg


def test_q1_polar_axis_z_and_shape():
    def polar_z(v):
        out = harmonics_right(v[:, [1, 2, 0]])   # the book's functions: polar axis z
        return out
    st, msg = status(check.q1, polar_z)
    assert st == "fail" and "block l = 1" in msg, msg
    st, msg = status(check.q1, lambda v: harmonics_right(v)[:, 4:])
    assert st == "fail" and "shape" in msg


# --- q2 -----------------------------------------------------------------------------------------------------
def test_q2_transposed_and_wrong_rotation_side():
    st, msg = status(check.q2, lambda Y, R: D_right(Y, R).T)
    assert st == "fail" and "transpose" in msg, msg


def test_q2_right_only_for_l1():
    st, msg = status(check.q2, lambda Y, R: R)          # D = R is right for l = 1 only
    assert st == "fail" and "shape" in msg and "(5, 5)" in msg, msg


def test_q2_too_few_points():
    def few(Y, R):
        points = torch.randn(2, 3, dtype=R.dtype, generator=torch.Generator().manual_seed(0))
        return torch.linalg.lstsq(Y(points), Y(points @ R.T), driver="gelsd").solution.T
    st, msg = status(check.q2, few)
    assert st == "fail" and "enough random points" in msg, msg


# --- q3 -----------------------------------------------------------------------------------------------------
def test_q3_first_element_only():
    st, msg = status(check.q3, lambda *Ds: basis_right(*Ds, elements=1))
    assert st == "fail" and "every group element" in msg, msg


def test_q3_always_one_solution():                    # right on the easy cases (a unique solution) only
    def one(D1s, D2s, D3s):
        d1, d2, d3 = len(D1s[0]), len(D2s[0]), len(D3s[0])
        eye = torch.eye(d1 * d2 * d3, dtype=D1s[0].dtype)
        A = torch.cat([torch.kron(torch.kron(a, b), c) - eye for a, b, c in zip(D1s, D2s, D3s)])
        return torch.linalg.svd(A)[2][-1:].reshape(1, d1, d2, d3)
    st, msg = status(check.q3, one)
    assert st == "fail" and ("not invariant" in msg or "there are" in msg), msg


def test_q3_largest_singular_vectors_and_bad_shape():
    def largest(D1s, D2s, D3s):
        d1, d2, d3 = len(D1s[0]), len(D2s[0]), len(D3s[0])
        eye = torch.eye(d1 * d2 * d3, dtype=D1s[0].dtype)
        A = torch.cat([torch.kron(torch.kron(a, b), c) - eye for a, b, c in zip(D1s, D2s, D3s)])
        return torch.linalg.svd(A)[2][:1].reshape(1, d1, d2, d3)
    st, msg = status(check.q3, largest)
    assert st == "fail" and "SMALLEST" in msg, msg
    st, msg = status(check.q3, lambda *Ds: basis_right(*Ds).flatten(1))
    assert st == "fail" and "shape" in msg, msg


def test_q3_threshold_too_strict():
    st, msg = status(check.q3, lambda *Ds: basis_right(*Ds, threshold=1e-30))
    assert st == "fail" and "found 0 solution" in msg, msg


# --- q4 -----------------------------------------------------------------------------------------------------
def test_q4_no_parity_and_no_triangle():
    st, msg = status(check.q4, lambda a, b, c: int(abs(a[0] - b[0]) <= c[0] <= a[0] + b[0]))
    assert st == "fail" and "parity" in msg, msg
    st, msg = status(check.q4, lambda a, b, c: int(c[1] == a[1] * b[1]))
    assert st == "fail" and "wrong counts" in msg and "|l1 − l2|" in msg, msg
    st, msg = status(check.q4, lambda a, b, c: "yes")
    assert st == "fail" and "whole number" in msg, msg


def test_q4_right_for_l_up_to_2_only():             # an answer that hard-codes the table of the lesson
    def table(a, b, c):
        if max(a[0], b[0], c[0]) > 2:
            return 0
        return count_right(a, b, c)
    st, msg = status(check.q4, table)
    assert st == "fail" and "wrong counts" in msg, msg


# --- q5 -----------------------------------------------------------------------------------------------------
def test_q5_missing_constant_is_named():
    st, msg = status(check.q5, lambda x, y, w: tp_right(x, y, w, constants=False))
    assert st == "fail" and "0e output block" in msg and "missing" in msg, msg


def test_q5_wrong_weight_order_and_missing_path():
    st, msg = status(check.q5, lambda x, y, w: tp_right(x, y, w.flip(0)))
    assert st == "fail" and "weight order" in msg, msg

    def only_first_path(x, y, w):                     # right when x has no 1o part only
        out = tp_right(x, y, w)
        n = len(x)
        y1 = y[:, :3].reshape(n, 1, 3)
        a = torch.einsum("uvw,ijk,nui,nvj->nwk", w[0:2].reshape(1, 1, 2), o3.wigner_3j(0, 1, 1, dtype=x.dtype),
                         x[:, :1].reshape(n, 1, 1), y1)
        return torch.cat([torch.zeros_like(out[:, :1]), a.reshape(n, 6)], dim=1)
    st, msg = status(check.q5, only_first_path)
    assert st == "fail" and "block" in msg, msg


def test_checkers_never_raise_in_the_notebook(capsys, monkeypatch):
    monkeypatch.delenv("E3TEACH_STRICT", raising=False)
    for ex in ALL:
        ex(crashes)
    check.q1(lambda v: float("nan") * v)
    out = capsys.readouterr().out
    assert out.count("❌") == len(ALL) + 1


# --- issue 19 --------------------------------------------------------------------------------------------
def test_q1_errors_in_l0_and_l1_do_not_mention_the_polar_axis():
    def l1_of_raw_vector(v):                                 # l = 1 on the unnormalized... plus a shift: not e3nn
        out = harmonics_right(v)
        return torch.cat([out[:, :1], out[:, 1:4] + 0.3 * out[:, 1:4] ** 2, out[:, 4:]], dim=1)
    st, msg = status(check.q1, l1_of_raw_vector)
    assert st == "fail" and "block l = 1" in msg and "polar axis" not in msg and "√3 (x, y, z)" in msg, msg
    st, msg = status(check.q1, lambda v: torch.cat([harmonics_right(v)[:, :1] + v[:, :1] ** 2,
                                                    harmonics_right(v)[:, 1:]], dim=1))
    assert st == "fail" and "block l = 0" in msg and "polar axis" not in msg, msg


def test_q4_strict_triangle_inequality_is_not_told_about_parity():
    def strict(ir1, ir2, ir3):
        (l1, p1), (l2, p2), (l3, p3) = ir1, ir2, ir3
        return int(abs(l1 - l2) < l3 < l1 + l2 and p3 == p1 * p2)
    st, msg = status(check.q4, strict)
    assert st == "fail" and "not <" in msg and "parity" not in msg, msg


def test_q5_per_path_normalization_is_named():
    def per_path(x, y, w):
        n = len(x)
        x0, x1 = x[:, :1].reshape(n, 1, 1), x[:, 1:].reshape(n, 2, 3)
        y1, y2 = y[:, :3].reshape(n, 1, 3), y[:, 3:].reshape(n, 1, 5)
        W_a, W_b, W_c = w[0:2].reshape(1, 1, 2), w[2:4].reshape(2, 1, 1), w[4:8].reshape(2, 1, 2)
        path = lambda W, ls, a, b: torch.einsum("uvw,ijk,nui,nvj->nwk", W, o3.wigner_3j(*ls, dtype=x.dtype), a, b)
        out_0e = math.sqrt(1 / 2) * path(W_b, (1, 1, 0), x1, y1)
        out_1o = math.sqrt(3 / 1) * path(W_a, (0, 1, 1), x0, y1) + math.sqrt(3 / 2) * path(W_c, (1, 2, 1), x1, y2)
        return torch.cat([out_0e.reshape(n, 1), out_1o.reshape(n, 6)], dim=1)
    st, msg = status(check.q5, per_path)
    assert st == "fail" and "its own fan-in" in msg and "weight order" not in msg, msg
