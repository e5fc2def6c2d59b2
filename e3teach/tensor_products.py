r"""Tensor products made readable: selection rules and path tables (lesson 05).

Three helpers around e3nn's tensor products, for looking at them rather than computing with them:

* :func:`selection_rules` — which irreps appear in :math:`\mathrm{ir}_1 \otimes \mathrm{ir}_2`, printed
  with the reason: :math:`|l_1-l_2| \le l \le l_1+l_2` and :math:`p = p_1 p_2` (a thin wrapper over
  e3nn's ``ir1 * ir2``);
* :func:`allowed_products` — the same for every pair of irreps up to ``lmax``, as a table you can
  print and query (``table["1o", "2e"]``, ``table.producing("1e")``, ``table.allows(...)``);
* :func:`path_table` — the instructions of an ``o3.TensorProduct`` (``FullTensorProduct``,
  ``FullyConnectedTensorProduct``, ``ElementwiseTensorProduct``, a custom ``TensorProduct``) or of an
  ``o3.Linear``: which inputs feed which output, the connection mode, the number of weights of each
  path (they add up to ``weight_numel``) and the constant e3nn multiplies the path with.

Everything prints as aligned text and renders as an HTML table in Jupyter.

About the constants: in e3nn 0.6 a tensor product stores, in each instruction's ``path_weight``, the
number :math:`\sqrt{\alpha}` that its output is multiplied by (see
``e3nn/o3/_tensor_product/_tensor_product.py``). With the defaults
(``irrep_normalization="component"``, ``path_normalization="element"``)

.. math::
    \alpha = \frac{2 l_\mathrm{out} + 1}{\sum_{\text{paths } p \to \text{out}} n_p},

where :math:`n_p` is the number of products a path sums over (:math:`m_1 m_2` for ``"uvw"``, 1 for
``"uvuv"``/``"uuu"``, ...). :func:`path_table` shows that number, and writes it as
:math:`\sqrt{\text{fraction}}` when it is one.
"""
from __future__ import annotations

import html
import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Iterable, Iterator, Sequence

from e3nn import o3

__all__ = ["ProductRule", "ProductTable", "PathRow", "PathTable", "selection_rules", "allowed_products",
           "path_table"]


# ----------------------------------------------------------------------------------- helpers
def _irrep(x) -> o3.Irrep:
    """An ``o3.Irrep`` from ``"1o"``, ``(1, -1)`` or an Irrep; a ValueError that says what was given otherwise."""
    if isinstance(x, o3.Irrep):
        return x
    try:
        return o3.Irrep(x) if not isinstance(x, tuple) else o3.Irrep(*x)
    except Exception as exc:  # e3nn raises ValueError or AssertionError depending on the input
        raise ValueError(f"expected an irrep like '1o' or (1, -1), got {x!r}") from exc


def _natural_order(ir: o3.Irrep) -> tuple[int, int]:
    """Sort key: by l, even before odd (0e, 0o, 1e, 1o, ...)."""
    return ir.l, -ir.p


def _parity_sign(p: int) -> str:
    return "+1" if p == 1 else "−1"


def _text_table(head: Sequence[str], rows: Sequence[Sequence[str]], footer: Iterable[str] = ()) -> str:
    widths = [max(len(str(r[i])) for r in [head, *rows]) for i in range(len(head))]
    fmt = lambda r: "  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip()
    rule = "  ".join("─" * w for w in widths)
    return "\n".join([fmt(head), rule, *(fmt(r) for r in rows), *footer])


def _html_table(head: Sequence[str], rows: Sequence[Sequence[str]], caption: str = "", footer: str = "") -> str:
    th = "".join(f"<th>{html.escape(str(h))}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td><code>{html.escape(str(c))}</code></td>" for c in r) + "</tr>"
                   for r in rows)
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    foot = f"<p>{html.escape(footer)}</p>" if footer else ""
    return f"<table>{cap}<tr>{th}</tr>{body}</table>{foot}"


def _join(irreps: Iterable[o3.Irrep]) -> str:
    return " + ".join(str(ir) for ir in irreps) or "—"


