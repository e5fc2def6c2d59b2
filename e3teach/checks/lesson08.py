"""Checkers for exercises/08_nonlinearities_and_gates."""
from __future__ import annotations

import functools

import torch
from e3nn import nn, o3

from ..env import default_dtype
from ..equivariance import check_equivariance, locate_equivariance_break
from ..models import EquivariantPointNet
from ..roundoff import format_error
from .core import (LOW_PRECISION, call, describe, exercise, expect_close, expect_equal, expect_tensor, fail,
                   fail_if_float32_precision, learner)

__all__ = ["ODD_ACTIVATIONS", "ALL_ACTIVATIONS", "q1", "q2", "q3", "broken_model", "q4"]

ODD_ACTIVATIONS = {"tanh", "sin", "cube", "softsign"}
ALL_ACTIVATIONS = {"tanh", "sin", "cube", "softsign", "cos", "square", "abs", "relu", "silu", "sigmoid"}


@exercise("a norm activation for vectors", hints=[
    "Reshape (N, mul*3) to (N, mul, 3): one 3-vector per multiplicity.",
    "The norm of each vector is invariant; scale each vector by sigmoid(norm) — a scalar — and reshape back.",
    "v = x.reshape(len(x), -1, 3); n = v.norm(dim=-1, keepdim=True); return (torch.sigmoid(n) * v).reshape(len(x), -1)",
])
def q1(norm_activation):
    """Check f(x) for features '4x1o': each vector v becomes sigmoid(|v|) v."""
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(6, 12, generator=gen, dtype=torch.float64)
    out = expect_tensor(call(norm_activation, x, name="norm_activation(x)"), "norm_activation(x)", shape=(6, 12))
    v = x.reshape(6, 4, 3)
    expected = (torch.sigmoid(v.norm(dim=-1, keepdim=True)) * v).reshape(6, 12)
    if out.dtype in LOW_PRECISION:
        fail_if_float32_precision(out, float((out.to(torch.float64) - expected).abs().max()), "norm_activation(x)",
                                  needed="1e-10 (the equivariance check)")
    report = check_equivariance(learner(norm_activation, "norm_activation"), "4x1o", "4x1o")
    if not report.ok:
        fail(f"your activation is not equivariant: {report.verdict()}",
             "act on the norm of each 3-vector, never on single components")
    expect_close(out, expected, "norm_activation(x)", atol=1e-10,
                 hint="equivariant, but not sigmoid(|v|) v: check the scale factor and the grouping into 3-vectors")
    return (f"equivariant (error {format_error(report.max_error, report.tolerance)}) and equal to sigmoid(|v|)·v "
            "for 4 vectors per row")


@exercise("which activations may act on a pseudoscalar (0o)?", hints=[
    "Under inversion a 0o scalar s becomes -s. For the output to stay a 0o, you need f(-s) = -f(s).",
    "That is an odd function. cube means s**3, square means s**2.",
])
def q2(allowed):
    """Check the set of activation names that keep a 0o input a 0o output."""
    if not isinstance(allowed, (set, list, tuple, frozenset)):
        fail(f"answer with a set of names, e.g. {{'tanh', ...}}, got {type(allowed).__name__}")
    not_names = [a for a in allowed if not isinstance(a, str)]
    if not_names:
        named = [getattr(a, "__name__", None) for a in not_names]
        shown = ", ".join(f"`{n}`" if n else describe(a) for n, a in zip(named, not_names))
        fail(f"your answer holds {shown}: the exercise asks for the names of the activations, as strings",
             "write them in quotes, e.g. {'tanh', ...} — 'cube' means s**3 and 'square' s**2")
    allowed = {str(a) for a in allowed}
    unknown = allowed - ALL_ACTIVATIONS
    if unknown:
        fail(f"{sorted(unknown)} are not among the candidates {sorted(ALL_ACTIVATIONS)}")
    wrong = allowed - ODD_ACTIVATIONS
    if wrong:
        fail(f"{sorted(wrong)} would break O(3) on a 0o input", "test one: is f(-s) = -f(s)?")
    missing = ODD_ACTIVATIONS - allowed
    if missing:
        fail(f"you left out {len(missing)} activation(s) that are fine", "which other candidates are odd functions?")
    return "exactly the odd functions: tanh, sin, cube and softsign"


