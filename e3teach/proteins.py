r"""Protein backbones as point clouds (lesson 21).

A peptide chain is a repeat of N–Cα–C(=O); its shape is fixed, at ideal bond lengths and angles, by two
dihedral angles per residue: φ_i (C_{i-1}–N–Cα–C) and ψ_i (N–Cα–C–N_{i+1}), in degrees, IUPAC-IUB convention
(Biochemistry 9, 3471 (1970)); the peptide bond ω is 180° (trans).

- :data:`CONFORMATIONS` — the (φ, ψ) of the regular secondary structures; :func:`random_chain` builds chains
  of segments drawn around them by :func:`sample_angles` ("coil" draws each residue's own region).
- :func:`build_peptide` — atoms from angles with `PeptideBuilder` (Tien et al., PeerJ 1, e80 (2013)):
  positions ``(n_res, 5, 3)`` in Å, atoms in the order of :data:`ATOMS` (N, Cα, C, O, Cβ).
- :func:`dihedral`, :func:`backbone_dihedrals`, :func:`helix_parameters` — geometry read back from positions.
- :func:`mirror`, :func:`chirality` — the mirror image (an all-D peptide) and the handedness of each Cα,
  the pseudoscalar :math:`(N - C_\alpha)\cdot[(C - C_\alpha)\times(C_\beta - C_\alpha)]` (positive for L).
- :func:`ideal_virtual_cb` — the classic virtual Cβ from N, Cα, C at ideal geometry.
- :func:`kabsch`, :func:`superposed_rmsd` — the best proper superposition of two chains, and their RMSD.
- :func:`batch_chains` — many chains as one residue graph input: Cα positions, ``k x 1o`` features (Cα→atom).
- :class:`ResidueNetwork`, :func:`fit` — the small equivariant network of the lesson and its training loop.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from e3nn import o3

from .graph import PointCloudBatch, radius_graph
from .models import GatedBlock, PointConvolution, tp_path_exists
from .potentials import full_batch_adam

__all__ = ["ATOMS", "CONFORMATIONS", "COIL_REGIONS", "CLASSES", "AMINO_ACIDS", "Peptide",
           "build_peptide", "dihedral", "backbone_dihedrals", "helix_parameters", "mirror", "chirality",
           "ideal_virtual_cb", "angle_deg", "kabsch", "superposed_rmsd", "bonds", "sample_angles", "random_chain",
           "ChainBatch", "batch_chains", "ResidueNetwork", "fit"]

#: Atoms kept per residue, in this order (Cβ last: glycine has none, so it is left out of the sequences).
ATOMS = ("N", "CA", "C", "O", "CB")

#: (φ, ψ) in degrees of the regular conformations, as commonly tabulated (α and 3₁₀ helices, antiparallel
#: β strand, polyproline II): e.g. Branden & Tooze, *Introduction to Protein Structure* (2nd ed., 1999),
#: ch. 2; PPII: Adzhubei, Sternberg & Makarov, J. Mol. Biol. 425, 2100 (2013). The left-handed α helix
#: has the signs of the right-handed one flipped.
CONFORMATIONS = {
    "alpha": (-57.0, -47.0),
    "3-10": (-49.0, -26.0),
    "beta": (-139.0, 135.0),
    "ppII": (-75.0, 145.0),
    "alpha_L": (57.0, 47.0),
}
#: Regions a "coil" residue is drawn from, with their weights (right-handed α most common, α_L rare).
COIL_REGIONS = {"alpha": 0.4, "beta": 0.3, "ppII": 0.2, "alpha_L": 0.1}
#: The secondary-structure classes of lesson 21's scalar task; the label of a residue is its segment's.
CLASSES = ("helix", "strand", "ppII", "coil")
_CLASS_CONFORMATION = {"helix": "alpha", "strand": "beta", "ppII": "ppII"}
#: One-letter codes used for random sequences: the 20 standard amino acids less glycine (no Cβ) and
#: proline (its ring fixes φ near −65°, which random angles would violate).
AMINO_ACIDS = "ACDEFHIKLMNQRSTVWY"


@dataclass
class Peptide:
    """A built chain: ``pos`` (n_res, 5, 3) in Å (atoms as :data:`ATOMS`), its ``sequence`` and, when drawn
    by :func:`random_chain`, the per-residue class ``labels`` (indices into :data:`CLASSES`)."""

    pos: torch.Tensor
    sequence: str
    labels: torch.Tensor | None = None

    def __len__(self) -> int:
        return len(self.sequence)


def build_peptide(phi, psi, sequence: str | None = None) -> Peptide:
    """Build a chain with PeptideBuilder from per-residue ``phi``, ``psi`` (degrees, length n ≥ 2).

    The first φ and the last ψ are undefined (no atom before / after the chain) and ignored. ``sequence``
    defaults to poly-alanine; glycine (no Cβ) and unknown letters are refused. Returns float64 positions.
    """
    import PeptideBuilder                     # imported here: only this function needs it

    phi = [float(a) for a in torch.as_tensor(phi, dtype=torch.float64).reshape(-1)]
    psi = [float(a) for a in torch.as_tensor(psi, dtype=torch.float64).reshape(-1)]
    sequence = "A" * len(phi) if sequence is None else sequence
    if not (len(phi) == len(psi) == len(sequence)) or len(phi) < 2:
        raise ValueError(f"phi, psi and sequence need the same length ≥ 2, got {len(phi)}, {len(psi)}, "
                         f"{len(sequence)}")
    bad = sorted(set(sequence) - set(AMINO_ACIDS + "P"))
    if bad:
        raise ValueError(f"residues {bad} are not allowed: use one-letter codes of {AMINO_ACIDS + 'P'} "
                         "(glycine has no Cβ)")
    if not all(math.isfinite(a) for a in phi[1:] + psi[:-1]):
        raise ValueError("phi and psi must be finite numbers of degrees")
    structure = PeptideBuilder.make_structure(sequence, phi[1:], psi[:-1])
    pos = [[residue[name].coord.tolist() for name in ATOMS] for residue in structure.get_residues()]
    return Peptide(torch.tensor(pos, dtype=torch.float64), sequence)


def dihedral(a: torch.Tensor, b: torch.Tensor, c: torch.Tensor, d: torch.Tensor) -> torch.Tensor:
    r"""Dihedral angle a–b–c–d in degrees, in (−180°, 180°]: the angle between the planes (a, b, c) and
    (b, c, d), positive when, looking along b → c, the far bond is turned clockwise from the near one."""
    b1, b2, b3 = b - a, c - b, d - c
    n1, n2 = torch.linalg.cross(b1, b2), torch.linalg.cross(b2, b3)
    y = b2.norm(dim=-1) * (b1 * n2).sum(-1)
    return torch.rad2deg(torch.atan2(y, (n1 * n2).sum(-1)))


def backbone_dihedrals(pos: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(phi, psi)`` in degrees read back from positions (n_res, ≥ 3, 3): φ of residues 1..n−1 and ψ of
    residues 0..n−2 (each n−1 values)."""
    n, ca, c = pos[:, 0], pos[:, 1], pos[:, 2]
    return dihedral(c[:-1], n[1:], ca[1:], c[1:]), dihedral(n[:-1], ca[:-1], c[:-1], n[1:])


