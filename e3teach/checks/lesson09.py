"""Checkers for lesson 09 (tetris): ``from e3teach.checks import lesson09 as check``.

* ``q1(batch_graphs)``: concatenate point clouds of different sizes, with the ``batch`` vector.
* ``q2(decode_outputs)``: ``0o + 6x0e`` outputs → predicted shape (nearest label vector).
* ``q3(transformed_labels)``: the true shape of a piece after an O(3) element of determinant ``det``.
* ``q4(irreps)``: output irreps of a rotation-invariant output that can tell a shape from its mirror image.
* ``q5(build_and_train)``: a network assembled by the learner (convolution → gate → pooling), trained; the checker
  measures its accuracy on 1024 random rotations and reflections of its own and checks E(3) equivariance.
"""
from __future__ import annotations

import torch
from e3nn import nn as enn
from e3nn import o3

from ..data import tetris as T
from ..equivariance import is_dtype_error, check_point_model, random_rotation
from ..graph import batch_point_clouds
from .core import CheckFailed, call, exercise, expect_tensor, fail, learner

__all__ = ["q1", "q2", "q3", "q4", "q5"]


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _as_index(value, name: str, n: int, hint: str) -> torch.Tensor:
    """An integer tensor of shape (n,); floats holding whole numbers are refused with this exercise's ``hint``."""
    value = expect_tensor(value, name, shape=(n,), finite=False)
    if value.dtype.is_floating_point or value.dtype == torch.bool:
        fail(f"`{name}` has dtype {value.dtype}; indices should be integers (torch.long)", hint)
    return value


_Q1_INDEX = "build it with torch.full((n_k,), k, dtype=torch.long) per cloud, or convert with .long()"
_Q2_INDEX = "argmin already returns torch.long: return the argmin itself, without converting it"
_Q3_INDEX = "keep the dtype of `shape` (torch.long): torch.where(condition, 1 - shape, shape) does"


# ----------------------------------------------------------------------------- q1
@exercise("batch point clouds of different sizes", hints=[
    "Stack the points of all clouds one after the other, and remember which cloud each point came from.",
    "pos = torch.cat(clouds); the batch vector repeats the cloud index k once per point of cloud k.",
    "batch = torch.cat([torch.full((len(c),), k, dtype=torch.long) for k, c in enumerate(clouds)])",
])
def q1(batch_graphs):
    """Check ``batch_graphs(list of (n_k, 3) tensors) -> (pos (N, 3), batch (N,))``."""
    gen = _gen(91)
    sizes = [3, 5, 1, 4]
    clouds = [torch.randn(n, 3, generator=gen, dtype=torch.float64) for n in sizes]
    out = call(batch_graphs, [c.clone() for c in clouds])
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        fail(f"`batch_graphs(clouds)` should return two tensors (pos, batch), got {type(out).__name__}"
             + (f" of length {len(out)}" if isinstance(out, (tuple, list)) else ""), "end with `return pos, batch`")
    n = sum(sizes)
    pos = expect_tensor(out[0], "pos", shape=(n, 3))
    batch = _as_index(out[1], "batch", n, _Q1_INDEX)
    if pos.dtype != clouds[0].dtype:
        fail(f"`pos` is {str(pos.dtype).removeprefix('torch.')}, but the clouds are float64: batching must not "
             "change the numbers", "torch.cat(clouds) keeps their dtype; do not convert")
    if not torch.equal(pos.to(torch.float64), torch.cat(clouds)):
        fail("`pos` is not the points of the clouds, in order (cloud 0 first, then cloud 1, ...)",
             "torch.cat(clouds) along the first axis")
    expected = torch.repeat_interleave(torch.arange(len(sizes), dtype=torch.long), torch.tensor(sizes, dtype=torch.long))
    if bool((batch[1:] < batch[:-1]).any()):
        fail(f"`batch` is not sorted: {batch.tolist()}; the points of a cloud must be contiguous",
             "cloud k's points all come before cloud k+1's")
    if not torch.equal(batch.long(), expected):
        fail(f"for clouds of sizes {sizes}, `batch` is {batch.tolist()}, expected {expected.tolist()}",
             "batch[i] is the index of the cloud point i belongs to (0, 1, 2, ...)")
    single = call(batch_graphs, [clouds[1]])
    if not isinstance(single, (tuple, list)) or len(single) != 2:
        fail("with a single cloud, `batch_graphs` should still return (pos, batch)")
    b1 = _as_index(single[1], "batch (one cloud)", sizes[1], _Q1_INDEX)
    if bool((b1 != 0).any()):
        fail(f"with a single cloud, `batch` should be all zeros, got {b1.tolist()}")
    return f"clouds of sizes {sizes} → pos {tuple(pos.shape)}, batch {batch.tolist()}; a single cloud works too"


