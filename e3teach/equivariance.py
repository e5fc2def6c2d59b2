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
"""
from __future__ import annotations

import contextlib
import copy
import functools
import html
from dataclasses import dataclass, field
from typing import Callable, Sequence

import torch
from e3nn import o3

from .env import default_dtype
from .roundoff import decade, format_error

#: Groups we know how to sample, and which kinds of elements each contains.
GROUPS = {
    "SO3": ("rotation",),
    "O3": ("rotation", "inversion", "improper rotation"),
    "SE3": ("rotation", "translation", "rotation + translation"),
    "E3": ("rotation", "inversion", "improper rotation", "translation", "improper rotation + translation"),
}
GROUP_NAMES = {"SO3": "SO(3)", "O3": "O(3)", "SE3": "SE(3)", "E3": "E(3)"}


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
    group = _group_key(group)
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


def _group_key(group: str) -> str:
    key = group.upper().replace("(", "").replace(")", "").replace(" ", "")
    if key not in GROUPS:
        raise ValueError(f"unknown group {group!r}: use one of {', '.join(GROUPS)}")
    return key


def _as_irreps_list(irreps) -> list[o3.Irreps]:
    if isinstance(irreps, (str, o3.Irreps)):
        return [o3.Irreps(irreps)]
    return [o3.Irreps(x) for x in irreps]


@dataclass
class EquivarianceReport:
    """The result of an equivariance check.

    ``errors[e, k]`` is the largest deviation :math:`|f(g\\cdot x) - g\\cdot f(x)|` for group
    element ``e`` on output irrep block ``k``, **relative to that block's own size**: divided by
    :math:`\\max(1, \\max|f(x)_k|)` (``block_scales``). ``absolute_errors`` keeps the raw numbers.

    Why relative, per block: round-off grows with the size of the numbers, so a correct model whose
    outputs are ×10⁸ larger has ×10⁸ larger absolute errors and should still pass; and a broken
    small block (a 0.01-sized vector) must not hide behind a large scalar next to it, as it would
    with one scale for the whole output. Below size 1 the error is absolute (a block that should be
    zero is not judged relative to zero). ``e3nn.util.test.assert_equivariant`` compares absolute
    errors with one tolerance instead: the same verdict for outputs of size ~1.

    Printing gives a one-line verdict; in JupyterLab it renders as a small table.
    ``bool(report)`` is ``True`` when it passed. Errors within the tolerance are printed as a band
    (``< 1e-11``, see :mod:`e3teach.roundoff`), so the text is the same on every CPU.
    """

    group: str
    elements: list[str]
    kinds: list[str]
    irreps_labels: list[str]
    errors: torch.Tensor
    tolerance: float
    block_scales: torch.Tensor
    dtype: torch.dtype = torch.float64
    notes: list[str] = field(default_factory=list)
    built_in_float32: bool = False

    @property
    def absolute_errors(self) -> torch.Tensor:
        """The raw errors ``|f(g·x) − g·f(x)|`` per element and block (not divided by the block size)."""
        return self.errors * self.block_scales.clamp(min=1.0)

    @property
    def output_scale(self) -> float:
        return float(self.block_scales.max()) if self.block_scales.numel() else 0.0

    # -- summary numbers -------------------------------------------------------------------
    @property
    def max_error(self) -> float:
        return float(self.errors.max()) if self.errors.numel() else 0.0

    @property
    def ok(self) -> bool:
        return bool(self.errors.numel() == 0 or self.max_error <= self.tolerance)

    def __bool__(self) -> bool:
        return self.ok

    @property
    def worst(self) -> tuple[str, str]:
        """(group element, output irrep) where the error is largest."""
        flat = int(self.errors.argmax())
        e, k = divmod(flat, self.errors.shape[1])
        return self.elements[e], self.irreps_labels[k]

    def errors_by_irrep(self) -> dict[str, float]:
        return {label: float(self.errors[:, k].max()) for k, label in enumerate(self.irreps_labels)}

    def errors_by_element(self) -> dict[str, float]:
        return {label: float(self.errors[e].max()) for e, label in enumerate(self.elements)}

    def errors_by_kind(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for kind, row in zip(self.kinds, self.errors):
            out[kind] = max(out.get(kind, 0.0), float(row.max()))
        return out

    def passes(self, group: str) -> bool:
        """Whether the elements belonging to a subgroup (e.g. ``"SO3"``) all passed."""
        allowed = GROUPS[_group_key(group)]
        rows = [e for e, kind in enumerate(self.kinds) if kind in allowed]
        return bool(not rows or float(self.errors[rows].max()) <= self.tolerance)

    def failing_irreps(self) -> list[str]:
        return [label for label, err in self.errors_by_irrep().items() if err > self.tolerance]

    # -- presentation ------------------------------------------------------------------------
    def _fmt(self, error: float) -> str:
        return format_error(error, self.tolerance)

    def _precision(self) -> str:
        dtype = str(self.dtype).replace("torch.", "")
        if self.built_in_float32:
            return (f"{dtype}; the module was built in float32, so its e3nn constants are float32-accurate "
                    f"and the tolerance is {decade(self.tolerance)} — build it inside "
                    "`with e3teach.default_dtype(torch.float64):` for a 1e-10 check")
        return dtype

    def verdict(self) -> str:
        name = GROUP_NAMES[self.group]
        if self.ok:
            return (f"✅ equivariant under {name}: max error {self._fmt(self.max_error)} (tolerance "
                    f"{decade(self.tolerance)}) over {len(self.elements)} group elements "
                    f"({', '.join(dict.fromkeys(self.kinds))}; {self._precision()})")
        element, irrep = self.worst
        by_kind = self.errors_by_kind()
        failing = [k for k, v in by_kind.items() if v > self.tolerance]
        passing = [k for k, v in by_kind.items() if v <= self.tolerance]
        text = (f"❌ NOT equivariant under {name}: max error {self._fmt(self.max_error)} > tolerance "
                f"{decade(self.tolerance)}, worst at '{element}' on output {irrep}; "
                f"fails for: {', '.join(failing)}")
        if passing:
            text += f"; passes for: {', '.join(passing)}"
        if self.built_in_float32:
            text += f" ({self._precision()})"
        return text

    def table(self) -> str:
        """Errors per output irrep (rows) and kind of group element (columns), as text."""
        kinds = list(dict.fromkeys(self.kinds))
        head = ["output irrep"] + kinds
        rows = []
        for k, label in enumerate(self.irreps_labels):
            row = [label]
            for kind in kinds:
                idx = [e for e, kd in enumerate(self.kinds) if kd == kind]
                row.append(self._fmt(float(self.errors[idx, k].max())))
            rows.append(row)
        widths = [max(len(r[i]) for r in [head] + rows) for i in range(len(head))]
        fmt = lambda r: "  ".join(c.ljust(w) for c, w in zip(r, widths))
        return "\n".join([fmt(head)] + [fmt(r) for r in rows])

    def __str__(self) -> str:
        """The verdict folded at 100 characters, continuation lines indented: what ``print(report)`` shows."""
        import textwrap
        return textwrap.fill(self.verdict(), 100, subsequent_indent="  ", break_on_hyphens=False)

    def __repr__(self) -> str:
        return self.verdict()

    def _repr_html_(self) -> str:
        kinds = list(dict.fromkeys(self.kinds))
        head = "".join(f"<th>{html.escape(k)}</th>" for k in ["output irrep"] + kinds)
        body = ""
        for k, label in enumerate(self.irreps_labels):
            cells = ""
            for kind in kinds:
                idx = [e for e, kd in enumerate(self.kinds) if kd == kind]
                err = float(self.errors[idx, k].max())
                colour = "#c8e6c9" if err <= self.tolerance else "#ffcdd2"
                cells += f'<td style="background:{colour}">{html.escape(self._fmt(err))}</td>'
            body += f"<tr><td><code>{html.escape(label)}</code></td>{cells}</tr>"
        notes = "".join(f"<br><small>{html.escape(n)}</small>" for n in self.notes)
        return (f"<p><b>{html.escape(self.verdict())}</b>{notes}</p>"
                f"<table><tr>{head}</tr>{body}</table>")

    def assert_ok(self) -> "EquivarianceReport":
        """Raise ``AssertionError`` with the verdict and table unless the check passed."""
        if not self.ok:
            raise AssertionError(self.verdict() + "\n" + self.table())
        return self


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
def _as_float(f, dtype, probe_args=None):
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


def _default_atol(dtype, built_in_float32: bool) -> float:
    if dtype != torch.float64:
        return 1e-4
    return 1e-5 if built_in_float32 else 1e-10


def _call(f, args):
    try:
        out = f(*args)
    except RuntimeError as exc:
        text = str(exc)
        if "dtype" in text or "scalar type" in text or "Double" in text or "Float" in text:
            raise RuntimeError(
                f"{text}\n\nThe check runs in float64. Pass the module itself (it is copied to "
                "float64 for the check), build it after torch.set_default_dtype(torch.float64), or "
                "check in float32: dtype=torch.float32, atol=1e-5.") from exc
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


def _check_equivariance_impl(f: Callable, irreps_in, irreps_out, inputs: Sequence[torch.Tensor] | torch.Tensor | None = None,
                       *, group: str = "O3", n_rotations: int = 3, batch: int = 5, atol: float | None = None,
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
            ``max(1, max|f(x)_block|)``; default 1e-10 in float64, 1e-5 for a float32-built module
            checked in float64, and 1e-4 in float32.
    """
    group = _group_key(group)
    if group in ("SE3", "E3"):
        raise ValueError("translations act on positions: use check_point_model for E(3)/SE(3)")
    irreps_in, irreps_out = _as_irreps_list(irreps_in), _as_irreps_list(irreps_out)
    gen = torch.Generator().manual_seed(seed + 1)
    if inputs is None:
        inputs = [torch.randn(batch, ir.dim, generator=gen, dtype=dtype) for ir in irreps_in]
    elif isinstance(inputs, torch.Tensor):
        inputs = [inputs]
    inputs = [x.to(dtype) for x in inputs]
    for n, (x, ir) in enumerate(zip(inputs, irreps_in)):
        if x.shape[-1] != ir.dim:
            raise ValueError(f"input {n} has shape {tuple(x.shape)} but '{ir}' has dimension {ir.dim}")
    with _as_float(f, dtype, inputs) as (func, lower):
        reference = _call(func, inputs)
        _check_outputs(reference, irreps_out)
        lower = lower or _computed_in_lower_precision(reference, dtype)
        notes = []  # a float32-built module is explained once, in the verdict
        atol = atol if atol is not None else _default_atol(dtype, lower)
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
    r"""Check a model on a point cloud: ``model(pos)`` or ``model(pos, features)``.

    Each group element acts as :math:`p \mapsto p R^\top + t` on the positions (``t`` only for the
    groups with translations, ``"E3"`` and ``"SE3"``) and as :math:`x \mapsto x D_\text{in}(R)^\top`
    on the features; the outputs must transform as ``irreps_out`` (translations leave them
    unchanged: they only see relative positions). Per-point and per-graph outputs both work: the
    group acts on the last axis. Tolerances as in :func:`check_equivariance` (per output block,
    relative to its size).
    """
    group = _group_key(group)
    irreps_out = _as_irreps_list(irreps_out)
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
    with _as_float(model, dtype, args) as (func, lower):
        reference = _call(func, args)
        _check_outputs(reference, irreps_out)
        lower = lower or _computed_in_lower_precision(reference, dtype)
        notes = ["positions: p → p Rᵀ + t; features and outputs rotate with D(R)"]
        atol = atol if atol is not None else _default_atol(dtype, lower)
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


