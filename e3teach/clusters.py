r"""Metal clusters with ase: relaxation, labelled samples and where two shapes cross in energy (lesson 22).

The energy per atom of a family of clusters (icosahedra, decahedra, octahedra …) is close to a polynomial in
:math:`x = N^{-1/3}`, :math:`e(N) = e_0 + e_1 x + e_2 x^2` (volume, surface, edges); two families have equal
energy where their fits cross (:func:`crossover_sizes`). Positions in Å, energies in eV.
"""
from __future__ import annotations

import numpy as np
from ase.calculators.emt import EMT
from ase.calculators.singlepoint import SinglePointCalculator
from ase.optimize import FIRE

__all__ = ["relaxed", "emt_sample", "rotated", "crossover_sizes"]


def relaxed(atoms, fmax: float = 0.05, steps: int = 300):
    """A copy of ``atoms`` relaxed with ase's EMT (FIRE, until every force is below ``fmax`` eV/Å, at most
    ``steps`` steps). A symmetric structure stays symmetric: its forces are symmetric."""
    atoms = atoms.copy()
    atoms.calc = EMT()
    FIRE(atoms, logfile=None).run(fmax=fmax, steps=steps)
    return atoms


def _labelled(atoms, energy: float, forces) -> object:
    atoms.calc = SinglePointCalculator(atoms, energy=float(energy), forces=np.asarray(forces))
    return atoms


def emt_sample(base, rng: np.random.Generator, *, scale=(0.9, 1.02), shake: float = 0.08):
    """A copy of the cluster ``base`` scaled about its centroid by a uniform factor in ``scale`` and shaken by
    Gaussian noise of ``shake`` Å per coordinate, with its EMT energy and forces stored (a
    ``SinglePointCalculator``, as the course's trainers read labels)."""
    if not shake >= 0:
        raise ValueError(f"shake is a standard deviation in Å, got {shake}")
    atoms = base.copy()
    center = atoms.positions.mean(0)
    factor = rng.uniform(*scale)
    atoms.positions = center + factor * (atoms.positions - center) + rng.normal(0, shake, (len(atoms), 3))
    atoms.calc = EMT()
    return _labelled(atoms, atoms.get_potential_energy(), atoms.get_forces())


def rotated(atoms, R):
    """A copy of labelled ``atoms`` rotated by the 3×3 matrix ``R`` (positions as ``pos @ R.T``), its forces
    rotated with it and its energy unchanged."""
    R = np.asarray(R, dtype=np.float64)
    copy = atoms.copy()
    copy.positions = atoms.positions @ R.T
    return _labelled(copy, atoms.get_potential_energy(), atoms.get_forces() @ R.T)


def crossover_sizes(fit_a, fit_b) -> list[int]:
    """Sizes N (rounded, ascending) where two fits of e(x), x = N^(-1/3), are equal, for 0 < x < 1.

    ``fit_a``, ``fit_b``: polynomial coefficients, highest power first (as ``np.polyfit`` returns them)."""
    roots = np.roots(np.polysub(np.asarray(fit_a, float), np.asarray(fit_b, float)))
    real = [float(r.real) for r in roots if abs(r.imag) < 1e-12 and 0 < r.real < 1]
    return sorted(round(x ** -3) for x in real)
