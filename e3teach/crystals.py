r"""Crystals: periodic graphs, space-group operations and site symmetries, on top of ase and spglib.

A crystal is a unit cell repeated forever. ase stores the cell as a (3, 3) matrix ``C`` whose
**rows** are the lattice vectors, and Cartesian positions as rows ``pos = frac @ C``. A copy of atom
``j`` in a neighbouring cell sits at ``pos[j] + shift @ C`` for an integer vector ``shift``. So the
edge vector of a periodic graph, with the course convention (message from ``src`` to ``dst``), is

.. math:: \vec r_e = \text{pos}[\text{dst}] - \text{pos}[\text{src}] + \text{shift}_e\, C .

- :func:`periodic_radius_graph` / :func:`edge_vectors` — the neighbour list with cell shifts, in
  plain torch (cross-checked against ``ase.neighborlist.neighbor_list`` in the tests).
- :func:`from_ase` / :func:`spglib_cell` — an ``ase.Atoms`` as torch tensors / as spglib's tuple.
- :func:`symmetry_operations` — spglib's space-group operations, converted from fractional to
  Cartesian form: spglib maps fractional column vectors ``f → R f + t``; with ``r = Cᵀ f`` this is
  ``r → (Cᵀ R C⁻ᵀ) r + Cᵀ t``.
- :func:`site_symmetry` — the point group that leaves one atom in place (a :class:`SiteSymmetry`,
  named from its matrices by :func:`classify_point_group` and, independently, by spglib).
- :class:`PeriodicPointNet` — a small equivariant network on a crystal (species as one-hot
  scalars, gated point convolutions fed with periodic edge vectors), returning per-atom outputs.
"""
from __future__ import annotations

import itertools
import math
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import torch
from e3nn import o3

from .env import default_dtype
from .models import GatedBlock, PointConvolution
from .point_groups import PointGroup, character_count

__all__ = ["from_ase", "spglib_cell", "periodic_radius_graph", "edge_vectors", "symmetry_operations",
           "space_group", "operation_permutation", "site_symmetry", "SiteSymmetry", "classify_point_group",
           "element_type", "count_invariant_harmonics", "hm_to_schoenflies", "PeriodicPointNet"]


# ----------------------------------------------------------------------------- ase / spglib glue
def from_ase(atoms, dtype: torch.dtype | None = None):
    """``(pos (N, 3), cell (3, 3), numbers (N,))`` of an ``ase.Atoms`` as torch tensors.

    ``dtype`` defaults to torch's default dtype; ``cell`` rows are the lattice vectors (ase's convention).
    """
    dtype = dtype or torch.get_default_dtype()
    pos = torch.tensor(np.asarray(atoms.get_positions()), dtype=dtype)
    cell = torch.tensor(np.asarray(atoms.get_cell()), dtype=dtype)
    numbers = torch.tensor(np.asarray(atoms.get_atomic_numbers()), dtype=torch.long)
    return pos, cell, numbers


def spglib_cell(atoms):
    """The ``(lattice, scaled_positions, numbers)`` tuple spglib expects (lattice rows = vectors, like ase)."""
    return (np.asarray(atoms.get_cell(), dtype=float), np.asarray(atoms.get_scaled_positions(wrap=False), dtype=float),
            np.asarray(atoms.get_atomic_numbers(), dtype=int))


def _dataset(atoms, symprec: float):
    import spglib
    data = spglib.get_symmetry_dataset(spglib_cell(atoms), symprec=symprec)
    if data is None:
        raise ValueError("spglib could not find the symmetry of this structure (try a larger symprec)")
    return data


def space_group(atoms, symprec: float = 1e-5) -> tuple[int, str]:
    """``(number, international symbol)`` of the space group, from spglib (e.g. ``(225, 'Fm-3m')``)."""
    data = _dataset(atoms, symprec)
    return int(data.number), str(data.international)


