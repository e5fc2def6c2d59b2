r"""G2 molecules and their labels: GFN2-xTB dipoles, QEq charges, Thole polarizabilities (lesson 13).

Geometries come from ase's G2 set (``ase.collections.g2``, shipped with ase: no download), restricted
to the elements that both label models have parameters for (:data:`ELEMENTS`), and can be distorted
by small random displacements. Lengths are in Å.

**Dipole labels: GFN2-xTB** (:func:`make_g2_dipoles`). The dipoles that lesson 13 learns are quantum
chemistry: GFN2-xTB (:mod:`e3teach.xtb`, through ``tblite``) on the closed-shell G2 molecules and
randomly distorted copies, computed once and shipped as ``e3teach/data/g2_dipoles.npz``
(``python -m e3teach.datasets make g2_dipoles``); :meth:`MoleculeSet.from_frames` batches them, with
the dipole in debye and the Thole polarizability below.

**A classical charge model: electronegativity equalization (QEq, with changes).** Kept for exercise 2
of lesson 13, not as labels: its molecular dipoles are far from experiment (HCl 2.4 D vs 1.11 D, CO of
the wrong sign). Every atom carries a Gaussian charge density of width :math:`\sigma_i` and total
charge :math:`q_i`. The electrostatic energy of the molecule, to second order in the charges, is

.. math:: E(q) = \sum_i \chi_i q_i + \tfrac12 \sum_{ij} q_i A_{ij} q_j ,\qquad
          A_{ii} = J_i,\quad A_{ij} = k_e\,\frac{\operatorname{erf}\!\big(r_{ij}/\sqrt{2(\sigma_i^2 + \sigma_j^2)}\big)}{r_{ij}},

with :math:`\chi_i` the electronegativity and :math:`J_i` the hardness (idempotential) of the element,
both from Rappé & Goddard, *J. Phys. Chem.* **95**, 3358 (1991), table 1, and :math:`k_e = 14.3996` eV Å/e².
What differs from Rappé & Goddard's QEq: (1) the shielded Coulomb :math:`A_{ij}` comes from Gaussian
charges, not from Slater ns orbitals (whose exponents QEq takes from covalent radii); (2) the Gaussian
width is set from the hardness, :math:`\sigma_i = c\, k_e / (J_i\sqrt\pi)` with :math:`c` =
:data:`QEQ_WIDTH_FACTOR` = 1.5, so the Gaussian's own self-energy :math:`k_e/(\sigma_i\sqrt\pi) = J_i / c`
is *not* the :math:`J_i` on the diagonal; (3) hydrogen's hardness does not depend on its charge (QEq
uses :math:`J_H(q) = (1 + q/\zeta_H)\,J_H^0` and iterates), so the charges come from one linear solve.
:math:`A` = (the Coulomb matrix of the Gaussian densities, positive definite) + (a positive diagonal) is
positive definite, and the wider Gaussians shield more at bonding distances: the charges of water and HF
come out near the usual QEq values (O ≈ −0.6 e) instead of twice as large.
Minimizing :math:`E` under :math:`\sum_i q_i = Q` (Lagrange multiplier :math:`\mu`, the equalized
electronegativity) is one linear solve,

.. math:: \begin{pmatrix} A & \mathbf 1 \\ \mathbf 1^\top & 0 \end{pmatrix}
          \begin{pmatrix} q \\ -\mu \end{pmatrix} = \begin{pmatrix} -\chi \\ Q \end{pmatrix},

and every charge depends on the whole molecule. For a neutral molecule the point-charge dipole
:math:`\vec\mu = \sum_i q_i \vec r_i` (:func:`dipole_moment`) does not depend on the origin; we report
it in debye (1 e Å = 4.80320 D).

**Polarizability: interacting induced dipoles (Applequist, Thole).** Atom :math:`i` has an
isotropic polarizability :math:`\alpha_i` and acquires the dipole
:math:`\vec p_i = \alpha_i\big(\vec E + \sum_{j\ne i} T_{ij}\,\vec p_j\big)` in a uniform field
:math:`\vec E`, where :math:`T_{ij}` is the (damped) field of a dipole,

.. math:: T_{ij} = \frac{3 \lambda_5\, \hat r \hat r^\top - \lambda_3\, I}{r^3},\qquad
          \lambda_3 = 1 - \big(1 + v + \tfrac{v^2}{2}\big)e^{-v},\quad
          \lambda_5 = 1 - \big(1 + v + \tfrac{v^2}{2} + \tfrac{v^3}{6}\big)e^{-v},

with :math:`v = a\, r_{ij} / (\alpha_i\alpha_j)^{1/6}` (Thole's exponential smearing; :math:`a = 0`
gives :math:`\lambda = 1`, the undamped model of Applequist, Carl & Fung, *J. Am. Chem. Soc.* **94**,
2952 (1972)). The damping keeps close atoms from the "polarization catastrophe". Stacking the
:math:`3N` equations, :math:`(\alpha^{-1} - T)\,p = (E, \dots, E)`, so the molecular polarizability
(:math:`\sum_i \vec p_i = \boldsymbol\alpha_\text{mol} \vec E`) is the sum of the 3x3 blocks of the
relay matrix :math:`B = (\alpha^{-1} - T)^{-1}`:

.. math:: \boldsymbol\alpha_\text{mol} = \sum_{ij} B_{ij} ,

a symmetric, anisotropic, many-body tensor (in Å³). Parameters: the exponential model of van Duijnen &
Swart, *J. Phys. Chem. A* **102**, 2399 (1998) (atomic polarizabilities of their table 7, converted from
bohr³, and :math:`a = 2.1304`).

Bad input (an element without parameters, two atoms at the same place, an empty molecule, NaN
coordinates) raises ``ValueError`` with the reason, never returns NaN.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch

__all__ = ["ELEMENTS", "QEQ_PARAMETERS", "THOLE_POLARIZABILITY", "THOLE_A", "COULOMB_EV_ANGSTROM",
           "DEBYE_PER_E_ANGSTROM", "QEQ_WIDTH_FACTOR", "MIN_DISTANCE", "Molecule", "g2_names", "g2_molecule", "distort",
           "coulomb_matrix", "qeq_charges", "dipole_moment", "thole_interaction", "induced_dipole_polarizability", "polarizability",
           "isolated_polarizability", "one_hot", "MoleculeSet", "molecule_dataset", "rotate_set",
           "spin_multiplicity", "make_g2_dipoles"]

#: Coulomb constant in eV Å / e²; 1 e Å in debye.
COULOMB_EV_ANGSTROM = 14.399645
DEBYE_PER_E_ANGSTROM = 4.80320

#: Rappé & Goddard (1991), table 1: electronegativity χ and idempotential J, both in eV.
QEQ_PARAMETERS = {"H": (4.528, 13.890), "C": (5.343, 10.126), "N": (6.899, 11.760), "O": (8.741, 13.364),
                  "F": (10.874, 14.948), "S": (6.928, 8.972), "Cl": (8.564, 9.892)}

_BOHR3 = 0.529177210903 ** 3
#: van Duijnen & Swart (1998), exponential model: atomic polarizabilities in Å³ (from bohr³) ...
THOLE_POLARIZABILITY = {e: v * _BOHR3 for e, v in {"H": 2.7927, "C": 8.6959, "N": 6.5565, "O": 5.7494,
                                                    "F": 2.6175, "S": 16.6984, "Cl": 16.1979}.items()}
#: ... and their damping constant.
THOLE_A = 2.1304

#: Widening of the Gaussian charges relative to the hardness (see the module docstring).
QEQ_WIDTH_FACTOR = 1.5

#: The elements both models know, in the order of the one-hot node features.
ELEMENTS = ("H", "C", "N", "O", "F", "S", "Cl")
#: Atoms closer than this (Å) are rejected as "at the same position".
MIN_DISTANCE = 0.1

F64 = torch.float64


@dataclass
class Molecule:
    """A molecule: element ``symbols`` and ``pos`` (N, 3) in Å (float64), with its G2 ``name``."""

    name: str
    symbols: tuple[str, ...]
    pos: torch.Tensor

    def __len__(self) -> int:
        return len(self.symbols)


# ----------------------------------------------------------------------------- input checks
def _check_symbols(symbols: Sequence[str], table: dict, what: str) -> list[str]:
    symbols = list(symbols)
    if len(symbols) == 0:
        raise ValueError("empty molecule: give at least one atom")
    unknown = sorted({str(s) for s in symbols if s not in table})
    if unknown:
        raise ValueError(f"no {what} parameters for element(s) {', '.join(unknown)}; "
                         f"known: {', '.join(ELEMENTS)}")
    return symbols


def _check(symbols: Sequence[str], pos, table: dict, what: str) -> torch.Tensor:
    symbols = _check_symbols(symbols, table, what)
    pos = torch.as_tensor(np.asarray(pos, dtype=np.float64)) if not isinstance(pos, torch.Tensor) else pos.to(F64)
    if pos.shape != (len(symbols), 3):
        raise ValueError(f"pos should have shape ({len(symbols)}, 3) for {len(symbols)} atoms, got {tuple(pos.shape)}")
    if not bool(torch.isfinite(pos).all()):
        raise ValueError("pos contains NaN or inf")
    if len(symbols) > 1:
        d = torch.cdist(pos, pos) + torch.eye(len(symbols), dtype=F64) * 1e9
        if float(d.min()) < MIN_DISTANCE:
            i, j = divmod(int(d.argmin()), len(symbols))
            raise ValueError(f"atoms {i} ({symbols[i]}) and {j} ({symbols[j]}) are {float(d.min()):.3g} Å apart: "
                             f"at the same position (minimum {MIN_DISTANCE} Å)")
    return pos


# ----------------------------------------------------------------------------- geometries
def g2_names(elements: Sequence[str] = ELEMENTS, min_atoms: int = 2, closed_shell: bool = False) -> list[str]:
    """Names of the G2 molecules made only of ``elements`` with at least ``min_atoms`` atoms (sorted).

    ``closed_shell=True`` leaves out the radicals (spin multiplicity > 1, :func:`spin_multiplicity`).
    """
    from ase.collections import g2

    allowed = set(elements)
    return sorted(n for n in g2.names
                  if len(g2[n]) >= min_atoms and set(g2[n].get_chemical_symbols()) <= allowed
                  and not (closed_shell and spin_multiplicity(n) > 1))


def spin_multiplicity(name: str) -> int:
    """2S + 1 of the G2 molecule ``name``: |sum of ase's initial magnetic moments| + 1 (1 closed shell, 2 a
    radical such as OH, 3 a triplet such as O2)."""
    from ase.collections import g2

    if name not in g2.names:
        raise ValueError(f"{name!r} is not a G2 molecule: see ase.collections.g2.names or g2_names()")
    return int(round(abs(float(g2[name].get_initial_magnetic_moments().sum())))) + 1


def g2_molecule(name: str) -> Molecule:
    """The G2 geometry of ``name`` (``ase.build.molecule``), as a :class:`Molecule`."""
    from ase.build import molecule

    atoms = molecule(name)
    return Molecule(name, tuple(atoms.get_chemical_symbols()), torch.tensor(atoms.positions, dtype=F64))


def distort(mol: Molecule, sigma: float = 0.05, generator: torch.Generator | None = None) -> Molecule:
    """A copy with every coordinate displaced by an independent N(0, sigma²) (Å)."""
    noise = torch.randn(mol.pos.shape, generator=generator, dtype=F64) * sigma
    return Molecule(mol.name, mol.symbols, mol.pos + noise)


# ----------------------------------------------------------------------------- charges and dipole
def coulomb_matrix(symbols: Sequence[str], pos) -> torch.Tensor:
    r"""The matrix :math:`A` of the module docstring (eV/e²): hardness on the diagonal, Gaussian-shielded Coulomb off it."""
    pos = _check(symbols, pos, QEQ_PARAMETERS, "charge-model")
    J = torch.tensor([QEQ_PARAMETERS[s][1] for s in symbols], dtype=F64)
    sigma = QEQ_WIDTH_FACTOR * COULOMB_EV_ANGSTROM / (J * math.sqrt(math.pi))
    n = len(symbols)
    r = (pos[:, None, :] - pos[None, :, :]).norm(dim=-1) + torch.eye(n, dtype=F64)  # 1 on the diagonal: no 0/0
    width = torch.sqrt(2 * (sigma[:, None] ** 2 + sigma[None, :] ** 2))
    A = COULOMB_EV_ANGSTROM * torch.erf(r / width) / r
    return A * (1 - torch.eye(n, dtype=F64)) + torch.diag(J)


def qeq_charges(symbols: Sequence[str], pos, total_charge: float = 0.0) -> torch.Tensor:
    """Equilibrated atomic charges (e), summing to ``total_charge``: the constrained solve of the docstring."""
    A = coulomb_matrix(symbols, pos)
    n = len(symbols)
    chi = torch.tensor([QEQ_PARAMETERS[s][0] for s in symbols], dtype=F64)
    K = torch.zeros(n + 1, n + 1, dtype=F64)
    K[:n, :n], K[:n, n], K[n, :n] = A, 1.0, 1.0
    rhs = torch.cat([-chi, torch.tensor([float(total_charge)], dtype=F64)])
    return torch.linalg.solve(K, rhs)[:n]


def dipole_moment(symbols: Sequence[str], pos) -> torch.Tensor:
    r"""Dipole :math:`\sum_i q_i \vec r_i` of the neutral molecule with QEq charges, in debye, shape (3,).

    A classical model (see the module docstring), far from experiment for many molecules; the labels of
    lesson 13 are GFN2-xTB dipoles (:func:`make_g2_dipoles`)."""
    pos = _check(symbols, pos, QEQ_PARAMETERS, "charge-model")
    q = qeq_charges(symbols, pos)
    return DEBYE_PER_E_ANGSTROM * (q[:, None] * pos).sum(0)


# ----------------------------------------------------------------------------- polarizability
def thole_interaction(alphas: torch.Tensor, pos: torch.Tensor, a: float = THOLE_A) -> torch.Tensor:
    r"""The (3N, 3N) dipole-field matrix :math:`T` (zero 3x3 blocks on the diagonal), Thole-damped when ``a > 0``."""
    n = pos.shape[0]
    vec = pos[:, None, :] - pos[None, :, :]
    r = vec.norm(dim=-1) + torch.eye(n, dtype=pos.dtype)
    rhat = vec / r[..., None]
    if a > 0:
        v = a * r / (alphas[:, None] * alphas[None, :]) ** (1 / 6)
        e = torch.exp(-v)
        lam3 = 1 - (1 + v + v**2 / 2) * e
        lam5 = 1 - (1 + v + v**2 / 2 + v**3 / 6) * e
    else:
        lam3 = lam5 = torch.ones_like(r)
    eye = torch.eye(3, dtype=pos.dtype)
    T = (3 * lam5[..., None, None] * rhat[..., :, None] * rhat[..., None, :] - lam3[..., None, None] * eye) / r[..., None, None] ** 3
    T = T * (1 - torch.eye(n, dtype=pos.dtype))[..., None, None]
    return T.permute(0, 2, 1, 3).reshape(3 * n, 3 * n)


def induced_dipole_polarizability(alphas: torch.Tensor, pos: torch.Tensor, thole_a: float = THOLE_A) -> torch.Tensor:
    r"""Molecular polarizability (3, 3) of point polarizabilities ``alphas`` (N,) at ``pos`` (N, 3), both float64.

    :math:`\sum_{ij} [(\alpha^{-1} - T)^{-1}]_{ij}` with Thole damping ``thole_a`` (0: Applequist, undamped).
    Raises ``ValueError`` when :math:`\alpha^{-1} - T` is not positive definite (a polarization catastrophe).
    """
    n = pos.shape[0]
    M = torch.diag((1 / alphas).repeat_interleave(3)) - thole_interaction(alphas, pos, thole_a)
    M = (M + M.T) / 2
    L, info = torch.linalg.cholesky_ex(M)
    if int(info) != 0:
        raise ValueError("polarization catastrophe: atoms too close for undamped induced dipoles "
                         "(the relay matrix is not positive definite); use damping=True")
    field = torch.eye(3, dtype=pos.dtype).repeat(n, 1)               # a unit field along x, y, z at every atom
    dipoles = torch.cholesky_solve(field, L)                         # (3N, 3): induced dipoles p = B E
    alpha = dipoles.reshape(n, 3, 3).sum(0)                          # Σ_i p_i per field direction
    return (alpha + alpha.T) / 2


def polarizability(symbols: Sequence[str], pos, *, damping: bool = True) -> torch.Tensor:
    r"""Molecular polarizability (Å³, (3, 3), symmetric) of interacting induced dipoles, see the docstring.

    ``damping=False`` is Applequist's undamped model (same atomic polarizabilities). Raises
    ``ValueError`` when the relay matrix is not positive definite (a polarization catastrophe).
    """
    pos = _check(symbols, pos, THOLE_POLARIZABILITY, "polarizability")
    alphas = torch.tensor([THOLE_POLARIZABILITY[s] for s in symbols], dtype=F64)
    return induced_dipole_polarizability(alphas, pos, THOLE_A if damping else 0.0)


def isolated_polarizability(symbols: Sequence[str]) -> torch.Tensor:
    r"""The additive baseline :math:`\sum_i \alpha_i\, I` (no interactions), (3, 3) in Å³."""
    symbols = _check_symbols(symbols, THOLE_POLARIZABILITY, "polarizability")
    return sum(THOLE_POLARIZABILITY[s] for s in symbols) * torch.eye(3, dtype=F64)


# ----------------------------------------------------------------------------- data sets
def one_hot(symbols: Sequence[str], dtype=torch.float32) -> torch.Tensor:
    """(N, len(ELEMENTS)) one-hot element features (irreps ``7x0e``)."""
    unknown = sorted({s for s in symbols if s not in ELEMENTS})
    if unknown:
        raise ValueError(f"no parameters for element(s) {', '.join(unknown)}; known: {', '.join(ELEMENTS)}")
    index = torch.tensor([ELEMENTS.index(s) for s in symbols])
    return torch.nn.functional.one_hot(index, len(ELEMENTS)).to(dtype)


@dataclass
class MoleculeSet:
    """Batched molecules with their labels.

    ``pos`` (N, 3), ``features`` (N, 7) one-hot, ``batch`` (N,), ``names`` per molecule,
    ``dipole`` (B, 3) in D, ``polarizability`` (B, 3, 3) in Å³, ``additive`` (B, 3, 3) the isolated-atom sum.
    """

    names: list[str]
    pos: torch.Tensor
    features: torch.Tensor
    batch: torch.Tensor
    dipole: torch.Tensor
    polarizability: torch.Tensor
    additive: torch.Tensor

    @property
    def num_graphs(self) -> int:
        return len(self.names)

    def to(self, dtype) -> "MoleculeSet":
        return MoleculeSet(self.names, self.pos.to(dtype), self.features.to(dtype), self.batch,
                           self.dipole.to(dtype), self.polarizability.to(dtype), self.additive.to(dtype))

    @classmethod
    def from_frames(cls, frames) -> "MoleculeSet":
        """Batch labelled ``ase.Atoms`` (e.g. ``e3teach.datasets.load("g2_dipoles")``), float64: the dipole
        from each frame's calculator (e·Å, as ase stores it) in debye; polarizabilities from :func:`polarizability`."""
        frames = list(frames)
        if not frames:
            raise ValueError("no frames: give at least one labelled ase.Atoms")
        missing = [k for k, a in enumerate(frames) if a.calc is None or "dipole" not in a.calc.results]
        if missing:
            raise ValueError(f"frames {missing[:5]} carry no dipole label: use frames from make_g2_dipoles() "
                             "or e3teach.datasets.load('g2_dipoles')")
        symbols = [tuple(a.get_chemical_symbols()) for a in frames]
        pos = [torch.tensor(a.positions, dtype=F64) for a in frames]
        return cls(names=[str(a.info.get("name", a.get_chemical_formula())) for a in frames],
                   pos=torch.cat(pos),
                   features=torch.cat([one_hot(s, F64) for s in symbols]),
                   batch=torch.cat([torch.full((len(s),), k, dtype=torch.long) for k, s in enumerate(symbols)]),
                   dipole=torch.tensor(np.array([a.calc.results["dipole"] for a in frames]), dtype=F64)
                   * DEBYE_PER_E_ANGSTROM,
                   polarizability=torch.stack([polarizability(s, p) for s, p in zip(symbols, pos)]),
                   additive=torch.stack([isolated_polarizability(s) for s in symbols]))


