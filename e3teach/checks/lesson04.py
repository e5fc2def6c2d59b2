"""Checkers for lesson 04 (spherical harmonics): ``from e3teach.checks import lesson04 as check``.

Every check runs the learner's function on random inputs (seeded) and compares with e3nn in float64.
"""
from __future__ import annotations

import math

import torch
from e3nn import o3

from ..env import default_dtype
from .core import call, exercise, expect_close, expect_equal, expect_tensor, fail

__all__ = ["q1", "q2", "q3", "q4"]


def _generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _cloud(n: int, seed: int) -> torch.Tensor:
    """n random points in float64, of lengths between 0.3 and 3 (never at the origin)."""
    gen = _generator(seed)
    x = torch.randn(n, 3, generator=gen, dtype=torch.float64)
    lengths = 0.3 + 2.7 * torch.rand(n, 1, generator=gen, dtype=torch.float64)
    return x / x.norm(dim=1, keepdim=True) * lengths


def _sh(lmax: int, x: torch.Tensor, normalization: str = "component", normalize: bool = True) -> torch.Tensor:
    return o3.spherical_harmonics(o3.Irreps.spherical_harmonics(lmax), x, normalize, normalization=normalization)


def _close(a: torch.Tensor, b: torch.Tensor, atol: float = 1e-8) -> bool:
    return a.shape == b.shape and bool(torch.allclose(a.to(torch.float64), b.to(torch.float64), atol=atol, rtol=1e-6))


def _rotation(gen: torch.Generator) -> torch.Tensor:
    q = torch.randn(4, generator=gen, dtype=torch.float64)
    return o3.quaternion_to_matrix(q / q.norm())


# ------------------------------------------------------------------------------------------------ q1
@exercise("the l=1 spherical harmonics from scratch", hints=[
    "On the unit sphere, the three l=1 functions are just the coordinates of the direction x/|x|, times a constant.",
    "Component normalization wants Y_1(n)·Y_1(n) = 2l+1 = 3 for every unit vector n.",
    "return math.sqrt(3) * x / x.norm(dim=1, keepdim=True)   (in e3nn's order x, y, z)",
])
def q1(sh_l1):
    x = _cloud(7, seed=41)
    out = expect_tensor(call(sh_l1, x), "sh_l1(x)", shape=(7, 3))
    if out.dtype != x.dtype:
        fail(f"`sh_l1(x)` has dtype {out.dtype} for a {x.dtype} input", "keep the input's dtype (build constants as "
             "Python floats, e.g. math.sqrt(3), not as float32 tensors)")
    direction = x / x.norm(dim=1, keepdim=True)
    expected = math.sqrt(3.0) * direction
    if not _close(out, expected):
        if _close(out, math.sqrt(3.0) * x):
            fail("your values grow with |x|: the spherical harmonics of `normalize=True` depend only on the direction",
                 "divide x by its length first: x / x.norm(dim=1, keepdim=True)")
        if _close(out, direction):
            fail("right direction, wrong size: Σ_m Y_1m² is 1 for your function, component normalization wants 2l+1 = 3",
                 "multiply by math.sqrt(3)")
        if _close(out, math.sqrt(3.0 / (4 * math.pi)) * direction):
            fail("these are the 'integral'-normalized l=1 harmonics (√(3/4π) n); the exercise asks for 'component' (√3 n)")
        for perm, label in (((1, 2, 0), "(y, z, x)"), ((2, 0, 1), "(z, x, y)"), ((0, 2, 1), "(x, z, y)")):
            if _close(out, expected[:, perm]):
                fail(f"the components come in the order {label}; e3nn's l=1 components are (x, y, z)",
                     "textbooks order the real p orbitals (p_y, p_z, p_x); e3nn does not")
        if _close(out, -expected):
            fail("the sign is flipped: e3nn's l=1 harmonics are +√3 n")
    expect_close(out, expected, "sh_l1(x)", atol=1e-10, hint="compare with o3.spherical_harmonics(1, x, True, normalization='component')")
    return "equals √3·x/|x| = o3.spherical_harmonics(1, x, True, normalization='component') on 7 random points"


