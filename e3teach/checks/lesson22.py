"""Checkers for exercises/22_nanoclusters_and_vibrations."""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch

from .. import point_groups, vibrations
from .core import as_number, as_torch, call, exercise, expect_close, expect_tensor, fail

__all__ = ["q1", "q2", "q3", "q4", "q5", "pair_energy", "pair_forces"]


@lru_cache(maxsize=None)
def _cluster(shape: str):
    """(positions (N, 3), identified group) of the ideal 13-atom Cu icosahedron or cuboctahedron."""
    from ase.cluster import Icosahedron, Octahedron
    atoms = Icosahedron("Cu", 2) if shape == "icosahedron" else Octahedron("Cu", 3, 1)
    pos = torch.tensor(atoms.positions, dtype=torch.float64)
    return pos, point_groups.identify(pos, tol=1e-3)


# ----------------------------------------------------------------------------- q1
@exercise("the character of the 3N displacements", hints=[
    "Only an atom that g leaves in place puts a block R_g on the diagonal of Γ(g); moved atoms add nothing.",
    "fixed = (permutations == torch.arange(N)).sum(1); return fixed * matrices.diagonal(dim1=1, dim2=2).sum(-1)",
])
def q1(displacement_character):
    """Check displacement_character(matrices, permutations) on the 13-atom icosahedron (Ih) and
    cuboctahedron (Oh) against n_fixed(g) · tr R_g."""
    for shape in ("icosahedron", "cuboctahedron"):
        pos, group = _cluster(shape)
        M, perm = group.matrices.clone(), group.permutations.clone()
        out = expect_tensor(call(displacement_character, M, perm, name="displacement_character"),
                            "displacement_character(matrices, permutations)", shape=(len(M),))
        expected = vibrations.displacement_characters(M, pos)
        trace = M.diagonal(dim1=1, dim2=2).sum(-1)
        fixed = (perm == torch.arange(perm.shape[1])).sum(1).to(torch.float64)
        answer = out.to(torch.float64)
        if torch.allclose(answer, len(pos) * trace, atol=1e-6):
            fail("you counted every atom: an atom that g moves to another site contributes no diagonal block",
                 "count only the atoms with permutations[g, i] == i")
        if torch.allclose(answer, fixed, atol=1e-6) or torch.allclose(answer, trace, atol=1e-6):
            fail("each fixed atom contributes tr R_g, the character of a vector: multiply the count by the trace")
        expect_close(out, expected, f"displacement_character on the {shape}", atol=1e-6, float32_ok=True,
                     hint="χ(g) = (number of atoms with permutations[g, i] == i) × trace of matrices[g]")
    return "n_fixed(g) · tr R_g on Ih and Oh, χ(E) = 3N = 39"


# ----------------------------------------------------------------------------- q2
def pair_energy(pos: torch.Tensor, epsilon: float = 0.4, r0: float = 2.5, a: float = 1.4) -> torch.Tensor:
    """A Morse pair potential (eV; pos in Å): Σ_{i<j} ε[(1 − e^{−a(r−r0)})² − 1]."""
    i, j = torch.triu_indices(len(pos), len(pos), 1)
    r = (pos[i] - pos[j]).norm(dim=1)
    return (epsilon * ((1 - torch.exp(-a * (r - r0))) ** 2 - 1)).sum()


def pair_forces(pos) -> np.ndarray:
    """Forces (eV/Å, NumPy) of :func:`pair_energy` at ``pos`` (N, 3), Å."""
    p = torch.as_tensor(np.asarray(pos), dtype=torch.float64).requires_grad_(True)
    (grad,) = torch.autograd.grad(pair_energy(p), p)
    return -grad.numpy()


