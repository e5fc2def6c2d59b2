"""Checkers for exercises/19_debugging_equivariance."""
from __future__ import annotations

import functools

import numpy as np
import torch
from e3nn import o3

from ..diagnose import diagnose
from ..env import default_dtype
from ..equivariance import random_rotation
from ..graph import radius_graph
from ..models import EquivariantPointNet
from .core import as_torch, call, exercise, expect_tensor, fail

__all__ = ["R_MAX", "q1", "q2", "mystery_pipelines", "q3", "q4"]

R_MAX = 2.0


def _cases() -> list[tuple[str, torch.Tensor, bool]]:
    gen = torch.Generator().manual_seed(19)
    R = random_rotation(gen)
    shear = torch.tensor([[1.0, 0.5, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]], dtype=torch.float64)
    nearly = R.clone()
    nearly[0, 1] += 1e-3
    return [("a random rotation", R, True), ("a reflection (−R)", -R, True),
            ("a permutation of the axes", torch.eye(3, dtype=torch.float64)[[1, 2, 0]], True),
            ("a rotation stored in float32", R.float(), True),
            ("a shear (det 1)", shear, False), ("a scaling 2·1", 2 * torch.eye(3, dtype=torch.float64), False),
            ("a rotation with one entry off by 1e-3", nearly, False),
            ("a matrix with det −1 that is not orthogonal", shear * torch.tensor([1.0, 1.0, -1.0],
                                                                                 dtype=torch.float64), False)]


def _as_bool(value, what: str) -> bool:
    value = as_torch(value)
    if isinstance(value, torch.Tensor):
        if value.numel() != 1:
            fail(f"{what} returned a tensor of shape {tuple(value.shape)}, expected one True/False")
        value = value.item()
    if isinstance(value, (bool, np.bool_)) or value in (0, 1):
        return bool(value)
    fail(f"{what} returned {value!r}, expected True or False")


@exercise("rotation or reflection?", hints=[
    "Two conditions: R Rᵀ = 1 (orthogonal) — then det R = ±1 follows.",
    "Compare R @ R.T with torch.eye(3) with a tolerance that float32 meets (e.g. 1e-5).",
    "return bool(torch.allclose(R @ R.T, torch.eye(3, dtype=R.dtype), atol=1e-5))",
])
def q1(is_orthogonal):
    """Check a function R → True for rotations/reflections, False otherwise, on eight cases."""
    wrong = []
    for name, R, expected in _cases():
        got = _as_bool(call(is_orthogonal, R.clone(), name="is_orthogonal(R)"), "is_orthogonal(R)")
        if got != expected:
            wrong.append((name, expected))
    if wrong:
        name, expected = wrong[0]
        why = {True: "it is orthogonal (R Rᵀ = 1)", False: "R Rᵀ ≠ 1"}[expected]
        hint = ("det = ±1 is not enough: a shear has det 1" if any("det" in n for n, _ in wrong) and not expected
                else "use a tolerance: a float32 rotation is orthogonal to ~1e-7, not exactly")
        fail(f"wrong on {len(wrong)} of 8 cases, e.g. {name}: should be {expected}, since {why}", hint)
    return "right on 4 orthogonal matrices (one float32) and 4 that are not"


def _reference_edges(pos, batch, r_max) -> set[tuple[int, int]]:
    n = len(pos)
    dist = (pos[:, None] - pos[None]).norm(dim=-1)
    ok = (dist < r_max) & (batch[:, None] == batch[None]) & ~torch.eye(n, dtype=torch.bool)
    return {(int(i), int(j)) for i, j in torch.nonzero(ok)}


