r"""Quantum-chemistry labels from GFN2-xTB, through the ``tblite`` package (lessons 13, 14 and 18).

GFN2-xTB (Bannwarth, Ehlert & Grimme, *J. Chem. Theory Comput.* **15**, 1652 (2019)) is a
semi-empirical tight-binding method: a minimal valence basis, a self-consistent charge expansion up
to multipoles, and D4 dispersion, parametrized for the elements H to Rn. It gives energies, forces and
dipoles of small molecules in about a millisecond each, close enough to DFT for teaching and
prototyping. ``tblite`` (the Grimme group's library) wraps it as an ase calculator.

``tblite`` publishes wheels for Linux x86_64 only, so it is an optional dependency: the data sets the
lessons use are generated once by :mod:`e3teach.datasets` and shipped with the package; a learner
without ``tblite`` loads them, and one with it can recompute any frame (:func:`single_point`).

Units are ase's: energies in eV, forces in eV/Å, dipoles in e·Å (1 e·Å = 4.80320 D).

- :func:`available` — whether ``tblite`` can be imported here.
- :func:`calculator` — a ``tblite.ase.TBLite`` calculator for GFN2-xTB, quiet.
- :func:`single_point` — energy, forces and dipole of one structure, with clear errors for bad input.
"""
from __future__ import annotations

import importlib.util

import numpy as np

__all__ = ["EA_TO_DEBYE", "METHOD", "available", "calculator", "single_point"]

EA_TO_DEBYE = 4.80320    #: 1 e·Å in debye
METHOD = "GFN2-xTB"      #: the method every shipped label was computed with
MAX_Z = 86               #: GFN2-xTB has parameters for H (1) to Rn (86)
MIN_DISTANCE = 0.5       #: Å; closer atoms are a broken structure, not chemistry

_INSTALL_HINT = ("tblite is not installed here (its wheels exist for Linux x86_64 only; "
                 "`pip install tblite` where it installs). The lessons load the shipped data sets "
                 "without it: e3teach.datasets.load(name).")


def available() -> bool:
    """Whether ``tblite`` can be imported (it is an optional dependency)."""
    return importlib.util.find_spec("tblite") is not None


def calculator(*, charge: int = 0, multiplicity: int = 1, max_iterations: int = 250):
    """A quiet ``tblite.ase.TBLite`` calculator for GFN2-xTB with the given total charge and spin multiplicity."""
    if not available():
        raise ImportError(_INSTALL_HINT)
    from tblite.ase import TBLite
    return TBLite(method=METHOD, charge=charge, multiplicity=multiplicity, max_iterations=max_iterations,
                  verbosity=0)


def _check_structure(atoms) -> None:
    """A ``ValueError`` that says what to fix for structures GFN2-xTB cannot (or should not) evaluate."""
    from ase.data import chemical_symbols
    if len(atoms) == 0:
        raise ValueError("the structure has no atoms: build it with at least one atom")
    numbers = np.asarray(atoms.get_atomic_numbers())
    unknown = sorted(set(int(z) for z in numbers if z < 1 or z > MAX_Z))
    if unknown:
        names = ", ".join(chemical_symbols[z] if 0 < z < len(chemical_symbols) else str(z) for z in unknown)
        raise ValueError(f"GFN2-xTB has parameters for H to Rn only, not for {names}: "
                         "remove these atoms or choose another method")
    pos = np.asarray(atoms.get_positions(), dtype=float)
    if not np.isfinite(pos).all():
        raise ValueError("some atomic positions are NaN or infinite: check how the structure was built")
    if len(atoms) > 1 and not atoms.get_pbc().any():
        distance = np.linalg.norm(pos[:, None] - pos[None], axis=-1) + np.diag(np.full(len(pos), np.inf))
        i, j = np.unravel_index(np.argmin(distance), distance.shape)
        if distance[i, j] < MIN_DISTANCE:
            raise ValueError(f"atoms {min(i, j)} and {max(i, j)} are {distance[i, j]:.3f} Å apart (< "
                             f"{MIN_DISTANCE} Å): the structure is broken; remove duplicated atoms or fix the geometry")


def single_point(atoms, *, charge: int = 0, multiplicity: int = 1, max_iterations: int = 250) -> dict:
    """GFN2-xTB ``{"energy" (eV), "forces" (N, 3) eV/Å, "dipole" (3,) e·Å}`` of ``atoms`` (not modified).

    Raises ``ValueError`` for input the method cannot take (unknown element, atoms on top of each
    other, NaN positions), ``ImportError`` without ``tblite``, and ``RuntimeError`` naming the
    structure when the self-consistent field does not converge (a radical given multiplicity 1, a
    broken geometry, too few iterations).
    """
    _check_structure(atoms)
    work = atoms.copy()
    work.calc = calculator(charge=charge, multiplicity=multiplicity, max_iterations=max_iterations)
    try:
        energy = float(work.get_potential_energy())
        forces = np.array(work.get_forces(), dtype=float)
        dipole = np.array(work.get_dipole_moment(), dtype=float)
    except Exception as error:          # tblite reports through ase's CalculatorError family
        raise RuntimeError(f"GFN2-xTB failed for {atoms.get_chemical_formula()} (charge {charge}, multiplicity "
                           f"{multiplicity}): {error}. Check the geometry, the total charge and the spin "
                           "(a radical needs multiplicity 2), or raise max_iterations.") from None
    return {"energy": energy, "forces": forces, "dipole": dipole}
