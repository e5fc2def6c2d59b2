r"""Vibrations of symmetric clusters: Hessians, degenerate levels and the irreps they belong to (lesson 22).

Around a stationary point :math:`x_0` the energy is :math:`E(x_0 + u) \approx E(x_0) + \tfrac12 u^\top H u`
with the **Hessian** :math:`H_{ab} = \partial^2 E / \partial x_a \partial x_b` (``(3N, 3N)``, eV/Å², atoms
flattened as ``[x0, y0, z0, x1, ...]``). Its eigenvectors are the normal modes, its eigenvalues the force
constants (frequencies :math:`\omega = \sqrt{\lambda / m}`).

Symmetry. An element :math:`g` of the cluster's point group moves atom :math:`i` to atom :math:`\pi_g(i)` and
rotates displacements by :math:`R_g`: on the 3N displacements it acts by the matrix
:math:`\Gamma(g)_{3\pi_g(i)+a,\,3i+b} = (R_g)_{ab}` (:func:`displacement_matrices`). An invariant energy gives
:math:`\Gamma(g) H \Gamma(g)^\top = H`, so by Schur's lemma (lesson 10a) every eigenspace of :math:`H` carries a
representation of the group: the eigenvalues come in groups whose sizes are dimensions of irreps.

Which irreps, and how often, follows from characters alone: :math:`\chi_{3N}(g) = \operatorname{tr}\Gamma(g)
= n_{\text{fixed}}(g)\,\operatorname{tr} R_g` (only atoms that stay put contribute to the trace), minus the
translations (:math:`\operatorname{tr} R_g`) and rotations (:math:`\det R_g \operatorname{tr} R_g`), decomposed
with the group's character table (:func:`character_table`, computed from the matrices by the Burnside–Dixon
method, no table typed in).

- Hessians: :func:`hessian_autograd` (a torch energy, e.g. :func:`energy_function` of the course potential),
  :func:`hessian_finite_differences` (any forces, e.g. :func:`ase_forces` of ase's EMT), :func:`project_rigid`
  (remove the six rigid motions).
- Levels: :func:`group_eigenvalues`, :func:`level_irreps`, :func:`level_splitting`.
- Characters: :func:`character_table`, :func:`displacement_characters`, :func:`vibrational_characters`,
  :func:`decompose`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import torch

from .point_groups import element_symbol

__all__ = ["energy_function", "ase_forces", "hessian_autograd", "hessian_finite_differences",
           "rigid_motions", "project_rigid", "Level", "group_eigenvalues", "atom_permutations", "displacement_matrices",
           "CharacterTable", "character_table", "decompose", "displacement_characters",
           "vibrational_characters", "symmetrize", "level_irreps", "level_splitting", "level_diagram",
           "LEVEL_RTOL"]

_DT = torch.float64
#: Two eigenvalues are one level when they differ by less than this × (largest |eigenvalue|).
LEVEL_RTOL = 1e-6
_MATCH_TOL = 1e-6     # matrices (or atoms) equal within this


# ----------------------------------------------------------------------------- Hessians
def _positions(pos) -> torch.Tensor:
    pos = torch.as_tensor(pos, dtype=_DT).detach()
    if pos.dim() != 2 or pos.shape[1] != 3 or len(pos) == 0:
        raise ValueError(f"pos must have shape (n_atoms, 3), got {tuple(pos.shape)}")
    if not bool(torch.isfinite(pos).all()):
        raise ValueError("pos contains NaN or infinite coordinates")
    return pos


def energy_function(model, atoms):
    """``energy(pos)``: the energy (eV, scalar tensor) of ``model`` (an
    :class:`~e3teach.potentials.InteratomicPotential`) for the atoms of ``atoms`` at positions ``pos`` (N, 3), Å,
    with the neighbour list of ``atoms``' current positions (fine for the small displacements of a Hessian)."""
    from .potentials import batch_structures
    dtype = model.energy_scale.dtype
    data = batch_structures([atoms], model.r_max, dtype, species=model.species)

    def energy(pos):
        pos = torch.as_tensor(pos, dtype=dtype)
        return model(pos, data.numbers, data.batch, 1, data.edge_src, data.edge_dst, data.edge_offset)[0]

    return energy