@exercise("a Hessian by finite differences", hints=[
    "H[:, k] = −(F(x + h e_k) − F(x − h e_k)) / (2h), with x the 3N coordinates flattened (x0, y0, z0, x1…).",
    "Loop over k: copy x, move coordinate k by ±h, call forces(x.reshape(-1, 3)), flatten; "
    "symmetrize at the end: (H + H.T) / 2.",
])
def q2(hessian_fd):
    """Check hessian_fd(forces, pos, step) on a 5-atom Morse cluster against the exact Hessian (autograd)."""
    gen = torch.Generator().manual_seed(22)
    pos = torch.randn(5, 3, generator=gen, dtype=torch.float64) * 1.6
    exact = vibrations.hessian_autograd(pair_energy, pos)
    out = expect_tensor(call(hessian_fd, pair_forces, pos.numpy().copy(), 1e-4, name="hessian_fd"),
                        "hessian_fd(forces, pos, step)", shape=(15, 15))
    out = out.to(torch.float64)
    scale = float(exact.abs().max())
    if torch.allclose(out, -exact, atol=1e-4 * scale):
        fail("your Hessian has the wrong sign: the forces are −∂E/∂x, so H = −∂F/∂x")
    if torch.allclose(out, exact.T.reshape(5, 3, 5, 3).transpose(0, 2).reshape(15, 15), atol=1e-4 * scale) \
            and not torch.allclose(out, exact, atol=1e-4 * scale):
        fail("rows and columns of atoms are mixed up", "flatten positions as (x0, y0, z0, x1, ...): "
             "pos.reshape(-1) and back with x.reshape(-1, 3)")
    dev = float((out - exact).abs().max())
    if dev > 1e-6 * scale:
        if dev < 1e-2 * scale:
            fail(f"off by {dev / scale:.1e} relative: right to first order only — a one-sided difference?",
                 "use central differences, (F(x + h) − F(x − h)) / 2h: the error drops from O(h) to O(h²)")
        expect_close(out, exact, "hessian_fd(forces, pos, 1e-4)", atol=1e-6 * scale,
                     hint="column k is −(F(x + h e_k) − F(x − h e_k)) / 2h, flattened")
    return "the exact Hessian of a Morse cluster to < 1e-6 (relative)"


# ----------------------------------------------------------------------------- q3
_Q3_CASES = [
    ([1.0, 1.0, 1.0, 2.0, 2.0 + 1e-12, 5.0], 1e-8, [3, 2, 1]),
    ([5.0, 2.0, 1.0, 2.0, 1.0, 1.0], 1e-8, [3, 2, 1]),
    ([-3.0, 0.0, 1e-13, -1e-13, 4.0, 4.0 + 3e-9], 1e-8, [1, 3, 2]),
    ([0.0, 1e-6, 2e-6, 3e-6], 1e-6 * 1.5, [4]),
    ([7.0], 1e-8, [1]),
]


def _runs(values, tol):
    """Sizes of runs of neighbours within tol, in the given order (what an unsorted or exact answer gives)."""
    sizes = [1]
    for a, b in zip(values, values[1:]):
        if abs(b - a) <= tol:
            sizes[-1] += 1
        else:
            sizes.append(1)
    return sizes


@exercise("degenerate levels", hints=[
    "Sort the values first; then walk along them and start a new group whenever the gap to the previous "
    "value is larger than tol.",
    "v = sorted(values); sizes = [1]; for a, b in zip(v, v[1:]): sizes[-1] += 1 if b - a <= tol "
    "else sizes.append(1) (written out as an if/else)",
])
def q3(degenerate_groups):
    """Check degenerate_groups(values, tol) → group sizes in ascending order of value, on five cases."""
    for values, tol, expected in _Q3_CASES:
        out = as_torch(call(degenerate_groups, list(values), tol, name="degenerate_groups"))
        if isinstance(out, torch.Tensor):
            out = out.tolist()
        if not isinstance(out, (list, tuple)):
            fail(f"degenerate_groups should return a list of sizes, got {type(out).__name__}")
        sizes = [as_number(s, "a group size", integer=True) for s in out]
        if sizes == expected:
            continue
        if sizes == _runs(sorted(values), 0.0):
            fail(f"for {values} (tol {tol}) you return {sizes}: values that differ by round-off are one "
                 "level, compare with tol, not ==", "two neighbours are one level when they differ by ≤ tol")
        if sizes == _runs(values, tol):
            fail(f"for {values} (tol {tol}) you return {sizes}: sort the values first",
                 "equal eigenvalues need not be next to each other in the list you get")
        fail(f"for {values} (tol {tol}) you return {sizes}, expected {expected}",
             "sort the values; a new level starts where the gap to the previous value is larger than tol")
    return "five cases: unsorted, round-off, zero modes of both signs, a chain"


# ----------------------------------------------------------------------------- q4
@lru_cache(maxsize=None)
def _tables():
    return {"Ih": vibrations.character_table(point_groups.point_group("Ih")),
            "C3": vibrations.character_table(point_groups.point_group("C3"))}


def _real(value, name: str, complex_ok: bool = False) -> float:
    """A number that may come as a complex tensor or complex: its real part (imaginary part must vanish)."""
    value = as_torch(value)
    if isinstance(value, torch.Tensor) and value.is_complex() and value.numel() == 1:
        value = complex(value.item())
    if isinstance(value, complex):
        if abs(value.imag) > 1e-6 and not complex_ok:
            fail(f"`{name}` is {value:.3g}, not a real number", "a multiplicity is a whole number")
        return value.real if abs(value.imag) <= 1e-6 else float("nan")
    return as_number(value, name)


