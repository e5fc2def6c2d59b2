"""Every relative link in the course's markdown files and notebooks leads to a file in the repository.

A learner who clicks "next lesson" or "the exercises" must land somewhere: on GitHub, in JupyterLab and on
Binder alike. Links to the web (``https:``, ``mailto:``) and in-page anchors (``#section``) are not checked
here; links that leave the repository (``../shared/...``) count as broken, since a clone does not have them.
"""
import json
import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MARKDOWN_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
HTML_LINK = re.compile(r"""(?:href|src)\s*=\s*["']([^"']+)["']""")
SKIP_DIRS = {".git", ".venv", ".venv-ci", "build", "dist", "node_modules", ".ipynb_checkpoints", "_build"}


def documents() -> list[Path]:
    """The repository's markdown files and notebooks, without descending into SKIP_DIRS (a virtual environment
    alone holds tens of thousands of files)."""
    found = []
    for folder, subfolders, files in os.walk(ROOT):
        subfolders[:] = [name for name in subfolders
                         if name not in SKIP_DIRS and not name.endswith(".egg-info")]
        found += [Path(folder) / name for name in files if name.endswith((".md", ".ipynb"))]
    return sorted(found)


def markdown_text(path: Path) -> str:
    if path.suffix == ".md":
        return path.read_text(encoding="utf-8")
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")


def relative_links(text: str) -> list[str]:
    text = re.sub(r"```.*?```", "", text, flags=re.S)          # code blocks are not links
    text = re.sub(r"`[^`\n]*`", "", text)                      # nor inline code
    links = MARKDOWN_LINK.findall(text) + HTML_LINK.findall(text)
    return [t for t in links if not re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", t) and not t.startswith("#")]


def broken_links(path: Path) -> list[str]:
    broken = []
    for target in relative_links(markdown_text(path)):
        file = target.split("#")[0].split("?")[0]
        resolved = (path.parent / file).resolve()
        if not file:
            continue
        if not resolved.is_relative_to(ROOT) or not resolved.exists():
            broken.append(target)
    return broken


def test_the_link_finder_sees_links_and_ignores_code_and_urls():
    text = ("[next](lessons/01_why_symmetry.ipynb) ![fig](img/a.png \"title\") <a href='x.md'>x</a> "
            "`[not](a.md)` [web](https://e3nn.org) [here](#top)\n```\n[code](b.md)\n```")
    assert relative_links(text) == ["lessons/01_why_symmetry.ipynb", "img/a.png", "x.md"]


def test_the_documents_include_every_lesson_and_the_readme():
    names = {p.relative_to(ROOT).as_posix() for p in documents()}
    assert "README.md" in names and "lessons/00_start_here.ipynb" in names


@pytest.mark.parametrize("path", documents(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_relative_link_resolves(path):
    broken = broken_links(path)
    assert not broken, f"{path.relative_to(ROOT)} links to files that are not in the repository: {broken}"
