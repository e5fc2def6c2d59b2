"""Unit tests of the lesson 20 checkers, with answers written the way learners write them: right answers pass
(also as float32 or NumPy), answers right only on the easy case (multiplicity 1, l = 1, l = 0) fail with a
message that says so, stubs are "not attempted", crashes and a missing `return` are ❌, and an error raised
inside e3nn is the learner's, never "not attempted"."""
import math

import numpy as np
import torch
from e3nn import o3

from checker_stubs import (assert_checker_error, assert_fails, assert_learner_error, assert_missing_return,
                           assert_not_attempted, assert_passes, returning_float32, returning_numpy, stub_raise)
from e3teach import env
from e3teach.checks import lesson20 as check


def to_ir_mul(x, irreps):
    return torch.cat([x[:, s].reshape(len(x), mul, ir.dim).transpose(1, 2).reshape(len(x), -1)
                      for (mul, ir), s in zip(irreps, irreps.slices())], dim=-1)


def e3nn_to_textbook(c, l):
    P = torch.tensor([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], dtype=torch.float64)
    with env.default_dtype(torch.float64):
        D = o3.Irrep(l, (-1) ** l).D_from_matrix(P.T)
    return c @ D.T


def sh_factor(l, source, target):
    scale = {"component": 1.0, "integral": 1 / math.sqrt(4 * math.pi), "norm": 1 / math.sqrt(2 * l + 1)}
    return scale[target] / scale[source]


def port_weights(weights):
    return torch.cat([torch.as_tensor(w).permute(1, 2, 0).reshape(-1) for w in weights])


def test_q1():
    assert_passes(check.q1, to_ir_mul)
    assert_passes(check.q1, returning_numpy(to_ir_mul))
    assert_passes(check.q1, returning_float32(to_ir_mul))
    assert_fails(check.q1, lambda x, irreps: x, words="multiplicity is 1")
    wrong_way = lambda x, irreps: torch.cat([x[:, s].reshape(len(x), ir.dim, mul).transpose(1, 2)  # noqa: E731
                                             .reshape(len(x), -1) for (mul, ir), s in zip(irreps, irreps.slices())], -1)
    assert_fails(check.q1, wrong_way, words="ir_mul → mul_ir")
    assert_not_attempted(check.q1, stub_raise)
    assert_missing_return(check.q1)
    assert_learner_error(check.q1)
    res = check.q1.run(lambda x, irreps: [len(ir) for _, ir in irreps])   # len(Irrep) raises inside e3nn
    assert res.status == "fail" and "NotImplementedError inside e3nn" in res.message, res.message


def test_q2():
    assert_passes(check.q2, e3nn_to_textbook)
    assert_passes(check.q2, returning_numpy(e3nn_to_textbook))
    assert_passes(check.q2, returning_float32(e3nn_to_textbook))
    shuffle_l1 = lambda c, l: c[:, [1, 2, 0]] if l == 1 else c      # noqa: E731  right only for l = 1
    assert_fails(check.q2, shuffle_l1, words="index shuffle")
    assert_fails(check.q2, lambda c, l: c, words="l = 1")
    assert_not_attempted(check.q2, stub_raise)
    assert_missing_return(check.q2)
    assert_learner_error(check.q2)
    shear = lambda c, l: c @ o3.Irrep(l, (-1) ** l).D_from_matrix(2 * torch.eye(3)).T   # noqa: E731
    res = check.q2.run(shear)                                         # bare AssertionError inside e3nn
    assert res.status == "fail" and "your code raised AssertionError" in res.message, res.message


def test_q3():
    assert_passes(check.q3, sh_factor)
    assert_passes(check.q3, lambda *a: np.float64(sh_factor(*a)))
    assert_passes(check.q3, lambda *a: torch.tensor(sh_factor(*a), dtype=torch.float32))
    l0_only = lambda l, s, t: sh_factor(0, s, t)                       # noqa: E731  right only for l = 0
    assert_fails(check.q3, l0_only, words="√(2l+1)")
    assert_fails(check.q3, lambda l, s, t: 1.0, words="integral")
    assert_not_attempted(check.q3, stub_raise)
    assert_missing_return(check.q3)
    assert_learner_error(check.q3)


def test_q4():
    assert_passes(check.q4, port_weights)
    assert_passes(check.q4, returning_numpy(port_weights))
    assert_passes(check.q4, lambda ws: port_weights([np.asarray(w) for w in ws]))
    assert_fails(check.q4, lambda ws: torch.cat([w.reshape(-1) for w in ws]), words="as they are")
    assert_fails(check.q4, lambda ws: torch.cat([w.permute(0, 2, 1).reshape(-1) for w in ws]),
                 words="as they are")                        # mul2 = 1 here: the same numbers as no permute
    assert_fails(check.q4, lambda ws: port_weights(ws[::-1]), words="another output")
    assert_not_attempted(check.q4, stub_raise)
    assert_missing_return(check.q4)
    assert_learner_error(check.q4)


def test_checker_bugs_are_reported_as_such(monkeypatch):
    assert_checker_error(monkeypatch, check.q1, check, "_ir_mul", to_ir_mul)
    monkeypatch.undo()
    assert_checker_error(monkeypatch, check.q2, check, "_to_textbook", e3nn_to_textbook)
