"""e3teach.potentials: EMT data, the potential (invariance, equivariance, finite differences, smooth cutoff),
the ensemble = independent trainings, the ase calculator, and clear errors for bad input."""
import numpy as np
import pytest
import torch
from ase import Atoms
from ase.build import bulk
from ase.calculators.emt import EMT

import e3teach
from e3teach import potentials as P

SPECIES = [47, 79]


@pytest.fixture(scope="module")
def frames():
    from e3teach import datasets
    crystal = datasets.load("agau_md")                  # six 8-atom Ag-Au cells at 300 and 900 K
    return [crystal[k] for k in (0, 20, 39, 320, 340, 359)]


@pytest.fixture(scope="module")
def model64():
    with e3teach.default_dtype(torch.float64):
        torch.manual_seed(0)
        model = P.InteratomicPotential(SPECIES, zero_init_readout=False)
    return model


def test_batch_matches_single_structures(frames, model64):
    data = P.batch_structures(frames, model64.r_max, torch.float64)
    energy, forces = P.energy_and_forces(model64, data)
    for k, atoms in enumerate(frames):
        e1, f1 = P.energy_and_forces(model64, P.batch_structures([atoms], model64.r_max, torch.float64))
        assert torch.allclose(energy[k], e1[0], atol=1e-12)
        assert torch.allclose(forces[data.batch == k], f1, atol=1e-12)
    assert torch.allclose(data.energy, torch.tensor([f.get_potential_energy() for f in frames], dtype=torch.float64))


def test_energy_invariant_forces_equivariant_and_finite_differences(frames, model64):
    cluster = frames[0].copy()
    cluster.pbc = False

    def f(pos):
        data = P.batch_structures([cluster], model64.r_max, torch.float64)
        data.pos = pos
        e, F = P.energy_and_forces(model64, data)
        return e[:, None], F

    pos = torch.tensor(cluster.positions, dtype=torch.float64)
    assert e3teach.check_point_model(f, pos, irreps_out=["0e", "1o"]).ok
    atoms = frames[1]
    _, F = P.energy_and_forces(model64, P.batch_structures([atoms], model64.r_max, torch.float64))
    h = 1e-4
    for i, a in [(0, 0), (3, 1), (7, 2)]:
        plus, minus = atoms.copy(), atoms.copy()
        plus.positions[i, a] += h
        minus.positions[i, a] -= h
        ep = P.energy_and_forces(model64, P.batch_structures([plus], model64.r_max, torch.float64))[0]
        em = P.energy_and_forces(model64, P.batch_structures([minus], model64.r_max, torch.float64))[0]
        assert abs(float(-(ep - em) / (2 * h)) - float(F[i, a])) < 1e-6 * max(1.0, float(F.abs().max()))


def test_energy_is_smooth_across_the_cutoff(model64):
    def energies(step):
        d = np.arange(model64.r_max - 20 * step, model64.r_max + 20 * step, step) + step / 3
        dimers = [Atoms("AgAu", positions=[(0, 0, 0), (x, 0, 0)]) for x in d]
        return P.energy_and_forces(model64, P.batch_structures(dimers, model64.r_max, torch.float64))[0]
    assert float(energies(1e-4).diff().abs().max()) < 1e-3 * float(energies(1e-2).diff().abs().max()) + 1e-12


def test_rebuilt_in_float64_keeps_the_weights(model64):
    model32 = P.rebuilt_in(model64, torch.float32)
    back = P.rebuilt_in(model32, torch.float64)
    assert all(p.dtype == torch.float64 for p in back.parameters())
    for a, b in zip(back.parameters(), model64.parameters()):
        assert torch.allclose(a, b, rtol=1e-6)


def test_energy_shift_least_squares():
    counts = torch.tensor([[8.0, 0.0], [4.0, 4.0], [0.0, 8.0], [6.0, 2.0]], dtype=torch.float64)
    mu = torch.tensor([-1.0, 2.0], dtype=torch.float64)
    assert torch.allclose(P.fit_energy_shift(counts, counts @ mu), mu)


