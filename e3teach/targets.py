r"""Targets beyond energy and forces (lesson 14, exercises, "Going further"): stress by a strain derivative.

A homogeneous strain :math:`\varepsilon` (a 3×3 matrix) moves every position and every cell vector,
:math:`\vec p \to (I + \varepsilon)\,\vec p` — on row-stacked data ``pos @ (I + ε).T`` and ``cell @ (I + ε).T``.
The stress is the derivative of the energy at zero strain, per volume,

.. math:: \sigma_{ab} = \frac{1}{V}\,\frac{\partial E}{\partial \varepsilon_{ab}}\Big|_{\varepsilon = 0}
   \quad [\text{eV/Å}^3], \qquad W = -V\sigma \quad [\text{eV}] \ \text{(the virial)},

ase's convention: a cell stretched beyond its equilibrium has :math:`\sigma > 0` (tensile), and
``atoms.get_stress()`` returns the Voigt order ``xx, yy, zz, yz, xz, xy`` in eV/Å³ (divide by
``ase.units.GPa`` for GPa). Pressure is :math:`P = -\operatorname{tr}\sigma / 3`.

- :func:`stress_from_energy` — σ of any torch energy ``energy_fn(pos, cell)`` by autograd.
- :func:`strained_energy` / :func:`model_stress` — the same for an :class:`~e3teach.potentials.InteratomicPotential`:
  straining ``pos`` *and* ``edge_offset = shift @ cell`` gives :math:`E(\varepsilon)`.
- :func:`emt_energy` — ase's EMT (Ag, Au, Cu, …) written again in torch, so autograd gives its forces and stress.
- :func:`voigt` / :func:`from_voigt` / :func:`virial` — ase's 6-vector and the virial.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from .crystals import periodic_radius_graph

__all__ = ["VOIGT", "stress_from_energy", "strained_energy", "model_stress", "emt_energy", "voigt", "from_voigt",
           "virial"]

#: ase's order of the six independent stress components (row, column) of the 3×3 tensor.
VOIGT = ((0, 0), (1, 1), (2, 2), (1, 2), (0, 2), (0, 1))


def _check_cell(cell: torch.Tensor, what: str = "cell") -> float:
    if not isinstance(cell, torch.Tensor) or cell.shape != (3, 3):
        raise ValueError(f"{what} should be a (3, 3) tensor (one cell vector per row), got "
                         f"{tuple(cell.shape) if isinstance(cell, torch.Tensor) else type(cell).__name__}")
    volume = abs(float(torch.linalg.det(cell.detach().to(torch.float64))))
    if volume < 1e-8:
        raise ValueError(f"the {what} {cell.detach().tolist()} has zero volume: stress needs a periodic structure "
                         "with three cell vectors (a molecule has no stress)")
    return volume


def stress_from_energy(energy_fn, pos: torch.Tensor, cell: torch.Tensor) -> torch.Tensor:
    r"""σ = (1/V) ∂E/∂ε at ε = 0, (3, 3) in eV/Å³, of ``energy_fn(pos (N, 3), cell (3, 3)) -> E`` (Å; 0-d, eV).

    Positions and cell are both strained (``@ (I + ε).T``); ``ε`` requires grad, ``pos`` and ``cell`` do not.
    Symmetrized: a rotation (the antisymmetric part of ε) does not change an invariant energy.
    """
    volume = _check_cell(cell)
    if not isinstance(pos, torch.Tensor) or pos.dim() != 2 or pos.shape[1] != 3:
        raise ValueError(f"pos should be a (N, 3) tensor, got {getattr(pos, 'shape', type(pos).__name__)}")
    strain = torch.zeros(3, 3, dtype=pos.dtype, requires_grad=True)
    deform = torch.eye(3, dtype=pos.dtype) + strain
    energy = energy_fn(pos.detach() @ deform.T, cell.detach().to(pos.dtype) @ deform.T)
    if not isinstance(energy, torch.Tensor) or energy.numel() != 1:
        raise ValueError(f"energy_fn should return one energy (a 0-d tensor), got {getattr(energy, 'shape', energy)}")
    (grad,) = torch.autograd.grad(energy.reshape(()), strain)
    return 0.5 * (grad + grad.T) / volume


def strained_energy(model, data, strain: torch.Tensor) -> torch.Tensor:
    r"""Energies (S,) of the structures of ``data`` (an :class:`~e3teach.potentials.AtomsBatch`) under ``strain``
    (S, 3, 3) (or one (3, 3) for all): ``pos`` and ``edge_offset`` (= ``shift @ cell``) both become ``@ (I + ε).T``,
    so ``edge_vec = pos[dst] - pos[src] + edge_offset`` is strained too. The neighbour list is kept (a small strain)."""
    strain = torch.as_tensor(strain, dtype=data.pos.dtype)
    if strain.shape == (3, 3):
        strain = strain.expand(data.num_graphs, 3, 3)
    if strain.shape != (data.num_graphs, 3, 3):
        raise ValueError(f"strain should have shape (3, 3) or ({data.num_graphs}, 3, 3), got {tuple(strain.shape)}")
    deform = torch.eye(3, dtype=strain.dtype) + strain                         # (S, 3, 3)
    pos = torch.einsum("nb,nab->na", data.pos, deform[data.batch])
    offset = torch.einsum("eb,eab->ea", data.edge_offset, deform[data.batch[data.edge_src]])
    return model(pos, data.numbers, data.batch, data.num_graphs, data.edge_src, data.edge_dst, offset)


def model_stress(model, atoms) -> np.ndarray:
    """The stress (3, 3) of a periodic ``ase.Atoms`` predicted by an :class:`~e3teach.potentials.InteratomicPotential`,
    eV/Å³ in ase's sign convention (compare with ``atoms.get_stress(voigt=False)``)."""
    from .potentials import batch_structures
    if not np.asarray(atoms.get_pbc()).all():
        raise ValueError("stress needs a structure periodic in all three directions, got "
                         f"pbc={atoms.get_pbc().tolist()}: a molecule or a slab has no (bulk) stress")
    dtype = model.energy_scale.dtype
    data = batch_structures([atoms], model.r_max, dtype, species=model.species)
    strain = torch.zeros(1, 3, 3, dtype=dtype, requires_grad=True)
    (grad,) = torch.autograd.grad(strained_energy(model, data, strain).sum(), strain)
    grad = grad[0].detach().to(torch.float64)
    return (0.5 * (grad + grad.T) / atoms.get_volume()).numpy()


