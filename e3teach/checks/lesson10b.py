"""Checkers for exercises/10b_crystal_fields (degeneracies from Schur's lemma, piezoelectric components)."""
from __future__ import annotations

import torch

from .. import point_groups as pg
from .core import as_number, as_torch, call, exercise, fail
from .lesson10a import as_int

__all__ = ["q1", "q2"]

_Q1_CASES = [("Oh", "2e"), ("Td", "2e"), ("D4h", "2e"), ("Ih", "2e"), ("Ih", "3o"), ("Oh", "3o"), ("D3d", "1o"),
             ("C2v", "2e"), ("C4", "1o"), ("S4", "2e")]
#: Groups with irreps of complex type: their E level is a pair of complex-conjugate irreps, degenerate only
#: when the averaged operator is symmetric (a real A that is not symmetric splits it).
_Q1_COMPLEX = {"C4", "S4"}


def _sizes(value, name: str) -> list[int]:
    """A list, tuple, NumPy array or 1-d tensor of whole numbers, sorted; anything else is ❌."""
    value = as_torch(value)
    hint = "return the sizes of the levels only, e.g. [2, 3]: [m for _, m in pg.energy_levels(H)]"
    if isinstance(value, torch.Tensor):
        if value.dim() != 1:
            fail(f"`{name}` has shape {tuple(value.shape)}: expected a flat list of level sizes", hint)
        value = value.tolist()
    if not isinstance(value, (list, tuple)):
        fail(f"`{name}` should be a list of whole numbers such as [2, 3], got {type(value).__name__}", hint)
    return sorted(as_number(v, f"{name}[{k}]", integer=True, hint=hint) for k, v in enumerate(value))


@exercise("Schur: the degeneracies a group forces", hints=[
    "Take a random symmetric matrix A (A = B + Bᵀ) of the size of the representation and average "
    "D(g) A D(g)ᵀ over every element g of the group.",
    "H = torch.einsum('gij,jk,glk->il', D, A, D) / group.order with D = group.D(irreps); the eigenvalues of H "
    "come in groups: pg.energy_levels(H) gives [(energy, multiplicity), ...].",
    "return sorted(m for _, m in pg.energy_levels(H))",
])
def q1(level_sizes):
    """Check level_sizes(group, irreps) -> sorted multiplicities, against pg.degeneracies on eight cases."""
    for name, irreps in _Q1_CASES:
        group = pg.point_group(name)
        what = f"level_sizes({name}, {irreps!r})"
        got = _sizes(call(level_sizes, group, irreps, name=what), what)
        expected = pg.degeneracies(group, irreps)
        if got == expected:
            continue
        dim = sum(expected)
        if sum(got) != dim:
            fail(f"{what} = {got}: the sizes add up to {sum(got)}, the representation has dimension {dim}",
                 "every eigenvalue of H belongs to one level: the multiplicities add up to the size of D(g)")
        if len(got) > len(expected) and name in _Q1_COMPLEX:
            fail(f"{what} = {got}, expected {expected}: right for every group before it, whose irreps are all of "
                 f"real type; {name}'s E level is a pair of complex-conjugate irreps, degenerate only when H is "
                 "symmetric", "make A symmetric before averaging: A = B + B.T")
        if len(got) > len(expected):
            hint = ("you found fewer degeneracies than the group forces: average D(g) A D(g)ᵀ over all the elements "
                    "(a single D A Dᵀ has no degenerate eigenvalues), and group eigenvalues that agree to ~1e-8, "
                    "not exactly")
        else:
            hint = ("you merged levels that the group does not force together: use a random A (not the identity "
                    "or a multiple of it) and a tolerance of ~1e-8 when grouping eigenvalues")
        fail(f"{what} = {got}, expected {expected}", hint)
    return "right for " + ", ".join(f"{n} {ir}" for n, ir in _Q1_CASES) + \
        " (e.g. Oh d: [2, 3], D4h d: [1, 1, 1, 2], Ih f: [3, 4])"


_Q2_CASES = [("Oh", 0), ("Td", 1), ("C3v", 4), ("D3", 2), ("C6v", 3), ("C2v", 5), ("D2d", 2), ("C1", 18)]


@exercise("Neumann: independent piezoelectric components", hints=[
    "The piezoelectric tensor d_ijk is symmetric in its last two indices ('ijk=ikj') and each index is a polar vector (1o).",
    "irreps = o3.ReducedTensorProducts('ijk=ikj', i='1o', j='1o').irreps_out; the answer is the rank of "
    "pg.invariant_projector(group, irreps).",
    "int(torch.linalg.matrix_rank(pg.invariant_projector(group, irreps)))",
])
def q2(piezo_count):
    """Check piezo_count(group) against the standard tables for eight crystal classes."""
    for name, expected in _Q2_CASES:
        group = pg.point_group(name)
        got = as_int(call(piezo_count, group, name=f"piezo_count({name})"), f"piezo_count({name})",
                      "return int(torch.linalg.matrix_rank(projector)): a number of components is a whole number")
        if got != expected:
            if name == "C1" and got == 27:
                hint = "27 = 3³ ignores the symmetry d_ijk = d_ikj (use the formula 'ijk=ikj')"
            elif name == "Td" and got == 0 or name == "Oh" and got != 0:
                hint = "the indices are polar vectors, parity odd: i='1o', not '1e'"
            else:
                hint = "rank of the group-averaged representation on the irreps of ReducedTensorProducts('ijk=ikj', i='1o', j='1o')"
            fail(f"piezo_count({name}) = {got}, expected {expected}", hint)
    return "matches the tables: " + ", ".join(f"{n} {c}" for n, c in _Q2_CASES)
