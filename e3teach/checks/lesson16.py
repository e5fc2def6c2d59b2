"""Checkers for lesson 16 (performance and scale): ``from e3teach.checks import lesson16 as check``.

* ``q1(median_time)``: a timing helper — warm-up calls, then the median of the repeats.
* ``q2(saturation_batch_size)``: the smallest batch size whose throughput reaches a fraction of the best.
* ``q3(per_edge_weights)``: weights a radial network must produce per edge, ``uvw`` vs ``uvu`` paths.
* ``q4(save_and_restore)``: a ``state_dict`` round trip that reproduces a model's outputs exactly.
"""
from __future__ import annotations

import time

import torch
from e3nn import o3

from ..env import default_dtype
from ..scale import UvuThenLinear
from .core import as_number, call, describe, exercise, expect_tensor, fail, fail_if_float32_precision

__all__ = ["q1", "q2", "q3", "q4"]


# ----------------------------------------------------------------------------- q1
class _ScriptedWork:
    """A function that sleeps for scripted durations, one per call, and counts its calls."""

    def __init__(self, durations):
        self.durations, self.calls = list(durations), 0

    def __call__(self):
        seconds = self.durations[min(self.calls, len(self.durations) - 1)]
        self.calls += 1
        time.sleep(seconds)


#: A slow warm-up call, then five repeats whose median (0.06 s) is far from every other summary: the minimum
#: (0.01), the mean (0.128), the mean without the extremes (0.077) and the median with the warm-up included (0.105).
Q1_DURATIONS = (0.20, 0.01, 0.40, 0.06, 0.15, 0.02)
_Q1_MEDIAN = 0.06
_Q1_LOOK_ALIKES = {"the minimum": 0.01, "the mean": 0.128, "a mean without the fastest and slowest call": 0.0767,
                   "the median with the warm-up call timed too": 0.105, "the warm-up call's time": 0.20}


@exercise("a timing helper: warm-up, then the median of repeats", hints=[
    "Call fn() `warmup` times without timing it, then time each of `repeats` calls separately.",
    "time.perf_counter() before and after each call; keep the list of differences.",
    "return statistics.median(times) (or sorted(times)[len(times) // 2] for an odd count): the median, "
    "not the mean (one slow call would move it) nor the minimum.",
])
def q1(median_time):
    """Check ``median_time(fn, repeats=5, warmup=1) -> seconds`` with scripted sleeps."""
    counting = _ScriptedWork([0.0])
    call(median_time, counting, repeats=3, warmup=2, name="median_time")
    if counting.calls != 5:
        fail(f"median_time(fn, repeats=3, warmup=2) called fn {counting.calls} times, expected 2 + 3 = 5",
             "call fn() `warmup` times untimed, then `repeats` timed times")
    work = _ScriptedWork(Q1_DURATIONS)
    value = call(median_time, work, repeats=5, warmup=1, name="median_time")
    seconds = as_number(value, "median_time(fn, repeats=5, warmup=1)", hint="return the median in seconds, a float")
    if seconds > 1.0:
        fail(f"the answer is {seconds:.3g}: for calls of about 0.06 s this is not in seconds",
             "time.perf_counter() counts seconds; do not convert to milliseconds")
    if not 0.058 <= seconds <= 0.0715:           # sleeps overshoot by a few milliseconds at most
        timed = ", ".join(f"{d:g}" for d in Q1_DURATIONS[1:])
        label, guess = min(_Q1_LOOK_ALIKES.items(), key=lambda item: abs(item[1] - seconds))
        like = f": that is {label} ({guess:.3g} s)" if abs(guess - seconds) < 0.15 * guess else ""
        fail(f"after a 0.2 s warm-up call, for timed calls of {timed} s you return {seconds:.3f} s{like}; the median "
             f"of the timed calls is {_Q1_MEDIAN} s", "time only the `repeats` calls after the warm-up, then "
             "statistics.median(times)")
    return ("2 warm-up + 3 timed calls made; for five sleeps from 0.01 to 0.4 seconds after a slow warm-up it returns "
            "their median (0.06 seconds)")


