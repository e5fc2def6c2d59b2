r"""What invariant and equivariant features can see (lesson 15): symmetric structures, k-chains, body order.

Structures
----------
- :func:`n_fold_star` — ``n`` points on a circle in the xy plane (axis z), optionally turned by an angle.
- :func:`k_chain` — the k-chain pairs of Joshi et al. (ICML 2023, arXiv:2301.09308): ``k`` points on a line,
  spacing 1, plus one end point at each end, 1 away from its chain neighbour; the two end points lie on
  the same side of the line (``same_side=True``) or on opposite sides. Every bond has length 1, every node
  has the same neighbour distances in both, yet no isometry maps one onto the other.

Features
--------
- :func:`sh_signal` — :math:`\sum_i Y_l(\hat r_i)`, the degree-``l`` signal of a point cloud on the sphere.
- :func:`first_distinguishing_l` — the lowest ``l`` whose signals differ for two clouds.
- :func:`neighbour_distances` — each node's sorted neighbour distances (what a distance-only model sees).
- :func:`two_body_features`, :func:`atomic_basis`, :func:`three_body_features` — the ACE/MACE construction
  :math:`A_{b,lm} = \sum_j R_b(r_j) Y_{lm}(\hat r_j)` and its invariant products
  :math:`B_{b_1 b_2 l} = \sum_m A_{b_1,lm} A_{b_2,lm}`, a sum over *pairs* of neighbours (3-body).
- :func:`best_fit_residual` — the least-squares residual of a linear model on given features.

Models (small, shown in the lesson)
-----------------------------------
- :class:`DistanceMPNN` — invariant message passing that only ever sees neighbour distances.
- :class:`GatedMPNN` — e3teach's :class:`~e3teach.models.GatedBlock` stacked: messages linear in the
  neighbour's features (tensor-field-network style), nonlinearity by gates.
- :class:`ProductMPNN` — after each convolution, the tensor product of the aggregated features with
  themselves (correlation order 2, MACE style).

All three read out, after ``depth`` layers, the sum over nodes of their invariant (``0e``) channels.
"""
from __future__ import annotations

import math

import torch
from e3nn import o3

from .graph import radius_graph, scatter_sum
from .models import GatedBlock, PointConvolution, RadialBasis

__all__ = ["n_fold_star", "sh_signal", "first_distinguishing_l", "k_chain", "neighbour_distances",
           "pairwise_distances", "scalar_indices", "DistanceMPNN", "GatedMPNN", "ProductMPNN",
           "polynomial_radial", "two_body_features", "atomic_basis", "three_body_features",
           "best_fit_residual", "random_environments", "angular_target", "train_classifier"]

_F64 = torch.float64


# ----------------------------------------------------------------------------------------------
# rotationally symmetric structures
# ----------------------------------------------------------------------------------------------
def n_fold_star(n: int, *, radius: float = 1.0, angle: float = 0.0, dtype=_F64) -> torch.Tensor:
    r"""``n`` points on a circle of ``radius`` in the xy plane, at angles ``angle + 2πk/n``: (n, 3).

    Its symmetry group is :math:`D_{nh}` (for n ≥ 3), principal axis z, as in ``e3teach.point_groups``.
    """
    phi = angle + 2 * math.pi * torch.arange(n, dtype=_F64) / n
    pts = torch.stack([radius * phi.cos(), radius * phi.sin(), torch.zeros(n, dtype=_F64)], dim=1)
    return pts.to(dtype)


def sh_signal(points: torch.Tensor, l: int) -> torch.Tensor:
    r"""The degree-``l`` signal :math:`\sum_i Y_l(\hat r_i)` of a cloud (points not at the origin): (2l+1,).

    e3nn's real harmonics, ``normalization="component"``; directions are normalised first.
    """
    return o3.spherical_harmonics(l, points, normalize=True, normalization="component").sum(dim=0)


def first_distinguishing_l(points_a: torch.Tensor, points_b: torch.Tensor, lmax: int = 12,
                           tol: float = 1e-8):
    """The lowest l ≥ 0 with ``|sh_signal(a, l) - sh_signal(b, l)| > tol``, or ``None`` up to ``lmax``."""
    for l in range(lmax + 1):
        if float((sh_signal(points_a, l) - sh_signal(points_b, l)).abs().max()) > tol:
            return l
    return None