# ----------------------------------------------------------------------------- periodic graph
def _shift_range(pos: torch.Tensor, cell: torch.Tensor, r_max: float, pbc) -> list[range]:
    r"""Integer shifts needed along each lattice vector.

    The height of the cell along direction ``i`` is ``h_i = V / |a_j × a_k|``. A pair at fractional
    separation ``Δf_i + s_i`` is at least ``|Δf_i + s_i| h_i`` apart, so only
    ``|s_i| ≤ r_max / h_i + max |Δf_i|`` can be closer than ``r_max``.
    """
    c = cell.detach().to(torch.float64)
    volume = torch.linalg.det(c).abs()
    frac = pos.detach().to(torch.float64) @ torch.linalg.inv(c)
    span = (frac.max(dim=0).values - frac.min(dim=0).values) if len(frac) else torch.zeros(3, dtype=torch.float64)
    ranges = []
    for i in range(3):
        if not pbc[i]:
            ranges.append(range(0, 1))
            continue
        j, k = (i + 1) % 3, (i + 2) % 3
        height = float(volume / torch.linalg.cross(c[j], c[k]).norm())
        n = math.ceil(r_max / height + float(span[i]))
        ranges.append(range(-n, n + 1))
    return ranges


def periodic_radius_graph(pos: torch.Tensor, cell: torch.Tensor, r_max: float, pbc=(True, True, True)):
    r"""Neighbour list of a periodic structure: ``(edge_src, edge_dst, shifts)``.

    Every pair ``(src, dst, shift)`` with ``|pos[dst] - pos[src] + shift @ cell| < r_max`` is an edge
    (both directions are present). The only pair excluded is an atom with *itself* at zero shift —
    excluded by index, never by a distance test. An atom's own periodic images (non-zero shift) are
    genuine neighbours when the cell is small. ``shifts`` is a (E, 3) tensor of integers (torch.long).
    Brute force over all atom pairs and shifts: fine for the small cells of the course.
    """
    if isinstance(pbc, bool):
        pbc = (pbc,) * 3
    n = pos.shape[0]
    shifts = torch.tensor(list(itertools.product(*_shift_range(pos, cell, r_max, pbc))), dtype=torch.long,
                          device=pos.device)                                       # (S, 3)
    offsets = shifts.to(pos.dtype) @ cell                                           # (S, 3)
    vec = pos[None, :, None, :] - pos[:, None, None, :] + offsets[None, None, :, :]  # (src, dst, S, 3)
    keep = vec.norm(dim=-1) < r_max
    idx = torch.arange(n, device=pos.device)
    zero = (shifts == 0).all(dim=1)
    keep &= ~((idx[:, None, None] == idx[None, :, None]) & zero[None, None, :])     # self at zero shift
    src, dst, s = keep.nonzero(as_tuple=True)
    return src, dst, shifts[s]


def edge_vectors(pos: torch.Tensor, cell: torch.Tensor, edge_src: torch.Tensor, edge_dst: torch.Tensor,
                 shifts: torch.Tensor) -> torch.Tensor:
    """``pos[dst] - pos[src] + shift @ cell`` for every edge (differentiable in ``pos`` and ``cell``)."""
    return pos[edge_dst] - pos[edge_src] + shifts.to(pos.dtype) @ cell


# ----------------------------------------------------------------------------- space-group operations
def symmetry_operations(atoms, symprec: float = 1e-5) -> list[tuple[torch.Tensor, torch.Tensor]]:
    r"""spglib's space-group operations in Cartesian form: a list of ``(R (3, 3), t (3,))`` in float64.

    spglib acts on fractional column vectors, ``f' = R_f f + t_f``. ase positions are rows,
    ``r = f C`` (column form ``r = Cᵀ f``), so ``r' = Cᵀ R_f C⁻ᵀ r + Cᵀ t_f``:
    ``R = Cᵀ R_f C⁻ᵀ`` (orthogonal: a rotation or improper rotation) and ``t = t_f C`` (as a row).
    Applied to row-stacked positions: ``pos @ R.T + t`` is the same crystal, atoms permuted.
    """
    data = _dataset(atoms, symprec)
    C = torch.tensor(np.asarray(atoms.get_cell()), dtype=torch.float64)
    Cinv_T = torch.linalg.inv(C).T
    ops = []
    for rot, trans in zip(data.rotations, data.translations):
        R = C.T @ torch.tensor(rot, dtype=torch.float64) @ Cinv_T
        t = torch.tensor(trans, dtype=torch.float64) @ C
        ops.append((R, t))
    return ops


