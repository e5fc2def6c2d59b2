r"""Checking that a function is a group representation of O(3) (or SO(3)).

A *representation* of a group :math:`G` assigns to every element :math:`g` an invertible square
matrix :math:`D(g)` such that products are respected:

.. math::  D(g_1 g_2) = D(g_1)\, D(g_2) \quad\text{for all } g_1, g_2 \in G, \qquad D(e) = I .

Here :math:`G` is O(3) (or its subgroup SO(3)) and a group element is a 3×3 orthogonal matrix, so
``D`` is any function taking a (3, 3) tensor and returning a (d, d) tensor: ``R ↦ R`` itself,
``R ↦ det R`` (a 1×1 matrix), or e3nn's ``o3.Irreps("1o + 2e").D_from_matrix``. e3nn's
representations are also *orthogonal*, :math:`D(g) D(g)^\top = I`, which we check too (turn it off
with ``orthogonal=False`` for a representation written in a non-orthonormal basis).

:func:`check_representation` samples group elements (the same ones as
:func:`e3teach.equivariance.group_elements`), evaluates ``D`` on every element and on every
product of two, and returns a :class:`RepresentationReport` that prints a one-line ✅/❌ verdict
with the worst error and the pair of elements where it occurs.

The check runs with torch's default dtype set to float64: parts of e3nn compute constants in the
default dtype, so ``D_from_matrix`` is only ~1e-7 accurate under a float32 default even for a
float64 ``R``.

The default tolerance is 1e-9, not 1e-10: e3nn builds Wigner D matrices with ``torch.matrix_exp``,
whose single-matrix float64 path (torch 2.13) is only ~2.5e-10 accurate for some small arguments
(its degree-8 Taylor branch, pytorch/pytorch#196592; a batch of two or more matrices takes an
accurate path). Over the :math:`k^2` products tested here, some rotation angle lands in that range
often enough to matter; genuine mistakes give errors of order 1, and float32 ~1e-7.
"""
from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Callable

import torch

from .env import default_dtype
from .equivariance import GROUP_LABELS, GroupElement, group_elements, group_key
from .roundoff import format_error

__all__ = ["RepresentationReport", "check_representation", "homomorphism_error"]

PROPERTIES = ("homomorphism", "identity", "orthogonality")
_STATEMENTS = {
    "homomorphism": "D(g1 g2) = D(g1) D(g2)",
    "identity": "D(I) = I",
    "orthogonality": "D Dᵀ = I",
}


