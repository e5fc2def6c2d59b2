"""Checkers for exercises/20_conventions_and_interop."""
from __future__ import annotations

import math

import torch
from e3nn import o3

from ..env import default_dtype
from .core import as_number, call, exercise, expect_close, expect_tensor, fail

__all__ = ["AXIS_PERMUTATION", "NORMALIZATIONS", "q1", "q2", "q3", "tensor_product",
           "other_code_weights", "q4"]

#: The cyclic relabelling P r = (z, x, y): e3nn's y-polar harmonics at P r are the textbook's z-polar ones.
AXIS_PERMUTATION = torch.tensor([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], dtype=torch.float64)
NORMALIZATIONS = ("integral", "component", "norm")


def _ir_mul(x: torch.Tensor, irreps: o3.Irreps) -> torch.Tensor:
    return torch.cat([x[:, s].reshape(len(x), mul, ir.dim).transpose(1, 2).reshape(len(x), -1)
                      for (mul, ir), s in zip(irreps, irreps.slices())], dim=-1)


@exercise("mul_ir → ir_mul", hints=[
    "Block by block (irreps.slices()): a block of mul copies of an irrep of dimension d is (mul, d) in e3nn.",
    "Reshape each block to (batch, mul, d), transpose the last two axes, flatten, concatenate.",
])
def q1(to_ir_mul):
    """Check to_ir_mul(x, irreps) on '2x0e + 3x1o + 1x2e + 2x2o' against the reference."""
    irreps = o3.Irreps("2x0e + 3x1o + 1x2e + 2x2o")
    x = torch.randn(5, irreps.dim, generator=torch.Generator().manual_seed(20), dtype=torch.float64)
    out = expect_tensor(call(to_ir_mul, x.clone(), irreps, name="to_ir_mul(x, irreps)"), "to_ir_mul(x, irreps)",
                        shape=(5, irreps.dim))
    expected = _ir_mul(x, irreps)
    if torch.allclose(out.to(torch.float64), x, atol=1e-6):
        fail("your output is the input unchanged: right only where every multiplicity is 1",
             "for '3x1o' the three x components come first, then the three y, then the three z")
    wrong_way = torch.cat([x[:, s].reshape(5, ir.dim, mul).transpose(1, 2).reshape(5, -1)
                           for (mul, ir), s in zip(irreps, irreps.slices())], dim=-1)
    if torch.allclose(out.to(torch.float64), wrong_way, atol=1e-6):
        fail("you converted ir_mul → mul_ir: e3nn's block is (mul, dim), reshape to that before transposing")
    expect_close(out, expected, "to_ir_mul(x, irreps)", atol=1e-6, hint="transpose inside each block, keep the "
                 "order of the blocks")
    return "right on '2x0e + 3x1o + 1x2e + 2x2o': a transpose in each block"


def _to_textbook(l: int) -> torch.Tensor:
    with default_dtype(torch.float64):
        return o3.Irrep(l, (-1) ** l).D_from_matrix(AXIS_PERMUTATION.T)


@exercise("e3nn → textbook coefficients", hints=[
    "P = [[0, 0, 1], [1, 0, 0], [0, 1, 0]] maps (x, y, z) to (z, x, y); the conversion is D^l(P⁻¹) = D^l(Pᵀ).",
    "D = o3.Irrep(l, (-1)**l).D_from_matrix(P.T) (in float64); return c @ D.T for rows of coefficients.",
])
def q2(e3nn_to_textbook):
    """Check e3nn_to_textbook(c, l) for l = 1, 2, 3 against D(P⁻¹)."""
    gen = torch.Generator().manual_seed(21)
    for l in (1, 2, 3):
        c = torch.randn(4, 2 * l + 1, generator=gen, dtype=torch.float64)
        out = expect_tensor(call(e3nn_to_textbook, c.clone(), l, name="e3nn_to_textbook(c, l)"),
                            f"e3nn_to_textbook(c, {l})", shape=(4, 2 * l + 1))
        expected = c @ _to_textbook(l).T
        if not torch.allclose(out.to(torch.float64), expected, atol=1e-6):
            if l > 1:
                fail(f"right for l = 1 but not for l = {l}: an index shuffle works only for l = 1",
                     "multiply by D^l(P⁻¹), a full (2l+1)×(2l+1) matrix")
            expect_close(out, expected, "e3nn_to_textbook(c, 1)", atol=1e-6,
                         hint="for l = 1 the textbook order is (y, z, x); rows are coefficient vectors: c @ D.T")
    return "right for l = 1, 2, 3: D of the axis permutation"