# ---------------------------------------------------------------------------- selection rules
@dataclass(frozen=True)
class ProductRule:
    """What :math:`\\mathrm{ir}_1 \\otimes \\mathrm{ir}_2` contains, each allowed irrep once.

    Iterate over it (``o3.Irrep`` objects), test membership (``"2e" in rule``), or use ``.irreps``
    (an ``o3.Irreps``). Printing explains the two rules that produced the list.
    """

    ir1: o3.Irrep
    ir2: o3.Irrep

    @property
    def allowed(self) -> tuple[o3.Irrep, ...]:
        return tuple(self.ir1 * self.ir2)

    @property
    def irreps(self) -> o3.Irreps:
        return o3.Irreps([(1, ir) for ir in self.allowed])

    @property
    def l_range(self) -> tuple[int, int]:
        return abs(self.ir1.l - self.ir2.l), self.ir1.l + self.ir2.l

    @property
    def parity(self) -> int:
        return self.ir1.p * self.ir2.p

    def __iter__(self) -> Iterator[o3.Irrep]:
        return iter(self.allowed)

    def __len__(self) -> int:
        return len(self.allowed)

    def __contains__(self, ir) -> bool:
        try:
            return _irrep(ir) in self.allowed
        except ValueError:
            return False

    def explain(self) -> str:
        lo, hi = self.l_range
        p = "e" if self.parity == 1 else "o"
        dims = " + ".join(str(ir.dim) for ir in self.allowed)
        dims = f"{dims} = " if len(self.allowed) > 1 else ""
        return (f"l from |{self.ir1.l}−{self.ir2.l}| = {lo} to {self.ir1.l}+{self.ir2.l} = {hi}; "
                f"parity ({_parity_sign(self.ir1.p)})·({_parity_sign(self.ir2.p)}) = {_parity_sign(self.parity)} → {p}; "
                f"dimensions {self.ir1.dim}×{self.ir2.dim} = {dims}{self.ir1.dim * self.ir2.dim}")

    def __str__(self) -> str:
        """The rule, then why; lines longer than 100 characters break between the clauses of the why."""
        lines = [f"{self.ir1} ⊗ {self.ir2} = {_join(self.allowed)}   ("]
        for clause in self.explain().split("; "):
            if len(lines[-1]) + len(clause) + 3 > 100:
                lines[-1] += ";"
                lines.append("    ")
            lines[-1] += ("" if lines[-1].endswith(("(", " ")) else "; ") + clause
        return "\n".join(lines) + ")"

    __repr__ = __str__

    def _repr_html_(self) -> str:
        return (f"<p><code>{self.ir1} ⊗ {self.ir2} = {html.escape(_join(self.allowed))}</code>"
                f"<br><small>{html.escape(self.explain())}</small></p>")


def selection_rules(ir1, ir2) -> ProductRule:
    """The irreps allowed in ``ir1 ⊗ ir2`` (e3nn's ``ir1 * ir2``), with a printout of why.

    >>> print(selection_rules("1o", "1o"))      # doctest: +NORMALIZE_WHITESPACE
    1o ⊗ 1o = 0e + 1e + 2e   (l from |1−1| = 0 to 1+1 = 2; parity (−1)·(−1) = +1 → e; dimensions 3×3 = 1 + 3 + 5 = 9)
    """
    return ProductRule(_irrep(ir1), _irrep(ir2))


@dataclass(frozen=True)
class ProductTable:
    """The selection rules for every pair of a list of irreps, as a grid (rows ``ir1``, columns ``ir2``).

    Query it: ``table["1o", "2e"]`` (a :class:`ProductRule`), ``table.allows("1o", "1o", "1e")``,
    ``table.producing("1e")`` (the pairs whose product contains ``1e``).
    """

    irreps: tuple[o3.Irrep, ...]

    def __getitem__(self, pair) -> ProductRule:
        ir1, ir2 = pair
        return selection_rules(ir1, ir2)

    def allows(self, ir1, ir2, ir_out) -> bool:
        return _irrep(ir_out) in selection_rules(ir1, ir2)

    def producing(self, ir_out) -> list[tuple[o3.Irrep, o3.Irrep]]:
        """All pairs ``(ir1, ir2)`` of the table with ``ir1 ≤ ir2`` (table order) whose product contains ``ir_out``."""
        target = _irrep(ir_out)
        return [(a, b) for i, a in enumerate(self.irreps) for b in self.irreps[i:] if target in a * b]

    @property
    def rules(self) -> list[ProductRule]:
        return [selection_rules(a, b) for a in self.irreps for b in self.irreps]

    def _grid(self) -> tuple[list[str], list[list[str]]]:
        head = ["⊗"] + [str(ir) for ir in self.irreps]
        rows = [[str(a)] + ["+".join(str(ir) for ir in a * b) for b in self.irreps] for a in self.irreps]
        return head, rows

    def __str__(self) -> str:
        return _text_table(*self._grid())

    __repr__ = __str__

    def _repr_html_(self) -> str:
        return _html_table(*self._grid(), caption="ir1 (rows) ⊗ ir2 (columns)")


def allowed_products(lmax: int = 2, *, parities: str = "eo", irreps: Sequence | None = None) -> ProductTable:
    """Selection rules for all pairs of irreps with ``l ≤ lmax`` (and the given parities), as a :class:`ProductTable`.

    ``parities="e"`` keeps only the even irreps; ``irreps=["0e", "1o", "2e"]`` picks the list yourself.
    """
    if irreps is None:
        if int(lmax) < 0:
            raise ValueError(f"lmax must be ≥ 0, got {lmax}")
        if not parities or set(parities) - set("eo"):
            raise ValueError(f"parities must be 'e', 'o' or 'eo', got {parities!r}")
        chosen = [o3.Irrep(l, p) for l in range(int(lmax) + 1) for p in (1, -1) if ("e" if p == 1 else "o") in parities]
    else:
        chosen = [_irrep(ir) for ir in irreps]
    return ProductTable(tuple(sorted(dict.fromkeys(chosen), key=_natural_order)))


