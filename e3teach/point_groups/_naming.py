"""Naming a finite subgroup of O(3) from its structure — orders of its elements, determinants, the
inversion, mirrors — never from rounded numbers (Schoenflies symbols)."""
from __future__ import annotations

import torch

from ._groups import DTYPE, EXACT_CDIST, MATCH_TOL

__all__ = ["element_orders", "schoenflies", "is_inversion", "schoenflies_name"]


# ----------------------------------------------------------------------------------------------
# naming a group from its structure
# ----------------------------------------------------------------------------------------------
def element_orders(table) -> list[int]:
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


def schoenflies(orders: list[int], dets: list[int], inversions: list[bool]) -> str:
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


def is_inversion(M) -> bool:
    """For an improper element of order 2: the inversion (trace -3) rather than a mirror (trace +1)."""
    return float(M[0][0] + M[1][1] + M[2][2]) < -1


def schoenflies_name(matrices, tol: float = MATCH_TOL) -> str:
    """The Schoenflies name of a finite group of orthogonal matrices (n, 3, 3), in any orientation.

    Named from its structure, not from rounded numbers: the multiplication table (each product g·h
    matched to the one element within ``tol``, Frobenius norm), the order of each element, its
    determinant and whether it is the inversion (see :func:`schoenflies`). Raises ``ValueError`` if
    the matrices are not a group, or if ``tol`` is so large that two distinct elements lie within
    2·tol of each other (products could then not be told apart: distinct elements of a point group
    with an n-fold axis can be as close as 2√2·sin(π/n)).
    """
    M = torch.as_tensor(matrices, dtype=DTYPE)
    if M.dim() != 3 or M.shape[1:] != (3, 3) or len(M) == 0:
        raise ValueError(f"matrices must have shape (n, 3, 3), got {tuple(M.shape)}")
    flat = M.reshape(-1, 9)
    gap = torch.cdist(flat, flat, compute_mode=EXACT_CDIST) + 9 * torch.eye(len(M), dtype=DTYPE)
    if float(gap.min()) <= 2 * tol:
        raise ValueError(f"two elements differ by only {float(gap.min()):.1e} (Frobenius), less than 2·tol: "
                         "use a smaller tol (or remove duplicate matrices)")
    identity = int((flat - torch.eye(3, dtype=DTYPE).reshape(9)).norm(dim=1).argmin())
    M = M[[identity] + [i for i in range(len(M)) if i != identity]]
    flat = M.reshape(-1, 9)
    prods = torch.einsum("aij,bjk->abik", M, M).reshape(-1, 9)
    best = torch.cdist(prods, flat, compute_mode=EXACT_CDIST).min(dim=1)
    if float(best.values.max()) > tol:
        raise ValueError(f"not closed under multiplication: a product is {float(best.values.max()):.1e} "
                         "from every element (not a group, or tol too small)")
    table = best.indices.reshape(len(M), len(M)).tolist()
    dets = [1 if d > 0 else -1 for d in torch.linalg.det(M).tolist()]
    orders = element_orders(table)
    inversions = [d < 0 and k == 2 and is_inversion(m) for d, k, m in zip(dets, orders, M)]
    return schoenflies(orders, dets, inversions)
