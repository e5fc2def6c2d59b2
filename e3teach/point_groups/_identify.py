"""The point group of a molecule or cluster from its coordinates, robust to noise: :func:`identify`
(the method is in its docstring) and :class:`InfinitePointGroup` for linear structures and single atoms."""
from __future__ import annotations

import math
import warnings

import numpy as np
import torch

from ._groups import DTYPE, PointGroup, point_group, unit
from ._naming import element_orders, is_inversion, schoenflies

__all__ = ["InfinitePointGroup", "identify"]


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
        self.axis = None if axis is None else unit(axis)
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
       mirrors (:func:`schoenflies`) — never from rounded traces.

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
    t = torch.as_tensor(pos, dtype=DTYPE)
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
    orders = element_orders(table.tolist())
    inversions = [bool(d < 0 and k == 2 and is_inversion(Mg)) for d, k, Mg in zip(D, orders, M)]
    return schoenflies(orders, D.tolist(), inversions), M
