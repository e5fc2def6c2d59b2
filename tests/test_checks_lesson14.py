"""Unit tests of the lesson 14 checkers: right answers pass (also as float32 or NumPy), typical mistakes fail
with a useful message, stubs are "not attempted", crashes and a missing `return` are ❌ without raising."""
import numpy as np
import pytest
import torch
from ase.calculators.calculator import Calculator, all_changes

from checker_stubs import (assert_learner_error, assert_missing_return, assert_not_attempted, returning_float32,
                           returning_numpy, status, stub_raise)
from e3teach.checks import lesson14 as check


# --- right answers (as in the solution notebook) ------------------------------------------------------------
def cutoff_right(r, r_max):
    return 0.5 * (torch.cos(torch.pi * r / r_max) + 1) * (r < r_max)


def polynomial_cutoff(r, r_max, p=6):                       # lesson 07's envelope: also right
    x = r / r_max
    u = 1 - (p + 1) * (p + 2) / 2 * x**p + p * (p + 2) * x ** (p + 1) - p * (p + 1) / 2 * x ** (p + 2)
    return u * (x < 1)


def forces_right(energy_fn, pos):
    pos = pos.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(energy_fn(pos), pos)
    return -grad


def fd_right(energy_fn, pos, h):
    forces = torch.zeros_like(pos)
    for i in range(len(pos)):
        for a in range(3):
            plus, minus = pos.clone(), pos.clone()
            plus[i, a] += h
            minus[i, a] -= h
            forces[i, a] = -(float(energy_fn(plus)) - float(energy_fn(minus))) / (2 * h)
    return forces


def shift_right(counts, energies):
    return torch.linalg.lstsq(counts, energies[:, None]).solution[:, 0]


class CalculatorRight(Calculator):
    implemented_properties = ["energy", "forces"]

    def __init__(self, energy_fn, **kwargs):
        super().__init__(**kwargs)
        self.energy_fn = energy_fn

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        pos = torch.tensor(self.atoms.positions, dtype=torch.float64, requires_grad=True)
        energy = self.energy_fn(pos)
        (grad,) = torch.autograd.grad(energy, pos)
        self.results = {"energy": float(energy.detach()), "forces": -grad.numpy()}


FUNCTIONS = {check.q1: cutoff_right, check.q2: forces_right, check.q3: fd_right, check.q4: shift_right}


@pytest.mark.parametrize("ex", list(FUNCTIONS), ids=lambda e: e.name)
def test_right_answers_pass_also_as_float32_and_numpy(ex):
    for answer in (FUNCTIONS[ex], returning_float32(FUNCTIONS[ex]), returning_numpy(FUNCTIONS[ex])):
        st, msg = status(ex, answer)
        assert st == "pass", (answer, msg)


def test_other_right_answers_pass():
    assert status(check.q1, polynomial_cutoff)[0] == "pass"
    assert status(check.q5, CalculatorRight)[0] == "pass"


@pytest.mark.parametrize("ex", list(FUNCTIONS), ids=lambda e: e.name)
def test_stubs_crashes_and_missing_return(ex):
    assert_not_attempted(ex, stub_raise)
    assert_not_attempted(ex, ...)
    assert_learner_error(ex)
    assert_missing_return(ex)


# --- q1 -------------------------------------------------------------------------------------------------
def test_q1_wrong_answers():
    st, msg = status(check.q1, lambda r, r_max: (1 - r / r_max) * (r < r_max))      # value 0 but a kink
    assert st == "fail" and "slope" in msg
    st, msg = status(check.q1, lambda r, r_max: 0.5 * (torch.cos(torch.pi * r / r_max) + 1))   # rises again
    assert st == "fail" and "beyond r_max" in msg
    st, msg = status(check.q1, lambda r, r_max: (r < r_max).double())               # a hard cutoff
    assert st == "fail" and "jumps" in msg
    st, msg = status(check.q1, lambda r, r_max: cutoff_right(r, 3.6))                # right for one r_max only
    assert st == "fail" and "1.5" in msg
    st, msg = status(check.q1, lambda r, r_max: cutoff_right(r, r_max)[:10])
    assert st == "fail" and "shape" in msg


# --- q2 -------------------------------------------------------------------------------------------------
def test_q2_wrong_answers():
    st, msg = status(check.q2, lambda fn, pos: -forces_right(fn, pos))
    assert st == "fail" and "wrong sign" in msg
    st, msg = status(check.q2, lambda fn, pos: torch.zeros_like(pos))
    assert st == "fail" and "off by" in msg
    # right on the easy case only: a Lennard-Jones-specific formula fails on the springs
    st, msg = status(check.q2, lambda fn, pos: check.lennard_jones_forces(pos))
    assert st == "fail" and "springs" in msg


