"""What a reader sees fits the page: every code line and every stored printed line of the lessons and
solutions is at most 100 characters (JupyterLab at 1280 px with the file browser open wraps at ~107, and
the website scrolls long lines, hiding the ✅/❌ verdicts at their end), and every picture of a lesson
carries a text alternative (``viz.show(fig, alt="...")`` stores it as the output's ``alt`` metadata)."""
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
WIDTH = 100

#: Notebooks not yet brought within these rules on this branch (owned by other helpers at the time
#: of writing); the lead empties this list after merging their work. Each is still checked: an entry
#: that starts to pass fails the test, so the list cannot go stale.
NOT_YET: set[str] = set()

NOTEBOOKS = sorted(str(p.relative_to(ROOT)) for folder in ("lessons", "solutions")
                   for p in (ROOT / folder).glob("*.ipynb"))


def _text(value) -> str:
    return "".join(value) if isinstance(value, list) else value


def problems(path: Path) -> list[str]:
    """Lines over WIDTH characters (code, streams, text/plain results shown as text: not the alt text of a
    picture nor the fallback of an HTML table) and lesson images without alt text."""
    found = []
    lesson = path.parent.name == "lessons"
    for index, cell in enumerate(json.loads(path.read_text())["cells"]):
        if cell["cell_type"] != "code":
            continue
        for line in _text(cell["source"]).splitlines():
            if len(line) > WIDTH:
                found.append(f"cell {index}: code line of {len(line)} characters: {line[:60]}…")
        for output in cell.get("outputs", []):
            kind = output["output_type"]
            texts = []
            if kind == "stream":
                texts.append(_text(output["text"]))
            elif kind in ("execute_result", "display_data"):
                data = output.get("data", {})
                if "text/plain" in data and not {"image/png", "text/html"} & set(data):
                    texts.append(_text(data["text/plain"]))     # else shown: the picture or the table
                alt = (output.get("metadata", {}).get("image/png") or {}).get("alt")
                if lesson and "image/png" in data and not alt:
                    found.append(f"cell {index}: an image without alt text (use viz.show(fig, alt=...))")
            for text in texts:
                for line in text.splitlines():
                    if len(line) > WIDTH:
                        found.append(f"cell {index}: printed line of {len(line)} characters: {line[:60]}…")
    return found


def test_every_notebook_is_checked():
    assert len(NOTEBOOKS) >= 40
    missing = NOT_YET - set(NOTEBOOKS)
    assert not missing, f"NOT_YET names notebooks that do not exist: {sorted(missing)}"


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_lines_fit_and_figures_have_alt_text(name):
    found = problems(ROOT / name)
    if name in NOT_YET:
        assert found, f"{name} now passes: remove it from NOT_YET in {Path(__file__).name}"
        pytest.xfail(f"not yet compliant ({len(found)} problems): " + "; ".join(found[:3]))
    assert not found, f"{name}:\n" + "\n".join(found)
