r"""The course's shipped data sets: how each was made, and how to load it (lessons 13, 14 and 18).

The labels come from GFN2-xTB (:mod:`e3teach.xtb`, needs ``tblite``: Linux x86_64 wheels only) and
from ase's EMT. They are generated once, by one documented command, and shipped inside the package,
so every lesson runs offline on any platform::

    python -m e3teach.datasets make            # regenerate every data set (a few minutes on 2 cores)
    python -m e3teach.datasets make ethanol_md # or one of them
    python -m e3teach.datasets describe        # what each file holds

A test regenerates a sample of the shipped frames and compares the labels.

**Molecular dynamics done right.** :func:`sample_md` draws Maxwell–Boltzmann velocities at the target
temperature :math:`T`, runs Langevin dynamics (ase's ``Langevin`` with ``fixcm=False``: with the centre
of mass held fixed, a small system does not sample the canonical ensemble) for an *equilibration* time of
several friction times :math:`1/\gamma`, and only then keeps frames. Every frame records its kinetic
temperature :math:`T_\text{kin} = 2 E_\text{kin} / (3 N k_B)` — :math:`3N` degrees of freedom, since
nothing is constrained — so a lesson can assert that the sampled temperature is the target one.
Frames of one trajectory are correlated: a test set is made of whole trajectories never seen in
training (``atoms.info["trajectory"]``).

**Storage.** One compressed ``.npz`` per data set, frames of any size concatenated atom by atom
(``atoms_per_frame`` splits them): positions and forces in float32, energies in float64. Each label is
computed *at the float32-rounded positions*, so a frame reloaded from the file is exactly the structure
that was labelled. :func:`load` returns ``ase.Atoms`` whose single-point calculator holds the labels.
"""
from __future__ import annotations

import argparse
import json
import time
import warnings
import zipfile
from importlib import import_module
from pathlib import Path

import numpy as np

__all__ = ["DATA_DIR", "DATASETS", "DataFileError", "kinetic_temperature", "sample_md", "save_frames", "load",
           "make", "make_ethanol_md", "make_agau_md", "split_by_trajectory", "main"]

DATA_DIR = Path(__file__).parent / "data"

#: name -> (maker "module:function", one line on what it is). Each maker returns a list of labelled ``ase.Atoms``.
DATASETS = {
    "ethanol_md": ("e3teach.datasets:make_ethanol_md",
                   "ethanol (C2H5OH), GFN2-xTB Langevin MD at 500 K: 8 trajectories x 200 frames, 0.5 fs steps"),
    "agau_md": ("e3teach.datasets:make_agau_md",
                "Ag-Au fcc alloy, 8-atom periodic cells, EMT Langevin MD at 300/600/900 K: 12 trajectories x 40 frames"),
    "g2_dipoles": ("e3teach.molecules:make_g2_dipoles",
                   "99 closed-shell G2 molecules (H, C, N, O, F, S, Cl): G2 geometry + 3 distorted copies, GFN2-xTB"),
}

_PER_FRAME = ("energy", "dipole", "cell", "trajectory", "time_fs", "kinetic_temperature_K",
              "target_temperature_K", "name", "copy")


class DataFileError(OSError):
    """A shipped data file is missing or unreadable; the message says how to get it back."""


def _remedy(name: str) -> str:
    return (f"reinstall e3teach (`pip install -e .` from a clone), or regenerate the file with "
            f"`python -m e3teach.datasets make {name}` (GFN2-xTB data need tblite)")


# ----------------------------------------------------------------------------- molecular dynamics
def kinetic_temperature(atoms) -> float:
    r""":math:`2 E_\text{kin} / (3 N k_B)` in K: the instantaneous temperature with all :math:`3N` degrees of freedom."""
    from ase import units
    return float(2.0 * atoms.get_kinetic_energy() / (3 * len(atoms) * units.kB))


def _labelled_copy(atoms, label, **info):
    """A copy of ``atoms`` at float32-rounded positions, labelled there by ``label(atoms) -> dict``."""
    from ase.calculators.singlepoint import SinglePointCalculator
    frame = atoms.copy()
    frame.calc = None
    frame.positions = frame.positions.astype(np.float32).astype(np.float64)
    results = label(frame)
    frame.calc = SinglePointCalculator(frame, **results)
    frame.info.update(info)
    return frame