def ase_forces(atoms, calculator):
    """``forces(pos)``: the forces (eV/Å, NumPy (N, 3)) that the ase ``calculator`` gives a copy of ``atoms``
    moved to ``pos`` (N, 3), Å — what :func:`hessian_finite_differences` needs."""
    moved = atoms.copy()
    moved.calc = calculator

    def forces(pos):
        moved.positions = np.asarray(pos, dtype=np.float64)
        return moved.get_forces()

    return forces


def hessian_autograd(energy, pos) -> torch.Tensor:
    r"""The Hessian :math:`\partial^2 E / \partial x_a \partial x_b`, ``(3N, 3N)``, by two passes of autograd.

    ``energy``: a function of positions ``(N, 3)`` (float64 tensor) returning a scalar tensor; ``pos``: ``(N, 3)``,
    Å. Atoms are flattened as ``[x0, y0, z0, x1, ...]``.
    """
    pos = _positions(pos)
    n = pos.numel()

    def flat_energy(x):
        e = energy(x.reshape(-1, 3))
        if not isinstance(e, torch.Tensor) or e.numel() != 1:
            raise ValueError("energy(pos) must return a scalar tensor (one structure's energy)")
        return e.reshape(())

    H = torch.autograd.functional.hessian(flat_energy, pos.reshape(n))
    return H.detach().to(_DT)


def hessian_finite_differences(forces, pos, step: float = 1e-3) -> torch.Tensor:
    r"""The Hessian from central differences of the forces, symmetrized, ``(3N, 3N)``.

    :math:`H_{:,k} \approx -\big(F(x + h e_k) - F(x - h e_k)\big) / 2h`, error :math:`O(h^2)`; the average
    :math:`(H + H^\top)/2` removes part of it. ``forces``: a function of positions ``(N, 3)`` (NumPy array, Å)
    returning forces ``(N, 3)`` (eV/Å); ``step``: h, Å. (``ase.vibrations.Vibrations`` does the same, with
    files on disk.)
    """
    if not step > 0:
        raise ValueError(f"step must be a positive displacement in Å, got {step}")
    x0 = _positions(pos).numpy().reshape(-1)
    H = np.zeros((len(x0), len(x0)))
    for k in range(len(x0)):
        columns = []
        for sign in (1.0, -1.0):
            x = x0.copy()
            x[k] += sign * step
            columns.append(np.asarray(forces(x.reshape(-1, 3)), dtype=np.float64).reshape(-1))
        H[:, k] = -(columns[0] - columns[1]) / (2 * step)
    return torch.from_numpy(0.5 * (H + H.T))


def rigid_motions(pos) -> torch.Tensor:
    """An orthonormal basis ``(3N, 6)`` of the rigid motions of ``pos``: three translations and three
    infinitesimal rotations about the centroid (:math:`\\delta x_i = \\omega \\times (x_i - c)`)."""
    pos = _positions(pos)
    n = len(pos)
    x = pos - pos.mean(0)
    eye = torch.eye(3, dtype=_DT)
    translations = eye.repeat(n, 1)                                     # (3N, 3)
    rotations = torch.stack([torch.linalg.cross(eye[a].expand(n, 3), x).reshape(-1) for a in range(3)], 1)
    q, r = torch.linalg.qr(torch.cat([translations, rotations], 1))
    keep = r.diagonal().abs() > 1e-8 * max(1.0, float(x.abs().max()))    # a linear molecule has 5
    return q[:, keep]


def project_rigid(H, pos) -> torch.Tensor:
    r""":math:`P H P` with :math:`P = 1 - B B^\top` (B: :func:`rigid_motions`): the six rigid motions become exact
    zero modes, the 3N − 6 vibrations keep their force constants (exactly so at a stationary point)."""
    H = torch.as_tensor(H, dtype=_DT)
    B = rigid_motions(pos)
    P = torch.eye(len(H), dtype=_DT) - B @ B.T
    return P @ H @ P


# ----------------------------------------------------------------------------- degenerate levels
@dataclass
class Level:
    """A group of (nearly) equal eigenvalues: their mean ``value``, how many (``size``) and their ``spread``
    (largest − smallest), in the units of the eigenvalues."""

    value: float
    size: int
    spread: float


