"""Checking a function or a point-cloud model: :func:`check_equivariance`, :func:`check_point_model`
(the maths: :mod:`e3teach.equivariance`), and the machinery they share with the locator: running a
module in float64 for the check (:func:`in_dtype`) and reading its outputs."""
from __future__ import annotations

import contextlib
import copy
import functools
from typing import Callable, Sequence

import torch
from e3nn import o3

from ..env import default_dtype
from ..roundoff import decade
from ._elements import group_elements, group_key
from ._report import TOLERANCE, EquivarianceReport, default_tolerance

__all__ = ["check_equivariance", "check_point_model", "equivariance_error", "is_dtype_error", "in_dtype",
           "as_irreps_list"]


def as_irreps_list(irreps) -> list[o3.Irreps]:
    """One ``o3.Irreps`` per argument (or output): ``"1o"`` → ``[Irreps("1o")]``, a list → a list."""
    if isinstance(irreps, (str, o3.Irreps)):
        return [o3.Irreps(irreps)]
    return [o3.Irreps(x) for x in irreps]


def _irreps_labels(irreps_out: list[o3.Irreps], several: bool) -> list[str]:
    labels = []
    for n, irreps in enumerate(irreps_out):
        prefix = f"output {n}: " if several else ""
        for (mul, ir), sl in zip(irreps, irreps.slices()):
            labels.append(f"{prefix}{mul}x{ir} [{sl.start}:{sl.stop}]")
    return labels


def _float32_tensors(module: torch.nn.Module) -> bool:
    return any(t.dtype == torch.float32 for t in list(module.parameters()) + list(module.buffers()))


def _modules_behind(f, depth: int = 2) -> list[torch.nn.Module]:
    """The ``torch.nn.Module`` objects a plain callable uses: a bound method's object, a
    ``functools.partial``'s arguments, and the closure variables and globals a function names
    (``lambda x: model(x)``). Looked up ``depth`` levels deep; duplicates removed."""
    found: dict[int, torch.nn.Module] = {}

    def visit(obj, level):
        if isinstance(obj, torch.nn.Module):
            found.setdefault(id(obj), obj)
            return
        if level > depth or obj is None:
            return
        if hasattr(obj, "__self__") and isinstance(getattr(obj, "__self__"), torch.nn.Module):
            visit(obj.__self__, level + 1)
        if isinstance(obj, functools.partial):
            for item in (obj.func, *obj.args, *obj.keywords.values()):
                visit(item, level + 1)
        code = getattr(obj, "__code__", None)
        if code is not None:
            for cell in getattr(obj, "__closure__", None) or ():
                try:
                    visit(cell.cell_contents, level + 1)
                except ValueError:  # an empty cell
                    pass
            names = getattr(obj, "__globals__", {})
            for name in code.co_names:
                if name in names and not isinstance(names[name], type(functools)):
                    visit(names[name], level + 1)

    visit(f, 0)
    return list(found.values())


def is_dtype_error(exc: Exception | str) -> bool:
    """Whether an exception (or its text) is about mismatched dtypes (float32 vs float64)."""
    text = str(exc)
    return any(word in text for word in ("dtype", "scalar type", "Double", "Float", "double", "float"))


