r"""From the course to the real ``nequip`` package (lesson 18): the few glue functions used more than once.

``nequip`` (Batzner et al., *Nat. Commun.* 13, 2453 (2022)) is imported lazily, inside the functions, so
``import e3teach`` works without it. Its data are ``AtomicDataDict`` s: plain ``dict`` s of tensors with
keys such as ``"pos"``, ``"atom_types"``, ``"edge_index"``, ``"total_energy"``, ``"forces"``, built from
``ase.Atoms`` by ``nequip.data.from_ase`` and two *transforms* (atomic number → type index, neighbour list).

- :func:`init_nequip` — nequip's one-time global setup, keeping the caller's default dtype and random state.
- :func:`to_nequip_data` — ``ase.Atoms`` → one batched ``AtomicDataDict`` in float64 (what nequip expects).
- :func:`nequip_energy_and_forces` — ``(energy (S,), forces (N, 3))`` of a nequip model on such data.
- :func:`energy_forces_of_positions` — a cluster's energy and forces as a function of its positions
  (the form ``e3teach.check_point_model`` wants).
- :func:`train_nequip` — a plain-torch training loop over a nequip model (the loss of lesson 14).
- :func:`prediction_errors` — energy-per-atom MAE and force MAE/RMSE of any predictions.
- :func:`nequip_calculator` — nequip's own ase calculator around an eager (not compiled) model.
- :func:`finite_difference_forces` — central-difference forces of any ase calculator.
"""
from __future__ import annotations

import random

import numpy as np
import torch

from .env import default_dtype
from .potentials import AdamTrainer, TrainingRun, prediction_errors, validate_atoms

__all__ = ["init_nequip", "type_names_of", "nequip_hyperparameters", "to_nequip_data", "nequip_energy_and_forces", "energy_forces_of_positions",
           "nequip_trainer", "train_nequip", "prediction_errors", "nequip_calculator", "finite_difference_forces"]


def init_nequip() -> None:
    """Run ``nequip.utils.global_state.set_global_state()`` once, which every nequip model build requires.

    nequip's setup also seeds every generator (with 123) and sets torch's default dtype to float64;
    here both are put back as they were, so calling this does not change a notebook's or a test's state.
    """
    from nequip.utils.global_state import global_state_initialized, set_global_state
    if global_state_initialized():
        return
    dtype, torch_state, np_state, py_state = (torch.get_default_dtype(), torch.get_rng_state(),
                                              np.random.get_state(), random.getstate())
    set_global_state()
    torch.set_default_dtype(dtype)
    torch.set_rng_state(torch_state)
    np.random.set_state(np_state)
    random.setstate(py_state)


def type_names_of(model) -> list[str]:
    """The chemical symbols a nequip model was built for (its ``type_names``), in the model's order."""
    names = list(getattr(model, "type_names", []) or [])
    if not names:
        raise ValueError("this model has no `type_names`: build it with nequip.model.NequIPGNNModel(type_names=[...])")
    return names


def nequip_hyperparameters(structures, r_max: float, *, num_layers: int = 2, l_max: int = 1,
                           num_features: int = 8) -> tuple:
    """``(type_names, hyperparameters)`` of a ``NequIPGNNModel`` for labelled ``structures``: the size given here,
    three statistics of the data as lesson 14 computes them — least-squares per-species energy shifts (eV),
    the RMS force component as energy scale (eV/Å · 1 Å), the average number of neighbours within ``r_max``
    (Å) — and nequip's documented defaults for everything else (e.g. ``radial_mlp_width=128``)."""
    from ase.data import chemical_symbols
    from .potentials import average_num_neighbors, batch_structures, fit_energy_shift
    from .potentials import species_counts
    data = batch_structures(list(structures), r_max, torch.float64)
    species = sorted({int(z) for z in data.numbers})
    shifts = fit_energy_shift(species_counts(data, species), data.energy)
    names = [chemical_symbols[z] for z in species]
    return names, dict(r_max=float(r_max), num_layers=num_layers, l_max=l_max,
                       num_features=num_features, avg_num_neighbors=average_num_neighbors(data),
                       per_type_energy_shifts={n: float(mu) for n, mu in zip(names, shifts)},
                       per_type_energy_scales=float(data.forces.pow(2).mean().sqrt()))


