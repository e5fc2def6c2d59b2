"""e3teach.nequip_bridge: ase → nequip data (the same neighbour list as ours), energies and forces of a real nequip
model (equivariant, = finite differences through its ase calculator), the plain-torch training loop, test errors,
and nequip's global setup leaving our dtype and random state alone."""
import random
import warnings

import numpy as np
import pytest
import torch
from ase import Atoms
from ase.build import bulk

pytest.importorskip("nequip")

import e3teach
from e3teach import nequip_bridge as NB
from e3teach import potentials as P

TYPES = ["Ag", "Au"]


@pytest.fixture(scope="module")
def frames():
    from e3teach import datasets
    crystal = datasets.load("agau_md")                  # six 8-atom Ag-Au cells at 300 and 900 K
    return [crystal[k] for k in (0, 20, 39, 320, 340, 359)]


def build_model(type_names=TYPES, r_max=3.6, seed=0):
    from nequip.model import NequIPGNNModel
    NB.init_nequip()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return NequIPGNNModel(seed=seed, model_dtype="float64", type_names=type_names, r_max=r_max, num_layers=2,
                              l_max=1, num_features=4, radial_mlp_width=8, avg_num_neighbors=12.0,
                              per_type_energy_shifts={n: 0.1 * k for k, n in enumerate(type_names)},
                              per_type_energy_scales=0.5)


@pytest.fixture(scope="module")
def model():
    return build_model()


def test_init_nequip_keeps_dtype_and_random_state():
    torch.manual_seed(5)
    np.random.seed(5)
    random.seed(5)
    with e3teach.default_dtype(torch.float32):
        NB.init_nequip()
        assert torch.get_default_dtype() == torch.float32
    expected = (torch.rand(1), np.random.rand(), random.random())
    torch.manual_seed(5)
    np.random.seed(5)
    random.seed(5)
    NB.init_nequip()                                  # a second call is a no-op
    assert (torch.rand(1), np.random.rand(), random.random()) == expected
    from nequip.utils.global_state import global_state_initialized
    assert global_state_initialized()


def test_data_have_our_neighbour_list_labels_and_types(frames):
    data = NB.to_nequip_data(frames, TYPES, 3.6)
    ours = P.batch_structures(frames, 3.6, torch.float64)
    assert data["pos"].dtype == torch.float64 and torch.equal(data["pos"], ours.pos)
    assert torch.equal(data["forces"], ours.forces) and torch.equal(data["total_energy"].reshape(-1), ours.energy)
    assert torch.equal(data["num_atoms"], ours.atoms_per_graph)
    receiver, sender = data["edge_index"]
    shift = torch.einsum("ei,eij->ej", data["edge_cell_shift"], data["cell"][data["batch"][receiver]])
    vec = data["pos"][sender] - data["pos"][receiver] + shift
    our_vec = ours.pos[ours.edge_dst] - ours.pos[ours.edge_src] + ours.edge_offset
    assert len(vec) == len(our_vec)
    assert torch.allclose(vec.norm(dim=1).sort().values, our_vec.norm(dim=1).sort().values, atol=1e-12)
    assert torch.equal(data["atom_types"], (data["atomic_numbers"] == 79).long())          # Ag -> 0, Au -> 1
    reversed_types = NB.to_nequip_data(frames[0], ["Au", "Ag"], 3.6)
    assert torch.equal(reversed_types["atom_types"], (reversed_types["atomic_numbers"] == 47).long())


def test_bad_input_gets_a_clear_error(frames):
    copper = frames[0].copy()
    copper.numbers[0] = 29
    with pytest.raises(ValueError, match="Cu"):
        NB.to_nequip_data(copper, TYPES, 3.6)
    with pytest.raises(ValueError, match="no structures"):
        NB.to_nequip_data([], TYPES, 3.6)
    with pytest.raises(ValueError, match="type_names"):
        NB.type_names_of(torch.nn.Linear(2, 2))
    with pytest.raises(ValueError, match="labels"):
        NB.train_nequip(build_model(), NB.to_nequip_data(Atoms("Ag2", positions=[(0, 0, 0), (2.9, 0, 0)]), TYPES, 3.6))


