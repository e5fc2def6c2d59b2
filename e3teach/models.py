r"""Small, readable reference models built from e3nn parts.

- :class:`PointConvolution` — one equivariant point convolution (lesson 07): for every edge ``src → dst``

  .. math:: m_{e} = u(|r_e|)\,\mathrm{TP}\big(x_\text{src},\ Y(\hat r_e);\ W(|r_e|)\big),\qquad
            x'_\text{dst} = W_\text{self}\,x_\text{dst} + \frac{1}{\sqrt{n}} \sum_{e \to \text{dst}} m_e ,

  with ``r_e = pos[dst] - pos[src]``, spherical harmonics :math:`Y`, tensor-product weights
  :math:`W` produced by an MLP of a radial basis of :math:`|r_e|`, and :math:`n` the typical number
  of neighbours. The smooth cutoff :math:`u` on the message (``smooth_cutoff=True``) and the
  self-interaction :math:`W_\text{self}` (an ``o3.Linear``, ``self_interaction=True``) are optional;
  without them (the default, used by the networks below) the radial basis alone vanishes at ``r_max``.
  Distances (``r_max``, positions) are in the units of ``pos``: Å for molecules and crystals.
- :func:`gated_irreps` / :class:`GatedBlock` — a point convolution followed by an ``e3nn.nn.Gate``.
- :class:`EquivariantPointNet` — a few gated blocks, pooled per graph: the network of lessons
  01, 07–09 (and reused later).
- :class:`PlainMLP` and :class:`SortedDistanceMLP` — the non-equivariant baseline and the
  distance-only invariant model of lesson 01.
"""
from __future__ import annotations

import math

import torch
from e3nn import nn as enn
from e3nn import o3
from e3nn.math import soft_one_hot_linspace

from .graph import radius_graph, scatter_sum

__all__ = ["RadialBasis", "BesselBasis", "polynomial_cutoff", "UvuThenLinear", "PointConvolution", "tp_path_exists",
           "gated_irreps", "GatedBlock", "EquivariantPointNet", "PlainMLP", "sorted_distances", "SortedDistanceMLP",
           "MLPEnsemble", "DEFAULT_LMAX"]

#: The largest degree of the edges' spherical harmonics when a layer is not told (``lmax``).
DEFAULT_LMAX = 2


class RadialBasis(torch.nn.Module):
    r"""Embed a distance as ``num_basis`` smooth bumps on ``[0, r_max]`` times a smooth cutoff.

    Uses ``e3nn.math.soft_one_hot_linspace`` (``basis="smooth_finite"``, zero with all derivatives
    at both ends), scaled by :math:`\sqrt{\text{num\_basis}}` so its entries are of order one.
    ``r_max``: the cutoff radius, in the units of the positions (Å for atoms).
    """

    def __init__(self, r_max: float, num_basis: int = 10):
        super().__init__()
        self.r_max, self.num_basis = float(r_max), int(num_basis)

    def extra_repr(self) -> str:
        return f"r_max={self.r_max:g} Å, num_basis={self.num_basis}"

    def forward(self, distance: torch.Tensor) -> torch.Tensor:
        """``distance`` (E,) → (E, num_basis)."""
        emb = soft_one_hot_linspace(distance, 0.0, self.r_max, self.num_basis,
                                    basis="smooth_finite", cutoff=True)
        return emb.mul(self.num_basis ** 0.5)


