"""Finite point groups: subgroups of O(3) built by closure, named the Schoenflies way.

Everything here is float64 and every e3nn object is built under a float64 default dtype
(see :func:`e3teach.default_dtype`): the symmetry facts we compute (ranks, degeneracies) are
integers read off float matrices, so we want ~1e-12 accuracy, not float32's ~1e-7.

Conventions
-----------
- A group is a tensor ``(n, 3, 3)`` of orthogonal matrices acting on column vectors
  (on row-stacked points as ``pos @ R.T``); the identity comes first.
- The **principal axis is z** by default (the crystallographic convention: C4 about z, the
  horizontal mirror σh is the xy plane, vertical mirrors contain z, the C2' axes of Dn lie along x).
  Note that e3nn's spherical harmonics use **y** as their polar axis; ``point_group(name, axis="y")``
  puts the principal axis along y instead, which can be handy next to e3nn's harmonics.
- Cubic groups (T, Td, Th, O, Oh) have their cube axes along x, y, z; the icosahedral groups (I, Ih)
  use the standard orientation with three C2 axes along x, y, z and a C5 axis along (0, 1, φ),
  where φ is the golden ratio (vertices of the icosahedron at the cyclic permutations of (0, ±1, ±φ)).

The package has one module per job (each re-exported here, so ``from e3teach.point_groups import X``
works for every name below): ``_groups`` (operations, closure, :class:`PointGroup`, the catalogue),
``_naming`` (Schoenflies names from structure), ``_identify`` (the group of a molecule from coordinates),
``_invariants`` (projectors, invariant harmonics, degeneracies, Neumann's principle) and ``_figures``
(a plotly figure and a widget).

Main entry points: :func:`generate`, :func:`point_group`, :func:`identify` (the group of a molecule
or cluster, robust to noisy coordinates), :func:`schoenflies_name` (the name of a group of matrices),
:func:`invariant_projector`, :func:`count_invariant_harmonics`, :func:`character_count`,
:func:`degeneracies`, :func:`tensor_component_count`.

Groups are *named from their structure* — how many rotations of each order, whether the inversion
is there, how many mirrors (see ``_naming.schoenflies``) — never from rounded numbers; :func:`fingerprint`
(the multiset of (det, trace)) is kept as an orientation-independent description for comparisons.
"""
from __future__ import annotations

from ._figures import group_explorer, group_figure
from ._groups import (GROUP_NAMES, PointGroup, catalogue, element_symbol, fingerprint, generate, improper_rotation,
                      point_group, reflection, rotation)
from ._identify import InfinitePointGroup, identify
from ._invariants import (GENERIC_POINT, character_count, count_invariant_harmonics, degeneracies, energy_levels,
                          first_invariant_harmonic, invariant_projector, orbit, tensor_component_count)
from ._naming import schoenflies_name

__all__ = ["generate", "PointGroup", "InfinitePointGroup", "point_group", "identify", "schoenflies_name",
           "invariant_projector", "count_invariant_harmonics", "character_count", "degeneracies", "energy_levels",
           "tensor_component_count", "rotation", "reflection", "improper_rotation", "catalogue", "fingerprint",
           "element_symbol", "orbit", "first_invariant_harmonic", "GENERIC_POINT", "group_figure", "group_explorer",
           "GROUP_NAMES"]
