"""Course links in the notebooks: the Binder/Colab header, the guarded Colab install cell, the README's map."""
from __future__ import annotations

from pathlib import Path

import nbformat

from .course import COLAB_CELL_ID, HEADER_CELL_ID, colab_install_source, header_markdown
from .exercises import sync_exercise
from .hygiene import clean, notebooks, render

__all__ = ["add_course_links", "badge_notebooks", "lesson_title", "course_map"]

def add_course_links(nb: nbformat.NotebookNode, path: str, root: Path | None = None) -> nbformat.NotebookNode:
    """Write (or update) the header line of badges and links, and the guarded Colab install cell.

    ``path`` is the notebook's path from the repository root (``lessons/01_why_symmetry.ipynb``). The header
    goes after the title cell, the install cell right after it. When the install cell is new in an executed
    notebook, the execution counts after it move up by one — what running it there would give, since it
    prints nothing outside Colab — so the notebook stays "executed top to bottom" without a re-run."""
    cells = nb.cells
    by_id = {cell.get("id"): cell for cell in cells}
    header = header_markdown(path, root=root)
    if HEADER_CELL_ID in by_id:
        by_id[HEADER_CELL_ID].source = header
    else:
        cell = nbformat.v4.new_markdown_cell(header)
        cell.id = HEADER_CELL_ID
        cells.insert(1 if cells and cells[0].cell_type == "markdown" else 0, cell)
    source = colab_install_source()
    if COLAB_CELL_ID in by_id:
        by_id[COLAB_CELL_ID].source = source
        return nb
    executed = any(c.cell_type == "code" and c.get("execution_count") for c in cells)
    install = nbformat.v4.new_code_cell(source)
    install.id = COLAB_CELL_ID
    if executed:
        for c in cells:
            if c.cell_type == "code" and c.get("execution_count"):
                c.execution_count += 1
        install.execution_count = 1
    position = next(i for i, c in enumerate(cells) if c.get("id") == HEADER_CELL_ID) + 1
    cells.insert(position, install)
    return nb


def badge_notebooks(root: Path, paths: list[Path] | None = None) -> list[Path]:
    """Apply :func:`add_course_links` to lessons and solutions (default: all), then regenerate exercises."""
    paths = paths or notebooks(root, ("lessons", "solutions"))
    changed = []
    for path in paths:
        path = Path(path)
        relative = path.resolve().relative_to(root.resolve()).as_posix()
        if relative.startswith("exercises/"):
            raise ValueError(f"{path}: exercises are generated; badge the solution instead")
        before = path.read_text()
        nb = add_course_links(nbformat.read(path, as_version=4), relative, root)
        text = render(clean(nb))
        if text != before:
            path.write_text(text)
            changed.append(path)
        if relative.startswith("solutions/"):
            sync_exercise(path)
    return changed


def lesson_title(path: Path) -> str:
    """The title of a lesson: its first ``# `` heading, after the "NN ·" prefix."""
    nb = nbformat.read(path, as_version=4)
    heading = next((line for cell in nb.cells if cell.cell_type == "markdown"
                    for line in cell.source.splitlines() if line.startswith("# ")), "# " + path.stem)
    return heading[2:].split("·", 1)[-1].strip()


def course_map(root: Path) -> str:
    """A markdown table of the lessons with links to their exercises and solutions (for the README)."""
    rows = ["| # | lesson | exercises | solutions |", "|---|---|---|---|"]
    for lesson in notebooks(root, ("lessons",)):
        title = lesson_title(lesson)
        links = []
        for folder in ("exercises", "solutions"):
            other = root / folder / lesson.name
            links.append(f"[{folder[:-1]}]({folder}/{lesson.name})" if other.exists() else "—")
        rows.append(f"| {lesson.name.split('_', 1)[0]} | [{title}](lessons/{lesson.name}) | {links[0]} | {links[1]} |")
    return "\n".join(rows)

