"""The course potential's recipe (lesson 14): its parts, its training loop, and the direct-force model."""

import numpy as np
import pytest
import torch
from ase import Atoms

import e3teach
from e3teach import potentials as P
from e3teach.env import default_dtype
from e3teach.models import BesselBasis, PointConvolution


def _molecule(seed=0):
    rng = np.random.default_rng(seed)
    return Atoms("CH3OH", positions=rng.normal(scale=0.9, size=(6, 3)) + np.arange(6)[:, None] * 0.4)


def _random_float64(model_class, **options):
    """A float64 model with every weight drawn from N(0, 1): no accidental zeros hide a broken symmetry."""
    with default_dtype(torch.float64):
        model = model_class([1, 6, 8], r_max=3.0, **options)
        for p in model.parameters():
            torch.nn.init.normal_(p)
    return model


def _batch_at(atoms, pos, model):
    """``atoms`` at positions ``pos`` (a float64 tensor that may require grad) as a one-structure batch."""
    data = P.batch_structures([Atoms(numbers=atoms.numbers, positions=pos.detach().numpy())], model.r_max,
                              torch.float64, species=model.species)
    data.pos = pos
    return data


def test_bessel_basis_vanishes_smoothly_at_r_max():
    basis = BesselBasis(4.0, 8)
    r = torch.tensor([3.999, 4.0, 4.5, 0.5], dtype=torch.float64, requires_grad=True)
    b = basis(r)
    assert b.shape == (4, 8) and torch.isfinite(b).all()
    assert b[1:3].abs().max() == 0 and b[0].abs().max() < 1e-12
    (grad,) = torch.autograd.grad(b.sum(), r)
    assert abs(float(grad[0])) < 1e-8 and float(grad[1]) == 0.0


def test_a_convolution_without_any_path_is_refused():
    with pytest.raises(ValueError, match="no tensor-product path.*raise lmax"):
        PointConvolution("1x1o", "1x0e", lmax=0)


@pytest.mark.parametrize("options", [{}, dict(P.RECIPE)])
def test_the_potential_is_e3_equivariant_in_float64(options):
    atoms, model = _molecule(), _random_float64(P.InteratomicPotential, **options)

    def energy_forces(pos):
        energy, forces = P.energy_and_forces(model, _batch_at(atoms, pos, model))
        return energy[:, None], forces

    report = e3teach.check_point_model(energy_forces, torch.tensor(atoms.positions), irreps_out=["0e", "1o"])
    assert report.ok and report.max_error < 1e-10, report.verdict()


def test_direct_force_model_is_equivariant_but_not_conservative():
    atoms, model = _molecule(1), _random_float64(P.DirectForceModel, **P.RECIPE)

    def forces_of(pos):
        return (P.direct_forces(model, _batch_at(atoms, pos, model)),)

    report = e3teach.check_point_model(forces_of, torch.tensor(atoms.positions), irreps_out=["1o"])
    assert report.ok, report.verdict()
    angles = np.linspace(0, 2 * np.pi, 201)
    loop = []
    for a in angles:
        moved = atoms.copy()
        moved.positions[1] += 0.1 * np.array([np.cos(a), np.sin(a), 0.0])
        loop.append(moved)
    data = P.batch_structures(loop, 3.0, torch.float64, species=model.species)
    force = P.direct_forces(model, data).detach().reshape(len(angles), 6, 3)[:, 1]
    path = data.pos.reshape(len(angles), 6, 3)[:, 1]
    work = float(((force[1:] + force[:-1]) / 2 * path.diff(dim=0)).sum())
    assert abs(work) > 1e-6                      # random weights: a curl, so work around the loop


def test_minibatches_cover_every_structure_once():
    items = list(range(23))
    chunks = P.minibatches(items, 10, seed=1)
    assert [len(c) for c in chunks] == [10, 10, 3] and sorted(sum(chunks, [])) == items
    assert P.minibatches(items, None) == [items]


def test_trainer_budget_in_steps_or_seconds():
    model = torch.nn.Linear(2, 1)
    x = torch.randn(8, 2)
    loss = lambda: model(x).pow(2).mean()
    run = P.AdamTrainer(model, loss, lr=1e-2, steps=7).finish()
    assert len(run.losses) == 7
    start = P.TRAINING_CLOCK()
    run = P.AdamTrainer(model, loss, lr=1e-2, seconds=0.2).finish()
    assert 0.2 <= run.seconds < 0.5 and P.TRAINING_CLOCK() - start < 1.0
    with pytest.raises(ValueError, match="steps=... or as seconds"):
        P.AdamTrainer(model, loss, lr=1e-2)


def test_race_gives_equal_time_to_a_slow_and_a_fast_model():
    fast, slow = torch.nn.Linear(2, 1), torch.nn.Linear(2, 1)
    x = torch.randn(8, 2)

    def slow_loss():                      # 4 ms of CPU work per step: the trainers' clock is CPU time
        start = P.TRAINING_CLOCK()
        while P.TRAINING_CLOCK() - start < 0.004:
            pass
        return slow(x).pow(2).mean()

    runs = P.race([P.AdamTrainer(fast, lambda: fast(x).pow(2).mean(), lr=1e-2, seconds=0.3),
                   P.AdamTrainer(slow, slow_loss, lr=1e-2, seconds=0.3)], warm_up=1)
    assert all(0.3 <= r.seconds < 0.5 for r in runs)
    assert len(runs[0].losses) > 3 * len(runs[1].losses)


def test_course_potential_reads_the_neighbour_count_from_the_data():
    frames = [_molecule(k) for k in range(3)]
    model = P.course_potential(frames, 3.0)
    data = P.batch_structures(frames, 3.0)
    assert model.hparams["num_neighbors"] == pytest.approx(data.edge_src.numel() / len(data.pos))
    assert model.species == [1, 6, 8] and model.hparams["readout"] == "linear"
