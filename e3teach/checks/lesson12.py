"""Checkers for lesson 12 (crystals and space groups): ``from e3teach.checks import lesson12 as check``.

* ``q1(periodic_neighbours)``: ``periodic_neighbours(pos, cell, r_max) -> (edge_src, edge_dst, shifts)``, compared
  with ``ase.neighborlist.neighbor_list`` on random (skewed, small) cells.
* ``q2(to_cartesian)``: ``to_cartesian(R_frac, t_frac, cell) -> (R, t)``: each converted spglib operation must map
  the structure onto itself (hexagonal and fcc cells, where a wrong transpose shows).
* ``q3(l2_counts)``: a dict ``{site: number of l=2 invariant features}`` for four sites.
* ``q4(cscl, number)``: a CsCl crystal built with ase and its space-group number.
"""
from __future__ import annotations

import numpy as np
import torch

from .core import NotAttempted, as_number, call, exercise, expect_equal, expect_tensor, fail, fail_if_float32_precision

__all__ = ["q1", "q2", "q3", "q4", "Q3_SITES"]

F64 = torch.float64


# ----------------------------------------------------------------------------- q1
def _q1_cases():
    from ase import Atoms
    rng = np.random.default_rng(12)
    yield "one atom in a 2 Å cube (its own images are its neighbours)", Atoms("H", positions=[[0.3, 0.2, 0.1]], cell=np.eye(3) * 2.0, pbc=True), 2.5
    for k in range(3):
        cell = np.eye(3) * 3.0 + rng.normal(scale=0.7, size=(3, 3))
        atoms = Atoms("H4", scaled_positions=rng.uniform(0, 1, size=(4, 3)), cell=cell, pbc=True)
        yield f"random skewed cell #{k + 1} with 4 atoms", atoms, [2.0, 3.0, 4.5][k]
    # images exactly r_max away (3.0 = the cube's edge, exact in floating point): the task says d < r_max
    yield ("one atom in a 3 Å cube with r_max = 3 (its 6 nearest images are exactly r_max away)",
           Atoms("Cu", positions=[[0.0, 0.0, 0.0]], cell=np.eye(3) * 3.0, pbc=True), 3.0)
    from ase.build import bulk
    yield "NaCl primitive cell (fcc, 60° angles)", bulk("NaCl", "rocksalt", a=5.64), 4.1
    # lengths 3, 2.94, 3 but a height of only 0.5 along b: shifts counted from the lengths miss neighbours
    sheared = np.array([[3.0, 0.0, 0.0], [2.9, 0.5, 0.0], [0.0, 0.0, 3.0]])
    yield ("a strongly skewed cell (vectors of length ~3, a height of 0.5)",
           Atoms("H2", scaled_positions=[[0.1, 0.2, 0.3], [0.6, 0.7, 0.5]], cell=sheared, pbc=True), 2.5)