# --- q3 -------------------------------------------------------------------------------------------------
def forward_differences(energy_fn, pos, h):
    forces = torch.zeros_like(pos)
    for i in range(len(pos)):
        for a in range(3):
            plus = pos.clone()
            plus[i, a] += h
            forces[i, a] = -(float(energy_fn(plus)) - float(energy_fn(pos))) / h
    return forces


def in_place(energy_fn, pos, h):
    forces = torch.zeros_like(pos)
    for i in range(len(pos)):
        for a in range(3):
            pos[i, a] += h
            e_plus = float(energy_fn(pos))
            pos[i, a] -= 2 * h
            e_minus = float(energy_fn(pos))
            forces[i, a] = -(e_plus - e_minus) / (2 * h)
    return forces                                     # forgets to put the last coordinate back


def test_q3_wrong_answers():
    st, msg = status(check.q3, forward_differences)
    assert st == "fail" and "central" in msg.lower() or "one-sided" in msg
    st, msg = status(check.q3, lambda fn, pos, h: -fd_right(fn, pos, h))
    assert st == "fail" and "wrong sign" in msg
    st, msg = status(check.q3, in_place)
    assert st == "fail" and "changed the positions" in msg
    st, msg = status(check.q3, lambda fn, pos, h: fd_right(check.lennard_jones_energy, pos, 1e-3))   # hard-coded
    assert st == "fail" and "hard-code" in msg


# --- q4 -------------------------------------------------------------------------------------------------
def test_q4_wrong_answers():
    mean_per_atom = lambda counts, energies: (energies.sum() / counts.sum()).repeat(counts.shape[1])
    st, msg = status(check.q4, mean_per_atom)                    # right only when one species
    assert st == "fail" and "same for every species" in msg
    st, msg = status(check.q4, lambda counts, energies: torch.linalg.lstsq(counts, energies[:, None]).solution)
    assert st == "fail" and "shape" in msg
    ridge = lambda c, e: torch.linalg.solve(c.T @ c + 50 * torch.eye(c.shape[1], dtype=c.dtype), c.T @ e)
    st, msg = status(check.q4, ridge)
    assert st == "fail" and "least" in msg


# --- q5 -------------------------------------------------------------------------------------------------
class NoSuper(CalculatorRight):
    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        pos = torch.tensor(atoms.positions, dtype=torch.float64, requires_grad=True)
        energy = self.energy_fn(pos)
        (grad,) = torch.autograd.grad(energy, pos)
        self.results = {"energy": float(energy.detach()), "forces": -grad.numpy()}


class WrongSign(CalculatorRight):
    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        self.results["forces"] = -self.results["forces"]


class EnergyOnly(CalculatorRight):
    implemented_properties = ["energy"]


class StubCalculator(CalculatorRight):
    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        raise NotImplementedError


class Crashing(CalculatorRight):
    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        raise KeyError("oops")


class Stale(CalculatorRight):
    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        Calculator.calculate(self, atoms, properties, system_changes)
        if not hasattr(self, "first_positions"):
            self.first_positions = self.atoms.positions.copy()          # kept forever: stale after a move
        pos = torch.tensor(self.first_positions, dtype=torch.float64, requires_grad=True)
        energy = self.energy_fn(pos)
        (grad,) = torch.autograd.grad(energy, pos)
        self.results = {"energy": float(energy.detach()), "forces": -grad.numpy()}


def test_q5_answers():
    assert status(check.q5, ...)[0] == "not attempted"
    assert status(check.q5, StubCalculator)[0] == "not attempted"
    st, msg = status(check.q5, Crashing)
    assert st == "fail" and "your code raised KeyError" in msg
    st, msg = status(check.q5, WrongSign)
    assert st == "fail" and "get_forces" in msg
    st, msg = status(check.q5, EnergyOnly)
    assert st == "fail" and "implemented_properties" in msg
    st, msg = status(check.q5, lambda energy_fn: None)
    assert st == "fail" and "class" in msg
    st, msg = status(check.q5, Stale)
    assert st == "fail" and "stale" in msg
    assert status(check.q5, NoSuper)[0] == "pass"      # works in ase too: atoms is passed explicitly


