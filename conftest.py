"""Test-suite setup.

Notebooks are collected by nbval (``--nbval-lax`` in pyproject.toml). A notebook's kernel is started
when its first cell is set up and inherits this process's environment, so we set
``E3TEACH_STRICT=1`` for notebooks in ``solutions/`` (a failing check raises there) and ``0``
elsewhere (exercise stubs must only print "not attempted yet"; unit tests set it themselves).
"""
import os
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")
os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    path = Path(str(item.fspath))
    strict = path.suffix == ".ipynb" and path.parent.name == "solutions"
    os.environ["E3TEACH_STRICT"] = "1" if strict else "0"   # unit tests start non-strict too
