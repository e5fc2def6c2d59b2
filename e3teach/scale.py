r"""Performance and scale (lesson 16): honest timing, cost models, data-parallel training, compilation.

Timing on a shared machine is noisy: other programs steal the CPU for milliseconds at a time. Two
rules make a measurement worth printing:

* report the **median** of several repeats (a stolen time slice makes one repeat slow, the median
  ignores it), after a warm-up call (the first call allocates memory, fills caches, builds kernels);
* compare two variants **interleaved** (A, B, A, B, ...) and print their **ratio**: a slow period of
  the machine then hits both alike.

What is here:

- :func:`median_time`, :func:`compare_times` — the two rules above;
- :func:`plain_log_ticks` — readable ticks on log-log plots;
- :func:`fit_power_law` — the exponent :math:`k` of :math:`y \approx c\,x^k` (least squares in log-log);
- :func:`saved_tensor_bytes` — the memory autograd keeps for the backward pass (exact, machine-independent);
- :func:`uvu_then_linear` — the NequIP/MACE pattern: a ``uvu`` tensor product, then an ``o3.Linear``;
- :func:`ddp_worker`, :func:`run_data_parallel`, :func:`train_steps` — data-parallel training with
  ``torch.distributed`` (gloo on CPU; the same code runs on GPUs with nccl);
- :func:`compile_benchmark` — ``torch.compile`` of a tensor product with Inductor's quickest settings
  (:func:`quick_inductor`), in the notebook's process; ``python -m e3teach.scale compile OUT.json``
  measures it with Inductor's defaults.

The DDP worker lives in a module (not in a notebook) because ``torch.multiprocessing`` with the
``spawn`` start method starts fresh interpreters that import the worker function by name.
"""
from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import socket
import statistics
import sys
import tempfile
import time
from typing import Callable

import torch

from .models import UvuThenLinear  # its home is e3teach.models; re-exported for lesson 16

__all__ = ["median_time", "compare_times", "code_of", "fit_power_law", "plain_log_ticks", "saved_tensor_bytes",
           "polar_irreps", "UvuThenLinear", "uvu_then_linear", "random_graph", "print_compile_report", "free_port",
           "build_model", "graph_loss", "train_steps", "shard", "ddp_worker", "run_data_parallel",
           "relative_difference", "COMPILE_IRREPS", "QUICK_INDUCTOR", "quick_inductor", "compile_tensor_product",
           "graph_breaks_of_radius_graph", "compile_benchmark"]


# ------------------------------------------------------------------------------------ timing
def median_time(fn: Callable[[], object], *, repeats: int = 5, warmup: int = 1) -> float:
    """Median wall-clock seconds of ``fn()`` over ``repeats`` calls, after ``warmup`` untimed calls."""
    if repeats < 1:
        raise ValueError("repeats must be at least 1")
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def compare_times(fns: dict[str, Callable[[], object]], *, repeats: int = 7,
                  warmup: int = 2) -> dict[str, float]:
    """Median seconds of each function, measured **interleaved**: round ``r`` calls every function once.

    A slow moment of the machine then slows every variant of that round, and ratios of the medians
    stay meaningful on a loaded machine. ``warmup`` calls of each come first (e3nn's TorchScript code
    is profiled and optimized during its first calls).
    """
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(ts) for name, ts in times.items()}


def fit_power_law(x, y) -> tuple[float, float]:
    r"""``(k, c)`` of the least-squares fit :math:`\log y = k \log x + \log c`."""
    xs = [math.log(float(v)) for v in x]
    ys = [math.log(float(v)) for v in y]
    n = len(xs)
    if n < 2:
        raise ValueError("need at least two points to fit a power law")
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((a - mx) ** 2 for a in xs)
    k = sum((a - mx) * (b - my) for a, b in zip(xs, ys)) / sxx
    return k, math.exp(my - k * mx)


def saved_tensor_bytes(fn: Callable[[], object]) -> int:
    """Bytes of the tensors autograd saves for the backward pass while ``fn()`` runs.

    This is the activation memory of training (what grows with the batch and with ``lmax``), counted
    exactly with ``torch.autograd.graph.saved_tensors_hooks``; a storage saved twice counts once.
    The same on every machine, unlike a reading of the process's memory.
    """
    seen: dict[tuple, int] = {}

    def pack(t: torch.Tensor):
        storage = t.untyped_storage()
        seen[(storage.data_ptr(), storage.nbytes())] = storage.nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        fn()
    return sum(seen.values())