def to_nequip_data(structures, type_names, r_max: float) -> dict:
    r"""``ase.Atoms`` (one, or a list) → one batched nequip ``AtomicDataDict``, in float64.

    Each structure is checked by :func:`e3teach.potentials.validate_atoms` (a clear ``ValueError``),
    converted with ``nequip.data.from_ase`` (positions, cell, pbc, and the energy and forces stored by a
    single-point calculator), given its ``atom_types`` by ``ChemicalSpeciesToAtomTypeMapper`` (type
    :math:`k` = ``type_names[k]``) and its periodic neighbour list within ``r_max`` by
    ``NeighborListTransform``; the list is joined by ``AtomicDataDict.batched_from_list``.
    ``from_ase`` builds tensors in torch's default dtype: we build them under float64, nequip's data dtype.
    """
    from ase import Atoms
    from ase.data import atomic_numbers
    from nequip.data import AtomicDataDict, from_ase
    from nequip.data.transforms import ChemicalSpeciesToAtomTypeMapper, NeighborListTransform

    structures = [structures] if isinstance(structures, Atoms) else list(structures)
    if not structures:
        raise ValueError("no structures: pass an ase.Atoms or a non-empty list of them")
    type_names = list(type_names)
    species = [atomic_numbers[name] for name in type_names]
    mapper = ChemicalSpeciesToAtomTypeMapper(model_type_names=type_names,
                                             chemical_species_to_atom_type_map={name: name for name in type_names})
    neighbours = NeighborListTransform(r_max=float(r_max))
    frames = []
    with default_dtype(torch.float64):
        for atoms in structures:
            validate_atoms(atoms, species)
            frames.append(neighbours(mapper(from_ase(_energy_and_forces_only(atoms)))))
        return AtomicDataDict.batched_from_list(frames)


def _energy_and_forces_only(atoms):
    """A copy of ``atoms`` whose calculator holds only its energy and forces (when it has them): nequip's
    ``from_ase`` reads every stored result, and would take a molecular dipole (3,) for a per-atom field."""
    from ase.calculators.singlepoint import SinglePointCalculator
    copy = atoms.copy()
    results = getattr(atoms.calc, "results", {}) if atoms.calc is not None else {}
    if "energy" in results and "forces" in results:
        copy.calc = SinglePointCalculator(copy, energy=results["energy"], forces=results["forces"])
    return copy


def nequip_energy_and_forces(model, data: dict, *, training: bool = False):
    """``(energy (S,), forces (N, 3))`` of a nequip model on a batched ``AtomicDataDict``.

    nequip computes the forces itself (``ForceStressOutput``: autograd of the total energy with respect to
    the positions, with ``create_graph`` in training mode). ``training=True`` puts the model in training
    mode and keeps the graph, for a loss on forces; otherwise the model is put in eval mode and the
    results are detached. The input dict is not modified.
    """
    model.train(training)
    out = model(dict(data))
    energy, forces = out["total_energy"].reshape(-1), out["forces"]
    if training:
        return energy, forces
    return energy.detach(), forces.detach()


def energy_forces_of_positions(model, atoms, r_max: float):
    """``f(pos) -> (energy (1, 1), forces (N, 3))`` for the atoms of ``atoms`` at positions ``pos``, as a cluster.

    The cell is dropped (``pbc=False``): ``e3teach.check_point_model`` moves positions only, and a rotated
    crystal needs its cell rotated too. The neighbour list is rebuilt for every ``pos``.
    """
    from ase import Atoms
    numbers, type_names = atoms.get_atomic_numbers(), type_names_of(model)

    def energy_forces(pos):
        cluster = Atoms(numbers=numbers, positions=pos.detach().to(torch.float64).numpy(), pbc=False)
        energy, forces = nequip_energy_and_forces(model, to_nequip_data(cluster, type_names, r_max))
        return energy.reshape(1, 1), forces
    return energy_forces