def sample_md(atoms, calculator, label, *, temperature_K: float, timestep_fs: float,
              equilibration_fs: float, sampling_fs: float, sample_every_fs: float,
              friction_per_fs: float, seed: int, trajectory: int = 0) -> list:
    r"""Frames of one thermalized Langevin trajectory, labelled by ``label(atoms) -> {"energy", "forces", ...}``.

    Velocities from Maxwell–Boltzmann at ``temperature_K``; ``equilibration_fs`` of Langevin dynamics
    (friction :math:`\gamma` = ``friction_per_fs``, relaxation time :math:`1/\gamma`) are discarded; then a
    frame every ``sample_every_fs`` for ``sampling_fs``. ``calculator`` drives the dynamics, ``label`` gives
    the stored labels (the same method, at the frame's float32-rounded positions). ``atoms`` is not modified.
    """
    from ase import units
    from ase.md.langevin import Langevin
    from .potentials import thermalize

    rng = np.random.default_rng(seed)
    atoms = atoms.copy()
    atoms.calc = calculator
    thermalize(atoms, temperature_K, rng)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)            # ase's note on the fixcm default
        dynamics = Langevin(atoms, timestep_fs * units.fs, temperature_K=temperature_K,
                            friction=friction_per_fs / units.fs, fixcm=False, rng=rng)
    dynamics.run(int(round(equilibration_fs / timestep_fs)))
    every = int(round(sample_every_fs / timestep_fs))
    frames = []
    for k in range(int(round(sampling_fs / sample_every_fs))):
        dynamics.run(every)
        frames.append(_labelled_copy(atoms, label, trajectory=trajectory,
                                     time_fs=(k + 1) * sample_every_fs,
                                     kinetic_temperature_K=kinetic_temperature(atoms),
                                     target_temperature_K=float(temperature_K)))
    return frames


def make_ethanol_md(*, trajectories: int = 8, temperature_K: float = 500.0, timestep_fs: float = 0.5,
                    equilibration_fs: float = 1000.0, sampling_fs: float = 2000.0, sample_every_fs: float = 10.0,
                    friction_per_fs: float = 0.01, seed: int = 0) -> list:
    """Ethanol with GFN2-xTB: ``trajectories`` independent Langevin runs at 500 K (the temperature of MD17's
    ethanol, Chmiela et al., *Sci. Adv.* 3, e1603015 (2017)), each equilibrated for 1 ps (10 friction
    times) and then sampled every 10 fs for 2 ps. Time step 0.5 fs (hydrogen vibrations: ~11 fs)."""
    from ase.build import molecule
    from . import xtb

    start = molecule("CH3CH2OH")
    label = lambda frame: {k: v for k, v in xtb.single_point(frame).items()}
    frames = []
    for t in range(trajectories):
        frames += sample_md(start, xtb.calculator(), label, temperature_K=temperature_K, timestep_fs=timestep_fs,
                            equilibration_fs=equilibration_fs, sampling_fs=sampling_fs,
                            sample_every_fs=sample_every_fs, friction_per_fs=friction_per_fs,
                            seed=seed + 1000 * t, trajectory=t)
    return frames