def operation_permutation(pos: torch.Tensor, cell: torch.Tensor, R: torch.Tensor, t: torch.Tensor,
                          tol: float = 1e-4) -> torch.Tensor:
    """For the operation ``r → R r + t``: ``perm[i]`` = the atom whose site atom ``i`` is sent to
    (modulo lattice translations). Raises if some image matches no atom (not a symmetry)."""
    new = pos.to(torch.float64) @ R.T + t
    inv = torch.linalg.inv(cell.to(torch.float64))
    diff = (new[:, None, :] - pos.to(torch.float64)[None, :, :]) @ inv          # fractional differences
    diff = diff - diff.round()
    dist = (diff @ cell.to(torch.float64)).norm(dim=-1)                            # (N, N)
    best = dist.min(dim=1)
    if bool((best.values > tol).any()):
        raise ValueError("this operation does not map the structure onto itself")
    return best.indices


# ----------------------------------------------------------------------------- point groups
# element types of the crystallographic point groups: proper n-fold rotations 1, 2, 3, 4, 6 and
# improper ones -1 (inversion), m (mirror), -3, -4, -6, recognised from (det, trace).
_PROPER = {3: "1", -1: "2", 0: "3", 1: "4", 2: "6"}
_IMPROPER = {-3: "-1", 1: "m", 0: "-3", -1: "-4", -2: "-6"}


def element_type(R) -> str:
    """Hermann–Mauguin type of a crystallographic point operation: '1', '2', '3', '4', '6', '-1', 'm', '-3', '-4', '-6'."""
    R = torch.as_tensor(R, dtype=torch.float64)
    det, tr = float(torch.linalg.det(R)), float(torch.trace(R))
    table = _PROPER if det > 0 else _IMPROPER
    key = round(tr)
    if abs(tr - key) > 1e-6 or key not in table:
        raise ValueError(f"not a crystallographic point operation (det={det:+.3f}, trace={tr:.4f})")
    return table[key]


# The 32 crystallographic point groups, told apart by how many elements of each type they contain.
_GROUPS = [  # (Hermann–Mauguin, Schoenflies, {type: count})
    ("1", "C1", {"1": 1}), ("-1", "Ci", {"1": 1, "-1": 1}), ("2", "C2", {"1": 1, "2": 1}),
    ("m", "Cs", {"1": 1, "m": 1}), ("2/m", "C2h", {"1": 1, "2": 1, "-1": 1, "m": 1}),
    ("222", "D2", {"1": 1, "2": 3}), ("mm2", "C2v", {"1": 1, "2": 1, "m": 2}),
    ("mmm", "D2h", {"1": 1, "2": 3, "-1": 1, "m": 3}),
    ("4", "C4", {"1": 1, "2": 1, "4": 2}), ("-4", "S4", {"1": 1, "2": 1, "-4": 2}),
    ("4/m", "C4h", {"1": 1, "2": 1, "4": 2, "-1": 1, "m": 1, "-4": 2}),
    ("422", "D4", {"1": 1, "2": 5, "4": 2}), ("4mm", "C4v", {"1": 1, "2": 1, "4": 2, "m": 4}),
    ("-42m", "D2d", {"1": 1, "2": 3, "-4": 2, "m": 2}),
    ("4/mmm", "D4h", {"1": 1, "2": 5, "4": 2, "-1": 1, "m": 5, "-4": 2}),
    ("3", "C3", {"1": 1, "3": 2}), ("-3", "S6", {"1": 1, "3": 2, "-1": 1, "-3": 2}),
    ("32", "D3", {"1": 1, "3": 2, "2": 3}), ("3m", "C3v", {"1": 1, "3": 2, "m": 3}),
    ("-3m", "D3d", {"1": 1, "3": 2, "2": 3, "-1": 1, "m": 3, "-3": 2}),
    ("6", "C6", {"1": 1, "2": 1, "3": 2, "6": 2}), ("-6", "C3h", {"1": 1, "3": 2, "m": 1, "-6": 2}),
    ("6/m", "C6h", {"1": 1, "2": 1, "3": 2, "6": 2, "-1": 1, "m": 1, "-3": 2, "-6": 2}),
    ("622", "D6", {"1": 1, "2": 7, "3": 2, "6": 2}), ("6mm", "C6v", {"1": 1, "2": 1, "3": 2, "6": 2, "m": 6}),
    ("-6m2", "D3h", {"1": 1, "3": 2, "2": 3, "m": 4, "-6": 2}),
    ("6/mmm", "D6h", {"1": 1, "2": 7, "3": 2, "6": 2, "-1": 1, "m": 7, "-3": 2, "-6": 2}),
    ("23", "T", {"1": 1, "2": 3, "3": 8}), ("m-3", "Th", {"1": 1, "2": 3, "3": 8, "-1": 1, "m": 3, "-3": 8}),
    ("432", "O", {"1": 1, "2": 9, "3": 8, "4": 6}), ("-43m", "Td", {"1": 1, "2": 3, "3": 8, "-4": 6, "m": 6}),
    ("m-3m", "Oh", {"1": 1, "2": 9, "3": 8, "4": 6, "-1": 1, "m": 9, "-3": 8, "-4": 6}),
]
_BY_COUNTS = {tuple(sorted(c.items())): (hm, sch) for hm, sch, c in _GROUPS}
_HM_TO_SCH = {hm: sch for hm, sch, _ in _GROUPS}
# oriented / alternative Hermann–Mauguin spellings spglib may use for site symmetries
_HM_ALIASES = {"2mm": "mm2", "m2m": "mm2", "-4m2": "-42m", "-62m": "-6m2", "312": "32", "321": "32",
               "31m": "3m", "3m1": "3m", "-31m": "-3m", "-3m1": "-3m", "m3": "m-3", "m3m": "m-3m", "-3.": "-3"}


