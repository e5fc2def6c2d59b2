"""Checkers for lesson 18 (from the course to NequIP): ``from e3teach.checks import lesson18 as check``.

* ``q1(config)``: the keyword arguments of ``nequip.model.NequIPGNNModel`` for a described model; the checker
  builds the model and reads its irreps, layers, radial basis, normalization and energy shifts back.
* ``q2(energy_and_forces)``: ``ase.Atoms`` → nequip data → ``(energy, forces)`` of a nequip model.
* ``q3(equivariance_errors)``: the energy and force errors of a model under one E(3) element ``p → p Rᵀ + t``.
* ``q4(test_errors)``: energy-per-atom MAE, force MAE and force RMSE of predictions on a test set.
"""
from __future__ import annotations

import difflib
import functools
import inspect
import math
import warnings

import numpy as np
import torch

from .. import nequip_bridge as NB
from ..equivariance import random_rotation
from .core import as_number, call, describe, exception_text, exercise, expect_close, expect_tensor, fail, show
from .lesson14 import lennard_jones_energy

__all__ = ["q1", "q2", "q3", "q4", "Q1_TARGET"]

#: What q1 describes: the model the learner's config must build.
Q1_TARGET = {"type_names": ["Ag", "Au"], "r_max": 4.0, "num_layers": 3, "l_max": 1, "parity": True, "num_features": 16,
             "num_bessels": 6, "polynomial_cutoff_p": 6, "avg_num_neighbors": 12.0,
             "per_type_energy_shifts": {"Ag": -2.9, "Au": -3.8}, "per_type_energy_scales": 0.5}
_BOOKKEEPING = {"seed": 0, "model_dtype": "float64", "type_names": ["Ag", "Au"]}


def _build(**kwargs):
    """A nequip model in float64, nequip's global state set up first, its advice on missing shifts silenced."""
    from nequip.model import NequIPGNNModel
    NB.init_nequip()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return NequIPGNNModel(**kwargs)


@functools.lru_cache(maxsize=None)
def _q1_target():
    return _build(**{**_BOOKKEEPING, **Q1_TARGET})


def _known_arguments() -> set[str]:
    from nequip.model import NequIPGNNModel
    from nequip.model.nequip_models import FullNequIPGNNModel
    names = set(inspect.signature(NequIPGNNModel).parameters) | set(inspect.signature(FullNequIPGNNModel).parameters)
    computed = {"kwargs", "irreps_edge_sh", "feature_irreps_hidden", "compile_mode"}
    return (names - computed) | {"seed", "model_dtype"}


def _plain(value):
    """One-element tensors become Python numbers (nequip wants plain values in a config)."""
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        return value.item()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _block_irreps(model) -> list[str]:
    return [str(m.irreps_out["node_features"]) for name, m in model.model.func.named_children() if "convnet" in name]


