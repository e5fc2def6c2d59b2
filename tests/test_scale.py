"""Tests of e3teach.scale: timing helpers, power-law fit, saved-tensor memory, uvu layer, DDP, compilation."""
import math
import os
import time

import pytest
import torch
from e3nn import o3

from e3teach import scale
from e3teach.data import tetris as T
from e3teach.env import default_dtype


def test_median_time_warms_up_and_takes_the_median():
    durations = iter([0.0, 0.001, 0.05, 0.002, 0.003, 0.002])
    calls = []

    def work():
        calls.append(1)
        time.sleep(next(durations))

    seconds = scale.median_time(work, repeats=5, warmup=1)
    assert len(calls) == 6
    assert 0.0015 < seconds < 0.03            # the median (0.002 s), not the 0.05 s outlier nor the mean
    with pytest.raises(ValueError):
        scale.median_time(work, repeats=0)


def test_compare_times_interleaves():
    order = []
    out = scale.compare_times({"a": lambda: order.append("a"), "b": lambda: order.append("b")}, repeats=3, warmup=1)
    assert set(out) == {"a", "b"} and all(v >= 0 for v in out.values())
    assert order == ["a", "b"] * 4            # warm-up of each, then a, b, a, b, ...


def test_fit_power_law_recovers_exponent():
    x = [1, 2, 3, 4, 5]
    k, c = scale.fit_power_law(x, [3.0 * v ** 2.5 for v in x])
    assert math.isclose(k, 2.5, rel_tol=1e-12) and math.isclose(c, 3.0, rel_tol=1e-12)
    with pytest.raises(ValueError):
        scale.fit_power_law([1], [1])


def test_saved_tensor_bytes_counts_what_backward_keeps():
    a = torch.randn(100, 10, dtype=torch.float64, requires_grad=True)
    nbytes = scale.saved_tensor_bytes(lambda: (a.sin() * 2).sum())
    assert nbytes == 100 * 10 * 8              # sin saves its input once
    assert scale.saved_tensor_bytes(lambda: a.detach().sin()) == 0      # nothing without autograd
    bigger = scale.saved_tensor_bytes(lambda: torch.randn(200, 10, dtype=torch.float64, requires_grad=True).sin())
    assert bigger == 2 * nbytes


def test_code_of_drops_the_docstring():
    text = scale.code_of(scale.median_time)
    assert text.startswith("def median_time") and "Median wall-clock" not in text and "statistics.median" in text
    assert "Median wall-clock" in scale.code_of(scale.median_time, docstring=True)
    assert scale.code_of(scale.median_time, start="times = []").startswith("    times = []")


def test_uvu_then_linear_weights_and_equivariance():
    with default_dtype(torch.float64):
        irreps, sh = scale.polar_irreps(4, 2), o3.Irreps.spherical_harmonics(2)
        uvu = scale.uvu_then_linear(irreps, sh, irreps)
        uvw = o3.FullyConnectedTensorProduct(irreps, sh, irreps)
        assert uvu.irreps_out == irreps and uvw.weight_numel == 4 * uvu.tp.weight_numel
        assert uvu.weight_numel == uvu.tp.weight_numel + uvu.linear.weight_numel
        x, y = torch.randn(5, irreps.dim), torch.randn(5, sh.dim)
        R = o3.rand_matrix()
        out = uvu(x @ irreps.D_from_matrix(R).T, y @ sh.D_from_matrix(R).T)
        assert torch.allclose(out, uvu(x, y) @ irreps.D_from_matrix(R).T, atol=1e-10)
        per_edge = scale.uvu_then_linear(irreps, sh, irreps, shared_weights=False)
        w = torch.randn(5, per_edge.tp.weight_numel)
        assert per_edge(x, y, w).shape == (5, irreps.dim)


def test_shard_and_free_port():
    assert [scale.shard(8, r, 2) for r in range(2)] == [slice(0, 4), slice(4, 8)]
    with pytest.raises(ValueError):
        scale.shard(7, 0, 2)
    port = scale.free_port()
    assert 1024 <= port < 65536


def test_relative_difference():
    a = {"w": torch.tensor([1.0, 2.0], dtype=torch.float64)}
    b = {"w": torch.tensor([1.0, 2.5], dtype=torch.float64)}
    assert scale.relative_difference(a, b) == pytest.approx(0.2)
    assert scale.relative_difference(b, b) == 0.0


