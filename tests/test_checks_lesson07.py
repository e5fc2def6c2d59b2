"""Unit tests of the lesson 07 checkers: right answers pass, typical mistakes fail clearly, stubs are ⏳."""
import math

import torch
from e3nn import o3

from e3teach.checks import lesson07 as check
from e3teach.graph import radius_graph as ref_radius_graph
from e3teach.graph import scatter_sum as ref_scatter_sum


def _stub(*args, **kwargs):
    raise NotImplementedError


def _boom(*args, **kwargs):
    raise ZeroDivisionError("oops")


def _status(q, answer):
    return q.run(answer)


# ---- q1
def cdist_graph(pos, r_max):
    d = torch.cdist(pos, pos)
    return ((d > 0) & (d < r_max)).nonzero().T.unbind(0)


def one_way(pos, r_max):
    s, d = ref_radius_graph(pos, r_max)
    keep = s < d
    return s[keep], d[keep]


def test_q1():
    assert _status(check.q1, ref_radius_graph).passed
    res = _status(check.q1, cdist_graph)
    assert res.status == "fail" and ("self-loop" in res.message or "same place" in res.message)
    res = _status(check.q1, one_way)
    assert res.status == "fail" and "one direction" in res.message
    for stub in (..., _stub):
        assert _status(check.q1, stub).status == "not attempted"
    res = _status(check.q1, _boom)
    assert res.status == "fail" and "ZeroDivisionError" in res.message
    res = _status(check.q1, lambda pos, r: (torch.zeros(3), torch.zeros(3)))
    assert res.status == "fail" and "dtype" in res.message


# ---- q2
def overwrite(src, index, n):
    out = src.new_zeros((n,) + tuple(src.shape[1:]))
    out[index] = src
    return out


def test_q2():
    assert _status(check.q2, ref_scatter_sum).passed
    res = _status(check.q2, overwrite)
    assert res.status == "fail" and "overwrite" in res.message
    for stub in (..., _stub):
        assert _status(check.q2, stub).status == "not attempted"
    assert _status(check.q2, _boom).status == "fail"
    res = _status(check.q2, lambda s, i, n: ref_scatter_sum(s, i, n) * float("nan"))
    assert res.status == "fail" and "NaN" in res.message
    res = _status(check.q2, lambda s, i, n: ref_scatter_sum(s, i, n + 1))
    assert res.status == "fail" and "shape" in res.message
    res = _status(check.q2, lambda s, i, n: ref_scatter_sum(s, i, n).float())
    assert res.status == "fail" and "dtype" in res.message


# ---- q3
def conv_step(x, pos, src, dst, tp, mlp, radial, nn, flip=False, norm=True):
    vec = pos[dst] - pos[src]
    vec = -vec if flip else vec
    sh = o3.spherical_harmonics(tp.irreps_in2, vec, normalize=True, normalization="component")
    out = ref_scatter_sum(tp(x[src], sh, mlp(radial(vec.norm(dim=1)))), dst, x.shape[0])
    return out / math.sqrt(nn) if norm else out


def test_q3():
    assert _status(check.q3, conv_step).passed
    res = _status(check.q3, lambda *a: conv_step(*a, flip=True))
    assert res.status == "fail" and "wrong way" in res.message
    res = _status(check.q3, lambda *a: conv_step(*a, norm=False))
    assert res.status == "fail" and "normalized" in res.message
    res = _status(check.q3, lambda x, p, s, d, *a: conv_step(x, p, d, s, *a))
    assert res.status == "fail"
    for stub in (..., _stub):
        assert _status(check.q3, stub).status == "not attempted"
    assert _status(check.q3, _boom).status == "fail"
    res = _status(check.q3, lambda x, *a: torch.zeros(x.shape[0], 3))
    assert res.status == "fail" and "shape" in res.message


# ---- q4
def field(src, dst, node, k, backwards=False):
    reach = {node}
    for _ in range(k):
        pairs = zip(dst.tolist(), src.tolist()) if backwards else zip(src.tolist(), dst.tolist())
        reach |= {s for s, d in pairs if d in reach}
    return reach


