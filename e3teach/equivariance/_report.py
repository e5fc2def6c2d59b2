"""The result of an equivariance check: :class:`EquivarianceReport` (verdict, table, HTML), and the
default tolerances it is judged with."""
from __future__ import annotations

import html
import textwrap
from dataclasses import dataclass, field

import torch

from ..roundoff import decade, format_error
from ._elements import GROUP_LABELS, GROUPS, group_key

__all__ = ["TOLERANCE", "FLOAT32_BUILT_TOLERANCE", "default_tolerance", "EquivarianceReport"]

#: Default tolerance per dtype of the check, on errors relative to each output block's size: above
#: the round-off of a correct model in that dtype (float64 ≤ ~3e-13, float32 ≤ ~3e-5 in this course).
TOLERANCE = {torch.float64: 1e-10, torch.float32: 1e-4}
#: Default tolerance for a module *built* in float32 and checked in float64: e3nn computed its constants
#: (Clebsch–Gordan coefficients, ...) in float32 when it was built, so they are float32-accurate.
FLOAT32_BUILT_TOLERANCE = 1e-5


def default_tolerance(dtype: torch.dtype, built_in_float32: bool = False) -> float:
    """:data:`TOLERANCE` of ``dtype`` (float32's for any lower precision), or :data:`FLOAT32_BUILT_TOLERANCE`
    for a float32-built module checked in float64."""
    if dtype != torch.float64:
        return TOLERANCE.get(dtype, TOLERANCE[torch.float32])
    return FLOAT32_BUILT_TOLERANCE if built_in_float32 else TOLERANCE[torch.float64]


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
        allowed = GROUPS[group_key(group)]
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
                    "`with e3teach.default_dtype(torch.float64):` for a "
                    f"{decade(TOLERANCE[torch.float64])} check")
        return dtype

    def verdict(self) -> str:
        name = GROUP_LABELS[self.group]
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
        __tracebackhide__ = True      # pytest shows the caller's line, not this one
        if not self.ok:
            raise AssertionError(self.verdict() + "\n" + self.table())
        return self