def test_calculator_and_nve(frames, model64):
    calc = P.PotentialCalculator(model64)
    atoms = frames[0].copy()
    atoms.calc = calc
    data = P.batch_structures([frames[0]], model64.r_max, torch.float64)
    energy, forces = P.energy_and_forces(model64, data)
    assert abs(atoms.get_potential_energy() - float(energy[0])) < 1e-12
    assert np.allclose(atoms.get_forces(), forces.detach().numpy())
    assert calc.implemented_properties == ["energy", "forces"]
    traj = P.run_nve(frames[0], EMT(), timestep_fs=2.0, steps=20, temperature_K=300)
    assert len(traj["total"]) == 21 and np.ptp(traj["total"]) < 0.05 * np.ptp(traj["kinetic"]) + 1e-3
    assert abs(P.energy_drift(traj["time_ps"], traj["total"], 8)) < 0.05
    t = np.linspace(0, 1, 11)
    assert abs(P.energy_drift(t, 3.0 + 0.8 * t, n_atoms=4) - 0.2) < 1e-12


# ------------------------------------------------------------------ bad input: clear ValueErrors, never NaN
def test_unknown_element_is_refused(frames, model64):
    copper = frames[0].copy()
    copper.numbers[2] = 29
    copper.calc = P.PotentialCalculator(model64)
    with pytest.raises(ValueError, match=r"trained on Ag, Au only.*Cu \(Z=29\).*train a model"):
        copper.get_potential_energy()
    with pytest.raises(ValueError, match="not among this model's species"):
        data = P.batch_structures([copper], model64.r_max, torch.float64)
        model64(data.pos, data.numbers, data.batch, data.num_graphs, data.edge_src, data.edge_dst, data.edge_offset)


def test_atoms_on_top_of_each_other_are_refused(frames, model64):
    doubled = frames[0].copy()
    doubled.positions[5] = doubled.positions[2]
    with pytest.raises(ValueError, match="atoms 2 and 5 are closer than"):
        P.validate_atoms(doubled, SPECIES)
    doubled.calc = P.PotentialCalculator(model64)
    with pytest.raises(ValueError, match="same position"):
        doubled.get_forces()
    molecule = Atoms("AgAg", positions=[(0, 0, 0), (0, 0, 0)])
    with pytest.raises(ValueError, match="atoms 0 and 1"):
        P.validate_atoms(molecule, SPECIES)


def test_empty_structure_and_flat_cell_are_refused(model64):
    calc = P.PotentialCalculator(model64)
    empty = Atoms(cell=np.eye(3) * 4.0, pbc=True)
    empty.calc = calc
    with pytest.raises(ValueError, match="no atoms"):
        empty.get_potential_energy()
    flat = bulk("Au", "fcc", a=4.08)
    flat.cell[2] = 0.0
    with pytest.raises(ValueError, match="empty or flat"):
        P.validate_atoms(flat, SPECIES)
    no_cell = Atoms("Au", positions=[(0, 0, 0)], pbc=True)
    with pytest.raises(ValueError, match="empty or flat"):
        P.validate_atoms(no_cell, SPECIES)
    nan = Atoms("Au2", positions=[(0, 0, 0), (np.nan, 0, 0)])
    with pytest.raises(ValueError, match="NaN"):
        P.validate_atoms(nan, SPECIES)
    with pytest.raises(ValueError, match="no structures"):
        P.batch_structures([], 3.6)


def test_atom_and_its_own_image_too_close_is_refused():
    tiny = Atoms("Au", positions=[(0, 0, 0)], cell=np.eye(3) * 0.05, pbc=True)
    with pytest.raises(ValueError, match="its own periodic image"):
        P.validate_atoms(tiny, SPECIES)


def test_training_needs_labels(model64):
    unlabelled = P.batch_structures([bulk("Au", "fcc", a=4.08)], model64.r_max, torch.float64)
    assert unlabelled.energy is None
    with pytest.raises(ValueError, match="no energy/force labels"):
        P.train_potential(model64, unlabelled, steps=1)
