"""Finite point groups: subgroups of O(3) built by closure, named the Schoenflies way.

Everything here is float64 and every e3nn object is built under a float64 default dtype
(see :func:`e3teach.default_dtype`): the symmetry facts we compute (ranks, degeneracies) are
integers read off float matrices, so we want ~1e-12 accuracy, not float32's ~1e-7.

Conventions
-----------
- A group is a tensor ``(n, 3, 3)`` of orthogonal matrices acting on column vectors
  (on row-stacked points as ``pos @ R.T``); the identity comes first.
- The **principal axis is z** by default (the crystallographic convention: C4 about z, the
  horizontal mirror σh is the xy plane, vertical mirrors contain z, the C2' axes of Dn lie along x).
  Note that e3nn's spherical harmonics use **y** as their polar axis; ``point_group(name, axis="y")``
  puts the principal axis along y instead, which can be handy next to e3nn's harmonics.
- Cubic groups (T, Td, Th, O, Oh) have their cube axes along x, y, z; the icosahedral groups (I, Ih)
  use the standard orientation with three C2 axes along x, y, z and a C5 axis along (0, 1, φ),
  where φ is the golden ratio (vertices of the icosahedron at the cyclic permutations of (0, ±1, ±φ)).

Main entry points: :func:`generate`, :func:`point_group`, :func:`identify` (the group of a molecule
or cluster, robust to noisy coordinates), :func:`schoenflies_name` (the name of a group of matrices),
:func:`invariant_projector`, :func:`count_invariant_harmonics`, :func:`character_count`,
:func:`degeneracies`, :func:`tensor_component_count`.

Groups are *named from their structure* — how many rotations of each order, whether the inversion
is there, how many mirrors (see :func:`_schoenflies`) — never from rounded numbers; :func:`fingerprint`
(the multiset of (det, trace)) is kept as an orientation-independent description for comparisons.
"""
from __future__ import annotations

import math
import re
import warnings
from fractions import Fraction
from functools import lru_cache

import numpy as np
import torch
from e3nn import o3

from .env import default_dtype

__all__ = ["generate", "PointGroup", "InfinitePointGroup", "point_group", "identify", "schoenflies_name",
           "invariant_projector",
           "count_invariant_harmonics", "character_count", "degeneracies", "energy_levels",
           "tensor_component_count", "rotation", "reflection", "improper_rotation", "catalogue",
           "fingerprint", "element_symbol", "orbit", "first_invariant_harmonic",
           "group_figure", "group_explorer", "GROUP_NAMES"]

_DT = torch.float64
_EXACT = "donot_use_mm_for_euclid_dist"   # torch.cdist without the |a|²+|b|²-2ab shortcut (loses digits)

#: Names accepted by :func:`point_group` (n stands for an integer).
GROUP_NAMES = ("C1", "Ci", "Cs", "Cn", "Cnv", "Cnh", "Dn", "Dnh", "Dnd", "S2n",
               "T", "Td", "Th", "O", "Oh", "I", "Ih")


# ----------------------------------------------------------------------------------------------
# elementary operations
# ----------------------------------------------------------------------------------------------
def _unit(v) -> torch.Tensor:
    v = torch.as_tensor(v, dtype=_DT)
    return v / v.norm()


def rotation(axis, angle: float) -> torch.Tensor:
    """Proper rotation by ``angle`` (radians, right-handed) about ``axis`` (Rodrigues' formula)."""
    n = _unit(axis)
    K = torch.tensor([[0.0, -n[2], n[1]], [n[2], 0.0, -n[0]], [-n[1], n[0], 0.0]], dtype=_DT)
    return torch.eye(3, dtype=_DT) + math.sin(angle) * K + (1 - math.cos(angle)) * (K @ K)


def reflection(normal) -> torch.Tensor:
    """Mirror through the plane (through the origin) with the given normal: I - 2 n nᵀ."""
    n = _unit(normal)
    return torch.eye(3, dtype=_DT) - 2 * torch.outer(n, n)


def improper_rotation(axis, n: int) -> torch.Tensor:
    """S_n: rotation by 2π/n about ``axis`` followed by the mirror perpendicular to it."""
    return reflection(axis) @ rotation(axis, 2 * math.pi / n)


def element_symbol(M) -> str:
    """The kind of an O(3) matrix as a Schoenflies element symbol: "E", "Cn", "i", "σ" or "Sn".

    Read from det and trace only (so C4 and C4³ both say "C4"): a rotation by θ has trace 1 + 2cos θ;
    an improper element σ·C(θ) has trace -1 + 2cos θ (θ = 0: a mirror σ, θ = π: the inversion i).
    """
    M = torch.as_tensor(M, dtype=_DT)
    det = float(torch.linalg.det(M))
    c = max(-1.0, min(1.0, (float(M.trace()) - det) / 2))
    theta = math.acos(c)
    if theta < 1e-6:
        return "E" if det > 0 else "σ"
    if det < 0 and abs(theta - math.pi) < 1e-6:
        return "i"
    n = Fraction(theta / (2 * math.pi)).limit_denominator(120).denominator   # θ = 2πk/n
    return f"{'C' if det > 0 else 'S'}{n}"


# ----------------------------------------------------------------------------------------------
# closure
# ----------------------------------------------------------------------------------------------
def generate(generators, max_order: int = 240, tol: float = 1e-6) -> torch.Tensor:
    """All products of ``generators`` (orthogonal 3×3 matrices): the group they generate.

    Breadth-first closure: start from the identity, multiply every element found so far by every
    generator, keep products not yet in the list (two matrices are equal when they differ by less
    than ``tol`` entrywise). The order of the result is deterministic, identity first.
    Raises ``ValueError`` if more than ``max_order`` elements appear (an infinite group, e.g. a
    rotation by an irrational angle, or matrices that are not orthogonal).
    """
    gens = [torch.as_tensor(g, dtype=_DT) for g in generators]
    if len(gens) and isinstance(generators, torch.Tensor) and generators.dim() == 2:
        gens = [generators.to(_DT)]
    for g in gens:
        if g.shape != (3, 3):
            raise ValueError(f"generators must be 3x3 matrices, got shape {tuple(g.shape)}")
        if (g @ g.T - torch.eye(3, dtype=_DT)).abs().max() > 1e-8:
            raise ValueError("generators must be orthogonal matrices (R Rᵀ = 1)")
    elements = [torch.eye(3, dtype=_DT)]
    stack = torch.eye(3, dtype=_DT)[None]
    frontier = 0
    while frontier < len(elements):
        g = elements[frontier]
        frontier += 1
        for h in gens:
            p = h @ g
            if (stack - p).abs().amax(dim=(1, 2)).min() > tol:
                elements.append(p)
                stack = torch.cat([stack, p[None]])
                if len(elements) > max_order:
                    raise ValueError(f"more than {max_order} elements: the generators do not "
                                     "generate a finite group of that size")
    return stack