def test_test_systems_are_consistent():
    pos = check._cluster(145)
    assert torch.allclose(forces_right(check.lennard_jones_energy, pos), check.lennard_jones_forces(pos), atol=1e-10)
    pos = check._cluster(142) * 0.6
    assert torch.allclose(forces_right(check._springs_energy, pos), check._springs_forces(pos), atol=1e-12)
    assert np.isfinite(check.lennard_jones_forces(check._cluster(143)).numpy()).all()


# --- issue 19 -------------------------------------------------------------------------------------------
def bump_cutoff(r, r_max):
    """exp(1 - 1/(1 - x²)) · (x < 1): smooth, but exp overflows just past r_max and inf · 0 is NaN."""
    x = r / r_max
    return torch.exp(1 - 1 / (1 - x**2)) * (x < 1)


def test_q1_nan_just_past_r_max_is_found():
    st, msg = status(check.q1, bump_cutoff)
    assert st == "fail" and "NaN" in msg and "just past r_max" in msg and "torch.where" in msg, msg
    safe = lambda r, r_max: torch.where(r < r_max, bump_cutoff(r.clamp(max=0.999 * r_max), r_max), 0.0)  # noqa: E731
    assert status(check.q1, safe)[0] == "pass"
    assert status(check.q1, polynomial_cutoff)[0] == "pass"


def test_q1_float32_answer_is_judged_at_float32_tolerance():
    """The dtype is read before the conversion to float64 (the float32 branch used to be unreachable)."""
    leaky = lambda r, r_max: (cutoff_right(r, r_max) + 3e-6 * (r >= r_max)).float()   # noqa: E731
    assert status(check.q1, leaky)[0] == "pass"
    st, msg = status(check.q1, lambda r, r_max: cutoff_right(r, r_max) + 3e-6 * (r >= r_max))
    assert st == "fail" and "not zero beyond r_max" in msg


def fd_forces(energy_fn, pos, h=1e-4):
    return fd_right(energy_fn, pos, h)


def test_q2_finite_differences_and_float32_positions_are_named():
    st, msg = status(check.q2, fd_forces)
    assert st == "fail" and "finite differences" in msg and "autograd" in msg and "float32" not in msg, msg
    st, msg = status(check.q2, lambda fn, pos: forces_right(fn, pos.float()).double())
    assert st == "fail" and "float32 positions" in msg, msg


def test_q3_float32_positions_and_hard_coded_h_are_named():
    st, msg = status(check.q3, lambda fn, pos, h: fd_right(fn, pos.float(), h).double())
    assert st == "fail" and "float32 positions" in msg and "central" not in msg, msg
    st, msg = status(check.q3, lambda fn, pos, h: fd_right(fn, pos, 3e-2))
    assert st == "fail" and "not by the h = 1e-3" in msg, msg


class TensorEnergy(CalculatorRight):
    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        pos = torch.tensor(self.atoms.positions, dtype=torch.float64, requires_grad=True)
        energy = self.energy_fn(pos)
        (grad,) = torch.autograd.grad(energy, pos, retain_graph=True)
        self.results = {"energy": energy, "forces": -grad.numpy()}                 # a tensor that requires grad


class TensorForces(CalculatorRight):
    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        self.results["forces"] = torch.from_numpy(self.results["forces"])


class Float32Positions(CalculatorRight):
    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        Calculator.calculate(self, atoms, properties, system_changes)
        pos = torch.tensor(self.atoms.positions, dtype=torch.float32, requires_grad=True)
        energy = self.energy_fn(pos)
        (grad,) = torch.autograd.grad(energy, pos)
        self.results = {"energy": float(energy.detach()), "forces": -grad.numpy()}


class NoSelf(CalculatorRight):
    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        Calculator.calculate(self, atoms, properties, system_changes)
        results = {"energy": 0.0, "forces": np.zeros((len(self.atoms), 3))}          # noqa: F841 - no `self.`


class KeyTypo(CalculatorRight):
    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        self.results["energies"] = self.results.pop("energy")


def test_q5_types_ase_expects_digits_and_library_errors():
    st, msg = status(check.q5, TensorEnergy)
    assert st == "fail" and "requires grad" in msg and "float(energy)" in msg, msg
    st, msg = status(check.q5, TensorForces)
    assert st == "fail" and "NumPy array" in msg, msg
    st, msg = status(check.q5, Float32Positions)
    assert st == "fail" and "float32" in msg, msg
    got, want = msg.split("get_potential_energy() is ")[1].split(", expected ")
    assert got != want.split(" ")[0], msg                                          # enough digits to differ
    for broken in (NoSelf, KeyTypo):
        st, msg = status(check.q5, broken)
        assert st == "fail" and "PropertyNotImplementedError" in msg and "self.results" in msg, msg
