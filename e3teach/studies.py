r"""Studies too long for a notebook (lesson 14): the recipe's ablation, learning curves, NVE dynamics.

Each study trains many potentials on the shipped GFN2-xTB ethanol data (:mod:`e3teach.datasets`: 8
Langevin trajectories at 500 K; trajectories 0–4 train, 5 validates, 6–7 test) and writes one JSON table
into the package, which lesson 14 reads, prints and draws::

    python -m e3teach.studies ablation          # ~4 min on 2 cores
    python -m e3teach.studies learning-curves   # ~8 min on 2 cores (two worker processes)
    python -m e3teach.studies nve               # ~5 min on 2 cores (needs tblite for the reference runs)
    python -m e3teach.studies versus-nequip     # ~4 min: the course's recipe and NequIP at equal time
    python -m e3teach.studies learning-curves --quick --out-dir /tmp/x   # a reduced run, as CI does

- :func:`ablation` — lesson 14's recipe built step by step from its first, plain model; every step trained
  for the same wall time and tested on the validation trajectory (the test trajectories stay unseen).
- :func:`learning_curves` — test force error against the number of training structures, invariant
  (:math:`l = 0`) vs equivariant (:math:`l = 1`), several seeds, per-seed slopes of :math:`\log` MAE vs :math:`\log N`.
- :func:`versus_nequip` — the recipe and the real NequIP trained side by side for the same wall time (lesson 18).
- :func:`nve` — NVE dynamics with GFN2-xTB, the learned potential and a direct-force model: drift and
  fluctuation of the total energy, and the kinetic temperature.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from . import datasets
from . import potentials as P

__all__ = ["STUDY_DIR", "ethanol_split", "crystal_split", "versus_nequip", "ablation", "learning_curves", "nve", "load_study", "slope", "main"]

STUDY_DIR = Path(__file__).parent / "data" / "studies"
R_MAX = 4.0                  #: Å, the cutoff of every ethanol model (all 36 pairs of the molecule are within it)
TEST_TRAJECTORIES, VALIDATION_TRAJECTORIES = (6, 7), (5,)


def ethanol_split():
    """``(train, validation, test)`` frames of the shipped ethanol data, split by whole trajectories."""
    return datasets.split_by_trajectory(datasets.load("ethanol_md"), TEST_TRAJECTORIES, VALIDATION_TRAJECTORIES)


def _sample(frames, n: int, seed: int) -> list:
    return [frames[i] for i in np.random.default_rng(seed).permutation(len(frames))[:n]]


def _test_errors(model, frames) -> dict:
    data = P.batch_structures(frames, model.r_max, model.energy_scale.dtype, species=model.species)
    errors = P.force_errors(model, data)
    errors["force_rmse_over_spread"] = errors["force_rmse"] / float(data.forces.double().std())
    return errors


def slope(sizes, errors) -> float:
    """The least-squares slope of log(error) against log(size): the exponent of a power law error ∝ N^slope."""
    return float(np.polyfit(np.log(np.asarray(sizes, float)), np.log(np.asarray(errors, float)), 1)[0])


# ----------------------------------------------------------------------------- ablation
#: The steps from lesson 14's first model to the recipe, each added to the previous one.
ABLATION_STEPS = [
    ("plain: bumps basis, uvw, 1 layer + conv readout, n = 12, full batch, lr 1e-2",
     dict(model=dict(irreps_hidden="8x0e + 4x1o", layers=1, num_basis=6, radial_basis="smooth_finite",
                     tensor_product="full", self_connection=False, embedding=None, readout="conv",
                     num_neighbors=12.0), training=dict(batch_size=None, lr=1e-2))),
    ("+ minibatches of 10 structures", dict(training=dict(batch_size=10))),
    ("+ Bessel basis x polynomial envelope (8)", dict(model=dict(radial_basis="bessel", num_basis=8))),
    ("+ divide by the average number of neighbours", dict(model=dict(num_neighbors=None))),
    ("+ uvu tensor product between linears", dict(model=dict(tensor_product="uvu"))),
    ("+ embedding, self-connection, 2 layers, linear readout",
     dict(model=dict(embedding=16, self_connection=True, layers=2, readout="linear"))),
    ("+ 16x0e + 16x1o features", dict(model=dict(irreps_hidden="16x0e + 16x1o"))),
    ("+ learning rate 2e-2 (= the recipe)", dict(training=dict(lr=2e-2))),
]
#: Variations of the recipe, each alone.
ABLATION_VARIATIONS = [
    ("recipe, energy weight 0.1", dict(training=dict(energy_weight=0.1))),
    ("recipe, invariant (16x0e, l = 0)", dict(model=dict(irreps_hidden="16x0e", lmax=0))),
    ("recipe in float64", dict(dtype="float64")),
]


def _train_variant(train, model_options, training_options, dtype, seconds, seed):
    options = dict(model_options)
    if options.get("num_neighbors", 0) is None:
        options.pop("num_neighbors")
    torch.manual_seed(seed)
    model = P.course_potential(train, R_MAX, dtype=dtype, **options)
    trainer = P.course_trainer(model, train, seconds=seconds, seed=seed, **training_options)
    run = trainer.finish()
    return model, run


def ablation(*, seconds: float = 10.0, n_train: int = 200, seeds=(0, 1)) -> dict:
    """Each step of :data:`ABLATION_STEPS` (cumulative) and :data:`ABLATION_VARIATIONS`, trained for ``seconds``
    on ``n_train`` structures (float32 unless stated), tested on the validation trajectory."""
    train, validation, _ = ethanol_split()
    train = _sample(train, n_train, 0)
    rows, model_options, training_options = [], {}, {}
    plans = []
    for name, change in ABLATION_STEPS:
        model_options = {**model_options, **change.get("model", {})}
        training_options = {**training_options, **change.get("training", {})}
        plans.append((name, model_options, training_options, "float32"))
    recipe = plans[-1]
    for name, change in ABLATION_VARIATIONS:
        plans.append((name, {**recipe[1], **change.get("model", {})}, {**recipe[2], **change.get("training", {})},
                      change.get("dtype", "float32")))
    for name, model_options, training_options, dtype in plans:
        results = []
        for seed in seeds:
            model, run = _train_variant(train, model_options, training_options, getattr(torch, dtype), seconds, seed)
            results.append({"steps": len(run.losses), **_test_errors(model, validation)})
        rows.append({"step": name, "dtype": dtype, "model": model_options, "training": training_options,
                     "parameters": sum(p.numel() for p in model.parameters()), "seeds": list(seeds),
                     "steps": [r["steps"] for r in results],
                     "force_mae": [r["force_mae"] for r in results],
                     "energy_mae_per_atom": [r["energy_mae_per_atom"] for r in results],
                     "force_rmse_over_spread": [r["force_rmse_over_spread"] for r in results]})
        print(f"{name:60s} force MAE {np.mean(rows[-1]['force_mae']):.3f} eV/Å, steps {rows[-1]['steps']}", flush=True)
    return {"study": "ablation", "seconds_per_training": seconds, "n_train": n_train, "tested_on": "validation",
            "rows": rows}


# ----------------------------------------------------------------------------- learning curves
LEARNING_CURVE_MODELS = {"invariant (l = 0)": dict(irreps_hidden="16x0e", lmax=0),
                         "equivariant (l = 1)": dict()}


def _learning_curve_point(args):
    name, n, seed, steps = args
    torch.set_num_threads(1)
    train, _, test = ethanol_split()
    frames = _sample(train, n, seed)
    torch.manual_seed(seed)
    model = P.course_potential(frames, R_MAX, dtype=torch.float32, **LEARNING_CURVE_MODELS[name])
    run = P.course_trainer(model, frames, steps=steps, seed=seed, batch_size=min(10, n)).finish()
    return {"model": name, "n_train": n, "seed": seed, "steps": steps,
            "force_mae": _test_errors(model, test)["force_mae"], "seconds": run.seconds}


def learning_curves(*, sizes=(8, 24, 80, 256), seeds=(0, 1, 2), steps: int = 2400, workers: int = 2,
                    half_budget: bool = True) -> dict:
    """Test force MAE (the two test trajectories) of the recipe at :math:`l = 0` and :math:`l = 1` for each
    training-set size and seed, after ``steps`` Adam steps (minibatches of 10, the learning rate decaying over
    the whole budget). Every point is also trained with half the budget, a complete schedule of its own: where
    the two agree, the budget is enough (``half_budget=False`` skips that check: the quick run of the tests).
    Per-seed slopes of log MAE against log N."""
    budgets = (steps, steps // 2) if half_budget else (steps,)
    jobs = [(name, n, seed, budget) for budget in budgets for name in LEARNING_CURVE_MODELS
            for n in sizes for seed in seeds]
    if workers > 1:
        import multiprocessing
        with multiprocessing.get_context("spawn").Pool(workers) as pool:
            points = pool.map(_learning_curve_point, jobs)
    else:
        points = [_learning_curve_point(job) for job in jobs]

    def grid(name, budget):
        return np.array([[next(p["force_mae"] for p in points if p["model"] == name and p["n_train"] == n
                               and p["seed"] == s and p["steps"] == budget) for s in seeds] for n in sizes])

    table = {}
    for name in LEARNING_CURVE_MODELS:
        mae = grid(name, steps)
        half = grid(name, steps // 2) if half_budget else np.full_like(mae, np.nan)
        table[name] = {"force_mae": mae.tolist(), "force_mae_half_budget": half.tolist(),
                       "slope_per_seed": [slope(sizes, mae[:, k]) for k in range(len(seeds))],
                       "slope_of_mean": slope(sizes, mae.mean(axis=1))}
        print(f"{name}: slopes per seed {np.round(table[name]['slope_per_seed'], 2).tolist()}; MAE "
              f"{np.round(mae.mean(axis=1), 3).tolist()}; half budget {np.round(half.mean(axis=1), 3).tolist()}",
              flush=True)
    return {"study": "learning_curves", "sizes": list(sizes), "seeds": list(seeds), "steps": steps,
            "batch_size": 10, "tested_on": "test trajectories 6 and 7", "models": LEARNING_CURVE_MODELS,
            "table": table}


# ----------------------------------------------------------------------------- NVE
def _nve(atoms, forces_and_energy, *, timestep_fs: float, steps: int, temperature_K: float, seed: int,
         reference=None, reference_every: int = 20) -> dict:
    """Velocity Verlet written out (ase's integrator needs a calculator; a direct-force model has no energy).

    ``forces_and_energy(positions) -> (forces (N, 3) eV/Å, energy eV or None)``. Records the kinetic energy,
    the model's own energy (where it has one), and every ``reference_every`` steps the reference energy.
    """
    from ase import units
    atoms = atoms.copy()
    P.thermalize(atoms, temperature_K, np.random.default_rng(seed))
    masses = atoms.get_masses()[:, None]
    pos, momenta = atoms.get_positions(), atoms.get_momenta()
    dt = timestep_fs * units.fs
    forces, energy = forces_and_energy(pos)
    kinetic, own, ref, ref_times = [], [], [], []
    for k in range(steps + 1):
        kinetic.append(float((momenta**2 / (2 * masses)).sum()))
        own.append(energy)
        if reference is not None and k % reference_every == 0:
            ref.append(reference(pos))
            ref_times.append(k * timestep_fs / 1000)
        if k == steps:
            break
        momenta = momenta + 0.5 * dt * forces
        pos = pos + dt * momenta / masses
        forces, energy = forces_and_energy(pos)
        momenta = momenta + 0.5 * dt * forces
    n = len(atoms)
    time_ps = np.arange(steps + 1) * timestep_fs / 1000
    kinetic = np.array(kinetic)
    every = slice(None, None, reference_every)          # the stored series: one point every reference_every steps
    out = {"time_ps": time_ps[every].tolist(), "kinetic": kinetic[every].tolist(),
           "temperature_K": (2 * kinetic / (3 * n * units.kB))[every].tolist()}
    if own[0] is not None:
        total = kinetic + np.array(own, dtype=float)
        out.update(total=total[every].tolist(), drift_eV_per_atom_ps=P.energy_drift(time_ps, total, n),
                   total_std_eV_per_atom=float(np.std(total) / n))
    if ref:
        total_ref = kinetic[np.round(np.array(ref_times) * 1000 / timestep_fs).astype(int)] + np.array(ref)
        ok = np.isfinite(total_ref)
        out.update(reference_time_ps=ref_times, total_with_reference=[float(x) for x in total_ref],
                   reference_failures=int((~ok).sum()),
                   drift_with_reference_eV_per_atom_ps=P.energy_drift(np.array(ref_times)[ok], total_ref[ok], n))
    distances = np.linalg.norm(pos[:, None] - pos[None], axis=-1)
    out["largest_distance_at_end"] = float(distances.max())      # Å: a molecule that stays whole keeps it < ~4 Å
    return out


def nve(*, n_train: int = 200, train_seconds: float = 60.0, draws: int = 3, timestep_fs: float = 0.5,
        duration_ps: float = 1.0, temperature_K: float = 500.0) -> dict:
    """NVE runs of ``duration_ps`` from ``draws`` Maxwell–Boltzmann velocity draws at 500 K, starting from test
    frames, with GFN2-xTB, the recipe potential and a direct-force model (both trained ``train_seconds``)."""
    from ase import Atoms
    from . import xtb
    train, _, test = ethanol_split()
    frames = _sample(train, n_train, 0)
    torch.manual_seed(0)
    potential = P.course_potential(frames, R_MAX, dtype=torch.float32)
    P.course_trainer(potential, frames, seconds=train_seconds).finish()
    species = potential.species
    direct = P.DirectForceModel(species, r_max=R_MAX, **{**P.RECIPE, "num_neighbors": float(potential.hparams["num_neighbors"])})
    direct = direct.float()
    batches = [P.batch_structures(c, R_MAX, torch.float32) for c in P.minibatches(frames, 10)]
    P.direct_force_trainer(direct, batches, seconds=train_seconds, lr=2e-2).finish()
    potential64, direct64 = P.rebuilt_in(potential, torch.float64), P.rebuilt_in(direct, torch.float64)
    numbers = test[0].get_atomic_numbers()

    def as_data(pos):
        return P.batch_structures([Atoms(numbers=numbers, positions=pos)], R_MAX, torch.float64, species=species)

    def learned(pos):
        energy, forces = P.energy_and_forces(potential64, as_data(pos))
        return forces.numpy(), float(energy[0])

    def direct_forces(pos):
        return P.direct_forces(direct64, as_data(pos)).detach().numpy(), None

    reference = None
    runs = {"learned potential (-grad E)": learned, "direct forces (1o output)": direct_forces}
    if xtb.available():
        calc = xtb.calculator()

        def reference(pos):               # NaN where GFN2-xTB fails (a structure torn apart by bad forces)
            atoms = Atoms(numbers=numbers, positions=pos)
            atoms.calc = calc
            try:
                return float(atoms.get_potential_energy())
            except Exception:                                  # noqa: BLE001 - tblite's SCF failure, any kind
                calc.reset()
                return float("nan")

        def gfn2(pos):
            atoms = Atoms(numbers=numbers, positions=pos)
            atoms.calc = calc
            return atoms.get_forces(), float(atoms.get_potential_energy())
        runs = {"GFN2-xTB (reference)": gfn2, **runs}
    steps = int(round(duration_ps * 1000 / timestep_fs))
    results = {}
    for name, function in runs.items():
        results[name] = []
        for draw in range(draws):
            start = test[draw * len(test) // draws]          # one start per draw, spread over the test frames
            results[name].append(_nve(start, function, timestep_fs=timestep_fs, steps=steps,
                                      temperature_K=temperature_K, seed=draw, reference=reference))
        summary = {k: [r[k] for r in results[name] if k in r] for k in
                   ("drift_eV_per_atom_ps", "total_std_eV_per_atom", "drift_with_reference_eV_per_atom_ps")}
        print(name, {k: np.round(v, 5).tolist() for k, v in summary.items()}, flush=True)
    test_errors = {"learned potential (-grad E)": _test_errors(potential, test)["force_mae"],
                   "direct forces (1o output)": float((P.direct_forces(direct, P.batch_structures(test, R_MAX, torch.float32))
                                                       - P.batch_structures(test, R_MAX, torch.float32).forces).abs().mean())}
    return {"study": "nve", "timestep_fs": timestep_fs, "duration_ps": duration_ps, "draws": draws,
            "temperature_K": temperature_K, "train_seconds": train_seconds, "n_train": n_train,
            "test_force_mae": test_errors, "runs": results}


# ----------------------------------------------------------------------------- the course vs NequIP
def crystal_split():
    """``(train, test)`` of the shipped Ag–Au crystal as lessons 14 and 18 use it: trajectories 3, 7 and 11 (one per
    temperature) test; every third frame of the others (120) trains."""
    train, _, test = datasets.split_by_trajectory(datasets.load("agau_md"), CRYSTAL_TEST_TRAJECTORIES)
    return train[::3], test


CRYSTAL_TEST_TRAJECTORIES, CRYSTAL_R_MAX = (3, 7, 11), 3.6


def versus_nequip(*, seconds: float = 20.0, seeds=(0, 1, 2)) -> dict:
    """The course's recipe and a NequIP model (2 layers, l_max 1, 8 features, nequip's defaults otherwise) trained
    side by side (:func:`e3teach.potentials.race`) for ``seconds`` each, float32, same structures, loss, minibatches
    and learning-rate schedule; test force errors on held-out trajectories, for ethanol and the Ag–Au crystal."""
    from nequip.model import NequIPGNNModel
    from . import nequip_bridge as NB
    NB.init_nequip()
    train, _, test = ethanol_split()
    systems = {"ethanol (GFN2-xTB)": (train[::5], test, R_MAX),
               "Ag-Au crystal (EMT)": (*crystal_split(), CRYSTAL_R_MAX)}
    table = {}
    for system, (frames, held_out, r_max) in systems.items():
        rows = []
        for seed in seeds:
            names, hyper = NB.nequip_hyperparameters(frames, r_max)
            torch.manual_seed(seed)
            course = P.course_potential(frames, r_max, dtype=torch.float32)
            nequip = NequIPGNNModel(seed=seed, model_dtype="float32", type_names=names, **hyper)
            batches = [NB.to_nequip_data(c, names, r_max) for c in P.minibatches(frames, 10, seed=seed)]
            runs = P.race([P.course_trainer(course, frames, seconds=seconds, seed=seed),
                           NB.nequip_trainer(nequip, batches, seconds=seconds, lr=P.RECIPE_TRAINING["lr"])])
            nequip.eval()
            data = P.batch_structures(held_out, r_max, torch.float32)
            energy, forces = NB.nequip_energy_and_forces(nequip, NB.to_nequip_data(held_out, names, r_max))
            course_errors = P.force_errors(course, data)
            nequip_errors = NB.prediction_errors(energy, forces, data.energy, data.forces, data.atoms_per_graph)
            rows.append({"seed": seed, "course": course_errors, "nequip": nequip_errors,
                         "steps": {"course": len(runs[0].losses), "nequip": len(runs[1].losses)},
                         "parameters": {"course": sum(p.numel() for p in course.parameters()),
                                        "nequip": sum(p.numel() for p in nequip.parameters())},
                         "force_spread": float(data.forces.double().std()),
                         "ratio": nequip_errors["force_mae"] / course_errors["force_mae"]})
            print(f"{system} seed {seed}: ratio {rows[-1]['ratio']:.2f}, steps {rows[-1]['steps']}", flush=True)
        table[system] = rows
    return {"study": "versus_nequip", "seconds_per_model": seconds, "seeds": list(seeds), "dtype": "float32",
            "training": P.RECIPE_TRAINING, "table": table}


# ----------------------------------------------------------------------------- files
def load_study(name: str, *, path=None) -> dict:
    """A study's table as written by ``python -m e3teach.studies NAME`` (``name``: ablation, learning_curves, nve)."""
    path = Path(path) if path is not None else STUDY_DIR / f"{name}.json"
    if not path.exists():
        raise datasets.DataFileError(f"the study '{name}' has no results at {path}: run "
                                     f"`python -m e3teach.studies {name.replace('_', '-')}`")
    return json.loads(path.read_text())