def voigt(stress) -> np.ndarray:
    """ase's 6-vector ``xx, yy, zz, yz, xz, xy`` of a (3, 3) stress."""
    s = np.asarray(stress, dtype=float)
    if s.shape != (3, 3):
        raise ValueError(f"voigt() takes a (3, 3) stress, got shape {s.shape}")
    return np.array([s[a, b] for a, b in VOIGT])


def from_voigt(six) -> np.ndarray:
    """The symmetric (3, 3) stress of ase's 6-vector ``xx, yy, zz, yz, xz, xy``."""
    v = np.asarray(six, dtype=float)
    if v.shape != (6,):
        raise ValueError(f"from_voigt() takes ase's 6-vector (xx, yy, zz, yz, xz, xy), got shape {v.shape}")
    s = np.zeros((3, 3))
    for k, (a, b) in enumerate(VOIGT):
        s[a, b] = s[b, a] = v[k]
    return s


def virial(stress, volume: float) -> np.ndarray:
    """The virial W = −V σ in eV, from a stress in eV/Å³ and a volume in Å³."""
    if volume <= 0:
        raise ValueError(f"volume = {volume} Å³: a cell volume is positive")
    return -float(volume) * np.asarray(stress, dtype=float)


# ----------------------------------------------------------------------------- EMT in torch
_BOHR = 0.5291772105638411
_BETA = 1.809
# ase.calculators.emt.parameters: E0 (eV), s0 (bohr), V0 (eV), eta2, kappa, lambda (1/bohr), n0 (1/bohr³)
_EMT = {"Ag": (-2.96, 3.01, 2.132, 1.652, 2.790, 1.892, 0.00547),
        "Au": (-3.80, 3.00, 2.321, 1.674, 2.873, 2.182, 0.00703),
        "Cu": (-3.51, 2.67, 2.476, 1.652, 2.740, 1.906, 0.00910),
        "Al": (-3.28, 3.00, 1.493, 1.240, 2.000, 1.169, 0.00700),
        "Ni": (-4.44, 2.60, 3.673, 1.669, 2.757, 1.948, 0.01030),
        "Pd": (-3.90, 2.87, 2.773, 1.818, 3.107, 2.155, 0.00688),
        "Pt": (-5.85, 2.90, 4.067, 1.812, 3.145, 2.192, 0.00802)}