# ------------------------------------------------------------------------------------------------ q2
@exercise("the SH signal of a point cloud", hints=[
    "For each point, take the spherical harmonics of its direction for all l = 0..lmax, then add the rows up.",
    "o3.spherical_harmonics(o3.Irreps.spherical_harmonics(lmax), pos, normalize=True, normalization='component') "
    "has shape (N, (lmax+1)²).",
    "Sum over the points with .sum(0); do not forget normalization='component' (the default is 'integral').",
])
def q2(sh_signal):
    cases = [(_cloud(6, seed=42), 3), (_cloud(4, seed=43), 0), (_cloud(9, seed=44), 2)]
    for pos, lmax in cases:
        dim = (lmax + 1) ** 2
        label = f"sh_signal(pos, lmax={lmax})"
        out = call(sh_signal, pos, lmax)
        out = expect_tensor(out, label)
        if tuple(out.shape) == (len(pos), dim):
            fail(f"`{label}` has shape {tuple(out.shape)}: one row per point", "add the rows up: .sum(0)")
        if tuple(out.shape) != (dim,):
            fail(f"`{label}` has shape {tuple(out.shape)}, expected ({dim},): (lmax+1)² coefficients, all l from 0 to lmax",
                 "pass o3.Irreps.spherical_harmonics(lmax) (or list(range(lmax + 1))) as the first argument")
        expected = _sh(lmax, pos).sum(0)
        if not _close(out, expected):
            if _close(out, _sh(lmax, pos, "integral").sum(0)):
                fail("these are 'integral'-normalized coefficients: o3.spherical_harmonics defaults to "
                     "normalization='integral'", "pass normalization='component'")
            if _close(out, expected / len(pos)):
                fail("you averaged over the points; the signal is the sum Σ_i Y(r̂_i)", "use .sum(0), not .mean(0)")
            if _close(out, _sh(lmax, pos, normalize=False).sum(0)):
                fail("your coefficients depend on the lengths |r_i|: use the directions only", "normalize=True")
        expect_close(out, expected, label, atol=1e-10,
                     hint="compare with o3.spherical_harmonics(irreps, pos, True, normalization='component').sum(0)")
    return "equals Σ_i Y(r̂_i) (component normalization) for lmax = 3, 0, 2 on random clouds — so it rotates with the cloud"


# ------------------------------------------------------------------------------------------------ q3
@exercise("the Wigner D of the spherical harmonics", hints=[
    "The spherical harmonics up to lmax transform like the irreps o3.Irreps.spherical_harmonics(lmax): "
    "0e + 1o + 2e + ..., parity (-1)^l.",
    "Irreps have a method D_from_matrix(R) that works for rotations and for improper rotations (det R = -1).",
    "e3nn builds D in torch's default dtype: for a float64-accurate D, compute it inside "
    "`with e3teach.default_dtype(torch.float64):`.",
])
def q3(sh_wigner_D):
    lmax = 3
    dim = (lmax + 1) ** 2
    gen = _generator(45)
    x = torch.randn(20, 3, generator=gen, dtype=torch.float64)
    elements = [("a rotation", _rotation(gen)), ("another rotation", _rotation(gen)),
                ("an improper rotation (det R = -1)", -_rotation(gen))]
    for what, R in elements:
        D = expect_tensor(call(sh_wigner_D, R, lmax), f"sh_wigner_D(R, lmax={lmax})", shape=(dim, dim))
        D = D.to(torch.float64)
        left = _sh(lmax, x @ R.T)
        err = float((left - _sh(lmax, x) @ D.T).abs().max())
        if err < 1e-10:
            continue
        if float((left - _sh(lmax, x) @ D).abs().max()) < 1e-6:
            fail(f"for {what}, Y(x Rᵀ) = Y(x) D — your matrix is the transpose of the one asked for",
                 "return D itself; the rows-as-points convention multiplies by D.T")
        if err < 1e-4:
            fail(f"for {what}, Y(x Rᵀ) and Y(x) Dᵀ agree only to {err:.1e}: your D is float32-accurate",
                 "e3nn builds D from constants in torch's default dtype (float32 here): compute it inside "
                 "`with e3teach.default_dtype(torch.float64):`")
        if torch.det(R) < 0:
            with default_dtype(torch.float64):
                D_even = o3.Irreps.spherical_harmonics(lmax, p=1).D_from_matrix(R)
            if _close(D, D_even, atol=1e-4):
                fail("right for rotations, wrong for the improper rotation: your D ignores parity",
                     "Y_l(-x) = (-1)^l Y_l(x), so the irreps are 0e + 1o + 2e + 3o: use o3.Irreps.spherical_harmonics(lmax)")
            fail(f"right for rotations, wrong for {what} (error {err:.2g})",
                 "the spherical harmonics have parity (-1)^l; D_from_matrix(R) handles det R = -1 for you")
        fail(f"for {what}, Y(x Rᵀ) and Y(x) Dᵀ differ by up to {err:.2g}",
             "use o3.Irreps.spherical_harmonics(lmax).D_from_matrix(R)")
    return f"Y(x Rᵀ) = Y(x) D(R)ᵀ to better than 1e-10 for two rotations and an improper rotation (lmax = {lmax})"