# ----------------------------------------------------------------------------------------------
# the group object
# ----------------------------------------------------------------------------------------------
class PointGroup:
    """A finite subgroup of O(3): a Schoenflies ``name`` and its ``matrices`` (n, 3, 3), float64.

    ``notes`` lists caveats (empty for groups built by name; :func:`identify` adds one when, e.g., the
    operations it found did not close and it returned the largest group among them)."""

    def __init__(self, name: str, matrices: torch.Tensor, notes=()):
        self.name = name
        self.matrices = torch.as_tensor(matrices, dtype=_DT)
        self.notes = list(notes)     # caveats from identify (e.g. operations that did not close)

    @property
    def order(self) -> int:
        return len(self.matrices)

    def __len__(self) -> int:
        return self.order

    @property
    def dets(self) -> torch.Tensor:
        return torch.linalg.det(self.matrices)

    @property
    def proper(self) -> bool:
        """True when every element is a rotation (det = +1): a chiral group."""
        return bool((self.dets > 0).all())

    @property
    def has_inversion(self) -> bool:
        return bool(((self.matrices + torch.eye(3, dtype=_DT)).abs().amax(dim=(1, 2)) < 1e-6).any())

    @property
    def n_mirrors(self) -> int:
        """Number of mirror planes (elements with det = -1 and trace = +1)."""
        tr = self.matrices.diagonal(dim1=1, dim2=2).sum(-1)
        return int(((self.dets < 0) & ((tr - 1).abs() < 1e-6)).sum())

    def rotation_orders(self) -> dict[int, int]:
        """{n: number of proper elements whose rotation angle is 2π/n} (n = 1 is the identity)."""
        out: dict[int, int] = {}
        for M, d in zip(self.matrices, self.dets):
            if d < 0:
                continue
            c = float(((M.trace() - 1) / 2).clamp(-1, 1))
            angle = math.acos(c)
            n = 1 if angle < 1e-6 else round(2 * math.pi / angle)
            if angle > 1e-6 and abs(2 * math.pi / n - angle) > 1e-6:
                continue  # a power like C5², counted through its own angle elsewhere
            out[n] = out.get(n, 0) + 1
        return dict(sorted(out.items()))

    @property
    def max_rotation_order(self) -> int:
        return max(self.rotation_orders())

    def D(self, irreps) -> torch.Tensor:
        """Representation matrices (n, dim, dim) of every element on ``irreps`` (float64)."""
        with default_dtype(_DT):
            return o3.Irreps(irreps).D_from_matrix(self.matrices)

    def apply(self, pos) -> torch.Tensor:
        """Orbit of points: (n_group, n_points, 3) = every element applied to ``pos``."""
        pos = torch.as_tensor(pos, dtype=_DT)
        return torch.einsum("gij,nj->gni", self.matrices, pos)

    def __repr__(self) -> str:
        kind = "proper" if self.proper else "improper"
        return f"PointGroup({self.name}, order={self.order}, {kind})"


# ----------------------------------------------------------------------------------------------
# the catalogue
# ----------------------------------------------------------------------------------------------
_X, _Y, _Z = (1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0)
_PHI = (1 + 5 ** 0.5) / 2


def _generators(name: str) -> list[torch.Tensor]:
    inv = -torch.eye(3, dtype=_DT)
    if name == "C1":
        return []
    if name == "Ci":
        return [inv]
    if name == "Cs":
        return [reflection(_Z)]
    T = [rotation(_Z, math.pi), rotation(_X, math.pi), rotation((1, 1, 1), 2 * math.pi / 3)]
    if name == "T":
        return T
    if name == "Td":
        return T + [reflection((1, -1, 0))]
    if name == "Th":
        return T + [inv]
    O = [rotation(_Z, math.pi / 2), rotation((1, 1, 1), 2 * math.pi / 3)]
    if name == "O":
        return O
    if name == "Oh":
        return O + [inv]
    I = [rotation(_Z, math.pi), rotation((1, 1, 1), 2 * math.pi / 3),
         rotation((0, 1, _PHI), 2 * math.pi / 5)]
    if name == "I":
        return I
    if name == "Ih":
        return I + [inv]
    m = re.fullmatch(r"([CDS])(\d+)([vhd]?)", name)
    if not m:
        raise ValueError(f"unknown point group {name!r}; known: {', '.join(GROUP_NAMES)} "
                         "(n an integer, e.g. C3v, D6h, S4)")
    letter, n, suffix = m.group(1), int(m.group(2)), m.group(3)
    if n < 1:
        raise ValueError(f"{name}: n must be at least 1")
    cn = rotation(_Z, 2 * math.pi / n)
    if letter == "S":
        if suffix or n % 2:
            raise ValueError(f"{name}: S groups are S2n with an even index (S2 = Ci, S4, S6, ...)")
        return [improper_rotation(_Z, n)]
    if letter == "C":
        if suffix == "":
            return [cn]
        if suffix == "v":
            return [cn, reflection(_Y)]          # mirror plane xz contains the principal axis
        if suffix == "h":
            return [cn, reflection(_Z)]          # σh: the xy plane
        raise ValueError(f"{name}: there is no Cnd group (did you mean D{n}d or S{2 * n}?)")
    # D groups: principal axis z, C2' along x
    c2x = rotation(_X, math.pi)
    if suffix == "":
        return [cn, c2x]
    if suffix == "h":
        return [cn, c2x, reflection(_Z)]
    if suffix == "v":
        raise ValueError(f"{name}: there is no Dnv group (did you mean D{n}h or D{n}d?)")
    return [improper_rotation(_Z, 2 * n), c2x]   # Dnd: S2n about z and C2' along x