class BesselBasis(torch.nn.Module):
    r"""The radial basis of DimeNet and NequIP: Bessel functions times a polynomial envelope,

    .. math:: B_n(r) = \sqrt{\tfrac{2}{r_\max}}\,\frac{\sin(n\pi r / r_\max)}{r}\;u(r),\qquad n = 1, \dots, N,

    with :math:`u` the polynomial cutoff (:func:`polynomial_cutoff`, ``p = 6``): zero, with its first two
    derivatives, at :math:`r_\max`. The :math:`1/r` keeps short bonds well resolved, where
    ``smooth_finite`` bumps spread evenly over :math:`[0, r_\max]`. ``r_max`` in the units of the
    positions (Å for atoms).
    """

    def __init__(self, r_max: float, num_basis: int = 8, p: int = 6):
        super().__init__()
        self.r_max, self.num_basis, self.p = float(r_max), int(num_basis), int(p)
        self.register_buffer("frequencies", torch.arange(1, num_basis + 1) * math.pi / self.r_max)

    def forward(self, distance: torch.Tensor) -> torch.Tensor:
        """``distance`` (E,) → (E, num_basis)."""
        r = distance[..., None]
        bessel = math.sqrt(2.0 / self.r_max) * torch.sin(self.frequencies.to(r.dtype) * r) / r
        return bessel * polynomial_cutoff(r, self.r_max, self.p)

    def extra_repr(self) -> str:
        return f"r_max={self.r_max:g} Å, num_basis={self.num_basis}, p={self.p}"


def polynomial_cutoff(r: torch.Tensor, r_max: float, p: int = 6) -> torch.Tensor:
    r"""The smooth cutoff of DimeNet/NequIP: :math:`u(x) = 1 - \tfrac{(p+1)(p+2)}{2}x^p + p(p+2)x^{p+1}
    - \tfrac{p(p+1)}{2}x^{p+2}` for :math:`x = r/r_\max < 1`, else 0; :math:`u(1) = u'(1) = u''(1) = 0`."""
    x = r / r_max
    u = 1 - (p + 1) * (p + 2) / 2 * x**p + p * (p + 2) * x ** (p + 1) - p * (p + 1) / 2 * x ** (p + 2)
    return u * (x < 1)


class UvuThenLinear(torch.nn.Module):
    """``uvu`` tensor product (one weight per channel and path, channels not mixed) then ``o3.Linear``.

    ``irreps_mid`` collects ``mul1 x ir_out`` for every allowed pair of input irreps whose product
    contains an ``ir_out`` present in ``irreps_out``; the linear layer then mixes channels within
    each irrep. This is the layout of NequIP's and MACE's interaction blocks.
    """

    def __init__(self, irreps_in1, irreps_in2, irreps_out, *, shared_weights: bool = True):
        super().__init__()
        irreps_in1, irreps_in2, irreps_out = o3.Irreps(irreps_in1), o3.Irreps(irreps_in2), o3.Irreps(irreps_out)
        wanted = {ir for _, ir in irreps_out}
        mid, instructions = [], []
        for i1, (mul1, ir1) in enumerate(irreps_in1):
            for i2, (_, ir2) in enumerate(irreps_in2):
                for ir_out in ir1 * ir2:
                    if ir_out in wanted:
                        instructions.append((i1, i2, len(mid), "uvu", True))
                        mid.append((mul1, ir_out))
        self.irreps_mid = o3.Irreps(mid)
        self.tp = o3.TensorProduct(irreps_in1, irreps_in2, self.irreps_mid, instructions,
                                   shared_weights=shared_weights, internal_weights=shared_weights)
        self.linear = o3.Linear(self.irreps_mid, irreps_out)
        self.irreps_in1, self.irreps_in2, self.irreps_out = irreps_in1, irreps_in2, irreps_out

    @property
    def weight_numel(self) -> int:
        """Weights of the tensor product plus those of the linear layer."""
        return self.tp.weight_numel + self.linear.weight_numel

    def forward(self, x, y, weight=None):
        """``x`` (..., irreps_in1.dim), ``y`` (..., irreps_in2.dim), ``weight`` (..., tp.weight_numel) or None
        → (..., irreps_out.dim)."""
        return self.linear(self.tp(x, y, weight) if weight is not None else self.tp(x, y))