@dataclass
class RepresentationReport:
    r"""The result of :func:`check_representation`.

    ``homomorphism[i, j]`` is :math:`\max |D(g_i g_j) - D(g_i) D(g_j)|`, ``identity`` is
    :math:`\max |D(I) - I|` and ``orthogonality[i]`` is :math:`\max |D(g_i) D(g_i)^\top - I|`
    (``None`` when not checked). Printing gives a one-line verdict; ``bool(report)`` is ``True``
    when every checked property holds within ``tolerance``.
    """

    group: str
    elements: list[str]
    kinds: list[str]
    dim: int
    homomorphism: torch.Tensor
    identity: float
    orthogonality: torch.Tensor | None
    tolerance: float
    dtype: torch.dtype = torch.float64
    notes: list[str] = field(default_factory=list)

    # -- summary numbers -------------------------------------------------------------------
    def errors_by_property(self) -> dict[str, float]:
        """The largest error of each checked property (``nan`` counts as ``inf``)."""
        out = {"homomorphism": _max(self.homomorphism), "identity": _finite(self.identity)}
        if self.orthogonality is not None:
            out["orthogonality"] = _max(self.orthogonality)
        return out

    @property
    def max_error(self) -> float:
        return max(self.errors_by_property().values())

    @property
    def ok(self) -> bool:
        return self.max_error <= self.tolerance

    def __bool__(self) -> bool:
        return self.ok

    @property
    def failing(self) -> list[str]:
        """The properties that do not hold (``"homomorphism"``, ``"identity"``, ``"orthogonality"``)."""
        return [p for p, err in self.errors_by_property().items() if err > self.tolerance]

    @property
    def worst_pair(self) -> tuple[str, str]:
        """(g1, g2) where :math:`|D(g_1 g_2) - D(g_1) D(g_2)|` is largest."""
        errs = torch.nan_to_num(self.homomorphism, nan=float("inf"))
        i, j = divmod(int(errs.argmax()), errs.shape[1])
        return self.elements[i], self.elements[j]

    def errors_by_kind(self) -> dict[str, float]:
        """Homomorphism error per kind of pair, e.g. ``"rotation × improper rotation"``."""
        out: dict[str, float] = {}
        for i, ki in enumerate(self.kinds):
            for j, kj in enumerate(self.kinds):
                key = f"{ki} × {kj}"
                out[key] = max(out.get(key, 0.0), _finite(float(self.homomorphism[i, j])))
        return out

    def passes(self, group: str) -> bool:
        """Whether the check holds on the elements of a subgroup (``"SO3"``: the rotations only)."""
        allowed = {"SO3": ("rotation",), "O3": ("rotation", "inversion", "improper rotation")}[group_key(group)]
        idx = [i for i, k in enumerate(self.kinds) if k in allowed]
        errs = [_finite(self.identity)]
        if idx:
            errs.append(_max(self.homomorphism[idx][:, idx]))
            if self.orthogonality is not None:
                errs.append(_max(self.orthogonality[idx]))
        return max(errs) <= self.tolerance

    # -- presentation ------------------------------------------------------------------------
    def _checked(self) -> str:
        props = [_STATEMENTS[p] for p in self.errors_by_property()]
        return ", ".join(props)

    def _fmt(self, error: float) -> str:
        """Within the tolerance, just "≤ tolerance": torch.matrix_exp's round-off (up to ~2e-10 in
        float64) can fall anywhere below it, so no finer band is the same on every CPU."""
        return format_error(error, self.tolerance, ladder=())

    def verdict(self) -> str:
        name = GROUP_LABELS[self.group]
        n = len(self.elements)
        dtype = str(self.dtype).replace("torch.", "")
        if self.ok:
            return (f"✅ a representation of {name} (dim {self.dim}): {self._checked()} hold; max error "
                    f"{self._fmt(self.max_error)} (tolerance {self.tolerance:.0e}) over {n} group elements and "
                    f"{n * n} products ({', '.join(dict.fromkeys(self.kinds))}; {dtype})")
        errs = self.errors_by_property()
        parts = []
        for p in self.failing:
            text = f"{_STATEMENTS[p]} fails (error {self._fmt(errs[p])})"
            if p == "homomorphism":
                g1, g2 = self.worst_pair
                text += f", worst at g1 = '{g1}', g2 = '{g2}'"
            parts.append(text)
        holding = [_STATEMENTS[p] for p in errs if p not in self.failing]
        text = (f"❌ NOT a representation of {name} (dim {self.dim}): " + "; ".join(parts)
                + f" (tolerance {self.tolerance:.0e})")
        if holding:
            text += f"; holds: {', '.join(holding)}"
        if "homomorphism" in self.failing and self.passes("SO3") and self.group == "O3":
            text += "; it is fine on rotations, the problem is with improper elements (det = -1)"
        return text

    def table(self) -> str:
        """Homomorphism errors per kind of pair, as text."""
        rows = [(k, self._fmt(v)) for k, v in self.errors_by_kind().items()]
        rows.append(("D(I) = I", self._fmt(_finite(self.identity))))
        if self.orthogonality is not None:
            rows.append(("D Dᵀ = I", self._fmt(_max(self.orthogonality))))
        width = max(len(r[0]) for r in rows)
        return "\n".join(f"{a.ljust(width)}  {b}" for a, b in rows)

    def __str__(self) -> str:
        """The verdict folded at 100 characters, continuation lines indented: what ``print(report)`` shows."""
        import textwrap
        return textwrap.fill(self.verdict(), 100, subsequent_indent="  ", break_on_hyphens=False)

    def __repr__(self) -> str:
        return self.verdict()

    def _repr_html_(self) -> str:
        body = ""
        for label, err in [(k, v) for k, v in self.errors_by_kind().items()] + [
                ("D(I) = I", _finite(self.identity))] + (
                [("D Dᵀ = I", _max(self.orthogonality))] if self.orthogonality is not None else []):
            colour = "#c8e6c9" if err <= self.tolerance else "#ffcdd2"
            body += (f"<tr><td>{html.escape(label)}</td>"
                     f'<td style="background:{colour}">{html.escape(self._fmt(err))}</td></tr>')
        notes = "".join(f"<br><small>{html.escape(n)}</small>" for n in self.notes)
        return (f"<p><b>{html.escape(self.verdict())}</b>{notes}</p>"
                f"<table><tr><th>check</th><th>max error</th></tr>{body}</table>")

    def assert_ok(self) -> "RepresentationReport":
        """Raise ``AssertionError`` with the verdict and the table unless the check passed."""
        if not self.ok:
            raise AssertionError(self.verdict() + "\n" + self.table())
        return self


