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
