"""Checkers of lesson 16: right answers pass (also in NumPy and float32 where that is fine), typical wrong
answers fail with a useful message, stubs are "not attempted", and broken code is ❌ without raising."""
import copy
import io
import statistics
import time

import numpy as np
import pytest
import torch
from e3nn import o3

from checker_stubs import (assert_checker_error, assert_fails, assert_learner_error, assert_missing_return,
                           assert_not_attempted, assert_passes, returning_float32, returning_numpy, stub_raise)
from e3teach.checks import lesson16 as check


# ------------------------------------------------------------------ right answers
def median_time(fn, repeats=5, warmup=1):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def saturation_batch_size(batch_sizes, throughputs, fraction=0.8):
    best = max(throughputs)
    return min(b for b, t in zip(batch_sizes, throughputs) if t >= fraction * best)


def per_edge_weights(irreps_in, irreps_sh, irreps_out):
    irreps_in, irreps_sh, irreps_out = o3.Irreps(irreps_in), o3.Irreps(irreps_sh), o3.Irreps(irreps_out)
    uvw = uvu = 0
    for mul1, ir1 in irreps_in:
        for mul2, ir2 in irreps_sh:
            for ir in ir1 * ir2:
                uvw += sum(mul1 * mul2 * m for m, ir_out in irreps_out if ir_out == ir)
                if ir in [ir_out for _, ir_out in irreps_out]:
                    uvu += mul1 * mul2
    return uvw, uvu


def save_and_restore(model, build):
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    buffer.seek(0)
    restored = build()
    restored.load_state_dict(torch.load(buffer, weights_only=True))
    return restored


ANSWERS = [(check.q1, median_time), (check.q2, saturation_batch_size), (check.q3, per_edge_weights),
           (check.q4, save_and_restore)]


@pytest.mark.parametrize("q, answer", ANSWERS)
def test_right_answers_pass(q, answer):
    assert_passes(q, answer)


@pytest.mark.parametrize("q, answer", ANSWERS[:3])
def test_numpy_answers_pass(q, answer):
    def numpy_answer(*args, **kwargs):
        out = answer(*args, **kwargs)
        if isinstance(out, tuple):
            return tuple(np.int64(v) for v in out)
        return np.float64(out) if isinstance(out, float) else np.int64(out)
    assert_passes(q, numpy_answer)
    assert_passes(q, returning_numpy(lambda *a, **k: torch.as_tensor(answer(*a, **k))))


def test_float32_answers():
    assert_passes(check.q1, lambda fn, repeats=5, warmup=1: torch.tensor(median_time(fn, repeats, warmup),
                                                                          dtype=torch.float32))
    assert_passes(check.q2, lambda *a: torch.tensor(float(saturation_batch_size(*a)), dtype=torch.float32))

    def float32_model(model, build):                     # converts the restored model to float32
        return save_and_restore(model, build).float()
    assert_fails(check.q4, float32_model, words=("float32", "float64"))


@pytest.mark.parametrize("q", [q for q, _ in ANSWERS])
def test_stubs_are_not_attempted(q):
    assert_not_attempted(q, ...)
    assert_not_attempted(q, stub_raise)


@pytest.mark.parametrize("q", [q for q, _ in ANSWERS])
def test_learner_errors_and_missing_return(q):
    assert_learner_error(q)
    assert_missing_return(q)


def test_checker_error_is_not_blamed_on_the_learner(monkeypatch):
    assert_checker_error(monkeypatch, check.q3, check, "_expected_counts", per_edge_weights)


# ------------------------------------------------------------------ typical wrong answers
def test_q1_wrong_answers():
    def mean_time(fn, repeats=5, warmup=1):
        for _ in range(warmup):
            fn()
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        return sum(times) / len(times)
    assert_fails(check.q1, mean_time, words="mean")

    def min_time(fn, repeats=5, warmup=1):
        return min(median_time(fn, 1, 0) for _ in range(warmup + repeats))
    assert_fails(check.q1, min_time, words="minimum")

    def no_warmup(fn, repeats=5, warmup=1):
        return median_time(fn, repeats, 0)
    assert_fails(check.q1, no_warmup, words="called fn 3 times")

    assert_fails(check.q1, lambda fn, repeats=5, warmup=1: 1000 * median_time(fn, repeats, warmup), words="seconds")
    assert_fails(check.q1, lambda fn, repeats=5, warmup=1: (median_time(fn, repeats, warmup), "fast")[1],
                 words="one number")


def test_q2_wrong_answers():
    best_one = lambda sizes, rates, fraction=0.8: sizes[rates.index(max(rates))]
    assert_fails(check.q2, best_one, words="SMALLEST")

    def assumes_sorted(sizes, rates, fraction=0.8):       # right only on the easy (sorted) case
        best = max(rates)
        return sorted(sizes)[next(i for i, r in enumerate(rates) if r >= fraction * best)]
    assert_fails(check.q2, assumes_sorted, words="zip")

    def vs_last(sizes, rates, fraction=0.8):              # right when the best throughput is the last one
        return min(b for b, r in zip(sizes, rates) if r >= fraction * rates[-1])
    assert_fails(check.q2, vs_last, words="expected")
    assert_fails(check.q2, lambda sizes, rates, fraction=0.8: 2.5, words="whole number")


