"""Checkers for the exercises of lesson 03 (irreps)::

    from e3teach.checks import lesson03 as check
    check.q1(answers)            # index ranges of an Irreps
    check.q2(irreps_of_quantity) # irreps of physical quantities
    check.q3(l1_blocks)          # extract the l = 1 blocks of a feature tensor
    check.q4(pseudoscalar)       # a pseudoscalar from three vectors
    check.q5(count_equivariant_maps)  # Schur's lemma: how many equivariant linear maps
"""
from __future__ import annotations

import torch
from e3nn import o3

from ..equivariance import check_equivariance
from .core import FLOAT64_HOW, LOW_PRECISION, CheckFailed, NotAttempted, as_number, call, exercise, expect_tensor, fail, learner

__all__ = ["q1", "q2", "q3", "q4", "q5", "Q1_IRREPS", "Q2_QUANTITIES", "Q5_CASES"]

# --- q1 ---------------------------------------------------------------------------------------------

#: The Irreps of exercise 1.
Q1_IRREPS = "2x0e + 3x1o + 1x2e + 2x1e"


def _q1_expected() -> dict:
    irreps = o3.Irreps(Q1_IRREPS)
    sl = irreps.slices()
    return {
        "dim": irreps.dim,
        "3x1o": (sl[1].start, sl[1].stop),
        "2e": (sl[2].start, sl[2].stop),
        "third 1o": (sl[1].start + 6, sl[1].start + 9),
        "second 1e": (sl[3].start + 3, sl[3].start + 6),
    }


def _as_range(value, key):
    """Accept (start, stop), [start, stop], range(start, stop) or slice(start, stop)."""
    if isinstance(value, (slice, range)):
        value = (value.start, value.stop)
    if isinstance(value, torch.Tensor):
        value = tuple(value.tolist())
    if isinstance(value, (tuple, list)):
        value = tuple(int(v) if isinstance(v, torch.Tensor) and v.numel() == 1 and not v.is_floating_point() else v
                      for v in value)
    if not isinstance(value, (tuple, list)) or len(value) != 2 or \
            not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        fail(f"answers[{key!r}] is {value!r}: give the index range as a pair of integers (start, stop)",
             "like Python slices: start included, stop excluded, e.g. (3, 6) for components 3, 4, 5")
    return tuple(value)


@exercise("index ranges of an Irreps", hints=[
    "dim = sum of mul × (2l + 1) over the entries; the entries are stored in the order written.",
    "Entries, with their sizes: 2x0e (2 numbers), 3x1o (9), 1x2e (5), 2x1e (6). Each starts where the previous one stops.",
    "Inside an entry the copies come one after the other, 2l + 1 numbers each: the third 1o starts 2 × 3 = 6 after the start of 3x1o.",
])
def q1(answers):
    """``answers``: a dict with keys ``"dim"``, ``"3x1o"``, ``"2e"``, ``"third 1o"``, ``"second 1e"``."""
    if not isinstance(answers, dict):
        fail(f"expected a dict, got {type(answers).__name__}", "answers = {'dim': ..., '3x1o': (start, stop), ...}")
    expected = _q1_expected()
    if all(v is Ellipsis or v is None for v in answers.values()) or not answers:
        raise NotAttempted()
    missing = [k for k in expected if k not in answers]
    if missing:
        fail(f"missing key(s) {missing}; the dict needs {list(expected)}")
    dim = answers["dim"]
    if dim is not Ellipsis and dim is not None:
        dim = as_number(dim, "answers['dim']", integer=True, hint="the dimension is a whole number: sum of mul × (2l + 1)")
    if dim is not Ellipsis and dim is not None and dim != expected["dim"]:
        fail(f"answers['dim'] = {dim!r} is not the dimension of {Q1_IRREPS!r}",
             "each entry mul x l contributes mul × (2l + 1) numbers")
    for key in ("3x1o", "2e", "third 1o", "second 1e"):
        if answers[key] is Ellipsis or answers[key] is None:
            continue
        got, want = _as_range(answers[key], key), expected[key]
        if got == want:
            continue
        if got[1] - got[0] != want[1] - want[0]:
            fail(f"answers[{key!r}] = {got} spans {got[1] - got[0]} indices, but that block has "
                 f"{want[1] - want[0]} components", "stop is excluded: the range (a, b) holds b - a numbers")
        if got == (want[0] - 1, want[1] - 1) or got == (want[0] + 1, want[1] + 1):
            fail(f"answers[{key!r}] = {got} is off by one", "indices start at 0 and the stop is excluded")
        fail(f"answers[{key!r}] = {got} is not where that block lives",
             "add up the sizes of everything that comes before it")
    if any(answers[k] is Ellipsis or answers[k] is None for k in expected):
        raise NotAttempted()                      # what is answered is right; the rest is still `...`
    return f"dim {expected['dim']} and all four index ranges of {Q1_IRREPS!r} are right"


