"""Checker used in lesson 00 to show how every exercise of the course is checked."""
import torch

from .core import call, exercise, expect_close, expect_tensor

__all__ = ["q0"]


@exercise("the length of each vector", hints=[
    "Each row of `vectors` is one 3D vector; you want one number per row.",
    "torch.linalg.norm(vectors, dim=1) — or (vectors ** 2).sum(dim=1).sqrt()",
])
def q0(lengths):
    """Check a function mapping (N, 3) vectors to their (N,) lengths."""
    vectors = torch.tensor([[3.0, 4.0, 0.0], [0.0, 0.0, -2.0], [1.0, 2.0, 2.0]], dtype=torch.float64)
    out = expect_tensor(call(lengths, vectors, name="lengths(vectors)"), "lengths(vectors)", shape=(3,))
    expect_close(out, torch.tensor([5.0, 2.0, 3.0], dtype=torch.float64), "lengths(vectors)",
                 hint="a length is never negative: square, sum over the 3 components, then take the square root")
    return "5, 2 and 3 for (3,4,0), (0,0,-2) and (1,2,2)"
