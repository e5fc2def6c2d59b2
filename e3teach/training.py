"""Training loops shared by lessons (tetris appears in lessons 01 and 09 and in the tests)."""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import torch

from .data import tetris as tetris_data
from .graph import batch_point_clouds
from .models import EquivariantPointNet


__all__ = ["TrainingRun", "fit_lbfgs", "predict_tetris", "tetris_accuracy", "train_tetris"]


@dataclass
class TrainingRun:
    """What a training run did: the model, the loss per step and the seconds it took.

    ``reached_goal`` is ``True``/``False`` for a run that stops at a goal (:func:`train_tetris`) and
    ``None`` for one that runs to the end of a budget (:func:`e3teach.potentials.full_batch_adam`).
    ``print(run)`` gives steps and first → last loss; seconds are left out of that text, as they vary
    from machine to machine.
    """

    model: torch.nn.Module
    losses: list = field(default_factory=list)
    seconds: float = 0.0
    reached_goal: bool | None = None

    @property
    def steps(self) -> int:
        """Optimizer steps taken: one loss per step."""
        return len(self.losses)

    def __str__(self) -> str:
        if not self.losses:
            return f"{type(self.model).__name__}: no training step yet"
        goal = {True: "; goal reached", False: "; goal not reached", None: ""}[self.reached_goal]
        return (f"{type(self.model).__name__}: {self.steps} steps, loss {self.losses[0]:.3g} → "
                f"{self.losses[-1]:.3g}{goal}")


def fit_lbfgs(model: torch.nn.Module, loss_fn, iterations: int = 150) -> float:
    r"""Minimize ``loss_fn()`` (a full-batch loss of ``model``) with L-BFGS; return the final loss.

    For a tiny, smooth, full-batch problem (lesson 13's one-layer tensor field networks) a quasi-Newton
    method converges in seconds where Adam needs thousands of steps: L-BFGS builds an approximation of
    the inverse Hessian from the last ``history_size`` = 50 gradient differences and steps along
    :math:`-H^{-1}\nabla L`, with a strong-Wolfe line search, for at most ``iterations`` iterations.
    """
    opt = torch.optim.LBFGS(model.parameters(), max_iter=iterations, history_size=50,
                            line_search_fn="strong_wolfe", tolerance_grad=1e-12, tolerance_change=1e-15)

    def closure():
        opt.zero_grad()
        loss = loss_fn()
        loss.backward()
        return loss

    opt.step(closure)
    return float(loss_fn().detach())


def predict_tetris(model: torch.nn.Module, pieces: tetris_data.TetrisSet) -> torch.Tensor:
    """Run ``model`` on a batch of pieces and return its ``0o + 6x0e`` outputs, shape (B, 7)."""
    batch = batch_point_clouds(pieces.pos)
    return model(batch.pos, batch=batch.batch)


def tetris_accuracy(model: torch.nn.Module, pieces: tetris_data.TetrisSet) -> float:
    """Fraction of pieces whose nearest label vector is their true shape."""
    with torch.no_grad():
        predicted = tetris_data.decode(predict_tetris(model, pieces))
    return float((predicted == pieces.shape).float().mean())


def train_tetris(train: tetris_data.TetrisSet, *, seed: int = 0, max_steps: int = 500, lr: float = 1e-2,
                 loss_goal: float = 0.01, model: torch.nn.Module | None = None, **model_kwargs) -> TrainingRun:
    """Train an :class:`~e3teach.models.EquivariantPointNet` to the ``0o + 6x0e`` labels of ``train`` (mean squared error).

    Stops when every training piece is classified correctly *and* the loss is below ``loss_goal``,
    or after ``max_steps`` full-batch Adam steps.
    """
    torch.manual_seed(seed)
    model = model if model is not None else EquivariantPointNet(tetris_data.LABEL_IRREPS, **model_kwargs)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    batch = batch_point_clouds(train.pos)
    run = TrainingRun(model, reached_goal=False)
    start = time.perf_counter()
    for _ in range(max_steps):
        out = model(batch.pos, batch=batch.batch)
        loss = (out - train.label).pow(2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        run.losses.append(float(loss.detach()))
        if float(loss.detach()) < loss_goal and bool((tetris_data.decode(out.detach()) == train.shape).all()):
            run.reached_goal = True
            break
    run.seconds = time.perf_counter() - start
    return run