# ----------------------------------------------------------------------------- q1
@exercise("a NequIP config from a description", hints=[
    "Each sentence of the description is one keyword of NequIPGNNModel: r_max, num_layers, l_max, parity, "
    "num_features, num_bessels, polynomial_cutoff_p, avg_num_neighbors, per_type_energy_shifts, per_type_energy_scales.",
    "Energy shifts are a dict keyed by species, {'Ag': ..., 'Au': ...}, not a list; 'both parities' is parity=True.",
    "config = dict(r_max=4.0, num_layers=3, l_max=1, parity=True, num_features=16, num_bessels=6, polynomial_cutoff_p=6, "
    "avg_num_neighbors=12.0, per_type_energy_shifts={'Ag': -2.9, 'Au': -3.8}, per_type_energy_scales=0.5)",
])
def q1(config):
    """Build ``NequIPGNNModel(seed=0, model_dtype="float64", type_names=["Ag", "Au"], **config)`` and compare it with the description."""
    if not isinstance(config, dict):
        fail(f"`config` should be a dict of NequIPGNNModel keyword arguments, got {describe(config)}",
             "config = dict(r_max=..., num_layers=..., ...)")
    known = _known_arguments()
    for key in config:
        if not isinstance(key, str) or key not in known:
            close = difflib.get_close_matches(str(key), sorted(known), n=1)
            fail(f"`{key}` is not an argument of NequIPGNNModel" + (f" — did you mean `{close[0]}`?" if close else ""),
                 "the arguments are listed in the lesson's table (section 3)")
    kwargs = {**_BOOKKEEPING, **{k: _plain(v) for k, v in config.items()}}
    try:
        model = _build(**kwargs)
    except Exception as exc:                     # nequip refused the config: say which argument, and why
        text = exception_text(exc)
        culprit = _q1_culprit(kwargs)
        what = f"`{culprit}={kwargs[culprit]!r}`" if culprit else "this config"
        why = f" ({type(exc).__name__}: {text.rstrip('.')})" if text and text != type(exc).__name__ else \
            f" ({type(exc).__name__} inside nequip, with no message)"
        fail(f"NequIPGNNModel cannot be built with {what}{why}",
             f"compare {culprit} with the description and the lesson's table (section 3)" if culprit else
             "read nequip's message: it names the argument it could not use")
    target = _q1_target()
    r_max = float(model.metadata["r_max"])
    if abs(r_max - Q1_TARGET["r_max"]) > 1e-9:
        fail(f"the model's cutoff is r_max = {r_max} Å; the description asks for {Q1_TARGET['r_max']} Å", "r_max is in Å")
    got, want = _block_irreps(model), _block_irreps(target)
    if len(got) != len(want):
        fail(f"the model has {len(got)} interaction blocks; the description asks for {len(want)}", "num_layers")
    net, ref = model.model.func, target.model.func
    sh = str(net.spharm.irreps_out["edge_attrs"])
    if sh != str(ref.spharm.irreps_out["edge_attrs"]):
        fail(f"the edges' spherical harmonics are {sh}: that is l_max = {o3_lmax(sh)}, the description asks for "
             f"l ≤ {Q1_TARGET['l_max']}", "l_max sets the highest l of the harmonics and of the features")
    if got != want:
        if got[1:2] and "1e" not in got[1] and "1e" in want[1]:
            fail(f"the second block outputs {got[1]}: no pseudovectors 1e, so the model keeps only the parity (-1)^l — "
                 "the description asks for both parities", "parity=True")
        fail(f"the interaction blocks output {got}, expected {want}", "num_features is the multiplicity of each irrep")
    if net.bessel_encode.num_bessels != ref.bessel_encode.num_bessels:
        fail(f"the radial basis has {net.bessel_encode.num_bessels} Bessel functions; the description asks for "
             f"{ref.bessel_encode.num_bessels}", "num_bessels")
    if float(net.bessel_encode.cutoff.p) != float(ref.bessel_encode.cutoff.p):
        fail(f"the polynomial cutoff has p = {net.bessel_encode.cutoff.p:g}; the description asks for "
             f"p = {ref.bessel_encode.cutoff.p:g}", "polynomial_cutoff_p")
    names = list(kwargs["type_names"])
    norm = _per_type(net.layer0_convnet.conv.avg_num_neighbors_norm.norm_const, names)
    want_norm = _per_type(ref.layer0_convnet.conv.avg_num_neighbors_norm.norm_const, Q1_TARGET["type_names"])
    if not _same_per_type(norm, want_norm):
        used = ", ".join(f"{k}: 1/√{1 / v ** 2:.4g}" for k, v in norm.items())
        fail(f"sums over neighbours are normalized by {used}; the description asks for 1/√12 for every species",
             "avg_num_neighbors=12.0")
    for field, label in (("shifts", "per_type_energy_shifts"), ("scales", "per_type_energy_scales")):
        tensor = getattr(net.per_type_energy_scale_shift, field)
        if tensor.numel() == 0:
            fail(f"`{label}` is not set", f"{label} — see the description")
        mine = _per_type(tensor, names)
        theirs = _per_type(getattr(ref.per_type_energy_scale_shift, field), Q1_TARGET["type_names"])
        if not _same_per_type(mine, theirs):
            fail(f"`{label}` gives {_by_species(mine)}; the description asks for {_by_species(theirs)}",
                 "a dict keyed by species for the shifts, one number for the scale")
    return (f"builds {want} with harmonics {sh}, {net.bessel_encode.num_bessels} Bessel functions, r_max = {r_max:g} Å, "
            "1/√12 normalization and the described energy shifts and scale")