def group_eigenvalues(values, rtol: float = LEVEL_RTOL, atol: float = 0.0) -> list[Level]:
    """Sort ``values`` and cut them into :class:`Level` s: neighbours closer than
    ``atol + rtol * max|values|`` are one level."""
    v = torch.as_tensor(values, dtype=_DT).detach().reshape(-1)
    if v.numel() == 0 or not bool(torch.isfinite(v).all()):
        raise ValueError("values must be a non-empty list of finite eigenvalues")
    v = v.sort().values.tolist()
    eps = atol + rtol * max(abs(v[0]), abs(v[-1]))
    groups = [[v[0]]]
    for a in v[1:]:
        if a - groups[-1][-1] <= eps:
            groups[-1].append(a)
        else:
            groups.append([a])
    return [Level(sum(g) / len(g), len(g), g[-1] - g[0]) for g in groups]


# ----------------------------------------------------------------------------- the group on displacements
def _matrices(group) -> torch.Tensor:
    M = torch.as_tensor(getattr(group, "matrices", group), dtype=_DT)
    if M.dim() != 3 or M.shape[1:] != (3, 3):
        raise ValueError(f"a group is a PointGroup or matrices (n, 3, 3), got shape {tuple(M.shape)}")
    return M


def atom_permutations(group, pos, tol: float = 1e-3) -> torch.Tensor:
    """``(order, N)`` LongTensor: element g sends atom i to atom ``perm[g, i]``.

    The matrices act on the centred positions ``pos - pos.mean(0)`` (as :func:`e3teach.point_groups.identify`
    returns them); every moved atom must land within ``tol`` (Å) of an atom, else ``ValueError``."""
    M = _matrices(group)
    x = _positions(pos)
    x = x - x.mean(0)
    moved = torch.einsum("gab,nb->gna", M, x)
    dist = torch.cdist(moved, x.expand(len(M), -1, -1), compute_mode="donot_use_mm_for_euclid_dist")
    best, perm = dist.min(-1)
    if float(best.max()) > tol:
        raise ValueError(f"an element of the group moves an atom {float(best.max()):.3g} Å away from every atom "
                         f"(tol = {tol:.3g}): the group is not a symmetry of these positions — identify it "
                         "from the same positions, or symmetrize them first")
    return perm


def displacement_matrices(group, pos) -> torch.Tensor:
    r"""``(order, 3N, 3N)``: :math:`\Gamma(g)` acting on flattened displacements, block :math:`R_g` at
    (atom :math:`\pi_g(i)`, atom :math:`i`)."""
    M = _matrices(group)
    perm = atom_permutations(M, pos)
    n = perm.shape[1]
    G = torch.zeros(len(M), n, 3, n, 3, dtype=_DT)
    for g in range(len(M)):
        G[g, perm[g], :, torch.arange(n), :] = M[g]
    return G.reshape(len(M), 3 * n, 3 * n)


def displacement_characters(group, pos) -> torch.Tensor:
    r""":math:`\chi_{3N}(g) = n_{\text{fixed}}(g)\,\operatorname{tr}R_g` for every element, ``(order,)``."""
    M = _matrices(group)
    perm = atom_permutations(M, pos)
    fixed = (perm == torch.arange(perm.shape[1])).sum(1).to(_DT)
    return fixed * M.diagonal(dim1=1, dim2=2).sum(-1)


def vibrational_characters(group, pos) -> torch.Tensor:
    r""":math:`\chi_{\text{vib}} = \chi_{3N} - \chi_{\text{trans}} - \chi_{\text{rot}}` with
    :math:`\chi_{\text{trans}}(g) = \operatorname{tr}R_g` (a vector) and :math:`\chi_{\text{rot}}(g) =
    \det R_g \operatorname{tr}R_g` (a pseudovector), ``(order,)`` (for a non-linear cluster)."""
    M = _matrices(group)
    trace = M.diagonal(dim1=1, dim2=2).sum(-1)
    return displacement_characters(M, pos) - trace - torch.linalg.det(M) * trace