def make_agau_md(*, temperatures=(300.0, 600.0, 900.0), trajectories_per_temperature: int = 4,
                 timestep_fs: float = 4.0, equilibration_fs: float = 2000.0, sampling_fs: float = 1600.0,
                 sample_every_fs: float = 40.0, friction_per_fs: float = 0.005, lattice_constant: float = 4.08,
                 seed: int = 0) -> list:
    """A random Ag–Au fcc alloy with ase's EMT: 8-atom periodic cells (the 2x2x2 supercell of the primitive fcc
    cell, a = 4.08 Å), a new random composition per trajectory, Langevin dynamics at each temperature,
    equilibrated for 2 ps (10 friction times), then a frame every 40 fs for 1.6 ps."""
    from ase.build import bulk
    from ase.calculators.emt import EMT

    def label(frame):
        frame.calc = EMT()
        return {"energy": float(frame.get_potential_energy()), "forces": np.array(frame.get_forces())}

    rng = np.random.default_rng(seed)
    frames, t = [], 0
    for temperature in temperatures:
        for _ in range(trajectories_per_temperature):
            atoms = bulk("Ag", "fcc", a=lattice_constant).repeat((2, 2, 2))
            atoms.set_atomic_numbers(rng.choice([47, 79], size=len(atoms)))
            frames += sample_md(atoms, EMT(), label, temperature_K=temperature, timestep_fs=timestep_fs,
                                equilibration_fs=equilibration_fs, sampling_fs=sampling_fs,
                                sample_every_fs=sample_every_fs, friction_per_fs=friction_per_fs,
                                seed=seed + 1000 * t + 1, trajectory=t)
            t += 1
    return frames


# ----------------------------------------------------------------------------- files
def save_frames(frames, path, metadata: dict | None = None) -> Path:
    """Write labelled ``ase.Atoms`` (energy and forces; optional dipole, cell, info fields) to one ``.npz``."""
    path = Path(path)
    frames = list(frames)
    n = np.array([len(a) for a in frames])
    arrays = {"atoms_per_frame": n,
              "numbers": np.concatenate([a.get_atomic_numbers() for a in frames]).astype(np.int16),
              "positions": np.concatenate([a.get_positions() for a in frames]).astype(np.float32),
              "forces": np.concatenate([a.get_forces() for a in frames]).astype(np.float32),
              "energy": np.array([a.get_potential_energy() for a in frames], dtype=np.float64),
              "pbc": np.asarray(frames[0].get_pbc(), dtype=bool)}
    if arrays["pbc"].any():
        arrays["cell"] = np.array([a.get_cell()[:] for a in frames], dtype=np.float64)
    if all("dipole" in a.calc.results for a in frames):
        arrays["dipole"] = np.array([a.calc.results["dipole"] for a in frames], dtype=np.float32)
    for key in _PER_FRAME[3:]:
        if all(key in a.info for a in frames):
            arrays[key] = np.array([a.info[key] for a in frames])
    arrays["metadata"] = np.array(json.dumps(metadata or {}, sort_keys=True))
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, **arrays)
    return path


def _read(name: str, path: Path) -> dict:
    if not path.exists():
        raise DataFileError(f"the data file of '{name}' is missing ({path}): {_remedy(name)}")
    try:
        with np.load(path, allow_pickle=False) as file:
            arrays = {key: file[key] for key in file.files}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError) as error:
        raise DataFileError(f"the data file of '{name}' ({path}) is corrupt ({type(error).__name__}): "
                            f"{_remedy(name)}") from None
    required = ("atoms_per_frame", "numbers", "positions", "forces", "energy", "pbc")
    missing = [key for key in required if key not in arrays]
    n = arrays.get("atoms_per_frame", np.zeros(0, dtype=int))
    total = int(n.sum()) if not missing else -1
    broken = missing or any(len(arrays[key]) != total for key in ("numbers", "positions", "forces")) \
        or len(arrays["energy"]) != len(n) or not all(np.isfinite(arrays[k]).all() for k in ("positions", "forces", "energy"))
    if broken:
        raise DataFileError(f"the data file of '{name}' ({path}) is incomplete or inconsistent"
                            f"{' (missing ' + ', '.join(missing) + ')' if missing else ''}: {_remedy(name)}")
    return arrays


