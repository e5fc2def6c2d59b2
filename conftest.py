"""Test-suite setup.

Notebooks are collected by nbval (``--nbval-lax`` in pyproject.toml). A notebook's kernel is started
when its first cell is set up and inherits this process's environment, so we set
``E3TEACH_STRICT=1`` for notebooks in ``solutions/`` (a failing check raises there) and ``0``
elsewhere (exercise stubs must only print "not attempted yet"; unit tests set it themselves).
Unit tests run with one torch thread per worker.
"""
import os
import tempfile
from pathlib import Path

import matplotlib
import pytest
import torch

matplotlib.use("Agg")
os.environ.setdefault("MPLBACKEND", "Agg")
# pytest-xdist runs two workers on a two-core machine: one torch thread each, as the notebooks use
# (``setup_notebook(threads=1)``), instead of two workers fighting over four threads.
torch.set_num_threads(1)
# Checkers record learners' verdicts (e3teach.progress) under the home folder; the tests never touch it.
os.environ["E3TEACH_PROGRESS"] = str(Path(tempfile.mkdtemp(prefix="e3teach-test-")) / "progress.json")


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    path = Path(str(item.fspath))
    strict = path.suffix == ".ipynb" and path.parent.name == "solutions"
    os.environ["E3TEACH_STRICT"] = "1" if strict else "0"   # unit tests start non-strict too
