"""The shipped molecular-dynamics data sets (lessons 14, 18): what they claim holds, and the labels can be remade.

- sampled temperatures: the mean kinetic temperature of every trajectory is the target within 10 %;
- trajectories are whole and independent: a split by trajectory never puts one trajectory on both sides;
- a sample of frames is relabelled here (GFN2-xTB through tblite where it installs; EMT always) and compared;
- a missing or corrupt file, and an unknown name, get a clear error that says what to do.
"""
import numpy as np
import pytest

from e3teach import datasets as D
from e3teach import xtb

NEEDS_TBLITE = pytest.mark.skipif(not xtb.available(), reason="tblite is not installed (Linux x86_64 wheels only)")


@pytest.fixture(scope="module", params=["ethanol_md", "agau_md"])
def frames(request):
    return request.param, D.load(request.param)


def test_sampled_temperatures_match_the_targets(frames):
    """Pooled over the trajectories of a target, the kinetic temperature is the target within 10 %; one trajectory
    is noisier (a frame's temperature fluctuates by sqrt(2 / 3N): 27 % for ethanol's 9 atoms), within 20 %."""
    name, frames = frames
    for target in sorted({f.info["target_temperature_K"] for f in frames}):
        mine = [f for f in frames if f.info["target_temperature_K"] == target]
        pooled = np.mean([f.info["kinetic_temperature_K"] for f in mine])
        assert abs(pooled / target - 1) < 0.10, f"{name}: {pooled:.0f} K sampled, target {target:.0f} K"
        for t in sorted({f.info["trajectory"] for f in mine}):
            sampled = np.mean([f.info["kinetic_temperature_K"] for f in mine if f.info["trajectory"] == t])
            assert abs(sampled / target - 1) < 0.20, f"{name} trajectory {t}: {sampled:.0f} K, target {target:.0f} K"


def test_split_by_trajectory_keeps_trajectories_whole(frames):
    _, frames = frames
    trajectories = sorted({f.info["trajectory"] for f in frames})
    train, validation, test = D.split_by_trajectory(frames, trajectories[-2:], trajectories[-3:-2])
    sides = [{f.info["trajectory"] for f in part} for part in (train, validation, test)]
    assert sides[2] == set(trajectories[-2:]) and sides[1] == {trajectories[-3]}
    assert not (sides[0] & sides[1]) and not (sides[0] & sides[2]) and len(train) + len(validation) + len(test) == len(frames)
    with pytest.raises(ValueError, match="both a test and a validation"):
        D.split_by_trajectory(frames, [0], [0])


def test_labels_are_finite_and_shaped(frames):
    name, frames = frames
    for f in frames[::50]:
        assert f.get_forces().shape == (len(f), 3) and np.isfinite(f.get_forces()).all()
        assert np.isfinite(f.get_potential_energy())
    assert D.metadata(name)["maker"] == D.DATASETS[name][0]


@NEEDS_TBLITE
def test_ethanol_frames_are_remade_by_gfn2_xtb():
    frames = D.load("ethanol_md")
    for f in frames[::397][:4]:
        label = xtb.single_point(f)
        assert abs(label["energy"] / f.get_potential_energy() - 1) < 1e-6
        scale = np.abs(f.get_forces()).max()
        assert np.abs(label["forces"] - f.get_forces()).max() < 1e-6 * scale
        assert np.abs(label["dipole"] - f.calc.results["dipole"]).max() < 1e-5


def test_agau_frames_are_remade_by_emt():
    from ase.calculators.emt import EMT
    frames = D.load("agau_md")
    for f in frames[::97][:5]:
        atoms = f.copy()
        atoms.calc = EMT()
        assert abs(atoms.get_potential_energy() - f.get_potential_energy()) < 1e-6 * max(1.0, abs(f.get_potential_energy()))
        assert np.abs(atoms.get_forces() - f.get_forces()).max() < 1e-6 * np.abs(f.get_forces()).max()


def test_missing_corrupt_and_unknown_files_get_clear_errors(tmp_path):
    with pytest.raises(D.DataFileError, match="missing.*python -m e3teach.datasets make"):
        D.load("ethanol_md", path=tmp_path / "nothing.npz")
    broken = tmp_path / "broken.npz"
    broken.write_bytes(b"not a zip file at all")
    with pytest.raises(D.DataFileError, match="corrupt"):
        D.load("ethanol_md", path=broken)
    partial = tmp_path / "partial.npz"
    np.savez_compressed(partial, energy=np.zeros(3))
    with pytest.raises(D.DataFileError, match="incomplete.*missing atoms_per_frame"):
        D.load("ethanol_md", path=partial)
    with pytest.raises(ValueError, match="no data set named 'water'"):
        D.load("water")


def test_xtb_refuses_what_it_cannot_compute():
    from ase import Atoms
    with pytest.raises(ValueError, match="H to Rn only, not for Og"):
        xtb._check_structure(Atoms("Og2", positions=[(0, 0, 0), (0, 0, 3)]))
    with pytest.raises(ValueError, match="apart"):
        xtb._check_structure(Atoms("H2", positions=[(0, 0, 0), (0, 0, 0.01)]))
    with pytest.raises(ValueError, match="no atoms"):
        xtb._check_structure(Atoms())


@NEEDS_TBLITE
def test_xtb_names_a_structure_that_does_not_converge():
    from ase import Atoms
    methyl = Atoms("CH3", positions=[(0, 0, 0), (1.08, 0, 0), (-0.54, 0.93, 0), (-0.54, -0.93, 0)])
    with pytest.raises(RuntimeError, match="GFN2-xTB failed for CH3.*multiplicity"):
        xtb.single_point(methyl, max_iterations=3)