# ----------------------------------------------------------------------------- q2
def _expected_saturation(sizes, rates, fraction):
    best = max(rates)
    return min(b for b, r in zip(sizes, rates) if r >= fraction * best)


@exercise("where batching saturates", hints=[
    "Find the best throughput first; then look for the batch sizes whose throughput is at least fraction × best.",
    "Among those, return the smallest batch size (the lists need not be sorted).",
    "best = max(throughputs); return min(b for b, t in zip(batch_sizes, throughputs) if t >= fraction * best)",
])
def q2(saturation_batch_size):
    """Check ``saturation_batch_size(batch_sizes, throughputs, fraction=0.8) -> int``."""
    cases = [
        ([1, 2, 4, 8, 16, 32], [10.0, 19.0, 35.0, 60.0, 80.0, 85.0], 0.8),       # rises, then flattens
        ([1, 4, 16, 64, 256], [5.0, 18.0, 47.0, 61.0, 30.0], 0.8),             # the best is not the last one
        ([64, 1, 16, 4, 256], [61.0, 5.0, 47.0, 18.0, 30.0], 0.8),             # unsorted input
        ([128, 16, 1, 4, 256], [55.0, 50.0, 5.0, 18.0, 61.0], 0.8),            # unsorted: the first qualifying is 128
        ([1, 2, 4, 8], [10.0, 19.0, 35.0, 60.0], 0.5),                         # another fraction
        ([1, 2, 4, 8], [10.0, 30.0, 45.0, 60.0], 0.5),                         # 30 = 0.5 × 60 exactly: "at least"
    ]
    for sizes, rates, fraction in cases:
        got = as_number(call(saturation_batch_size, list(sizes), list(rates), fraction, name="saturation_batch_size"),
                        f"saturation_batch_size({sizes}, ..., {fraction})", integer=True,
                        hint="return one batch size, an integer")
        expected = _expected_saturation(sizes, rates, fraction)
        if got != expected:
            detail = f"for batch sizes {sizes} with throughputs {rates} and fraction {fraction} you return {got}, " \
                     f"expected {expected} (the best is {max(rates):g}, so the threshold is {fraction * max(rates):g})"
            threshold = fraction * max(rates)
            qualifying = [b for b, r in zip(sizes, rates) if r >= threshold]
            if 0 <= got < len(sizes) and sizes[got] == expected:
                fail(detail, f"that is the position of {expected} in the list: return the batch size itself, "
                             "batch_sizes[i], not i")
            if fraction != 0.8 and got == _expected_saturation(sizes, rates, 0.8):
                fail(detail, "you compare with 0.8 × best: use the `fraction` argument")
            if got == min((b for b, r in zip(sizes, rates) if r > threshold), default=None) and \
                    threshold in rates:
                fail(detail, f"a throughput of exactly {threshold:g} reaches the fraction: 'at least' is >=, not >")
            if got == sizes[rates.index(max(rates))]:
                fail(detail, "not the batch size of the best throughput: the SMALLEST one that comes within the fraction")
            if len(qualifying) > 1 and got == qualifying[0]:
                fail(detail, "that is the first qualifying size in list order; the lists need not be sorted: take "
                             "the smallest of all qualifying sizes, min(...)")
            if sizes != sorted(sizes) and got == _expected_saturation(sorted(sizes), rates, fraction):
                fail(detail, "pair each batch size with its own throughput (zip), do not assume sorted lists")
            fail(detail, "compare with fraction × max(throughputs), not with the last throughput")
    return ("right on rising, falling-at-the-end and unsorted measurements, with another fraction, and with a "
            "throughput exactly at the threshold")


