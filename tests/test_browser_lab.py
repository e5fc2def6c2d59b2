"""Lessons in a real browser: JupyterLab on localhost, headless Chromium driven by Playwright.

What nbval cannot see: does the notebook DRAW? For each notebook, on a copy (JupyterLab autosaves), through the
UI (Run → Restart Kernel and Run All Cells…), this asserts that

* every code cell ran (an execution count everywhere, no traceback);
* no WebGL context was lost: no "CONTEXT_LOST"/"Too many active WebGL contexts" in the console, no
  involuntary ``webglcontextlost`` event, every live context still alive (browsers keep ~16 per page; a
  notebook with more 3D scenes loses the oldest, which then show blank);
* every plotly figure drew: an SVG, traces, and for 3D scenes a sized canvas with a live context and
  pixels on it (from a screenshot);
* every widget output rendered (no "Error displaying widget"), and typing a new value into a slider
  redraws the widget's figure with different data.

The check is shown to pass on a small synthetic notebook (3 scenes + a widget) and to FAIL on one with 20
scenes, so a lesson with too many scenes cannot pass by accident.

Skips (one line) without Debian's chromium or the playwright package. Never downloads a browser.
Screenshots go to $E3TEACH_SCREENSHOTS (or a temporary folder printed in the output; ``pytest -s`` or
``-rA`` shows it). Run alone: ``pytest tests/test_browser_lab.py``.
"""
from __future__ import annotations

import os
import time
from pathlib import Path

import nbformat
import pytest

import browser_util as bu
import preloaded_kernel

REPO = Path(__file__).resolve().parents[1]
LESSONS = ["00_start_here", "04_spherical_harmonics"]
RUN_TIMEOUT_S = 240  # a lesson runs in < 60 s on 2 cores; the browser shares them