@exercise("edges within each graph", hints=[
    "All pairs (i, j) with i != j, the same batch entry, and distance < r_max.",
    "Build a (N, N) boolean mask: (dist < r_max) & (batch[:, None] == batch[None, :]) & ~eye.",
    "src, dst = torch.nonzero(mask, as_tuple=True); return src, dst",
])
def q2(graph_edges):
    """Check graph_edges(pos, batch, r_max) → (src, dst) on a sorted batch, an interleaved one, duplicates."""
    gen = torch.Generator().manual_seed(2)
    pos = torch.randn(12, 3, generator=gen, dtype=torch.float64)
    pos[7] = pos[3]                                               # two atoms at the same place
    cases = [("one graph", torch.zeros(12, dtype=torch.long)),
             ("a sorted batch of 3 graphs", torch.arange(3).repeat_interleave(4)),
             ("an unsorted batch (graphs interleaved)", torch.arange(3).repeat(4))]
    for name, batch in cases:
        out = call(graph_edges, pos.clone(), batch.clone(), R_MAX, name="graph_edges(pos, batch, r_max)")
        if not isinstance(out, (tuple, list)) or len(out) != 2:
            fail("return two tensors: (src, dst)", "return src, dst")
        src, dst = (torch.as_tensor(t) if isinstance(t, (list, tuple)) else t for t in out)
        src = expect_tensor(src, "src")
        dst = expect_tensor(dst, "dst", shape=tuple(src.shape))
        got = {(int(i), int(j)) for i, j in zip(src.reshape(-1).tolist(), dst.reshape(-1).tolist())}
        want = _reference_edges(pos, batch, R_MAX)
        if any(i == j for i, j in got):
            fail(f"on {name}: your graph has self-loops i → i", "remove them by index (src != dst), not by distance")
        if any(int(batch[i]) != int(batch[j]) for i, j in got):
            fail(f"on {name}: some edges join different graphs", "keep pairs with batch[i] == batch[j]")
        if got != want:
            fail(f"on {name}: {len(want - got)} edge(s) missing and {len(got - want)} extra",
                 "every ordered pair (i, j), i != j, within r_max; atoms at the same place are distinct atoms")
    return "right on one graph and on sorted and unsorted batches"


# ----------------------------------------------------------------------------- q3: use the tool
def _run_model(model, pos, src, dst, vec):
    x = pos.new_ones(len(pos), 1)
    for block in model.blocks:
        x = block(x, pos, src, dst, edge_vec=vec)
    return model.output(x, pos, src, dst, edge_vec=vec)