def test_data_parallel_equals_single_process():
    pieces = T.random_copies(T.tetris(torch.float64), 1, seed=3)
    config = dict(irreps_out=T.LABEL_IRREPS, seed=0, dtype=torch.float64, steps=2, lr=0.05,
                  model_kwargs=dict(irreps_hidden="4x0e + 2x1o", layers=1), pos=pieces.pos, target=pieces.label)
    ddp = scale.run_data_parallel(config, world_size=2, timeout=120)
    assert ddp["local_graphs"] == 4
    grads, params = scale.train_steps(scale.build_model(config), pieces.pos, pieces.label, steps=2, lr=0.05)
    assert scale.relative_difference(ddp["grads"], grads) < 1e-12
    assert scale.relative_difference(ddp["params"], params) < 1e-12
    # a sum loss per process would not be the same: the gradient of the global mean is what DDP reproduces
    model = scale.build_model(config)
    scale.graph_loss(model, pieces.pos, pieces.label).backward()
    name, p = next(iter(model.named_parameters()))
    assert torch.allclose(p.grad, grads[name], rtol=1e-12, atol=0)


def test_quick_inductor_patches_and_restores_inductor_and_its_cache_folder(monkeypatch):
    import torch._inductor.config as inductor_config

    monkeypatch.setenv("TORCHINDUCTOR_CACHE_DIR", "/somewhere/else")
    before = inductor_config.cpp.vec_isa_ok
    with scale.quick_inductor():
        folder = os.environ["TORCHINDUCTOR_CACHE_DIR"]
        assert os.path.isdir(folder) and "e3teach_inductor_" in folder
        assert inductor_config.cpp.vec_isa_ok is False and inductor_config.cpp_cache_precompile_headers is False
    assert os.environ["TORCHINDUCTOR_CACHE_DIR"] == "/somewhere/else" and not os.path.exists(folder)
    assert inductor_config.cpp.vec_isa_ok == before


def test_compile_benchmark_records_an_error_instead_of_raising(monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("no C++ compiler found\nmore text")

    monkeypatch.setattr(scale, "compile_tensor_product", broken)
    monkeypatch.setattr(scale, "graph_breaks_of_radius_graph", lambda: {"graphs": 1, "breaks": 0, "reasons": []})
    report = scale.compile_benchmark(["cpu"])
    assert report["devices"]["cpu"] == {"error": "RuntimeError: no C++ compiler found"}
    assert report["settings"] == scale.QUICK_INDUCTOR


def test_random_graph_has_no_self_loops_and_is_seeded():
    pos, src, dst = scale.random_graph(20, 4, seed=1)
    assert pos.shape == (20, 3) and src.shape == dst.shape and bool((src != dst).all())
    again = scale.random_graph(20, 4, seed=1)
    assert torch.equal(pos, again[0]) and torch.equal(src, again[1])


def test_print_compile_report(capsys):
    assert scale.print_compile_report({"devices": {"cpu": {"error": "no compiler"}}}) == {}
    assert "no compiler" in capsys.readouterr().out
    entry = dict(compile_seconds=20.0, eager_seconds=0.01, compiled_seconds=0.005, max_difference=2e-7,
                 dtype="float32", n=512)
    report = {"devices": {"cpu": entry}, "radius_graph": {"graphs": 3, "breaks": 2, "reasons": ["Dynamic shape"]}}
    assert scale.print_compile_report(report) == entry
    out = capsys.readouterr().out
    assert "2.0×" in out and "2 graph breaks" in out and "Dynamic shape" in out


def test_a_data_parallel_run_that_hangs_is_stopped_and_started_again(monkeypatch):
    import torch.multiprocessing as mp

    starts = []

    class Hung:
        processes = []

        def join(self, timeout=None):
            time.sleep(0.01)
            return False

    class Done:
        processes = []

        def __init__(self, out_path):
            torch.save({"grads": {}, "params": {}, "local_graphs": 4}, out_path)

        def join(self, timeout=None):
            return True

    def fake_start(worker, args, nprocs, join, start_method):
        starts.append(args[1])
        return Hung() if len(starts) == 1 else Done(args[3])

    monkeypatch.setattr(mp, "start_processes", fake_start)
    result = scale.run_data_parallel({}, timeout=0.05)
    assert len(starts) == 2 and result["local_graphs"] == 4 and result["port"] == starts[1]
    starts.clear()
    monkeypatch.setattr(mp, "start_processes", lambda *a, **k: starts.append(1) or Hung())
    with pytest.raises(RuntimeError, match="did not finish within 0 s, 2 times"):
        scale.run_data_parallel({}, timeout=0.05)