def plain_log_ticks(ax, x=None) -> None:
    """Readable ticks on log-log axes (matplotlib ``ax``): the measured ``x`` values as plain numbers,
    without minor labels, and 1, 2, 5 × 10^k on the y axis as plain numbers (0.5, 1, 2, 5, 10, ...)."""
    from matplotlib import ticker

    if x is not None:
        ax.set_xticks(list(x), [f"{v:g}" for v in x])
        ax.xaxis.set_minor_locator(ticker.NullLocator())
    ax.yaxis.set_major_locator(ticker.LogLocator(base=10, subs=(1, 2, 5)))
    ax.yaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:g}"))
    ax.yaxis.set_minor_locator(ticker.NullLocator())


def code_of(fn: Callable, *, docstring: bool = False, start: str | None = None) -> str:
    """The source of ``fn`` to print in a lesson, without docstrings (its own and those of the functions
    and classes it defines inside, unless ``docstring``); with ``start``, only the lines from the first
    one containing ``start``."""
    import ast
    import inspect
    import textwrap
    source = textwrap.dedent(inspect.getsource(fn))
    lines = source.splitlines()
    if not docstring:
        spans = [(node.body[0].lineno, node.body[0].end_lineno) for node in ast.walk(ast.parse(source))
                 if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
                 and len(node.body) > 1 and isinstance(node.body[0], ast.Expr)
                 and isinstance(node.body[0].value, ast.Constant) and isinstance(node.body[0].value.value, str)]
        for first, last in sorted(spans, reverse=True):
            blank = last < len(lines) and not lines[last].strip()      # the empty line after it, too
            del lines[first - 1: last + blank]
    if start is not None:
        first = next(i for i, line in enumerate(lines) if start in line)
        lines = lines[first:]
    return "\n".join(lines)


# ------------------------------------------------------------------------------------ tensor products
def polar_irreps(mul: int, lmax: int):
    """``mul x 0e + mul x 1o + mul x 2e + ...`` up to ``lmax`` (parity (-1)^l, like spherical harmonics)."""
    from e3nn import o3
    return o3.Irreps([(mul, (l, (-1) ** l)) for l in range(lmax + 1)])


def uvu_then_linear(irreps_in1, irreps_in2, irreps_out, **kwargs) -> UvuThenLinear:
    """Build a :class:`UvuThenLinear`."""
    return UvuThenLinear(irreps_in1, irreps_in2, irreps_out, **kwargs)


def random_graph(n_nodes: int, n_neighbors: int, seed: int = 0):
    """Random positions in a 2-cube and ``n_neighbors`` random in-edges per node (no self-loops):
    ``(pos, edge_src, edge_dst)``, for benchmarks where the graph's geometry does not matter."""
    gen = torch.Generator().manual_seed(seed)
    pos = 2.0 * torch.rand(n_nodes, 3, generator=gen)
    src = torch.randint(0, n_nodes, (n_nodes * n_neighbors,), generator=gen)
    dst = torch.arange(n_nodes).repeat_interleave(n_neighbors)
    keep = src != dst
    return pos, src[keep], dst[keep]


# ------------------------------------------------------------------------------------ data parallel
def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def build_model(config: dict) -> torch.nn.Module:
    """The network of the data-parallel example: an ``EquivariantPointNet``, seeded, in ``config['dtype']``."""
    from .env import default_dtype
    from .models import EquivariantPointNet
    torch.manual_seed(config.get("seed", 0))
    with default_dtype(config.get("dtype", torch.float64)):
        return EquivariantPointNet(config["irreps_out"], **config.get("model_kwargs", {}))