def check_equivariance(f: Callable, irreps_in, irreps_out, inputs=None, *, group: str = "O3",
                       n_rotations: int = 3, batch: int = 5, atol: float | None = None,
                       dtype: torch.dtype = torch.float64, seed: int = 0) -> EquivarianceReport:
    with default_dtype(dtype):
        return _check_equivariance_impl(f, irreps_in, irreps_out, inputs, group=group,
                                        n_rotations=n_rotations, batch=batch, atol=atol, dtype=dtype, seed=seed)


def check_point_model(model: Callable, pos: torch.Tensor, features: torch.Tensor | None = None, *,
                      irreps_out, irreps_in=None, group: str = "E3", n_rotations: int = 3,
                      atol: float | None = None, dtype: torch.dtype = torch.float64,
                      seed: int = 0) -> EquivarianceReport:
    with default_dtype(dtype):
        return _check_point_model_impl(model, pos, features, irreps_out=irreps_out, irreps_in=irreps_in,
                                       group=group, n_rotations=n_rotations, atol=atol, dtype=dtype, seed=seed)


check_equivariance.__doc__ = _check_equivariance_impl.__doc__
check_point_model.__doc__ = _check_point_model_impl.__doc__


def equivariance_error(f: Callable, x: torch.Tensor, D_in: torch.Tensor, D_out: torch.Tensor) -> float:
    """The bare definition for one group element: ``max |f(x @ D_in.T) - f(x) @ D_out.T|``."""
    return float((f(x @ D_in.T) - f(x) @ D_out.T).abs().max())