def _normalize_name(name: str) -> str:
    name = name.strip().replace("_", "").replace(" ", "")
    if not name:
        raise ValueError("empty point-group name")
    return name[0].upper() + name[1:].lower()


def _frame_rotation(axis) -> torch.Tensor:
    """A rotation Q with Q ẑ = axis."""
    if isinstance(axis, str):
        axis = {"x": _X, "y": _Y, "z": _Z}[axis.lower()]
    a = _unit(axis)
    z = torch.tensor(_Z, dtype=_DT)
    c = float(z @ a)
    if c > 1 - 1e-12:
        return torch.eye(3, dtype=_DT)
    if c < -1 + 1e-12:
        return rotation(_X, math.pi)
    return rotation(torch.linalg.cross(z, a), math.acos(c))


@lru_cache(maxsize=None)
def _cached_matrices(name: str) -> torch.Tensor:
    return generate(_generators(name), max_order=10_000)


def point_group(name: str, axis="z") -> PointGroup:
    """The point group with Schoenflies symbol ``name`` (e.g. "C2v", "D4h", "S4", "Td", "Ih").

    The principal axis lies along z unless ``axis`` says otherwise ("x", "y", "z" or a vector);
    the matrices are then conjugated by a rotation taking z onto ``axis``.
    """
    name = _normalize_name(name)
    M = _cached_matrices(name).clone()
    if not (isinstance(axis, str) and axis.lower() == "z"):
        Q = _frame_rotation(axis)
        M = Q @ M @ Q.T
    return PointGroup(name, M)


def catalogue(max_order: int = 48, max_n: int | None = None) -> list[str]:
    """Names of the distinct point groups of order ≤ ``max_order`` (axial groups with n ≤ max_n).

    Aliases are left out (C1h = Cs, S2 = Ci, D1 = C2, C1v = Cs, D1h = C2v, D1d = C2h).
    """
    max_n = max_n or max_order
    names = ["C1", "Ci", "Cs"]
    for n in range(2, max_n + 1):
        names += [f"C{n}", f"C{n}v", f"C{n}h", f"D{n}", f"D{n}h", f"D{n}d"]
    for n in range(2, max_n + 1, 2):
        names.append(f"S{n}")
    names = [s for s in names if s != "S2"]
    names += ["T", "Td", "Th", "O", "Oh", "I", "Ih"]
    return [s for s in names if _order_of(s) <= max_order]


def _order_of(name: str) -> int:
    fixed = {"C1": 1, "Ci": 2, "Cs": 2, "T": 12, "Td": 24, "Th": 24, "O": 24, "Oh": 48, "I": 60, "Ih": 120}
    if name in fixed:
        return fixed[name]
    m = re.fullmatch(r"([CDS])(\d+)([vhd]?)", name)
    letter, n, suffix = m.group(1), int(m.group(2)), m.group(3)
    if letter == "S":
        return n
    if letter == "C":
        return n if not suffix else 2 * n
    return 2 * n if not suffix else 4 * n


def fingerprint(matrices) -> tuple:
    """An orientation-independent description of a set of O(3) matrices: the sorted multiset of
    (det, trace) pairs (trace rounded). Conjugating by any rotation leaves it unchanged."""
    M = torch.as_tensor(matrices, dtype=_DT)
    det = torch.linalg.det(M).round().to(torch.int64).tolist()
    tr = M.diagonal(dim1=1, dim2=2).sum(-1).tolist()
    return tuple(sorted((d, round(t, 4) + 0.0) for d, t in zip(det, tr)))


# ----------------------------------------------------------------------------------------------
# naming a group from its structure
# ----------------------------------------------------------------------------------------------
def _element_orders(table) -> list[int]:
    """Order of every element from a multiplication table ``table[g][h] = index of g·h`` (0 = E)."""
    orders = []
    for g in range(len(table)):
        k, p = 1, g
        while p != 0:
            p, k = table[p][g], k + 1
            if k > len(table):
                raise ValueError("not a group: an element has no finite power equal to the identity")
        orders.append(k)
    return orders


def _rotation_group(orders: list[int]) -> tuple[str, int]:
    """("C", n), ("D", n), ("T", 12), ("O", 24) or ("I", 60): a finite rotation group named from the
    orders of its elements. Cn is cyclic (an element of order |H|); Dn has |H| = 2n with largest order n;
    T, O, I are told apart by their order and checked against their element counts."""
    h, top = len(orders), max(orders)
    count = {k: orders.count(k) for k in set(orders)}
    if top == h:
        return "C", h
    if h == 2 * top and count.get(2, 0) >= top:          # Dn: n C2' axes (plus C2 for even n)
        return "D", top
    expected = {12: ("T", {1: 1, 2: 3, 3: 8}), 24: ("O", {1: 1, 2: 9, 3: 8, 4: 6}),
                60: ("I", {1: 1, 2: 15, 3: 20, 5: 24})}
    if h in expected and expected[h][1] == count:
        return expected[h][0], h
    raise ValueError(f"the rotations (orders {count}) form no finite rotation group: not a point group")


def _schoenflies(orders: list[int], dets: list[int], inversions: list[bool]) -> str:
    """The Schoenflies name of a finite subgroup of O(3) from exact integer data per element:
    its order, its determinant (±1) and whether it is the inversion.

    The rotations (det = +1) form a group H of type Cn, Dn, T, O or I (see :func:`_rotation_group`).
    If some element is improper, exactly half of them are, and the group is either H × {E, i} (it
    contains the inversion) or H ∪ σ·(H' \\ H) for a rotation group H' with H of index 2. So:

    ========  =====================================  ========================================
    H         with the inversion                      without (told apart by the mirrors)
    ========  =====================================  ========================================
    C1        Ci                                       Cs
    Cn        Cnh (n even), S2n (n odd)                Cnv (n mirrors), Cnh (1, n odd), S2n (0)
    Dn        Dnh (n even), Dnd (n odd)                Dnh (n odd), Dnd (n even)
    T, O, I   Th, Oh, Ih                               Td (O and I have no such partner)
    ========  =====================================  ========================================

    A mirror is an improper element of order 2 that is not the inversion.
    """
    proper = [k for k, d in zip(orders, dets) if d > 0]
    kind, n = _rotation_group(proper)
    if len(proper) == len(orders):
        return f"{kind}{n}" if kind in "CD" else kind
    if 2 * len(proper) != len(orders):
        raise ValueError("improper elements must be exactly half of the group: not a point group")
    inversion = any(inversions)
    mirrors = sum(1 for k, d, inv in zip(orders, dets, inversions) if d < 0 and k == 2 and not inv)
    if kind == "C":
        if n == 1:
            return "Ci" if inversion else "Cs"
        if inversion:
            return f"C{n}h" if n % 2 == 0 else f"S{2 * n}"
        if mirrors == n:
            return f"C{n}v"
        return f"C{n}h" if mirrors == 1 else f"S{2 * n}"
    if kind == "D":
        return f"D{n}h" if (n % 2 == 0) == inversion else f"D{n}d"
    if kind == "T":
        return "Th" if inversion else "Td"
    if not inversion:
        raise ValueError(f"{kind} with improper elements but no inversion: not a point group")
    return kind + "h"


