r"""Equivariance checking: the tool learners use all course long.

A function :math:`f` from features of type ``irreps_in`` to features of type ``irreps_out`` is
equivariant under a group :math:`G` when, for every :math:`g \in G`,

.. math::  f\big(x\, D_\text{in}(g)^\top\big) = f(x)\, D_\text{out}(g)^\top ,

(features are row-stacked, so a group element acts as ``x @ D.T``). For a model on a point cloud
the positions transform as vectors *and* may be translated, :math:`p \mapsto p R^\top + t`, while
the features only rotate. We test a handful of random group elements in float64 and report the
error per group element and per output irrep, so a failure says *where* and *for which symmetry*.

``e3nn.util.test.equivariance_error`` does the core comparison too; we add the per-irrep breakdown,
point-cloud models with optional features, readable verdicts and an HTML table. Our unit tests
compare both on the same models.

One module per job, each re-exported here: ``_elements`` (the groups and their sampled elements),
``_report`` (:class:`EquivarianceReport` and the default tolerances :data:`TOLERANCE`,
:data:`FLOAT32_BUILT_TOLERANCE`), ``_check`` (:func:`check_equivariance`, :func:`check_point_model`) and
``_locator`` (:func:`locate_equivariance_break`: the check on every submodule's output).
"""
from __future__ import annotations

from ._check import check_equivariance, check_point_model, equivariance_error, is_dtype_error
from ._elements import GROUP_LABELS, GROUPS, GroupElement, group_elements, group_key, random_rotation
from ._locator import LocatorReport, ModuleCheck, locate_equivariance_break
from ._report import FLOAT32_BUILT_TOLERANCE, TOLERANCE, EquivarianceReport, default_tolerance

__all__ = ["GroupElement", "EquivarianceReport", "random_rotation", "group_elements", "group_key", "GROUPS",
           "GROUP_LABELS", "TOLERANCE", "FLOAT32_BUILT_TOLERANCE", "default_tolerance", "check_equivariance",
           "check_point_model", "equivariance_error", "is_dtype_error", "ModuleCheck", "LocatorReport",
           "locate_equivariance_break"]