# ----------------------------------------------------------------------------- q2
@exercise("decode 0o + 6x0e outputs into shapes", hints=[
    "Compare each output row with the 8 label vectors (tetris().label) and pick the closest.",
    "labels = T.tetris(outputs.dtype).label, in the dtype of the outputs (they may be float64); the Euclidean "
    "distance from every output to every label is torch.cdist(outputs, labels), shape (B, 8).",
    "torch.cdist(outputs, T.tetris(outputs.dtype).label).argmin(dim=1). argmax of the output is NOT the "
    "same: chiral_shape_2's label has its only non-zero entry at -1.",
])
def q2(decode_outputs):
    """Check ``decode_outputs(outputs (B, 7)) -> (B,) shape indices`` against nearest-label decoding."""
    labels = T.tetris(torch.float64).label
    try:
        out = _as_index(call(decode_outputs, labels.clone()), "decode_outputs(labels)", 8, _Q2_INDEX)
    except CheckFailed as exc:
        if "your code raised" in exc.message and is_dtype_error(exc.message):
            fail(f"your code fails on float64 outputs ({exc.message}): the label vectors must be in the outputs' "
                 "dtype", "labels = T.tetris(outputs.dtype).label")
        raise
    if out.tolist() != list(range(8)):
        wrong = [T.SHAPE_NAMES[i] for i in range(8) if int(out[i]) != i]
        fail(f"the 8 label vectors themselves decode to {out.tolist()}, expected [0, 1, ..., 7] (wrong for: {', '.join(wrong)})",
             "pick the label vector NEAREST to the output (smallest distance), not the largest entry")
    gen = _gen(92)
    outputs = labels[torch.randint(0, 8, (64,), generator=gen)] + 0.3 * torch.randn(64, 7, generator=gen, dtype=torch.float64)
    outputs = torch.cat([outputs, 0.7 * torch.randn(64, 7, generator=gen, dtype=torch.float64)])
    got = _as_index(call(decode_outputs, outputs.clone()), "decode_outputs(outputs)", 128, _Q2_INDEX)
    expected = T.decode(outputs)
    bad = int((got.long() != expected).sum())
    if bad:
        fail(f"{bad} of 128 noisy or random outputs are decoded differently from the nearest label vector",
             "use the Euclidean distance to each of the 8 label vectors, then argmin")
    float_out = _as_index(call(decode_outputs, outputs[:8].float()), "decode_outputs(float32 outputs)", 8, _Q2_INDEX)
    if not torch.equal(float_out.long(), T.decode(outputs[:8].float())):
        fail("with float32 outputs the answer changes", "build the labels in the dtype of the outputs")
    return "the 8 labels decode to themselves, and 128 noisy/random outputs match nearest-label decoding"