# --- q2 ---------------------------------------------------------------------------------------------

#: quantity -> (irreps, why): the answers of exercise 2 and the physics behind each.
Q2_QUANTITIES = {
    "torque": ("1e", "τ = r × F is a cross product of two vectors: (−r) × (−F) = r × F, it does not flip"),
    "electric dipole moment": ("1o", "p = Σ q r is a sum of positions times scalar charges: it flips with the positions"),
    "magnetic dipole moment": ("1e", "μ = ½ Σ q r × v is a cross product of two vectors, like angular momentum"),
    "kinetic energy": ("0e", "½ m v·v is a dot product of two vectors: invariant under rotations and under inversion"),
    "helicity": ("0o", "s·p/|p| dots a pseudovector (spin) with a vector (momentum): it flips sign under inversion"),
    "moment of inertia tensor": ("0e + 2e", "I = Σ m (|r|² 1 − r rᵀ) is a symmetric 3×3 matrix built from r r: "
                                 "a trace (0e) and a symmetric traceless part (2e), both even because r appears twice"),
}


def _parse(value, name):
    if isinstance(value, o3.Irreps):
        return value
    if isinstance(value, o3.Irrep):
        return o3.Irreps(value)
    if not isinstance(value, str):
        fail(f"the answer for {name!r} is a {type(value).__name__}: write it as an e3nn string like '1o'")
    try:
        return o3.Irreps(value)
    except Exception:
        fail(f"could not read {value!r} (for {name!r}) as irreps",
             "write e3nn strings: '0e' scalar, '0o' pseudoscalar, '1o' vector, '1e' pseudovector, '0e + 2e' ...")


def _degrees(irreps: o3.Irreps) -> list[int]:
    """The degrees l of all copies, parity ignored."""
    return sorted(ir.l for mul, ir in irreps for _ in range(mul))


@exercise("the irreps of physical quantities", hints=[
    "First the degree: how many numbers, and how do they rotate? A number is l = 0, an arrow l = 1, a symmetric "
    "traceless matrix l = 2.",
    "Then the parity: invert every position (r → −r, so v → −v, F → −F, while masses and charges stay). Does the "
    "quantity flip (odd, 'o') or not (even, 'e')?",
    "A cross product of two vectors does not flip (1e); a dot product of a vector with a pseudovector does (0o); "
    "anything built from r twice is even.",
])
def q2(irreps_of_quantity):
    """``irreps_of_quantity``: a dict quantity -> e3nn string (keys as in ``Q2_QUANTITIES``)."""
    if not isinstance(irreps_of_quantity, dict):
        fail(f"expected a dict, got {type(irreps_of_quantity).__name__}", "{'torque': '...', ...}")
    if not irreps_of_quantity or all(v is Ellipsis or v is None for v in irreps_of_quantity.values()):
        raise NotAttempted()
    missing = [k for k in Q2_QUANTITIES if k not in irreps_of_quantity]
    if missing:
        fail(f"missing quantity(ies) {missing}", f"the keys are {list(Q2_QUANTITIES)}")
    for name, (expected, why) in Q2_QUANTITIES.items():
        value = irreps_of_quantity[name]
        if value is Ellipsis or value is None:
            continue
        got, want = _parse(value, name).regroup(), o3.Irreps(expected).regroup()
        if got == want:
            continue
        if _degrees(got) == _degrees(want):
            fail(f"{name!r}: {value!r} has the right degree l but the wrong parity",
                 f"what happens under inversion? {why}")
        if got.dim != want.dim:
            fail(f"{name!r}: {value!r} has {got.dim} component(s), but the {name} has {want.dim}",
                 "count the numbers needed to write it down: scalar 1, vector 3, symmetric 3×3 matrix 6 = 1 + 5")
        fail(f"{name!r}: {value!r} is not right", why)
    if any(irreps_of_quantity[k] is Ellipsis or irreps_of_quantity[k] is None for k in Q2_QUANTITIES):
        raise NotAttempted()                      # what is answered is right; the rest is still `...`
    return f"all {len(Q2_QUANTITIES)} quantities have the right irreps (degree and parity)"


