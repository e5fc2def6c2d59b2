"""Unit tests of the lesson 18 checkers: right answers pass (also as float32 or NumPy, with NumPy integers in a
config), typical mistakes fail with a useful message, stubs are "not attempted", crashes and a missing `return` are
❌ without raising, and answers right only on the easy case fail."""
import numpy as np
import pytest
import torch

pytest.importorskip("nequip")

from checker_stubs import (assert_fails, assert_learner_error, assert_missing_return, assert_not_attempted,
                           assert_passes, returning_float32, returning_numpy, stub_raise)
from e3teach import env
from e3teach.checks import lesson18 as check

CONFIG = dict(r_max=4.0, num_layers=3, l_max=1, parity=True, num_features=16, num_bessels=6, polynomial_cutoff_p=6,
              avg_num_neighbors=12.0, per_type_energy_shifts={"Ag": -2.9, "Au": -3.8}, per_type_energy_scales=0.5)


# --- right answers (as in the solution notebook) ------------------------------------------------------------
def energy_and_forces(model, atoms, r_max):
    from nequip.data import from_ase
    from nequip.data.transforms import ChemicalSpeciesToAtomTypeMapper, NeighborListTransform
    names = list(model.type_names)
    mapper = ChemicalSpeciesToAtomTypeMapper(model_type_names=names, chemical_species_to_atom_type_map={n: n for n in names})
    with env.default_dtype(torch.float64):
        data = NeighborListTransform(r_max=r_max)(mapper(from_ase(atoms)))
    out = model(data)
    return float(out["total_energy"].detach()), out["forces"].detach()


def equivariance_errors(energy_forces, pos, R, t):
    e0, f0 = energy_forces(pos)
    e1, f1 = energy_forces(pos @ R.T + t)
    return float((e1 - e0).abs().max()), float((f1 - f0 @ R.T).abs().max())


def test_errors(energy, forces, ref_energy, ref_forces, atoms_per_structure):
    return {"energy_mae_per_atom": float(((energy - ref_energy) / atoms_per_structure).abs().mean()),
            "force_mae": float((forces - ref_forces).abs().mean()),
            "force_rmse": float((forces - ref_forces).pow(2).mean().sqrt())}


test_errors.__test__ = False            # a learner's function, not a pytest test


def tensors_out(fn):
    """The same answer returning 0-d tensors instead of floats (so float32/NumPy wrappers act on them)."""
    def wrapped(*args):
        out = fn(*args)
        if isinstance(out, dict):
            return {k: torch.tensor(v, dtype=torch.float64) for k, v in out.items()}
        return tuple(torch.as_tensor(v, dtype=torch.float64) for v in out)
    return wrapped


FUNCTIONS = {check.q2: energy_and_forces, check.q3: equivariance_errors, check.q4: test_errors}


# --- q1: a config dict -----------------------------------------------------------------------------------------
def test_q1_right_config_passes_also_with_numpy_and_tensor_values():
    assert_passes(check.q1, CONFIG)
    numpy_config = {**CONFIG, "num_layers": np.int64(3), "num_features": np.int64(16), "r_max": np.float64(4.0),
                    "per_type_energy_shifts": {"Ag": np.float32(-2.9), "Au": np.float64(-3.8)}}
    assert_passes(check.q1, numpy_config)
    assert_passes(check.q1, {**CONFIG, "avg_num_neighbors": torch.tensor(12.0), "per_type_energy_scales": {"Ag": 0.5, "Au": 0.5}})


@pytest.mark.parametrize("change, words", [
    ({"parity": False}, ("1e", "parity")),
    ({"l_max": 2}, ("l_max = 2",)),
    ({"num_features": 8}, ("8x0e", "num_features")),
    ({"num_layers": 2}, ("2 interaction blocks",)),
    ({"r_max": 3.6}, ("r_max = 3.6",)),
    ({"num_bessels": 8}, ("8 Bessel",)),
    ({"polynomial_cutoff_p": 3}, ("p = 3",)),
    ({"avg_num_neighbors": 8.0}, ("1/√8",)),
    ({"per_type_energy_shifts": {"Ag": -3.8, "Au": -2.9}}, ("per_type_energy_shifts",)),
    ({"per_type_energy_shifts": [-2.9, -3.8]}, ("Lists are no longer supported",)),
    ({"num_bessel": 6}, ("did you mean `num_bessels`",)),
])
def test_q1_mistakes_say_what_is_wrong(change, words):
    assert_fails(check.q1, {**CONFIG, **change}, words=words)


def test_q1_missing_entries_and_wrong_types():
    assert_fails(check.q1, {k: v for k, v in CONFIG.items() if k != "avg_num_neighbors"}, words="avg_num_neighbors")
    assert_fails(check.q1, {k: v for k, v in CONFIG.items() if k != "per_type_energy_shifts"}, words="not set")
    assert_fails(check.q1, list(CONFIG.items()), words="should be a dict")
    assert_not_attempted(check.q1, ...)
    assert check.q1.run(None).status == "fail"


# --- q2–q4: functions ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("ex", list(FUNCTIONS), ids=lambda e: e.name)
def test_right_answers_pass_also_as_float32_and_numpy(ex):
    answer = FUNCTIONS[ex]
    variants = [answer, returning_numpy(tensors_out(answer)) if ex is not check.q2 else returning_numpy(answer)]
    if ex is not check.q3:                          # q3 needs errors of 1e-15 told from 1e-8: float64 by nature
        variants.append(returning_float32(answer) if ex is check.q2 else returning_float32(tensors_out(answer)))
    for variant in variants:
        assert_passes(ex, variant)


