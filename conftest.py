"""Test-suite setup.

Notebooks are collected by nbval (``--nbval-lax`` in pyproject.toml). A notebook's kernel is started
when its first cell is set up, with this process's environment as it was at start-up
(``NOTEBOOK_ENVIRONMENT``: unit tests run before may have left variables behind) and
``E3TEACH_STRICT=1`` for notebooks in ``solutions/`` (a failing check raises there) or ``0``
elsewhere (exercise stubs must only print "not attempted yet"; unit tests set it themselves).
Unit tests run with one torch thread per worker.

Kernels: each notebook gets a new kernel process, forked from a template that has already imported torch
and e3nn (``tests/preloaded_kernel.py``), which saves about 3 CPU-seconds per notebook; the notebook's
namespace is as fresh as ever. ``E3TEACH_FRESH_KERNELS=1`` starts ordinary kernels instead, as CI's second
pass does; on a system other than Linux they are the only kind.

Workers: three on a two-core machine (``-n 3``). The JupyterLab browser test keeps about one core busy
(170 CPU-s in 165 s alone, Chromium's software WebGL included); a third worker runs notebooks meanwhile
(the whole run: 584 s with two workers, 514 s with three, on 6 December 2026; on 7 December, on a faster
machine, 449 s with ordinary kernels and 370-390 s with forked ones; later that day, with scipy, nbformat and
matplotlib in the template and the Lab's kernels forked too, 362-390 s, mostly Chromium and training; on 7
December, with lesson 04's harmonics drawn as one surface, 317 s: 628 CPU-s, of which notebook kernels 232,
pytest's own processes 175, Chromium 135).

Order: pytest-xdist (``-n 3 --dist loadfile --no-loadscope-reorder``) hands whole files to the workers
in collection order, so we collect the longest files first (``LONGEST_FIRST``, measured with
``pytest --durations=0``), then the notebooks, then the unit tests, many and short, which fill the gaps
at the end. (xdist's default reorders files by their number of tests, which put the browser tests and
the learning-curve study — few tests, minutes each — last, on one worker, while the other sat idle.)
"""
import os
import shutil
import sys
import tempfile
from pathlib import Path

import matplotlib
import pytest
import torch

matplotlib.use("Agg")
os.environ.setdefault("MPLBACKEND", "Agg")
# pytest-xdist runs three workers on a two-core machine: one torch thread each, as the notebooks use
# (``setup_notebook(threads=1)``), instead of workers fighting over each other's threads.
torch.set_num_threads(1)
# Checkers record learners' verdicts (e3teach.progress) under the home folder; the tests never touch it, but
# a folder of their own, removed at the end (pytest_unconfigure).
PROGRESS_FOLDER = Path(tempfile.mkdtemp(prefix="e3teach-test-"))
os.environ["E3TEACH_PROGRESS"] = str(PROGRESS_FOLDER / "progress.json")
#: the environment every notebook's kernel starts with: this process's own at start-up. Unit tests may leave
#: variables behind (PyTorch Lightning's ``PL_GLOBAL_SEED``, ...); a notebook never sees them.
NOTEBOOK_ENVIRONMENT = dict(os.environ)


ROOT = Path(__file__).resolve().parent
#: the test files that take longest (CPU-seconds on 2 cores, measured with ``pytest --durations=0``), longest
#: first; keep the list short: only files that would otherwise end the run alone
LONGEST_FIRST = (
    "tests/test_browser_lab.py",          # JupyterLab + Chromium drawing two lessons
    "tests/test_studies.py",              # a reduced learning-curve study
    "lessons/14_energies_and_forces.ipynb",
    "tests/test_site.py",                 # the website, built and opened in Chromium
    "tests/test_locator.py",
    "lessons/18_from_the_course_to_nequip.ipynb",
    "tests/test_scale.py",                # data-parallel training in two processes
    "lessons/01_why_symmetry.ipynb",
    "lessons/19_debugging_equivariance.ipynb",
    "lessons/16_performance_and_scale.ipynb",
    "tests/test_graph_models_training.py",
    "lessons/14b_potentials_in_practice.ipynb",
)