__all__ = ["GroupElement", "EquivarianceReport", "random_rotation", "group_elements",
           "check_equivariance", "check_point_model", "equivariance_error", "ModuleCheck", "LocatorReport",
           "locate_equivariance_break"]


# --- locating the layer that breaks equivariance ----------------------------------------------------

@dataclass
class ModuleCheck:
    """The equivariance error of one submodule's output, per output irrep block.

    ``errors_by_irrep`` holds errors relative to each block's size, ``max(1, max|output|)``, as in
    :class:`EquivarianceReport`; ``tolerance`` applies to them.
    """

    name: str
    kind: str
    irreps: str
    errors_by_irrep: dict
    tolerance: float

    @property
    def max_error(self) -> float:
        return max(self.errors_by_irrep.values(), default=0.0)

    @property
    def ok(self) -> bool:
        return self.max_error <= self.tolerance

    @property
    def error_text(self) -> str:
        """The max error as printed: a band within the tolerance (see :mod:`e3teach.roundoff`)."""
        return format_error(self.max_error, self.tolerance)


@dataclass
class LocatorReport:
    """Per-submodule equivariance errors, in the order the modules finished their forward pass."""

    group: str
    modules: list
    unchecked: list

    @property
    def first_break(self) -> ModuleCheck | None:
        return next((m for m in self.modules if not m.ok), None)

    @property
    def ok(self) -> bool:
        return self.first_break is None

    def __bool__(self) -> bool:
        return self.ok

    def verdict(self) -> str:
        first = self.first_break
        if first is None:
            return f"✅ every checked submodule is equivariant under {GROUP_NAMES[self.group]} ({len(self.modules)} checked)"
        worst = max(first.errors_by_irrep, key=first.errors_by_irrep.get)
        return (f"❌ first break under {GROUP_NAMES[self.group]}: '{first.name}' ({first.kind}), "
                f"error {first.error_text} on {worst}")

    def __str__(self) -> str:
        """One line per submodule (verdict, name, max error, irreps out; the kinds are in the HTML table),
        then the verdict: lines within 100 characters for short irreps."""
        import textwrap
        width = max([len(m.name) for m in self.modules] + [9])
        lines = [f"   {'submodule':<{width}}  {'max error':<9}  irreps out"]
        lines += [f"{'✅' if m.ok else '❌'} {m.name:<{width}}  {m.error_text:<9}  {m.irreps}" for m in self.modules]
        if self.unchecked:
            shown = ", ".join(self.unchecked[:4]) + (", ..." if len(self.unchecked) > 4 else "")
            lines.append(f"   {len(self.unchecked)} submodules not checked (no irreps_out): {shown}")
        fold = lambda line: line if len(line) <= 100 else textwrap.fill(
            line, 100, subsequent_indent="     ", break_on_hyphens=False)
        return "\n".join(fold(line) for line in lines + [self.verdict()])

    __repr__ = __str__

    def _repr_html_(self) -> str:
        rows = "".join(
            f'<tr style="background:{"#c8e6c9" if m.ok else "#ffcdd2"}"><td><code>{html.escape(m.name)}</code></td>'
            f"<td>{html.escape(m.kind)}</td><td><code>{html.escape(m.irreps)}</code></td><td>{html.escape(m.error_text)}</td></tr>"
            for m in self.modules)
        return (f"<p><b>{html.escape(self.verdict())}</b></p><table><tr><th>module</th><th>type</th>"
                f"<th>output irreps</th><th>max error</th></tr>{rows}</table>")