def mystery_pipelines() -> dict:
    """Four pipelines around one model: ``{name: (pipeline, pos, keyword arguments for diagnose)}``.

    Run ``diagnose(pipeline, pos, **kwargs)`` on each; some are fine, some hide one set-up mistake.
    """
    with default_dtype(torch.float64):
        torch.manual_seed(19)
        model = EquivariantPointNet("0e + 1o", layers=1, r_max=R_MAX, pool=False)
    pos = torch.randn(8, 3, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    cache: dict = {}

    def a(p):
        src, dst = radius_graph(p, R_MAX)
        return {"outputs": _run_model(model, p, src, dst, p[dst] - p[src]), "edge_src": src, "edge_dst": dst}

    def b(p):
        src, dst = cache.setdefault("edges", radius_graph(p, R_MAX))
        return {"outputs": _run_model(model, p, src, dst, p[dst] - p[src]), "edge_src": src, "edge_dst": dst}

    def c(p):
        return model(p)

    def d(p):
        src, dst = torch.nonzero((p[:, None] - p[None]).norm(dim=-1) < R_MAX, as_tuple=True)
        vec = p[dst] - p[src]
        return {"outputs": _run_model(model, p, src, dst, vec), "edge_src": src, "edge_dst": dst, "edge_vec": vec}

    kw = dict(irreps_out="0e + 1o", r_max=R_MAX)
    return {"a": (a, pos, kw), "b": (b, pos, kw), "c": (c, pos, dict(irreps_out="0e + 1e")), "d": (d, pos, kw)}


@functools.lru_cache(maxsize=1)
def _mystery_answers() -> dict:
    answers = {}
    for name, (pipeline, pos, kw) in mystery_pipelines().items():
        found = diagnose(pipeline, pos, **kw)
        answers[name] = found.codes[0] if found.codes else "ok"
    return answers


@exercise("name the mistake", hints=[
    "For each name: found = diagnose(pipeline, pos, **kwargs); print(found).",
    "Answer {name: the first code in found.codes, or 'ok' when found.codes is empty}.",
])
def q3(answers):
    """Check a dict {pipeline name: first finding code or 'ok'} for check.mystery_pipelines()."""
    if not isinstance(answers, dict):
        fail(f"answer with a dict such as {{'a': 'ok', ...}}, got {type(answers).__name__}")
    truth = _mystery_answers()
    answers = {str(k): str(v) for k, v in answers.items()}
    missing = sorted(set(truth) - set(answers))
    if missing:
        fail(f"no answer for pipeline(s) {missing}", "one entry per pipeline: 'a', 'b', 'c', 'd'")
    wrong = sorted(k for k in truth if answers[k] != truth[k])
    if wrong:
        fail(f"pipeline(s) {wrong}: not what the tool finds", "print(diagnose(pipeline, pos, **kwargs)) and read "
             "the first line after the verdict")
    return "; ".join(f"{k}: {v}" for k, v in truth.items())


# ----------------------------------------------------------------------------- q4: relative error
@exercise("a relative error", hints=[
    "Rotate the positions as pos @ R.T; the outputs with D = Irreps(irreps_out).D_from_matrix(R) as y @ D.T.",
    "error = max |f(pos @ R.T) - f(pos) @ D.T|, divided by max(1, max |f(pos)|).",
    "Compute D in float64 (with e3teach.default_dtype(torch.float64)) and compare in float64.",
])
def q4(relative_error):
    """Check relative_error(f, pos, R, irreps_out) on a correct float32 model, a broken one, and R vs Rᵀ."""
    gen = torch.Generator().manual_seed(4)
    pos = torch.randn(7, 3, generator=gen, dtype=torch.float64)
    R = random_rotation(gen)
    with default_dtype(torch.float32):
        torch.manual_seed(4)
        net = EquivariantPointNet("0e + 1o", layers=1, r_max=R_MAX, pool=False)
        with torch.no_grad():
            for w in net.parameters():
                w.mul_(8.0)

    def good(p):
        return net(p.float()).double()

    def broken(p):
        return torch.relu(good(p))

    with torch.no_grad():
        y, y_rot = good(pos), good(pos @ R.T)
        with default_dtype(torch.float64):
            D = o3.Irreps("0e + 1o").D_from_matrix(R)
        expected = float((y_rot - y @ D.T).abs().max()) / max(1.0, float(y.abs().max()))
        wrong_way = float((good(pos @ R) - y @ D.T).abs().max()) / max(1.0, float(y.abs().max()))
    got = float(expect_tensor(torch.as_tensor(call(relative_error, good, pos.clone(), R.clone(), "0e + 1o",
                                                   name="relative_error(f, pos, R, irreps_out)")),
                              "relative_error(...)").reshape(-1)[0])
    if abs(got - wrong_way) < 1e-6 * max(1.0, wrong_way) and abs(got - expected) > 1e-3:
        fail(f"your error {got:.2g} is that of pos @ R: rows are points, rotate them as pos @ R.T")
    if got > 1e-4:
        fail(f"on a correct float32 model your error is {got:.2g}, above float32 round-off",
             "divide by the size of the outputs, max(1, max|f(pos)|); compute D in float64")
    if abs(got - expected) > 1e-5 + 0.5 * expected:
        fail(f"on a correct float32 model your error is {got:.2g}, expected about {expected:.1g}",
             "error = max |f(pos @ R.T) - f(pos) @ D.T| / max(1, max |f(pos)|)")
    bad = float(torch.as_tensor(call(relative_error, broken, pos.clone(), R.clone(), "0e + 1o",
                                     name="relative_error(f, pos, R, irreps_out)")).reshape(-1)[0])
    if bad < 1e-3:
        fail(f"on a broken model (ReLU on the vectors) your error is only {bad:.2g}", "compare f(pos @ R.T) with "
             "f(pos) @ D.T, not f(pos) with itself")
    return "round-off on a correct float32 model, large on a broken one"