def graph_loss(model: torch.nn.Module, pos: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean over the graphs of the squared error of each graph's output: ``pos`` (B, n, 3), ``target`` (B, d)."""
    b, n, _ = pos.shape
    batch = torch.arange(b, device=pos.device).repeat_interleave(n)
    out = model(pos.reshape(b * n, 3), batch=batch)
    return (out - target).pow(2).sum(dim=1).mean()


def train_steps(model: torch.nn.Module, pos: torch.Tensor, target: torch.Tensor, *, steps: int, lr: float):
    """``steps`` plain SGD steps on :func:`graph_loss`; returns (gradients of the first step, final parameters).

    Plain SGD (no momentum) keeps the comparison with data-parallel training exact: an update is
    ``w -= lr * grad``, the same arithmetic in every process.
    """
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    first_grads = None
    for step in range(steps):
        optimizer.zero_grad()
        graph_loss(model, pos, target).backward()
        if step == 0:
            first_grads = {name: p.grad.detach().clone() for name, p in _named_params(model)}
        optimizer.step()
    return first_grads, {name: p.detach().clone() for name, p in _named_params(model)}


def _named_params(model):
    inner = model.module if hasattr(model, "module") else model      # DDP wraps the model in .module
    return inner.named_parameters()


def shard(n: int, rank: int, world_size: int) -> slice:
    """The contiguous slice of ``n`` samples that process ``rank`` of ``world_size`` trains on (n divisible)."""
    if n % world_size:
        raise ValueError(f"the global batch ({n}) must divide evenly among {world_size} processes")
    size = n // world_size
    return slice(rank * size, (rank + 1) * size)


def ddp_worker(rank: int, world_size: int, port: int, config: dict, out_path: str) -> None:
    """One process of data-parallel training (``torch.multiprocessing`` calls it with ``rank`` first).

    Every process builds the same model (same seed), wraps it in ``DistributedDataParallel`` and
    trains on its own shard of the global batch. During ``backward`` DDP **averages** the gradients
    of all processes (an all-reduce), so every process takes the same step: that of the mean loss
    over the global batch. Rank 0 saves its first gradients and final weights to ``out_path``.

    On GPUs: ``backend="nccl"`` and ``model.to(f"cuda:{rank}")`` (config ``backend``/``device``),
    nothing else changes.

    The end matters too: ``del ddp_model`` before ``destroy_process_group``. DDP holds the process group;
    when that reference is the last one, freeing the model destroys the group while holding Python's lock,
    and gloo's worker thread, still freeing the barrier's work, waits for that lock: a deadlock at exit
    (seen here once in 40 to 100 runs on a busy machine, with PyTorch 2.13).
    """
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel

    torch.set_num_threads(1)
    os.environ["MASTER_ADDR"] = "127.0.0.1"
    os.environ["MASTER_PORT"] = str(port)
    backend = config.get("backend", "gloo")
    device = torch.device(config.get("device", "cpu"))
    if device.type == "cuda":
        device = torch.device("cuda", rank)
        torch.cuda.set_device(device)
    dist.init_process_group(backend, rank=rank, world_size=world_size)
    try:
        model = build_model(config).to(device)
        device_ids = [device.index] if device.type == "cuda" else None
        ddp_model = DistributedDataParallel(model, device_ids=device_ids)
        part = shard(config["pos"].shape[0], rank, world_size)
        pos, target = config["pos"][part].to(device), config["target"][part].to(device)
        grads, params = train_steps(ddp_model, pos, target, steps=config["steps"], lr=config["lr"])
        if rank == 0:
            torch.save({"grads": {k: v.cpu() for k, v in grads.items()},
                        "params": {k: v.cpu() for k, v in params.items()},
                        "local_graphs": int(pos.shape[0])}, out_path)
        dist.barrier()
        del ddp_model  # release DDP's hold on the process group first (see the docstring)
    finally:
        dist.destroy_process_group()


def run_data_parallel(config: dict, *, world_size: int = 2, timeout: float = 60.0, attempts: int = 2) -> dict:
    """Start ``world_size`` processes (``spawn``) running :func:`ddp_worker`; return rank 0's results.

    Adds ``"port"`` and ``"seconds"`` (wall time of the successful attempt, including starting the
    processes) to the result. A run that has not finished after ``timeout`` seconds (a normal one takes
    seconds; we have seen a rendezvous hang on a busy machine) is stopped and started again on a new port,
    up to ``attempts`` times in all; then ``RuntimeError``, as when a process fails.
    """
    import torch.multiprocessing as mp

    for _ in range(attempts):
        port = free_port()
        with tempfile.TemporaryDirectory() as tmp:
            out_path = os.path.join(tmp, "rank0.pt")
            start = time.perf_counter()
            context = mp.start_processes(ddp_worker, args=(world_size, port, config, out_path),
                                         nprocs=world_size, join=False, start_method="spawn")
            deadline = start + timeout
            finished = True
            while not context.join(timeout=0.5):
                if time.perf_counter() > deadline:
                    for p in context.processes:
                        if p.is_alive():
                            p.terminate()
                    finished = False
                    break
            if finished:
                result = torch.load(out_path, weights_only=True)
                result.update(port=port, seconds=time.perf_counter() - start)
                return result
    raise RuntimeError(f"data-parallel training did not finish within {timeout:.0f} s, {attempts} times")


def relative_difference(a: dict, b: dict) -> float:
    """max over tensors of ``|a - b|_max / |b|_max`` (dicts of tensors with the same keys)."""
    worst = 0.0
    for name, ref in b.items():
        ref = ref.detach()
        scale = float(ref.abs().max()) or 1.0
        worst = max(worst, float((a[name].detach() - ref).abs().max()) / scale)
    return worst


# ------------------------------------------------------------------------------------ torch.compile
COMPILE_IRREPS = ("8x0e + 8x1o", "0e + 1o", "8x0e + 8x1o")
#: Inductor's quickest settings for one small compilation on a CPU (``torch._inductor.config`` names): scalar
#: C++ (no compiling of test programs to probe the CPU's vector instructions), no precompiled header (it pays
#: off only over many kernels), no pool of compile workers. On 2 cores they cut a cold compilation of the tensor
#: product from about 25 to 9 CPU-seconds; the compiled product is still about 3× faster than eager.
QUICK_INDUCTOR = {"cpp.vec_isa_ok": False, "cpp_cache_precompile_headers": False, "compile_threads": 1}


@contextlib.contextmanager
def quick_inductor():
    """Compile with :data:`QUICK_INDUCTOR`, into a private cache folder deleted afterwards.

    A private folder, because two notebooks compiling at once into the shared default cache can load
    each other's half-written libraries ("file too short"); the price is that every run compiles cold.
    """
    import torch._inductor.config as inductor_config

    folder = tempfile.mkdtemp(prefix="e3teach_inductor_")
    before = os.environ.get("TORCHINDUCTOR_CACHE_DIR")
    os.environ["TORCHINDUCTOR_CACHE_DIR"] = folder
    try:
        with inductor_config.patch(QUICK_INDUCTOR):
            yield
    finally:
        if before is None:
            os.environ.pop("TORCHINDUCTOR_CACHE_DIR", None)
        else:
            os.environ["TORCHINDUCTOR_CACHE_DIR"] = before
        shutil.rmtree(folder, ignore_errors=True)


def _first_line(text: str) -> str:
    return str(text).strip().splitlines()[0][:120] if str(text).strip() else ""


def compile_tensor_product(device="cpu", *, n: int = 512, repeats: int = 15) -> dict:
    """Compile one e3nn tensor product with ``torch.compile`` (inductor) and compare it with eager mode.

    Returns the compile time (the first call compiles), the largest difference between compiled and
    eager outputs relative to the output size, and the median seconds of both (interleaved).
    """
    from e3nn import o3
    torch.manual_seed(0)
    tp = o3.FullyConnectedTensorProduct(*COMPILE_IRREPS).to(device)
    x = torch.randn(n, tp.irreps_in1.dim, device=device)
    y = torch.randn(n, tp.irreps_in2.dim, device=device)
    torch._dynamo.reset()
    compiled = torch.compile(tp)
    with torch.no_grad():
        start = time.perf_counter()
        out_compiled = compiled(x, y)                              # compiles, then runs
        _sync(device)
        compile_seconds = time.perf_counter() - start
        out_eager = tp(x, y)
        difference = float((out_compiled - out_eager).abs().max() / out_eager.abs().max())
        times = compare_times({"eager": lambda: _run_sync(tp, x, y, device),
                               "compiled": lambda: _run_sync(compiled, x, y, device)},
                              repeats=repeats, warmup=2)
    return dict(compile_seconds=compile_seconds, max_difference=difference, n=n,
                dtype=str(out_eager.dtype).removeprefix("torch."),
                eager_seconds=times["eager"], compiled_seconds=times["compiled"])


def graph_breaks_of_radius_graph() -> dict:
    """``torch._dynamo.explain`` of the course's ``radius_graph``: graphs, graph breaks, their reasons."""
    import logging

    from .graph import radius_graph
    torch._dynamo.reset()
    pos = torch.randn(12, 3)
    batch = torch.arange(3).repeat_interleave(4)
    # Dynamo also logs each break as a warning of a dozen lines; the explanation below has them, once
    loggers = [logging.getLogger(name) for name in ("torch._dynamo", "torch._dynamo.variables.tensor")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        explanation = torch._dynamo.explain(radius_graph)(pos, 1.5, batch)
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)
    reasons = []
    for r in explanation.break_reasons:
        line = _first_line(r.reason)
        if line not in reasons:
            reasons.append(line)
    return {"graphs": explanation.graph_count, "breaks": explanation.graph_break_count, "reasons": reasons}


def compile_benchmark(devices=("cpu",), *, n: int = 512, repeats: int = 15, quick: bool = True) -> dict:
    """:func:`compile_tensor_product` per device (with :func:`quick_inductor` unless ``quick=False``), then
    :func:`graph_breaks_of_radius_graph`. Runs in this process, on its torch threads.

    Errors (no C++ compiler, an unsupported device...) are recorded as text, never raised.
    """
    report: dict = {"torch": torch.__version__, "devices": {}, "settings": QUICK_INDUCTOR if quick else {}}
    for device in devices:
        try:
            with quick_inductor() if quick else contextlib.nullcontext():
                report["devices"][device] = compile_tensor_product(device, n=n, repeats=repeats)
        except Exception as exc:  # noqa: BLE001 - reported, not raised
            report["devices"][device] = {"error": f"{type(exc).__name__}: {_first_line(exc)}"}
    try:
        report["radius_graph"] = graph_breaks_of_radius_graph()
    except Exception as exc:  # noqa: BLE001
        report["radius_graph"] = {"error": f"{type(exc).__name__}: {_first_line(exc)}"}
    return report


def _sync(device):
    if str(device).startswith("cuda"):
        torch.cuda.synchronize()


def _run_sync(f, x, y, device):
    out = f(x, y)
    _sync(device)
    return out


def print_compile_report(report: dict, device: str = "cpu") -> dict:
    """Print what :func:`compile_benchmark` measured on ``device`` (or why it was skipped); return its entry.

    The entry is ``{}`` when the benchmark was skipped or failed there.
    """
    entry = report.get("devices", {}).get(device, {})
    if "error" in entry or not entry:
        print(f"torch.compile on {device} failed:", entry.get("error", "not measured"))
        return {}
    print(f"{device}: compile time (first call) {entry['compile_seconds'] / entry['eager_seconds']:.0f} × one eager "
          f"call ({entry['compile_seconds']:.0f} s)")
    print(f"{device}: compiled vs eager outputs differ by at most {entry['max_difference']:.0e} of the output size "
          f"({entry['dtype']})")
    print(f"{device}: speed-up of the compiled tensor product {entry['eager_seconds'] / entry['compiled_seconds']:.1f}× "
          f"({entry['n'] / entry['eager_seconds']:.3g} → {entry['n'] / entry['compiled_seconds']:.3g} products/s)")
    if device == "cpu" and report.get("settings"):
        print("cpu: inductor settings", ", ".join(f"{k}={v}" for k, v in report["settings"].items()))
    graph = report.get("radius_graph", {})
    if device == "cpu" and "error" not in graph and graph:
        print(f"radius_graph under Dynamo: {graph['graphs']} graphs, {graph['breaks']} graph breaks, because of:")
        for reason in graph["reasons"]:
            print("   ", reason)
    return entry


def _main(argv: list[str]) -> int:
    if len(argv) >= 2 and argv[0] == "compile":
        devices = tuple(argv[2:]) or ("cpu",)
        report = compile_benchmark(devices, quick=False)          # Inductor's defaults
        with open(argv[1] + ".tmp", "w") as f:
            json.dump(report, f)
        os.replace(argv[1] + ".tmp", argv[1])
        print(json.dumps(report, indent=1))
        return 0
    print("usage: python -m e3teach.scale compile OUT.json [cpu] [cuda]   (Inductor's default settings)")
    return 2


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
