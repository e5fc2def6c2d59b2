"""Building finite point groups: elementary operations, closure, the :class:`PointGroup` object, and
the catalogue of groups by Schoenflies name (conventions: the package docstring, :mod:`e3teach.point_groups`)."""
from __future__ import annotations

import math
import re
from fractions import Fraction
from functools import lru_cache

import torch
from e3nn import o3

from ..env import default_dtype

__all__ = ["DTYPE", "EXACT_CDIST", "MATCH_TOL", "ORTHOGONAL_TOL", "RANK_TOL", "GROUP_NAMES", "unit", "rotation",
           "reflection", "improper_rotation", "element_symbol", "generate", "PointGroup", "point_group", "as_group",
           "catalogue", "fingerprint"]

#: Every matrix here is float64: ranks and degeneracies are integers read off float matrices.
DTYPE = torch.float64
#: ``torch.cdist`` without the |a|²+|b|²-2ab shortcut (which loses digits).
EXACT_CDIST = "donot_use_mm_for_euclid_dist"
#: Two group elements (or angles, traces) are the same when they differ by less than this, entrywise.
MATCH_TOL = 1e-6
#: A generator is orthogonal when |R Rᵀ - 1| stays below this, entrywise.
ORTHOGONAL_TOL = 1e-8
#: Singular values (and projector columns) below this count as zero in ranks: exact answers are integers.
RANK_TOL = 1e-8

#: Names accepted by :func:`point_group` (n stands for an integer).
GROUP_NAMES = ("C1", "Ci", "Cs", "Cn", "Cnv", "Cnh", "Dn", "Dnh", "Dnd", "S2n",
               "T", "Td", "Th", "O", "Oh", "I", "Ih")


# ----------------------------------------------------------------------------------------------
# elementary operations
# ----------------------------------------------------------------------------------------------
def unit(v) -> torch.Tensor:
    """``v`` as a float64 unit vector."""
    v = torch.as_tensor(v, dtype=DTYPE)
    return v / v.norm()


def rotation(axis, angle: float) -> torch.Tensor:
    """Proper rotation by ``angle`` (radians, right-handed) about ``axis`` (Rodrigues' formula)."""
    n = unit(axis)
    K = torch.tensor([[0.0, -n[2], n[1]], [n[2], 0.0, -n[0]], [-n[1], n[0], 0.0]], dtype=DTYPE)
    return torch.eye(3, dtype=DTYPE) + math.sin(angle) * K + (1 - math.cos(angle)) * (K @ K)


def reflection(normal) -> torch.Tensor:
    """Mirror through the plane (through the origin) with the given normal: I - 2 n nᵀ."""
    n = unit(normal)
    return torch.eye(3, dtype=DTYPE) - 2 * torch.outer(n, n)


def improper_rotation(axis, n: int) -> torch.Tensor:
    """S_n: rotation by 2π/n about ``axis`` followed by the mirror perpendicular to it."""
    return reflection(axis) @ rotation(axis, 2 * math.pi / n)


def element_symbol(M) -> str:
    """The kind of an O(3) matrix as a Schoenflies element symbol: "E", "Cn", "i", "σ" or "Sn".

    Read from det and trace only (so C4 and C4³ both say "C4"): a rotation by θ has trace 1 + 2cos θ;
    an improper element σ·C(θ) has trace -1 + 2cos θ (θ = 0: a mirror σ, θ = π: the inversion i).
    """
    M = torch.as_tensor(M, dtype=DTYPE)
    det = float(torch.linalg.det(M))
    c = max(-1.0, min(1.0, (float(M.trace()) - det) / 2))
    theta = math.acos(c)
    if theta < MATCH_TOL:
        return "E" if det > 0 else "σ"
    if det < 0 and abs(theta - math.pi) < MATCH_TOL:
        return "i"
    n = Fraction(theta / (2 * math.pi)).limit_denominator(120).denominator   # θ = 2πk/n
    return f"{'C' if det > 0 else 'S'}{n}"