@contextlib.contextmanager
def in_dtype(f, dtype, probe_args=None):
    """Yield ``(function, built_in_lower_precision)`` to run the check in ``dtype`` (float64).

    A module is copied to ``dtype``. A plain callable that uses modules (``lambda x: model(x)``) has
    those modules converted in place for the duration of the check and converted back afterwards
    (float32 → float64 → float32 is exact), so wrapping a module in a lambda changes nothing —
    unless the function itself casts to float32 (``model(x.float())``): then ``probe_args`` fail
    with a dtype error, and the modules are left as they are.

    ``built_in_lower_precision`` is true when a module holds float32 tensors and the check runs in
    float64: e3nn computes its constants (Clebsch–Gordan coefficients, ...) when a module is built,
    in the default dtype, so converting a float32 module to float64 leaves them float32-accurate
    (equivariance errors ~1e-7, however correct the model).
    """
    if isinstance(f, torch.nn.Module):
        lower = dtype == torch.float64 and _float32_tensors(f)
        yield copy.deepcopy(f).to(dtype), lower
        return
    modules = [m for m in _modules_behind(f) if dtype == torch.float64 and _float32_tensors(m)
               and all(t.dtype == torch.float32 for t in list(m.parameters()) + list(m.buffers())
                       if t.is_floating_point())]
    if not modules:
        yield f, False
        return
    for m in modules:
        m.to(dtype)
    try:
        if probe_args is not None:
            try:
                f(*probe_args)
            except RuntimeError as exc:
                if not is_dtype_error(exc):
                    raise
                for m in modules:
                    m.to(torch.float32)
                modules = []
        yield f, True
    finally:
        for m in modules:
            m.to(torch.float32)


def _call(f, args):
    try:
        out = f(*args)
    except RuntimeError as exc:
        if is_dtype_error(exc):
            raise RuntimeError(
                f"{exc}\n\nThe check runs in float64. Pass the module itself (it is copied to "
                "float64 for the check), build it after torch.set_default_dtype(torch.float64), or "
                f"check in float32: dtype=torch.float32 (tolerance {decade(TOLERANCE[torch.float32])}).") from exc
        raise
    return list(out) if isinstance(out, (tuple, list)) else [out]


def _check_outputs(outputs, irreps_out):
    if len(outputs) != len(irreps_out):
        raise ValueError(f"the function returned {len(outputs)} output(s) but irreps_out lists "
                         f"{len(irreps_out)}: give one Irreps per output")
    for n, (out, irreps) in enumerate(zip(outputs, irreps_out)):
        if not isinstance(out, torch.Tensor):
            raise TypeError(f"output {n} is a {type(out).__name__}, expected a torch.Tensor")
        if out.shape[-1] != irreps.dim:
            raise ValueError(f"output {n} has shape {tuple(out.shape)}: its last axis should have "
                             f"irreps_out.dim = {irreps.dim} components for '{irreps}'")


def _compare(outputs_then_transform, outputs_of_transformed, irreps_out):
    """Max abs error per irrep block, concatenated over outputs."""
    errs = []
    for a, b, irreps in zip(outputs_then_transform, outputs_of_transformed, irreps_out):
        diff = (a.detach().to(torch.float64) - b.detach().to(torch.float64)).abs()
        for sl in irreps.slices():
            block = diff[..., sl]
            errs.append(float(block.max()) if block.numel() else 0.0)
    return errs


def _block_scales(reference_outputs, irreps_out) -> torch.Tensor:
    """The largest ``|f(x)|`` of each output irrep block (the order of ``_compare``)."""
    scales = []
    for out, irreps in zip(reference_outputs, irreps_out):
        out = out.detach().to(torch.float64).abs()
        for sl in irreps.slices():
            block = out[..., sl]
            scales.append(float(block.max()) if block.numel() else 0.0)
    return torch.tensor(scales, dtype=torch.float64)


def _computed_in_lower_precision(outputs, dtype) -> bool:
    return dtype == torch.float64 and any(o.dtype in (torch.float32, torch.float16, torch.bfloat16) for o in outputs)


def _report(group, elements, irreps_out, errors, reference_outputs, atol, dtype, notes, lower):
    scales = _block_scales(reference_outputs, irreps_out)
    absolute = torch.tensor(errors, dtype=torch.float64).reshape(len(elements), -1)
    return EquivarianceReport(
        group=group, elements=[e.label for e in elements], kinds=[e.kind for e in elements],
        irreps_labels=_irreps_labels(irreps_out, len(irreps_out) > 1),
        errors=absolute / scales.clamp(min=1.0), tolerance=atol, block_scales=scales, dtype=dtype,
        notes=notes, built_in_float32=lower)


