"""Unit tests of the lesson 12 checkers: right answers pass, typical mistakes fail clearly, stubs are ⏳."""
import math

import numpy as np
import torch
from ase import Atoms

from e3teach import crystals
from e3teach.checks import lesson12 as check


def _stub(*args, **kwargs):
    raise NotImplementedError


def _boom(*args, **kwargs):
    raise ZeroDivisionError("oops")


# ---- q1
def good_neighbours(pos, cell, r_max):
    return crystals.periodic_radius_graph(pos, cell, r_max)


def no_self_images(pos, cell, r_max):
    s, d, n = crystals.periodic_radius_graph(pos, cell, r_max)
    keep = s != d
    return s[keep], d[keep], n[keep]


def too_few_shifts(pos, cell, r_max):          # only the 27 neighbouring cells
    shifts = torch.tensor([[a, b, c] for a in (-1, 0, 1) for b in (-1, 0, 1) for c in (-1, 0, 1)])
    vec = pos[None, :, None] - pos[:, None, None] + (shifts.to(pos.dtype) @ cell)[None, None]
    keep = vec.norm(dim=-1) < r_max
    keep &= ~(torch.eye(len(pos), dtype=torch.bool)[:, :, None] & (shifts == 0).all(1)[None, None])
    s, d, k = keep.nonzero(as_tuple=True)
    return s, d, shifts[k]


def with_self_loops(pos, cell, r_max):
    s, d, n = crystals.periodic_radius_graph(pos, cell, r_max)
    idx = torch.arange(len(pos))
    return torch.cat([s, idx]), torch.cat([d, idx]), torch.cat([n, torch.zeros(len(pos), 3, dtype=n.dtype)])


def test_q1():
    assert check.q1.run(good_neighbours).passed
    res = check.q1.run(no_self_images)
    assert res.status == "fail" and "own periodic images" in res.message
    res = check.q1.run(too_few_shifts)
    assert res.status == "fail" and "missing" in res.message
    res = check.q1.run(with_self_loops)
    assert res.status == "fail" and "zero shift" in res.message
    for stub in (..., _stub):
        assert check.q1.run(stub).status == "not attempted"
    res = check.q1.run(_boom)
    assert res.status == "fail" and "ZeroDivisionError" in res.message
    res = check.q1.run(lambda p, c, r: good_neighbours(p, c, r)[:2])
    assert res.status == "fail" and "three tensors" in res.message
    res = check.q1.run(lambda p, c, r: (*good_neighbours(p, c, r)[:2], torch.zeros(3)))
    assert res.status == "fail" and "shape" in res.message


# ---- q2
def good_cartesian(R_frac, t_frac, cell):
    return cell.T @ R_frac.to(cell.dtype) @ torch.linalg.inv(cell).T, t_frac @ cell


def test_q2():
    assert check.q2.run(good_cartesian).passed
    res = check.q2.run(lambda R, t, c: (c @ R.to(c.dtype) @ torch.linalg.inv(c), t @ c))      # wrong transpose
    assert res.status == "fail" and "not orthogonal" in res.message
    res = check.q2.run(lambda R, t, c: (good_cartesian(R, t, c)[0], t))                      # t left fractional
    assert res.status == "fail" and "onto itself" in res.message
    res = check.q2.run(lambda R, t, c: (R.to(c.dtype), t @ c))                                # R_frac used as is
    assert res.status == "fail"
    for stub in (..., _stub):
        assert check.q2.run(stub).status == "not attempted"
    assert "ZeroDivisionError" in check.q2.run(_boom).message
    res = check.q2.run(lambda R, t, c: (torch.full((3, 3), math.nan, dtype=c.dtype), t @ c))
    assert res.status == "fail" and "NaN" in res.message
    res = check.q2.run(lambda R, t, c: (torch.eye(4), t @ c))
    assert res.status == "fail" and "shape" in res.message


# ---- q3
RIGHT = {"Na in NaCl": 0, "O in SrTiO3": 1, "Zn in ZnO": 1, "C in diamond": 0}


def test_q3():
    assert check.q3.run(RIGHT).passed
    assert check.q3.run({k: torch.tensor(v) for k, v in RIGHT.items()}).passed
    res = check.q3.run({**RIGHT, "O in SrTiO3": 0, "C in diamond": 1})
    assert res.status == "fail" and "O in SrTiO3" in res.message and "C in diamond" in res.message
    res = check.q3.run({"Na in NaCl": 0})
    assert res.status == "fail" and "missing" in res.message
    res = check.q3.run({**RIGHT, "Zn in ZnO": 1.5})
    assert res.status == "fail" and "whole number" in res.message
    assert check.q3.run([0, 1, 1, 0]).status == "fail"
    assert check.q3.run(...).status == "not attempted"
    assert check.q3.run({**RIGHT, "Zn in ZnO": ...}).status == "not attempted"


# ---- q4
def cscl(species="CsCl"):
    return Atoms(species, scaled_positions=[[0, 0, 0], [0.5, 0.5, 0.5]], cell=[4.12] * 3, pbc=True)