def _per_type(values: torch.Tensor, type_names) -> dict[str, float]:
    """A per-type tensor of nequip (one value, or one per type in ``type_names`` order) as {species: value}."""
    flat = values.detach().double().reshape(-1)
    if flat.numel() == 1:
        flat = flat.expand(len(type_names))
    return {name: float(v) for name, v in zip(type_names, flat)}


def _same_per_type(mine: dict[str, float], theirs: dict[str, float]) -> bool:
    """Equal per species (to float32 rounding of a value given as np.float32)."""
    return mine.keys() == theirs.keys() and all(math.isclose(mine[k], theirs[k], rel_tol=1e-6, abs_tol=1e-9)
                                                for k in mine)


def _by_species(values: dict[str, float]) -> str:
    return "{" + ", ".join(f"{k!r}: {v:g}" for k, v in sorted(values.items())) + "}"


def _q1_culprit(kwargs: dict) -> str | None:
    """The first of the learner's arguments that, alone in the described config, stops nequip from building it."""
    base = {**_BOOKKEEPING, **Q1_TARGET}
    for key, value in kwargs.items():
        if key in base and _same(value, base[key]):
            continue                                 # the described value builds: it cannot be the culprit
        try:
            _build(**{**base, key: value})
        except Exception:  # noqa: BLE001 - any refusal names this argument
            return key
    return None


def _same(a, b) -> bool:
    try:
        return bool(a == b) and type(a) is type(b)
    except Exception:  # noqa: BLE001 - values that do not compare (arrays...) are not the described one
        return False


def o3_lmax(irreps: str) -> int:
    from e3nn import o3
    return o3.Irreps(irreps).lmax


# ----------------------------------------------------------------------------- q2
@functools.lru_cache(maxsize=None)
def _q2_model(case: int):
    if case == 0:
        return _build(**_BOOKKEEPING, r_max=3.6, num_layers=2, l_max=1, num_features=4, radial_mlp_width=8,
                      avg_num_neighbors=12.0, per_type_energy_shifts={"Ag": 0.1, "Au": -0.2}, per_type_energy_scales=0.5)
    return _build(seed=1, model_dtype="float64", type_names=["Au", "Cu", "Ag"], r_max=4.0, num_layers=2, l_max=1,
                  num_features=4, radial_mlp_width=8, avg_num_neighbors=8.0,
                  per_type_energy_shifts={"Au": -0.3, "Cu": 0.2, "Ag": 0.05}, per_type_energy_scales=0.5)


def _q2_structures():
    from ase import Atoms
    from ase.build import bulk
    crystal = bulk("Ag", "fcc", a=4.08).repeat((2, 2, 2))
    crystal.numbers[[1, 4, 6]] = 79
    crystal.rattle(0.08, rng=np.random.default_rng(180))
    cluster = Atoms("AuCuAgCuAu", positions=[(0, 0, 0), (2.6, 0.1, 0), (0.2, 2.7, 0.3), (1.4, 1.3, 2.2), (2.6, 2.5, 0.9)],
                    pbc=False)
    return [(0, crystal, 3.6, "a periodic Ag–Au crystal, model type_names ['Ag', 'Au']"),
            (1, cluster, 4.0, "an Au–Cu–Ag cluster, model type_names ['Au', 'Cu', 'Ag'] and r_max = 4.0")]