def hm_to_schoenflies(symbol: str) -> str:
    """Point-group Hermann–Mauguin symbol (spglib's oriented site symbols like ``'4/mm.m'`` accepted) → Schoenflies."""
    hm = symbol.replace(".", "")
    hm = _HM_ALIASES.get(hm, hm)
    if hm not in _HM_TO_SCH:
        raise KeyError(f"unknown point-group symbol {symbol!r}")
    return _HM_TO_SCH[hm]


def classify_point_group(matrices) -> tuple[str, str]:
    """``(Hermann–Mauguin, Schoenflies)`` of a crystallographic point group given as (Cartesian) matrices,
    from the number of elements of each type (these counts single out each of the 32 groups)."""
    counts = tuple(sorted(Counter(element_type(R) for R in matrices).items()))
    if counts not in _BY_COUNTS:
        raise ValueError(f"these matrices are not one of the 32 crystallographic point groups: {dict(counts)}")
    return _BY_COUNTS[counts]


def count_invariant_harmonics(matrices, lmax: int) -> dict[int, int]:
    r"""``{l: number}`` of spherical-harmonic combinations of each degree ``l ≤ lmax`` left unchanged by every matrix.

    Character formula: the dimension of the invariant subspace of a representation is the group
    average of its trace, :math:`\frac{1}{|G|}\sum_g \operatorname{tr} D^{l}(g)`. Spherical harmonics of
    degree ``l`` have parity :math:`(-1)^l` (the irrep ``"le"`` or ``"lo"``). Computed in float64.
    Same result as :func:`e3teach.point_groups.count_invariant_harmonics` (rank of the projector).
    """
    group = PointGroup("site", torch.stack([torch.as_tensor(R, dtype=torch.float64) for R in matrices]))
    return {l: character_count(group, o3.Irrep(l, (-1) ** l)) for l in range(lmax + 1)}


@dataclass
class SiteSymmetry:
    """The point group of one site: the Cartesian parts of the space-group operations that keep it in place.

    ``name`` (Schoenflies) and ``hm`` are found from the matrices; ``spglib_symbol`` is spglib's own
    oriented site-symmetry symbol for the same site, for comparison.
    """
    index: int
    matrices: torch.Tensor            # (order, 3, 3) float64, distinct
    name: str
    hm: str
    spglib_symbol: str
    wyckoff: str = ""
    translations: torch.Tensor | None = field(default=None, repr=False)

    @property
    def order(self) -> int:
        return self.matrices.shape[0]

    def D(self, irreps) -> torch.Tensor:
        """The representation matrices ``(order, dim, dim)`` of the group on ``irreps`` (float64)."""
        with default_dtype(torch.float64):
            return o3.Irreps(irreps).D_from_matrix(self.matrices)

    def count_invariant_harmonics(self, lmax: int) -> dict[int, int]:
        """``{l: number of invariant spherical harmonics of degree l}`` for this site (character formula)."""
        return count_invariant_harmonics(self.matrices, lmax)

    def as_point_group(self):
        """The same group as an :class:`e3teach.point_groups.PointGroup` (lesson 10's tools apply)."""
        return PointGroup(self.name, self.matrices)