_missing = bu.chromium_missing_reason()
pytestmark = pytest.mark.skipif(_missing is not None, reason=_missing or "")


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory) -> Path:
    folder = Path(os.environ.get("E3TEACH_SCREENSHOTS") or tmp_path_factory.mktemp("browser-screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    print(f"\nbrowser screenshots: {folder}")
    return folder


def _synthetic_notebook(path: Path, n_scenes: int, widget: bool) -> Path:
    """``n_scenes`` plotly 3D scenes (one figure each) and, optionally, the course's rotation widget."""
    cells = [nbformat.v4.new_code_cell(
        "import numpy as np, plotly.graph_objects as go, plotly.io as pio\n"
        "pio.renderers.default = 'plotly_mimetype'\n"
        + ("import torch\nfrom e3teach import widgets\n" if widget else "")  # torch only where needed (~s)
        + "rng = np.random.default_rng(0)")]
    for k in range(n_scenes):
        cells.append(nbformat.v4.new_code_cell(
            f"points = rng.normal(size=(30, 3))\n"
            f"go.Figure(go.Scatter3d(x=points[:, 0], y=points[:, 1], z=points[:, 2], mode='markers'),\n"
            f"          layout=dict(title='scene {k + 1} of {n_scenes}', height=300))"))
    if widget:
        cells.append(nbformat.v4.new_code_cell(
            "cloud = torch.tensor([[0., 0, 0], [1, 0, 0], [0, 1, 0], [1, 1, 1]])\n"
            "widgets.rotation_widget(cloud, lambda pos: pos - pos.mean(0), output='vector')"))
    notebook = nbformat.v4.new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(notebook, path)
    return path


ALT = "A line that rises from 0 to 1: the test's picture."
PLOTLY_ALT = "The orbital p_y as a surface: the test's interactive figure."


def _executed_twin_notebook(path: Path, lab: bu.LabServer) -> Path:
    """A widget and a matplotlib figure shown with ``viz.show(fig, alt=...)``, executed in a kernel outside the
    Lab (as ``e3teach-author run`` does): JupyterLab opens it UNTRUSTED, with no widget state, like a lesson
    from the repository or one reopened after its kernel stopped."""
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("from e3teach import viz, widgets"),
        nbformat.v4.new_code_cell("widgets.sh_selector(1)"),
        nbformat.v4.new_code_cell("fig, ax = viz.subplots(figsize=(3, 2))\nax.plot([0, 1], [0, 1])\nax.set(xlabel='x', ylabel='y')\n"
                                  f"viz.show(fig, alt={ALT!r})"),
        nbformat.v4.new_code_cell(f"viz.show(viz.sh_surface(1, 0), alt={PLOTLY_ALT!r})")])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    lab.execute(notebook)
    nbformat.write(notebook, path)
    return path


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """JupyterLab serving COPIES of the lessons under test and the synthetic notebooks."""
    root = tmp_path_factory.mktemp("lab-root")
    bu.copy_notebooks([REPO / "lessons" / f"{name}.ipynb" for name in LESSONS], root / "lessons")
    (root / "synthetic").mkdir()
    _synthetic_notebook(root / "synthetic" / "three_scenes_and_widget.ipynb", 3, widget=True)
    _synthetic_notebook(root / "synthetic" / "twenty_scenes.ipynb", 20, widget=False)
    server = bu.LabServer(root=root, state_dir=tmp_path_factory.mktemp("lab-state"),
                          preloaded_kernels=preloaded_kernel.wanted()).start()
    try:
        _executed_twin_notebook(root / "synthetic" / "reopened.ipynb", server)
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(bu.CHROMIUM), headless=True,
                                              args=bu.CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def _render(lab, browser, screenshots: Path, relative_path: str, *, move_sliders: bool = True) -> dict:
    """Run one notebook through the Lab UI in a fresh tab; return what it drew and every problem found."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(90_000)  # software WebGL on a busy CI machine: seconds per heavy frame
    context.add_init_script(bu.WEBGL_WATCH)
    page = context.new_page()
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    page.on("pageerror", lambda error: console.append(f"page error: {error}"))
    prefix = Path(relative_path).stem
    started = time.monotonic()
    try:
        n_code = bu.code_cell_count(lab.root / relative_path)
        stored = bu.stored_output_counts(lab.root / relative_path)
        timings = bu.run_notebook(page, lab, relative_path, n_code, timeout_s=RUN_TIMEOUT_S)
        bu.scroll_through(page)  # outputs are drawn when they come into view
        static_figures = bu.activate_static_figures(page)  # figures shown as their PNG twin until hovered
        bu.wait_for_plots(page, stored["plotly"])
        bu.wait_for_fast_frames(page)
        shots = bu.screenshot_plots(page, screenshots, prefix)
        texts = bu.screenshot_outputs_with_text(page, screenshots, prefix, "[✅❌⏳]")
        report = bu.render_report(page)
        slider_moves = []
        if move_sliders:
            bu.mark_widget_outputs(page)
            outputs = page.locator(".jp-Notebook [data-e3widget]")
            for index in range(outputs.count()):
                out = outputs.nth(index)
                if out.locator(".noUi-handle").count() and out.locator(".js-plotly-plot").count():
                    move = bu.move_slider_and_wait(page, out)
                    out.screenshot(path=str(screenshots / f"{prefix}_widget{index:02d}_after_slider.png"),
                                   timeout=90_000)
                    slider_moves.append(move)
        page.wait_for_timeout(500)
        after = bu.render_report(page)  # again: did redrawing lose a context?
    finally:
        context.close()
    problems = _problems(report, after, console, shots, slider_moves)
    for figure in static_figures:
        if not figure["png_loaded"] or not figure["interactive_drew"]:
            problems.append(f"figure shown as its PNG twin #{figure['index']}: PNG loaded {figure['png_loaded']}, "
                            f"interactive figure drawn on hover {figure['interactive_drew']}")
    top_level = [plot for plot in report["plots"] if not plot["in_widget"]]
    if len(top_level) < stored["plotly"]:
        problems.append(f"{len(top_level)} plotly figures (outside widgets) drawn, the stored notebook shows "
                        f"{stored['plotly']}")
    if len(report["widgets"]) < stored["widgets"]:
        problems.append(f"{len(report['widgets'])} widgets drawn, the stored notebook shows {stored['widgets']}")
    return {"report": report, "after": after, "static_figures": static_figures, "console": console, "shots": shots, "texts": texts,
            "slider_moves": slider_moves, "problems": problems, **timings,
            "total_s": time.monotonic() - started}


def _problems(report: dict, after: dict, console: list[str], shots: list[dict], slider_moves: list[dict]) -> list[str]:
    found = []
    lost_lines = [line for line in console if bu.LOST_CONTEXT_PATTERN.search(line)]
    if lost_lines:
        found.append(f"console: {len(lost_lines)} lost-WebGL-context messages, e.g. {lost_lines[0]!r}")
    for when, state in (("after run", report), ("after slider", after)):
        gl = state["webgl"]
        if gl["lost"] or gl["live_lost"]:
            found.append(f"{when}: {gl['lost']} WebGL contexts lost involuntarily, {gl['live_lost']} of the "
                         f"{gl['live_in_page']} on the page dead ({gl['created']} created)")
    found += [f"traceback/error in an output: {text[:200]!r}" for text in report["errors"]]
    for plot in report["plots"]:
        where = f"plotly figure {plot['index']} (cell {plot['cell']}, {plot['title']!r})"
        if not plot["svg"] or not plot["traces"]:
            found.append(f"{where} did not draw (svg={plot['svg']}, traces={plot['traces']})")
        if plot["scenes"] and plot["gl_canvases"] == 0:
            found.append(f"{where}: {plot['scenes']} 3D scenes but no WebGL canvas")
        if plot["gl_lost"] or plot["gl_empty"]:
            found.append(f"{where}: {plot['gl_lost']} canvases with a lost context, {plot['gl_empty']} of size 0")
    found += [f"plotly figure {shot['index']} left the page before its screenshot" for shot in shots if shot["vanished"]]
    for plot, shot in zip(report["plots"], shots):
        blank = [ink for ink in shot["canvas_ink"] if ink < 0.002]
        if plot["scenes"] and blank:
            found.append(f"plotly figure {plot['index']} (cell {plot['cell']}): a 3D canvas is blank in the "
                         f"screenshot {shot['path']} (ink {min(blank):.4f})")
    for widget in report["widgets"]:
        if not widget["rendered"] or "Error displaying widget" in widget["text"] or "Loading widget" in widget["text"]:
            found.append(f"widget in cell {widget['cell']} did not render: {widget['text'][:120]!r}")
    for move in slider_moves:
        if move["after"] == move["before"]:
            found.append(f"slider {move['value_before']} → {move['value_after']}: the figure was not redrawn")
    return found


def _summary(name: str, result: dict) -> str:
    gl = result["report"]["webgl"]
    return (f"{name}: open {result['open_s']:.0f} s, run {result['run_s']:.0f} s, total {result['total_s']:.0f} s; "
            f"{len(result['report']['plots'])} plotly figures "
            f"({sum(p['scenes'] for p in result['report']['plots'])} 3D scenes), "
            f"{len(result['static_figures'])} shown as PNG until hovered, {len(result['report']['widgets'])} widgets, {len(result['slider_moves'])} slider moves; "
            f"WebGL created {gl['created']}, lost {gl['lost']}, live {gl['live_in_page']}; "
            f"screenshot seconds {[shot['seconds'] for shot in result['shots']]}")


@pytest.mark.parametrize("lesson", LESSONS)
def test_lesson_draws_in_jupyterlab(lab, browser, screenshots, lesson):
    result = _render(lab, browser, screenshots, f"lessons/{lesson}.ipynb")
    print(_summary(lesson, result))
    assert not result["problems"], f"{lesson} in JupyterLab:\n- " + "\n- ".join(result["problems"])


def test_synthetic_small_notebook_passes(lab, browser, screenshots):
    """Positive control: 3 scenes and a widget draw, the slider redraws, no context is lost."""
    result = _render(lab, browser, screenshots, "synthetic/three_scenes_and_widget.ipynb")
    print(_summary("3 scenes + widget", result))
    assert not result["problems"], "\n- ".join(result["problems"])
    assert sum(p["scenes"] for p in result["report"]["plots"]) >= 4  # 3 scenes + the widget's
    assert len(result["slider_moves"]) == 1 and result["slider_moves"][0]["new_element"]


def test_check_fails_on_twenty_scenes(lab, browser, screenshots):
    """Negative control: 20 WebGL scenes on one page exceed the browser's limit; the check must say so."""
    result = _render(lab, browser, screenshots, "synthetic/twenty_scenes.ipynb", move_sliders=False)
    print(_summary("20 scenes", result))
    assert any("lost" in problem for problem in result["problems"]), result["problems"]