# ----------------------------------------------------------------------------------------------
# k-chains
# ----------------------------------------------------------------------------------------------
def k_chain(k: int, same_side: bool, dtype=_F64) -> torch.Tensor:
    """The k-chain of Joshi et al. scaled to unit bonds: (k + 2, 3), centred, in path order.

    Chain points at (0, i, 0), i = 0..k-1; the first end point at (±0.8, -0.6, 0) and the last at
    (0.8, k - 1 + 0.6, 0): a 3-4-5 triangle makes every bond exactly 1. The end point of the first
    atom is on the same side (+x) as the last one when ``same_side``, on the opposite side (-x) if not.
    With a cutoff between 1 and 1.78, the radius graph is the path 0 - 1 - ... - (k+1).
    """
    if k < 2:
        raise ValueError(f"a k-chain needs k >= 2, got {k}")
    first = [0.8 if same_side else -0.8, -0.6, 0.0]
    pts = [first] + [[0.0, float(i), 0.0] for i in range(k)] + [[0.8, k - 1 + 0.6, 0.0]]
    pos = torch.tensor(pts, dtype=_F64)
    return (pos - pos.mean(dim=0)).to(dtype)


def pairwise_distances(pos: torch.Tensor) -> torch.Tensor:
    """All distances |pos[i] - pos[j]|, (n, n), by differences (exact zeros on the diagonal)."""
    return (pos[:, None, :] - pos[None, :, :]).norm(dim=-1)


def neighbour_distances(pos: torch.Tensor, r_max: float) -> list[list[float]]:
    """For each node, the sorted distances to its neighbours within ``r_max`` (rounded to 1e-9)."""
    src, dst = radius_graph(pos, r_max)
    dist = (pos[dst] - pos[src]).norm(dim=1)
    return [sorted(round(float(d), 9) for d in dist[dst == i]) for i in range(pos.shape[0])]


# ----------------------------------------------------------------------------------------------
# three message-passing models
# ----------------------------------------------------------------------------------------------
def scalar_indices(irreps) -> torch.Tensor:
    """Indices of the ``0e`` components of a feature vector laid out as ``irreps``."""
    irreps = o3.Irreps(irreps)
    idx = [torch.arange(s.start, s.stop) for (_, ir), s in zip(irreps, irreps.slices()) if ir == o3.Irrep("0e")]
    return torch.cat(idx) if idx else torch.zeros(0, dtype=torch.long)


def _batch_of(pos, batch):
    if batch is None:
        batch = torch.zeros(pos.shape[0], dtype=torch.long, device=pos.device)
    return batch, int(batch.max()) + 1 if batch.numel() else 0


class DistanceMPNN(torch.nn.Module):
    r"""Invariant message passing on distances only (SchNet-like).

    .. math:: h_i \leftarrow h_i + \phi\Big(h_i,\ \sum_{j \in N(i)} \psi\big(h_j, \mathrm{rbf}(|r_{ij}|)\big)\Big)

    starting from :math:`h_i = 1`; output: a linear head on :math:`\sum_i h_i` after ``depth`` layers.
    """

    def __init__(self, layers: int = 6, hidden: int = 16, n_out: int = 2, r_max: float = 1.5, num_basis: int = 8):
        super().__init__()
        self.r_max, self.hidden = float(r_max), hidden
        self.radial = RadialBasis(r_max, num_basis)
        mlp = lambda n_in: torch.nn.Sequential(torch.nn.Linear(n_in, hidden), torch.nn.SiLU(),
                                               torch.nn.Linear(hidden, hidden))
        self.messages = torch.nn.ModuleList([mlp(hidden + num_basis) for _ in range(layers)])
        self.updates = torch.nn.ModuleList([mlp(2 * hidden) for _ in range(layers)])
        self.head = torch.nn.Linear(hidden, n_out)

    def forward(self, pos, batch=None, depth=None):
        """``pos`` (N, 3), ``batch`` (N,) graph index or None → (num_graphs, n_out), after ``depth`` layers (all by default)."""
        batch, n_graphs = _batch_of(pos, batch)
        src, dst = radius_graph(pos, self.r_max, batch)
        rbf = self.radial((pos[dst] - pos[src]).norm(dim=1))  # the only geometry it ever sees
        h = pos.new_ones(pos.shape[0], self.hidden)
        for message, update in list(zip(self.messages, self.updates))[:depth]:
            m = scatter_sum(message(torch.cat([h[src], rbf], dim=1)), dst, pos.shape[0])
            h = h + update(torch.cat([h, m], dim=1))
        return self.head(scatter_sum(h, batch, n_graphs))


