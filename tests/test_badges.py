"""`e3teach-author badges`: Binder/Colab badges, links, and the one guarded Colab install cell."""
import shutil
import subprocess
import sys
import types
from pathlib import Path

import nbformat
import pytest

from e3teach import authoring
from e3teach.authoring import course as address
from e3teach.authoring import add_course_links, badge_notebooks, check_all, installs_packages
from e3teach.authoring.course import COLAB_CELL_ID, HEADER_CELL_ID, colab_install_source

ROOT = Path(__file__).resolve().parents[1]


def run_cell(source, monkeypatch, in_colab):
    calls = []
    monkeypatch.setattr(subprocess, "run", lambda *args, **kwargs: calls.append((args, kwargs)))
    if in_colab:
        google = types.ModuleType("google")
        colab = types.ModuleType("google.colab")
        google.colab = colab
        monkeypatch.setitem(sys.modules, "google", google)
        monkeypatch.setitem(sys.modules, "google.colab", colab)
    else:
        monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    exec(compile(source, "<colab-cell>", "exec"), {})
    return calls


def test_colab_cell_does_nothing_outside_colab(monkeypatch):
    assert run_cell(colab_install_source(), monkeypatch, in_colab=False) == []


def test_colab_cell_installs_the_course_inside_colab(monkeypatch):
    calls = run_cell(colab_install_source(), monkeypatch, in_colab=True)
    assert calls == [(([sys.executable, "-m", "pip", "install", "-q", f"e3teach @ git+{address.REPOSITORY}@{address.BRANCH}"],),
                      {"check": True})]


@pytest.mark.parametrize("source", [
    "!pip install e3nn",
    "%pip install -q e3nn",
    "  !pip3 install torch",
    "import subprocess, sys\nsubprocess.run([sys.executable, '-m', 'pip', 'install', 'e3nn'])",
    "import os\nos.system('pip install e3nn')",
    "import pip\npip.main(['install', 'e3nn'])",
    "!conda install -y e3nn",
    "!uv pip install e3nn",
    colab_install_source().replace('if "google.colab" in sys.modules:', "if True:"),              # guard removed
    colab_install_source().replace(address.REPOSITORY, "https://github.com/someone/else"),           # another package
    colab_install_source() + "\nsubprocess.run(['pip', 'install', 'more'])",                      # something added
])
def test_hygiene_rejects_every_other_install(source):
    assert installs_packages(source)


def test_hygiene_accepts_exactly_the_guarded_cell():
    assert not installs_packages(colab_install_source())
    assert not installs_packages(colab_install_source() + "\n")
    assert not installs_packages("import torch\nprint('pip is a package installer')")


def test_urls_come_from_one_place():
    path = "lessons/01_why_symmetry.ipynb"
    slug = address.github_slug()
    assert address.binder_url(path) == f"https://mybinder.org/v2/gh/{slug}/{address.BRANCH}?urlpath=lab/tree/{path}"
    assert address.colab_url(path) == f"https://colab.research.google.com/github/{slug}/blob/{address.BRANCH}/{path}"
    assert address.binder_url(path, repository="https://github.com/a/b", branch="x").startswith(
        "https://mybinder.org/v2/gh/a/b/x?")
    with pytest.raises(ValueError, match="github.com/OWNER/NAME"):
        address.github_slug("https://example.org/course")
    mentions = [p for p in [*(ROOT / "e3teach").rglob("*.py"), *(ROOT / "site").rglob("*.py")]
                if address.REPOSITORY in p.read_text() or slug in p.read_text()]
    assert mentions == [ROOT / "e3teach" / "authoring" / "course.py"]


@pytest.fixture
def course(tmp_path):
    """A copy of part of the course (the committed notebooks are never touched)."""
    for rel in ("lessons/00_start_here.ipynb", "lessons/01_why_symmetry.ipynb", "solutions/01_why_symmetry.ipynb",
                "exercises/01_why_symmetry.ipynb"):
        (tmp_path / rel).parent.mkdir(exist_ok=True)
        nb = nbformat.read(ROOT / rel, as_version=4)
        _remove_badges(nb)  # the committed notebooks carry them already: start from a notebook without
        nbformat.write(nb, tmp_path / rel)
    (tmp_path / "GLOSSARY.md").write_text("# Glossary\n")
    return tmp_path