# ------------------------------------------------------------------------------------------------ q4
@exercise("where Y_l^m sits in e3nn's vector", hints=[
    "The blocks l' = 0, 1, ..., l-1 come first; block l' has 2l'+1 components. How many is that in total?",
    "Inside block l, m runs from -l to l: Y_l^m is the (m + l)-th component of the block.",
    "flat_index(l, m) = l² + l + m. e3nn's l=2 block is (xz, xy, 3y²-r², yz, z²-x²).",
])
def q4(flat_index, xy_index):
    answers = {}
    for l in range(7):
        for m in range(-l, l + 1):
            out = call(flat_index, l, m)
            if isinstance(out, torch.Tensor) and out.numel() == 1:
                out = out.item()
            if not isinstance(out, (int, float)) or isinstance(out, bool):
                fail(f"flat_index({l}, {m}) returned {type(out).__name__}, expected an integer")
            answers[l, m] = out
    if any(out != l * l + l + m for (l, m), out in answers.items()):
        if all(out == l + m for (l, m), out in answers.items()):
            fail(f"flat_index(2, 0) = {answers[2, 0]}: you forgot the blocks before l",
                 "blocks l' < l hold 1 + 3 + 5 + … + (2l-1) = l² components")
        if all(out == l * l + m for (l, m), out in answers.items()):
            fail(f"flat_index(2, -2) = {answers[2, -2]}: inside a block m starts at -l, so Y_l^m is the "
                 "(m + l)-th component of block l")
        for (l, m), out in answers.items():
            expect_equal(out, l * l + l + m, f"flat_index({l}, {m})", hint="check it on l = 1: Y_1^m sits at 1, 2, 3")
    # the component proportional to x*y, found from e3nn itself
    n = torch.nn.functional.normalize(torch.randn(50, 3, generator=_generator(46), dtype=torch.float64), dim=1)
    Y = _sh(2, n)
    xy = n[:, 0] * n[:, 1]
    target = next(i for i in range(Y.shape[1]) if torch.allclose(Y[:, i], Y[:, i].dot(xy) / xy.dot(xy) * xy, atol=1e-10))
    if isinstance(xy_index, torch.Tensor) and xy_index.numel() == 1:
        xy_index = xy_index.item()
    if xy_index == 4:
        fail("xy_index = 4 is the textbook place of d_xy (m = -2, polar axis z); in e3nn index 4 is ∝ xz",
             "e3nn's polar axis is y; compare o3.spherical_harmonics([0, 1, 2], n, True) at n = (1, 1, 0)/√2 and "
                 "(1, -1, 0)/√2: only the xy component flips sign")
    expect_equal(xy_index, target, "xy_index",
                 hint="evaluate o3.spherical_harmonics([0, 1, 2], n, True) at n = (1, 1, 0)/√2 and (1, -1, 0)/√2: "
                      "which component flips sign?")
    return f"flat_index(l, m) = l² + l + m for all l ≤ 6, and the component ∝ xy is index {target} (l=2, m=-1)"