class GatedMPNN(torch.nn.Module):
    r"""e3teach's gated point convolutions stacked (messages :math:`\mathrm{TP}(h_j, Y(\hat r_{ij}); W(|r_{ij}|))`,
    linear in the neighbour's features :math:`h_j`), then a linear head on the summed ``0e`` channels."""

    def __init__(self, layers: int = 5, irreps_hidden="8x0e + 4x1o + 4x1e", lmax: int = 1, n_out: int = 2,
                 r_max: float = 1.5):
        super().__init__()
        self.r_max = float(r_max)
        blocks, irreps = [], o3.Irreps("0e")
        for _ in range(layers):
            blocks.append(GatedBlock(irreps, irreps_hidden, lmax=lmax, r_max=r_max, num_neighbors=2.0))
            irreps = blocks[-1].irreps_out
        self.blocks = torch.nn.ModuleList(blocks)
        self.scalars = [scalar_indices(b.irreps_out) for b in blocks]
        self.head = torch.nn.Linear(len(self.scalars[-1]), n_out)

    def invariants(self, pos, batch=None, depth=None):
        """Summed ``0e`` channels after ``depth`` layers (all layers by default), (graphs, n_scalars)."""
        batch, n_graphs = _batch_of(pos, batch)
        src, dst = radius_graph(pos, self.r_max, batch)
        x = pos.new_ones(pos.shape[0], 1)
        depth = len(self.blocks) if depth is None else depth
        for block in self.blocks[:depth]:
            x = block(x, pos, src, dst)
        return scatter_sum(x[:, self.scalars[depth - 1]], batch, n_graphs)

    def forward(self, pos, batch=None, depth=None):
        """``pos`` (N, 3), ``batch`` (N,) graph index or None → (num_graphs, n_out): the head on :meth:`invariants`."""
        return self.head(self.invariants(pos, batch, depth))


class ProductMPNN(torch.nn.Module):
    r"""Correlation order 2: aggregate, then multiply the aggregate with itself (MACE style).

    .. math:: A_i = \sum_{j} \mathrm{TP}\big(h_j, Y(\hat r_{ij}); W(|r_{ij}|)\big),\qquad
              h_i \leftarrow \mathrm{Linear}(A_i) + \mathrm{TP}(A_i, A_i)

    The product :math:`A_i \otimes A_i` multiplies messages from *two different* neighbours.
    """

    def __init__(self, layers: int = 3, irreps_hidden="8x0e + 4x1o + 4x1e", lmax: int = 1, n_out: int = 2,
                 r_max: float = 1.5):
        super().__init__()
        self.r_max = float(r_max)
        irreps_hidden = o3.Irreps(irreps_hidden)
        self.convs, self.linears, self.products = (torch.nn.ModuleList() for _ in range(3))
        irreps = o3.Irreps("0e")
        for _ in range(layers):
            self.convs.append(PointConvolution(irreps, irreps_hidden, lmax=lmax, r_max=r_max, num_neighbors=2.0))
            self.linears.append(o3.Linear(irreps_hidden, irreps_hidden))
            self.products.append(o3.FullyConnectedTensorProduct(irreps_hidden, irreps_hidden, irreps_hidden))
            irreps = irreps_hidden
        self.scalar_idx = scalar_indices(irreps_hidden)
        self.head = torch.nn.Linear(len(self.scalar_idx), n_out)

    def invariants(self, pos, batch=None, depth=None):
        """Summed ``0e`` channels after ``depth`` layers (all layers by default), (graphs, n_scalars)."""
        batch, n_graphs = _batch_of(pos, batch)
        src, dst = radius_graph(pos, self.r_max, batch)
        x = pos.new_ones(pos.shape[0], 1)
        for conv, linear, product in list(zip(self.convs, self.linears, self.products))[:depth]:
            a = conv(x, pos, src, dst)
            x = linear(a) + product(a, a)
        return scatter_sum(x[:, self.scalar_idx], batch, n_graphs)

    def forward(self, pos, batch=None, depth=None):
        """``pos`` (N, 3), ``batch`` (N,) graph index or None → (num_graphs, n_out): the head on :meth:`invariants`."""
        return self.head(self.invariants(pos, batch, depth))


# ----------------------------------------------------------------------------------------------
# body order
# ----------------------------------------------------------------------------------------------
def random_environments(n_env: int, n_neighbours: int, r_min: float = 0.8, r_max: float = 1.4,
                        generator: torch.Generator | None = None, dtype=_F64) -> torch.Tensor:
    """Neighbour vectors of ``n_env`` atoms (E, M, 3): uniform random directions, distances in [r_min, r_max]."""
    u = torch.randn(n_env, n_neighbours, 3, generator=generator, dtype=_F64)
    r = r_min + (r_max - r_min) * torch.rand(n_env, n_neighbours, 1, generator=generator, dtype=_F64)
    return (u / u.norm(dim=-1, keepdim=True) * r).to(dtype)


