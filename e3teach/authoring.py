"""Authoring tools: ``e3teach-author`` (also ``python -m e3teach.authoring``).

The solution notebook is the source of truth. Everything a learner must write sits between markers:

- code: ``# BEGIN SOLUTION`` … ``# END SOLUTION`` (an optional hint may follow the first marker:
  ``# BEGIN SOLUTION hint: rows are points``). Inside a function body the block becomes
  ``raise NotImplementedError``; at the top level of a cell each assigned name becomes
  ``name = ...`` and each function keeps its signature and docstring with a
  ``raise NotImplementedError`` body. The checkers report both as "not attempted yet".
- markdown: ``<!-- BEGIN SOLUTION -->`` … ``<!-- END SOLUTION -->`` becomes *Your answer here.*

Commands::

    e3teach-author run solutions/01_why_symmetry.ipynb   # execute in a fresh kernel, clean, regenerate its exercise
    e3teach-author run lessons/*.ipynb                   # execute lessons (prints time and size of each)
    e3teach-author sync                                  # regenerate every exercises/NN from solutions/NN
    e3teach-author check                                 # hygiene + exercises in sync; exit 1 on a problem
    e3teach-author map                                   # the README's course map
    e3teach-author badges                                # Binder/Colab badges + links + the Colab install cell
    e3teach-author site                                  # the course website in _build/site (no execution)
"""
from __future__ import annotations

import argparse
import ast
import copy
import json
import os
import re
import sys
import textwrap
import time
from pathlib import Path

import nbformat

from .site import COLAB_CELL_ID, HEADER_CELL_ID, colab_install_source, header_markdown

ROOT_FOLDERS = ("lessons", "solutions", "exercises")
SIZE_LIMIT = 1_000_000
HTML_LIMIT = 200_000
BEGIN = re.compile(r"^(?P<indent>[ \t]*)# BEGIN SOLUTION\b(?P<hint>.*)$")
END = re.compile(r"^[ \t]*# END SOLUTION\b")
MD_BLOCK = re.compile(r"<!--\s*BEGIN SOLUTION\s*-->.*?<!--\s*END SOLUTION\s*-->", re.S)
GENERATED_BANNER = (
    "> **Exercises.** Replace each `...` and `raise NotImplementedError` with your answer and run the check "
    "cell below it: ✅ correct, ❌ what is wrong, ⏳ not attempted yet. `check.qN.hint()` gives hints. "
    "Solutions: `solutions/{name}`.\n>\n"
    "> *Generated from the solution notebook by `e3teach-author sync` — edit the solution, not this file.*"
)
VOLATILE_CELL_METADATA = ("execution", "ExecuteTime", "collapsed", "scrolled", "jupyter")
KERNELSPEC = {"display_name": "Python 3", "language": "python", "name": "python3"}


# --- exercise generation --------------------------------------------------------------------------

def _hint_comment(indent: str, hint: str) -> list[str]:
    hint = hint.strip().lstrip(":").strip()
    return [f"{indent}# {hint}"] if hint else []


def _top_level_stub(block: list[str], indent: str, hint: str) -> list[str]:
    """Stub for a top-level solution block: ``name = ...`` per assignment, signatures for functions."""
    source = textwrap.dedent("\n".join(block))
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        raise ValueError(f"a solution block does not parse: {exc}\n{source}") from exc
    lines = _hint_comment(indent, hint)
    src_lines = source.splitlines()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            if node.body[0].lineno == node.lineno:
                raise ValueError(f"put the body of `def {node.name}` on its own line inside a solution block")
            header_end = node.body[0].lineno - 1
            if (isinstance(node.body[0], ast.Expr) and isinstance(getattr(node.body[0], "value", None), ast.Constant)
                    and isinstance(node.body[0].value.value, str)):
                header_end = node.body[0].end_lineno
            first = node.lineno - 1 - len(node.decorator_list)
            lines += [indent + line for line in src_lines[first:header_end]]
            body_indent = re.match(r"\s*", src_lines[node.body[0].lineno - 1]).group(0)
            lines += [f"{indent}{body_indent}raise NotImplementedError  # your code here"]
        else:
            targets = []
            if isinstance(node, ast.Assign):
                targets = node.targets
            elif isinstance(node, (ast.AnnAssign, ast.AugAssign)):
                targets = [node.target]
            for target in targets:
                names = [t.id for t in ast.walk(target) if isinstance(t, ast.Name)]
                for name in names:
                    stub = f"{indent}{name} = ...  # your answer"
                    if stub not in lines:
                        lines.append(stub)
    if len(lines) == len(_hint_comment(indent, hint)):
        lines.append(f"{indent}# your code here")
    return lines


