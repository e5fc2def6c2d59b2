"""Locating the layer that breaks equivariance: the check run on the output of every submodule."""
from __future__ import annotations

import html
from dataclasses import dataclass

import torch
from e3nn import o3

from ..env import default_dtype
from ..roundoff import format_error
from ._check import as_irreps_list, in_dtype
from ._elements import GROUP_LABELS, group_elements, group_key
from ._report import default_tolerance

__all__ = ["ModuleCheck", "LocatorReport", "locate_equivariance_break"]


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
            return f"✅ every checked submodule is equivariant under {GROUP_LABELS[self.group]} ({len(self.modules)} checked)"
        worst = max(first.errors_by_irrep, key=first.errors_by_irrep.get)
        return (f"❌ first break under {GROUP_LABELS[self.group]}: '{first.name}' ({first.kind}), "
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
        group = group_key(group or ("E3" if point_model else "O3"))
        if not isinstance(model, torch.nn.Module):
            raise TypeError(f"locate_equivariance_break needs a torch.nn.Module (it hooks its submodules), "
                            f"got {type(model).__name__}")
        with in_dtype(model, dtype) as (func, lower):
            atol = atol if atol is not None else default_tolerance(dtype, lower)
            return _locate(func, pos, features, inputs, irreps_in, dict(irreps or {}), group, n_rotations,
                           atol, dtype, seed, point_model)


def _locate(func, pos, features, inputs, irreps_in, irreps, group, n_rotations, atol, dtype, seed,
            point_model) -> LocatorReport:
    if point_model:
        args = [pos.to(dtype)] + ([features.to(dtype)] if features is not None else [])
        irreps_args = [None] + ([o3.Irreps(irreps_in)] if features is not None else [])
    else:
        irreps_args = as_irreps_list(irreps_in)
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