def test_energy_invariant_forces_equivariant(model, frames):
    energy_forces = NB.energy_forces_of_positions(model, frames[0], 3.6)
    report = e3teach.check_point_model(energy_forces, torch.tensor(frames[0].positions), irreps_out=["0e", "1o"])
    assert report.ok and report.max_error < 1e-10, report.verdict()


def test_training_mode_keeps_the_graph_and_eval_detaches(model, frames):
    data = NB.to_nequip_data(frames[:2], TYPES, 3.6)
    energy, forces = NB.nequip_energy_and_forces(model, data, training=True)
    assert energy.shape == (2,) and forces.shape == (16, 3) and forces.requires_grad
    energy, forces = NB.nequip_energy_and_forces(model, data)
    assert not forces.requires_grad and not model.training
    assert set(data) == set(NB.to_nequip_data(frames[:2], TYPES, 3.6))              # the input dict is unchanged


def test_training_lowers_the_loss(frames):
    model = build_model(seed=1)
    run = NB.train_nequip(model, NB.to_nequip_data(frames, TYPES, 3.6), steps=20, lr=5e-2)
    assert len(run.losses) == 20 and run.losses[-1] < 0.8 * run.losses[0] and run.seconds > 0
    assert not model.training


def test_prediction_errors_by_hand():
    energy, ref_energy = torch.tensor([1.0, 4.0]), torch.tensor([0.0, 0.0])
    forces, ref = torch.zeros(3, 3), torch.tensor([[3.0, 0, 0], [0, 0, 0], [0, 0, 0]])
    err = NB.prediction_errors(energy, forces, ref_energy, ref, torch.tensor([1, 2]))
    assert err["energy_mae_per_atom"] == pytest.approx((1.0 + 2.0) / 2)
    assert err["force_mae"] == pytest.approx(3.0 / 9) and err["force_rmse"] == pytest.approx((9.0 / 9) ** 0.5)
    same = NB.prediction_errors(np.array([1.0, 4.0]), forces.numpy(), ref_energy, ref, [1, 2])
    assert same == err
    with pytest.raises(ValueError, match="shapes"):
        NB.prediction_errors(energy, forces[:2], ref_energy, ref, torch.tensor([1, 2]))


def test_ase_calculator_and_finite_differences(model, frames):
    atoms = frames[1].copy()
    calc = NB.nequip_calculator(model, 3.6)
    atoms.calc = calc
    energy, forces = NB.nequip_energy_and_forces(model, NB.to_nequip_data(frames[1], TYPES, 3.6))
    assert atoms.get_potential_energy() == pytest.approx(float(energy), abs=1e-12)
    assert np.allclose(atoms.get_forces(), forces.numpy(), atol=1e-12)
    before = frames[1].positions.copy()
    fd = NB.finite_difference_forces(frames[1], calc, 1e-4)
    assert np.array_equal(frames[1].positions, before)
    assert np.abs(fd - atoms.get_forces()).max() < 1e-6 * np.abs(atoms.get_forces()).max()


def test_a_three_species_cluster():
    model = build_model(["Au", "Cu", "Ag"], r_max=4.0)
    cluster = Atoms("AuCuAg", positions=[(0, 0, 0), (2.6, 0, 0), (0, 2.7, 0.3)])
    energy, forces = NB.nequip_energy_and_forces(model, NB.to_nequip_data(cluster, ["Au", "Cu", "Ag"], 4.0))
    assert energy.shape == (1,) and forces.shape == (3, 3)
    assert torch.allclose(forces.sum(0), torch.zeros(3, dtype=torch.float64), atol=1e-12)   # no net force on a cluster
    crystal = bulk("Au", "fcc", a=4.08)
    assert NB.to_nequip_data(crystal, ["Au", "Cu", "Ag"], 4.0)["edge_index"].shape[1] == 12