def symmetrize(H, group, pos) -> torch.Tensor:
    r"""The group average :math:`\frac{1}{|G|}\sum_g \Gamma(g) H \Gamma(g)^\top`: the nearest matrix (Frobenius)
    that commutes with the group — what an exactly invariant model would give."""
    G = displacement_matrices(group, pos)
    H = torch.as_tensor(H, dtype=_DT)
    return torch.einsum("gab,bc,gdc->ad", G, H, G) / len(G)


# ----------------------------------------------------------------------------- character tables
def _multiplication_table(M: torch.Tensor) -> torch.Tensor:
    prod = torch.einsum("aij,bjk->abik", M, M)
    diff = (prod[:, :, None] - M[None, None]).abs().amax(dim=(-1, -2))
    err, table = diff.min(-1)
    if float(err.max()) > _MATCH_TOL:
        raise ValueError("the matrices are not closed under multiplication: not a group "
                         "(build it with point_groups.point_group or point_groups.identify)")
    return table


_SUPERSCRIPTS = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


def _order_and_power(M: torch.Tensor) -> tuple[int, int]:
    """(n, k) for a rotation part by 2πk/n (θ from det and trace, as element_symbol)."""
    det = float(torch.linalg.det(M))
    theta = math.acos(max(-1.0, min(1.0, (float(M.trace()) - det) / 2)))
    fraction = Fraction(theta / (2 * math.pi)).limit_denominator(120)
    return fraction.denominator, fraction.numerator


def _symbol(M: torch.Tensor) -> str:
    """:func:`~e3teach.point_groups.element_symbol` with the power: C5² for a rotation by 2·2π/5."""
    symbol = element_symbol(M)
    n, k = _order_and_power(M)
    return symbol + str(k).translate(_SUPERSCRIPTS) if symbol[0] in "CS" and k > 1 else symbol


def _class_key(M: torch.Tensor) -> tuple:
    """The usual column order of a character table: E, Cn (high n first, then powers), i, Sn, σ."""
    symbol = element_symbol(M)
    n, k = _order_and_power(M)
    if float(torch.linalg.det(M)) > 0:
        return (0, symbol != "E", -n, k)
    return (1, {"i": 0, "σ": 2}.get(symbol, 1), -n, k)


def _proper_angle(M: torch.Tensor) -> float:
    return math.acos(max(-1.0, min(1.0, (float(M.trace()) - 1) / 2)))


def _so3_character(l: int, theta: float) -> float:
    """Character of the (2l+1)-dimensional rotation irrep at angle θ: sin((2l+1)θ/2) / sin(θ/2)."""
    if abs(math.sin(theta / 2)) < 1e-9:
        return 2 * l + 1.0
    return math.sin((2 * l + 1) * theta / 2) / math.sin(theta / 2)


@dataclass
class CharacterTable:
    """Irreducible characters of a finite group.

    ``names`` (Mulliken-style, see :func:`character_table`), ``dims``, ``characters`` (n_irreps, order) — the
    character of each irrep at each element (complex in general, real for O, Oh, I, Ih) — and ``classes``
    (lists of element indices) with ``symbols`` naming one representative each (``C5``, ``S10``, ``σ``…)."""

    names: list
    dims: list
    characters: torch.Tensor
    classes: list
    symbols: list

    def __str__(self) -> str:
        head = [f"{len(c)}{s}" if len(c) > 1 else s for c, s in zip(self.classes, self.symbols)]
        width = max(7, max(len(h) for h in head) + 1)
        lines = ["irrep " + "".join(f"{h:>{width}}" for h in head)]
        for name, chi in zip(self.names, self.characters):
            row = [round(float(chi[c[0]].real), 3) + 0.0 for c in self.classes]    # + 0.0: no "-0.000"
            lines.append(f"{name:<6}" + "".join(f"{v:>{width}.3f}" for v in row))
        return "\n".join(lines)


