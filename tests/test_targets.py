"""e3teach.targets: stress by a strain derivative, checked against ase's EMT; clear errors for bad input."""
import numpy as np
import pytest
import torch
from ase.build import bulk
from ase.calculators.emt import EMT

from e3teach import datasets, potentials, targets
from e3teach.env import default_dtype


def emt_frame(k=123):
    atoms = datasets.load("agau_md")[k].copy()
    atoms.calc = EMT()
    return atoms


def tensors(atoms):
    return torch.tensor(atoms.positions), torch.tensor(np.asarray(atoms.cell))


@pytest.mark.parametrize("k", [0, 200, 479])
def test_torch_emt_energy_and_autograd_stress_equal_ase_emt(k):
    atoms = emt_frame(k)
    pos, cell = tensors(atoms)
    energy_fn = lambda p, c: targets.emt_energy(p, c, atoms.numbers)        # noqa: E731
    assert abs(float(energy_fn(pos, cell)) - atoms.get_potential_energy()) < 1e-9
    stress = targets.stress_from_energy(energy_fn, pos, cell).numpy()
    np.testing.assert_allclose(targets.voigt(stress), atoms.get_stress(), atol=1e-10)


def test_ase_stress_sign_a_stretched_cell_is_tensile_and_equals_the_strain_derivative():
    atoms = bulk("Au", "fcc", a=4.08 * 1.03, cubic=True)
    atoms.calc = EMT()
    stress = atoms.get_stress(voigt=False)
    assert (np.diag(stress) > 0).all()
    h, e = 1e-5, []
    for sign in (1, -1):
        strained = atoms.copy()
        strained.calc = EMT()
        strained.set_cell(atoms.cell[:] @ (np.eye(3) + sign * h * np.diag([1, 0, 0])).T, scale_atoms=True)
        e.append(strained.get_potential_energy())
    assert abs((e[0] - e[1]) / (2 * h) / atoms.get_volume() - stress[0, 0]) < 1e-7


def test_model_stress_equals_finite_differences_of_the_strained_energy():
    atoms = emt_frame(50)
    with torch.random.fork_rng():
        torch.manual_seed(0)
        with default_dtype(torch.float64):
            model = potentials.InteratomicPotential([47, 79], irreps_hidden="4x0e + 2x1o", zero_init_readout=False)
    stress = targets.model_stress(model, atoms)
    data = potentials.batch_structures([atoms], model.r_max, torch.float64, species=model.species)
    h, fd = 1e-5, np.zeros((3, 3))
    for a in range(3):
        for b in range(3):
            eps = torch.zeros(3, 3, dtype=torch.float64)
            eps[a, b] = h
            plus = float(targets.strained_energy(model, data, eps)[0].detach())
            minus = float(targets.strained_energy(model, data, -eps)[0].detach())
            fd[a, b] = (plus - minus) / (2 * h) / atoms.get_volume()
    np.testing.assert_allclose(stress, 0.5 * (fd + fd.T), atol=1e-8)
    assert np.abs(stress).max() > 1e-5                                   # not trivially zero


def test_voigt_round_trip_and_virial():
    s = np.array([[1.0, 6.0, 5.0], [6.0, 2.0, 4.0], [5.0, 4.0, 3.0]])
    np.testing.assert_array_equal(targets.voigt(s), [1, 2, 3, 4, 5, 6])
    np.testing.assert_array_equal(targets.from_voigt(targets.voigt(s)), s)
    np.testing.assert_array_equal(targets.virial(s, 2.0), -2.0 * s)


def test_clear_errors_for_bad_input():
    pos = torch.zeros(2, 3, dtype=torch.float64)
    energy_fn = lambda p, c: (p ** 2).sum()                              # noqa: E731
    with pytest.raises(ValueError, match=r"zero volume.*a molecule has no stress"):
        targets.stress_from_energy(energy_fn, pos, torch.zeros(3, 3, dtype=torch.float64))
    with pytest.raises(ValueError, match=r"cell should be a \(3, 3\) tensor"):
        targets.stress_from_energy(energy_fn, pos, torch.eye(2, dtype=torch.float64))
    with pytest.raises(ValueError, match=r"pos should be a \(N, 3\) tensor"):
        targets.stress_from_energy(energy_fn, torch.zeros(3, dtype=torch.float64), torch.eye(3, dtype=torch.float64))
    with pytest.raises(ValueError, match=r"one energy \(a 0-d tensor\)"):
        targets.stress_from_energy(lambda p, c: p, pos, torch.eye(3, dtype=torch.float64) * 3)
    with pytest.raises(ValueError, match=r"no EMT parameters for Fe"):
        targets.emt_energy(pos, torch.eye(3, dtype=torch.float64) * 3, [26, 26])
    with pytest.raises(ValueError, match=r"shape \(3, 6\)"):
        targets.voigt(np.zeros((3, 6)))
    with pytest.raises(ValueError, match=r"6-vector"):
        targets.from_voigt(np.zeros(5))
    with pytest.raises(ValueError, match=r"volume = -1"):
        targets.virial(np.eye(3), -1.0)
    from ase import Atoms
    with default_dtype(torch.float64):
        model = potentials.InteratomicPotential([47, 79])
    with pytest.raises(ValueError, match=r"periodic in all three directions.*molecule"):
        targets.model_stress(model, Atoms("Ag2", positions=[[0, 0, 0], [0, 0, 2.9]]))
    atoms = emt_frame()
    data = potentials.batch_structures([atoms], 3.6, torch.float64, species=[47, 79])
    with pytest.raises(ValueError, match=r"strain should have shape \(3, 3\) or \(1, 3, 3\)"):
        targets.strained_energy(model, data, torch.zeros(2, 3, 3))