# ----------------------------------------------------------------------------- q3
Q3_CASES = [
    ("4x0e + 4x1e", "0e + 1e", "4x0e + 4x1e"),                                  # easy: equal multiplicities, all even
    ("8x0e + 4x1o + 2x2e", "0e + 1o + 2e", "16x0e + 8x1o + 8x1e + 4x2e"),        # mixed, parity matters
    ("3x0e + 2x1e", "2x0e + 1x1o", "5x0e + 3x1o + 2x1e"),                        # two scalar channels in in2
    ("2x0e + 2x1o", "0e + 1o", "3x0e + 2x1o + 1x0e"),                           # 0e twice in irreps_out
]


def _expected_counts(irreps_in, irreps_sh, irreps_out):
    with default_dtype(torch.float64):
        uvw = o3.FullyConnectedTensorProduct(irreps_in, irreps_sh, irreps_out, shared_weights=False).weight_numel
        uvu = UvuThenLinear(irreps_in, irreps_sh, irreps_out, shared_weights=False).tp.weight_numel
    return uvw, uvu


def _uvu_per_output_block(irreps_in, irreps_sh, irreps_out) -> int:
    """The look-alike: uvu weights counted once per matching output block instead of once per irrep."""
    return sum(m1 * m2 for m1, ir1 in o3.Irreps(irreps_in) for m2, ir2 in o3.Irreps(irreps_sh)
               for ir in ir1 * ir2 for _, ir_out in o3.Irreps(irreps_out) if ir_out == ir)


@exercise("weights per edge: uvw vs uvu", hints=[
    "A path takes one irrep block of each input, (mul1, ir1) and (mul2, ir2), to an output irrep ir in ir1 × ir2 "
    "(|l1 - l2| ≤ l ≤ l1 + l2 and p = p1 p2) that appears in irreps_out.",
    "uvw: every (u, v) pair of input channels feeds every output channel w of each output block with that irrep — "
    "mul1 × mul2 × mul_out weights. uvu: one weight per (u, v), the output keeps channel u — mul1 × mul2.",
    "Loop over (mul1, ir1) in Irreps(irreps_in), (mul2, ir2) in Irreps(irreps_sh), ir in ir1 * ir2; for uvw add "
    "mul1 * mul2 * mul_out for each (mul_out, ir_out) of irreps_out with ir_out == ir; for uvu add mul1 * mul2 "
    "once if ir is in irreps_out.",
])
def q3(per_edge_weights):
    """Check ``per_edge_weights(irreps_in, irreps_sh, irreps_out) -> (uvw, uvu)`` against e3nn's ``weight_numel``."""
    for k, (a, b, c) in enumerate(Q3_CASES):
        out = call(per_edge_weights, a, b, c, name="per_edge_weights")
        if isinstance(out, torch.Tensor) and out.numel() == 2:
            out = tuple(out.reshape(2))
        if not isinstance(out, (tuple, list)) or len(out) != 2:
            fail(f"per_edge_weights should return two numbers (uvw, uvu), got {describe(out)}",
                 "end with `return uvw, uvu`")
        uvw = as_number(out[0], "uvw", integer=True, hint="a count of weights is a whole number")
        uvu = as_number(out[1], "uvu", integer=True, hint="a count of weights is a whole number")
        exp_uvw, exp_uvu = _expected_counts(a, b, c)
        if (uvw, uvu) != (exp_uvw, exp_uvu):
            easy = " (the first, easy case passed)" if k else ""
            which = []
            if uvw != exp_uvw:
                which.append(f"uvw {uvw} instead of {exp_uvw}")
            if uvu != exp_uvu:
                which.append(f"uvu {uvu} instead of {exp_uvu}")
            repeated = len({ir for _, ir in o3.Irreps(c)}) < len(o3.Irreps(c))
            if repeated and uvu != exp_uvu and uvu == _uvu_per_output_block(a, b, c):
                hint = (f"{c!r} lists an irrep twice: a uvu path goes to one irrep (the output keeps channel u), so it "
                        "counts mul1 × mul2 once per irrep it reaches, not once per output block")
            elif k:
                hint = ("check the parity rule p = p1 p2 and that in2's multiplicity counts; uvw uses the multiplicity "
                        "of the OUTPUT block, uvu that of the first input")
            else:
                hint = "count mul1 × mul2 (× mul_out for uvw) per path"
            fail(f"for {a!r} ⊗ {b!r} → {c!r}: {', '.join(which)}{easy}", hint)
    a, b, c = Q3_CASES[1]
    exp_uvw, exp_uvu = _expected_counts(a, b, c)
    return (f"equal to e3nn's weight_numel on {len(Q3_CASES)} cases; e.g. {a} ⊗ {b}: {exp_uvw} weights per edge "
            f"with uvw, {exp_uvu} with uvu ({exp_uvw / exp_uvu:.1f}× fewer)")