def test_q4():
    assert check.q4.run(cscl(), 221).passed
    assert check.q4.run(cscl(), np.int64(221)).passed
    res = check.q4.run(cscl(), 229)
    assert res.status == "fail" and "229" in res.message
    res = check.q4.run(cscl("Cs2"), 229)
    assert res.status == "fail" and "Cs and Cl" in res.message
    res = check.q4.run(Atoms("CsCl", positions=[[0, 0, 0], [2.06, 2.06, 2.06]]), 221)        # no cell
    assert res.status == "fail" and "periodic" in res.message
    res = check.q4.run(Atoms("CsCl", scaled_positions=[[0, 0, 0], [0.5, 0.5, 0.0]], cell=[4.12] * 3, pbc=True), 123)
    assert res.status == "fail" and "spglib finds" in res.message
    res = check.q4.run(cscl(), (221, "Pm-3m"))
    assert res.status == "fail" and "an int" in res.message
    assert check.q4.run("CsCl", 221).status == "fail"
    assert check.q4.run(..., ...).status == "not attempted"
    assert check.q4.run(cscl(), ...).status == "not attempted"


# ---- issue 8 classes
import pytest  # noqa: E402

from checker_stubs import (assert_checker_error, assert_float32_named, assert_learner_error,  # noqa: E402
                           assert_missing_return, assert_passes, returning_float32, returning_numpy)


def shifts_from_lengths(pos, cell, r_max):
    """Look-alike: the shift range from the cell LENGTHS (+1), right on mildly skewed cells only."""
    N = [math.ceil(r_max / float(v.norm())) + 1 for v in cell]
    shifts = torch.tensor([[a, b, c] for a in range(-N[0], N[0] + 1) for b in range(-N[1], N[1] + 1)
                           for c in range(-N[2], N[2] + 1)], dtype=torch.long)
    vec = pos[None, :, None] - pos[:, None, None] + (shifts.to(pos.dtype) @ cell)[None, None]
    keep = vec.norm(dim=-1) < r_max
    keep &= ~(torch.eye(len(pos), dtype=torch.bool)[:, :, None] & (shifts == 0).all(1)[None, None])
    s, d, k = keep.nonzero(as_tuple=True)
    return s, d, shifts[k]


def test_q1_shift_range_from_lengths_fails_on_a_strongly_skewed_cell():
    res = check.q1.run(shifts_from_lengths)
    assert res.status == "fail" and "strongly skewed" in res.message and "HEIGHTS" in res.message


@pytest.mark.parametrize("q, right", [(check.q1, good_neighbours), (check.q2, good_cartesian)])
def test_numpy_missing_return_and_learner_errors(q, right):
    assert_passes(q, returning_numpy(right))
    assert_missing_return(q)
    assert_learner_error(q)


def test_float32_answers():
    assert_passes(check.q1, returning_float32(good_neighbours))      # integer indices and shifts are unchanged
    assert_passes(check.q2, returning_float32(good_cartesian))        # orthogonal and maps atoms to float32 accuracy
    res = check.q2.run(lambda R, t, c: (good_cartesian(R, t, c)[0] * (1 + 3e-5), t @ c))
    assert res.status == "fail" and "float32 precision" in res.message and "conjugated" not in res.message


def test_numpy_integers():
    assert_passes(check.q3, {k: np.int64(v) for k, v in RIGHT.items()})
    assert_passes(check.q3, {k: float(v) for k, v in RIGHT.items()})
    assert_passes(check.q4, cscl(), np.int32(221))
    assert check.q4.run(cscl(), None).status == "fail"


@pytest.mark.parametrize("q, module, helper, answers, planted", [
    (check.q1, check, "_q1_cases", (good_neighbours,), True), (check.q2, check, "_q2_structures", (good_cartesian,), True),
    (check.q3, check, "Q3_SITES", (RIGHT,), False), (check.q4, crystals, "space_group", (cscl(), 221), True)])
def test_exception_in_the_checker_is_reported_as_such(monkeypatch, q, module, helper, answers, planted):
    assert_checker_error(monkeypatch, q, module, helper, *answers, planted=planted)


# ---- issue 19
def inclusive_neighbours(pos, cell, r_max):
    """`d <= r_max` where the task says `<`: right on every cell but the one with images exactly at r_max."""
    n = 3
    shifts = torch.tensor([[a, b, c] for a in range(-n, n + 1) for b in range(-n, n + 1) for c in range(-n, n + 1)])
    vec = pos[None, :, None] - pos[:, None, None] + (shifts.to(pos.dtype) @ cell)[None, None]
    keep = vec.norm(dim=-1) <= r_max
    keep &= ~(torch.eye(len(pos), dtype=torch.bool)[:, :, None] & (shifts == 0).all(1)[None, None])
    s, d, k = keep.nonzero(as_tuple=True)
    return s, d, shifts[k]


def test_q1_pairs_exactly_at_r_max_are_left_out():
    res = check.q1.run(inclusive_neighbours)
    assert res.status == "fail" and "exactly r_max" in res.message and "not <=" in res.message, res


def test_q4_missing_second_argument_is_the_learners_call():
    res = check.q4.run(cscl())
    assert res.status == "fail" and "leaves out `number`" in res.message, res