def _sh_factor(l: int, source: str, target: str) -> float:
    scale = {"component": 1.0, "integral": 1 / math.sqrt(4 * math.pi), "norm": 1 / math.sqrt(2 * l + 1)}
    return scale[target] / scale[source]


@exercise("a normalization factor", hints=[
    "Express both in terms of 'component': integral = component / √(4π), norm = component / √(2l+1).",
    "factor = scale[target] / scale[source]",
])
def q3(sh_factor):
    """Check sh_factor(l, source, target) for l = 0..3 and every pair of e3nn's three normalizations."""
    r = torch.randn(6, 3, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    for l in range(4):
        for source in NORMALIZATIONS:
            for target in NORMALIZATIONS:
                got = as_number(call(sh_factor, l, source, target, name="sh_factor(l, source, target)"),
                                f"sh_factor({l}, {source!r}, {target!r})")
                with default_dtype(torch.float64):
                    y_s = o3.spherical_harmonics(l, r, True, normalization=source)
                    y_t = o3.spherical_harmonics(l, r, True, normalization=target)
                if not torch.allclose(y_s * got, y_t, rtol=1e-6, atol=1e-9):
                    hint = ("norm = component / √(2l+1), and √(2l+1) is 1 only for l = 0"
                            if "norm" in (source, target) and l > 0 else "integral = component / √(4π)")
                    fail(f"sh_factor({l}, {source!r}, {target!r}) = {got:.6g}, but e3nn's {target!r} harmonics "
                         f"are {_sh_factor(l, source, target):.6g} × its {source!r} ones", hint)
    return "right for l = 0..3 and all 9 pairs, on e3nn's own harmonics"


def tensor_product() -> o3.TensorProduct:
    """The lesson's tensor product: '2x1o' ⊗ '1x1o + 1x0e' → '3x0e + 2x1o + 1x1e', three 'uvw' paths."""
    with default_dtype(torch.float64):
        return o3.TensorProduct("2x1o", "1x1o + 1x0e", "3x0e + 2x1o + 1x1e",
                                [(0, 0, 0, "uvw", True), (0, 1, 1, "uvw", True), (0, 0, 2, "uvw", True)])


def other_code_weights(seed: int = 0) -> list[torch.Tensor]:
    """Weights of :func:`tensor_product` as another code stores them: one array per path, axes (mul_out, mul1, mul2)."""
    gen = torch.Generator().manual_seed(seed)
    return [torch.randn(ins.path_shape[2], ins.path_shape[0], ins.path_shape[1], generator=gen,
                        dtype=torch.float64) for ins in tensor_product().instructions]


@exercise("port tensor-product weights", hints=[
    "e3nn's path weights have shape path_shape = (mul1, mul2, mul_out): move the first axis of each array last.",
    "Flatten each path and concatenate them in the order of tp.instructions.",
    "torch.cat([w.permute(1, 2, 0).reshape(-1) for w in weights])",
])
def q4(port_weights):
    """Check port_weights(list of (mul_out, mul1, mul2) arrays) → e3nn's flat weight vector, by a forward pass."""
    tp = tensor_product()
    gen = torch.Generator().manual_seed(40)
    x1 = torch.randn(3, tp.irreps_in1.dim, generator=gen, dtype=torch.float64)
    x2 = torch.randn(3, tp.irreps_in2.dim, generator=gen, dtype=torch.float64)
    weights = other_code_weights(4)
    expected = torch.cat([w.permute(1, 2, 0).reshape(-1) for w in weights])
    got = expect_tensor(call(port_weights, [w.clone() for w in weights], name="port_weights(weights)"),
                        "port_weights(weights)", shape=(tp.weight_numel,))
    naive = torch.cat([w.reshape(-1) for w in weights])
    if torch.allclose(got.to(torch.float64), naive, atol=1e-9) and not torch.allclose(naive, expected):
        fail("you flattened the arrays as they are: the other code's axes are (mul_out, mul1, mul2), e3nn's "
             "(mul1, mul2, mul_out)", "permute each array before flattening")
    if not torch.allclose(tp(x1, x2, got.to(torch.float64)), tp(x1, x2, expected), atol=1e-8):
        fail("the ported weights give another output than the original model",
             "check the axis order inside each path and the order of the paths (tp.instructions)")
    return "same forward pass: (mul_out, mul1, mul2) → (mul1, mul2, mul_out)"