def _is_inversion(M) -> bool:
    """For an improper element of order 2: the inversion (trace -3) rather than a mirror (trace +1)."""
    return float(M[0][0] + M[1][1] + M[2][2]) < -1


def schoenflies_name(matrices, tol: float = 1e-6) -> str:
    """The Schoenflies name of a finite group of orthogonal matrices (n, 3, 3), in any orientation.

    Named from its structure, not from rounded numbers: the multiplication table (each product g·h
    matched to the one element within ``tol``, Frobenius norm), the order of each element, its
    determinant and whether it is the inversion (see :func:`_schoenflies`). Raises ``ValueError`` if
    the matrices are not a group, or if ``tol`` is so large that two distinct elements lie within
    2·tol of each other (products could then not be told apart: distinct elements of a point group
    with an n-fold axis can be as close as 2√2·sin(π/n)).
    """
    M = torch.as_tensor(matrices, dtype=_DT)
    if M.dim() != 3 or M.shape[1:] != (3, 3) or len(M) == 0:
        raise ValueError(f"matrices must have shape (n, 3, 3), got {tuple(M.shape)}")
    flat = M.reshape(-1, 9)
    gap = torch.cdist(flat, flat, compute_mode=_EXACT) + 9 * torch.eye(len(M), dtype=_DT)
    if float(gap.min()) <= 2 * tol:
        raise ValueError(f"two elements differ by only {float(gap.min()):.1e} (Frobenius), less than 2·tol: "
                         "use a smaller tol (or remove duplicate matrices)")
    identity = int((flat - torch.eye(3, dtype=_DT).reshape(9)).norm(dim=1).argmin())
    M = M[[identity] + [i for i in range(len(M)) if i != identity]]
    flat = M.reshape(-1, 9)
    prods = torch.einsum("aij,bjk->abik", M, M).reshape(-1, 9)
    best = torch.cdist(prods, flat, compute_mode=_EXACT).min(dim=1)
    if float(best.values.max()) > tol:
        raise ValueError(f"not closed under multiplication: a product is {float(best.values.max()):.1e} "
                         "from every element (not a group, or tol too small)")
    table = best.indices.reshape(len(M), len(M)).tolist()
    dets = [1 if d > 0 else -1 for d in torch.linalg.det(M).tolist()]
    orders = _element_orders(table)
    inversions = [d < 0 and k == 2 and _is_inversion(m) for d, k, m in zip(dets, orders, M)]
    return _schoenflies(orders, dets, inversions)


# ----------------------------------------------------------------------------------------------
# the point group of a structure
# ----------------------------------------------------------------------------------------------
class InfinitePointGroup:
    """The symmetry group of a linear structure or of a single atom: an infinite subgroup of O(3).

    ``name`` is "C∞v" (linear, not centrosymmetric: HCN), "D∞h" (linear and centrosymmetric: CO2)
    or "Kh" (all of O(3): a single atom). ``axis`` is the unit vector along the line (None for Kh),
    ``center`` the centroid; ``order`` is ``math.inf``. It has no list of matrices; for tools that
    need one, :meth:`finite_subgroup` gives C_nv or D_nh about the axis, which has the same invariant
    spherical harmonics as the infinite group for every degree l < n.
    """

    def __init__(self, name: str, axis=None, center=None, notes=()):
        self.name = name
        self.axis = None if axis is None else _unit(axis)
        self.center = center
        self.notes = list(notes)
        self.order = math.inf

    @property
    def proper(self) -> bool:
        return False

    @property
    def has_inversion(self) -> bool:
        return self.name in ("D∞h", "Kh")

    @property
    def max_rotation_order(self) -> float:
        return math.inf

    def finite_subgroup(self, n: int) -> PointGroup:
        """C_nv (for C∞v) or D_nh (for D∞h) with its principal axis along ``axis``."""
        if self.axis is None:
            raise ValueError("Kh (the full rotation-reflection group O(3)) has no single axis; "
                             "every finite point group is a subgroup of it")
        return point_group(f"{'C' if self.name == 'C∞v' else 'D'}{n}{'v' if self.name == 'C∞v' else 'h'}",
                           axis=self.axis)

    @property
    def matrices(self):
        raise ValueError(f"{self.name} is an infinite group: it has no finite list of matrices; "
                         "use .finite_subgroup(n) for a finite subgroup about the axis")

    def __repr__(self) -> str:
        return f"InfinitePointGroup({self.name})"


def _species_ids(species, n: int) -> np.ndarray:
    if species is None:
        return np.zeros(n, dtype=np.int64)
    labels = species.tolist() if hasattr(species, "tolist") else list(species)
    if isinstance(species, str):
        labels = list(species)
    if len(labels) != n:
        raise ValueError(f"{len(labels)} species for {n} atoms")
    lookup = {s: i for i, s in enumerate(dict.fromkeys(labels))}
    return np.array([lookup[s] for s in labels], dtype=np.int64)


def _pair_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """|a_i - b_j| for a (..., n, 3) and b (m, 3), without an (..., n, m, 3) intermediate."""
    sq = (a * a).sum(-1)[..., :, None] + (b * b).sum(-1)[None, :] - 2 * a @ b.T
    return np.sqrt(np.clip(sq, 0.0, None))