# --- q3 ---------------------------------------------------------------------------------------------

def _call_irreps(fn, *args, name: str):
    """``call(fn, *args)``; when it fails on an irreps string but runs on ``o3.Irreps`` of it, say so."""
    try:
        return call(fn, *args, name=name)
    except CheckFailed as exc:
        strings = [a for a in args if isinstance(a, str)]
        if not strings:
            raise
        try:
            call(fn, *(o3.Irreps(a) if isinstance(a, str) else a for a in args), name=name)
        except (CheckFailed, NotAttempted):
            raise exc from None
        fail(f"{name} fails when the irreps come as a string like {strings[0]!r} ({exc.message}) and runs on "
             "o3.Irreps: looping over a string gives its characters, not (mul, irrep) pairs",
             "convert first, irreps = o3.Irreps(irreps): it accepts a string and an Irreps alike")

def _l1_reference(x: torch.Tensor, irreps) -> torch.Tensor:
    irreps = o3.Irreps(irreps)
    parts = [x[..., sl].reshape(*x.shape[:-1], mul, 3) for (mul, ir), sl in zip(irreps, irreps.slices()) if ir.l == 1]
    return torch.cat(parts, dim=-2) if parts else x.new_zeros(*x.shape[:-1], 0, 3)


def _l1_component_major(x: torch.Tensor, irreps) -> torch.Tensor:
    """The typical mistake: reading a mul x 1 block as (3, mul) instead of (mul, 3)."""
    irreps = o3.Irreps(irreps)
    parts = [x[..., sl].reshape(*x.shape[:-1], 3, mul).transpose(-1, -2)
             for (mul, ir), sl in zip(irreps, irreps.slices()) if ir.l == 1]
    return torch.cat(parts, dim=-2) if parts else x.new_zeros(*x.shape[:-1], 0, 3)


@exercise("extract the l = 1 blocks of a feature tensor", hints=[
    "Loop over zip(irreps, irreps.slices()): each item is ((mul, ir), slice). Keep the ones with ir.l == 1, "
    "vectors (1o) and pseudovectors (1e) alike.",
    "x[:, sl] holds mul copies of 3 numbers, copy after copy: .reshape(batch, mul, 3) separates them.",
    "torch.cat the pieces along dim=1; for irreps without l = 1, return x.new_zeros(batch, 0, 3).",
])
def q3(l1_blocks):
    """``l1_blocks(x, irreps)``: ``x`` of shape (batch, irreps.dim) → (batch, number of l = 1 copies, 3)."""
    gen = torch.Generator().manual_seed(3)
    cases = [("2x0e + 3x1o + 1x2e + 2x1e", 4), ("1o", 2), ("1x1e + 2x0o + 1x1o", 3), ("4x0e + 2e", 3)]
    for k, (irreps_str, batch) in enumerate(cases):
        irreps = o3.Irreps(irreps_str)
        x = torch.randn(batch, irreps.dim, generator=gen, dtype=torch.float64)
        arg = irreps_str if k == 2 else irreps                     # a string must work too
        want = _l1_reference(x, irreps)
        n = want.shape[1]
        try:
            out = _call_irreps(l1_blocks, x.clone(), arg, name="l1_blocks")
        except CheckFailed as exc:
            if n == 0:
                fail(f"{exc.message}, for irreps {irreps_str!r} that have no l = 1 at all",
                     "with no l = 1 irrep, return an empty (batch, 0, 3) tensor: x.new_zeros(batch, 0, 3)")
            raise
        label = f"l1_blocks(x, {irreps_str!r})"
        if isinstance(out, torch.Tensor) and tuple(out.shape) != tuple(want.shape):
            only_odd = sum(mul for mul, ir in irreps if ir == o3.Irrep("1o"))
            if out.dim() == 3 and out.shape[1] == only_odd != n:
                fail(f"{label} has shape {tuple(out.shape)}, expected {tuple(want.shape)}: the 1e blocks are missing",
                     "l = 1 means both parities: keep ir.l == 1, not only ir == '1o'")
            if n == 0:
                fail(f"{label} has shape {tuple(out.shape)}, expected {tuple(want.shape)}",
                     "with no l = 1 irrep, return an empty (batch, 0, 3) tensor: x.new_zeros(batch, 0, 3)")
        out = expect_tensor(out, label, shape=tuple(want.shape))
        if n and torch.allclose(out.to(torch.float64), _l1_component_major(x, irreps)) and \
                not torch.allclose(out.to(torch.float64), want):
            fail(f"{label} reads each block as (3, mul): the numbers are in the wrong places",
                 "e3nn stores copy after copy (x1, y1, z1, x2, y2, z2, …): reshape to (batch, mul, 3) without transposing")
        if not torch.allclose(out.to(torch.float64), want, atol=1e-12):
            fail(f"{label} does not return the right numbers",
                 "the k-th row should be the k-th l = 1 copy, in the order of the irreps string")
    return "right shapes and values on 4 irreps (with 1o and 1e, strings and Irreps, none at all)"


