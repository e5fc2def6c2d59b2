"""The ``>>>`` examples in e3teach's docstrings run, so they cannot go stale.

One test per module (``doctest.testmod``), instead of ``--doctest-modules`` in pyproject.toml: the suite's
options (xdist, nbval) stay as they are, and a module whose optional dependency is missing is skipped
with its reason. ``__main__`` modules are left out: importing one would run a command line.
"""
import doctest
import importlib
import pkgutil

import pytest

import e3teach

MODULES = sorted(m.name for m in pkgutil.walk_packages(e3teach.__path__, "e3teach.")
                 if not m.name.endswith("__main__"))


@pytest.mark.parametrize("name", ["e3teach"] + MODULES)
def test_docstring_examples_run(name):
    try:
        module = importlib.import_module(name)
    except ImportError as exc:                      # an optional dependency (e.g. a site or browser tool)
        pytest.skip(f"{name} needs {exc.name}: {exc}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} docstring examples of {name} failed (above)"


def test_the_examples_are_found():
    """The modules with examples are collected (a renamed module would otherwise pass silently)."""
    assert {"e3teach.roundoff", "e3teach.tensor_products"} <= set(MODULES)
    assert doctest.testmod(importlib.import_module("e3teach.roundoff")).attempted >= 3