# ----------------------------------------------------------------------------- q4
Q4_IRREPS = ("4x0e + 2x1o", "0e + 1o", "4x0e + 2x1o")


def _q4_build():
    with default_dtype(torch.float64):
        return UvuThenLinear(*Q4_IRREPS)


@exercise("a state_dict round trip", hints=[
    "Save only the tensors: torch.save(model.state_dict(), buffer) with buffer = io.BytesIO() (or a file path).",
    "Rewind the buffer (buffer.seek(0)), then state = torch.load(buffer, weights_only=True).",
    "restored = build(); restored.load_state_dict(state); return restored",
])
def q4(save_and_restore):
    """Check ``save_and_restore(model, build) -> a new model`` reproducing ``model``'s outputs bit for bit."""
    torch.manual_seed(16)
    original = _q4_build()
    with torch.no_grad():
        for p in original.parameters():
            p.add_(torch.randn_like(p))                         # "trained": far from any fresh initialisation
    gen = torch.Generator().manual_seed(161)
    x = torch.randn(7, o3.Irreps(Q4_IRREPS[0]).dim, generator=gen, dtype=torch.float64)
    y = torch.randn(7, o3.Irreps(Q4_IRREPS[1]).dim, generator=gen, dtype=torch.float64)
    with torch.no_grad():
        expected = original(x, y)
    restored = call(save_and_restore, original, _q4_build, name="save_and_restore")
    if not isinstance(restored, torch.nn.Module):
        fail(f"save_and_restore should return the restored model (a torch.nn.Module), got {describe(restored)}",
             "return the model built by build() after load_state_dict")
    if restored is original:
        fail("you returned the original model itself: nothing was saved or loaded",
             "build a NEW model with build() and load the saved state_dict into it")
    dtypes = {t.dtype for t in list(restored.parameters()) + list(restored.buffers()) if t.is_floating_point()}
    if dtypes - {torch.float64}:
        fail(f"the restored model holds {', '.join(sorted(str(d).removeprefix('torch.') for d in dtypes))} tensors, "
             "the original only float64", "do not convert the model (.float()): build() already has the right dtype")
    with torch.no_grad():
        got = expect_tensor(call(restored, x, y, name="the restored model"), "restored(x, y)", shape=tuple(expected.shape))
    if not torch.equal(got, expected):
        dev = float((got - expected).abs().max())
        fail_if_float32_precision(got, dev, "restored model's outputs", scale=float(expected.abs().max()), needed="exact equality")
        fail(f"the restored model's outputs differ from the original's by up to {dev:.2g}: its weights are not the "
             "saved ones", "load the saved state_dict into the new model: restored.load_state_dict(state)")
    with torch.no_grad():
        for p in original.parameters():
            p.add_(1.0)
        after = call(restored, x, y, name="the restored model")
    if not torch.equal(after, expected):
        fail("changing the original model's weights afterwards changes the restored model: they share tensors",
             "save to a buffer and load from it (torch.save / torch.load) so the restored model owns copies")
    return "a new model with identical outputs (torch.equal), independent of the original"
