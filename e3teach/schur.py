r"""Schur's lemma by counting: the dimension of the space of equivariant linear (and bilinear) maps.

A linear map :math:`W: V_\text{in} \to V_\text{out}` is equivariant when :math:`D_\text{out}(g)\,W = W\,D_\text{in}(g)`
for every :math:`g`. With :math:`\operatorname{vec}` stacking the columns of :math:`W`,
:math:`\operatorname{vec}(A W B) = (B^\top \otimes A)\operatorname{vec}(W)`, so each :math:`g` gives the linear
constraint

.. math:: \big(I \otimes D_\text{out}(g) - D_\text{in}(g)^\top \otimes I\big)\,\operatorname{vec}(W) = 0 .

Stack the constraints of a few random elements of O(3) (two generic rotations already generate a dense subgroup of
SO(3); one improper element adds the parity), take an SVD in float64, and count the singular values below a
tolerance: that is the dimension of the null space, i.e. of the space of equivariant maps. Schur's lemma predicts
:math:`\sum_{ir} \text{mul}_\text{in}(ir)\,\text{mul}_\text{out}(ir)` — ``o3.Linear(irreps_in, irreps_out).weight_numel``.

A bilinear map :math:`V_1 \times V_2 \to V_3` is a linear map on :math:`V_1 \otimes V_2`, whose representation is
:math:`D_1(g) \otimes D_2(g)`: the same count then gives the number of tensor-product paths (times multiplicities),
``o3.FullyConnectedTensorProduct(irreps_1, irreps_2, irreps_3).weight_numel``.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from e3nn import o3

from .env import default_dtype
from .equivariance import group_elements

__all__ = ["NullSpace", "equivariance_constraint", "equivariant_maps", "count_equivariant_linear_maps",
           "count_equivariant_bilinear_maps", "sample_elements"]


def sample_elements(n_rotations: int = 3, seed: int = 0) -> list[torch.Tensor]:
    """``n_rotations`` random rotations and one improper rotation (float64 3×3 matrices)."""
    elements = group_elements("SO3", n_rotations, seed=seed)
    improper = group_elements("O3", 1, seed=seed + 1)[-1]           # "improper rotation 1": -R
    return [e.matrix for e in elements] + [improper.matrix]


def equivariance_constraint(D_in: torch.Tensor, D_out: torch.Tensor) -> torch.Tensor:
    r"""The matrix :math:`I \otimes D_\text{out} - D_\text{in}^\top \otimes I` acting on :math:`\operatorname{vec}(W)`
    (columns of :math:`W` stacked): it is zero on ``vec(W)`` exactly when :math:`D_\text{out} W = W D_\text{in}`."""
    eye_in = torch.eye(D_in.shape[0], dtype=D_in.dtype)
    eye_out = torch.eye(D_out.shape[0], dtype=D_out.dtype)
    return torch.kron(eye_in, D_out) - torch.kron(D_in.T.contiguous(), eye_out)


@dataclass
class NullSpace:
    """The equivariant maps found from the constraint: ``basis`` holds one map (shape ``(d_out, d_in)``) per row."""

    basis: torch.Tensor
    singular_values: torch.Tensor
    tol: float

    @property
    def dim(self) -> int:
        return self.basis.shape[0]

    @property
    def gap(self) -> tuple[float, float]:
        """(largest singular value counted as zero, smallest one not counted): a clean count has a wide gap."""
        s = self.singular_values
        zero, nonzero = s[s <= self.tol], s[s > self.tol]
        return (float(zero.max()) if len(zero) else 0.0, float(nonzero.min()) if len(nonzero) else float("inf"))


def equivariant_maps(D_in, D_out, elements: list[torch.Tensor] | None = None, tol: float = 1e-9) -> NullSpace:
    r"""All linear maps :math:`W` with :math:`D_\text{out}(g) W = W D_\text{in}(g)` for the test ``elements``.

    ``D_in`` and ``D_out`` are functions of a 3×3 matrix ``g`` returning the representation matrices (for example
    ``o3.Irreps("2x0e + 1o").D_from_matrix``). Computed in float64; the singular values of the stacked constraints
    below ``tol`` (relative to the largest, which is of order 1) count as zero.
    """
    elements = sample_elements() if elements is None else elements
    with default_dtype(torch.float64):
        blocks = [(D_in(g.to(torch.float64)), D_out(g.to(torch.float64))) for g in elements]
        constraint = torch.cat([equivariance_constraint(a, b) for a, b in blocks])
        _, s, vh = torch.linalg.svd(constraint, full_matrices=False)  # a square block per g
    scale = max(float(s.max()), 1.0)
    null = vh[s <= tol * scale]
    d_in, d_out = blocks[0][0].shape[0], blocks[0][1].shape[0]
    basis = null.reshape(-1, d_in, d_out).transpose(1, 2)  # rows: vec(W)
    return NullSpace(basis=basis, singular_values=s, tol=tol * scale)


def count_equivariant_linear_maps(irreps_in, irreps_out, **kwargs) -> int:
    """Dimension of the space of O(3)-equivariant linear maps ``irreps_in -> irreps_out``, counted numerically."""
    irreps_in, irreps_out = o3.Irreps(irreps_in), o3.Irreps(irreps_out)
    return equivariant_maps(irreps_in.D_from_matrix, irreps_out.D_from_matrix, **kwargs).dim


def count_equivariant_bilinear_maps(irreps_1, irreps_2, irreps_out, **kwargs) -> int:
    r"""Dimension of the space of O(3)-equivariant bilinear maps ``irreps_1 × irreps_2 -> irreps_out``: linear maps
    from the tensor product representation :math:`D_1(g) \otimes D_2(g)`, counted numerically."""
    irreps_1, irreps_2, irreps_out = o3.Irreps(irreps_1), o3.Irreps(irreps_2), o3.Irreps(irreps_out)

    def D_pair(g):
        return torch.kron(irreps_1.D_from_matrix(g), irreps_2.D_from_matrix(g))

    return equivariant_maps(D_pair, irreps_out.D_from_matrix, **kwargs).dim
