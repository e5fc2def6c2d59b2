r"""3D tetris: eight shapes of four unit cubes, the toy data set of the tensor field network paper
(Thomas et al., 2018, arXiv:1802.08219) and of e3nn's examples.

Two shapes, ``chiral_shape_1`` and ``chiral_shape_2``, are mirror images of each other: no rotation
maps one onto the other, but an inversion (or a mirror) does. A label is therefore ``0o + 6x0e``:

- a pseudoscalar (``0o``, flips sign under inversion): +1 for ``chiral_shape_1``, -1 for
  ``chiral_shape_2``, 0 for the six achiral shapes;
- six scalars (``6x0e``): a one-hot code of the six achiral shapes, all zero for the chiral pair.

Under a reflection the label of a transformed shape is the label with its pseudoscalar multiplied
by ``det R = -1``: a mirrored ``chiral_shape_1`` *is* a (rotated) ``chiral_shape_2``.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from ..equivariance import random_rotation

__all__ = ["SHAPE_NAMES", "LABEL_IRREPS", "TetrisSet", "tetris", "random_orthogonal", "transform",
           "random_copies", "decode"]

SHAPE_NAMES = ("chiral_shape_1", "chiral_shape_2", "square", "line", "corner", "L", "T", "zigzag")

_COORDINATES = (
    ((0, 0, 0), (0, 0, 1), (1, 0, 0), (1, 1, 0)),    # chiral_shape_1
    ((0, 0, 0), (0, 0, 1), (1, 0, 0), (1, -1, 0)),   # chiral_shape_2 (mirror image of the first)
    ((0, 0, 0), (1, 0, 0), (0, 1, 0), (1, 1, 0)),    # square
    ((0, 0, 0), (0, 0, 1), (0, 0, 2), (0, 0, 3)),    # line
    ((0, 0, 0), (0, 0, 1), (0, 1, 0), (1, 0, 0)),    # corner
    ((0, 0, 0), (0, 0, 1), (0, 0, 2), (0, 1, 0)),    # L
    ((0, 0, 0), (0, 0, 1), (0, 0, 2), (0, 1, 1)),    # T
    ((0, 0, 0), (1, 0, 0), (1, 1, 0), (2, 1, 0)),    # zigzag
)

#: Irreps of the label vector.
LABEL_IRREPS = "0o + 6x0e"


def _label_vectors(dtype) -> torch.Tensor:
    labels = torch.zeros(8, 7, dtype=dtype)
    labels[0, 0], labels[1, 0] = 1.0, -1.0
    labels[2:, 1:] = torch.eye(6, dtype=dtype)
    return labels


@dataclass
class TetrisSet:
    """A batch of tetris pieces.

    Attributes:
        pos: (B, 4, 3) positions, each piece centred at its centroid.
        shape: (B,) index into :data:`SHAPE_NAMES` of what the piece *is* (a mirrored chiral piece
            is the other chiral shape).
        label: (B, 7) the ``0o + 6x0e`` label vector.
        matrix: (B, 3, 3) the O(3) element applied to the reference piece.
    """

    pos: torch.Tensor
    shape: torch.Tensor
    label: torch.Tensor
    matrix: torch.Tensor

    def __len__(self) -> int:
        return self.pos.shape[0]

    @property
    def names(self) -> list[str]:
        return [SHAPE_NAMES[i] for i in self.shape.tolist()]

    def subset(self, mask: torch.Tensor) -> "TetrisSet":
        return TetrisSet(self.pos[mask], self.shape[mask], self.label[mask], self.matrix[mask])


def tetris(dtype: torch.dtype | None = None, *, centered: bool = True) -> TetrisSet:
    """The eight reference pieces, in one fixed orientation (the identity transform)."""
    dtype = dtype or torch.get_default_dtype()
    pos = torch.tensor(_COORDINATES, dtype=dtype)
    if centered:
        pos = pos - pos.mean(dim=1, keepdim=True)
    eye = torch.eye(3, dtype=dtype).expand(8, 3, 3).clone()
    return TetrisSet(pos, torch.arange(8), _label_vectors(dtype), eye)


def random_orthogonal(n: int, *, reflections: bool = False, generator: torch.Generator | None = None,
                      dtype: torch.dtype | None = None) -> torch.Tensor:
    """``n`` random matrices: uniform rotations, each composed with inversion with probability 1/2
    when ``reflections`` is true (so half of them have det = -1)."""
    dtype = dtype or torch.get_default_dtype()
    mats = torch.stack([random_rotation(generator, torch.float64) for _ in range(n)]).to(dtype)
    if reflections:
        signs = torch.where(torch.rand(n, generator=generator) < 0.5, -1.0, 1.0).to(dtype)
        mats = mats * signs[:, None, None]
    return mats


def transform(pieces: TetrisSet, matrices: torch.Tensor) -> TetrisSet:
    """Apply one O(3) matrix per piece: positions ``pos @ R.T``, labels' pseudoscalar × det R,
    and a mirrored chiral piece becomes the other chiral shape."""
    det = torch.linalg.det(matrices).sign()
    pos = torch.einsum("bij,bnj->bni", matrices, pieces.pos)
    label = pieces.label.clone()
    label[:, 0] = label[:, 0] * det
    shape = pieces.shape.clone()
    chiral = shape < 2
    flip = chiral & (det < 0)
    shape[flip] = 1 - shape[flip]
    return TetrisSet(pos, shape, label, matrices @ pieces.matrix)


def random_copies(pieces: TetrisSet, copies: int, *, reflections: bool = False, seed: int = 0) -> TetrisSet:
    """``copies`` randomly rotated (and, with ``reflections``, possibly mirrored) copies of each piece.

    The result is ordered copy-major: ``copies`` blocks of ``len(pieces)`` pieces.
    """
    gen = torch.Generator().manual_seed(seed)
    repeated = TetrisSet(pieces.pos.repeat(copies, 1, 1), pieces.shape.repeat(copies),
                         pieces.label.repeat(copies, 1), pieces.matrix.repeat(copies, 1, 1))
    mats = random_orthogonal(len(repeated), reflections=reflections, generator=gen, dtype=pieces.pos.dtype)
    return transform(repeated, mats)


def decode(output: torch.Tensor) -> torch.Tensor:
    """Predicted shape index: the shape whose ``0o + 6x0e`` label vector is nearest to ``output``."""
    labels = _label_vectors(output.dtype).to(output.device)
    return torch.cdist(output, labels).argmin(dim=1)