def character_table(group) -> CharacterTable:
    r"""The character table of a finite point group, computed from its matrices (Burnside–Dixon).

    The class sums :math:`C_i` multiply as :math:`C_i C_j = \sum_k a_{ijk} C_k`. For each irrep χ the numbers
    :math:`\omega_i = |C_i|\,\chi(C_i) / \chi(1)` satisfy :math:`\omega_i \omega_j = \sum_k a_{ijk}\,\omega_k`: they are
    common eigenvectors of the matrices :math:`(A_i)_{jk} = a_{ijk}`, found from one random combination. The
    dimension follows from :math:`\sum_g |\chi(g)|^2 = |G|`.

    Names: letter from the dimension (A 1, E 2, T 3, G 4, H 5), ``g``/``u`` from the sign of the character of
    the inversion; irreps of the same letter are numbered by the lowest degree l of rotation harmonics that
    contains them. These are the standard labels for O, Oh, I and Ih (A1g, T1u, Hg…); where this rule gives two
    irreps the same name (groups without the inversion, such as Td or D5h) they are labelled Γ1, Γ2, … instead.
    """
    M = _matrices(group)
    n = len(M)
    table = _multiplication_table(M).numpy()
    identity = int(np.argmin([float((m - torch.eye(3, dtype=_DT)).abs().max()) for m in M]))
    inverse = np.argmax(table == identity, axis=1)
    class_of = -np.ones(n, dtype=int)
    classes = []
    for g in range(n):
        if class_of[g] < 0:
            members = sorted({int(table[table[h, g], inverse[h]]) for h in range(n)})
            class_of[members] = len(classes)
            classes.append(members)
    k = len(classes)
    a = np.zeros((k, k, k))                                           # a[i, j, l] = (C_i C_j)[rep of C_l]
    for i, ci in enumerate(classes):
        for j, cj in enumerate(classes):
            counts = np.bincount(table[np.ix_(ci, cj)].reshape(-1), minlength=n)
            a[i, j] = [counts[c[0]] for c in classes]
    coefficients = np.random.default_rng(0).normal(size=k)
    values, vectors = np.linalg.eig(np.einsum("i,ijl->jl", coefficients, a))
    sizes = np.array([len(c) for c in classes], dtype=float)
    id_class = class_of[identity]
    chars, dims = [], []
    for v in vectors.T:
        omega = v / v[id_class]
        d = math.sqrt(n / float(np.sum(np.abs(omega) ** 2 / sizes)))
        if abs(d - round(d)) > 1e-6:
            raise ValueError(f"an irrep came out with dimension {d:.4f}: the matrices are not a finite group")
        chi_class = round(d) * omega / sizes
        chars.append(chi_class[class_of])
        dims.append(round(d))
    chars = np.array(chars)
    chars = torch.tensor(chars.real if np.abs(chars.imag).max() < 1e-9 else chars)
    names, chars, dims = _mulliken(M, chars, dims)
    classes = sorted(classes, key=lambda c: _class_key(M[c[0]]))
    symbols = [_symbol(M[c[0]]) for c in classes]
    return CharacterTable(names, dims, chars, classes, symbols)


def _mulliken(M, chars, dims):
    """Sort irreps by (dimension, first harmonic degree, g before u) and name them (see character_table)."""
    dets = torch.linalg.det(M)
    proper = [g for g in range(len(M)) if dets[g] > 0]
    angles = [_proper_angle(M[g]) for g in proper]
    inversion = [g for g in range(len(M)) if float((M[g] + torch.eye(3, dtype=_DT)).abs().max()) < _MATCH_TOL]
    keys = []
    for chi, d in zip(chars, dims):
        first = next((l for l in range(20) if sum(float((chi[g].conj() * _so3_character(l, t)).real)
                                                  for g, t in zip(proper, angles)) / len(proper) > 0.5), 99)
        parity = "" if not inversion else ("g" if float(chi[inversion[0]].real) > 0 else "u")
        keys.append((d, first, parity))
    order = sorted(range(len(dims)), key=lambda i: (keys[i][2] == "u", keys[i][0], keys[i][1]))
    letters = {1: "A", 2: "E", 3: "T", 4: "G", 5: "H"}
    names = []
    for i in order:
        d, first, parity = keys[i]
        same = sorted({f for dd, f, _ in keys if dd == d})
        number = str(same.index(first) + 1) if len(same) > 1 else ""
        names.append(f"{letters.get(d, f'Γ{d}')}{number}{parity}")
    if len(set(names)) < len(names):        # this rule cannot tell them apart (no inversion): plain labels
        names = [f"Γ{k + 1}" for k in range(len(names))]
    return names, chars[order], [dims[i] for i in order]