@exercise("build a Gate", hints=[
    "The gated irreps are the l > 0 part: '2x1o + 1x2e'.",
    "Each gated irrep needs one gate scalar: 3 gates, '3x0e', squashed with torch.sigmoid.",
    "nn.Gate('4x0e', [torch.nn.functional.silu], '3x0e', [torch.sigmoid], '2x1o + 1x2e')",
])
def q3(gate):
    """Check an e3nn Gate whose output is '4x0e + 2x1o + 1x2e': its irreps, and what it does to an input."""
    if not isinstance(gate, nn.Gate):
        fail(f"expected an e3nn.nn.Gate, got {type(gate).__name__}", "build it with nn.Gate(...)")
    expect_equal(str(gate.irreps_out.simplify()), "4x0e+2x1o+1x2e", "gate.irreps_out",
                 hint="scalars stay, gated irreps stay; the gates themselves are consumed")
    if gate.irreps_in.simplify() != o3.Irreps("7x0e + 2x1o + 1x2e"):
        fail(f"gate.irreps_in is '{gate.irreps_in}', but 4 scalars + 3 gates + '2x1o + 1x2e' is '7x0e+2x1o+1x2e'",
             "each gated irrep needs one gate scalar: 2 + 1 = 3 gates")
    x = torch.randn(5, gate.irreps_in.dim, generator=torch.Generator().manual_seed(83), dtype=torch.float64)
    out = expect_tensor(call(gate, x.clone(), name="gate(x)"), "gate(x)", shape=(5, gate.irreps_out.dim))
    if not torch.allclose(out.to(torch.float64), _gate(torch.nn.functional.silu, torch.sigmoid)(x), atol=1e-6):
        for scalars, gates, what in ((torch.sigmoid, torch.nn.functional.silu, "swapped: sigmoid on the scalars and "
                                      "silu on the gates"), (torch.nn.functional.silu, torch.nn.functional.silu,
                                      "silu on the gates too"), (torch.sigmoid, torch.sigmoid, "sigmoid on the scalars too"),
                                     (torch.tanh, torch.sigmoid, "tanh on the scalars"),
                                     (torch.relu, torch.sigmoid, "relu on the scalars")):
            if torch.allclose(out.to(torch.float64), _gate(scalars, gates)(x), atol=1e-6):
                fail(f"right irreps, but the activations are {what}",
                     "act_scalars=[torch.nn.functional.silu] for the 4 scalars, act_gates=[torch.sigmoid] for the gates")
        fail("right irreps, but gate(x) differs from nn.Gate('4x0e', [silu], '3x0e', [sigmoid], '2x1o + 1x2e')(x)",
             "the scalars go through silu, the gates through sigmoid, in the order scalars, gates, gated")
    report = check_equivariance(learner(gate, "gate"), gate.irreps_in, gate.irreps_out)
    if not report.ok:
        fail(f"the gate is not equivariant: {report.verdict()}", "gates must be even scalars (0e) here")
    return (f"input '{gate.irreps_in}', output '{gate.irreps_out}': silu on the scalars, sigmoid on the gates "
            "(same output as the reference gate), equivariant")


def _gate(act_scalars, act_gates) -> nn.Gate:
    with default_dtype(torch.float64):
        return nn.Gate("4x0e", [act_scalars], "3x0e", [act_gates], "2x1o + 1x2e")


def broken_model() -> tuple[torch.nn.Module, torch.Tensor]:
    """A 3-block network with one planted bug, and a point cloud to run it on."""
    with default_dtype(torch.float64):
        torch.manual_seed(8)
        model = EquivariantPointNet("0o + 2x0e + 1x1o", layers=3, r_max=2.0)
        model.blocks[2].conv.tp = _LeakyTensorProduct(model.blocks[2].conv.tp)
        pos = torch.randn(7, 3, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    return model, pos


class _LeakyTensorProduct(torch.nn.Module):
    """The planted bug: a tensor product whose output gets a small pointwise ReLU added (a "residual
    nonlinearity" someone thought harmless). Its scalars are still fine; its vectors are not."""

    def __init__(self, tp):
        super().__init__()
        self.tp = tp
        self.irreps_out = tp.irreps_out

    def forward(self, *args):
        """The tensor product's inputs → (..., irreps_out.dim), with a ReLU leak that breaks equivariance."""
        out = self.tp(*args)
        return out + 0.1 * torch.relu(out)


@functools.lru_cache(maxsize=1)
def _first_break() -> tuple[str, float, frozenset]:
    """The locator's answer on :func:`broken_model` (name, error, all module names); cached: it takes seconds."""
    model, pos = broken_model()
    first = locate_equivariance_break(model, pos).first_break
    return first.name, first.max_error, frozenset(n for n, _ in model.named_modules())


@exercise("find the broken module", hints=[
    "Run e3teach.equivariance.locate_equivariance_break(model, pos) and print the report.",
    "The answer is the name of the FIRST module that fails, e.g. 'blocks.0.gate'.",
])
def q4(name):
    """Check the dotted name of the first module whose output breaks equivariance."""
    if not isinstance(name, str):
        fail(f"answer with the module's name as a string, got {type(name).__name__}", "e.g. 'blocks.0.gate'")
    first_name, first_error, known = _first_break()
    if name == first_name:
        return f"'{name}' is where equivariance first breaks (error {first_error:.2g})"
    if name not in known:
        fail(f"there is no module called '{name}' in the model", "copy the name from the locator's report")
    fail(f"'{name}' is not the first module that breaks",
         "modules are listed in the order they run; downstream modules inherit the error")
