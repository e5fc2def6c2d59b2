import torch
from e3nn import nn

from e3teach.checks import lesson08 as check


def correct_norm_activation(x):
    v = x.reshape(len(x), -1, 3)
    return (torch.sigmoid(v.norm(dim=-1, keepdim=True)) * v).reshape(len(x), -1)


def stub(x):
    raise NotImplementedError


def test_q1():
    assert check.q1.run(correct_norm_activation).passed
    pointwise = check.q1.run(torch.sigmoid)
    assert pointwise.status == "fail" and "not equivariant" in pointwise.message
    wrong_scale = check.q1.run(lambda x: correct_norm_activation(x) * 2)
    assert wrong_scale.status == "fail" and "scale factor" in wrong_scale.message
    assert check.q1.run(stub).status == "not attempted"
    assert check.q1.run(lambda x: x[:, :3]).status == "fail"
    assert "NaN" in check.q1.run(lambda x: x * float("nan")).message
    assert "ZeroDivisionError" in check.q1.run(lambda x: 1 / 0).message


def test_q2():
    assert check.q2.run({"tanh", "sin", "cube", "softsign"}).passed
    assert "cos" in check.q2.run({"tanh", "sin", "cube", "softsign", "cos"}).message
    assert "left out" in check.q2.run({"tanh"}).message
    assert "not among" in check.q2.run({"tanh", "gelu"}).message
    assert check.q2.run("tanh").status == "fail"
    assert check.q2.run(...).status == "not attempted"


def test_q3():
    good = nn.Gate("4x0e", [torch.nn.functional.silu], "3x0e", [torch.sigmoid], "2x1o + 1x2e")
    assert check.q3.run(good).passed
    wrong = nn.Gate("2x0e", [torch.nn.functional.silu], "3x0e", [torch.sigmoid], "2x1o + 1x2e")
    assert check.q3.run(wrong).status == "fail"
    assert check.q3.run(torch.nn.Identity()).status == "fail"
    assert check.q3.run(...).status == "not attempted"


def test_q4():
    assert check.q4.run("blocks.2.conv.tp").passed
    assert "not the first" in check.q4.run("output").message
    assert "no module called" in check.q4.run("blocks.9").message
    assert check.q4.run(3).status == "fail"
    assert check.q4.run(...).status == "not attempted"
