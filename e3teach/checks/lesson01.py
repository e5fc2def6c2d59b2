"""Checkers for lesson 01 · Why symmetry (``solutions/01_why_symmetry.ipynb``).

- :data:`q1`: ``rotate_copies(pos, rotations)``: K rotated copies of a row-stacked point cloud.
- :data:`q2`: ``descriptor(pos)``: an E(3)-invariant descriptor that still tells shapes apart,
  and is, necessarily, blind to chirality.
- :data:`q3`: ``equivariance_error(f, pos, R)``: the definition of equivariance, by hand.
- :data:`q4`: ``best_invariant_accuracy``: the best accuracy an invariant model can reach on tetris.

Each checker tests behaviour on random inputs (float64, a fixed seed), never the source text.
"""
from __future__ import annotations

import torch

from ..data.tetris import SHAPE_NAMES, tetris
from ..equivariance import random_rotation
from .core import as_number, call, exercise, expect_close, expect_tensor, fail, show

__all__ = ["q1", "q2", "q3", "q4"]


def _rotations(k: int, seed: int) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.stack([random_rotation(gen, torch.float64) for _ in range(k)])


def _cloud(n: int, seed: int) -> torch.Tensor:
    return torch.randn(n, 3, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


# --------------------------------------------------------------------------------------------- q1
@exercise("rotated copies of a point cloud", hints=[
    "Each row of `pos` is a point r_i. The rotated point is R r_i, and as a row that is r_i^T R^T.",
    "For one rotation: `pos @ R.T`. For K of them, transpose the last two axes of the (K, 3, 3) stack.",
    "`pos @ rotations.transpose(1, 2)` broadcasts (n, 3) against (K, 3, 3) and gives (K, n, 3); "
    "`torch.einsum('kij,nj->kni', rotations, pos)` is the same.",
])
def q1(rotate_copies):
    """``rotate_copies(pos, rotations)`` with pos (n, 3), rotations (K, 3, 3) → (K, n, 3), ``out[k] = pos @ rotations[k].T``."""
    pos, rotations = _cloud(5, 11), _rotations(4, 12)
    pos_before = pos.clone()
    out = expect_tensor(call(rotate_copies, pos, rotations, name="rotate_copies"), "rotate_copies(pos, rotations)")
    if tuple(out.shape) == (5, 4, 3):
        fail("`rotate_copies(pos, rotations)` has shape (n, K, 3) = (5, 4, 3); expected (K, n, 3) = (4, 5, 3): "
             "one rotated cloud per rotation", "put the rotation index first")
    out = expect_tensor(out, "rotate_copies(pos, rotations)", shape=(4, 5, 3))
    if not torch.equal(pos, pos_before):
        fail("rotate_copies changed `pos` in place", "compute a new tensor; don't assign into pos")
    expected = torch.einsum("kij,nj->kni", rotations, pos)
    out64 = out.to(torch.float64)
    if torch.allclose(out64, torch.einsum("kji,nj->kni", rotations, pos), atol=1e-8):
        fail("you rotated by Rᵀ, the inverse rotation, instead of R",
             "rows are points: the rotated cloud is pos @ R.T, not pos @ R")
    if torch.allclose(out64, expected[0].expand(4, 5, 3), atol=1e-8):
        fail("every copy was rotated by the first rotation only", "use rotations[k] for copy k")
    expect_close(out, expected, "rotate_copies(pos, rotations)", atol=1e-8,
                 hint="copy k should be pos @ rotations[k].T")
    one = expect_tensor(call(rotate_copies, pos, rotations[:1], name="rotate_copies"),
                        "rotate_copies(pos, rotations[:1])", shape=(1, 5, 3))
    expect_close(one, expected[:1], "rotate_copies(pos, rotations[:1])", atol=1e-8,
                 hint="it should also work for K = 1")
    return "copy k equals pos @ R[k].T for 4 random rotations (and K = 1); pos is left untouched"


# --------------------------------------------------------------------------------------------- q2
def _transformations(seed: int):
    """(label, matrix, translation) for rotations, the inversion, improper rotations, with translations."""
    gen = torch.Generator().manual_seed(seed)
    eye = torch.eye(3, dtype=torch.float64)
    out = []
    for k in range(2):
        out.append(("a rotation", random_rotation(gen, torch.float64), torch.zeros(3, dtype=torch.float64)))
    out.append(("the inversion", -eye, torch.zeros(3, dtype=torch.float64)))
    out.append(("a mirror (improper rotation)", -random_rotation(gen, torch.float64), torch.zeros(3, dtype=torch.float64)))
    out.append(("a translation", eye, 2.0 * torch.randn(3, generator=gen, dtype=torch.float64)))
    out.append(("a rotation + translation", random_rotation(gen, torch.float64),
                2.0 * torch.randn(3, generator=gen, dtype=torch.float64)))
    return out


def _descriptor_of(descriptor, pos, what):
    d = call(descriptor, pos, name="descriptor")
    if isinstance(d, (int, float)) and not isinstance(d, bool):
        d = torch.tensor([float(d)], dtype=torch.float64)          # one summary number is a 1-number descriptor
    if isinstance(d, (list, tuple)):
        try:
            d = torch.as_tensor(d, dtype=torch.float64)
        except (TypeError, ValueError, RuntimeError):
            fail(f"descriptor({what}) returned a {type(d).__name__} that is not a list of numbers",
                 "return a 1D torch tensor of numbers")
    d = expect_tensor(d, f"descriptor({what})")
    if d.dim() == 0:
        d = d.reshape(1)
    if d.dim() != 1:
        fail(f"`descriptor({what})` has shape {tuple(d.shape)}; it should be a 1D tensor of numbers",
             "flatten it, e.g. with .reshape(-1), after making it invariant")
    if not d.dtype.is_floating_point:
        d = d.to(torch.float64)
    return d


@exercise("an invariant descriptor of a point cloud", hints=[
    "Rotations, reflections and translations all preserve the distances between points.",
    "Compute all pairwise distances |r_i - r_j| (i < j) and sort them, so that the order of the points does not matter.",
    "`i, j = torch.triu_indices(n, n, offset=1)`, then `(pos[i] - pos[j]).norm(dim=1).sort().values`.",
])
def q2(descriptor):
    """``descriptor(pos)`` (n, 3) → 1D tensor: invariant under E(3), and different for the 7 shapes that differ by more than a mirror."""
    clouds = [("a random 6-point cloud", _cloud(6, 21))]
    pieces = tetris(torch.float64)
    clouds += [(f"the {SHAPE_NAMES[k]} piece", pieces.pos[k]) for k in (0, 3, 7)]
    for what, pos in clouds:
        reference = _descriptor_of(descriptor, pos, what)
        scale = max(1.0, float(reference.abs().max()) if reference.numel() else 1.0)
        tol = (1e-8 if reference.dtype == torch.float64 else 1e-4) * scale
        for label, matrix, shift in _transformations(31):
            moved = _descriptor_of(descriptor, pos @ matrix.T + shift, f"transformed {what}")
            if moved.shape != reference.shape:
                fail(f"the descriptor of {what} has {reference.numel()} numbers, but {moved.numel()} after {label}",
                     "the length must not depend on the orientation")
            err = float((moved.to(torch.float64) - reference.to(torch.float64)).abs().max()) if moved.numel() else 0.0
            if not err <= tol:
                fail(f"the descriptor of {what} changes by {err:.2g} under {label}: it is not invariant",
                     "use quantities that " + ("do not depend on where the cloud is (differences of positions)"
                                               if "translation" in label else "every rotation and mirror preserves, like distances"))
    achiral = [0] + list(range(2, 8))                 # one of the chiral pair, and the six others
    descs = {k: _descriptor_of(descriptor, pieces.pos[k], f"the {SHAPE_NAMES[k]} piece").to(torch.float64) for k in range(8)}
    for a in achiral:
        for b in achiral:
            if a < b and descs[a].shape == descs[b].shape and torch.allclose(descs[a], descs[b], atol=1e-6):
                fail(f"the descriptor is the same for {SHAPE_NAMES[a]} and {SHAPE_NAMES[b]}: it is invariant but "
                     "cannot tell these different shapes apart (a constant is invariant too!)",
                     "keep more information: all the pairwise distances, not only a summary of them")
    same = descs[0].shape == descs[1].shape and torch.allclose(descs[0], descs[1], atol=1e-6)
    if not same:
        fail("the descriptor differs between chiral_shape_1 and chiral_shape_2, which are mirror images: "
             "it cannot be invariant under reflections", "check it under pos @ (-R).T as well")
    if descs[2].numel() == 1:
        return ("one number, invariant under rotations, reflections and translations (to 1e-8), that separates the "
                "7 shapes — enough here, but one summary number cannot tell every pair of clouds apart: the sorted "
                "distances keep more. As it must, it gives chiral_shape_1 and chiral_shape_2 the same value")
    return ("invariant under rotations, reflections and translations (to 1e-8), separates the 7 shapes — "
            "and, as it must, gives chiral_shape_1 and chiral_shape_2 the same value")


# --------------------------------------------------------------------------------------------- q3
def _reference_error(f, pos, R) -> float:
    return float((f(pos @ R.T) - f(pos) @ R.T).abs().max())


def _centred(pos):
    return pos - pos.mean(dim=0)


def _cubed(pos):
    return pos ** 3


def _minus_cubed(pos):
    return -pos ** 3


_SKEW = torch.tensor([[1.0, 0.5, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 2.0]], dtype=torch.float64)


def _sheared(pos):
    return pos @ _SKEW.T


def _as_number(value, what):
    if isinstance(value, torch.Tensor) and value.numel() != 1:
        fail(f"`{what}` returned a tensor of shape {tuple(value.shape)}; it should return one number, "
             "the largest deviation", "reduce with .abs().max()")
    return as_number(value, what, hint="return float(...) of the largest absolute deviation, one number")


@exercise("the equivariance error, by hand", hints=[
    "Compare two things: apply f to the rotated cloud, and rotate the output of f on the original cloud.",
    "Both are row-stacked: the rotated cloud is pos @ R.T, the rotated output is f(pos) @ R.T.",
    "`(f(pos @ R.T) - f(pos) @ R.T).abs().max()`, returned as a float.",
])
def q3(equivariance_error):
    """``equivariance_error(f, pos, R)`` → max |f(pos Rᵀ) − f(pos) Rᵀ| for f mapping (n, 3) → (n, 3)."""
    pos, R = _cloud(7, 41), _rotations(1, 42)[0]
    results = {}
    functions = (("centred", _centred), ("cubed", _cubed), ("minus_cubed", _minus_cubed), ("sheared", _sheared))
    for name, f in functions:
        results[name] = _as_number(call(equivariance_error, f, pos, R, name="equivariance_error"),
                                   f"equivariance_error({name}, pos, R)")
    if results["centred"] > 1e-10:
        if abs(results["centred"] - float((_centred(pos @ R.T) - _centred(pos) @ R).abs().max())) < 1e-8:
            fail("the error is not 0 for centred(pos) = pos - centroid, which is equivariant: you rotated one side "
                 "by R and the other by Rᵀ", "rotate both the input and the output as x @ R.T")
        fail(f"the error is {results['centred']:.2g} for centred(pos) = pos - centroid, which is equivariant: it should be ~0",
             "compare f(pos @ R.T) with f(pos) @ R.T")
    for name, f in functions[1:]:
        expected = _reference_error(f, pos, R)
        got = results[name]
        if abs(got - expected) > 1e-6 * max(1.0, expected):      # 1e-6: a float32 result is fine
            if abs(got - _reference_error(f, pos, R.T)) < 1e-8 * max(1.0, expected):
                fail(f"for {name}(pos) you tested the inverse rotation: x @ R on both sides instead of x @ R.T",
                     "the course's convention: the rotated cloud is pos @ R.T and the rotated output f(pos) @ R.T")
            diff = (f(pos @ R.T) - f(pos) @ R.T)
            if abs(got - float(diff.abs().mean())) < 1e-8 * max(1.0, expected):
                fail(f"for {name}(pos) you returned the mean deviation; the error is the largest one", "use .max(), not .mean()")
            if abs(got - float(diff.max())) < 1e-8 * max(1.0, expected):
                fail(f"for {name}(pos) you returned the largest signed difference; take absolute values first", "use .abs().max()")
            got_text, expected_text = show(got, expected)
            fail(f"for {name}(pos) your error is {got_text}, expected {expected_text}",
                 "the error is max |f(pos @ R.T) - f(pos) @ R.T| over all entries")
    return ("≈ 0 for the equivariant centred(pos), and the right non-zero value for ±pos**3 and for a shear "
            "(neither is equivariant)")


# --------------------------------------------------------------------------------------------- q4
@exercise("the best accuracy of an invariant model on tetris", hints=[
    "An O(3)-invariant model gives a shape and its mirror image exactly the same output.",
    "Which of the 8 shapes can it always get right? What happens to the two chiral shapes when both "
    "appear equally often in the test set?",
    "It can learn the six achiral shapes perfectly; for the chiral pair it must predict the same class for both, "
    "so it gets one of the two right: (6 + 1) / 8.",
])
def q4(best_invariant_accuracy):
    """``best_invariant_accuracy``: the highest accuracy (a fraction) an O(3)-invariant model can reach on the 8 balanced tetris classes."""
    value = as_number(best_invariant_accuracy, "best_invariant_accuracy",
                      hint="give one number, a fraction between 0 and 1, for example 3 / 8")
    if 1.0 < value <= 100.0:
        if abs(value - 87.5) < 1e-3:
            fail("87.5 looks right but is a percentage; give it as a fraction between 0 and 1", "7 / 8")
        fail(f"`best_invariant_accuracy` is {value:g}: give a fraction between 0 and 1, not a percentage")
    if abs(value - 7 / 8) < 1e-3:
        return "7/8 = 0.875: six achiral shapes always right, one of the two mirror images right, never both"
    if abs(value - 1.0) < 1e-3:
        fail("an invariant model gives chiral_shape_1 and its mirror image the same output, so it cannot get both right",
             "how many of the two chiral shapes can it classify correctly at once?")
    if abs(value - 0.5) < 1e-3:
        fail("50% is its best accuracy on the chiral pair alone; the six other shapes can all be right",
             "count over all 8 shapes")
    if abs(value - 0.75) < 1e-3:
        fail("it can still get one of the two chiral shapes right (it predicts that class for both)",
             "(6 + ?) / 8")
    if abs(value - 0.125) < 1e-3:
        fail("1/8 is chance level: an invariant model can learn far more than that", "only the chiral pair is a problem")
    fail(f"{value:g} is not the best accuracy an invariant model can reach on the 8 shapes",
         "which shapes can it always classify, and how many of the chiral pair?")