def decompose(chi, table: CharacterTable) -> dict:
    r"""Multiplicity of each irrep in a representation with characters ``chi`` (order,):
    :math:`n_\Gamma = \frac{1}{|G|}\sum_g \overline{\chi_\Gamma(g)}\,\chi(g)`. Returns ``{name: n}`` for n > 0."""
    chi = torch.as_tensor(chi).reshape(-1)
    if len(chi) != table.characters.shape[1]:
        raise ValueError(f"chi has {len(chi)} values, the group has {table.characters.shape[1]} elements")
    out = {}
    for name, ref in zip(table.names, table.characters):
        value = complex((ref.conj() * chi.to(ref.dtype)).sum()) / len(chi)
        if abs(value - round(value.real)) > 1e-6:
            raise ValueError(f"the multiplicity of {name} is {value.real:.4f}, not an integer: chi is not the "
                             "character of a representation of this group (wrong element order?)")
        if round(value.real):
            out[name] = int(round(value.real))
    return out


# ----------------------------------------------------------------------------- levels and their irreps
def level_irreps(H, group, pos, rtol: float = LEVEL_RTOL, atol: float = 1e-8):
    """``[(Level, {irrep: multiplicity}), ...]``: each level of the symmetric matrix ``H`` (3N, 3N) with the
    irreps its eigenspace carries (from the characters :math:`\\operatorname{tr} V^\\top \\Gamma(g) V`)."""
    H = torch.as_tensor(H, dtype=_DT)
    values, vectors = torch.linalg.eigh(H)
    G = displacement_matrices(group, pos)
    table = character_table(group)
    out, start = [], 0
    for level in group_eigenvalues(values, rtol, atol):
        V = vectors[:, start:start + level.size]
        chi = torch.einsum("ai,gab,bi->g", V, G, V)
        out.append((level, decompose(chi, table)))
        start += level.size
    return out


def level_splitting(H, H_symmetric, rtol: float = LEVEL_RTOL, atol: float = 1e-8) -> list[tuple[Level, float]]:
    r"""How much ``H`` splits the degenerate levels of ``H_symmetric`` (first order, as degenerate perturbation
    theory): for each level with eigenvectors V, the spread of the eigenvalues of :math:`V^\top H V`."""
    values, vectors = torch.linalg.eigh(torch.as_tensor(H_symmetric, dtype=_DT))
    H = torch.as_tensor(H, dtype=_DT)
    out, start = [], 0
    for level in group_eigenvalues(values, rtol, atol):
        V = vectors[:, start:start + level.size]
        inner = torch.linalg.eigvalsh(V.T @ H @ V)
        out.append((level, float(inner[-1] - inner[0])))
        start += level.size
    return out


def level_diagram(ax, x: float, H, color, names=None, *, skip: int = 6, rtol: float = 1e-4) -> None:
    """Draw the eigenvalues of ``H`` as short horizontal lines at ``x`` on a matplotlib axis (the ``skip``
    lowest, the rigid motions, left out); each group of equal values is labelled with its size, and with its
    irrep when ``names`` (one per level) is given; labels are nudged apart so that they never overlap."""
    values = np.sort(torch.linalg.eigvalsh(torch.as_tensor(H, dtype=_DT)).numpy())[skip:]
    ax.hlines(values, x - 0.3, x + 0.3, color=color, lw=1.2)
    levels = group_eigenvalues(values, rtol=rtol)
    if names is not None and len(names) != len(levels):
        raise ValueError(f"names has {len(names)} entries for {len(levels)} levels")
    gap = 0.035 * (values.max() - values.min() + 1e-12)
    last = -np.inf
    for k, level in enumerate(levels):
        if level.size > 1 or names is not None:
            y = max(level.value, last + gap)
            ax.text(x + 0.33, y, (f"{names[k]} " if names is not None else "") + f"×{level.size}",
                    va="center", fontsize=8, color=color)
            last = y