def _kabsch(x: np.ndarray, perms: np.ndarray, dets: np.ndarray):
    """Best orthogonal matrices M (K, 3, 3) with det M = ``dets`` minimising Σ_i |M x_i - x_perm(i)|²,
    and the largest distance max_i |M x_i - x_perm(i)| for each."""
    y = x[perms]                                               # (K, n, 3): the targets
    C = np.einsum("kni,nj->kij", y, x)                         # Σ y xᵀ
    U, _, Vt = np.linalg.svd(C)
    fix = dets * np.linalg.det(U) * np.linalg.det(Vt)
    U = U.copy()
    U[:, :, 2] *= fix[:, None]
    M = U @ Vt
    residual = np.linalg.norm(np.einsum("kij,nj->kni", M, x) - y, axis=-1).max(axis=1)
    return M, residual


def _symmetrize(M: np.ndarray, table: np.ndarray, iterations: int = 30) -> np.ndarray:
    """Snap approximate group matrices onto an exact representation of the group with this table.

    M_g ← polar part of (1/|G|) Σ_h M_hᵀ M_{h·g}: exact matrices are a fixed point, and for
    matrices off by ε the error drops to O(ε²) each step (averaging over the group), so a few
    steps reach round-off. The polar part (U Vᵀ from the SVD) keeps every matrix orthogonal.
    """
    for _ in range(iterations):
        A = (M.transpose(0, 2, 1)[:, None] @ M[table]).mean(0)
        U, _, Vt = np.linalg.svd(A)
        new = U @ Vt
        change = np.abs(new - M).max()
        M = new
        if change < 1e-12:       # the step before was already exact to round-off (~1e-15 per step)
            break
    return M


def identify(pos, species=None, tol: float = 1e-2) -> PointGroup | InfinitePointGroup:
    """The point group of a molecule or cluster about its centroid.

    Finds every orthogonal matrix mapping the structure onto itself (each atom within ``tol``, in
    the units of ``pos``, of an atom of the same species) and names the group they form. Real
    coordinates (read from files, relaxed, rounded) are never exactly symmetric: choose ``tol`` a
    few times larger than their noise and well below the distance between two atoms (default 0.01 Å).

    Method.
    1. Candidates: choose two atoms a, b (not collinear with the centre). An operation sends them to
       atoms a', b' of the same species, lengths and angle, and is fixed by where a×b goes (±a'×b').
    2. Each candidate decides a permutation of the atoms (every moved atom's nearest atom of its
       species); the best orthogonal matrix for that permutation (Kabsch, with the candidate's det) is
       kept if it maps every atom within ``tol`` of its partner.
    3. An operation *is* its (permutation, det): the pair fixes the matrix of a non-linear structure,
       and products are exact — (p, d)·(q, e) = (p∘q, de). So the closure is checked with no
       tolerance at all. If the operations found are not closed (noise close to ``tol``), the largest
       group among them is returned and ``.notes`` says so (with a warning). Operations that miss
       ``tol`` by less than a factor 3 are mentioned in ``.notes`` too (no warning).
    4. The matrices are snapped onto an exact representation of that group (averaged over the group,
       see :func:`_symmetrize`), so they are orthogonal and closed to ~1e-15.
    5. The group is named from its structure — orders of its elements, determinants, inversion,
       mirrors (:func:`_schoenflies`) — never from rounded traces.

    Returns a :class:`PointGroup` whose matrices act on the centred coordinates ``pos - pos.mean(0)``
    in the molecule's own frame (identity first), with extra attributes: ``center`` (the centroid),
    ``permutations`` (LongTensor (order, n_atoms): element g sends atom i to atom permutations[g, i]),
    ``symmetrized`` (the nearest exactly symmetric positions, centred), ``deviation`` (largest
    distance from an atom to its symmetrized position), ``tol`` and ``notes`` (list of strings, empty
    when nothing needs saying).

    Linear structures (every atom within tol/2 of a line through the centre, so that every rotation
    about it moves atoms by at most tol) return an :class:`InfinitePointGroup` named "C∞v" or "D∞h";
    a single atom returns one named "Kh" (the whole of O(3)). A structure that is almost linear, or
    almost centrosymmetric when linear, gets a note too.

    So an answer that depends on ``tol`` is never silent: whenever a symmetry misses ``tol`` by less
    than a factor 3, ``.notes`` says so and says which tol would find it.

    Raises ``ValueError`` when ``tol`` is too large to tell operations apart: two atoms of the same
    species within 2·tol of each other (a moved atom could land near either), or a structure no larger
    than tol.
    """
    t = torch.as_tensor(pos, dtype=_DT)
    if t.dim() != 2 or t.shape[1] != 3 or len(t) == 0:
        raise ValueError(f"pos must have shape (n_atoms, 3), got {tuple(t.shape)}")
    if not bool(torch.isfinite(t).all()):
        raise ValueError("pos contains NaN or infinite coordinates")
    if not tol > 0:
        raise ValueError(f"tol must be a positive distance, got {tol}")
    raw = t.detach().cpu().numpy().astype(np.float64)
    n = len(raw)
    species_ids = _species_ids(species, n)
    center_np = raw.mean(0)
    x = raw - center_np
    center = torch.from_numpy(center_np.copy())
    same = species_ids[:, None] == species_ids[None, :]
    dist = _pair_distances(x, x)
    close = np.argwhere(same & (dist <= 2 * tol) & ~np.eye(n, dtype=bool))
    if len(close):
        i, j = close[0]
        raise ValueError(f"atoms {i} and {j} (same species) are {dist[i, j]:.3g} apart, within 2·tol = "
                         f"{2 * tol:.3g}: tol is too large to tell them apart (a moved atom could land on "
                         f"either). Use tol below {dist[i, j] / 2:.3g} (a few times the noise of the "
                         "coordinates), or remove duplicated atoms.")
    r = np.linalg.norm(x, axis=1)
    if n == 1:
        return InfinitePointGroup("Kh", center=center)          # a single atom: all of O(3)
    if r.max() <= tol:
        raise ValueError(f"every atom lies within tol = {tol:.3g} of the centroid: tol is as large as the "
                         "structure, so every rotation would count as a symmetry. Use a smaller tol.")
    axis, off_line = _line_axis(x, r)
    if off_line > tol / 2:
        perms, dets, residuals = _candidates(x, r, same, tol)
        group = _group_from_operations(x, perms, dets, residuals, tol, center)
        if off_line <= 1.5 * tol:
            group.notes.append(f"the structure lies within {off_line:.2g} of a line: with tol ≥ "
                               f"{2 * off_line:.2g} it is linear (C∞v or D∞h)")
        return group
    d = _pair_distances(-x, x) + np.where(same, 0.0, np.inf)         # x -> -x: the inversion
    inverted = d.min(1).max() if len(set(d.argmin(1).tolist())) == n else np.inf
    notes = []
    if tol < inverted <= 3 * tol:
        notes.append(f"the inversion maps the structure within {inverted:.2g} (units of pos), just above "
                     f"tol = {tol:.3g}: with a larger tol it is D∞h")
    return InfinitePointGroup("D∞h" if inverted <= tol else "C∞v", axis=torch.from_numpy(axis),
                              center=center, notes=notes)