_MAX_S0 = 3.01          # ase's cutoff comes from the largest s0 of its whole table (asap_cutoff=False): Ag's


def _emt_cutoff():
    r1nn = _BETA * _MAX_S0 * _BOHR
    rc = r1nn * 0.5 * (math.sqrt(3.0) + 2.0)
    acut = math.log(1.0 / 1e-4 - 1.0) / (2.0 * r1nn - rc)
    return rc, rc + 0.5, acut


def emt_energy(pos: torch.Tensor, cell: torch.Tensor, numbers) -> torch.Tensor:
    r"""ase's EMT energy (eV, 0-d) of a periodic structure, in torch: autograd gives its forces and stress.

    Follows ``ase.calculators.emt.EMT`` (default ``asap_cutoff=False``) term by term: the neutral-sphere
    radius :math:`s_i` from the density :math:`\sigma_{1,i}`, the cohesive function, the atomic-sphere
    correction, each pair weighted by the logistic cutoff. ``pos`` (N, 3) Å, ``cell`` (3, 3) Å, ``numbers`` (N,).
    """
    from ase.data import chemical_symbols
    numbers = [int(z) for z in numbers]
    unknown = sorted({chemical_symbols[z] for z in numbers} - set(_EMT))
    if unknown:
        raise ValueError(f"no EMT parameters for {', '.join(unknown)}: EMT knows {', '.join(_EMT)}")
    rc, rc_list, acut = _emt_cutoff()
    par = torch.tensor([_EMT[chemical_symbols[z]] for z in numbers], dtype=pos.dtype)
    e0, s0, v0 = par[:, 0], par[:, 1] * _BOHR, par[:, 2]
    eta2, kappa, lam, n0 = par[:, 3] / _BOHR, par[:, 4] / _BOHR, par[:, 5] / _BOHR, par[:, 6] / _BOHR**3
    # gamma1, gamma2: normalisation over the first three fcc shells (12, 6, 24 neighbours)
    shells = _BETA * s0[:, None] * torch.sqrt(torch.tensor([1.0, 2.0, 3.0], dtype=pos.dtype))
    x = torch.tensor([12.0, 6.0, 24.0], dtype=pos.dtype) / (1.0 + torch.exp(acut * (shells - rc))) / 12.0
    gamma1 = (x * torch.exp(-eta2[:, None] * (shells - _BETA * s0[:, None]))).sum(1)
    gamma2 = (x * torch.exp(-kappa[:, None] / _BETA * (shells - _BETA * s0[:, None]))).sum(1)
    with torch.no_grad():
        src, dst, shifts = periodic_radius_graph(pos.detach(), cell.detach(), rc_list)
    r = (pos[dst] - pos[src] + shifts.to(pos.dtype) @ cell).norm(dim=1)
    w = 1.0 / (1.0 + torch.exp(acut * (r - rc)))
    chi = n0[dst] / n0[src]
    sigma1 = torch.zeros(len(numbers), dtype=pos.dtype).index_add(
        0, src, torch.exp(-eta2[dst] * (r - _BETA * s0[dst])) * chi * w)
    ds = -torch.log(sigma1 / (12.0 * gamma1)) / (_BETA * eta2)
    cohesive = e0 * (1.0 + lam * ds) * torch.exp(-lam * ds) + 6.0 * v0 * torch.exp(-kappa * ds)
    half_v0 = -0.5 * v0 / gamma2
    pair = (half_v0[src] * torch.exp(-kappa[dst] * (r / _BETA - s0[dst])) * chi
            + half_v0[dst] * torch.exp(-kappa[src] * (r / _BETA - s0[src])) / chi) * w
    return (cohesive - e0).sum() + 0.5 * pair.sum()