def check_equivariance(f: Callable, irreps_in, irreps_out, inputs=None, *, group: str = "O3",
                       n_rotations: int = 3, batch: int = 5, atol: float | None = None,
                       dtype: torch.dtype = torch.float64, seed: int = 0) -> EquivarianceReport:
    r"""Check :math:`f(x D_\text{in}(g)^\top) = f(x) D_\text{out}(g)^\top` on random group elements.

    Args:
        f: a function or ``torch.nn.Module`` taking one tensor per entry of ``irreps_in``.
            A module is copied to ``dtype`` (float64 by default) for the check; modules that a
            plain function uses (``lambda x: model(x)``) are converted for the check and back.
        irreps_in: the input irreps (one, or a list for several arguments).
        irreps_out: the output irreps (one, or a list if ``f`` returns a tuple).
        inputs: the inputs to use; random features (``batch`` rows) when ``None``.
        group: ``"SO3"`` (rotations) or ``"O3"`` (rotations and parity).
        atol: tolerance on the error of each output irrep block relative to that block's size,
            ``max(1, max|f(x)_block|)``; default ``TOLERANCE[dtype]``, or ``FLOAT32_BUILT_TOLERANCE``
            for a float32-built module checked in float64 (:func:`default_tolerance`).
        dtype: the dtype the check runs in (float64 by default).
        seed: seeds the inputs and the group elements (the notebook's random state is untouched).
    """
    with default_dtype(dtype):
        return _check_equivariance_impl(f, irreps_in, irreps_out, inputs, group=group,
                                        n_rotations=n_rotations, batch=batch, atol=atol, dtype=dtype, seed=seed)


def check_point_model(model: Callable, pos: torch.Tensor, features: torch.Tensor | None = None, *,
                      irreps_out, irreps_in=None, group: str = "E3", n_rotations: int = 3,
                      atol: float | None = None, dtype: torch.dtype = torch.float64,
                      seed: int = 0) -> EquivarianceReport:
    r"""Check a model on a point cloud: ``model(pos)`` or ``model(pos, features)``.

    Each group element acts as :math:`p \mapsto p R^\top + t` on the positions (``t`` only for the
    groups with translations, ``"E3"`` and ``"SE3"``) and as :math:`x \mapsto x D_\text{in}(R)^\top`
    on the features; the outputs must transform as ``irreps_out`` (translations leave them
    unchanged: they only see relative positions). Per-point and per-graph outputs both work: the
    group acts on the last axis. Tolerances as in :func:`check_equivariance` (per output block,
    relative to its size).
    """
    with default_dtype(dtype):
        return _check_point_model_impl(model, pos, features, irreps_out=irreps_out, irreps_in=irreps_in,
                                       group=group, n_rotations=n_rotations, atol=atol, dtype=dtype, seed=seed)