# ----------------------------------------------------------------------------- q3
@exercise("true shapes after rotations and reflections", hints=[
    "A rotation does not change what a piece is. A reflection (det = -1) turns an achiral piece into a "
    "rotated copy of itself, but a chiral piece into its mirror partner.",
    "The chiral pair is shapes 0 and 1: where det < 0 and shape < 2, the new shape is 1 - shape.",
    "new = shape.clone(); flip = (shape < 2) & (det < 0); new[flip] = 1 - new[flip]; return new",
])
def q3(transformed_labels):
    """Check ``transformed_labels(shape (B,), det (B,)) -> (B,)`` on all shapes with det = ±1."""
    shape = torch.arange(8, dtype=torch.long).repeat(2)
    det = torch.tensor([1.0] * 8 + [-1.0] * 8, dtype=torch.float64)
    got = _as_index(call(transformed_labels, shape.clone(), det.clone()), "transformed_labels(shape, det)", 16, _Q3_INDEX)
    expected = torch.where((shape < 2) & (det < 0), 1 - shape, shape)
    if not torch.equal(got.long(), expected):
        rotated_bad = [T.SHAPE_NAMES[int(s)] for s, g, d in zip(shape, got, det) if d > 0 and int(g) != int(s)]
        if rotated_bad:
            fail(f"after a rotation (det = +1) the shape changed for {', '.join(rotated_bad)}",
                 "a rotation never changes which piece it is")
        if int(got[8]) == 0 and int(got[9]) == 1:
            fail("after a reflection (det = -1), chiral_shape_1 stays chiral_shape_1: but its mirror image is "
                 "a (rotated) chiral_shape_2", "swap 0 ↔ 1 where det < 0")
        fail(f"for det = -1 you return {got[8:].tolist()}, expected {expected[8:].tolist()}",
             "only the chiral pair (shapes 0 and 1) changes under a reflection")
    gen = _gen(93)
    shape = torch.randint(0, 8, (50,), generator=gen)
    mats = T.random_orthogonal(50, reflections=True, generator=gen, dtype=torch.float64)
    det = torch.linalg.det(mats)
    truth = T.transform(T.tetris(torch.float64).subset(shape), mats).shape
    got = _as_index(call(transformed_labels, shape.clone(), det.clone()), "transformed_labels(shape, det)", 50, _Q3_INDEX)
    if not torch.equal(got.long(), truth):
        fail("on 50 random rotations and reflections (det ≈ ±1, not exactly) some answers are wrong",
             "compare det with 0 (det < 0), not with -1 exactly: a computed determinant is -0.9999999...")
    return "all 8 shapes under det = ±1, and 50 random O(3) elements (the chiral pair swaps under reflections)"


# ----------------------------------------------------------------------------- q4
@exercise("output irreps that can see a mirror", hints=[
    "A class does not change when the piece is rotated: every output must be a scalar (l = 0).",
    "Under inversion an even scalar (0e) does not change and an odd scalar (0o) changes sign.",
    "A single pseudoscalar is enough: '0o' (the lesson used '0o + 6x0e').",
])
def q4(irreps):
    """Check an Irreps string: rotation-invariant (only l = 0) and changed by inversion (some 0o)."""
    if isinstance(irreps, str) and not irreps.strip():
        fail("the string is empty", "write irreps like '3x0e + 1x0o'")
    try:
        irreps = o3.Irreps(irreps)
    except Exception as exc:  # noqa: BLE001 - any parsing error is the learner's
        fail(f"e3nn cannot read {irreps!r} as irreps ({type(exc).__name__}: {exc})",
             "write irreps like '3x0e + 1x0o': multiplicity x l, then e (even) or o (odd)")
    if irreps.dim == 0:
        fail("these irreps have dimension 0: the model would output nothing")
    R = random_rotation(_gen(94), torch.float64)
    eye = torch.eye(irreps.dim, dtype=torch.float64)
    with torch.no_grad():
        D_rot = irreps.D_from_matrix(R)
        D_inv = irreps.D_from_matrix(-torch.eye(3, dtype=torch.float64))
    if not torch.allclose(D_rot, eye, atol=1e-6):
        moving = [str(ir) for _, ir in irreps if ir.l > 0]
        fail(f"'{irreps}' contains {', '.join(moving)}: these components change when the piece is rotated, "
             "so the answer would depend on the orientation", "keep only scalars (l = 0)")
    if torch.allclose(D_inv, eye):
        fail(f"inversion acts as the identity on '{irreps}': then f(mirror image) = f(rotated original) = "
             "f(original), and no model with this output can tell them apart", "you need a component that changes sign under inversion")
    n_odd = sum(mul for mul, ir in irreps if ir.p == -1)
    extra = "" if irreps.dim == 1 else f" ({n_odd} odd scalar(s) among {irreps.dim} numbers; the smallest answer is '0o')"
    return f"'{irreps}' is rotation-invariant and its 0o part flips sign under inversion{extra}"