def test_q4():
    assert _status(check.q4, field).passed
    assert _status(check.q4, lambda s, d, n, k: sorted(field(s, d, n, k))).passed     # a list is fine
    res = _status(check.q4, lambda *a: field(*a, backwards=True))
    assert res.status == "fail" and "backwards" in res.message
    res = _status(check.q4, lambda s, d, n, k: field(s, d, n, k) - {n})
    assert res.status == "fail"
    for stub in (..., _stub):
        assert _status(check.q4, stub).status == "not attempted"
    assert _status(check.q4, _boom).status == "fail"
    assert _status(check.q4, lambda *a: 3).status == "fail"


def test_hints_print(capsys):
    for q in (check.q1, check.q2, check.q3, check.q4):
        q.hint()
    assert capsys.readouterr().out.count("💡") == 4


# ---- issue 8 classes
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from checker_stubs import (assert_checker_error, assert_float32_named, assert_learner_error,  # noqa: E402
                           assert_missing_return, assert_passes, returning_float32, returning_numpy)


def receptive_field(src, dst, node, k):
    return field(src, dst, node, k)


RIGHT = [(check.q1, ref_radius_graph), (check.q2, ref_scatter_sum), (check.q3, conv_step), (check.q4, receptive_field)]


@pytest.mark.parametrize("exercise, right", RIGHT)
def test_numpy_missing_return_and_learner_errors(exercise, right):
    assert_passes(exercise, returning_numpy(right))
    assert_missing_return(exercise)
    assert_learner_error(exercise)


def test_numpy_integers():
    assert_passes(check.q1, lambda pos, r: tuple(t.numpy().astype(np.int64) for t in ref_radius_graph(pos, r)))
    assert_passes(check.q4, lambda *a: {np.int64(v) for v in field(*a)})
    assert_passes(check.q4, lambda *a: np.array(sorted(field(*a)), dtype=np.int64))


def test_float32_answers():
    res = check.q2.run(returning_float32(ref_scatter_sum))              # src's dtype must be kept
    assert res.status == "fail" and "dtype" in res.message
    res = check.q3.run(returning_float32(conv_step))
    assert_float32_named(res)
    assert "not E(3)-equivariant" not in res.message and "wrong way" not in res.message


def test_q1_pair_exactly_at_r_max_is_not_an_edge():
    def at_most(pos, r_max):
        n = len(pos)
        i, j = torch.meshgrid(torch.arange(n), torch.arange(n), indexing="ij")
        i, j = i.reshape(-1), j.reshape(-1)
        keep = (i != j) & ((pos[j] - pos[i]).norm(dim=1) <= r_max)
        return i[keep], j[keep]
    res = check.q1.run(at_most)
    assert res.status == "fail" and "r_max" in res.message and "strictly" in res.message


def test_q3_hard_coded_num_neighbors_fails():
    res = check.q3.run(lambda x, pos, s, d, tp, mlp, radial, nn: conv_step(x, pos, s, d, tp, mlp, radial, 4.0))
    assert res.status == "fail"
    res = check.q3.run(lambda x, pos, s, d, tp, mlp, radial, nn:                # √4 = 4 / 2
                       conv_step(x, pos, s, d, tp, mlp, radial, 1.0) / (nn / 2))
    assert res.status == "fail" and "num_neighbors = 9" in res.message and "divided by 4.5" in res.message


def test_q3_leaves_the_notebook_random_state_alone():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    check.q3.run(conv_step)
    assert torch.equal(torch.rand(3), expected)


@pytest.mark.parametrize("exercise, helper, answer", [
    (check.q1, "_ref_radius_graph", ref_radius_graph), (check.q2, "_ref_scatter_sum", ref_scatter_sum),
    (check.q3, "_q3_reference", conv_step), (check.q4, "_reference_field", receptive_field)])
def test_exception_in_the_checker_is_reported_as_such(monkeypatch, exercise, helper, answer):
    assert_checker_error(monkeypatch, exercise, check, helper, answer)


def test_q3_integral_normalized_harmonics_are_named():
    """Issue 19: o3.spherical_harmonics' default normalization scales every message by 1/√(4π)."""
    def integral(x, pos, src, dst, tp, mlp, radial, nn):
        vec = pos[dst] - pos[src]
        sh = o3.spherical_harmonics(tp.irreps_in2, vec, normalize=True)
        return ref_scatter_sum(tp(x[src], sh, mlp(radial(vec.norm(dim=1)))), dst, x.shape[0]) / math.sqrt(nn)
    res = check.q3.run(integral)
    assert res.status == "fail" and "'integral'" in res.message and "normalization='component'" in res.message, res
    assert "divided by" not in res.message
