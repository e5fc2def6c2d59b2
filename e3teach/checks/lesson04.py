"""Checkers for lesson 04 (spherical harmonics): ``from e3teach.checks import lesson04 as check``.

Every check runs the learner's function on random inputs (seeded) and compares with e3nn in float64.
"""
from __future__ import annotations

import math

import torch
from e3nn import o3

from ..env import default_dtype
from .core import (LOW_PRECISION, as_number, call, exercise, expect_close, expect_equal, expect_tensor, fail,
                   fail_if_float32_precision)

__all__ = ["q1", "q2", "q3", "q4", "q5", "q6"]


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
        if _close(out, math.sqrt(3.0) * x / x.norm()):
            fail("you divided by one norm of the whole (7, 3) tensor: each row is a point and needs its own length",
                 "x.norm(dim=1, keepdim=True) gives one length per row")
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


# ------------------------------------------------------------------------------------------------ q5
_GAUSS_HINT = ("Gauss–Legendre nodes in cos β (np.polynomial.legendre.leggauss(k) is exact to degree 2k-1) times "
               "equally spaced angles α (exact for cos jα, sin jα with j below their number)")


def _gram_error(points: torch.Tensor, weights: torch.Tensor, lmax: int) -> torch.Tensor:
    r"""Per l: max |G - 1| over the harmonics up to l, :math:`G_{ij} = \sum_k w_k Y_i(p_k) Y_j(p_k)` (integral norm)."""
    Y = _sh(lmax, points, "integral")
    gram = Y.T @ (weights[:, None] * Y)
    deviation = (gram - torch.eye(len(gram), dtype=gram.dtype)).abs()
    return torch.stack([deviation[: (l + 1) ** 2, : (l + 1) ** 2].max() for l in range(lmax + 1)])


def _not_latitude_circles(points: torch.Tensor, weights: torch.Tensor) -> bool:
    """Whether two points coincide, or points on one circle of latitude (equal y = cos β, e3nn's polar axis)
    carry different weights: what o3.angles_to_xyz(beta, alpha), arguments swapped, gives."""
    if len(torch.unique(torch.round(points * 1e9), dim=0)) < len(points):
        return True
    y = torch.round(points[:, 1] * 1e9)
    for value in torch.unique(y):
        group = weights[y == value]
        if len(group) > 1 and float(group.max() - group.min()) > 1e-9 * float(weights.abs().max()):
            return True
    return False


@exercise("exact integration on the sphere", hints=[
    "Integrate in e3nn's angles: dΩ = dα d(cos β), α in [0, 2π) around y and cos β in [-1, 1]. Use a product rule: "
    "nodes in cos β times nodes in α, with the product of the weights.",
    "A product of two harmonics of degree ≤ lmax is a polynomial of degree ≤ 2 lmax. " + _GAUSS_HINT + ".",
    "nodes, w = np.polynomial.legendre.leggauss(lmax + 1); beta = arccos(nodes); 2 lmax + 1 angles α = 2πj/n with "
    "weight 2π/n each; points = o3.angles_to_xyz(alpha, beta) on the meshgrid, weights = w(β) · 2π/n.",
])
def q5(sphere_quadrature):
    sizes = {}
    for lmax in (1, 3, 6):
        label = f"sphere_quadrature({lmax})"
        out = call(sphere_quadrature, lmax)
        if not isinstance(out, (tuple, list)) or len(out) != 2:
            fail(f"`{label}` should return two things, (points, weights), got {type(out).__name__}",
                 "end with `return points, weights`")
        points = expect_tensor(out[0], f"the points of {label}")
        weights = expect_tensor(out[1], f"the weights of {label}")
        if points.ndim != 2 or points.shape[1] != 3:
            fail(f"the points of `{label}` have shape {tuple(points.shape)}, expected (P, 3): one row per point",
                 "flatten the grid with .reshape(-1, 3)")
        if tuple(weights.shape) != (len(points),):
            fail(f"the weights of `{label}` have shape {tuple(weights.shape)}, expected ({len(points)},): one per point",
                 "flatten the grid of weights with .reshape(-1), in the same order as the points")
        p64, w64 = points.to(torch.float64), weights.to(torch.float64)
        radius = float((p64.norm(dim=1) - 1).abs().max())
        if radius > 1e-6:
            fail(f"the points of `{label}` are not on the unit sphere (|p| - 1 up to {radius:.2g})",
                 "o3.angles_to_xyz(alpha, beta) gives unit vectors")
        total = float(w64.sum())
        if abs(total - 4 * math.pi) > 1e-6:
            if abs(total - 2) < 1e-6:
                fail(f"the weights of `{label}` sum to 2: that is ∫ d(cos β) alone; the sphere's area is 4π",
                     "multiply each cos β weight by the α weight 2π/n")
            fail(f"the weights of `{label}` sum to {total:.6g}, but integrating f = 1 must give the area of the unit "
                 "sphere, 4π ≈ 12.566", "the cos β weights sum to 2 and the α weights to 2π")
        errors = _gram_error(p64, w64, lmax)
        err = float(errors[-1])
        if err < 1e-12:
            sizes[lmax] = len(points)
            continue
        low = points if points.dtype in LOW_PRECISION else weights
        fail_if_float32_precision(low, err, f"the quadrature of {label}", needed="1e-12",
                                  how="build the nodes in float64: torch.from_numpy(nodes) keeps NumPy's float64, "
                                      "torch.arange(n, dtype=torch.float64), torch.tensor(..., dtype=torch.float64)")
        if _not_latitude_circles(p64, w64):
            fail(f"the points of `{label}` are not circles of latitude around y (points coincide at a pole, or one "
                 "circle carries different weights): are the arguments of o3.angles_to_xyz swapped?",
                 "o3.angles_to_xyz(alpha, beta): first α, around y (equally spaced), then β, from the y axis "
                 "(β = arccos of the Gauss–Legendre nodes)")
        first_bad = next(l for l in range(lmax + 1) if errors[l] >= 1e-12)
        if first_bad > 0 and err > 0.1:          # exact at low l, wrong beyond: an exact rule too small
            fail(f"`{label}` integrates the harmonics up to l = {first_bad - 1} exactly but not l = {first_bad} "
                 f"(Gram matrix off by {err:.2g}): too few nodes — products of two harmonics have degree up to "
                 f"2 lmax = {2 * lmax}", "k Gauss–Legendre nodes are exact to degree 2k - 1; n equally spaced α to "
                                         "frequency n - 1")
        fail(f"`{label}` is only approximate: Σ_k w_k Y_i(p_k) Y_j(p_k) differs from δ_ij by up to {err:.2g}, "
             "where an exact rule gives round-off (< 1e-12)", _GAUSS_HINT)
    return (f"Σ_k w_k Y_i(p_k) Y_j(p_k) = δ_ij to 1e-12 for every pair of 'integral' harmonics up to lmax = 1, 3, 6 "
            f"(with {sizes[6]} points for lmax = 6): the rule is exact")