def locate_equivariance_break(model: torch.nn.Module, pos: torch.Tensor | None = None,
                              features: torch.Tensor | None = None, *, inputs=None, irreps_in=None,
                              irreps: dict | None = None, group: str | None = None, n_rotations: int = 2,
                              atol: float | None = None, dtype: torch.dtype = torch.float64,
                              seed: int = 0) -> LocatorReport:
    r"""Run the equivariance check on the output of *every* submodule (forward hooks) and report the
    first one, in execution order, whose output breaks.

    A submodule is checked when its output irreps are known: its ``irreps_out`` attribute (every
    e3nn module has one) or an entry of ``irreps`` (``{"module.name": "8x0e + 2x1o"}``) for plain
    torch modules. Call it like :func:`check_point_model` (``pos``, optional ``features`` with
    ``irreps_in``; group ``"E3"`` by default) or like :func:`check_equivariance` (``inputs`` with
    ``irreps_in``; group ``"O3"`` by default).
    """
    with default_dtype(dtype):
        point_model = pos is not None
        group = _group_key(group or ("E3" if point_model else "O3"))
        if not isinstance(model, torch.nn.Module):
            raise TypeError(f"locate_equivariance_break needs a torch.nn.Module (it hooks its submodules), "
                            f"got {type(model).__name__}")
        with _as_float(model, dtype) as (func, lower):
            atol = atol if atol is not None else _default_atol(dtype, lower)
            return _locate(func, pos, features, inputs, irreps_in, dict(irreps or {}), group, n_rotations,
                           atol, dtype, seed, point_model)