def nequip_trainer(model, data, *, steps: int | None = 80, lr: float = 1e-2,
                   energy_weight: float = 1.0, seconds: float | None = None,
                   final_lr_fraction: float = 0.1) -> AdamTrainer:
    r"""A trainer (``e3teach.potentials.AdamTrainer``) of Adam over a nequip model, with the loss of lesson 14
    (:func:`e3teach.potentials.train_potential`):

    .. math:: \mathcal L = w_E\,\overline{(\Delta E / N)^2} / \sigma_F^2 + \overline{|\Delta F|^2} / \sigma_F^2,

    energies per atom, :math:`\sigma_F` the RMS force component of ``data`` (one batched dict, or a list of
    them: minibatches, one per step, in turn); the budget is ``steps`` or ``seconds`` of CPU time, the
    learning rate decaying linearly to ``final_lr_fraction`` of ``lr``. The per-species energy shifts and the
    energy scale are the model's own (set when it is built). What ``nequip-train`` does besides: validation,
    EMA weights, checkpoints.
    """
    batches = [data] if isinstance(data, dict) else list(data)
    if not batches or any("total_energy" not in b or "forces" not in b for b in batches):
        raise ValueError("the data have no total_energy/forces labels: "
                         "build them from labelled ase.Atoms")
    scale2 = float(torch.cat([b["forces"] for b in batches]).pow(2).mean())
    step = iter(range(10**12))

    def step_loss():
        batch = batches[next(step) % len(batches)]
        energy, forces = nequip_energy_and_forces(model, batch, training=True)
        n_atoms = batch["num_atoms"].to(energy.dtype)
        loss_e = ((energy - batch["total_energy"].reshape(-1)) / n_atoms).pow(2).mean()
        loss_f = (forces - batch["forces"]).pow(2).mean()
        return (energy_weight * loss_e + loss_f) / scale2

    budget = dict(steps=steps) if seconds is None else dict(seconds=seconds)
    return AdamTrainer(model, step_loss, lr=lr, final_lr_fraction=final_lr_fraction, **budget)


def train_nequip(model, data, **kwargs) -> TrainingRun:
    """:func:`nequip_trainer` (same arguments) run to the end of its budget; the model is left in eval mode."""
    run = nequip_trainer(model, data, **kwargs).finish()
    model.eval()
    return run


def nequip_calculator(model, r_max: float):
    """nequip's ase calculator (``nequip.integrations.ase.NequIPCalculator``) around an eager nequip model.

    Real users load a compiled model file (``NequIPCalculator.from_compiled_model``, after ``nequip-compile``);
    the constructor takes the model itself and the two transforms that turn ``ase.Atoms`` into model input.
    """
    from nequip.data.transforms import ChemicalSpeciesToAtomTypeMapper, NeighborListTransform
    from nequip.integrations.ase import NequIPCalculator

    class Float64Data(NequIPCalculator):
        """``from_ase`` builds tensors in the default dtype: here float64, whatever the default."""

        def atoms_to_data(self, atoms):
            with default_dtype(torch.float64):
                return super().atoms_to_data(atoms)

    names = type_names_of(model)
    same_names = {n: n for n in names}
    transforms = [ChemicalSpeciesToAtomTypeMapper(model_type_names=names,
                                                  chemical_species_to_atom_type_map=same_names),
                  NeighborListTransform(r_max=float(r_max))]
    return Float64Data(model.eval(), device="cpu", transforms=transforms)


def finite_difference_forces(atoms, calculator, h: float = 1e-3) -> np.ndarray:
    r"""Forces by central differences of an ase calculator's energy:
    :math:`F_{i\alpha} \approx -[E(\vec p + h\,\vec e_{i\alpha}) - E(\vec p - h\,\vec e_{i\alpha})] / 2h` (error :math:`O(h^2)`).

    ``atoms`` is not modified (each displaced structure is a copy); costs :math:`6N` energy calls.
    """
    forces = np.zeros((len(atoms), 3))
    for i, a in np.ndindex(len(atoms), 3):
        energies = []
        for sign in (1, -1):
            moved = atoms.copy()
            moved.positions[i, a] += sign * h
            moved.calc = calculator
            energies.append(float(moved.get_potential_energy()))
        forces[i, a] = -(energies[0] - energies[1]) / (2 * h)
    return forces