PICTURES_JS = """() => [...document.querySelectorAll('.jp-Notebook .jp-OutputArea-child')].map((child) => {
  const img = child.querySelector('img');
  const r = child.getBoundingClientRect();
  return {visible: r.height > 0 && getComputedStyle(child).display !== 'none', text: (child.innerText || '').slice(0, 80),
          img: img ? {cls: img.className, alt: img.getAttribute('alt'), loaded: img.complete && img.naturalWidth > 0} : null,
          live: !!child.querySelector('.e3teach-live')};
})"""


def test_reopened_notebook_shows_the_widget_twin_and_alt_texts(lab, browser, screenshots):
    """A notebook opened without its kernel (untrusted, no widget state) shows each widget's static twin, with
    its alt text, and matplotlib figures as <img alt>; once run, the live widget hides its twin."""
    relative = "synthetic/reopened.ipynb"
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(90_000)
    page = context.new_page()
    try:
        page.goto(f"{lab.url}/lab/tree/{relative}?reset", wait_until="domcontentloaded")
        page.locator(".jp-NotebookPanel .jp-Notebook .jp-Cell").first.wait_for(timeout=90_000)
        page.wait_for_function("() => document.querySelectorAll('.jp-Notebook img').length >= 2", timeout=90_000)
        page.wait_for_timeout(1500)
        opened = page.evaluate(PICTURES_JS)
        page.screenshot(path=str(screenshots / "reopened_without_kernel.png"), full_page=True)
        twins = [o for o in opened if o["img"] and "e3teach-twin" in o["img"]["cls"]]
        pictures = [o for o in opened if o["img"] and "e3teach-picture" in o["img"]["cls"]]
        assert len(twins) == 1 and twins[0]["visible"] and twins[0]["img"]["loaded"], opened
        assert twins[0]["img"]["alt"].startswith("A picture of the interactive widget"), opened
        assert "run the cell" in twins[0]["text"], opened
        assert not any("SHSelector(" in o["text"] for o in opened), opened      # a sentence, not a repr
        assert len(pictures) == 1 and pictures[0]["img"]["alt"] == ALT and pictures[0]["img"]["loaded"], opened
        caption = page.locator(".jp-Notebook .e3teach-caption")     # a plotly figure's alt, as a caption
        assert caption.count() == 1 and caption.inner_text() == f"Figure: {PLOTLY_ALT}"

        bu.run_notebook(page, lab, relative, 4)
        page.wait_for_selector(".jp-Notebook .e3teach-live", timeout=90_000)
        page.wait_for_timeout(1500)
        ran = page.evaluate(PICTURES_JS)
        page.screenshot(path=str(screenshots / "reopened_after_run.png"), full_page=True)
        assert any(o["live"] and o["visible"] for o in ran), ran
        assert [o for o in ran if o["img"] and "e3teach-twin" in o["img"]["cls"] and o["visible"]] == [], ran
        assert [o["img"]["alt"] for o in ran if o["img"] and "e3teach-picture" in o["img"]["cls"]] == [ALT], ran
    finally:
        context.close()
