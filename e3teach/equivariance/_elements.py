"""The groups an equivariance check samples (SO(3), O(3), SE(3), E(3)) and their test elements."""
from __future__ import annotations

from dataclasses import dataclass

import torch
from e3nn import o3

__all__ = ["GROUPS", "GROUP_LABELS", "GroupElement", "random_rotation", "group_elements", "group_key"]

#: Groups we know how to sample, and which kinds of elements each contains.
GROUPS = {
    "SO3": ("rotation",),
    "O3": ("rotation", "inversion", "improper rotation"),
    "SE3": ("rotation", "translation", "rotation + translation"),
    "E3": ("rotation", "inversion", "improper rotation", "translation", "improper rotation + translation"),
}
#: How each group is written in verdicts.
GROUP_LABELS = {"SO3": "SO(3)", "O3": "O(3)", "SE3": "SE(3)", "E3": "E(3)"}


@dataclass
class GroupElement:
    """One element of E(3): ``p -> p @ matrix.T + translation`` (``matrix`` in O(3))."""

    label: str
    kind: str
    matrix: torch.Tensor
    translation: torch.Tensor | None = None

    @property
    def is_proper(self) -> bool:
        return bool(torch.det(self.matrix) > 0)


def random_rotation(generator: torch.Generator | None = None, dtype=torch.float64) -> torch.Tensor:
    """A uniformly random rotation matrix (Haar measure): a normalized Gaussian quaternion."""
    q = torch.randn(4, generator=generator, dtype=dtype)
    return o3.quaternion_to_matrix(q / q.norm())


def group_elements(group: str = "O3", n_rotations: int = 3, *, seed: int = 0,
                   dtype=torch.float64) -> list[GroupElement]:
    """Sample test elements of ``group`` (``"SO3"``, ``"O3"``, ``"SE3"`` or ``"E3"``).

    Uses its own random generator, so it does not disturb the notebook's random state.
    """
    group = group_key(group)
    gen = torch.Generator().manual_seed(seed)
    eye = torch.eye(3, dtype=dtype)
    kinds = GROUPS[group]
    elements = []

    def translation():
        return 2.0 * torch.randn(3, generator=gen, dtype=dtype)

    for i in range(n_rotations):
        elements.append(GroupElement(f"rotation {i + 1}", "rotation", random_rotation(gen, dtype)))
    if "inversion" in kinds:
        elements.append(GroupElement("inversion", "inversion", -eye))
    if "improper rotation" in kinds:
        for i in range(n_rotations):
            elements.append(GroupElement(f"improper rotation {i + 1}", "improper rotation",
                                         -random_rotation(gen, dtype)))
    if "translation" in kinds:
        elements.append(GroupElement("translation", "translation", eye, translation()))
    for kind in ("rotation + translation", "improper rotation + translation"):
        if kind in kinds:
            sign = -1.0 if kind.startswith("improper") else 1.0
            elements.append(GroupElement(kind, kind, sign * random_rotation(gen, dtype), translation()))
    return elements


def group_key(group: str) -> str:
    """The key of :data:`GROUPS` for a group written "O3", "o3" or "O(3)"; a ValueError naming the choices otherwise."""
    key = group.upper().replace("(", "").replace(")", "").replace(" ", "")
    if key not in GROUPS:
        raise ValueError(f"unknown group {group!r}: use one of {', '.join(GROUPS)}")
    return key