def _locate(func, pos, features, inputs, irreps_in, irreps, group, n_rotations, atol, dtype, seed,
            point_model) -> LocatorReport:
    if point_model:
        args = [pos.to(dtype)] + ([features.to(dtype)] if features is not None else [])
        irreps_args = [None] + ([o3.Irreps(irreps_in)] if features is not None else [])
    else:
        irreps_args = _as_irreps_list(irreps_in)
        args = [x.to(dtype) for x in ([inputs] if isinstance(inputs, torch.Tensor) else inputs)]

    checked, unchecked, records = {}, [], {}
    for name, module in func.named_modules():
        if not name or name.split(".")[-1].startswith("_"):  # the model itself, e3nn internals
            continue
        ir = irreps.get(name, getattr(module, "irreps_out", None))
        if ir is None:
            unchecked.append(name)
            continue
        checked[name] = (o3.Irreps(ir), type(module).__name__)

        def hook(mod, _inp, out, name=name):
            if isinstance(out, torch.Tensor):
                records.setdefault(name, []).append(out.detach())
        module.register_forward_hook(hook)

    def run(call_args):
        records.clear()
        func(*call_args)
        return {name: list(outs) for name, outs in records.items()}

    reference = run(args)
    order = list(reference)  # insertion order = order in which forward passes finished
    errors = {name: {} for name in order}
    for g in group_elements(group, n_rotations, seed=seed, dtype=dtype):
        moved = []
        for x, ir in zip(args, irreps_args):
            if ir is None:  # positions
                moved.append(x @ g.matrix.T + (g.translation if g.translation is not None else 0.0))
            else:
                moved.append(x @ ir.D_from_matrix(g.matrix).to(dtype).T)
        outputs = run(moved)
        for name in order:
            ir = checked[name][0]
            D = ir.D_from_matrix(g.matrix).to(dtype)
            for ref, out in zip(reference[name], outputs.get(name, [])):
                if ref.shape[-1] != ir.dim:
                    continue
                ref = ref.to(dtype)
                diff = (out.to(dtype) - ref @ D.T).abs()
                for (mul, irrep), sl in zip(ir, ir.slices()):
                    label = f"{mul}x{irrep} [{sl.start}:{sl.stop}]"
                    block = diff[..., sl]
                    scale = max(1.0, float(ref[..., sl].abs().max())) if block.numel() else 1.0
                    value = float(block.max()) / scale if block.numel() else 0.0
                    errors[name][label] = max(errors[name].get(label, 0.0), value)
    modules = [ModuleCheck(name, checked[name][1], str(checked[name][0]), errors[name], atol) for name in order]
    return LocatorReport(group, modules, unchecked)