def _remove_badges(nb):
    """Undo ``e3teach-author badges`` on a notebook: drop its two cells, renumber the executed cells."""
    had_colab_cell = any(c.get("id") == COLAB_CELL_ID for c in nb.cells)
    nb.cells = [c for c in nb.cells if c.get("id") not in (HEADER_CELL_ID, COLAB_CELL_ID)]
    for c in nb.cells:
        if had_colab_cell and c.cell_type == "code" and c.execution_count:
            c.execution_count -= 1


def cell(nb, cell_id):
    return next(c for c in nb.cells if c.get("id") == cell_id)


def test_badges_on_a_copy(course):
    assert check_all(course) == []
    before = nbformat.read(course / "lessons/01_why_symmetry.ipynb", as_version=4)
    counts = [c.execution_count for c in before.cells if c.cell_type == "code"]
    changed = badge_notebooks(course)
    assert len(changed) == 3
    assert check_all(course) == []                  # still executed top to bottom, exercises in sync
    assert badge_notebooks(course) == []            # a second run changes nothing
    lesson = nbformat.read(course / "lessons/01_why_symmetry.ipynb", as_version=4)
    assert [c.get("id") for c in lesson.cells[1:3]] == [HEADER_CELL_ID, COLAB_CELL_ID]
    assert [c.execution_count for c in lesson.cells if c.cell_type == "code"] == [1] + [n + 1 for n in counts]
    header = cell(lesson, HEADER_CELL_ID).source
    assert address.binder_url("lessons/01_why_symmetry.ipynb") in header
    assert address.colab_url("lessons/01_why_symmetry.ipynb") in header
    assert "(../exercises/01_why_symmetry.ipynb)" in header and "(../solutions/01_why_symmetry.ipynb)" in header
    assert "(../GLOSSARY.md)" in header and "CHEATSHEET" not in header       # only what exists
    assert "exercises" not in cell(nbformat.read(course / "lessons/00_start_here.ipynb", as_version=4),
                                   HEADER_CELL_ID).source
    exercise = nbformat.read(course / "exercises/01_why_symmetry.ipynb", as_version=4)
    ex_header = cell(exercise, HEADER_CELL_ID).source
    assert address.colab_url("exercises/01_why_symmetry.ipynb") in ex_header
    assert "(../solutions/01_why_symmetry.ipynb)" in ex_header and "(../GLOSSARY.md)" in ex_header
    assert cell(exercise, COLAB_CELL_ID).source == colab_install_source()
    assert badge_notebooks(course) == []            # idempotent
    (course / "CHEATSHEET.md").write_text("# Cheat sheet\n")
    assert len(badge_notebooks(course)) == 3        # updated in place: the new link appears
    assert "(../CHEATSHEET.md)" in cell(nbformat.read(course / "exercises/01_why_symmetry.ipynb", as_version=4),
                                        HEADER_CELL_ID).source
    assert check_all(course) == []


def test_check_rejects_a_changed_install_cell(course):
    badge_notebooks(course)
    path = course / "lessons/01_why_symmetry.ipynb"
    nb = nbformat.read(path, as_version=4)
    cell(nb, COLAB_CELL_ID).source = colab_install_source().replace("google.colab", "google")
    nbformat.write(nb, path)
    assert any("installs packages" in p for p in authoring.hygiene_problems(path))


def test_command_line(course, capsys):
    assert authoring.main(["--root", str(course), "badges", str(course / "lessons/00_start_here.ipynb")]) == 0
    assert "1 notebook(s) changed" in capsys.readouterr().out
    with pytest.raises(ValueError, match="generated"):
        badge_notebooks(course, [course / "exercises/01_why_symmetry.ipynb"])
