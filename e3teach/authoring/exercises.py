"""Exercise generation: the exercise notebook is the solution notebook with its answers stubbed.

The solution notebook is the source of truth. Everything a learner must write sits between markers:

- code: ``# BEGIN SOLUTION`` … ``# END SOLUTION`` (an optional hint may follow the first marker:
  ``# BEGIN SOLUTION hint: rows are points``). Inside a function body the block becomes
  ``raise NotImplementedError``; at the top level of a cell each assigned name becomes
  ``name = ...`` and each function keeps its signature and docstring with a
  ``raise NotImplementedError`` body. The checkers report both as "not attempted yet".
- markdown: ``<!-- BEGIN SOLUTION -->`` … ``<!-- END SOLUTION -->`` becomes *Your answer here.*
"""
from __future__ import annotations

import ast
import copy
import re
import textwrap
from pathlib import Path

import nbformat

from .course import HEADER_CELL_ID, header_markdown
from .hygiene import clean, hygiene_problems, notebooks, render

__all__ = [
    "BEGIN", "END", "MD_BLOCK", "GENERATED_BANNER", "stub_code", "make_exercise",
    "exercise_path_for", "sync_exercise", "check_all",
]

BEGIN = re.compile(r"^(?P<indent>[ \t]*)# BEGIN SOLUTION\b(?P<hint>.*)$")
END = re.compile(r"^[ \t]*# END SOLUTION\b")
MD_BLOCK = re.compile(r"<!--\s*BEGIN SOLUTION\s*-->.*?<!--\s*END SOLUTION\s*-->", re.S)
GENERATED_BANNER = (
    "> **Exercises.** Replace each `...` and `raise NotImplementedError` with your answer and run the check "
    "cell below it: ✅ correct, ❌ what is wrong, ⏳ not attempted yet. `check.qN.hint()` gives hints. "
    "Solutions: `solutions/{name}`.\n>\n"
    "> *Generated from the solution notebook by `e3teach-author sync` — edit the solution, not this file.*"
)


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



def check_all(root: Path) -> list[str]:
    problems = [p for path in notebooks(root) for p in hygiene_problems(path)]
    for solution in notebooks(root, ("solutions",)):
        if not sync_exercise(solution, write=False):
            problems.append(f"{exercise_path_for(solution)}: out of date with {solution} (run e3teach-author sync)")
    for exercise in notebooks(root, ("exercises",)):
        if not (root / "solutions" / exercise.name).exists():
            problems.append(f"{exercise}: has no solution notebook (exercises are generated from solutions/)")
    return problems

