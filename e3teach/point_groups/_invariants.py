"""Representation theory on top of a point group: invariant projectors and harmonics, characters,
degeneracies (Schur's lemma), Neumann's principle for tensors, orbits."""
from __future__ import annotations

from functools import lru_cache

import torch
from e3nn import o3

from ..env import default_dtype
from ._groups import DTYPE, MATCH_TOL, RANK_TOL, as_group

__all__ = ["invariant_projector", "count_invariant_harmonics", "character_count", "energy_levels",
           "degeneracies", "tensor_component_count", "GENERIC_POINT", "orbit", "first_invariant_harmonic"]

#: A point on no symmetry element of any catalogue group in standard orientation: its orbit has |G| points.
GENERIC_POINT = (0.62, 0.47, 0.63)


def invariant_projector(group, irreps) -> torch.Tensor:
    """P = (1/|G|) Σ_g D(g): the orthogonal projector onto the G-invariant vectors of ``irreps``."""
    return as_group(group).D(irreps).mean(0)


def _rank(P: torch.Tensor) -> int:
    if P.numel() == 0:
        return 0
    return int(torch.linalg.matrix_rank(P, atol=RANK_TOL))


def count_invariant_harmonics(group, lmax: int) -> dict[int, int]:
    """{l: number of independent G-invariant spherical harmonics of degree l}, l = 0..lmax.

    Spherical harmonics of degree l transform as the irrep ``o3.Irrep(l, (-1)**l)``; the count is
    the rank of the invariant projector on that irrep.
    """
    group = as_group(group)
    return {l: _rank(invariant_projector(group, o3.Irrep(l, (-1) ** l))) for l in range(lmax + 1)}


def character_count(group, irrep) -> int:
    """The same count from characters: (1/|G|) Σ_g χ(g) with χ(g) = trace D(g)."""
    chi = as_group(group).D(irrep).diagonal(dim1=1, dim2=2).sum(-1)
    value = float(chi.mean())
    if abs(value - round(value)) > MATCH_TOL:
        raise ValueError(f"the character average {value} is not an integer: not a group?")
    return int(round(value))


def energy_levels(H: torch.Tensor, tol: float = RANK_TOL) -> list[tuple[float, int]]:
    """Eigenvalues of a symmetric matrix grouped into levels: [(energy, multiplicity), ...] ascending.
    Two eigenvalues are one level when they differ by less than ``tol`` × (spread of the spectrum + 1)."""
    e = torch.linalg.eigvalsh(H.to(DTYPE)).tolist()
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
    D = as_group(group).D(irreps)
    gen = torch.Generator().manual_seed(seed)
    A = torch.randn(D.shape[1], D.shape[1], generator=gen, dtype=DTYPE)
    A = A + A.T
    H = torch.einsum("gij,jk,glk->il", D, A, D) / len(D)
    return sorted(m for _, m in energy_levels(H, tol=RANK_TOL))


@lru_cache(maxsize=None)
def _rtp_irreps(formula: str, items: tuple) -> o3.Irreps:
    with default_dtype(DTYPE):
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
# what pictures show: orbits and invariant harmonics
# ----------------------------------------------------------------------------------------------
def orbit(group, point=GENERIC_POINT) -> torch.Tensor:
    """The images g·p of one point under every element: (order, 3). A generic point has |G| images."""
    return as_group(group).apply(torch.as_tensor(point, dtype=DTYPE)[None])[:, 0]


def first_invariant_harmonic(group, lmax: int = 12, lmin: int = 1):
    """(l, coefficients) of a G-invariant spherical harmonic of the lowest degree l ≥ ``lmin``.

    The coefficients (length 2l+1, e3nn's order m = -l..l) are the column of the invariant projector
    with the largest norm, normalised to unit length: deterministic, and invariant by construction.
    Returns ``(None, None)`` if there is none up to ``lmax``.
    """
    group = as_group(group)
    for l in range(lmin, lmax + 1):
        P = invariant_projector(group, o3.Irrep(l, (-1) ** l))
        norms = P.norm(dim=0)
        if norms.max() > RANK_TOL:
            c = P[:, int(norms.argmax())]
            return l, c / c.norm()
    return None, None
