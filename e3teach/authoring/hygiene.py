"""Committed notebooks: executing them in a fresh kernel, cleaning volatile metadata, and the hygiene rules
of AUTHORING.md (size, no stored errors or widget state, executed top to bottom, no ``pip install``)."""
from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

import nbformat

from ..checks.core import STRICT_ENV
from .course import colab_install_source

__all__ = [
    "ROOT_FOLDERS", "SIZE_LIMIT", "HTML_LIMIT", "KERNELSPEC", "render", "clean", "execute",
    "installs_packages", "hygiene_problems", "notebooks",
]

ROOT_FOLDERS = ("lessons", "solutions", "exercises")
SIZE_LIMIT = 1_000_000
HTML_LIMIT = 200_000
VOLATILE_CELL_METADATA = ("execution", "ExecuteTime", "collapsed", "scrolled", "jupyter")
KERNELSPEC = {"display_name": "Python 3", "language": "python", "name": "python3"}


def render(nb: nbformat.NotebookNode) -> str:
    return nbformat.writes(nb) + "\n"



# --- cleaning and execution ------------------------------------------------------------------------

def clean(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Drop volatile metadata (timings, widget state, kernel details) so diffs show only content."""
    nb.metadata = nbformat.NotebookNode({"kernelspec": dict(KERNELSPEC),
                                         "language_info": {"name": "python"}})
    for index, cell in enumerate(nb.cells):
        if not cell.get("id"):
            cell.id = f"cell-{index}"
        for key in VOLATILE_CELL_METADATA:
            cell.metadata.pop(key, None)
        if cell.cell_type == "code":
            for out in cell.get("outputs", []):
                out.get("metadata", {}).pop("execution", None)
    nb.nbformat, nb.nbformat_minor = 4, 5
    return nb


def execute(path: Path, timeout: int = 600) -> float:
    """Run a notebook top to bottom in a fresh kernel (cwd = its folder), clean and save it.

    Solutions run with ``E3TEACH_STRICT=1`` (:data:`~e3teach.checks.core.STRICT_ENV`) (a failing check raises). Returns the run time in seconds.
    """
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    previous = os.environ.get(STRICT_ENV)
    os.environ[STRICT_ENV] = "1" if path.parent.name == "solutions" else "0"
    try:
        start = time.perf_counter()
        NotebookClient(nb, timeout=timeout, kernel_name="python3",
                       resources={"metadata": {"path": str(path.parent)}}).execute()
        elapsed = time.perf_counter() - start
    finally:
        if previous is None:
            os.environ.pop(STRICT_ENV, None)
        else:
            os.environ[STRICT_ENV] = previous
    path.write_text(render(clean(nb)))
    return elapsed


# --- hygiene -------------------------------------------------------------------------------------

PIP_INSTALL = re.compile(r"^\s*[!%]\s*(pip3?|conda|mamba|uv)\b|\bpip3?\b[\s'\",]*install\b|\bpip\.main\b|"
                         r"\b(conda|mamba|uv)[\s'\",]+(pip[\s'\",]+)?install\b", re.M)


def installs_packages(source: str) -> bool:
    """Does a code cell install packages? Exactly one form may: :func:`~e3teach.authoring.course.colab_install_source`,
    which runs only inside Google Colab (any other spelling, even of the same guard, is rejected)."""
    if source.strip() == colab_install_source().strip():
        return False
    return bool(PIP_INSTALL.search(source))


def hygiene_problems(path: Path) -> list[str]:
    """What is wrong with one committed notebook (the notebook rules of AUTHORING.md)."""
    problems = []
    size = path.stat().st_size
    if size > SIZE_LIMIT:
        problems.append(f"{path}: {size / 1e6:.2f} MB (limit 1 MB)")
    try:
        nb = json.loads(path.read_text())
    except Exception as exc:
        return problems + [f"{path}: not valid JSON ({exc})"]
    executed = path.parent.name != "exercises"
    counts = []
    for cell in nb.get("cells", []):
        src = "".join(cell.get("source", []))
        if cell.get("cell_type") == "markdown" and "data:image" in src:
            problems.append(f"{path}: base64 image inside markdown")
        if cell.get("cell_type") != "code":
            continue
        if installs_packages(src):
            problems.append(f"{path}: installs packages from a cell (only the guarded Colab cell of "
                            f"`e3teach-author badges` may)")
        if executed and src.strip():
            counts.append(cell.get("execution_count"))
        if not executed and cell.get("outputs"):
            problems.append(f"{path}: exercise cells should have no outputs (regenerate with e3teach-author sync)")
        for out in cell.get("outputs", []):
            html = "".join(out.get("data", {}).get("text/html", []))
            picture = html.startswith(('<img class="e3teach-', '<figure class="e3teach-'))  # viz.picture_html
            if len(html) > HTML_LIMIT and not picture:
                problems.append(f"{path}: an HTML output of {len(html) // 1000} kB (inlined plotly.js?)")
            if out.get("output_type") == "error":
                problems.append(f"{path}: a stored error output")
    if executed and (None in counts or counts != list(range(1, len(counts) + 1))):
        problems.append(f"{path}: not executed top to bottom in a fresh kernel (e3teach-author run {path})")
    if nb.get("metadata", {}).get("widgets"):
        problems.append(f"{path}: stored widget state (clean it with e3teach-author run/clean)")
    return problems


def notebooks(root: Path, folders=ROOT_FOLDERS) -> list[Path]:
    return sorted(p for folder in folders for p in (root / folder).glob("*.ipynb"))