def load(name: str, *, path=None) -> list:
    """The frames of a shipped data set as ``ase.Atoms`` with their labels (``get_potential_energy()``,
    ``get_forces()``, ``calc.results["dipole"]`` where present) and ``info`` (trajectory, time_fs,
    kinetic_temperature_K, target_temperature_K, name, copy — what the set records). ``path`` reads another file."""
    from ase import Atoms
    from ase.calculators.singlepoint import SinglePointCalculator

    if name not in DATASETS and path is None:
        raise ValueError(f"no data set named {name!r}: choose one of {sorted(DATASETS)}")
    arrays = _read(name, Path(path) if path is not None else DATA_DIR / f"{name}.npz")
    bounds = np.concatenate([[0], np.cumsum(arrays["atoms_per_frame"])])
    frames = []
    for k, (a, b) in enumerate(zip(bounds[:-1], bounds[1:])):
        atoms = Atoms(numbers=arrays["numbers"][a:b], positions=arrays["positions"][a:b].astype(np.float64),
                      pbc=arrays["pbc"], cell=arrays["cell"][k] if "cell" in arrays else None)
        results = {"energy": float(arrays["energy"][k]), "forces": arrays["forces"][a:b].astype(np.float64)}
        if "dipole" in arrays:
            results["dipole"] = arrays["dipole"][k].astype(np.float64)
        atoms.calc = SinglePointCalculator(atoms, **results)
        for key in _PER_FRAME[3:]:
            if key in arrays:
                value = arrays[key][k]
                atoms.info[key] = value.item() if hasattr(value, "item") else value
        frames.append(atoms)
    return frames


def metadata(name: str, *, path=None) -> dict:
    """How a shipped data set was made: the maker, its arguments, the method and package versions."""
    arrays = _read(name, Path(path) if path is not None else DATA_DIR / f"{name}.npz")
    return json.loads(str(arrays["metadata"]))


def split_by_trajectory(frames, test_trajectories, validation_trajectories=()) -> tuple:
    """``(train, validation, test)`` lists of frames, split by whole trajectories (``info["trajectory"]``):
    frames of one trajectory are correlated, so a test trajectory must never give training frames."""
    test_trajectories, validation_trajectories = set(test_trajectories), set(validation_trajectories)
    if test_trajectories & validation_trajectories:
        raise ValueError("a trajectory cannot be both a test and a validation trajectory")
    where = lambda f: ("test" if f.info["trajectory"] in test_trajectories else
                       "validation" if f.info["trajectory"] in validation_trajectories else "train")
    parts = {"train": [], "validation": [], "test": []}
    for frame in frames:
        parts[where(frame)].append(frame)
    return parts["train"], parts["validation"], parts["test"]


def make(name: str, *, out_dir=None, **kwargs) -> Path:
    """Run the maker of data set ``name`` and write ``<out_dir>/<name>.npz`` (default: the package's data folder)."""
    if name not in DATASETS:
        raise ValueError(f"no data set named {name!r}: choose one of {sorted(DATASETS)}")
    module, function = DATASETS[name][0].split(":")
    maker = getattr(import_module(module), function)
    start = time.perf_counter()
    frames = maker(**kwargs)
    versions = {}
    for package in ("ase", "tblite", "numpy"):
        try:
            from importlib.metadata import version
            versions[package] = version(package)
        except Exception:                                     # noqa: BLE001 - a missing package is no version
            pass
    meta = {"maker": DATASETS[name][0], "arguments": kwargs, "description": DATASETS[name][1],
            "versions": versions, "seconds": round(time.perf_counter() - start, 1)}
    return save_frames(frames, Path(out_dir or DATA_DIR) / f"{name}.npz", meta)


def main(argv=None) -> int:
    """``python -m e3teach.datasets make [NAME ...]`` or ``describe``."""
    parser = argparse.ArgumentParser(prog="python -m e3teach.datasets", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    make_parser = sub.add_parser("make", help="regenerate data sets (all by default)")
    make_parser.add_argument("names", nargs="*", help=f"any of {', '.join(DATASETS)}")
    make_parser.add_argument("--out-dir", default=None, help="write there instead of the package's data folder")
    sub.add_parser("describe", help="what each shipped data set holds")
    args = parser.parse_args(argv)
    if args.command == "make":
        for name in args.names or list(DATASETS):
            path = make(name, out_dir=args.out_dir)
            print(f"{name}: {len(load(name, path=path))} frames -> {path} ({path.stat().st_size / 1024:.0f} kB)")
    else:
        for name, (_, description) in DATASETS.items():
            path = DATA_DIR / f"{name}.npz"
            size = f"{path.stat().st_size / 1024:.0f} kB" if path.exists() else "missing"
            print(f"{name:12s} {size:>8s}  {description}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