# -------------------------------------------------------------------------------- path tables
def _constant_text(c: float) -> str:
    """``0.4472 = √(1/5)`` when c² is a simple fraction, else ``0.4472``."""
    if c == 0:
        return "0"
    sq = Fraction(c * c).limit_denominator(1000)
    if sq.numerator > 0 and math.isclose(math.sqrt(sq.numerator / sq.denominator), abs(c), rel_tol=1e-9):
        sign = "−" if c < 0 else ""
        if sq.denominator == 1:
            root = math.isqrt(sq.numerator)
            if root * root == sq.numerator:
                return f"{c:.4g}"
            return f"{c:.4g} = {sign}√{sq.numerator}"
        return f"{c:.4g} = {sign}√({sq.numerator}/{sq.denominator})"
    return f"{c:.4g}"


@dataclass(frozen=True)
class PathRow:
    """One instruction: inputs, output, connection mode, number of weights and the constant it is multiplied by."""

    index: int
    in1: str
    in2: str
    out: str
    mode: str
    weights: int
    weight_count: str
    constant: float

    def cells(self) -> list[str]:
        return [str(self.index), self.in1, self.in2, self.out, self.mode, self.weight_count, _constant_text(self.constant)]


@dataclass(frozen=True)
class PathTable:
    """The paths of a tensor product (or ``o3.Linear``): rows are :class:`PathRow`.

    ``total_weights`` equals the module's ``weight_numel``; biases of an ``o3.Linear`` are listed as
    rows of mode ``"bias"`` and counted in ``bias_numel`` instead.
    """

    name: str
    irreps_in1: str
    irreps_in2: str
    irreps_out: str
    rows: tuple[PathRow, ...]

    HEAD = ("#", "in1", "in2", "out", "mode", "weights", "constant")

    @property
    def total_weights(self) -> int:
        return sum(r.weights for r in self.rows if r.mode != "bias")

    @property
    def bias_numel(self) -> int:
        return sum(r.weights for r in self.rows if r.mode == "bias")

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[PathRow]:
        return iter(self.rows)

    def _title(self) -> str:
        ins = self.irreps_in1 + (f" ⊗ {self.irreps_in2}" if self.irreps_in2 else "")
        return f"{self.name}: {ins} → {self.irreps_out}"

    def _footer(self) -> str:
        text = f"{len(self.rows) - sum(r.mode == 'bias' for r in self.rows)} paths, {self.total_weights} weights"
        if self.bias_numel:
            text += f" + {self.bias_numel} biases"
        return text

    def __str__(self) -> str:
        return self._title() + "\n" + _text_table(self.HEAD, [r.cells() for r in self.rows], [self._footer()])

    __repr__ = __str__

    def _repr_html_(self) -> str:
        return _html_table(self.HEAD, [r.cells() for r in self.rows], caption=self._title(), footer=self._footer())


def _labelled(irreps: o3.Irreps, i: int) -> str:
    return f"{irreps[i]} [{i}]"


def path_table(module) -> PathTable:
    """A readable table of the instructions of an ``o3.TensorProduct`` (any subclass) or an ``o3.Linear``.

    Columns: input blocks ``mul x irrep [index]``, output block, connection mode, weights of the path
    (the product of its ``path_shape``, written out, e.g. ``3×1×4 = 12``; 0 for a path without
    weights) and the constant e3nn multiplies the path with (``instruction.path_weight``, which e3nn
    0.6 sets to :math:`\\sqrt{\\alpha}` of its normalization).
    """
    if isinstance(module, o3.TensorProduct):
        rows = []
        for k, ins in enumerate(module.instructions):
            n = math.prod(ins.path_shape) if ins.has_weight else 0
            count = ("×".join(map(str, ins.path_shape)) + f" = {n}" if len(ins.path_shape) > 1 else str(n)) if ins.has_weight else "0"
            rows.append(PathRow(k, _labelled(module.irreps_in1, ins.i_in1), _labelled(module.irreps_in2, ins.i_in2),
                                _labelled(module.irreps_out, ins.i_out), ins.connection_mode, n, count,
                                float(ins.path_weight)))
        table = PathTable(type(module).__name__, str(module.irreps_in1), str(module.irreps_in2), str(module.irreps_out),
                          tuple(rows))
        assert table.total_weights == module.weight_numel, "path table disagrees with weight_numel"
        return table
    if isinstance(module, o3.Linear):
        rows = []
        for k, ins in enumerate(module.instructions):
            n = math.prod(ins.path_shape)
            if ins.i_in == -1:
                rows.append(PathRow(k, "bias", "", _labelled(module.irreps_out, ins.i_out), "bias", n, str(n), float(ins.path_weight)))
            else:
                count = "×".join(map(str, ins.path_shape)) + f" = {n}"
                rows.append(PathRow(k, _labelled(module.irreps_in, ins.i_in), "", _labelled(module.irreps_out, ins.i_out),
                                    "linear", n, count, float(ins.path_weight)))
        table = PathTable("Linear", str(module.irreps_in), "", str(module.irreps_out), tuple(rows))
        assert table.total_weights == module.weight_numel and table.bias_numel == module.bias_numel
        return table
    raise TypeError(f"path_table expects an e3nn o3.TensorProduct or o3.Linear, got {type(module).__name__}")
