"""Repository-level checks: notebook hygiene, exercises in sync, one set of dependencies."""
import json
import re
from pathlib import Path

import pytest

from e3teach.authoring import check_all, notebooks

ROOT = Path(__file__).resolve().parent.parent


def test_notebooks_are_hygienic_and_exercises_in_sync():
    problems = check_all(ROOT)
    assert not problems, "\n".join(problems)


def test_every_solution_has_an_exercise_and_a_lesson():
    for solution in notebooks(ROOT, ("solutions",)):
        assert (ROOT / "exercises" / solution.name).exists()
        assert (ROOT / "lessons" / solution.name).exists()


def _normalise(requirement: str) -> str:
    return re.split(r"[\s<>=!~\[;]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _pyproject_packages() -> set[str]:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        tomli = pytest.importorskip("tomli")
        tomllib = tomli
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    project = data["project"]
    reqs = list(project["dependencies"]) + [r for extra in project["optional-dependencies"].values() for r in extra]
    return {_normalise(r) for r in reqs}


def _environment_packages() -> set[str]:
    names = set()
    text = (ROOT / "environment.yml").read_text()
    for line in text[text.index("dependencies:"):].splitlines():
        match = re.match(r"^\s*-\s+([A-Za-z0-9_.\-]+)", line)
        if match and not match.group(1).startswith("-") and match.group(1) not in ("pip", "python"):
            names.add(_normalise(match.group(1)))
    return names


def test_environment_yml_and_pyproject_name_the_same_packages():
    env = _environment_packages()
    assert _pyproject_packages() == env, (f"only in pyproject: {_pyproject_packages() - env}; "
                                          f"only in environment.yml: {env - _pyproject_packages()}")


def test_ci_runs_the_readme_commands():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    for command in ('pip install -e ".[test]"', "pytest",
                    "ATEN_CPU_CAPABILITY=default OMP_NUM_THREADS=1 pytest lessons solutions"):
        assert command in readme and command in ci, command


def test_readme_course_map_is_current():
    from e3teach.authoring import course_map
    assert course_map(ROOT) in (ROOT / "README.md").read_text(), "update the README: e3teach-author map"


def _honest_minutes(path: Path) -> tuple[int, int | None]:
    """(estimate, stated) reading time of a lesson: 150 markdown words and 6 code lines a minute, as
    ../shared/tools/reading.py counts them, and the "Time to read ~NN" its first cells state."""
    cells = json.loads(path.read_text())["cells"]
    md = " ".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    code = [l for c in cells if c["cell_type"] == "code" for l in "".join(c["source"]).splitlines() if l.strip()]
    stated = re.search(r"[Tt]ime to read[^0-9]*(\d+)", md)
    return round(len(re.findall(r"[A-Za-z0-9]+", md)) / 150 + len(code) / 6), int(stated.group(1)) if stated else None


def test_lessons_state_an_honest_reading_time_and_teaching_md_agrees():
    teaching = (ROOT / "TEACHING.md").read_text()
    for path in sorted((ROOT / "lessons").glob("*.ipynb")):
        estimate, stated = _honest_minutes(path)
        assert stated is not None, f"{path.name}: state 'Time to read: ~{estimate} min' in the first cell"
        assert abs(stated - estimate) <= 1, f"{path.name} states ~{stated} min, the count gives ~{estimate}"
        number = path.name.split("_", 1)[0]
        row = re.search(rf"^\| {number} [^|]*\| ~(\d+) min \|", teaching, re.M)
        assert row and int(row.group(1)) == stated, f"TEACHING.md's timing row for {number} should say ~{stated} min"