def _finite(x: float) -> float:
    return float("inf") if x != x else float(x)


def _max(t: torch.Tensor) -> float:
    if t.numel() == 0:
        return 0.0
    return float(torch.nan_to_num(t, nan=float("inf")).max())


def _as_matrix(value, name: str) -> torch.Tensor:
    """``D(g)`` as a square 2-D float64 tensor; a number or a 1-element tensor becomes 1×1."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = torch.tensor([[float(value)]])
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{name} returned a {type(value).__name__}; D must return a torch.Tensor "
                        "(a square matrix, or a number for a 1-dimensional representation)")
    if value.numel() == 1 and value.ndim <= 2:
        value = value.reshape(1, 1)
    if value.ndim != 2 or value.shape[0] != value.shape[1]:
        raise ValueError(f"{name} returned shape {tuple(value.shape)}; D must return a square matrix (d, d)")
    return value


def _elements(elements, group: str, n: int, dtype) -> list[GroupElement]:
    if elements is None:
        return group_elements(group, n, seed=0, dtype=dtype)
    if isinstance(elements, torch.Tensor):
        if elements.ndim != 3 or elements.shape[1:] != (3, 3):
            raise ValueError(f"elements should be a (k, 3, 3) tensor or a list of 3×3 matrices, got "
                             f"shape {tuple(elements.shape)}")
        elements = list(elements)
    out = []
    for k, g in enumerate(elements):
        if isinstance(g, GroupElement):
            if g.translation is not None:
                raise ValueError("translations do not act on a representation of O(3): give 3×3 matrices")
            out.append(GroupElement(g.label, g.kind, g.matrix.to(dtype)))
            continue
        m = torch.as_tensor(g, dtype=dtype)
        if m.shape != (3, 3):
            raise ValueError(f"element {k} has shape {tuple(m.shape)}, expected (3, 3)")
        if float((m @ m.T - torch.eye(3, dtype=dtype)).abs().max()) > 1e-6:
            raise ValueError(f"element {k} is not orthogonal (R Rᵀ ≠ I): not an element of O(3)")
        det = float(torch.det(m))
        if float((m + torch.eye(3, dtype=dtype)).abs().max()) < 1e-12:
            kind = "inversion"
        else:
            kind = "rotation" if det > 0 else "improper rotation"
        out.append(GroupElement(f"g{k + 1}", kind, m))
    return out


def homomorphism_error(D: Callable, R1: torch.Tensor, R2: torch.Tensor) -> float:
    """The bare definition for one pair: ``max |D(R1 @ R2) - D(R1) @ D(R2)|``."""
    return float((D(R1 @ R2) - D(R1) @ D(R2)).abs().max())


def check_representation(D: Callable, elements=None, *, n: int = 5, group: str = "O3",
                         atol: float | None = None, orthogonal: bool = True,
                         dtype: torch.dtype = torch.float64) -> RepresentationReport:
    r"""Check that ``D`` is a representation: :math:`D(g_1 g_2) = D(g_1) D(g_2)`, :math:`D(I) = I`
    (and, with ``orthogonal``, :math:`D(g) D(g)^\top = I`).

    Args:
        D: a function from a (3, 3) O(3) matrix to a square (d, d) tensor (a number or a 1-element
            tensor counts as 1×1), e.g. ``o3.Irreps("1o + 2e").D_from_matrix``.
        elements: the group elements to test: 3×3 matrices (a list, or a (k, 3, 3) tensor) or
            :class:`~e3teach.equivariance.GroupElement`. Default: ``n`` random rotations, and for
            O(3) the inversion and ``n`` random improper rotations (seeded, reproducible).
        n: how many random (improper) rotations to draw when ``elements`` is ``None``.
        group: ``"O3"`` or ``"SO3"`` (then only rotations are sampled; given elements with
            det = -1 are refused).
        atol: tolerance on the absolute error, scaled by :math:`\max(1, \max|D|^2)`; default
            1e-9 (see the module docstring for why not 1e-10), or 1e-5 when ``D`` returns float32
            matrices (float32 is accurate to ~1e-7).
        orthogonal: also check :math:`D D^\top = I` (e3nn's representations are orthogonal).

    Every product :math:`g_i g_j` of two test elements is evaluated: :math:`k^2` calls of ``D``.
    """
    group = group_key(group)
    if group not in ("O3", "SO3"):
        raise ValueError("a representation here maps 3×3 matrices: use group='O3' or 'SO3' "
                         "(translations act on positions, not on features)")
    with default_dtype(dtype):
        elems = _elements(elements, group, n, dtype)
        if group == "SO3" and any(float(torch.det(g.matrix)) < 0 for g in elems):
            raise ValueError("group='SO3' but some elements have det = -1: use group='O3'")
        name = getattr(D, "__qualname__", None) or getattr(D, "__name__", "D")
        name = f"D = {name}" if name != "D" else "D"
        mats = [_as_matrix(D(g.matrix), f"{name} (at '{g.label}')") for g in elems]
        dim = mats[0].shape[0]
        for g, m in zip(elems, mats):
            if m.shape[0] != dim:
                raise ValueError(f"D returned a {dim}×{dim} matrix at '{elems[0].label}' but a "
                                 f"{m.shape[0]}×{m.shape[0]} one at '{g.label}': the dimension must not change")
        low = any(m.dtype in (torch.float32, torch.float16, torch.bfloat16) for m in mats)
        notes = []
        if atol is None:
            atol = 1e-5 if low else 1e-9
            if low:
                notes.append("D returned float32 matrices, accurate to ~1e-7 only: tolerance 1e-5. "
                             "Compute in float64 (the dtype of R) for a 1e-9 check.")
        mats = [m.to(dtype) for m in mats]
        eye_d = torch.eye(dim, dtype=dtype)
        k = len(elems)
        hom = torch.zeros(k, k, dtype=dtype)
        for i in range(k):
            for j in range(k):
                prod = _as_matrix(D(elems[i].matrix @ elems[j].matrix), f"{name} (at a product)").to(dtype)
                if prod.shape != (dim, dim):
                    raise ValueError(f"D returned shape {tuple(prod.shape)} at a product, {dim}×{dim} elsewhere")
                hom[i, j] = (prod - mats[i] @ mats[j]).abs().max()
        ident = float((_as_matrix(D(torch.eye(3, dtype=dtype)), f"{name} (at the identity)").to(dtype)
                       - eye_d).abs().max())
        ortho = None
        if orthogonal:
            ortho = torch.stack([(m @ m.T - eye_d).abs().max() for m in mats])
    finite = [m for m in mats if bool(torch.isfinite(m).all())]
    if len(finite) < len(mats):
        notes.append("D returned NaN or inf for some elements")
    scale = max([float(m.abs().max()) for m in finite] + [1.0])
    return RepresentationReport(group=group, elements=[g.label for g in elems], kinds=[g.kind for g in elems],
                                dim=dim, homomorphism=hom, identity=ident, orthogonality=ortho,
                                tolerance=atol * scale ** 2, dtype=dtype, notes=notes)