def helix_parameters(ca: torch.Tensor) -> tuple[float, float]:
    r"""Rise per residue (Å) and signed residues per turn of a regular chain, from its Cα positions (n ≥ 4).

    Each bisector :math:`b_i = 2\,C\alpha_i - C\alpha_{i-1} - C\alpha_{i+1}` points away from the helix
    axis; the angle between consecutive bisectors is the twist θ, and :math:`b_i \times b_{i+1}` lies along
    the axis. Residues per turn = 360°/θ, positive for a right-handed helix (the chain advances along
    that axis), negative for a left-handed one: the sign is a pseudoscalar, it flips in a mirror.
    """
    if ca.dim() != 2 or ca.shape[0] < 4 or ca.shape[1] != 3:
        raise ValueError(f"need Cα positions of shape (n ≥ 4, 3), got {tuple(ca.shape)}")
    bis = 2 * ca[1:-1] - ca[:-2] - ca[2:]
    bis = bis / bis.norm(dim=-1, keepdim=True)
    axis = torch.linalg.cross(bis[:-1], bis[1:])
    axis = axis.mean(0) / axis.mean(0).norm()
    twist = torch.rad2deg(torch.arccos((bis[:-1] * bis[1:]).sum(-1).clamp(-1, 1))).mean()
    advance = (ca[-1] - ca[0]) @ axis
    rise = float(advance.abs() / (len(ca) - 1))
    return rise, float(360.0 / twist * torch.sign(advance))