# ------------------------------------------------------------------------------------------------ q6
def _latitude_circle() -> torch.Tensor:
    alpha = torch.linspace(0, 2 * math.pi, 721, dtype=torch.float64)[:-1] + 0.01
    return o3.angles_to_xyz(alpha, torch.tensor(1.0, dtype=torch.float64))


def _meridian() -> torch.Tensor:
    beta = torch.linspace(0.01, math.pi - 0.01, 720, dtype=torch.float64)
    return o3.angles_to_xyz(torch.tensor(0.3, dtype=torch.float64), beta)


def _sign_changes(values: list, periodic: bool) -> int:
    """Sign changes between neighbours of a list of nonzero numbers (the last and the first too when periodic)."""
    sequence = values + values[:1] if periodic else values
    return sum(a * b < 0 for a, b in zip(sequence, sequence[1:]))


@exercise("counting nodal lines", hints=[
    "A sign change is a place where two neighbours have different signs: compare torch.sign(values) with itself "
    "shifted by one.",
    "With periodic=True the sequence closes on itself: the last value is also a neighbour of the first.",
    "s = torch.sign(values); append s[:1] at the end when periodic; return int((s[1:] != s[:-1]).sum())",
])
def q6(sign_changes):
    cases = [([-1.0, 2.0, 3.0, -4.0, 5.0], False, 3), ([-1.0, 2.0, 3.0, -4.0, 5.0], True, 4),
             ([0.5, 2.0, 3.0], True, 0), ([-2.0, 4.0], False, 1), ([-2.0, 4.0, 1.0, 3.0], True, 2)]

    def count(values, periodic):
        label = f"sign_changes(torch.tensor({values}), periodic={periodic})"
        out = as_number(call(sign_changes, torch.tensor(values, dtype=torch.float64), periodic), label, integer=True,
                        hint="return a whole number, e.g. int(...)")
        return label, out

    for values, periodic, expected in cases:
        label, out = count(values, periodic)
        if out == expected:
            continue
        other = _sign_changes(values, not periodic)
        if out == other == count(values, not periodic)[1]:  # right for the other flag, and the same either way
            if periodic:
                fail(f"`{label}` is {out}, expected {expected}: with periodic=True the step from the last value "
                     "back to the first counts too", "compare the sign of values[-1] with that of values[0]")
            fail(f"`{label}` is {out}, expected {expected}: with periodic=False the ends are not neighbours")
        expect_equal(out, expected, label, hint="count the neighbours whose signs differ")
    circle, meridian = _latitude_circle(), _meridian()
    for l in range(5):
        on_circle, on_meridian = _sh(l, circle)[:, l * l:], _sh(l, meridian)[:, l * l:]
        for m in range(-l, l + 1):
            around = as_number(call(sign_changes, on_circle[:, m + l], True), "sign_changes", integer=True)
            along = as_number(call(sign_changes, on_meridian[:, m + l], False), "sign_changes", integer=True)
            if (around, along) != (2 * abs(m), l - abs(m)):
                fail(f"for Y_{l},{m} your function counts {around} sign changes around a circle of latitude and {along} "
                     f"from pole to pole; expected {2 * abs(m)} and {l - abs(m)}",
                     "test it on a short tensor you can count by hand")
    return ("counts sign changes right, and for every l ≤ 4: Y_l,m changes sign 2|m| times around a circle of latitude "
            "and l − |m| times from pole to pole — |m| nodal great circles, l − |m| nodal circles of latitude")