# --- q4 ---------------------------------------------------------------------------------------------

@exercise("a pseudoscalar from three vectors", hints=[
    "A dot product of a vector (1o) with a pseudovector (1e) flips sign under inversion: that is a pseudoscalar.",
    "b × c is a pseudovector; dot it with a.",
    "(a * torch.linalg.cross(b, c, dim=-1)).sum(-1, keepdim=True) has shape (batch, 1).",
])
def q4(pseudoscalar):
    """``pseudoscalar(a, b, c)`` with three (batch, 3) vectors → (batch, 1): the triple product a · (b × c)."""
    gen = torch.Generator().manual_seed(4)
    a, b, c = (torch.randn(6, 3, generator=gen, dtype=torch.float64) for _ in range(3))
    out = call(pseudoscalar, a.clone(), b.clone(), c.clone(), name="pseudoscalar")
    if isinstance(out, torch.Tensor) and tuple(out.shape) == (6,):
        fail("pseudoscalar(a, b, c) has shape (6,), expected (6, 1): one 0o per row",
             "keep the last axis: .sum(-1, keepdim=True) or .unsqueeze(-1)")
    out = expect_tensor(out, "pseudoscalar(a, b, c)", shape=(6, 1))
    triple = torch.linalg.det(torch.stack([a, b, c], dim=-2))[:, None]     # a · (b × c)
    if float(out.abs().max()) < 1e-12:
        fail("pseudoscalar(a, b, c) is zero: zero is (trivially) every kind of irrep at once",
             "return the triple product a · (b × c)")

    if out.dtype in LOW_PRECISION:
        fail(f"pseudoscalar(a, b, c) is {str(out.dtype).removeprefix('torch.')} for float64 inputs a, b, c: the "
             "O(3) check below compares to 1e-10, which float32 cannot reach", FLOAT64_HOW)
    report = check_equivariance(learner(pseudoscalar, "pseudoscalar"), ["1o", "1o", "1o"], "0o")
    if not report.ok:
        kinds = report.errors_by_kind()
        if report.passes("SO3") and kinds.get("inversion", 0) > report.tolerance:
            fail("pseudoscalar is invariant under rotations but does not flip sign under inversion: it is a 0e, "
                 "not a 0o", "a dot product of two vectors is even; you need a cross product in it")
        fail(f"pseudoscalar does not transform as 0o: {report.verdict().removeprefix('❌ ')}",
             "build it from dot and cross products only, nothing that depends on the axes")
    if torch.allclose(out.to(torch.float64), -triple, atol=1e-10):
        fail("pseudoscalar(a, b, c) is −a · (b × c): right kind of irrep, opposite sign",
             "a · (b × c) = det[a; b; c]; check the order in the cross product")
    if not torch.allclose(out.to(torch.float64), triple, atol=1e-10, rtol=1e-8):
        fail("pseudoscalar(a, b, c) is a 0o, but not the triple product a · (b × c)",
             "return exactly a · (b × c), with no extra factor")
    return "transforms as 0o under O(3) (flips under inversion) and equals a · (b × c) = det[a; b; c]"