def mirror(pos: torch.Tensor) -> torch.Tensor:
    """The mirror image x → −x (every atom, any leading shape): L-amino acids become D, φ and ψ flip sign."""
    return pos * pos.new_tensor([-1.0, 1.0, 1.0])


def chirality(pos: torch.Tensor) -> torch.Tensor:
    r"""Per residue :math:`(N - C_\alpha)\cdot[(C - C_\alpha)\times(C_\beta - C_\alpha)]` in Å³ for positions
    (..., 5, 3): positive for an L-amino acid, negative for D. A triple product is a pseudoscalar (0o)."""
    ca = pos[..., 1, :]
    return (torch.linalg.cross(pos[..., 2, :] - ca, pos[..., 4, :] - ca) * (pos[..., 0, :] - ca)).sum(-1)


def ideal_virtual_cb(n: torch.Tensor, ca: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    r"""The virtual Cβ of trRosetta (Yang et al., PNAS 117, 1496 (2020), its published code), for an
    L-amino acid at ideal geometry: with :math:`b = C_\alpha - N`, :math:`c = C - C_\alpha`,
    :math:`a = b \times c`,

    .. math:: C_\beta = -0.58273431\,a + 0.56802827\,b - 0.54067466\,c + C_\alpha .

    :math:`a` is a cross product: a pseudovector (1e). So the formula is rotation-equivariant, not
    mirror-equivariant: on a mirrored (D) backbone it still puts Cβ where an L-amino acid has it.
    """
    b, cc = ca - n, c - ca
    a = torch.linalg.cross(b, cc)
    return -0.58273431 * a + 0.56802827 * b - 0.54067466 * cc + ca


def angle_deg(u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Angle in degrees between the rows of ``u`` and ``v`` (any lengths)."""
    cos = (u * v).sum(-1) / (u.norm(dim=-1) * v.norm(dim=-1)).clamp(min=1e-12)
    return torch.rad2deg(torch.arccos(cos.clamp(-1.0, 1.0)))


def sample_angles(label: str, n: int, generator: torch.Generator, spread: float = 10.0):
    """(φ, ψ) in degrees for ``n`` residues of class ``label`` (one of :data:`CLASSES`): a Gaussian of
    standard deviation ``spread`` (degrees) around the class's conformation; "coil" first draws, per
    residue, a region of :data:`COIL_REGIONS`."""
    if label == "coil":
        weights = torch.tensor(list(COIL_REGIONS.values()), dtype=torch.float64)
        regions = [list(COIL_REGIONS)[int(i)] for i in torch.multinomial(weights, n, True, generator=generator)]
    elif label in _CLASS_CONFORMATION:
        regions = [_CLASS_CONFORMATION[label]] * n
    else:
        raise ValueError(f"unknown class {label!r}: choose one of {CLASSES}")
    centre = torch.tensor([CONFORMATIONS[r] for r in regions], dtype=torch.float64)
    angles = centre + spread * torch.randn(n, 2, generator=generator, dtype=torch.float64)
    return angles[:, 0], angles[:, 1]


def random_chain(generator: torch.Generator, segments: int = 3, length: tuple[int, int] = (5, 8),
                 spread: float = 10.0) -> Peptide:
    """A chain of ``segments`` segments, each of a random class and a random length in ``length``
    (inclusive), with a random sequence of :data:`AMINO_ACIDS`; ``labels`` holds each residue's class."""
    phis, psis, labels = [], [], []
    for _ in range(segments):
        k = int(torch.randint(len(CLASSES), (1,), generator=generator))
        n = int(torch.randint(length[0], length[1] + 1, (1,), generator=generator))
        phi, psi = sample_angles(CLASSES[k], n, generator, spread)
        phis.append(phi), psis.append(psi), labels.append(torch.full((n,), k))
    letters = torch.randint(len(AMINO_ACIDS), (sum(len(p) for p in phis),), generator=generator)
    peptide = build_peptide(torch.cat(phis), torch.cat(psis), "".join(AMINO_ACIDS[int(i)] for i in letters))
    peptide.labels = torch.cat(labels)
    return peptide


@dataclass
class ChainBatch:
    r"""Chains as one residue graph input: ``cloud`` holds the Cα positions (Å) and the chain index of every
    residue; ``x`` (R, 3k) the vectors from Cα to the k atoms named when batching, in e3nn's layout of
    ``k x 1o`` (Å); per residue, ``labels`` (R,) and the unit Cα→Cβ direction ``cb_dir`` (R, 3)."""

    cloud: PointCloudBatch
    x: torch.Tensor
    labels: torch.Tensor
    cb_dir: torch.Tensor


def batch_chains(peptides, atoms=("N", "C", "O"), transform=None) -> ChainBatch:
    """Stack :class:`Peptide` chains into one :class:`ChainBatch`: one node per residue at its Cα, with the
    vectors Cα→atom for ``atoms`` (default the rest of the backbone: N, C, O) as ``len(atoms) x 1o`` node
    features. ``transform`` (optional) maps each (n_res, 5, 3) position tensor first, e.g. :func:`mirror`
    or a rotation: features, labels and Cβ directions all follow the moved atoms."""
    unknown = [a for a in atoms if a not in ATOMS or a == "CA"]
    if unknown:
        allowed = [a for a in ATOMS if a != "CA"]
        raise ValueError(f"atoms {unknown} cannot be features: choose among {allowed}")
    peptides = list(peptides)
    if not peptides:
        raise ValueError("no chains to batch")
    pos = [p.pos if transform is None else transform(p.pos) for p in peptides]
    ca = torch.cat([p[:, 1] for p in pos])
    x = torch.cat([(p[:, [ATOMS.index(a) for a in atoms]] - p[:, 1:2]).reshape(len(p), -1) for p in pos])
    batch = torch.cat([torch.full((len(p),), i) for i, p in enumerate(pos)])
    labels = torch.cat([pep.labels if pep.labels is not None else torch.full((len(pep),), -1)
                        for pep in peptides])
    cb = torch.cat([p[:, 4] for p in pos]) - ca
    return ChainBatch(PointCloudBatch(ca, batch, len(pos)), x, labels, cb / cb.norm(dim=-1, keepdim=True))


class ResidueNetwork(torch.nn.Module):
    r"""A small equivariant network on a residue graph: ``layers`` gated point convolutions
    (:class:`~e3teach.models.GatedBlock`), then one convolution to ``irreps_out``, all with a
    self-interaction (``o3.Linear`` of a node's own features) beside the messages, since what matters
    most about a residue is its own atoms. Edges join Cα closer than ``r_max`` (Å) within a chain.

    ``forward(batch)`` takes a :class:`ChainBatch` → (R, irreps_out.dim), one row per residue.
    """

    def __init__(self, irreps_in, irreps_out, *, irreps_hidden="8x0e + 4x1o + 4x1e", layers: int = 2,
                 lmax: int = 1, r_max: float = 6.5, num_neighbors: float = 5.0):
        super().__init__()
        kwargs = dict(lmax=lmax, r_max=r_max, num_neighbors=num_neighbors, self_interaction=True)
        irreps_in = o3.Irreps(irreps_in)
        square = o3.Irreps([(mul, ir) for mul, ir in o3.Irreps(irreps_hidden)
                            if tp_path_exists(irreps_in, irreps_in, ir)])
        self.square = o3.FullyConnectedTensorProduct(irreps_in, irreps_in, square)
        blocks, irreps = [], irreps_in + square
        for _ in range(layers):
            blocks.append(GatedBlock(irreps, irreps_hidden, **kwargs))
            irreps = blocks[-1].irreps_out
        self.blocks = torch.nn.ModuleList(blocks)
        self.output = PointConvolution(irreps, irreps_out, **kwargs)
        self.irreps_in, self.irreps_out, self.r_max = o3.Irreps(irreps_in), o3.Irreps(irreps_out), float(r_max)

    def forward(self, batch: ChainBatch) -> torch.Tensor:
        pos, x = batch.cloud.pos, batch.x
        if x.shape[-1] != self.irreps_in.dim:
            raise ValueError(f"node features have {x.shape[-1]} columns, the network expects "
                             f"{self.irreps_in} ({self.irreps_in.dim}): batch as many atoms")
        dtype = next(self.parameters()).dtype                 # inputs follow the network's dtype
        pos, x = pos.to(dtype), x.to(dtype)
        edge_src, edge_dst = radius_graph(pos, self.r_max, batch.cloud.batch)
        x = torch.cat([x, self.square(x, x)], dim=-1)       # own atoms: dots, cross products
        for block in self.blocks:
            x = block(x, pos, edge_src, edge_dst)
        return self.output(x, pos, edge_src, edge_dst)

    def extra_repr(self) -> str:
        return f"{self.irreps_in} -> {self.irreps_out}, r_max={self.r_max}"


def kabsch(a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    r"""The best *proper* superposition of points ``a`` onto ``b`` (same shape, (..., 3)): ``(rotation,
    centre_a, centre_b)`` such that ``(x - centre_a) @ rotation + centre_b`` moves any points with ``a``.

    Kabsch's method: SVD of the covariance of the centred points, with the determinant fixed to +1, so a
    mirror image is never superposed onto its original by a reflection."""
    a, b = a.reshape(-1, 3), b.reshape(-1, 3)
    if a.shape != b.shape:
        raise ValueError(f"a and b need the same number of points, got {len(a)} and {len(b)}")
    centre_a, centre_b = a.mean(0), b.mean(0)
    u, _, vt = torch.linalg.svd((a - centre_a).T @ (b - centre_b))
    d = torch.sign(torch.det(u @ vt))
    rotation = u @ torch.diag(torch.stack([d.new_tensor(1.0), d.new_tensor(1.0), d])) @ vt
    return rotation, centre_a, centre_b


def superposed_rmsd(a: torch.Tensor, b: torch.Tensor) -> float:
    """RMSD (Å) between point sets ``a`` and ``b`` (same shape, (..., 3)) after :func:`kabsch`."""
    rotation, centre_a, centre_b = kabsch(a, b)
    moved = (a.reshape(-1, 3) - centre_a) @ rotation + centre_b
    return float((moved - b.reshape(-1, 3)).pow(2).sum(-1).mean().sqrt())


def bonds(n_res: int) -> list[tuple[int, int]]:
    """Covalent bonds of a chain stored as (n_res * 5) atoms in the order of :data:`ATOMS`, for drawing."""
    pairs = []
    for i in range(n_res):
        n, ca, c, o, cb = range(5 * i, 5 * i + 5)
        pairs += [(n, ca), (ca, c), (c, o), (ca, cb)] + ([(c, 5 * i + 5)] if i + 1 < n_res else [])
    return pairs


def fit(net: torch.nn.Module, batch: ChainBatch, loss_fn, steps: int, lr: float = 1e-2) -> list[float]:
    """Adam on ``loss_fn(net(batch))`` (full batch) for ``steps`` steps at a constant learning rate: the
    course's loop, :func:`e3teach.potentials.full_batch_adam`. Returns the loss of every step."""
    run = full_batch_adam(net, lambda: loss_fn(net(batch)), steps=steps, lr=lr, final_lr_fraction=1.0)
    return run.losses