def angular_target(vectors: torch.Tensor, r_cut: float = 1.6) -> torch.Tensor:
    r"""A Stillinger–Weber-like three-body energy, (E,):

    .. math:: E = \sum_{j<k} g(r_j)\, g(r_k)\, \big(\cos\theta_{jk} + \tfrac13\big)^2,\qquad g(r) = (r_\text{cut} - r)^2

    zero when every angle is tetrahedral (cos θ = -1/3).
    """
    r = vectors.norm(dim=-1)
    unit = vectors / r[..., None]
    cos = unit @ unit.transpose(-1, -2)
    g = (r_cut - r) ** 2
    pair = g[..., :, None] * g[..., None, :] * (cos + 1 / 3) ** 2
    return torch.triu(pair, diagonal=1).sum(dim=(-1, -2))


def polynomial_radial(r: torch.Tensor, n_basis: int = 4) -> torch.Tensor:
    """Radial basis r^0, r^1, ..., r^(n_basis-1): (..., n_basis)."""
    return torch.stack([r ** b for b in range(n_basis)], dim=-1)


def two_body_features(vectors: torch.Tensor, n_basis: int = 8) -> torch.Tensor:
    r""":math:`\sum_j R_b(r_j)`: every linear 2-body model :math:`\sum_j \varphi(r_j)` is a combination of these (E, n_basis)."""
    return polynomial_radial(vectors.norm(dim=-1), n_basis).sum(dim=-2)


def atomic_basis(vectors: torch.Tensor, n_basis: int = 4, lmax: int = 2) -> torch.Tensor:
    r"""ACE's atomic basis :math:`A_{b,lm} = \sum_j R_b(r_j)\, Y_{lm}(\hat r_j)`: (E, n_basis, (lmax+1)²), e3nn's order."""
    R = polynomial_radial(vectors.norm(dim=-1), n_basis)                                    # (E, M, nb)
    Y = o3.spherical_harmonics(list(range(lmax + 1)), vectors, normalize=True, normalization="component")
    return torch.einsum("emb,emk->ebk", R, Y)


def three_body_features(A: torch.Tensor, lmax: int = 2) -> torch.Tensor:
    r"""The invariants :math:`B_{b_1 b_2 l} = \sum_m A_{b_1,lm} A_{b_2,lm}` (b1 ≤ b2, l ≤ lmax): (E, n_features).

    By the addition theorem :math:`\sum_m Y_{lm}(\hat u) Y_{lm}(\hat v) = (2l+1) P_l(\hat u\cdot\hat v)`
    (component normalization), so :math:`B = (2l+1) \sum_{j,k} R_{b_1}(r_j) R_{b_2}(r_k) P_l(\cos\theta_{jk})`:
    a sum over pairs of neighbours — 3-body (the terms j = k are 2-body).
    """
    nb = A.shape[1]
    i1, i2 = torch.triu_indices(nb, nb)
    feats = []
    for l in range(lmax + 1):
        a = A[..., l * l:(l + 1) ** 2]
        feats.append((a[:, i1] * a[:, i2]).sum(dim=-1))
    return torch.cat(feats, dim=-1)


def best_fit_residual(features: torch.Tensor, target: torch.Tensor) -> float:
    """Relative residual of the least-squares fit ``target ≈ c0 + features @ c``: ‖residual‖ / ‖target - mean‖.

    0 means a perfect fit, 1 means no better than the mean. float64 least squares (``torch.linalg.lstsq``).
    """
    X = torch.cat([torch.ones(len(features), 1, dtype=_F64), features.to(_F64)], dim=1)
    y = target.to(_F64)
    scale = X.abs().amax(dim=0).clamp(min=1e-300)
    coef = torch.linalg.lstsq(X / scale, y[:, None], driver="gelsd").solution
    residual = y - (X / scale @ coef)[:, 0]
    return float(residual.norm() / (y - y.mean()).norm())


def train_classifier(model, structures, labels, *, depth=None, steps: int = 300, lr: float = 1e-2,
                     loss_goal: float = 1e-2):
    """Full-batch Adam on a few structures with cross-entropy; stops once all are right and loss < ``loss_goal``.

    Returns ``(accuracy, logits, losses)``; the accuracy is computed on the final model.
    """
    from .graph import batch_point_clouds
    batch = batch_point_clouds(list(structures))
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    for _ in range(steps):
        logits = model(batch.pos, batch.batch, depth=depth)
        loss = torch.nn.functional.cross_entropy(logits, labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
        if losses[-1] < loss_goal and bool((logits.argmax(1) == labels).all()):
            break
    with torch.no_grad():
        logits = model(batch.pos, batch.batch, depth=depth)
    return float((logits.argmax(1) == labels).double().mean()), logits, losses