# --- q5 ---------------------------------------------------------------------------------------------

#: (irreps_in, irreps_out) pairs of exercise 5: multiplicities, parity mismatches, entries that are not neighbours.
Q5_CASES = [
    ("2x0e + 1x1o", "3x0e + 1x1o"),
    ("1o", "1e"),                                  # same l, opposite parity: nothing
    ("3x1o + 2x2e", "2x1o + 1x2e + 1x0e"),
    ("1o + 2e + 1o", "2x1o + 1x2o"),               # two 1o entries that are not neighbours; 2e vs 2o
    ("4x0e + 0o", "2x0o + 3x0e"),
    ("2x1e", "1x1o + 3x1e"),
]


def _q5_expected(irreps_in, irreps_out) -> int:
    """What e3nn's equivariant linear layer learns: one weight per pair of copies of the same irrep."""
    return o3.Linear(irreps_in, irreps_out).weight_numel


def _count_ignoring_parity(irreps_in, irreps_out) -> int:
    """The typical mistake: matching the degree l only."""
    return sum(mul_in * mul_out for mul_in, ir_in in o3.Irreps(irreps_in) for mul_out, ir_out in o3.Irreps(irreps_out)
               if ir_in.l == ir_out.l)


def _count_with_sums(irreps_in, irreps_out) -> int:
    """The other typical mistake: adding the multiplicities instead of multiplying them."""
    return sum(mul_in + mul_out for mul_in, ir_in in o3.Irreps(irreps_in) for mul_out, ir_out in o3.Irreps(irreps_out)
               if ir_in == ir_out)


@exercise("count the equivariant linear maps (Schur's lemma)", hints=[
    "Schur's lemma: an equivariant linear map only connects equal irreps, same l AND same parity; between a copy of "
    "an irrep in the input and a copy of the same irrep in the output it is one number times the identity.",
    "So each pair (input copy, output copy) of the same irrep gives one free number: add mul_in × mul_out over all "
    "pairs of entries (mul_in, ir_in), (mul_out, ir_out) of o3.Irreps(irreps_in), o3.Irreps(irreps_out) with ir_in == ir_out.",
    "sum(m1 * m2 for m1, ir1 in o3.Irreps(irreps_in) for m2, ir2 in o3.Irreps(irreps_out) if ir1 == ir2)",
])
def q5(count_equivariant_maps):
    """``count_equivariant_maps(irreps_in, irreps_out)`` → the dimension of the space of equivariant linear maps,
    compared with ``o3.Linear(irreps_in, irreps_out).weight_numel`` on hidden cases."""
    for k, (irreps_in, irreps_out) in enumerate(Q5_CASES):
        args = (irreps_in, irreps_out) if k % 2 == 0 else (o3.Irreps(irreps_in), o3.Irreps(irreps_out))
        label = f"count_equivariant_maps({irreps_in!r}, {irreps_out!r})"
        got = as_number(_call_irreps(count_equivariant_maps, *args, name="count_equivariant_maps"), label, integer=True,
                        hint="return one whole number: the dimension of the space of equivariant maps")
        want = _q5_expected(irreps_in, irreps_out)
        if got == want:
            continue
        if got == _count_ignoring_parity(irreps_in, irreps_out):
            fail(f"{label} = {got}, expected {want}: you matched the degree l but not the parity",
                 "a 1o and a 1e have the same l but are different irreps: no equivariant map connects them "
                 "(compare whole irreps, ir_in == ir_out)")
        if got == _count_with_sums(irreps_in, irreps_out):
            fail(f"{label} = {got}, expected {want}: multiplicities multiply, they do not add",
                 "each of the mul_in input copies maps to each of the mul_out output copies with its own number: "
                 "mul_in × mul_out")
        fail(f"{label} = {got}, expected {want} (o3.Linear's weight_numel)",
             "add mul_in × mul_out over every pair of entries with the same irrep — also entries that are not neighbours")
    return (f"equals o3.Linear's weight_numel on {len(Q5_CASES)} pairs of irreps (multiplicities, parity mismatches, "
            "repeated entries; strings and Irreps)")