# ----------------------------------------------------------------------------- q5
_Q5_COPIES = 128                      # per piece: 8 x 128 = 1024 test pieces, half of them reflected


def _gate_fed_wrong(model, pos: torch.Tensor) -> str | None:
    """Run ``model(pos)`` once and look at what feeds each ``nn.Gate``: the message when the module that ran just
    before a gate outputs irreps other than the gate's ``irreps_in`` (lesson 08's pitfall), else None."""
    names = {m: name for name, m in model.named_modules()}
    inside_gates = {m for g in names if isinstance(g, enn.Gate) for m in g.modules() if m is not g}
    events, handles = [], []
    for module in names:
        if isinstance(module, enn.Gate):
            handles.append(module.register_forward_pre_hook(lambda m, args: events.append(("gate", m))))
        elif hasattr(module, "irreps_out") and module not in inside_gates:
            handles.append(module.register_forward_hook(lambda m, args, out: events.append(("done", m))))
    try:
        with torch.no_grad():
            model(pos)
    except Exception:  # noqa: BLE001 - a model that fails here is judged by the checks, not by this diagnosis
        return None
    finally:
        for handle in handles:
            handle.remove()
    for k, (kind, gate) in enumerate(events):
        before = next((m for what, m in reversed(events[:k]) if what == "done"), None)
        if kind != "gate" or before is None:
            continue
        try:
            fed = o3.Irreps(before.irreps_out)
        except Exception:  # noqa: BLE001 - not e3nn irreps: nothing to compare
            continue
        if fed != gate.irreps_in:
            return (f"`{names[before] or 'model'}` outputs '{fed}', but the gate after it, `{names[gate]}`, takes "
                    f"irreps_in = '{gate.irreps_in}' (its scalars, then its gate scalars, then the gated irreps): "
                    "the gate reads each number as the wrong irrep")
    return None


def _q5_outputs(model, clouds, what: str) -> torch.Tensor:
    """``model(pos, batch=batch)`` on a (B, 4, 3) tensor of pieces, checked to be (B, 7)."""
    batch = batch_point_clouds(clouds)
    with torch.no_grad():
        out = call(model, batch.pos, batch=batch.batch, name="model(pos, batch=batch)")
    out = expect_tensor(out, f"model(pos, batch=batch) on {what}", finite=True)
    b, n = clouds.shape[0], clouds.shape[0] * clouds.shape[1]
    if out.dim() == 2 and out.shape == (n, 7):
        fail(f"on {what} your model returns one row per point, shape {tuple(out.shape)}, not one per piece ({b}, 7)",
             "pool at the end: scatter_sum(x, batch, int(batch.max()) + 1) sums the points of each piece")
    if out.dim() == 2 and out.shape[0] == 1 and b > 1:
        fail(f"on {what} your model returns a single row: it pools all {b} pieces together",
             "use the batch vector: in radius_graph(pos, 1.5, batch) and in scatter_sum(x, batch, num_pieces)")
    if out.dim() != 2 or out.shape[0] != b or out.shape[1] != 7:
        fail(f"on {what} your model returns shape {tuple(out.shape)}, expected ({b}, 7): one 0o + 6x0e label per piece",
             "the last convolution goes to '0o + 6x0e' (T.LABEL_IRREPS)")
    return out.to(torch.float32)