def tp_path_exists(irreps_in1, irreps_in2, ir_out) -> bool:
    """Whether some ``ir1 ⊗ ir2`` of the inputs contains ``ir_out`` (selection rules)."""
    ir_out = o3.Irrep(ir_out)
    return any(ir_out in ir1 * ir2 for _, ir1 in o3.Irreps(irreps_in1) for _, ir2 in o3.Irreps(irreps_in2))


class PointConvolution(torch.nn.Module):
    """An equivariant point convolution (see the module docstring for the formula).

    ``lmax``: largest degree of the edges' spherical harmonics; ``r_max``: cutoff radius, in the units of
    ``pos`` (Å for atoms); ``num_neighbors``: the typical number of neighbours n (messages are summed and
    divided by √n). An output irrep that no path ``irreps_in ⊗ Y(l ≤ lmax)`` reaches stays zero (allowed:
    a first layer may not make every irrep of a hidden layer yet); when *no* output irrep is reachable,
    the layer would output zeros only, and ``ValueError`` says which irreps and what to change.
    """

    def __init__(self, irreps_in, irreps_out, *, lmax: int = DEFAULT_LMAX, r_max: float = 1.5, num_basis: int = 10,
                 radial_hidden: int = 16, num_neighbors: float = 3.0, self_interaction: bool = False,
                 smooth_cutoff: bool = False, radial_basis: str = "smooth_finite", tensor_product: str = "full"):
        super().__init__()
        self.irreps_in, self.irreps_out = o3.Irreps(irreps_in), o3.Irreps(irreps_out)
        self.irreps_sh = o3.Irreps.spherical_harmonics(lmax)
        reachable = [tp_path_exists(self.irreps_in, self.irreps_sh, ir) for _, ir in self.irreps_out]
        if not any(reachable):
            raise ValueError(f"no tensor-product path {self.irreps_in} ⊗ Y(l ≤ {lmax}) → {self.irreps_out or '(none)'} "
                             "(the layer would output zeros only): raise lmax, or choose output irreps that the "
                             "selection rules allow (check with e3teach.models.tp_path_exists)")
        self.r_max, self.num_neighbors, self.smooth_cutoff = float(r_max), float(num_neighbors), smooth_cutoff
        bases = {"smooth_finite": RadialBasis, "bessel": BesselBasis}
        if radial_basis not in bases:
            raise ValueError(f"radial_basis={radial_basis!r}: choose 'smooth_finite' or 'bessel'")
        self.radial = bases[radial_basis](r_max, num_basis)
        if tensor_product == "full":         # every (input channel, output channel) pair: uvw
            self.tp = o3.FullyConnectedTensorProduct(self.irreps_in, self.irreps_sh, self.irreps_out,
                                                     shared_weights=False)
            weight_numel = self.tp.weight_numel
        elif tensor_product == "uvu":        # NequIP's layout: linear, uvu (per-edge weights), linear
            self.tp_in = o3.Linear(self.irreps_in, self.irreps_in)
            self.tp = UvuThenLinear(self.irreps_in, self.irreps_sh, self.irreps_out, shared_weights=False)
            weight_numel = self.tp.tp.weight_numel
        else:
            raise ValueError(f"tensor_product={tensor_product!r}: choose 'full' or 'uvu'")
        self.tensor_product = tensor_product
        self.weights = enn.FullyConnectedNet([num_basis, radial_hidden, weight_numel], torch.nn.functional.silu)
        self.self_interaction = o3.Linear(self.irreps_in, self.irreps_out) if self_interaction else None

    def extra_repr(self) -> str:
        return (f"{self.irreps_in} -> {self.irreps_out}, lmax={self.irreps_sh.lmax}, r_max={self.r_max:g} Å, "
                f"num_neighbors={self.num_neighbors:g}, tensor_product={self.tensor_product!r}")

    def edge_features(self, edge_vec: torch.Tensor) -> tuple:
        """``(Y(edge_vec) (E, irreps_sh.dim), basis(|edge_vec|) (E, num_basis))``: what every message of an edge uses."""
        sh = o3.spherical_harmonics(self.irreps_sh, edge_vec, normalize=True, normalization="component")
        return sh, self.radial(edge_vec.norm(dim=1))

    def messages(self, x: torch.Tensor, edge_src: torch.Tensor, edge_vec: torch.Tensor,
                 edge_features: tuple | None = None) -> torch.Tensor:
        """One message per edge: ``u(r) TP(x[src], Y(edge_vec); MLP(basis(r)))`` (``u = 1`` without the cutoff).

        ``edge_features`` (from :meth:`edge_features`) saves recomputing them when layers share the edges."""
        sh, basis = edge_features if edge_features is not None else self.edge_features(edge_vec)
        if self.tensor_product == "uvu":
            x = self.tp_in(x)
        messages = self.tp(x[edge_src], sh, self.weights(basis))
        if self.smooth_cutoff:
            messages = messages * polynomial_cutoff(edge_vec.norm(dim=1), self.r_max)[:, None]
        return messages

    def forward(self, x: torch.Tensor, pos: torch.Tensor, edge_src: torch.Tensor, edge_dst: torch.Tensor,
                edge_vec: torch.Tensor | None = None, edge_features: tuple | None = None) -> torch.Tensor:
        """``x`` (N, irreps_in.dim), ``pos`` (N, 3), ``edge_src``/``edge_dst`` (E,) → (N, irreps_out.dim).

        ``edge_vec`` (E, 3) defaults to ``pos[edge_dst] - pos[edge_src]``; pass it to add periodic cell shifts
        (lesson 12). ``edge_features``: see :meth:`messages`."""
        if edge_vec is None:
            edge_vec = pos[edge_dst] - pos[edge_src]
        messages = self.messages(x, edge_src, edge_vec, edge_features)
        out = scatter_sum(messages, edge_dst, x.shape[0]) / math.sqrt(self.num_neighbors)
        if self.self_interaction is not None:
            out = out + self.self_interaction(x)
        return out


