r"""An equivariant interatomic potential, its training data and its ase calculator (lesson 14).

The energy of a structure is a sum of per-atom energies, each a function of the atom's surroundings
within ``r_max``; the forces are its negative gradient,

.. math:: E = \sum_i \big(s\, \varepsilon_i + \mu_{z_i}\big), \qquad \vec F_i = -\frac{\partial E}{\partial \vec p_i},

with :math:`\varepsilon_i` the output of a few gated point convolutions (lessons 07–08) on the species
(one-hot scalars), :math:`s` a fixed energy scale and :math:`\mu_z` a fixed per-species energy (a
least-squares fit, :func:`fit_energy_shift`). An invariant energy of an equivariant network gives
equivariant forces by construction: :math:`E(R\,p) = E(p)` implies :math:`F(R\,p) = R\,F(p)`.

- :func:`batch_structures` / :class:`AtomsBatch` — many periodic structures as one graph.
- :class:`InteratomicPotential` — the model (its recipe: :data:`RECIPE`, :func:`course_potential`);
  :func:`energy_and_forces`; :class:`AdamTrainer`, :func:`race`, :func:`course_trainer`, :func:`train_potential`.
- :class:`DirectForceModel` — the same network with a ``1o`` force output (not conservative).
- :class:`PotentialCalculator` — the trained model as an ``ase`` calculator (energy, forces), for MD.
- :func:`validate_atoms` — the clear errors for input the model cannot handle.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch
from e3nn import o3

from .crystals import periodic_radius_graph
from .graph import radius_graph, scatter_sum
from .models import GatedBlock, PointConvolution
from .training import TrainingRun

__all__ = ["validate_atoms", "thermalize", "AtomsBatch", "batch_structures", "fit_energy_shift",
           "species_counts", "InteratomicPotential", "RECIPE", "RECIPE_TRAINING",
           "course_potential", "course_trainer", "average_num_neighbors", "rebuilt_in",
           "energy_and_forces", "minibatches", "AdamTrainer", "race", "potential_trainer",
           "train_potential", "full_batch_adam", "TrainingRun", "DirectForceModel", "direct_forces",
           "direct_force_trainer", "train_direct_forces", "force_errors", "prediction_errors",
           "ForceErrors", "PotentialCalculator", "run_nve", "energy_drift", "TRAINING_CLOCK"]

#: The clock of training budgets given in seconds: CPU seconds of this process. With one torch thread (the
#: notebooks' setting) it runs as the wall clock on an idle machine and slows down with it on a busy one.
TRAINING_CLOCK = time.process_time


# ----------------------------------------------------------------------------- input validation
def validate_atoms(atoms, species=None, *, min_distance: float = 0.1) -> None:
    """Raise a ``ValueError`` that says what to do when ``atoms`` is not something a potential can evaluate.

    Checks: at least one atom; finite positions; atomic numbers among ``species`` (if given); a
    periodic cell with non-zero volume along its periodic directions; no two atoms (or an atom and a
    periodic image) closer than ``min_distance`` Å — at zero distance an edge has no direction and
    the force would be NaN.
    """
    n = len(atoms)
    if n == 0:
        raise ValueError("the structure has no atoms: build it with at least one atom "
                         "(e.g. ase.build.bulk('Au', 'fcc', a=4.08))")
    pos = np.asarray(atoms.get_positions(), dtype=float)
    if not np.isfinite(pos).all():
        raise ValueError("some atomic positions are NaN or infinite: check how the structure was built")
    if species is not None:
        unknown = sorted(set(int(z) for z in atoms.get_atomic_numbers()) - set(int(z) for z in species))
        if unknown:
            from ase.data import chemical_symbols
            names = ", ".join(f"{chemical_symbols[z]} (Z={z})" for z in unknown)
            known = ", ".join(chemical_symbols[int(z)] for z in species)
            raise ValueError(f"this model was trained on {known} only and cannot evaluate {names}: "
                             "train a model on data that contains these elements")
    pbc = np.asarray(atoms.get_pbc(), dtype=bool)
    cell = np.asarray(atoms.get_cell(), dtype=float)
    if pbc.any():
        periodic = cell[pbc]
        if np.linalg.matrix_rank(periodic, tol=1e-6) < int(pbc.sum()):
            raise ValueError(f"the cell {cell.round(3).tolist()} is empty or flat along its periodic directions "
                             f"(pbc={pbc.tolist()}): set a cell with atoms.set_cell(...) or use pbc=False")
    if n > 1 or pbc.any():
        p = torch.as_tensor(pos, dtype=torch.float64)
        c = torch.as_tensor(cell, dtype=torch.float64)
        if pbc.any():
            src, dst, shifts = periodic_radius_graph(p, c, min_distance, tuple(bool(b) for b in pbc))
        else:
            src, dst = torch.triu_indices(n, n, offset=1)
            keep = (p[dst] - p[src]).norm(dim=1) < min_distance
            src, dst = src[keep], dst[keep]
        if src.numel():
            i, j = int(src[0]), int(dst[0])
            what = f"atoms {i} and {j}" if i != j else f"atom {i} and its own periodic image"
            raise ValueError(f"{what} are closer than {min_distance} Å (at the same position?): remove "
                             "duplicated atoms, or check the cell if an atom sits on top of its image")


# ----------------------------------------------------------------------------- velocities
def thermalize(atoms, temperature_K: float, rng) -> None:
    """Maxwell–Boltzmann velocities at ``temperature_K`` (ase's ``thermalize_momenta``, or its older name)."""
    try:
        from ase.md.velocitydistribution import thermalize_momenta      # ase >= 3.29
        thermalize_momenta(atoms, temperature_K, rng=rng)
    except ImportError:  # pragma: no cover - older ase
        from ase.md.velocitydistribution import MaxwellBoltzmannDistribution
        MaxwellBoltzmannDistribution(atoms, temperature_K=temperature_K, rng=rng)


# ----------------------------------------------------------------------------- batching
@dataclass
class AtomsBatch:
    """Several periodic structures as one graph.

    ``pos`` (N, 3), ``numbers`` (N,), ``batch`` (N,) structure index, ``edge_src``/``edge_dst`` (E,)
    and ``edge_offset`` (E, 3) = ``shift @ cell`` so that ``edge_vec = pos[dst] - pos[src] + edge_offset``.
    ``energy`` (S,) and ``forces`` (N, 3) are the labels when the structures had them.
    """

    pos: torch.Tensor
    numbers: torch.Tensor
    batch: torch.Tensor
    num_graphs: int
    edge_src: torch.Tensor
    edge_dst: torch.Tensor
    edge_offset: torch.Tensor
    energy: torch.Tensor | None = None
    forces: torch.Tensor | None = None

    @property
    def atoms_per_graph(self) -> torch.Tensor:
        return torch.bincount(self.batch, minlength=self.num_graphs)

    def __repr__(self) -> str:
        labels = "labelled" if self.energy is not None else "no labels"
        return (f"AtomsBatch({self.num_graphs} structures, {len(self.pos)} atoms, {len(self.edge_src)} edges, "
                f"{labels}, {str(self.pos.dtype).removeprefix('torch.')})")


def batch_structures(structures, r_max: float, dtype: torch.dtype | None = None, species=None) -> AtomsBatch:
    """Concatenate ``ase.Atoms`` into one :class:`AtomsBatch` with their neighbour lists within ``r_max`` (Å).

    Each structure is first checked by :func:`validate_atoms` (a clear ``ValueError`` for bad input).
    The neighbour list is :func:`e3teach.crystals.periodic_radius_graph` (lesson 12) of each
    structure, at its current positions. Labels are read from each structure's calculator when present.
    """
    structures = list(structures)
    if not structures:
        raise ValueError("no structures to batch: pass a non-empty list of ase.Atoms")
    dtype = dtype or torch.get_default_dtype()
    pos, numbers, batch, src, dst, offset, energy, forces = [], [], [], [], [], [], [], []
    first = 0
    for k, atoms in enumerate(structures):
        validate_atoms(atoms, species)
        p = torch.tensor(np.asarray(atoms.get_positions()), dtype=dtype)
        c = torch.tensor(np.asarray(atoms.get_cell()), dtype=dtype)
        if atoms.get_pbc().any():
            s, d, shifts = periodic_radius_graph(p, c, r_max, tuple(bool(b) for b in atoms.get_pbc()))
        else:                                                   # a molecule or cluster: no cell needed
            s, d = radius_graph(p, r_max)
            shifts = torch.zeros(len(s), 3, dtype=torch.long)
        pos.append(p)
        numbers.append(torch.tensor(np.asarray(atoms.get_atomic_numbers()), dtype=torch.long))
        batch.append(torch.full((len(atoms),), k, dtype=torch.long))
        src.append(s + first)
        dst.append(d + first)
        offset.append(shifts.to(dtype) @ c)
        first += len(atoms)
        if atoms.calc is not None and "energy" in getattr(atoms.calc, "results", {}):
            energy.append(float(atoms.get_potential_energy()))
            forces.append(torch.tensor(np.asarray(atoms.get_forces()), dtype=dtype))
    labelled = len(energy) == len(structures)
    return AtomsBatch(torch.cat(pos), torch.cat(numbers), torch.cat(batch), len(structures), torch.cat(src),
                      torch.cat(dst), torch.cat(offset),
                      torch.tensor(energy, dtype=dtype) if labelled else None,
                      torch.cat(forces) if labelled else None)


# ----------------------------------------------------------------------------- per-species energy
def fit_energy_shift(counts: torch.Tensor, energies: torch.Tensor) -> torch.Tensor:
    r"""Least-squares per-species energies :math:`\mu` with :math:`E_s \approx \sum_z n_{s,z}\, \mu_z`.

    ``counts`` (S, n_species) holds the number of atoms of each species in each structure.
    Solved with ``torch.linalg.lstsq`` (minimum-norm if some species never varies independently).
    """
    counts = torch.as_tensor(counts, dtype=torch.float64)
    energies = torch.as_tensor(energies, dtype=torch.float64)
    return torch.linalg.lstsq(counts, energies[:, None]).solution[:, 0]


def species_counts(batch: AtomsBatch, species) -> torch.Tensor:
    """(S, n_species) number of atoms of each species in each structure of ``batch``."""
    index = _species_index(batch.numbers, species)
    one_hot = torch.nn.functional.one_hot(index, len(species)).to(torch.float64)
    return scatter_sum(one_hot, batch.batch, batch.num_graphs)


def _species_index(numbers: torch.Tensor, species) -> torch.Tensor:
    lookup = torch.full((119,), -1, dtype=torch.long)
    lookup[torch.tensor([int(z) for z in species])] = torch.arange(len(species))
    index = lookup[numbers]
    if bool((index < 0).any()):
        unknown = sorted(set(numbers[index < 0].tolist()))
        raise ValueError(f"atomic numbers {unknown} are not among this model's species {list(species)}: "
                         "train a model on data that contains them")
    return index


# ----------------------------------------------------------------------------- the model
#: The options of :class:`InteratomicPotential` that each of its point convolutions receives.
_CONVOLUTION_OPTIONS = ("lmax", "r_max", "num_basis", "radial_hidden", "num_neighbors", "radial_basis",
                        "tensor_product")


class InteratomicPotential(torch.nn.Module):
    r"""Per-atom energies from gated point convolutions; total energy summed per structure.

    Species enter as one-hot even scalars (optionally mapped by an ``o3.Linear`` to ``embedding`` learned
    scalars); ``layers`` :class:`~e3teach.models.GatedBlock` s (point convolution, then a gate) and a
    readout give :math:`\varepsilon_i`; :math:`E = \sum_i (s\,\varepsilon_i + \mu_{z_i})` with the buffers
    ``energy_scale`` (:math:`s`) and ``energy_shift`` (:math:`\mu`). With ``lmax=0`` and scalar
    ``irreps_hidden`` the network only sees distances (an invariant, SchNet-like model).

    ``species``: the atomic numbers it knows; ``r_max``: the cutoff radius, Å; energies are in eV and
    forces in eV/Å when the labels are. The options are the steps of lesson 14's ablation; their defaults
    are the first, plain model:

    - ``radial_basis``: ``"smooth_finite"`` bumps, or ``"bessel"`` (Bessel × polynomial envelope, as NequIP);
    - ``tensor_product``: ``"full"`` (uvw, weights for every channel pair) or ``"uvu"`` (linear → one weight
      per channel and path → linear, as NequIP: far fewer per-edge weights);
    - ``self_connection``: add an ``o3.Linear`` of each atom's own features to its message sum (a residual);
    - ``num_neighbors``: the sum over neighbours is divided by :math:`\sqrt{n}` — use the training data's
      average number of neighbours (:func:`average_num_neighbors`);
    - ``readout``: ``"conv"`` (one more convolution to ``0e``) or ``"linear"`` (an ``o3.Linear`` of each
      atom's features to ``0e``, as NequIP: no third message-passing step).
    """

    def __init__(self, species, *, irreps_hidden="8x0e + 4x1o", lmax: int = 1, layers: int = 1,
                 r_max: float = 3.6, num_basis: int = 6, radial_hidden: int = 16, num_neighbors: float = 12.0,
                 zero_init_readout: bool = True, radial_basis: str = "smooth_finite", tensor_product: str = "full",
                 self_connection: bool = False, embedding: int | None = None, readout: str = "conv"):
        super().__init__()
        self.species = [int(z) for z in species]
        self.r_max = float(r_max)
        self.hparams = dict(irreps_hidden=str(irreps_hidden), lmax=lmax, layers=layers, r_max=r_max,
                            num_basis=num_basis, radial_hidden=radial_hidden, num_neighbors=num_neighbors,
                            radial_basis=radial_basis, tensor_product=tensor_product,
                            self_connection=self_connection, embedding=embedding, readout=readout)
        kw = {k: self.hparams[k] for k in _CONVOLUTION_OPTIONS}      # what every convolution shares
        irreps = o3.Irreps(f"{len(self.species)}x0e")
        self.embed = None
        if embedding:
            self.embed = o3.Linear(irreps, f"{int(embedding)}x0e")
            irreps = self.embed.irreps_out
        blocks = []
        scalars_only = o3.Irreps([(mul, ir) for mul, ir in o3.Irreps(irreps_hidden) if ir.l == 0])
        for k in range(layers):
            # a linear readout reads scalars only: the last block need not make the vectors it would drop
            hidden = scalars_only if readout == "linear" and k == layers - 1 else irreps_hidden
            blocks.append(GatedBlock(irreps, hidden, self_interaction=self_connection, **kw))
            irreps = blocks[-1].irreps_out
        self.blocks = torch.nn.ModuleList(blocks)
        if readout == "conv":
            self.readout = PointConvolution(irreps, "0e", **kw)
            last = self.readout.weights[-1].weight
        elif readout == "linear":
            self.readout = o3.Linear(irreps, "0e")
            last = self.readout.weight
        else:
            raise ValueError(f"readout={readout!r}: choose 'conv' or 'linear'")
        if zero_init_readout:           # start from ε = 0: the first prediction is the per-species fit
            with torch.no_grad():
                last.zero_()
        self.register_buffer("energy_scale", torch.ones(()))
        self.register_buffer("energy_shift", torch.zeros(len(self.species)))

    def extra_repr(self) -> str:
        h = self.hparams
        return (f"species={self.species}, {self.blocks[0].irreps_in} -> {o3.Irreps(h['irreps_hidden'])} "
                f"({h['layers']} layers) -> 0e,\n"
                f"lmax={h['lmax']}, r_max={self.r_max:g} Å, num_neighbors={h['num_neighbors']:.3g}, "
                f"readout={h['readout']!r}")

    def features(self, pos, numbers, edge_src, edge_dst, edge_offset):
        """Each atom's features after the interaction blocks, ``(x (N, irreps), species index (N,), edge_vec (E, 3),
        edge_features)``: everything a readout needs."""
        index = _species_index(numbers, self.species)
        x = torch.nn.functional.one_hot(index, len(self.species)).to(pos.dtype)
        if self.embed is not None:
            x = self.embed(x)
        edge_vec = pos[edge_dst] - pos[edge_src] + edge_offset
        edge_features = self.blocks[0].conv.edge_features(edge_vec)   # harmonics, radial basis: once
        for block in self.blocks:
            x = block(x, pos, edge_src, edge_dst, edge_vec=edge_vec, edge_features=edge_features)
        return x, index, edge_vec, edge_features

    def forward(self, pos, numbers, batch, num_graphs, edge_src, edge_dst, edge_offset):
        """``pos`` (N, 3) Å, ``numbers`` (N,), ``batch`` (N,), ``edge_src``/``edge_dst`` (E,), ``edge_offset`` (E, 3) Å
        → the total energy of each structure (num_graphs,), eV (the units of the training labels)."""
        x, index, edge_vec, edge_features = self.features(pos, numbers, edge_src, edge_dst, edge_offset)
        if isinstance(self.readout, PointConvolution):
            x = self.readout(x, pos, edge_src, edge_dst, edge_vec=edge_vec, edge_features=edge_features)
        else:
            x = self.readout(x)
        atom_energy = self.energy_scale * x[:, 0] + self.energy_shift[index]
        return scatter_sum(atom_energy, batch, num_graphs)


#: The course potential as lesson 14 builds it, step by step (each step's effect: lesson 14's ablation table):
#: what it changes in :class:`InteratomicPotential`'s defaults (the plain model); the rest is those defaults.
RECIPE = dict(irreps_hidden="16x0e + 16x1o", layers=2, num_basis=8, radial_basis="bessel", tensor_product="uvu",
              self_connection=True, embedding=16, readout="linear")
#: ... and how it is trained: Adam, minibatches of 10 structures, the learning rate from 2e-2 down to 2e-3.
RECIPE_TRAINING = dict(lr=2e-2, batch_size=10, energy_weight=1.0, final_lr_fraction=0.1)


def course_potential(structures, r_max: float, *, dtype: torch.dtype | None = None, **overrides) -> InteratomicPotential:
    """The course's potential (:data:`RECIPE`, changed by ``overrides``; cutoff ``r_max`` in Å) for the species
    of ``structures``, its sums over neighbours divided by the square root of their average number in
    ``structures`` (NequIP's choice)."""
    from .env import default_dtype
    structures = list(structures)
    species = sorted({int(z) for atoms in structures for z in atoms.get_atomic_numbers()})
    options = {**RECIPE, "num_neighbors": average_num_neighbors(batch_structures(structures, r_max)), **overrides}
    with default_dtype(dtype or torch.get_default_dtype()):
        return InteratomicPotential(species, r_max=r_max, **options)


def average_num_neighbors(data: "AtomsBatch") -> float:
    """The average number of neighbours (edges per atom) of a batch: NequIP's ``avg_num_neighbors``."""
    return data.edge_src.numel() / max(len(data.pos), 1)


def rebuilt_in(model: InteratomicPotential, dtype: torch.dtype) -> InteratomicPotential:
    """A copy of ``model`` *built* in ``dtype`` (e3nn computes its constants when a module is built, in
    the default dtype), with the trained weights and buffers converted: the float64 twin of a float32 model."""
    from .env import default_dtype
    with default_dtype(dtype):
        copy = type(model)(model.species, **model.hparams)
    copy.load_state_dict({k: v.to(dtype) if v.dtype.is_floating_point else v for k, v in model.state_dict().items()})
    return copy


def energy_and_forces(model: InteratomicPotential, data: AtomsBatch, *, training: bool = False):
    """``(energy (S,), forces (N, 3))`` with forces = −∂E/∂pos by autograd.

    ``training=True`` keeps the graph of the gradient (``create_graph=True``) so a loss on the
    forces can itself be differentiated with respect to the weights; otherwise both are detached.
    """
    pos = data.pos.detach().requires_grad_(True)
    energy = model(pos, data.numbers, data.batch, data.num_graphs, data.edge_src, data.edge_dst, data.edge_offset)
    (grad,) = torch.autograd.grad(energy.sum(), pos, create_graph=training)
    if not training:
        return energy.detach(), -grad.detach()
    return energy, -grad


class AdamTrainer:
    """One training, stepped by hand: Adam on ``step_loss()``, the learning rate decaying linearly from ``lr``
    to ``final_lr_fraction * lr`` over the budget — ``steps`` steps, or ``seconds`` of the time spent in
    this trainer's own steps, measured by :data:`TRAINING_CLOCK` (the process's CPU time: a machine busy with
    other work slows a training down but does not shorten it). ``step()`` takes one step; ``done`` says when the budget is spent; ``run`` is
    the :class:`TrainingRun` (model, losses, seconds). :func:`race` steps several trainers in turn.
    """

    def __init__(self, model: torch.nn.Module, step_loss, *, lr: float, steps: int | None = None,
                 seconds: float | None = None, params=None, final_lr_fraction: float = 0.1):
        if (steps is None) == (seconds is None):
            raise ValueError("give the budget as steps=... or as seconds=..., not both")
        self.step_loss, self.lr, self.steps, self.budget_seconds = step_loss, lr, steps, seconds
        self.final_lr_fraction = final_lr_fraction
        self.optimizer = torch.optim.Adam(model.parameters() if params is None else params, lr=lr)
        self.run = TrainingRun(model)

    @property
    def progress(self) -> float:
        """The fraction of the budget spent, from 0 to 1."""
        if self.steps is not None:
            return len(self.run.losses) / max(self.steps, 1)
        return self.run.seconds / self.budget_seconds

    @property
    def done(self) -> bool:
        return self.progress >= 1.0

    def step(self) -> float:
        """One Adam step at the scheduled learning rate; returns the loss."""
        start = TRAINING_CLOCK()
        for group in self.optimizer.param_groups:
            group["lr"] = self.lr * (1.0 - (1.0 - self.final_lr_fraction) * min(self.progress, 1.0))
        loss = self.step_loss()
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        self.run.losses.append(float(loss.detach()))
        self.run.seconds += TRAINING_CLOCK() - start
        return self.run.losses[-1]

    def warm_up(self, calls: int = 2) -> None:
        """Run the loss and its gradient ``calls`` times without changing the weights and without counting the time:
        the first calls of TorchScript-compiled code (e3nn scripts its generated code) profile and compile."""
        for _ in range(calls):
            self.step_loss().backward()
        self.optimizer.zero_grad()

    def finish(self) -> TrainingRun:
        """Step until the budget is spent; returns :attr:`run`."""
        while not self.done:
            self.step()
        return self.run


def race(trainers, *, warm_up: int = 2) -> list:
    """Train several :class:`AdamTrainer` s side by side: always step the one that has spent the least time.

    With budgets in seconds, each model gets the same CPU time (:data:`TRAINING_CLOCK`) on the same machine *at
    the same moments*, so a busy machine slows both alike: the fair way to compare two models at equal time. Each trainer first
    runs ``warm_up`` untimed calls (:meth:`AdamTrainer.warm_up`): one-time compilation is not training."""
    trainers = list(trainers)
    for trainer in trainers:
        trainer.warm_up(warm_up)
    while not all(t.done for t in trainers):
        min((t for t in trainers if not t.done), key=lambda t: t.progress).step()
    return [t.run for t in trainers]


def full_batch_adam(model: torch.nn.Module, step_loss, *, steps: int | None = None, lr: float,
                    params=None, seconds: float | None = None, final_lr_fraction: float = 0.1) -> TrainingRun:
    """The course's training loop (:class:`AdamTrainer` run to the end): Adam steps on ``step_loss()``, the
    learning rate decaying linearly from ``lr`` to ``final_lr_fraction * lr``; the budget is ``steps`` steps or
    ``seconds`` of CPU time. Returns the :class:`TrainingRun` (model, loss per step, seconds)."""
    return AdamTrainer(model, step_loss, lr=lr, steps=steps, seconds=seconds, params=params,
                       final_lr_fraction=final_lr_fraction).finish()


def minibatches(structures, batch_size: int | None, *, seed: int = 0) -> list:
    """``structures`` shuffled once (``seed``) and cut into lists of ``batch_size`` (the last may be shorter);
    ``batch_size=None`` gives one list of all of them (full batch)."""
    structures = list(structures)
    if not batch_size or batch_size >= len(structures):
        return [structures]
    order = np.random.default_rng(seed).permutation(len(structures))
    return [[structures[i] for i in order[k:k + batch_size]] for k in range(0, len(structures), batch_size)]


def potential_trainer(model: InteratomicPotential, data, *, steps: int | None = 200, lr: float = 1e-2,
                    energy_weight: float = 1.0, seed: int | None = None, seconds: float | None = None,
                    final_lr_fraction: float = 0.1) -> AdamTrainer:
    r"""A trainer (:class:`AdamTrainer`) of Adam on :math:`\mathcal L = w_E\,\overline{(\Delta E / N)^2} / \sigma_F^2 + \overline{|\Delta F|^2} / \sigma_F^2`.

    ``data`` is one :class:`AtomsBatch` (full-batch training) or a list of them (minibatches, one per
    step, in turn). Before training, ``energy_shift`` is set by :func:`fit_energy_shift` and
    ``energy_scale`` to the RMS force component :math:`\sigma_F` of all the data (so the network's
    outputs are of order one). Energies are compared per atom. The budget is ``steps``, or ``seconds``
    of CPU time (then ``steps`` is ignored); the learning rate decays linearly to ``final_lr_fraction``.
    """
    batches = [data] if isinstance(data, AtomsBatch) else list(data)
    if not batches or any(b.energy is None for b in batches):
        raise ValueError("the batch has no energy/force labels: build it from labelled structures")
    if seed is not None:
        torch.manual_seed(seed)
    with torch.no_grad():
        counts = torch.cat([species_counts(b, model.species) for b in batches])
        model.energy_shift.copy_(fit_energy_shift(counts, torch.cat([b.energy for b in batches])))
        model.energy_scale.fill_(float(torch.cat([b.forces for b in batches]).pow(2).mean().sqrt()))
    scale = float(model.energy_scale)
    step = iter(range(10**12))

    def step_loss():
        batch = batches[next(step) % len(batches)]
        energy, forces = energy_and_forces(model, batch, training=True)
        loss_e = ((energy - batch.energy) / batch.atoms_per_graph.to(energy.dtype)).pow(2).mean() / scale**2
        loss_f = (forces - batch.forces).pow(2).mean() / scale**2
        return energy_weight * loss_e + loss_f

    return AdamTrainer(model, step_loss, steps=None if seconds is not None else steps, lr=lr, seconds=seconds,
                       final_lr_fraction=final_lr_fraction)


def train_potential(model: InteratomicPotential, data, **kwargs) -> TrainingRun:
    """Train ``model`` to the end of its budget: :func:`potential_trainer` (same arguments), run with ``finish()``."""
    return potential_trainer(model, data, **kwargs).finish()


def course_trainer(model: InteratomicPotential, structures, *, steps: int | None = None, seconds: float | None = None,
                   seed: int = 0, **overrides) -> AdamTrainer:
    """A trainer for ``model`` on labelled ``structures`` with :data:`RECIPE_TRAINING` (changed by ``overrides``):
    minibatches cut once (``seed``) and built in the model's dtype; the budget in ``steps`` or ``seconds``."""
    options = {**RECIPE_TRAINING, **overrides}
    batch_size = options.pop("batch_size")
    dtype = model.energy_scale.dtype
    batches = [batch_structures(chunk, model.r_max, dtype, species=model.species)
               for chunk in minibatches(structures, batch_size, seed=seed)]
    return potential_trainer(model, batches, steps=steps, seconds=seconds, **options)


class DirectForceModel(InteratomicPotential):
    r"""The same network with a vector (``1o``) readout per atom: forces predicted *directly*, not as :math:`-\nabla E`.

    Equivariant all the same (a ``1o`` output rotates with the input), but nothing makes these forces the
    gradient of an energy: their work around a closed path need not vanish, so molecular dynamics with
    them does not conserve any energy (lesson 14). Built with the keyword arguments of
    :class:`InteratomicPotential`; ``forward`` returns forces (N, 3) in eV/Å. Train with
    :func:`train_direct_forces`.
    """

    def __init__(self, species, **kwargs):
        super().__init__(species, **{**kwargs, "readout": "conv"})     # "conv": the last block keeps its vectors
        self.readout = o3.Linear(self.blocks[-1].irreps_out, "1o")

    def forward(self, pos, numbers, batch, num_graphs, edge_src, edge_dst, edge_offset):
        """Arguments as :meth:`InteratomicPotential.forward` → forces (N, 3), eV/Å: ``energy_scale`` times a ``1o``
        per atom (the energy shift plays no part)."""
        x = self.features(pos, numbers, edge_src, edge_dst, edge_offset)[0]
        return self.energy_scale * self.readout(x)


def direct_forces(model: DirectForceModel, data: AtomsBatch) -> torch.Tensor:
    """The forces (N, 3) a :class:`DirectForceModel` predicts for a batch."""
    return model(data.pos, data.numbers, data.batch, data.num_graphs, data.edge_src, data.edge_dst, data.edge_offset)


def direct_force_trainer(model: DirectForceModel, data, *, lr: float = 1e-2, steps: int | None = 200,
                        seconds: float | None = None, final_lr_fraction: float = 0.1) -> AdamTrainer:
    """A trainer of Adam on the mean squared force error (divided by the RMS force squared); ``data`` as for :func:`train_potential`."""
    batches = [data] if isinstance(data, AtomsBatch) else list(data)
    with torch.no_grad():
        model.energy_scale.fill_(float(torch.cat([b.forces for b in batches]).pow(2).mean().sqrt()))
    scale2 = float(model.energy_scale) ** 2
    step = iter(range(10**12))

    def step_loss():
        batch = batches[next(step) % len(batches)]
        return (direct_forces(model, batch) - batch.forces).pow(2).mean() / scale2

    return AdamTrainer(model, step_loss, steps=None if seconds is not None else steps, lr=lr, seconds=seconds,
                       final_lr_fraction=final_lr_fraction)


def train_direct_forces(model: DirectForceModel, data, **kwargs) -> TrainingRun:
    """:func:`direct_force_trainer` (same arguments), run to the end of its budget."""
    return direct_force_trainer(model, data, **kwargs).finish()


class ForceErrors(dict):
    """Test errors ``{"energy_mae_per_atom": eV/atom, "force_mae": eV/Å, "force_rmse": eV/Å}``: a dict
    that prints as one line (``print(errors)``)."""

    def __str__(self) -> str:
        return (f"energy MAE {1000 * self['energy_mae_per_atom']:.3g} meV/atom, force MAE "
                f"{self['force_mae']:.3g} eV/Å, force RMSE {self['force_rmse']:.3g} eV/Å")


def prediction_errors(energy, forces, ref_energy, ref_forces, atoms_per_structure) -> ForceErrors:
    r"""``{"energy_mae_per_atom", "force_mae", "force_rmse"}`` (eV/atom, eV/Å) of predictions against references.

    ``energy`` and ``ref_energy`` (S,), ``forces`` and ``ref_forces`` (N, 3), ``atoms_per_structure`` (S,):
    :math:`\overline{|E_s - E^\text{ref}_s| / N_s}`, :math:`\overline{|F - F^\text{ref}|}` and
    :math:`\sqrt{\overline{(F - F^\text{ref})^2}}` over every force component.
    """
    as64 = lambda x: torch.as_tensor(np.asarray(x.detach() if isinstance(x, torch.Tensor) else x), dtype=torch.float64)
    energy, ref_energy = as64(energy).reshape(-1), as64(ref_energy).reshape(-1)
    forces, ref_forces, n_atoms = as64(forces), as64(ref_forces), as64(atoms_per_structure).reshape(-1)
    if forces.shape != ref_forces.shape or energy.shape != ref_energy.shape or energy.shape != n_atoms.shape:
        raise ValueError(f"shapes do not match: energy {tuple(energy.shape)} vs {tuple(ref_energy.shape)}, "
                         f"atoms per structure {tuple(n_atoms.shape)}, forces {tuple(forces.shape)} vs {tuple(ref_forces.shape)}")
    return ForceErrors(energy_mae_per_atom=float(((energy - ref_energy) / n_atoms).abs().mean()),
                       force_mae=float((forces - ref_forces).abs().mean()),
                       force_rmse=float((forces - ref_forces).pow(2).mean().sqrt()))


def force_errors(model: InteratomicPotential, data: AtomsBatch) -> ForceErrors:
    """The test errors of ``model`` on a labelled batch (:func:`prediction_errors`): eV/atom and eV/Å."""
    energy, forces = energy_and_forces(model, data)
    return prediction_errors(energy, forces, data.energy, data.forces, data.atoms_per_graph)


# ----------------------------------------------------------------------------- ase calculator
try:
    from ase.calculators.calculator import Calculator, all_changes
except ImportError:  # pragma: no cover - ase is a dependency
    Calculator, all_changes = object, []


class PotentialCalculator(Calculator):
    """An :class:`InteratomicPotential` as an ase calculator: ``atoms.calc = PotentialCalculator(model)``.

    Computes ``"energy"`` (eV) and ``"forces"`` (eV/Å) in float64 on the CPU. Structures the model
    cannot evaluate (no atoms, an element it was not trained on, two atoms on top of each other, a
    flat cell) raise a ``ValueError`` that says what to do.
    """

    implemented_properties = ["energy", "forces"]

    def __init__(self, model: InteratomicPotential, **kwargs):
        super().__init__(**kwargs)
        self.model = model
        self.dtype = next(iter(model.buffers())).dtype

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        data = batch_structures([self.atoms], self.model.r_max, self.dtype, species=self.model.species)
        energy, forces = energy_and_forces(self.model, data)
        self.results = {"energy": float(energy.detach()[0]),
                        "forces": forces.detach().to(torch.float64).numpy().copy()}


# ----------------------------------------------------------------------------- NVE dynamics
def run_nve(atoms, calculator, *, timestep_fs: float, steps: int, temperature_K: float = 600.0,
            seed: int = 0) -> dict:
    """Velocity-Verlet (NVE) dynamics with ase from Maxwell–Boltzmann velocities at ``temperature_K``.

    Returns ``{"time_ps", "potential", "kinetic", "total"}`` (NumPy arrays, eV), one entry per step
    (the first at t = 0). ``atoms`` is copied, not modified.
    """
    from ase import units
    from ase.md.verlet import VelocityVerlet

    atoms = atoms.copy()
    atoms.calc = calculator
    thermalize(atoms, temperature_K, np.random.default_rng(seed))
    dynamics = VelocityVerlet(atoms, timestep_fs * units.fs)
    potential, kinetic = [], []

    def record():
        potential.append(atoms.get_potential_energy())
        kinetic.append(atoms.get_kinetic_energy())

    dynamics.attach(record, interval=1)          # ase calls it at t = 0 and after every step
    dynamics.run(steps)
    potential, kinetic = np.array(potential), np.array(kinetic)
    return {"time_ps": np.arange(len(potential)) * timestep_fs / 1000.0, "potential": potential,
            "kinetic": kinetic, "total": potential + kinetic}


def energy_drift(time_ps, total_energy, n_atoms: int = 1) -> float:
    r"""Total-energy drift: the slope of a least-squares line through :math:`E_\text{tot}(t)`, in eV/atom/ps."""
    t = torch.as_tensor(np.asarray(time_ps), dtype=torch.float64)
    e = torch.as_tensor(np.asarray(total_energy), dtype=torch.float64) / n_atoms
    design = torch.stack([t, torch.ones_like(t)], dim=1)
    return float(torch.linalg.lstsq(design, e[:, None]).solution[0, 0])