@exercise("build and train an equivariant tetris classifier", hints=[
    "Three PointConvolutions from e3teach.models: '0e' → gate 1 → gate 2 → '0o + 6x0e'. Each convolution's output "
    "irreps are the gate's irreps_in; the next convolution's input irreps are the gate's irreps_out.",
    "A 0o output needs a pseudovector (1e) or a 2o among the inputs of the last convolution: 1o ⊗ 1o contains 1e, "
    "so the second gate should gate some 1e (and 2o). Gate 1: nn.Gate('8x0e', [silu], '6x0e', [sigmoid], "
    "'4x1o + 2x2e'); gate 2: nn.Gate('8x0e', [silu], '12x0e', [sigmoid], '4x1o + 4x1e + 2x2e + 2x2o').",
    "forward: batch = zeros if None; edge_src, edge_dst = radius_graph(pos, 1.5, batch); x = pos.new_ones(len(pos), 1); "
    "x = gate1(conv1(x, pos, edge_src, edge_dst)); ...; return scatter_sum(x, batch, int(batch.max()) + 1). "
    "Train with the lesson's loop or train_tetris(train_set, model=model) until every training piece is right.",
])
def q5(build_and_train):
    """The returned model: outputs (B, 7) per piece, E(3)-equivariant, 100% on 1024 random rotations and reflections."""
    model = call(build_and_train, name="build_and_train")
    if not callable(model):
        fail(f"build_and_train() should return the trained model (a torch.nn.Module), got {type(model).__name__}",
             "end with `return model`")
    pieces = T.tetris()
    out = _q5_outputs(model, pieces.pos, "the 8 pieces")
    report = check_point_model(learner(lambda pos: model(pos), name="model(pos)"), pieces.pos[1],
                               irreps_out=T.LABEL_IRREPS, group="E3")
    if not report.ok:
        kinds = report.errors_by_kind()
        if (all("0o" in label for label in report.failing_irreps())
                and max(kinds.get("rotation", 0.0), kinds.get("translation", 0.0)) <= report.tolerance):
            fail("your first output does not change sign under inversion: it is an even scalar, not the 0o the "
                 "label needs (rotations and translations pass)",
                 "the last convolution must output '0o + 6x0e', with a pseudoscalar path (1e or 2o among its inputs)")
        wrong_gate = _gate_fed_wrong(model, pieces.pos[1])
        if wrong_gate:
            fail(wrong_gate, "build each convolution with irreps_out=gate.irreps_in (print(gate.irreps_in) to see it)")
        fail(f"your model is not E(3)-equivariant: {report.verdict()}",
             "use only e3nn pieces (PointConvolution, nn.Gate with odd activations on 0o), the edge vectors and "
             "pos.new_ones(...) as node input — never the raw coordinates")
    test = T.random_copies(pieces, _Q5_COPIES, reflections=True, seed=909)
    predicted = T.decode(_q5_outputs(model, test.pos, f"{len(test)} rotated and reflected pieces"))
    correct = predicted == test.shape
    accuracy = float(correct.float().mean())
    if accuracy < 1.0:
        wrong = [T.SHAPE_NAMES[k] for k in range(8) if not bool(correct[test.shape == k].all())]
        if bool((out[:, 0].abs() < 1e-6).all()):
            fail(f"accuracy {accuracy:.1%} on {len(test)} random rotations and reflections (wrong for "
                 f"{', '.join(wrong)}), and the 0o output is always 0: nothing before the last convolution can make a "
                 "pseudoscalar", "the second gate must output some 1e or 2o (1o ⊗ 1o contains 1e)")
        fail(f"accuracy {accuracy:.1%} on {len(test)} random rotations and reflections, not 100% (wrong for "
             f"{', '.join(wrong)})", "train longer: until the loss is below 1e-2 and every training piece is decoded "
             "correctly (train_tetris(train_set, model=model) does that)")
    return (f"outputs one 0o + 6x0e label per piece, equivariant under E(3) ({report.tolerance:.0e} tolerance), and "
            f"100% on {len(test)} random rotations and reflections of the 8 pieces drawn by the checker")