def gated_irreps(irreps_hidden, irreps_in, irreps_sh):
    """Split target hidden irreps into the (scalars, gates, gated) of an ``e3nn.nn.Gate``,
    keeping only what a tensor product ``irreps_in ⊗ irreps_sh`` can produce."""
    irreps_hidden = o3.Irreps(irreps_hidden)
    scalars = o3.Irreps([(mul, ir) for mul, ir in irreps_hidden
                         if ir.l == 0 and tp_path_exists(irreps_in, irreps_sh, ir)])
    gated = o3.Irreps([(mul, ir) for mul, ir in irreps_hidden
                       if ir.l > 0 and tp_path_exists(irreps_in, irreps_sh, ir)])
    gate_ir = "0e" if tp_path_exists(irreps_in, irreps_sh, "0e") else "0o"
    gates = o3.Irreps([(mul, gate_ir) for mul, _ in gated])
    return scalars, gates, gated


class GatedBlock(torch.nn.Module):
    """Point convolution → ``e3nn.nn.Gate``.

    Even scalars (0e) go through SiLU, odd scalars (0o) through tanh — an *odd* function, so a
    pseudoscalar still flips sign under inversion — and every l > 0 irrep is multiplied by a
    sigmoid of its own gate scalar (a rotation-invariant number, so the direction is untouched).

    Hidden irreps that the convolution cannot make from ``irreps_in`` with harmonics up to ``lmax`` are
    left out (:func:`gated_irreps`); ``ValueError`` when none is left, or when no scalar can gate the
    vectors. The other keyword arguments go to :class:`PointConvolution`.
    """

    def __init__(self, irreps_in, irreps_hidden, *, lmax: int = DEFAULT_LMAX, **conv_kwargs):
        super().__init__()
        irreps_sh = o3.Irreps.spherical_harmonics(lmax)
        scalars, gates, gated = gated_irreps(irreps_hidden, irreps_in, irreps_sh)
        paths = f"{o3.Irreps(irreps_in)} ⊗ Y(l ≤ {lmax})"
        if not scalars and not gated:
            raise ValueError(f"no tensor-product path {paths} → {o3.Irreps(irreps_hidden)} (the gate would be "
                             "empty): raise lmax, or add hidden irreps that the selection rules allow "
                             "(check with e3teach.models.tp_path_exists)")
        if gated and not any(tp_path_exists(irreps_in, irreps_sh, ir) for ir in ("0e", "0o")):
            raise ValueError(f"no tensor-product path {paths} → 0e or 0o (nothing can gate {gated}: its gates "
                             "would stay zero): raise lmax so that a scalar can be made")
        act = {1: torch.nn.functional.silu, -1: torch.tanh}
        self.gate = enn.Gate(scalars, [act[ir.p] for _, ir in scalars],
                             gates, [torch.sigmoid if ir.p == 1 else torch.tanh for _, ir in gates], gated)
        self.conv = PointConvolution(irreps_in, self.gate.irreps_in, lmax=lmax, **conv_kwargs)
        self.irreps_in, self.irreps_out = o3.Irreps(irreps_in), self.gate.irreps_out

    def extra_repr(self) -> str:
        return f"{self.irreps_in} -> {self.irreps_out}"

    def forward(self, x, pos, edge_src, edge_dst, edge_vec=None, edge_features=None):
        """``x`` (N, irreps_in.dim), ``pos`` (N, 3), ``edge_src``/``edge_dst`` (E,) → (N, irreps_out.dim);
        ``edge_vec``, ``edge_features`` as in :meth:`PointConvolution.forward`."""
        return self.gate(self.conv(x, pos, edge_src, edge_dst, edge_vec=edge_vec, edge_features=edge_features))


