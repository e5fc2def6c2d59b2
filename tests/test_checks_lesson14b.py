"""Unit tests of the lesson 14b checkers: right answers pass (also as float32 or NumPy), typical mistakes
fail with a useful message, stubs are "not attempted", crashes and a missing `return` are ❌ without
raising."""
import pytest
import torch

from checker_stubs import (assert_fails, assert_learner_error, assert_missing_return, assert_not_attempted,
                           returning_float32, returning_numpy, status, stub_raise)
from e3teach.checks import lesson14b as check


def stress_right(energy_fn, pos, cell):
    eps = torch.zeros(3, 3, dtype=pos.dtype, requires_grad=True)
    deform = torch.eye(3, dtype=pos.dtype) + eps
    (grad,) = torch.autograd.grad(energy_fn(pos @ deform.T, cell @ deform.T), eps)
    return grad / torch.linalg.det(cell).abs()


def e0_right(counts, energies, isolated):
    return isolated + torch.linalg.pinv(counts) @ (energies - counts @ isolated)


def masked_right(pred, target, mask):
    if not mask.any():
        return pred.sum() * 0.0
    return (pred[mask] - target[mask]).pow(2).mean()


def metrics_right(e_pred, e_true, n_atoms, f_pred, f_true):
    de, df = e_pred - e_true, f_pred - f_true
    return {"energy_mae": de.abs().mean(), "energy_mae_per_atom": (de / n_atoms).abs().mean(),
            "force_mae": df.abs().mean(), "force_rmse": df.pow(2).mean().sqrt(),
            "force_vector_mae": df.norm(dim=1).mean()}


FUNCTIONS = {check.q1: stress_right, check.q2: e0_right, check.q4: metrics_right}


@pytest.mark.parametrize("ex", [check.q1, check.q2, check.q3, check.q4], ids=lambda e: e.name)
def test_stubs_crashes_and_missing_return(ex):
    assert_not_attempted(ex, stub_raise)
    assert_not_attempted(ex, ...)
    assert_learner_error(ex)
    assert_missing_return(ex)


@pytest.mark.parametrize("ex", list(FUNCTIONS), ids=lambda e: e.name)
def test_right_answers_pass_also_as_float32_and_numpy(ex):
    for answer in (FUNCTIONS[ex], returning_float32(FUNCTIONS[ex]), returning_numpy(FUNCTIONS[ex])):
        st, msg = status(ex, answer)
        assert st == "pass", (answer, msg)


def test_the_package_helper_passes_q1():
    from e3teach.targets import stress_from_energy
    assert status(check.q1, stress_from_energy)[0] == "pass"


def test_q1_sign_volume_virial_units_and_unstrained_cell_are_named():
    from ase import units
    assert_fails(check.q1, lambda f, p, c: -stress_right(f, p, c), words=("wrong sign", "tensile"))
    assert_fails(check.q1, lambda f, p, c: stress_right(f, p, c) * torch.linalg.det(c).abs(),
                 words=("did not divide by the volume",))
    assert_fails(check.q1, lambda f, p, c: -stress_right(f, p, c) * torch.linalg.det(c).abs(), words=("virial",))
    assert_fails(check.q1, lambda f, p, c: stress_right(f, p, c) / units.GPa, words=("GPa",))

    def positions_only(energy_fn, pos, cell):
        eps = torch.zeros(3, 3, dtype=pos.dtype, requires_grad=True)
        (grad,) = torch.autograd.grad(energy_fn(pos @ (torch.eye(3, dtype=pos.dtype) + eps).T, cell), eps)
        return grad / torch.linalg.det(cell).abs()

    assert_fails(check.q1, positions_only, words=("not the cell",))