@exercise("ase Atoms → nequip data → energy and forces", hints=[
    "from_ase(atoms), then ChemicalSpeciesToAtomTypeMapper and NeighborListTransform(r_max=r_max), then model(data).",
    "The mapper must follow the model's own order: model_type_names=model.type_names, and the map "
    "{name: name for name in model.type_names}.",
    "out = model(data); return float(out['total_energy']), out['forces'].detach()  — build the data under "
    "torch.float64 (the notebook's default here).",
])
def q2(energy_and_forces):
    """Check ``energy_and_forces(model, atoms, r_max) -> (energy, forces (N, 3))`` on a crystal and on a cluster of three species."""
    for case, atoms, r_max, what in _q2_structures():
        model = _q2_model(case)
        energy, forces = NB.nequip_energy_and_forces(model, NB.to_nequip_data(atoms, NB.type_names_of(model), r_max))
        out = call(energy_and_forces, model, atoms.copy(), r_max)
        if not isinstance(out, (tuple, list)) or len(out) != 2:
            fail(f"on {what} your function returned {describe(out)}; expected a pair (energy, forces)",
                 "return energy, forces")
        mine = as_number(out[0], "energy", hint="the energy of one structure is one number: float(out['total_energy'])")
        if abs(mine - float(energy)) > 1e-6 * max(1.0, abs(float(energy))):
            a, b = show(mine, float(energy))
            fail(f"on {what} the energy is {a} eV, expected {b} eV",
                 "check the type map (it must follow model.type_names) and that the neighbour list uses r_max")
        expect_close(out[1], forces, f"forces on {what}", atol=1e-8, rtol=1e-6, float32_ok=True,
                     hint="take out['forces'] from the model's output (nequip computes −∂E/∂pos itself)")
    return "energy and forces equal nequip's on a periodic crystal and on a three-species cluster with its own type order and cutoff"


# ----------------------------------------------------------------------------- q3
def _model(energy_fn, *, extra_force=None):
    """``pos -> (energy (1, 1), forces (N, 3))`` with forces by autograd (plus an optional wrong constant)."""
    def energy_forces(pos):
        pos = pos.detach().to(torch.float64).requires_grad_(True)
        energy = energy_fn(pos)
        (grad,) = torch.autograd.grad(energy, pos)
        forces = -grad if extra_force is None else -grad + extra_force
        return energy.detach().reshape(1, 1), forces.detach()
    return energy_forces


_Q3_MODELS = {
    "a correct model (Lennard-Jones)": _model(lennard_jones_energy),
    "a model whose forces carry a fixed extra vector (they do not rotate)":
        _model(lennard_jones_energy, extra_force=torch.tensor([0.3, -0.2, 0.5], dtype=torch.float64)),
    "a model in an external field along z (not rotation invariant)": _model(lambda p: lennard_jones_energy(p) + 0.2 * p[:, 2].sum()),
    "a model tied to the origin (rotation invariant about 0, not translation invariant)":
        _model(lambda p: lennard_jones_energy(p) + 0.1 * p.mean(dim=0).pow(2).sum()),
}


def _reference_errors(energy_forces, pos, R, t):
    e0, f0 = energy_forces(pos)
    e1, f1 = energy_forces(pos @ R.T + t)
    return float((e1 - e0).abs().max()), float((f1 - f0 @ R.T).abs().max())


@exercise("an equivariance check of your own", hints=[
    "Move the positions with p @ R.T + t, evaluate the model on the original and the moved positions.",
    "The energy must not change; the forces must rotate: compare F(p Rᵀ + t) with F(p) Rᵀ (translations do not "
    "change forces).",
    "e0, f0 = energy_forces(pos); e1, f1 = energy_forces(pos @ R.T + t); "
    "return float((e1 - e0).abs().max()), float((f1 - f0 @ R.T).abs().max())",
])
def q3(equivariance_errors):
    """Check ``equivariance_errors(energy_forces, pos, R, t) -> (energy_error, force_error)`` on a correct and three broken models."""
    gen = torch.Generator().manual_seed(183)
    pos = torch.tensor([[0.0, 0.0, 0.0], [2.8, 0.2, 0.1], [0.3, 2.9, -0.2], [1.5, 1.4, 2.5], [3.1, 2.6, 2.2]],
                       dtype=torch.float64)
    rotation = random_rotation(gen)
    moves = [("a rotation", rotation, torch.zeros(3, dtype=torch.float64)),
             ("an improper rotation with a translation", -random_rotation(gen), torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64)),
             ("a pure translation", torch.eye(3, dtype=torch.float64), torch.tensor([0.7, 0.4, -1.1], dtype=torch.float64))]
    for model_name, energy_forces in _Q3_MODELS.items():
        for move_name, R, t in moves:
            want = _reference_errors(energy_forces, pos, R, t)
            out = call(equivariance_errors, energy_forces, pos.clone(), R.clone(), t.clone())
            if not isinstance(out, (tuple, list)) or len(out) != 2:
                fail(f"your function returned {describe(out)}; expected a pair (energy_error, force_error)",
                     "return energy_error, force_error")
            got = [as_number(x, name, hint="one number: the largest absolute difference")
                   for x, name in zip(out, ("energy_error", "force_error"))]
            for value, expected, name in zip(got, want, ("energy error", "force error")):
                if expected < 1e-9 and value > 1e-8:
                    hint = ("the forces of the moved atoms must be compared with F(p) Rᵀ, the original forces rotated"
                            if name == "force error" else "the energy of the moved atoms must equal E(p)")
                    fail(f"for {model_name} under {move_name} you report {name} = {value:.3g}, but the model is "
                         f"exact there (error {expected:.1e})", hint)
                if expected >= 1e-9 and abs(value - expected) > 1e-6 * expected + 1e-10:
                    a, b = show(value, expected)
                    fail(f"for {model_name} under {move_name} you report {name} = {a}; it is {b}",
                         "move the positions by p @ R.T + t (the rotation and the translation), and return the largest "
                         "absolute difference over all components")
    return ("right energy and force errors for a correct model and three broken ones, under a rotation, an improper "
            "rotation with a translation, and a pure translation")