def _line_axis(x, r):
    """(axis, distance): the line through the centre that the atoms are closest to (largest distance
    of an atom from it), tried along the principal axis of the positions and along the farthest atom.
    A rotation about the line moves an atom by at most twice its distance from it, so the structure
    is linear within tol when that distance is at most tol/2."""
    best = None
    for axis in (np.linalg.eigh(x.T @ x)[1][:, -1], x[np.argmax(r)] / r.max()):
        off = float(np.linalg.norm(x - np.outer(x @ axis, axis), axis=1).max())
        if best is None or off < best[1]:
            best = (axis, off)
    return best


def _candidates(x, r, same, tol):
    """Steps 1–2 of :func:`identify`: (permutations, dets, residuals) of every distinct operation
    suggested by the atom pair (a, b), residual = largest distance of a moved atom from its partner."""
    n = len(x)
    near_r = same & (np.abs(r[:, None] - r[None]) <= 2 * tol)
    n_like = near_r.sum(1)                                    # atoms a could be sent to
    off = r > tol
    # a: off the centre, fewest possible images, then the farthest
    ia = min(np.flatnonzero(off), key=lambda i: (n_like[i], -r[i]))
    a = x[ia]
    area = np.linalg.norm(np.cross(a, x), axis=1)
    wide = np.flatnonzero(area >= 0.5 * area.max())
    ib = min(wide, key=lambda i: (n_like[i], -area[i]))
    b = x[ib]
    F_inv = np.linalg.inv(np.stack([a, b, np.cross(a, b)], axis=1))
    slack = 2 * tol * (np.linalg.norm(a) + np.linalg.norm(b)) + 4 * tol ** 2
    ja, jb = np.nonzero(near_r[ia][:, None] & near_r[ib][None, :]
                        & (np.abs(x @ x.T - a @ b) <= slack) & ~np.eye(n, dtype=bool))
    xa, xb = x[ja], x[jb]
    c = np.cross(xa, xb)
    frames = np.concatenate([np.stack([xa, xb, c], axis=2), np.stack([xa, xb, -c], axis=2)])
    U, _, Vt = np.linalg.svd(frames @ F_inv)
    M0 = U @ Vt                                               # nearest orthogonal matrices
    dets = np.where(np.linalg.det(M0) > 0, 1, -1)
    mask = np.where(same, 0.0, np.inf)
    perms, dets = _distinct_permutations(M0, dets, x, mask)
    # refine: the best matrix for each permutation (fitted on all atoms, not just a and b), assign again
    M1, _ = _kabsch(x, perms, dets)
    perms, dets = _distinct_permutations(M1, dets, x, mask)
    _, residuals = _kabsch(x, perms, dets)
    return perms, dets, residuals