def _check_equivariance_impl(f: Callable, irreps_in, irreps_out, inputs: Sequence[torch.Tensor] | torch.Tensor | None = None,
                       *, group: str = "O3", n_rotations: int = 3, batch: int = 5, atol: float | None = None,
                       dtype: torch.dtype = torch.float64, seed: int = 0) -> EquivarianceReport:
    """The body of :func:`check_equivariance`, run under its dtype."""
    group = group_key(group)
    if group in ("SE3", "E3"):
        raise ValueError("translations act on positions: use check_point_model for E(3)/SE(3)")
    irreps_in, irreps_out = as_irreps_list(irreps_in), as_irreps_list(irreps_out)
    gen = torch.Generator().manual_seed(seed + 1)
    if inputs is None:
        inputs = [torch.randn(batch, ir.dim, generator=gen, dtype=dtype) for ir in irreps_in]
    elif isinstance(inputs, torch.Tensor):
        inputs = [inputs]
    inputs = [x.to(dtype) for x in inputs]
    for n, (x, ir) in enumerate(zip(inputs, irreps_in)):
        if x.shape[-1] != ir.dim:
            raise ValueError(f"input {n} has shape {tuple(x.shape)} but '{ir}' has dimension {ir.dim}")
    with in_dtype(f, dtype, inputs) as (func, lower):
        reference = _call(func, inputs)
        _check_outputs(reference, irreps_out)
        lower = lower or _computed_in_lower_precision(reference, dtype)
        notes = []  # a float32-built module is explained once, in the verdict
        atol = atol if atol is not None else default_tolerance(dtype, lower)
        elements = group_elements(group, n_rotations, seed=seed, dtype=dtype)
        errors = []
        for g in elements:
            rotated_in = [x @ ir.D_from_matrix(g.matrix).to(dtype).T for x, ir in zip(inputs, irreps_in)]
            out_of_rotated = _call(func, rotated_in)
            rotated_out = [y.detach().to(dtype) @ ir.D_from_matrix(g.matrix).to(dtype).T
                           for y, ir in zip(reference, irreps_out)]
            errors.append(_compare(rotated_out, out_of_rotated, irreps_out))
    return _report(group, elements, irreps_out, errors, reference, atol, dtype, notes, lower)


def _check_point_model_impl(model: Callable, pos: torch.Tensor, features: torch.Tensor | None = None, *,
                      irreps_out, irreps_in=None, group: str = "E3", n_rotations: int = 3,
                      atol: float | None = None, dtype: torch.dtype = torch.float64,
                      seed: int = 0) -> EquivarianceReport:
    """The body of :func:`check_point_model`, run under its dtype."""
    group = group_key(group)
    irreps_out = as_irreps_list(irreps_out)
    if not isinstance(pos, torch.Tensor) or pos.shape[-1] != 3:
        raise ValueError(f"pos should be a tensor of shape (N, 3), got {getattr(pos, 'shape', type(pos))}")
    pos = pos.to(dtype)
    args = [pos]
    if features is not None:
        if irreps_in is None:
            raise ValueError("features were given: say how they transform with irreps_in='...'")
        irreps_in = o3.Irreps(irreps_in)
        if features.shape[-1] != irreps_in.dim:
            raise ValueError(f"features have shape {tuple(features.shape)} but '{irreps_in}' has "
                             f"dimension {irreps_in.dim}")
        args.append(features.to(dtype))
    with in_dtype(model, dtype, args) as (func, lower):
        reference = _call(func, args)
        _check_outputs(reference, irreps_out)
        lower = lower or _computed_in_lower_precision(reference, dtype)
        notes = ["positions: p → p Rᵀ + t; features and outputs rotate with D(R)"]
        atol = atol if atol is not None else default_tolerance(dtype, lower)
        elements = group_elements(group, n_rotations, seed=seed, dtype=dtype)
        errors = []
        for g in elements:
            moved = [pos @ g.matrix.T + (g.translation if g.translation is not None else 0.0)]
            if features is not None:
                moved.append(args[1] @ irreps_in.D_from_matrix(g.matrix).to(dtype).T)
            out_of_moved = _call(func, moved)
            moved_out = [y.detach().to(dtype) @ ir.D_from_matrix(g.matrix).to(dtype).T
                         for y, ir in zip(reference, irreps_out)]
            errors.append(_compare(moved_out, out_of_moved, irreps_out))
    return _report(group, elements, irreps_out, errors, reference, atol, dtype, notes, lower)


def equivariance_error(f: Callable, x: torch.Tensor, D_in: torch.Tensor, D_out: torch.Tensor) -> float:
    """The bare definition for one group element: ``max |f(x @ D_in.T) - f(x) @ D_out.T|``."""
    return float((f(x @ D_in.T) - f(x) @ D_out.T).abs().max())