def site_symmetry(atoms, index: int, symprec: float = 1e-5) -> SiteSymmetry:
    """The site-symmetry group of atom ``index``: operations ``(R, t)`` with ``R r_i + t ≡ r_i`` (mod lattice)."""
    data = _dataset(atoms, symprec)
    pos, cell, _ = from_ase(atoms, torch.float64)
    mats = []
    for R, t in symmetry_operations(atoms, symprec):
        if int(operation_permutation(pos, cell, R, t, tol=max(1e-4, 10 * symprec))[index]) == index:
            if not any(torch.allclose(R, M, atol=1e-8) for M in mats):
                mats.append(R)
    matrices = torch.stack(mats)
    hm, name = classify_point_group(matrices)
    return SiteSymmetry(index=index, matrices=matrices, name=name, hm=hm,
                        spglib_symbol=str(data.site_symmetry_symbols[index]), wyckoff=str(data.wyckoffs[index]))


# ----------------------------------------------------------------------------- a periodic model
class PeriodicPointNet(torch.nn.Module):
    r"""A small equivariant network on a crystal; per-atom outputs.

    Atoms start with a one-hot vector of their species (``len(species)`` even scalars). A few
    :class:`~e3teach.models.GatedBlock` layers and a final :class:`~e3teach.models.PointConvolution`
    pass messages along the periodic graph, with edge vectors ``pos[dst] - pos[src] + shift @ cell``.
    Call ``model(pos, cell, numbers)`` → ``(N, irreps_out.dim)``.
    """

    def __init__(self, irreps_out, species, *, irreps_hidden="8x0e + 8x0o + 4x1e + 4x1o + 4x2e + 4x2o", layers: int = 2,
                 lmax: int = 2, r_max: float = 3.5, num_basis: int = 8, radial_hidden: int = 16,
                 num_neighbors: float = 8.0, pbc=(True, True, True)):
        super().__init__()
        self.species = [int(z) for z in species]
        self.irreps_in = o3.Irreps(f"{len(self.species)}x0e")
        self.irreps_out = o3.Irreps(irreps_out)
        self.r_max, self.pbc = float(r_max), pbc
        kw = dict(lmax=lmax, r_max=r_max, num_basis=num_basis, radial_hidden=radial_hidden, num_neighbors=num_neighbors)
        blocks, irreps = [], self.irreps_in
        for _ in range(layers):
            blocks.append(GatedBlock(irreps, irreps_hidden, **kw))
            irreps = blocks[-1].irreps_out
        self.blocks = torch.nn.ModuleList(blocks)
        self.output = PointConvolution(irreps, self.irreps_out, **kw)

    def extra_repr(self) -> str:
        return f"species={self.species}, {self.irreps_in} -> {self.irreps_out}, r_max={self.r_max:g} Å, pbc={self.pbc}"

    def embed(self, numbers: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
        """One-hot species features (N, len(species))."""
        lookup = {z: k for k, z in enumerate(self.species)}
        missing = sorted({int(z) for z in numbers.tolist()} - set(lookup))
        if missing:
            raise ValueError(f"atomic numbers {missing} are not in this model's species {self.species}")
        idx = torch.tensor([lookup[int(z)] for z in numbers.tolist()], device=numbers.device)
        return torch.nn.functional.one_hot(idx, len(self.species)).to(dtype)

    def forward(self, pos: torch.Tensor, cell: torch.Tensor, numbers: torch.Tensor) -> torch.Tensor:
        """``pos`` (N, 3) Å, ``cell`` (3, 3) Å (rows are the cell vectors), ``numbers`` (N,) → (N, irreps_out.dim)."""
        src, dst, shifts = periodic_radius_graph(pos, cell, self.r_max, self.pbc)
        vec = edge_vectors(pos, cell, src, dst, shifts)
        x = self.embed(numbers, pos.dtype)
        for block in self.blocks:
            x = block(x, pos, src, dst, edge_vec=vec)
        return self.output(x, pos, src, dst, edge_vec=vec)