def _schedule_rank(item) -> tuple[int, int]:
    try:
        path = Path(str(item.fspath)).resolve().relative_to(ROOT).as_posix()
    except ValueError:
        return (3, 0)
    if path in LONGEST_FIRST:
        return (0, LONGEST_FIRST.index(path))
    return (1, 0) if path.endswith(".ipynb") else (2, 0)


def pytest_collection_modifyitems(config, items):
    """Longest files first, then notebooks, then unit tests (a stable sort: cells keep their order)."""
    items.sort(key=_schedule_rank)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    path = Path(str(item.fspath))
    if path.suffix == ".ipynb":
        os.environ.clear()
        os.environ.update(NOTEBOOK_ENVIRONMENT)
    strict = path.suffix == ".ipynb" and path.parent.name == "solutions"
    os.environ["E3TEACH_STRICT"] = "1" if strict else "0"   # unit tests start non-strict too


def _start_kernel_with_retries(attempts: int = 3):
    """Make nbval start a notebook's kernel up to ``attempts`` times before it gives up.

    Two xdist workers start kernels at the same moment; now and then one start never answers (jupyter_client
    picks free TCP ports per process, and two processes can pick the same one), and nbval would fail every
    cell of that notebook with "Kernel didn't respond in 60 seconds". A kernel that cannot start three times
    in a row still fails the notebook, with the last error.
    """
    import nbval.plugin

    started = nbval.plugin.RunningKernel

    class RunningKernelWithRetries(started):
        def __init__(self, *args, **kwargs):
            for attempt in range(1, attempts + 1):
                try:
                    super().__init__(*args, **kwargs)
                    return
                except RuntimeError as error:
                    if getattr(self, "km", None) is not None:   # started, but its IOPub never came up
                        self.km.shutdown_kernel(now=True)
                    if attempt == attempts:
                        raise
                    print(f"\nnotebook kernel start {attempt} of {attempts} failed ({error}); trying again")

    nbval.plugin.RunningKernel = RunningKernelWithRetries


_start_kernel_with_retries()


class _KernelTemplate:
    """This worker's template (``preloaded_kernel.Template``), started with the first notebook."""

    template = None

    @classmethod
    def kernel_argv(cls) -> list[str]:
        if cls.template is None:
            cls.template = preloaded_kernel.Template(NOTEBOOK_ENVIRONMENT, cwd=ROOT)
            NOTEBOOK_ENVIRONMENT[preloaded_kernel.TEMPLATE_ENV] = cls.template.variable
            os.environ[preloaded_kernel.TEMPLATE_ENV] = cls.template.variable
        return preloaded_kernel.KERNEL_ARGV

    @classmethod
    def stop(cls) -> None:
        if cls.template is not None:
            cls.template.stop()
            cls.template = None


def _fork_notebook_kernels_from_template() -> None:
    """Make nbval's kernels (``--nbval-current-env``) come from ``_KernelTemplate``."""
    import nbval.kernel

    spec_manager = nbval.kernel.NbvalKernelspecManager
    get_kernel_spec = spec_manager.get_kernel_spec

    def get_preloaded_kernel_spec(self, kernel_name):
        spec = get_kernel_spec(self, kernel_name)
        if kernel_name == nbval.kernel.CURRENT_ENV_KERNEL_NAME:
            spec.argv = _KernelTemplate.kernel_argv()
        return spec

    spec_manager.get_kernel_spec = get_preloaded_kernel_spec


sys.path.insert(0, str(ROOT / "tests"))
import preloaded_kernel  # noqa: E402 - a file of the test suite, not a package

if preloaded_kernel.wanted():
    _fork_notebook_kernels_from_template()


def pytest_unconfigure(config):
    _KernelTemplate.stop()
    shutil.rmtree(PROGRESS_FOLDER, ignore_errors=True)