def molecule_dataset(names: Sequence[str], copies: int = 1, sigma: float = 0.05, seed: int = 0) -> MoleculeSet:
    """``copies`` randomly distorted copies of each G2 molecule, labelled with both models (float64)."""
    gen = torch.Generator().manual_seed(seed)
    mols = [distort(g2_molecule(n), sigma, gen) for n in names for _ in range(copies)]
    return MoleculeSet(
        names=[m.name for m in mols],
        pos=torch.cat([m.pos for m in mols]),
        features=torch.cat([one_hot(m.symbols, F64) for m in mols]),
        batch=torch.cat([torch.full((len(m),), k, dtype=torch.long) for k, m in enumerate(mols)]),
        dipole=torch.stack([dipole_moment(m.symbols, m.pos) for m in mols]),
        polarizability=torch.stack([polarizability(m.symbols, m.pos) for m in mols]),
        additive=torch.stack([isolated_polarizability(m.symbols) for m in mols]))


def rotate_set(data: MoleculeSet, rotations: torch.Tensor) -> MoleculeSet:
    """Rotate molecule ``k`` by ``rotations[k]`` (B, 3, 3): positions, dipoles (R μ) and tensors (R α Rᵀ)."""
    R = rotations.to(data.pos.dtype)
    Rn = R[data.batch]
    return MoleculeSet(data.names, torch.einsum("nij,nj->ni", Rn, data.pos), data.features, data.batch,
                       torch.einsum("bij,bj->bi", R, data.dipole),
                       R @ data.polarizability @ R.transpose(1, 2), data.additive)