class EquivariantPointNet(torch.nn.Module):
    r"""A small E(3)-equivariant network on point clouds.

    Node inputs are the constant scalar 1 (``"0e"``) unless ``irreps_node_in`` and node features
    are given. ``layers`` gated blocks are followed by a final convolution to ``irreps_out``; the
    outputs are summed over the nodes of each graph (``pool=True``) or returned per node.

    Call as ``model(pos)`` for one cloud, or ``model(pos, batch=batch)`` for a batch. ``r_max`` (the
    radius of the graph and of the radial basis) is in the units of ``pos`` (Å for atoms).
    """

    def __init__(self, irreps_out, *, irreps_node_in="0e", irreps_hidden="8x0e + 8x0o + 4x1e + 4x1o + 2x2e + 2x2o",
                 layers: int = 2, lmax: int = DEFAULT_LMAX, r_max: float = 1.5, num_basis: int = 10, radial_hidden: int = 16,
                 num_neighbors: float = 3.0, pool: bool = True):
        super().__init__()
        self.irreps_node_in, self.irreps_out = o3.Irreps(irreps_node_in), o3.Irreps(irreps_out)
        self.r_max, self.pool = float(r_max), pool
        conv_kwargs = dict(lmax=lmax, r_max=r_max, num_basis=num_basis, radial_hidden=radial_hidden,
                           num_neighbors=num_neighbors)
        blocks, irreps = [], self.irreps_node_in
        for _ in range(layers):
            block = GatedBlock(irreps, irreps_hidden, **conv_kwargs)
            blocks.append(block)
            irreps = block.irreps_out
        self.blocks = torch.nn.ModuleList(blocks)
        self.output = PointConvolution(irreps, self.irreps_out, **conv_kwargs)

    def extra_repr(self) -> str:
        return f"{self.irreps_node_in} -> {self.irreps_out}, r_max={self.r_max:g} Å, pool={self.pool}"

    def forward(self, pos: torch.Tensor, node_features: torch.Tensor | None = None,
                batch: torch.Tensor | None = None) -> torch.Tensor:
        """``pos`` (N, 3), ``node_features`` (N, irreps_node_in.dim) or None, ``batch`` (N,) graph index or None
        → (num_graphs, irreps_out.dim), or (N, irreps_out.dim) with ``pool=False``."""
        if batch is None:
            batch = torch.zeros(pos.shape[0], dtype=torch.long, device=pos.device)
        if node_features is None:
            node_features = pos.new_ones(pos.shape[0], self.irreps_node_in.dim)
        edge_src, edge_dst = radius_graph(pos, self.r_max, batch)
        x = node_features
        for block in self.blocks:
            x = block(x, pos, edge_src, edge_dst)
        x = self.output(x, pos, edge_src, edge_dst)
        if not self.pool:
            return x
        return scatter_sum(x, batch, int(batch.max()) + 1 if batch.numel() else 0)


