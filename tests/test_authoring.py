import nbformat
import pytest

from e3teach.authoring import clean, hygiene_problems, main, make_exercise, stub_code, sync_exercise


def test_function_body_becomes_raise_with_hint():
    src = "def f(x):\n    \"\"\"Doc.\"\"\"\n    # BEGIN SOLUTION hint: use x twice\n    return x + x\n    # END SOLUTION\n"
    assert stub_code(src) == "def f(x):\n    \"\"\"Doc.\"\"\"\n    # hint: use x twice\n    raise NotImplementedError  # your code here"


def test_top_level_block_keeps_names_and_signatures():
    src = "# BEGIN SOLUTION\nanswer = 7 / 8\na, b = 1, 2\ndef g(x):\n    \"\"\"Doc.\"\"\"\n    return x\n# END SOLUTION\ncheck.q1(answer)  # NBVAL_CHECK_OUTPUT"
    out = stub_code(src)
    assert "answer = ...  # your answer" in out and "a = ..." in out and "b = ..." in out
    assert 'def g(x):\n    """Doc."""\n    raise NotImplementedError' in out
    assert "7 / 8" not in out and out.endswith("check.q1(answer)")


def test_unclosed_marker_is_an_error():
    with pytest.raises(ValueError, match="END SOLUTION"):
        stub_code("# BEGIN SOLUTION\nx = 1\n")


def _solution():
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# T\nWhy? <!-- BEGIN SOLUTION -->Because.<!-- END SOLUTION -->"),
                nbformat.v4.new_code_cell("# BEGIN SOLUTION\nx = 1\n# END SOLUTION\nprint(x)")]
    nb.cells[1].outputs = [nbformat.v4.new_output("stream", text="1\n")]
    nb.cells[1].execution_count = 1
    nb.metadata["widgets"] = {"state": {}}
    return nb


def test_make_exercise_strips_answers_outputs_and_metadata():
    ex = make_exercise(_solution(), "99_t.ipynb")
    assert "Because" not in ex.cells[0].source and "*Your answer here.*" in ex.cells[0].source
    assert "Generated from the solution" in ex.cells[1].source
    code = ex.cells[2]
    assert code.outputs == [] and code.execution_count is None and "x = ..." in code.source
    assert "widgets" not in ex.metadata


def test_sync_and_check(tmp_path):
    (tmp_path / "solutions").mkdir()
    path = tmp_path / "solutions" / "99_t.ipynb"
    nbformat.write(clean(_solution()), path)
    assert sync_exercise(path) is False          # created
    assert sync_exercise(path, write=False) is True
    assert hygiene_problems(tmp_path / "exercises" / "99_t.ipynb") == []
    assert main(["--root", str(tmp_path), "check"]) == 0
    # a hand edit of the exercise is detected
    ex = tmp_path / "exercises" / "99_t.ipynb"
    ex.write_text(ex.read_text().replace("Your answer here", "edited"))
    assert main(["--root", str(tmp_path), "check"]) == 1


def test_hygiene_flags_unexecuted_and_base64(tmp_path):
    (tmp_path / "lessons").mkdir()
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("![x](data:image/png;base64,AAAA)"),
                nbformat.v4.new_code_cell("!pip install foo")]
    path = tmp_path / "lessons" / "00_x.ipynb"
    nbformat.write(nb, path)
    problems = " ".join(hygiene_problems(path))
    assert "base64" in problems and "installs packages" in problems and "not executed" in problems


def test_author_tools_import_in_one_direction_and_old_paths_still_work():
    import importlib
    import subprocess
    import sys
    import warnings

    from e3teach.authoring import course

    # the learner's package never imports the author's tools; the author's modules read the course address
    # from one module and never import each other in a circle (course ← hygiene ← exercises ← badges ← site)
    root = __import__("pathlib").Path(__file__).resolve().parents[1] / "e3teach"
    learner = [p for p in root.rglob("*.py") if "authoring" not in p.parts and p.name != "site.py"]
    assert [p for p in learner if "authoring" in p.read_text() and "import" in p.read_text()
            and "from .authoring" in p.read_text()] == []
    assert "from .site" not in (root / "authoring" / "course.py").read_text()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        old = importlib.reload(importlib.import_module("e3teach.site"))
    assert old.REPOSITORY == course.REPOSITORY and any("moved" in str(w.message) for w in caught)
    out = subprocess.run([sys.executable, "-m", "e3teach.authoring", "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "e3teach-author site" in out.stdout