def stub_code(source: str) -> str:
    """Replace every ``# BEGIN SOLUTION`` … ``# END SOLUTION`` block of a code cell by a stub."""
    out, block, marker = [], None, None
    for line in source.splitlines():
        if block is None:
            m = BEGIN.match(line)
            if m:
                block, marker = [], m
            else:
                kept = re.sub(r"\s*# NBVAL_CHECK_OUTPUT.*$", "", line)
                if kept.strip() or not line.strip():
                    out.append(kept)
            continue
        if END.match(line):
            indent, hint = marker.group("indent"), marker.group("hint")
            if indent:
                out += _hint_comment(indent, hint) + [f"{indent}raise NotImplementedError  # your code here"]
            else:
                out += _top_level_stub(block, indent, hint)
            block = None
        else:
            block.append(line)
    if block is not None:
        raise ValueError("a '# BEGIN SOLUTION' has no matching '# END SOLUTION'")
    return "\n".join(out)


def make_exercise(solution: nbformat.NotebookNode, name: str) -> nbformat.NotebookNode:
    """The exercise notebook generated from a solution notebook (outputs removed, answers stubbed)."""
    nb = copy.deepcopy(solution)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.source = stub_code(cell.source)
            cell.outputs, cell.execution_count = [], None
        elif cell.cell_type == "markdown":
            cell.source = MD_BLOCK.sub("*Your answer here.*", cell.source)
    for cell in nb.cells:
        if cell.get("id") == HEADER_CELL_ID and cell.cell_type == "markdown":
            cell.source = header_markdown(f"exercises/{name}", exists=_linked_in(cell.source))
    banner = nbformat.v4.new_markdown_cell(GENERATED_BANNER.format(name=name))
    banner.id = "generated-banner"
    nb.cells.insert(1 if nb.cells and nb.cells[0].cell_type == "markdown" else 0, banner)
    return clean(nb)


def _linked_in(header: str):
    """For an exercise's header: link what the solution's header links (and the solution itself)."""
    def exists(target: str) -> bool:
        return target.startswith("solutions/") or f"../{target}" in header
    return exists


def exercise_path_for(solution_path: Path) -> Path:
    return solution_path.parent.parent / "exercises" / solution_path.name


def render(nb: nbformat.NotebookNode) -> str:
    return nbformat.writes(nb) + "\n"