def _distinct_permutations(M, dets, x, mask):
    """For each matrix, the permutation sending every atom to the nearest atom of its species
    (``mask``: 0 where species agree, inf elsewhere); only bijections, each (permutation, det) once."""
    n = len(x)
    moved = np.einsum("kij,nj->kni", M, x)
    perms = np.empty((len(M), n), dtype=np.int64)
    chunk = max(1, 2_000_000 // (n * n))                      # bounded memory for large clusters
    for s in range(0, len(M), chunk):
        perms[s:s + chunk] = (_pair_distances(moved[s:s + chunk], x) + mask).argmin(axis=2)
    ok = (np.sort(perms, axis=1) == np.arange(n)).all(axis=1)
    perms, dets = perms[ok], dets[ok]
    _, first = np.unique(np.concatenate([perms, dets[:, None]], axis=1), axis=0, return_index=True)
    first = np.sort(first)
    return perms[first], dets[first]


def _close(generators, multiply, cap: int):
    """Indices of the group generated by ``generators`` (0 = identity), by breadth-first right
    multiplication; ``multiply(a, b)`` returns the index of a·b or None (product not allowed).
    Returns None if a product is not allowed or more than ``cap`` elements appear."""
    group, members, k = [0], {0}, 0
    while k < len(group):
        e = group[k]
        k += 1
        for s in generators:
            j = multiply(e, s)
            if j is None:
                return None
            if j not in members:
                if len(group) >= cap:
                    return None
                members.add(j)
                group.append(j)
    return group


def _largest_closed(table: list[list[int]]) -> list[int]:
    """The largest group (found greedily) inside a set of operations that is not closed.

    ``table[a][b]`` is the index of a·b in the set, or -1 when the product falls outside; element 0
    is the identity, the others come best-fitting first. From every seed, elements are added in that
    order whenever the group they generate stays inside the set."""
    def multiply(a, b):
        j = table[a][b]
        return j if j >= 0 else None

    cap, best = len(table), [0]
    for seed in range(1, len(table)):
        if seed in best:
            continue
        gens = [seed]
        current = _close(gens, multiply, cap)
        if current is None:
            continue
        for g in range(1, len(table)):
            if g not in current:
                trial = _close(gens + [g], multiply, cap)
                if trial is not None:
                    gens, current = gens + [g], trial
        if len(current) > len(best):
            best = current
    return best


def _multiplication_table(P: np.ndarray, D: np.ndarray) -> np.ndarray:
    """table[a, b] = index of a·b among the operations (P, D), or -1 if it is not one of them.

    (p, d)·(q, e) = (p∘q, de): apply q, then p, so atom i goes to p[q[i]]. Matching is exact on
    integers: rows are looked up through a 64-bit hash, then compared entry by entry."""
    m, n = P.shape
    weights = np.random.default_rng(12345).integers(1, 2 ** 62, size=n + 1, dtype=np.int64)

    def hashes(perms, dets):
        return perms @ weights[:n] + dets * weights[n]      # wraps around modulo 2^64: fine for a hash

    prod = P[np.arange(m)[:, None, None], P[None, :, :]].reshape(m * m, n)       # p_a[p_b]
    prod_D = (D[:, None] * D[None, :]).reshape(-1)
    h = hashes(P, D)
    order = np.argsort(h, kind="stable")
    hp = hashes(prod, prod_D)
    k = order[np.clip(np.searchsorted(h[order], hp), 0, m - 1)]
    match = (h[k] == hp) & (P[k] == prod).all(axis=1) & (D[k] == prod_D)
    return np.where(match, k, -1).reshape(m, m)


def _group_from_operations(x, perms, dets, residuals, tol, center) -> PointGroup:
    """Steps 3–5 of :func:`identify`: close, snap and name the operations found."""
    n = len(x)
    identity = np.arange(n)
    ok = residuals <= tol
    is_identity = (perms == identity).all(axis=1) & (dets > 0)
    order = np.argsort(residuals[ok & ~is_identity], kind="stable")        # best fitting first
    P = np.concatenate([identity[None], perms[ok & ~is_identity][order]])
    D = np.concatenate([[1], dets[ok & ~is_identity][order]]).astype(np.int64)
    near_misses = np.sort(residuals[(residuals > tol) & (residuals <= 3 * tol)])
    table = _multiplication_table(P, D)
    notes = []
    closed = not (table < 0).any()
    if not closed:
        keep = sorted(_largest_closed(table.tolist()))
        message = (f"the {len(P)} operations found within tol = {tol:.3g} do not form a group (the "
                   "coordinates are too noisy for this tol); returned the largest group among them")
        big = _generated(P, D, cap=240)
        if big is not None:
            _, needed = _kabsch(x, *big)
            try:
                name_big = _name_operations(x, *big)[0]
                message += f". With tol ≥ {needed.max():.2g} they generate {name_big} (order {len(big[0])})"
            except ValueError:
                pass
        notes.append(message)
        P, D = P[keep], D[keep]
        table = _multiplication_table(P, D)
    elif len(near_misses):
        notes.append(f"{len(near_misses)} more operation(s) map the structure within {near_misses[0]:.2g} "
                     f"(units of pos), just above tol = {tol:.3g}: if the coordinates are that noisy, "
                     "a larger tol may find more symmetry")
    name, M = _name_operations(x, P, D, table)
    symmetrized = np.einsum("gji,gnj->ni", M, x[P]) / len(P)       # mean over g of g⁻¹ x_{p_g(i)}
    group = PointGroup(name, torch.from_numpy(M), notes=notes)
    group.center = center
    group.permutations = torch.from_numpy(P.astype(np.int64))
    group.symmetrized = torch.from_numpy(symmetrized)
    group.deviation = float(np.linalg.norm(symmetrized - x, axis=1).max())
    group.tol = tol
    if not closed:                   # the answer is a compromise: say so where it is seen
        warnings.warn(f"identify: {notes[0]}", stacklevel=3)
    return group


def _generated(P: np.ndarray, D: np.ndarray, cap: int):
    """(perms, dets) of the group the operations generate, in permutation space; None past ``cap``."""
    plist, dlist = [p for p in P], [int(d) for d in D]
    index = {(p.tobytes(), d): k for k, (p, d) in enumerate(zip(plist, dlist))}

    def multiply(a, b):
        p, d = plist[a][plist[b]], dlist[a] * dlist[b]
        key = (p.tobytes(), d)
        if key not in index:
            index[key] = len(plist)
            plist.append(p)
            dlist.append(d)
        return index[key]

    group = _close(range(1, len(P)), multiply, cap)
    if group is None:
        return None
    return np.stack([plist[i] for i in group]), np.array([dlist[i] for i in group])


def _name_operations(x, P, D, table=None):
    """(name, snapped matrices (m, 3, 3)) of a closed set of operations (P, D), identity first."""
    table = _multiplication_table(P, D) if table is None else table
    if (table < 0).any():
        raise ValueError("the operations are not closed")
    M, _ = _kabsch(x, P, D)
    M = _symmetrize(M, table)
    orders = _element_orders(table.tolist())
    inversions = [bool(d < 0 and k == 2 and _is_inversion(Mg)) for d, k, Mg in zip(D, orders, M)]
    return _schoenflies(orders, D.tolist(), inversions), M


# ----------------------------------------------------------------------------------------------
# representation theory on top
# ----------------------------------------------------------------------------------------------
def _as_group(group) -> PointGroup:
    return point_group(group) if isinstance(group, str) else group


def invariant_projector(group, irreps) -> torch.Tensor:
    """P = (1/|G|) Σ_g D(g): the orthogonal projector onto the G-invariant vectors of ``irreps``."""
    return _as_group(group).D(irreps).mean(0)


def _rank(P: torch.Tensor) -> int:
    if P.numel() == 0:
        return 0
    return int(torch.linalg.matrix_rank(P, atol=1e-8))


def count_invariant_harmonics(group, lmax: int) -> dict[int, int]:
    """{l: number of independent G-invariant spherical harmonics of degree l}, l = 0..lmax.

    Spherical harmonics of degree l transform as the irrep ``o3.Irrep(l, (-1)**l)``; the count is
    the rank of the invariant projector on that irrep.
    """
    group = _as_group(group)
    return {l: _rank(invariant_projector(group, o3.Irrep(l, (-1) ** l))) for l in range(lmax + 1)}


def character_count(group, irrep) -> int:
    """The same count from characters: (1/|G|) Σ_g χ(g) with χ(g) = trace D(g)."""
    chi = _as_group(group).D(irrep).diagonal(dim1=1, dim2=2).sum(-1)
    value = float(chi.mean())
    if abs(value - round(value)) > 1e-6:
        raise ValueError(f"the character average {value} is not an integer: not a group?")
    return int(round(value))


def energy_levels(H: torch.Tensor, tol: float = 1e-8) -> list[tuple[float, int]]:
    """Eigenvalues of a symmetric matrix grouped into levels: [(energy, multiplicity), ...] ascending.
    Two eigenvalues are one level when they differ by less than ``tol`` × (spread of the spectrum + 1)."""
    e = torch.linalg.eigvalsh(H.to(_DT)).tolist()
    eps = tol * (e[-1] - e[0] + 1.0)
    levels: list[list] = []
    for v in e:
        if levels and v - levels[-1][-1] < eps:
            levels[-1].append(v)
        else:
            levels.append([v])
    return [(sum(lv) / len(lv), len(lv)) for lv in levels]


def degeneracies(group, irreps, seed: int = 0) -> list[int]:
    """Multiplicities (sorted) of the eigenvalues of a random symmetric operator averaged over G.

    H = (1/|G|) Σ_g D(g) A D(g)ᵀ commutes with every D(g); by Schur's lemma it is a multiple of the
    identity on each irreducible piece of the group's representation, so its repeated eigenvalues
    are the dimensions of those pieces (for a random A, no further coincidences).
    Example: the d orbitals ("1x2e") under Oh → [2, 3] (e_g and t2g).
    """
    D = _as_group(group).D(irreps)
    gen = torch.Generator().manual_seed(seed)
    A = torch.randn(D.shape[1], D.shape[1], generator=gen, dtype=_DT)
    A = A + A.T
    H = torch.einsum("gij,jk,glk->il", D, A, D) / len(D)
    return sorted(m for _, m in energy_levels(H, tol=1e-8))


@lru_cache(maxsize=None)
def _rtp_irreps(formula: str, items: tuple) -> o3.Irreps:
    with default_dtype(_DT):
        return o3.ReducedTensorProducts(formula, **dict(items)).irreps_out


def tensor_component_count(group, formula: str, **irreps) -> int:
    """Neumann's principle: independent components of a Cartesian tensor invariant under ``group``.

    ``formula`` gives the index symmetries as in e3nn, e.g. "ij=ji" (dielectric tensor),
    "ijk=ikj" (piezoelectric), "ijkl=jikl=ijlk=klij" (elastic); ``irreps`` says how each index
    transforms, by default ``i="1o"`` (a polar vector); indices not named take the irreps of the
    first one named (so ``i="1o"`` means every index is a polar vector). The tensor space is decomposed into irreps
    by ``o3.ReducedTensorProducts``; the answer is the rank of the group's invariant projector on it.
    """
    letters = sorted({c for c in formula if c.isalpha()})
    default = str(next(iter(irreps.values()))) if irreps else "1o"
    irreps = {c: str(irreps.get(c, default)) for c in letters}   # unnamed indices: like the first
    irreps_out = _rtp_irreps(formula, tuple(sorted((k, str(v)) for k, v in irreps.items())))
    return _rank(invariant_projector(group, irreps_out))


# ----------------------------------------------------------------------------------------------
# pictures
# ----------------------------------------------------------------------------------------------
GENERIC_POINT = (0.62, 0.47, 0.63)   # on no symmetry element of any catalogue group in standard orientation


def orbit(group, point=GENERIC_POINT) -> torch.Tensor:
    """The images g·p of one point under every element: (order, 3). A generic point has |G| images."""
    return _as_group(group).apply(torch.as_tensor(point, dtype=_DT)[None])[:, 0]


def first_invariant_harmonic(group, lmax: int = 12, lmin: int = 1):
    """(l, coefficients) of a G-invariant spherical harmonic of the lowest degree l ≥ ``lmin``.

    The coefficients (length 2l+1, e3nn's order m = -l..l) are the column of the invariant projector
    with the largest norm, normalised to unit length: deterministic, and invariant by construction.
    Returns ``(None, None)`` if there is none up to ``lmax``.
    """
    group = _as_group(group)
    for l in range(lmin, lmax + 1):
        P = invariant_projector(group, o3.Irrep(l, (-1) ** l))
        norms = P.norm(dim=0)
        if norms.max() > 1e-8:
            c = P[:, int(norms.argmax())]
            return l, c / c.norm()
    return None, None


def group_figure(group, *, point=GENERIC_POINT, lmax: int = 12, resolution: int = 30):
    """A plotly figure: the orbit of a generic point (left) and
    the lowest invariant spherical harmonic of the group (right)."""
    from plotly.subplots import make_subplots

    from .viz import point_cloud, sphere_signal, style

    group = _as_group(group)
    pts = orbit(group, point)
    l, c = first_invariant_harmonic(group, lmax)
    title = f"invariant harmonic l={l}" if l is not None else f"no invariant harmonic up to l={lmax}"
    fig = make_subplots(rows=1, cols=2, specs=[[{"type": "scene"}, {"type": "scene"}]],
                        subplot_titles=(f"{group.name}: orbit of one point ({group.order} images)", title))
    left = point_cloud(pts, colors=group.dets, size=5)   # colour = det: +1 proper, -1 improper
    for trace in left.data:
        fig.add_trace(trace, row=1, col=1)
    if l is not None:
        coeffs = torch.zeros((l + 1) ** 2, dtype=_DT)
        coeffs[l * l:(l + 1) ** 2] = c
        right = sphere_signal(coeffs, resolution=resolution, showscale=False)
        for trace in right.data:
            fig.add_trace(trace, row=1, col=2)
    style(fig, height=420)                     # the course's template and margins (titles and axes not clipped)
    fig.update_layout(showlegend=False)
    return fig


def group_explorer(names=("C2v", "C3v", "D3d", "D4h", "S4", "Td", "Th", "Oh", "Ih"), **kwargs):
    """A Dropdown of groups and :func:`group_figure` of the chosen one (an ipywidgets ``VBox``).
    ``.figure`` holds the current figure, ``.select(name)`` changes the group."""
    import ipywidgets as widgets

    from .widgets import FigureBox, _show

    box = FigureBox()
    dropdown = widgets.Dropdown(options=list(names), value=names[0], description="group")
    out = widgets.Output()

    def select(name):
        dropdown.value = name
        box.figure = group_figure(name, **kwargs)
        _show(out, box.figure)
        return box.figure

    dropdown.observe(lambda change: select(change["new"]), names="value")
    box.children = [dropdown, out]
    box.select = select
    select(names[0])
    return box