# ----------------------------------------------------------------------------- GFN2-xTB labels
def _check_g2_request(names, copies, sigma) -> list[str]:
    """The names of a :func:`make_g2_dipoles` request, or a ``ValueError`` that says what to change."""
    from ase.collections import g2

    names = g2_names(closed_shell=True) if names is None else [str(n) for n in names]
    unknown = [n for n in names if n not in g2.names]
    if unknown:
        raise ValueError(f"not G2 molecules: {', '.join(unknown)}; choose from g2_names()")
    outside = [n for n in names if not set(g2[n].get_chemical_symbols()) <= set(ELEMENTS)]
    if outside:
        raise ValueError(f"{', '.join(outside)} contain elements outside {', '.join(ELEMENTS)}: "
                         "the one-hot features and the polarizability model know only these")
    if isinstance(copies, bool) or int(copies) != copies or copies < 0:
        raise ValueError(f"copies must be a whole number ≥ 0 (distorted copies per molecule), got {copies}")
    if not (math.isfinite(sigma) and sigma >= 0):
        raise ValueError(f"sigma is the displacement's standard deviation in Å: finite and ≥ 0, got {sigma}")
    return names


def make_g2_dipoles(*, names: Sequence[str] | None = None, copies: int = 3, sigma: float = 0.05,
                    seed: int = 0) -> list:
    """G2 molecules labelled by GFN2-xTB: the data set ``g2_dipoles`` of :mod:`e3teach.datasets`.

    For each molecule of ``names`` (default: the 99 closed-shell G2 molecules of :data:`ELEMENTS`),
    copy 0 is the G2 geometry and copies 1 … ``copies`` are displaced by N(0, ``sigma``²) Å on every
    coordinate. Labels: GFN2-xTB energy (eV), forces (eV/Å) and dipole (e·Å) at the float32-rounded
    positions the file stores; a radical gets its spin multiplicity. Needs ``tblite``.
    """
    from ase.build import molecule
    from ase.calculators.singlepoint import SinglePointCalculator
    from . import xtb

    names = _check_g2_request(names, copies, sigma)
    gen, frames = torch.Generator().manual_seed(seed), []
    for name in names:
        for copy in range(int(copies) + 1):                        # copy 0: the G2 geometry itself
            atoms = molecule(name)
            if copy > 0:
                noise = torch.randn(atoms.positions.shape, generator=gen, dtype=F64).numpy()
                atoms.positions += sigma * noise
            atoms.positions = atoms.positions.astype(np.float32)   # exactly what the file will hold
            labels = xtb.single_point(atoms, charge=0, multiplicity=spin_multiplicity(name))
            atoms.calc = SinglePointCalculator(atoms, **labels)    # energy, forces, dipole
            atoms.info.update(name=name, copy=copy)
            frames.append(atoms)
    return frames
