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

Main entry points: :func:`generate`, :func:`point_group`, :func:`identify`,
:func:`invariant_projector`, :func:`count_invariant_harmonics`, :func:`character_count`,
:func:`degeneracies`, :func:`tensor_component_count`.
"""
from __future__ import annotations

import math
import re
from fractions import Fraction
from functools import lru_cache

import torch
from e3nn import o3

from .env import default_dtype

__all__ = ["generate", "PointGroup", "point_group", "identify", "invariant_projector",
           "count_invariant_harmonics", "character_count", "degeneracies", "energy_levels",
           "tensor_component_count", "rotation", "reflection", "improper_rotation", "catalogue",
           "fingerprint", "element_symbol", "orbit", "first_invariant_harmonic",
           "group_figure", "group_explorer", "GROUP_NAMES"]

_DT = torch.float64

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
    """A finite subgroup of O(3): a Schoenflies ``name`` and its ``matrices`` (n, 3, 3), float64."""

    def __init__(self, name: str, matrices: torch.Tensor):
        self.name = name
        self.matrices = torch.as_tensor(matrices, dtype=_DT)

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


@lru_cache(maxsize=None)
def _fingerprints_of_order(order: int) -> dict[tuple, str]:
    table: dict[tuple, str] = {}
    for name in catalogue(max_order=order, max_n=order):
        if _order_of(name) == order:
            table.setdefault(fingerprint(_cached_matrices(name)), name)
    return table


def _name_of(matrices: torch.Tensor) -> str:
    table = _fingerprints_of_order(len(matrices))
    fp = fingerprint(matrices)
    if fp not in table:
        raise ValueError(f"a group of order {len(matrices)} that matches no catalogue entry")
    return table[fp]


# ----------------------------------------------------------------------------------------------
# the point group of a structure
# ----------------------------------------------------------------------------------------------
def _maps_onto(M, pos, species, tol) -> bool:
    moved = pos @ M.T
    d = torch.cdist(moved, pos)
    d = d + 1e9 * (species[:, None] != species[None, :])
    # a permutation: every moved atom lands on a distinct atom of the same species
    best = d.argmin(dim=1)
    return bool((d.min(dim=1).values < tol).all()) and len(set(best.tolist())) == len(pos)


def identify(pos, species=None, tol: float = 1e-3) -> PointGroup:
    """The point group of a molecule or cluster about its centroid.

    Finds every orthogonal matrix mapping the structure onto itself (atoms onto atoms of the same
    species, within ``tol`` in the units of ``pos``) and names the group by comparing its
    orientation-independent fingerprint with the catalogue. The returned matrices act on the
    centred coordinates ``pos - pos.mean(0)`` in the molecule's own frame; ``.center`` holds the
    centroid.

    Method: choose two atoms a, b (not collinear with the centre). A symmetry operation sends them to
    two atoms a', b' of the same species with the same lengths and the same angle, and is then fixed
    by where a×b goes (±a'×b'). Each such candidate is kept if it maps the whole structure onto itself.
    Linear structures (infinite groups C∞v, D∞h) raise ``ValueError``.
    """
    pos = torch.as_tensor(pos, dtype=_DT)
    if pos.dim() != 2 or pos.shape[1] != 3:
        raise ValueError(f"pos must have shape (n_atoms, 3), got {tuple(pos.shape)}")
    n = len(pos)
    if species is None:
        species_t = torch.zeros(n, dtype=torch.int64)
    else:
        labels = list(species.tolist() if isinstance(species, torch.Tensor) else species)
        if len(labels) != n:
            raise ValueError(f"{len(labels)} species for {n} atoms")
        lookup = {s: i for i, s in enumerate(dict.fromkeys(labels))}
        species_t = torch.tensor([lookup[s] for s in labels], dtype=torch.int64)
    center = pos.mean(0)
    x = pos - center
    r = x.norm(dim=1)
    scale = max(float(r.max()), 1e-12)
    off = r > tol
    if off.sum() == 0:
        raise ValueError("all atoms sit at the centre: the symmetry group is all of O(3)")
    # a: an atom off the centre from the smallest species class (fewest candidates)
    counts = torch.bincount(species_t, minlength=int(species_t.max()) + 1)
    cls = torch.where(off, counts[species_t], torch.full_like(species_t, n + 1))
    ia = int(torch.argmin(cls * 10 * scale - r))     # smallest class, then farthest atom
    a = x[ia]
    # b: the atom making the largest area with a
    area = torch.linalg.cross(a.expand_as(x), x).norm(dim=1)
    ib = int(torch.argmax(area))
    if area[ib] < tol * scale:
        raise ValueError("the structure is linear: its symmetry group (C∞v or D∞h) is infinite")
    b = x[ib]
    F = torch.stack([a, b, torch.linalg.cross(a, b)], dim=1)
    F_inv = torch.linalg.inv(F)
    found = []
    for ja in range(n):
        if species_t[ja] != species_t[ia] or abs(r[ja] - r[ia]) > tol:
            continue
        for jb in range(n):
            if species_t[jb] != species_t[ib] or abs(r[jb] - r[ib]) > tol:
                continue
            if abs(x[ja] @ x[jb] - a @ b) > 2 * tol * scale:
                continue
            c = torch.linalg.cross(x[ja], x[jb])
            for sign in (1.0, -1.0):
                M = torch.stack([x[ja], x[jb], sign * c], dim=1) @ F_inv
                U, _, Vh = torch.linalg.svd(M)
                M = U @ Vh                       # nearest orthogonal matrix
                if _maps_onto(M, x, species_t, tol):
                    if not found or (torch.stack(found) - M).abs().amax(dim=(1, 2)).min() > 1e-6:
                        found.append(M)
    # identity first, then the closure order (also checks it is a group)
    G = generate(found, max_order=max(len(found), 1), tol=max(1e-6, 10 * tol / scale))
    group = PointGroup(_name_of(G), G)
    group.center = center
    return group


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

    from .viz import point_cloud, sphere_signal

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
    fig.update_layout(height=420, showlegend=False, margin=dict(l=0, r=0, t=40, b=0))
    return fig


def group_explorer(names=("C2v", "C3v", "D3d", "D4h", "S4", "Td", "Th", "Oh", "Ih"), **kwargs):
    """A Dropdown of groups and :func:`group_figure` of the chosen one (an ipywidgets ``VBox``).
    ``.figure`` holds the current figure, ``.select(name)`` changes the group."""
    import ipywidgets as widgets

    from .widgets import _show

    box = widgets.VBox()
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