def test_q3_wrong_answers():
    def ignores_parity(irreps_in, irreps_sh, irreps_out):  # right on the easy case only
        irreps_in, irreps_sh, irreps_out = o3.Irreps(irreps_in), o3.Irreps(irreps_sh), o3.Irreps(irreps_out)
        uvw = uvu = 0
        for mul1, ir1 in irreps_in:
            for mul2, ir2 in irreps_sh:
                for m, ir_out in irreps_out:
                    if abs(ir1.l - ir2.l) <= ir_out.l <= ir1.l + ir2.l:
                        uvw += mul1 * mul2 * m
                        uvu += mul1 * mul2
        return uvw, uvu
    res = assert_fails(check.q3, ignores_parity, words="parity")
    assert "easy case passed" in res.message

    def same_mul_out(irreps_in, irreps_sh, irreps_out):   # uses mul1 for the output multiplicity
        uvw, uvu = per_edge_weights(irreps_in, irreps_sh, irreps_out)
        return uvu * o3.Irreps(irreps_in)[0].mul, uvu
    assert_fails(check.q3, same_mul_out, words="uvw")
    assert_fails(check.q3, lambda *a: per_edge_weights(*a)[0], words="two numbers")
    assert_fails(check.q3, lambda *a: (1.5, 2), words="whole number")


def test_q4_wrong_answers():
    assert_fails(check.q4, lambda model, build: model, words="original model itself")
    assert_fails(check.q4, lambda model, build: build(), words="differ")

    def shares(model, build):                             # same tensors: not a saved copy
        restored = build()
        for (_, p), (_, q) in zip(restored.named_parameters(), model.named_parameters()):
            p.data = q.data
        return restored
    assert_fails(check.q4, shares, words="share")

    def whole_module(model, build):                       # torch.save(model): weights_only refuses it
        buffer = io.BytesIO()
        torch.save(model, buffer)
        buffer.seek(0)
        return torch.load(buffer)
    assert_fails(check.q4, whole_module, words="your code raised")
    assert_fails(check.q4, lambda model, build: model.state_dict(), words="torch.nn.Module")
    assert_passes(check.q4, lambda model, build: copy.deepcopy(model))   # behaviour is what is checked


# ------------------------------------------------------------------ issue 19: look-alikes separated
def _timed(fn, n):
    times = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def test_q1_only_the_median_of_the_timed_calls_passes():
    def warmup_timed(fn, repeats=5, warmup=1):              # the warm-up call timed with the others
        return statistics.median(_timed(fn, warmup + repeats))

    def trimmed_mean(fn, repeats=5, warmup=1):
        for _ in range(warmup):
            fn()
        times = sorted(_timed(fn, repeats))
        return statistics.mean(times[1:-1])
    assert_fails(check.q1, warmup_timed, words="warm-up call timed too")
    assert_fails(check.q1, trimmed_mean, words="without the fastest and slowest")


def test_q2_list_order_strict_comparison_hard_coded_fraction_and_index():
    def first_in_order(sizes, rates, fraction=0.8):
        best = max(rates)
        return next(b for b, r in zip(sizes, rates) if r >= fraction * best)
    assert_fails(check.q2, first_in_order, words="list order")

    def strict(sizes, rates, fraction=0.8):
        best = max(rates)
        return min(b for b, r in zip(sizes, rates) if r > fraction * best)
    assert_fails(check.q2, strict, words=">=, not >")

    def hard_coded(sizes, rates, fraction=0.8):
        return saturation_batch_size(sizes, rates, 0.8)
    assert_fails(check.q2, hard_coded, words="`fraction` argument")

    def index(sizes, rates, fraction=0.8):
        return sizes.index(saturation_batch_size(sizes, rates, fraction))
    assert_fails(check.q2, index, words="position of")


def test_q3_uvu_counted_per_output_block_fails_on_a_repeated_irrep():
    def per_block(irreps_in, irreps_sh, irreps_out):
        uvw, _ = per_edge_weights(irreps_in, irreps_sh, irreps_out)
        return uvw, check._uvu_per_output_block(irreps_in, irreps_sh, irreps_out)
    assert_fails(check.q3, per_block, words="lists an irrep twice")


def test_q4_whole_module_saved_gets_a_clean_one_line_message():
    def whole_module(model, build):
        buffer = io.BytesIO()
        torch.save(model, buffer)
        buffer.seek(0)
        return torch.load(buffer)
    res = assert_fails(check.q4, whole_module, words="state_dict")
    assert "\x1b" not in res.message and len(res.message) < 500 and "UnpicklingError" in res.message