STUDIES = {"ablation": ablation, "learning-curves": learning_curves, "nve": nve, "versus-nequip": versus_nequip}
#: the reduced runs (``--quick``, the tests): the quick learning curve trains in this process, as its six
#: short trainings cost less than starting two worker interpreters (29 against 34 CPU-seconds)
QUICK = {"ablation": dict(seconds=2.0, seeds=(0,)),
         "learning-curves": dict(sizes=(8, 24, 80), seeds=(0,), steps=400, half_budget=False, workers=1),
         "nve": dict(train_seconds=5.0, draws=1, duration_ps=0.1),
         "versus-nequip": dict(seconds=2.0, seeds=(0,))}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m e3teach.studies", description=__doc__.split("\n")[0])
    parser.add_argument("study", choices=sorted(STUDIES))
    parser.add_argument("--quick", action="store_true", help="a reduced run (CI): fewer sizes, seeds and steps")
    parser.add_argument("--out-dir", default=None, help="write there instead of the package's studies folder")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    start = time.perf_counter()
    result = STUDIES[args.study](**(QUICK[args.study] if args.quick else {}))
    result["seconds"] = round(time.perf_counter() - start, 1)
    result["quick"] = args.quick
    out = Path(args.out_dir or STUDY_DIR)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{args.study.replace('-', '_')}.json"
    path.write_text(json.dumps(result, indent=1))
    print(f"{args.study}: {result['seconds']:.0f} s -> {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