# ----------------------------------------------------------------------------- q4
def _q4_case(sizes, seed):
    gen = torch.Generator().manual_seed(seed)
    n = int(sum(sizes))
    ref_energy = -3.0 * torch.tensor(sizes, dtype=torch.float64) + torch.randn(len(sizes), generator=gen, dtype=torch.float64)
    energy = ref_energy + 0.5 * torch.randn(len(sizes), generator=gen, dtype=torch.float64)
    ref_forces = torch.randn(n, 3, generator=gen, dtype=torch.float64)
    forces = ref_forces + 0.3 * torch.randn(n, 3, generator=gen, dtype=torch.float64)
    return energy, forces, ref_energy, ref_forces, torch.tensor(sizes)


@exercise("test errors of a potential", hints=[
    "Energy: the mean over structures of |E - E_ref| / N (each structure divided by its own number of atoms).",
    "Forces: the mean of |F - F_ref| and the square root of the mean of (F - F_ref)² over every component (N × 3 numbers).",
    "return {'energy_mae_per_atom': float(((energy - ref_energy) / atoms_per_structure).abs().mean()), "
    "'force_mae': float((forces - ref_forces).abs().mean()), 'force_rmse': float((forces - ref_forces).pow(2).mean().sqrt())}",
])
def q4(test_errors):
    """Check ``test_errors(energy, forces, ref_energy, ref_forces, atoms_per_structure) -> dict`` on equal and unequal sizes."""
    keys = ("energy_mae_per_atom", "force_mae", "force_rmse")
    for sizes, seed, what in (([8, 8, 8], 1, "three structures of 8 atoms"),
                              ([2, 5, 13, 4], 2, "four structures of 2, 5, 13 and 4 atoms")):
        case = _q4_case(sizes, seed)
        want = NB.prediction_errors(*case)
        out = call(test_errors, *[x.clone() for x in case])
        if not isinstance(out, dict):
            fail(f"your function returned {describe(out)}; expected a dict with keys {list(keys)}", "return {...}")
        missing = [k for k in keys if k not in out]
        if missing:
            fail(f"the dict has no {missing}: expected the keys {list(keys)}", "spell the keys as in the exercise")
        for key in keys:
            value = as_number(out[key], key)
            if abs(value - want[key]) > 1e-5 * abs(want[key]) + 1e-12:
                a, b = show(value, want[key])
                hints = {"energy_mae_per_atom": "divide each structure's error by its own number of atoms, then average",
                         "force_mae": "average |ΔF| over every component (not over the norms of the force vectors)",
                         "force_rmse": "the root of the mean of ΔF² over every component (N × 3 numbers)"}
                fail(f"on {what}, {key} is {a}; expected {b}", hints[key])
    return "energy MAE per atom, force MAE and force RMSE right on equal and on unequal structure sizes"
