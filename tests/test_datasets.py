"""Tests of the shipped data set g2_dipoles (lesson 13): it loads, holds what it says, and tblite reproduces it."""
import numpy as np
import pytest
import torch

from e3teach import datasets, molecules, xtb

needs_tblite = pytest.mark.skipif(not xtb.available(), reason="tblite is not installed (Linux x86_64 wheels only)")


@pytest.fixture(scope="module")
def frames():
    return datasets.load("g2_dipoles")


def test_g2_dipoles_loads_the_closed_shell_g2_molecules_with_finite_labels(frames):
    names = molecules.g2_names(closed_shell=True)
    assert len(names) == 99 and "H2O" in names and "OH" not in names and "O2" not in names
    assert len(frames) == 4 * len(names)
    assert [f.info["name"] for f in frames] == [n for n in names for _ in range(4)]
    assert [f.info["copy"] for f in frames] == [0, 1, 2, 3] * len(names)
    for frame in frames:
        assert np.isfinite(frame.get_potential_energy()) and np.isfinite(frame.get_forces()).all()
        assert frame.calc.results["dipole"].shape == (3,) and np.isfinite(frame.calc.results["dipole"]).all()
    assert datasets.metadata("g2_dipoles")["maker"] == "e3teach.molecules:make_g2_dipoles"
    assert (datasets.DATA_DIR / "g2_dipoles.npz").stat().st_size <= 200 * 1024


def test_copy_zero_is_the_g2_geometry_and_the_others_are_distorted(frames):
    from ase.build import molecule
    for frame in frames[:8]:
        shift = np.abs(frame.positions - molecule(frame.info["name"]).positions).max()
        assert (shift < 1e-6) if frame.info["copy"] == 0 else (0.01 < shift < 0.3)


def test_symmetric_molecules_have_no_dipole_and_water_points_along_its_axis(frames):
    g2 = {f.info["name"]: f for f in frames if f.info["copy"] == 0}
    for name in ("CH4", "CO2", "C6H6", "N2"):
        assert np.linalg.norm(g2[name].calc.results["dipole"]) < 1e-4, name
    mu = g2["H2O"].calc.results["dipole"] * xtb.EA_TO_DEBYE      # ase's water: O at the origin, H at z < 0
    assert abs(mu[2]) > 2.0 and np.abs(mu[:2]).max() < 1e-4


def test_molecule_set_from_frames_has_debye_dipoles_and_thole_polarizabilities(frames):
    data = molecules.MoleculeSet.from_frames(frames[:8])
    assert data.num_graphs == 8 and data.names[:4] == [frames[0].info["name"]] * 4
    assert torch.allclose(data.dipole[5], torch.tensor(frames[5].calc.results["dipole"]) * xtb.EA_TO_DEBYE)
    k = data.batch == 5
    want = molecules.polarizability(frames[5].get_chemical_symbols(), data.pos[k])
    assert torch.allclose(data.polarizability[5], want)

    from ase.build import molecule
    with pytest.raises(ValueError, match="no dipole label"):
        molecules.MoleculeSet.from_frames([molecule("H2O")])
    with pytest.raises(ValueError, match="no frames"):
        molecules.MoleculeSet.from_frames([])


@pytest.mark.parametrize("kwargs, match", [
    (dict(names=["H2O", "Water"]), r"not G2 molecules: Water"),
    (dict(names=["SiH4"]), r"SiH4 contain elements outside"),
    (dict(copies=-1), r"copies must be a whole number"),
    (dict(copies=1.5), r"copies must be a whole number"),
    (dict(sigma=float("nan")), r"sigma is the displacement"),
    (dict(sigma=-0.1), r"sigma is the displacement"),
])
def test_make_g2_dipoles_rejects_bad_input_with_a_reason(kwargs, match):
    with pytest.raises(ValueError, match=match):
        molecules.make_g2_dipoles(**kwargs)


def test_spin_multiplicity_of_closed_shells_radicals_and_triplets():
    assert [molecules.spin_multiplicity(n) for n in ("H2O", "OH", "O2")] == [1, 2, 3]
    with pytest.raises(ValueError, match="not a G2 molecule"):
        molecules.spin_multiplicity("Water")


@needs_tblite
def test_tblite_reproduces_three_shipped_molecules(frames):
    names = ("H2O", "CH3Cl", "HCN")
    remade = molecules.make_g2_dipoles(names=names, copies=0)
    shipped = {f.info["name"]: f for f in frames if f.info["copy"] == 0}
    for frame in remade:
        old = shipped[frame.info["name"]]
        assert np.allclose(frame.positions, old.positions, rtol=0, atol=0)
        energy = frame.get_potential_energy()
        assert abs(energy - old.get_potential_energy()) <= 1e-6 * abs(energy)
        forces = frame.get_forces()
        assert np.abs(forces - old.get_forces()).max() <= 1e-6 * np.abs(forces).max()
        assert np.abs(frame.calc.results["dipole"] - old.calc.results["dipole"]).max() <= 1e-5


@needs_tblite
def test_tblite_reproduces_distorted_copies(frames):
    for frame in (frames[5], frames[150], frames[395]):            # copies 1, 2 and 3 of three molecules
        live = xtb.single_point(frame, multiplicity=molecules.spin_multiplicity(frame.info["name"]))
        assert abs(live["energy"] - frame.get_potential_energy()) <= 1e-6 * abs(live["energy"])
        assert np.abs(live["forces"] - frame.get_forces()).max() <= 1e-6 * np.abs(live["forces"]).max()
        assert np.abs(live["dipole"] - frame.calc.results["dipole"]).max() <= 1e-5