def sync_exercise(solution_path: Path, write: bool = True) -> bool:
    """Regenerate one exercise; returns True if the file on disk was already up to date."""
    solution = nbformat.read(solution_path, as_version=4)
    text = render(make_exercise(solution, solution_path.name))
    target = exercise_path_for(solution_path)
    current = target.read_text() if target.exists() else None
    if write and current != text:
        target.parent.mkdir(exist_ok=True)
        target.write_text(text)
    return current == text


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

    Solutions run with ``E3TEACH_STRICT=1`` (a failing check raises). Returns the run time in seconds.
    """
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    previous = os.environ.get("E3TEACH_STRICT")
    os.environ["E3TEACH_STRICT"] = "1" if path.parent.name == "solutions" else "0"
    try:
        start = time.perf_counter()
        NotebookClient(nb, timeout=timeout, kernel_name="python3",
                       resources={"metadata": {"path": str(path.parent)}}).execute()
        elapsed = time.perf_counter() - start
    finally:
        if previous is None:
            os.environ.pop("E3TEACH_STRICT", None)
        else:
            os.environ["E3TEACH_STRICT"] = previous
    path.write_text(render(clean(nb)))
    return elapsed


# --- hygiene -------------------------------------------------------------------------------------

PIP_INSTALL = re.compile(r"^\s*[!%]\s*(pip3?|conda|mamba|uv)\b|\bpip3?\b[\s'\",]*install\b|\bpip\.main\b|"
                         r"\b(conda|mamba|uv)[\s'\",]+(pip[\s'\",]+)?install\b", re.M)


def installs_packages(source: str) -> bool:
    """Does a code cell install packages? Exactly one form may: :func:`e3teach.site.colab_install_source`,
    which runs only inside Google Colab (any other spelling, even of the same guard, is rejected)."""
    if source.strip() == colab_install_source().strip():
        return False
    return bool(PIP_INSTALL.search(source))


def hygiene_problems(path: Path) -> list[str]:
    """What is wrong with one committed notebook (COURSE.md §5)."""
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
            if len(html) > HTML_LIMIT:
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


def check_all(root: Path) -> list[str]:
    problems = [p for path in notebooks(root) for p in hygiene_problems(path)]
    for solution in notebooks(root, ("solutions",)):
        if not sync_exercise(solution, write=False):
            problems.append(f"{exercise_path_for(solution)}: out of date with {solution} (run e3teach-author sync)")
    for exercise in notebooks(root, ("exercises",)):
        if not (root / "solutions" / exercise.name).exists():
            problems.append(f"{exercise}: has no solution notebook (exercises are generated from solutions/)")
    return problems


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


def course_map(root: Path) -> str:
    """A markdown table of the lessons with links to their exercises and solutions (for the README)."""
    rows = ["| # | lesson | exercises | solutions |", "|---|---|---|---|"]
    for lesson in notebooks(root, ("lessons",)):
        nb = nbformat.read(lesson, as_version=4)
        heading = next((line for cell in nb.cells if cell.cell_type == "markdown"
                        for line in cell.source.splitlines() if line.startswith("# ")), "# " + lesson.stem)
        title = heading[2:].split("·", 1)[-1].strip()
        links = []
        for folder in ("exercises", "solutions"):
            other = root / folder / lesson.name
            links.append(f"[{folder[:-1]}]({folder}/{lesson.name})" if other.exists() else "—")
        rows.append(f"| {lesson.name.split('_', 1)[0]} | [{title}](lessons/{lesson.name}) | {links[0]} | {links[1]} |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="e3teach-author", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    run_p = sub.add_parser("run", help="execute notebooks in a fresh kernel, clean them, regenerate exercises")
    run_p.add_argument("paths", nargs="+", type=Path)
    clean_p = sub.add_parser("clean", help="strip volatile metadata")
    clean_p.add_argument("paths", nargs="+", type=Path)
    sub.add_parser("sync", help="regenerate exercises/ from solutions/")
    sub.add_parser("check", help="hygiene + exercises in sync (exit 1 on problems)")
    sub.add_parser("map", help="print the course map (markdown table) for the README")
    badges_p = sub.add_parser("badges", help="Binder/Colab badges, links and the guarded Colab install cell "
                                             "in lessons and solutions (exercises are regenerated)")
    badges_p.add_argument("paths", nargs="*", type=Path)
    site_p = sub.add_parser("site", help="build the course website (static HTML, no execution) into _build/site")
    site_p.add_argument("--out", type=Path, default=None, help="output folder (default: ROOT/_build/site)")
    site_p.add_argument("--only", nargs="*", default=None,
                        help="build only these notebooks (paths from the root; for quick tests)")
    parser.add_argument("--root", type=Path, default=Path("."), help="the course folder (default: .)")
    args = parser.parse_args(argv)
    root = args.root

    if args.command == "run":
        for path in args.paths:
            elapsed = execute(path)
            print(f"{path}: ran in {elapsed:.1f} s, {path.stat().st_size / 1e3:.0f} kB")
            if path.parent.name == "solutions":
                sync_exercise(path)
                print(f"  regenerated {exercise_path_for(path)}")
        return 0
    if args.command == "clean":
        for path in args.paths:
            path.write_text(render(clean(nbformat.read(path, as_version=4))))
        return 0
    if args.command == "sync":
        for solution in notebooks(root, ("solutions",)):
            fresh = sync_exercise(solution)
            print(f"{exercise_path_for(solution)}: {'up to date' if fresh else 'regenerated'}")
        return 0
    if args.command == "map":
        print(course_map(root))
        return 0
    if args.command == "badges":
        changed = badge_notebooks(root, args.paths)
        for path in changed:
            print(f"{path}: badges, links and Colab cell written")
        print(f"{len(changed)} notebook(s) changed; exercises regenerated from their solutions")
        return 0
    if args.command == "site":
        from .site import build
        report = build(root, out=args.out, only=args.only)
        print(report)
        return 0
    problems = check_all(root)
    for p in problems:
        print("❌", p)
    if not problems:
        print(f"✅ {len(notebooks(root))} notebooks: hygienic, exercises in sync")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