@exercise("a periodic neighbour list with cell shifts", hints=[
    "Loop over (or build) all integer shift vectors n in a box -N..N along each axis; for each pair (i, j) and shift "
    "n the vector is pos[j] - pos[i] + n @ cell.",
    "N must be large enough: a cell of height h along axis k needs |n_k| up to ceil(r_max / h) (+1 is safe). "
    "Heights: h_k = |det(cell)| / |a_{k+1} × a_{k+2}|.",
    "Exclude only i == j with n == 0 (by index!). An atom's own images (i == j, n != 0) are neighbours. "
    "Return shifts as an integer tensor of shape (E, 3).",
])
def q1(periodic_neighbours):
    """Compare the edge multiset (src, dst, shift) with ase's neighbour list on several cells."""
    from ase.neighborlist import neighbor_list
    for label, atoms, r_max in _q1_cases():
        pos = torch.tensor(atoms.get_positions(), dtype=F64)
        cell = torch.tensor(np.asarray(atoms.get_cell()), dtype=F64)
        value = call(periodic_neighbours, pos.clone(), cell.clone(), r_max, name="periodic_neighbours")
        if not isinstance(value, (tuple, list)) or len(value) != 3:
            fail(f"periodic_neighbours should return three tensors (edge_src, edge_dst, shifts), got {type(value).__name__}",
                 "end with `return src, dst, shifts`")
        src, dst, shifts = (expect_tensor(v, f"{name} ({label})") for v, name in zip(value, ("edge_src", "edge_dst", "shifts")))
        if src.dim() != 1 or dst.shape != src.shape:
            fail(f"for {label}: edge_src and edge_dst should be 1-D of the same length, got {tuple(src.shape)} and {tuple(dst.shape)}")
        if tuple(shifts.shape) != (src.numel(), 3):
            fail(f"for {label}: shifts has shape {tuple(shifts.shape)}, expected ({src.numel()}, 3) — one integer vector per edge")
        if shifts.dtype.is_floating_point and not torch.equal(shifts, shifts.round()):
            fail(f"for {label}: shifts are not whole numbers", "shifts count cells: integers, e.g. torch.long")
        i, j, S = neighbor_list("ijS", atoms, r_max)
        expected = sorted(zip(i.tolist(), j.tolist(), map(tuple, S.tolist())))
        got = sorted(zip(src.long().tolist(), dst.long().tolist(), map(tuple, shifts.long().tolist())))
        if got == expected:
            continue
        zero_self = sum(1 for a, b, n in got if a == b and n == (0, 0, 0))
        if zero_self:
            fail(f"for {label}: your list has {zero_self} edge(s) from an atom to itself with zero shift",
                 "exclude i == j only when the shift is (0, 0, 0), by index")
        if len(got) < len(expected):
            missing = sorted(set(expected) - set(got))[:3]
            self_images = all(a == b for a, b, _ in set(expected) - set(got))
            fail(f"for {label}: {len(expected) - len(got)} edge(s) missing, e.g. (src, dst, shift) = {missing}",
                 "an atom's own periodic images are neighbours too (i == j, shift != 0)" if self_images else
                 "try more shifts: the range must cover r_max divided by the cell's HEIGHTS (not its lengths: a skewed "
                 "cell is much thinner than its vectors are long)")
        extra = sorted(set(got) - set(expected))[:3]
        if extra and all(abs(float((pos[b] - pos[a] + torch.tensor(n, dtype=F64) @ cell).norm()) - r_max) < 1e-9
                         for a, b, n in extra):
            fail(f"for {label}: your list keeps pairs exactly r_max = {r_max} apart, e.g. {extra}",
                 "a neighbour is strictly closer than r_max: |d| < r_max, not <=")
        fail(f"for {label}: {len(got)} edges instead of {len(expected)}; unexpected or repeated: {extra or 'duplicates'}",
             "keep an edge when |pos[dst] - pos[src] + shift @ cell| < r_max (strictly), once per (src, dst, shift)")
    return ("same edges and shifts as ase's neighbor_list on 7 cells (skewed ones, one with a height far below its "
            "lengths, self-images included, pairs exactly at r_max left out)")


# ----------------------------------------------------------------------------- q2
def _q2_structures():
    from ase.build import bulk
    yield "wurtzite ZnO (hexagonal cell)", bulk("ZnO", "wurtzite", a=3.25, c=5.2)
    yield "rock salt NaCl (fcc primitive cell)", bulk("NaCl", "rocksalt", a=5.64)
    from ase.spacegroup import crystal
    yield "rutile TiO2 (tetragonal)", crystal(["Ti", "O"], basis=[(0, 0, 0), (0.3, 0.3, 0.0)], spacegroup=136,
                                              cellpar=[4.59, 4.59, 2.96, 90, 90, 90])


@exercise("fractional spglib operations in Cartesian form", hints=[
    "spglib acts on fractional COLUMN vectors: f' = R_f f + t_f. ase positions are rows p = f @ cell, i.e. columns r = cell.T f.",
    "Substitute f = cell.T^{-1} r: r' = cell.T R_f cell.T^{-1} r + cell.T t_f.",
    "R = cell.T @ R_frac @ torch.linalg.inv(cell).T and t = t_frac @ cell. Convert R_frac (integers) to float64 first.",
])
def q2(to_cartesian):
    """Every converted operation must be orthogonal and map the structure onto itself, species preserved."""
    import spglib

    from ..crystals import operation_permutation, spglib_cell
    n_ops = 0
    for label, atoms in _q2_structures():
        data = spglib.get_symmetry_dataset(spglib_cell(atoms))
        pos = torch.tensor(atoms.get_positions(), dtype=F64)
        cell = torch.tensor(np.asarray(atoms.get_cell()), dtype=F64)
        numbers = torch.tensor(atoms.get_atomic_numbers())
        for rot, trans in zip(data.rotations, data.translations):
            value = call(to_cartesian, torch.tensor(rot, dtype=torch.int64), torch.tensor(trans, dtype=F64), cell.clone(),
                         name="to_cartesian")
            if not isinstance(value, (tuple, list)) or len(value) != 2:
                fail(f"to_cartesian should return (R, t), got {type(value).__name__}", "end with `return R, t`")
            raw_R = expect_tensor(value[0], "R", shape=(3, 3))
            R = raw_R.to(F64)
            t = expect_tensor(value[1], "t", shape=(3,)).to(F64)
            if not torch.allclose(R @ R.T, torch.eye(3, dtype=F64), atol=1e-8):
                fail_if_float32_precision(raw_R, float((R @ R.T - torch.eye(3, dtype=F64)).abs().max()),
                                          f"R for {label}", needed="1e-8 (R Rᵀ = I)")
                fail(f"for {label}, R = {np.round(R.numpy(), 3).tolist()} from R_frac = {rot.tolist()} is not orthogonal",
                     "R_frac is not a rotation matrix in a non-cubic cell: it must be conjugated with the cell matrix")
            try:
                perm = operation_permutation(pos, cell, R, t)
            except ValueError:
                fail(f"for {label}, the operation (R_frac = {rot.tolist()}, t_frac = {np.round(trans, 3).tolist()}) converted "
                     "by your function does not map the crystal onto itself",
                     "check the translation: t = t_frac @ cell (fractional row times cell rows)")
            if not torch.equal(numbers[perm], numbers):
                fail(f"for {label}, an operation sends atoms onto atoms of another species")
            n_ops += 1
    return f"all {n_ops} operations of wurtzite, rock salt and rutile are orthogonal and map each crystal onto itself"