@pytest.mark.parametrize("ex", list(FUNCTIONS), ids=lambda e: e.name)
def test_stubs_crashes_and_missing_return(ex):
    assert_not_attempted(ex, stub_raise)
    assert_not_attempted(ex, ...)
    assert_learner_error(ex)
    assert_missing_return(ex)


def test_q2_hard_coded_species_fail_on_the_second_model():
    def fixed_species(model, atoms, r_max):         # right for the Ag–Au model only
        from nequip.data import from_ase
        from nequip.data.transforms import ChemicalSpeciesToAtomTypeMapper, NeighborListTransform
        mapper = ChemicalSpeciesToAtomTypeMapper(model_type_names=["Ag", "Au"])
        with env.default_dtype(torch.float64):
            data = NeighborListTransform(r_max=r_max)(mapper(from_ase(atoms)))
        out = model(data)
        return float(out["total_energy"].detach()), out["forces"].detach()

    def fixed_cutoff(model, atoms, r_max):          # ignores r_max: right when it is 3.6
        return energy_and_forces(model, atoms, 3.6)

    assert_fails(check.q2, fixed_species, words="your code raised")
    assert_fails(check.q2, fixed_cutoff, words=("cluster", "r_max"))
    assert_fails(check.q2, lambda m, a, r: energy_and_forces(m, a, r)[0], words="pair")
    assert_fails(check.q2, lambda m, a, r: (energy_and_forces(m, a, r)[0], -energy_and_forces(m, a, r)[1]),
                 words="forces")


def test_q3_typical_mistakes():
    def no_translation(energy_forces, pos, R, t):   # right whenever t = 0
        return equivariance_errors(energy_forces, pos, R, torch.zeros(3, dtype=pos.dtype))

    def forces_not_rotated(energy_forces, pos, R, t):
        e0, f0 = energy_forces(pos)
        e1, f1 = energy_forces(pos @ R.T + t)
        return float((e1 - e0).abs().max()), float((f1 - f0).abs().max())

    def wrong_side(energy_forces, pos, R, t):
        e0, f0 = energy_forces(pos)
        e1, f1 = energy_forces(pos @ R + t)
        return float((e1 - e0).abs().max()), float((f1 - f0 @ R.T).abs().max())

    assert_fails(check.q3, no_translation, words="p @ R.T + t")
    assert_fails(check.q3, forces_not_rotated, words=("exact", "F(p) Rᵀ"))
    assert_fails(check.q3, wrong_side, words="force error")
    assert_fails(check.q3, lambda ef, p, R, t: equivariance_errors(ef, p, R, t)[0], words="pair")


def test_q4_right_only_on_equal_sizes_and_other_mistakes():
    def one_size(energy, forces, ref_energy, ref_forces, atoms_per_structure):
        out = test_errors(energy, forces, ref_energy, ref_forces, atoms_per_structure)
        out["energy_mae_per_atom"] = float(((energy - ref_energy) / atoms_per_structure[0]).abs().mean())
        return out

    def vector_norms(energy, forces, ref_energy, ref_forces, atoms_per_structure):
        out = test_errors(energy, forces, ref_energy, ref_forces, atoms_per_structure)
        out["force_mae"] = float((forces - ref_forces).norm(dim=1).mean())
        return out

    res = assert_fails(check.q4, one_size, words=("2, 5, 13", "own number of atoms"))
    assert "8 atoms" not in res.message
    assert_fails(check.q4, vector_norms, words="every component")
    assert_fails(check.q4, lambda *a: {"force_mae": 0.0}, words="energy_mae_per_atom")
    assert_fails(check.q4, lambda *a: [1.0, 2.0, 3.0], words="dict")


# --- issue 19 ----------------------------------------------------------------------------------------------------
def test_q1_per_type_avg_num_neighbors_of_equal_values_is_the_same_model():
    assert_passes(check.q1, {**CONFIG, "avg_num_neighbors": {"Ag": 12.0, "Au": 12.0}})
    res = assert_fails(check.q1, {**CONFIG, "avg_num_neighbors": {"Ag": 12.0, "Au": 10.0}}, words="Au: 1/√10")
    assert "1/√12, 1/√12" not in res.message


def test_q1_type_names_in_another_order_are_compared_by_species():
    assert_passes(check.q1, {**CONFIG, "type_names": ["Au", "Ag"]})
    res = assert_fails(check.q1, {**CONFIG, "type_names": ["Au", "Ag"],
                                  "per_type_energy_shifts": {"Ag": -3.8, "Au": -2.9}}, words="'Ag': -3.8")
    assert "in the order" not in res.message


def test_q1_nequips_refusals_name_the_argument_in_whole_sentences():
    res = assert_fails(check.q1, {**CONFIG, "per_type_energy_shifts": [-2.9, -3.8]}, words="`per_type_energy_shifts=")
    assert res.message.count("For example") == 0 and "shift values)" in res.message
    res = assert_fails(check.q1, {**CONFIG, "per_type_energy_shifts": {"Ag": -2.9}}, words="no message")
    assert "`per_type_energy_shifts={'Ag': -2.9}`" in res.message and "AssertionError: AssertionError" not in res.message
