"""Notebook setup (seeding, renderers, threads) and the environment report of lesson 00."""
from __future__ import annotations

import importlib
import os
import platform
import random
import sys
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import torch

__all__ = ["COURSE_PACKAGES", "seed_everything", "default_dtype", "setup_notebook",
           "PLOTLY_RENDERER", "EnvironmentReport", "doctor"]

#: Packages the course depends on, in the order the report lists them.
COURSE_PACKAGES = ("torch", "e3nn", "numpy", "matplotlib", "plotly", "ipywidgets", "jupyterlab")


def seed_everything(seed: int = 0) -> None:
    """Seed Python's, NumPy's and PyTorch's random generators with ``seed``."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


@contextmanager
def default_dtype(dtype: torch.dtype):
    """Temporarily set torch's default dtype, e.g. ``with default_dtype(torch.float64): ...``.

    Worth knowing: parts of e3nn create intermediate tensors in the *default* dtype. For example
    ``Irreps.D_from_matrix(R)`` with a float64 ``R`` is only float32-accurate (~1e-7) while the
    default dtype is float32. Float64 checks therefore run inside this context.
    """
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        yield
    finally:
        torch.set_default_dtype(previous)


def setup_notebook(seed: int = 0, *, threads: int | None = 1, dtype: torch.dtype = torch.float32,
                   device: str | None = None) -> torch.device:
    """The one call at the top of every lesson.

    - seeds Python, NumPy and PyTorch with ``seed``;
    - sets ``torch.set_num_threads(threads)`` (1 by default): reductions then add numbers in the
      same order on every machine, so results do not depend on how many cores you have, and the
      small models of the course run no slower (they are too small to profit from threads);
    - sets the default float dtype (float32 by default; equivariance checks use float64 themselves);
    - makes plotly render through its mimetype renderer: the figure is stored as JSON in the
      notebook and drawn by JupyterLab, without inlining plotly.js (keeps notebooks small);
    - returns the ``device`` to use: ``"cpu"`` unless you ask for another one explicitly.
    """
    seed_everything(seed)
    if threads is not None:
        torch.set_num_threads(threads)
    torch.set_default_dtype(dtype)
    _set_plotly_renderer()
    _set_matplotlib_defaults()
    return torch.device(device or "cpu")


PLOTLY_RENDERER = "plotly_mimetype"


def _set_plotly_renderer() -> None:
    """Make plotly draw through its mimetype renderer (no inlined plotly.js).

    Setting ``plotly.io.renderers.default`` loads plotly's renderer machinery, and with it nbformat and
    jsonschema: about 3 s per kernel. A notebook that never draws a plotly figure need not pay that, so
    we set the ``PLOTLY_RENDERER`` environment variable, which plotly reads when it first renders —
    unless its renderers are loaded already, then we set the default directly.
    """
    os.environ["PLOTLY_RENDERER"] = PLOTLY_RENDERER
    if "plotly.io._renderers" in sys.modules:
        import plotly.io as pio

        pio.renderers.default = PLOTLY_RENDERER


def _set_matplotlib_defaults() -> None:
    try:
        import matplotlib
    except ImportError:  # pragma: no cover
        return
    matplotlib.rcParams.update({"figure.dpi": 80, "savefig.dpi": 80, "figure.figsize": (6.0, 3.6)})


def _version(name: str) -> str | None:
    try:
        module = importlib.import_module(name)
    except Exception:
        return None
    return getattr(module, "__version__", "unknown")


@dataclass
class EnvironmentReport:
    """What :func:`doctor` found: versions, hardware, and whether the interactive parts will render."""

    python: str
    platform: str
    versions: dict = field(default_factory=dict)
    cuda: str = "not available"
    threads: int = 1
    plotly_renderer: str = ""
    widgets_frontend: str = ""
    problems: list = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def _rows(self):
        yield "python", self.python
        yield "platform", self.platform
        for name, ver in self.versions.items():
            yield name, ver or "MISSING"
        yield "GPU (CUDA)", self.cuda
        yield "torch threads", str(self.threads)
        yield "plotly renderer", self.plotly_renderer
        yield "widgets", self.widgets_frontend

    def __str__(self) -> str:
        width = max(len(k) for k, _ in self._rows())
        lines = [f"{k:<{width}}  {v}" for k, v in self._rows()]
        verdict = "✅ environment ready" if self.ok else "❌ " + "; ".join(self.problems)
        return "\n".join(lines + [verdict])

    __repr__ = __str__

    def _repr_html_(self) -> str:
        import html
        rows = "".join(f"<tr><td>{html.escape(k)}</td><td><code>{html.escape(str(v))}</code></td></tr>"
                       for k, v in self._rows())
        verdict = "✅ environment ready" if self.ok else "❌ " + html.escape("; ".join(self.problems))
        return f"<table>{rows}</table><p><b>{verdict}</b></p>"


def doctor() -> EnvironmentReport:
    """Check the environment the course needs and say what is missing and how to fix it."""
    versions = {name: _version(name) for name in COURSE_PACKAGES}
    problems = [f"{name} is not installed (pip install -e '.[test]' from the course folder)"
                for name, ver in versions.items() if ver is None and name != "jupyterlab"]
    e3nn_version = versions.get("e3nn") or ""
    if e3nn_version and not e3nn_version.startswith("0.6"):
        problems.append(f"e3nn {e3nn_version} found, the course is written for e3nn 0.6")
    if sys.version_info < (3, 10):
        problems.append("Python 3.10 or newer is needed")
    cuda = "not available (CPU is all the course needs)"
    if torch.cuda.is_available():
        cuda = f"{torch.cuda.device_count()} × {torch.cuda.get_device_name(0)}"
    try:
        import plotly.io as pio
        renderer = str(pio.renderers.default)
    except Exception:
        renderer = "plotly missing"
    widgets = _widgets_frontend()
    return EnvironmentReport(
        python=platform.python_version(), platform=f"{platform.system()} {platform.machine()}",
        versions=versions, cuda=cuda, threads=torch.get_num_threads(), plotly_renderer=renderer,
        widgets_frontend=widgets, problems=problems)


def _widgets_frontend() -> str:
    """Whether ipywidgets can render: needs ipywidgets in the kernel and a frontend (JupyterLab 4 ships it)."""
    if _version("ipywidgets") is None:
        return "ipywidgets missing: sliders will not appear"
    try:
        from IPython import get_ipython
        shell = get_ipython()
    except Exception:
        shell = None
    if shell is None:
        where = "no notebook kernel (plain Python): widgets need JupyterLab"
    elif os.environ.get("JPY_SESSION_NAME") or "ipykernel" in sys.modules:
        where = "kernel ready; JupyterLab ≥ 4 draws them (a static picture stands beside each)"
    else:
        where = "IPython without a notebook frontend"
    return where