# ----------------------------------------------------------------------------- q3
Q3_SITES = {"Na in NaCl": 0, "O in SrTiO3": 1, "Zn in ZnO": 1, "C in diamond": 0}


@exercise("how many l=2 features each site allows", hints=[
    "Find each site's symmetry with e3teach.crystals.site_symmetry(atoms, index), as in section 5 of the lesson.",
    "Then count: e3teach.point_groups.count_invariant_harmonics(site.as_point_group(), 2)[2].",
    "Oh and Td sites allow no l=2 feature (a cube's and a tetrahedron's field gradients vanish); an axial site allows one.",
])
def q3(l2_counts):
    """A dict {site name: count}; compares each entry and names the wrong ones."""
    if not isinstance(l2_counts, dict):
        fail(f"l2_counts should be a dict {{site: number}}, got {type(l2_counts).__name__}")
    missing = [k for k in Q3_SITES if k not in l2_counts]
    if missing:
        fail(f"l2_counts is missing the key(s) {missing}", f"use exactly these keys: {list(Q3_SITES)}")
    wrong = []
    for key, expected in Q3_SITES.items():
        value = l2_counts[key]
        if value is Ellipsis:
            raise NotAttempted()
        value = as_number(value, f"l2_counts[{key!r}]", integer=True,
                          hint="count with count_invariant_harmonics(site.as_point_group(), 2)[2], a whole number")
        if value != expected:
            wrong.append(key)
    if wrong:
        fail(f"the count is not right for {wrong}",
             "l=2 features must be invariant under every operation of the site's point group: count with "
             "count_invariant_harmonics of the site symmetry, not of the whole crystal")
    return "Na (Oh): 0, O in SrTiO3 (D4h): 1, Zn in ZnO (C3v): 1, C in diamond (Td): 0"


# ----------------------------------------------------------------------------- q4
@exercise("build CsCl and find its space group", hints=[
    "CsCl: a simple cubic cell of side a ≈ 4.12 Å with Cs at the corner (0, 0, 0) and Cl at the body centre (½, ½, ½).",
    "ase.Atoms('CsCl', scaled_positions=[[0, 0, 0], [0.5, 0.5, 0.5]], cell=[a, a, a], pbc=True), "
    "then e3teach.crystals.space_group(atoms).",
    "It is NOT body-centred cubic: the two sites hold different species, so the lattice is simple cubic, Pm-3m.",
])
def q4(cscl, number):
    """Check the structure (species, stoichiometry, periodic cell, spglib's group) and the number given."""
    from ase import Atoms

    from ..crystals import space_group
    if not isinstance(cscl, Atoms):
        fail(f"cscl should be an ase.Atoms, got {type(cscl).__name__}", "build it with ase.Atoms(...)")
    symbols = sorted(set(cscl.get_chemical_symbols()))
    if symbols != ["Cl", "Cs"] or cscl.get_chemical_symbols().count("Cs") != cscl.get_chemical_symbols().count("Cl"):
        fail(f"cscl should contain Cs and Cl in equal numbers, got {cscl.get_chemical_formula()}")
    if not all(cscl.pbc) or cscl.cell.volume < 1.0:
        fail("cscl should be periodic in all three directions with a real cell", "pass cell=[a, a, a], pbc=True")
    try:
        found, symbol = space_group(cscl, symprec=1e-3)
    except ValueError as exc:
        fail(f"spglib could not analyse your structure: {exc}")
    if found != 221:
        fail(f"spglib finds space group {found} ({symbol}) for your structure, not the CsCl structure's",
             "put Cs at (0, 0, 0) and Cl at (½, ½, ½) of a cubic cell")
    number = as_number(number, "number", integer=True,
                       hint="the space-group number is an int: space_group(atoms) returns (number, symbol)")
    expect_equal(number, 221, "number", hint="ask spglib: e3teach.crystals.space_group(cscl)[0]")
    return "CsCl is simple cubic Pm-3m, space group 221 (not bcc Im-3m, 229: the two sites differ)"