@exercise("how often an irrep occurs", hints=[
    "The characters of different irreps are orthogonal: n = (1/|G|) Σ_g conj(χ_Γ(g)) χ(g).",
    "n = (chi_irrep.conj() * chi).sum() / len(chi); return its real part rounded to an int",
])
def q4(multiplicity):
    """Check multiplicity(chi, chi_irrep) on sums of Ih irreps and on the complex characters of C3."""
    ih = _tables()["Ih"]
    index = {name: k for k, name in enumerate(ih.names)}
    combination = {"Ag": 1, "Hg": 2, "T1u": 3, "Gu": 1}
    chi = sum(n * ih.characters[index[name]] for name, n in combination.items())
    for name in ("Hg", "T1u", "T2g", "Gu"):
        value = _real(call(multiplicity, chi.clone(), ih.characters[index[name]].clone(), name="multiplicity"),
                      f"multiplicity(chi, χ_{name})")
        expected = combination.get(name, 0)
        if abs(value - expected) > 1e-6:
            if expected and abs(value - expected * ih.dims[index[name]]) < 1e-6:
                fail(f"for {name} you return {value:g}, its multiplicity times its dimension: do not multiply "
                     "by the dimension", "n = (1/|G|) Σ_g conj(χ_Γ(g)) χ(g)")
            fail(f"for {name} in Ag + 2Hg + 3T1u + Gu you return {value:g}, expected {expected}",
                 "n = (1/|G|) Σ_g conj(χ_Γ(g)) χ(g), |G| = 120")
    c3 = _tables()["C3"]
    complex_irreps = [k for k in range(len(c3.names)) if float(c3.characters[k].imag.abs().max()) > 1e-9]
    chi = c3.characters[complex_irreps[0]]
    values = [_real(call(multiplicity, chi.clone(), c3.characters[k].clone(), name="multiplicity"),
                    "multiplicity", complex_ok=True) for k in complex_irreps]
    if [round(v, 6) for v in values] != [1, 0]:
        fail(f"for the two complex irreps of C3 (χ against the first) you return {values}, expected [1, 0]: "
             "take the complex conjugate of the irrep's character", "n = (1/|G|) Σ_g conj(χ_Γ(g)) χ(g)")
    return "Ag + 2Hg + 3T1u + Gu of Ih, and the complex characters of C3"


# ----------------------------------------------------------------------------- q5
@exercise("where two shapes cross", hints=[
    "e_A(x) = a0 + a1 x and e_B(x) = b0 + b1 x are equal at x* = (b0 − a0) / (a1 − b1); N* = x*^(-3).",
    "Return None when the lines are parallel or x* is not positive (they never cross at a real size).",
])
def q5(crossover_size):
    """Check crossover_size(fit_a, fit_b) for fits (e0, e1) of e = e0 + e1·N^(-1/3)."""
    cases = [((0.0, 1.7), (-0.01, 1.8), 1000.0), ((-0.00057, 1.706), (-0.00858, 1.821), None),
             ((0.1, 1.0), (0.1, 1.0), "none"), ((0.0, 1.0), (0.1, 1.2), "none")]
    for fit_a, fit_b, expected in cases:
        if expected is None:
            x = (fit_b[0] - fit_a[0]) / (fit_a[1] - fit_b[1])
            expected = x ** -3
        out = call(crossover_size, fit_a, fit_b, name="crossover_size", returns=expected != "none")
        if expected == "none":
            if out is not None:
                fail(f"the lines {fit_a} and {fit_b} never cross at a positive size, you return {out}",
                     "return None when a1 == b1 or x* ≤ 0")
            continue
        value = as_number(out, "crossover_size(fit_a, fit_b)")
        if abs(value - expected) > 1e-6 * expected:
            if abs(value ** (1 / 3) * expected ** (1 / 3) - 1) < 1e-6 or abs(value - expected ** (-1 / 3)) < 1e-6:
                fail(f"you return {value:.4g}: that is x* or 1/x*, not the size", "N* = x*^(-3)")
            fail(f"for {fit_a} and {fit_b} you return {value:.6g}, expected {expected:.6g}",
                 "solve e0_a + e1_a x = e0_b + e1_b x for x, then N = x^(-3)")
    return "four pairs: crossing, EMT's ico vs fcc, parallel, never crossing"