class PlainMLP(torch.nn.Module):
    """The non-equivariant baseline: an MLP on the flattened (centred) coordinates."""

    def __init__(self, n_points: int, n_classes: int, hidden: int = 64):
        super().__init__()
        self.net = torch.nn.Sequential(
            torch.nn.Flatten(), torch.nn.Linear(3 * n_points, hidden), torch.nn.SiLU(),
            torch.nn.Linear(hidden, hidden), torch.nn.SiLU(), torch.nn.Linear(hidden, n_classes))

    def forward(self, pos: torch.Tensor) -> torch.Tensor:
        """``pos`` (B, n_points, 3) → (B, n_classes)."""
        return self.net(pos - pos.mean(dim=-2, keepdim=True))


def sorted_distances(pos: torch.Tensor) -> torch.Tensor:
    """The sorted list of pairwise distances of each cloud ((B, n, 3) → (B, n(n-1)/2)).

    Invariant under rotations, translations, reflections *and* permutations — and therefore blind
    to chirality: a shape and its mirror image have the same distances.
    """
    i, j = torch.triu_indices(pos.shape[-2], pos.shape[-2], offset=1)
    return (pos[..., i, :] - pos[..., j, :]).norm(dim=-1).sort(dim=-1).values


class SortedDistanceMLP(torch.nn.Module):
    """An invariant model: an MLP on :func:`sorted_distances`."""

    def __init__(self, n_points: int, n_classes: int, hidden: int = 64):
        super().__init__()
        n_pairs = n_points * (n_points - 1) // 2
        self.net = torch.nn.Sequential(torch.nn.Linear(n_pairs, hidden), torch.nn.SiLU(),
                                       torch.nn.Linear(hidden, n_classes))

    def forward(self, pos: torch.Tensor) -> torch.Tensor:
        """``pos`` (B, n_points, 3) → (B, n_classes)."""
        return self.net(sorted_distances(pos))


class MLPEnsemble(torch.nn.Module):
    r"""``n_models`` independent MLPs evaluated at once with batched matrix products.

    Input (M, B, n_in) → output (M, B, n_out); model ``m`` only sees ``x[m]``. Training all of them
    on the sum of their losses is the same as training each on its own (gradients do not mix,
    and Adam's update is per parameter), only much faster for tiny networks: lesson 01 trains one
    MLP per (number of copies, seed) this way. Initialised like ``torch.nn.Linear``.
    """

    def __init__(self, n_models: int, n_in: int, n_out: int, hidden: int = 128, layers: int = 2):
        super().__init__()
        sizes = [n_in] + [hidden] * layers + [n_out]
        self.weights = torch.nn.ParameterList()
        self.biases = torch.nn.ParameterList()
        for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
            bound = 1.0 / math.sqrt(fan_in)
            self.weights.append(torch.nn.Parameter(torch.empty(n_models, fan_in, fan_out).uniform_(-bound, bound)))
            self.biases.append(torch.nn.Parameter(torch.empty(n_models, 1, fan_out).uniform_(-bound, bound)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` (n_models, B, n_in) → (n_models, B, n_out)."""
        for k, (w, b) in enumerate(zip(self.weights, self.biases)):
            x = torch.baddbmm(b, x, w)
            if k < len(self.weights) - 1:
                x = torch.nn.functional.silu(x)
        return x