def test_q1_voigt_answer_float32_positions_and_library_errors():
    from e3teach.targets import voigt
    assert_fails(check.q1, lambda f, p, c: torch.tensor(voigt(stress_right(f, p, c).numpy())), words=("Voigt", "3×3"))
    res = assert_fails(check.q1, lambda f, p, c: stress_right(f, p.float(), c.float()))
    assert "float32" in res.message, res.message
    # torch raises inside the checker's energy when the learner mixes dtypes: the learner's error, not a checker bug
    res = assert_fails(check.q1, lambda f, p, c: stress_right(f, p.float(), c), words=("your code raised",))
    assert "checker" not in res.message


def test_q2_plain_least_squares_is_right_only_on_varied_compositions():
    lstsq = lambda c, e, i: torch.linalg.lstsq(c, e[:, None]).solution[:, 0]        # noqa: E731
    assert_fails(check.q2, lstsq, words=("one composition", "isolated-atom", "pinv"))
    assert_fails(check.q2, lambda c, e, i: i.clone(), words=("ignore the data",))
    assert_fails(check.q2, lambda c, e, i: e0_right(c, e, i) + 1.0)
    assert_fails(check.q2, lambda c, e, i: e0_right(c, e, i)[:2])


def test_q3_mean_over_all_atoms_nan_targets_and_empty_batches():
    assert_fails(check.q3, lambda p, t, m: ((p - t) ** 2 * m).mean(), words=("all 10 atoms",))
    assert_fails(check.q3, lambda p, t, m: ((p - t) ** 2 * m).sum() / m.sum(), words=("NaN · 0 = NaN",))
    assert_fails(check.q3, lambda p, t, m: torch.where(m, (p - t) ** 2, 0.0).sum() / m.sum(),
                 words=("gradient is NaN",))
    assert_fails(check.q3, lambda p, t, m: (p[m] - t[m]).pow(2).mean(), words=("no known atom", "NaN"))
    assert_fails(check.q3, lambda p, t, m: (p - t).pow(2).mean(), words=("mask plays no part",))
    # a NumPy (or float) loss cannot train anything: named as such
    assert_fails(check.q3, lambda p, t, m: masked_right(p, t, m).detach().numpy(), words=("no gradient",))
    assert_fails(check.q3, lambda p, t, m: float(masked_right(p, t, m).detach()), words=("no gradient",))
    assert status(check.q3, lambda p, t, m: masked_right(p, t, m).float())[0] == "pass"


def test_q4_per_atom_per_vector_and_rmse_mixups_are_named():
    def changed(key, fn):
        def answer(ep, et, n, fp, ft):
            out = metrics_right(ep, et, n, fp, ft)
            out[key] = fn(ep - et, n, fp - ft)
            return out
        return answer

    assert_fails(check.q4, changed("energy_mae_per_atom", lambda de, n, df: de.abs().mean() / n.mean()),
                 words=("same only when every structure has the same number of atoms",))
    assert_fails(check.q4, changed("force_rmse", lambda de, n, df: df.norm(dim=1).pow(2).mean().sqrt()),
                 words=("√3",))
    assert_fails(check.q4, changed("force_mae", lambda de, n, df: df.norm(dim=1).mean()), words=("per vector",))
    assert_fails(check.q4, changed("force_rmse", lambda de, n, df: df.pow(2).mean()), words=("no square root",))
    assert_fails(check.q4, changed("energy_mae", lambda de, n, df: de.mean()), words=("signed",))
    assert_fails(check.q4, lambda *a: {k: v for k, v in metrics_right(*a).items() if k != "force_rmse"},
                 words=("lacks force_rmse",))
    assert_fails(check.q4, lambda *a: list(metrics_right(*a).values()), words=("expected a dict",))
    assert status(check.q4, lambda *a: {k: float(v) for k, v in metrics_right(*a).items()})[0] == "pass"


def test_checker_bugs_are_not_blamed_on_the_learner(monkeypatch):
    from checker_stubs import assert_checker_error
    assert_checker_error(monkeypatch, check.q1, check, "periodic_morse_stress", stress_right)
    assert_checker_error(monkeypatch, check.q4, check, "_metrics_right", metrics_right)