# ----------------------------------------------------------------------------------------------
# closure
# ----------------------------------------------------------------------------------------------
def generate(generators, max_order: int = 240, tol: float = MATCH_TOL) -> torch.Tensor:
    """All products of ``generators`` (orthogonal 3×3 matrices): the group they generate.

    Breadth-first closure: start from the identity, multiply every element found so far by every
    generator, keep products not yet in the list (two matrices are equal when they differ by less
    than ``tol`` entrywise). The order of the result is deterministic, identity first.
    Raises ``ValueError`` if more than ``max_order`` elements appear (an infinite group, e.g. a
    rotation by an irrational angle, or matrices that are not orthogonal).
    """
    gens = [torch.as_tensor(g, dtype=DTYPE) for g in generators]
    if len(gens) and isinstance(generators, torch.Tensor) and generators.dim() == 2:
        gens = [generators.to(DTYPE)]
    for g in gens:
        if g.shape != (3, 3):
            raise ValueError(f"generators must be 3x3 matrices, got shape {tuple(g.shape)}")
        if (g @ g.T - torch.eye(3, dtype=DTYPE)).abs().max() > ORTHOGONAL_TOL:
            raise ValueError("generators must be orthogonal matrices (R Rᵀ = 1)")
    elements = [torch.eye(3, dtype=DTYPE)]
    stack = torch.eye(3, dtype=DTYPE)[None]
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
        self.matrices = torch.as_tensor(matrices, dtype=DTYPE)
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
        return bool(((self.matrices + torch.eye(3, dtype=DTYPE)).abs().amax(dim=(1, 2)) < MATCH_TOL).any())

    @property
    def n_mirrors(self) -> int:
        """Number of mirror planes (elements with det = -1 and trace = +1)."""
        tr = self.matrices.diagonal(dim1=1, dim2=2).sum(-1)
        return int(((self.dets < 0) & ((tr - 1).abs() < MATCH_TOL)).sum())

    def rotation_orders(self) -> dict[int, int]:
        """{n: number of proper elements whose rotation angle is 2π/n} (n = 1 is the identity)."""
        out: dict[int, int] = {}
        for M, d in zip(self.matrices, self.dets):
            if d < 0:
                continue
            c = float(((M.trace() - 1) / 2).clamp(-1, 1))
            angle = math.acos(c)
            n = 1 if angle < MATCH_TOL else round(2 * math.pi / angle)
            if angle > MATCH_TOL and abs(2 * math.pi / n - angle) > MATCH_TOL:
                continue  # a power like C5², counted through its own angle elsewhere
            out[n] = out.get(n, 0) + 1
        return dict(sorted(out.items()))

    @property
    def max_rotation_order(self) -> int:
        return max(self.rotation_orders())

    def D(self, irreps) -> torch.Tensor:
        """Representation matrices (n, dim, dim) of every element on ``irreps`` (float64)."""
        with default_dtype(DTYPE):
            return o3.Irreps(irreps).D_from_matrix(self.matrices)

    def apply(self, pos) -> torch.Tensor:
        """Orbit of points: (n_group, n_points, 3) = every element applied to ``pos``."""
        pos = torch.as_tensor(pos, dtype=DTYPE)
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
    inv = -torch.eye(3, dtype=DTYPE)
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
    a = unit(axis)
    z = torch.tensor(_Z, dtype=DTYPE)
    c = float(z @ a)
    if c > 1 - 1e-12:
        return torch.eye(3, dtype=DTYPE)
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
    M = torch.as_tensor(matrices, dtype=DTYPE)
    det = torch.linalg.det(M).round().to(torch.int64).tolist()
    tr = M.diagonal(dim1=1, dim2=2).sum(-1).tolist()
    return tuple(sorted((d, round(t, 4) + 0.0) for d, t in zip(det, tr)))


def as_group(group) -> PointGroup:
    """A :class:`PointGroup` from a name ("D4h") or the group itself."""
    return point_group(group) if isinstance(group, str) else group
