"""The course website (`e3teach-author site`): built from the committed notebooks, checked in a real browser.

The pytest run builds a small site (lesson 00 and lesson 04 with its exercise and solution: maths, plotly
figures, a widget, badges). The whole course is built and checked when ``E3TEACH_SITE_FULL=1`` (a step of
``.ci/run``; measured on the 2-core dev machine under load: 60 s to build, 4.5 min with the browser check of
every lesson page), with screenshots of a sample of pages in ``_build/site_screenshots``.

In the browser (Debian's chromium through Playwright; the test skips, saying why, when either is absent),
every lesson page must have: no console error or failed request, every plotly figure drawn (SVG, and a WebGL
canvas for 3D scenes), every formula typeset by MathJax without error, no critical or serious accessibility finding (axe-core from a
local copy: ``pip install axe-playwright-python`` or $E3TEACH_AXE; without it, the test's own checks of the rules
the site once broke); and at phone width (390 px) no page wider than the screen, no plotly figure wider than its
box, with its title or annotations cut, or with its mode bar over the title. Without the browser: no broken
internal link or anchor on any page, and no page loads anything from the network.
"""
from __future__ import annotations

import os
import shutil
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--disable-gpu"]
FULL = os.environ.get("E3TEACH_SITE_FULL", "") not in ("", "0")
MINI = ["lessons/00_start_here.ipynb", "lessons/04_spherical_harmonics.ipynb",
        "exercises/04_spherical_harmonics.ipynb", "solutions/04_spherical_harmonics.ipynb"]
SCREENSHOTS = ["index", "lessons/00_start_here", "lessons/04_spherical_harmonics", "lessons/09_tetris",
               "exercises/04_spherical_harmonics", "TEACHING"]

pytest.importorskip("sphinx", reason="the site needs the [site] extra (sphinx, myst-nb, sphinx-book-theme)")
pytest.importorskip("myst_nb", reason="the site needs the [site] extra (myst-nb)")


class Page(HTMLParser):
    """The ids, links and loaded resources of one HTML page."""

    def __init__(self, text: str):
        super().__init__()
        self.ids, self.links, self.loads = set(), [], []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get("id"):
            self.ids.add(attrs["id"])
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])
        for key in ("src",) if tag in ("script", "img", "iframe") else ("href",) if tag == "link" else ():
            if attrs.get(key):
                self.loads.append(attrs[key])


def is_external(url: str) -> bool:
    return bool(urlsplit(url).scheme) or url.startswith("//")


def static_problems(out: Path) -> list[str]:
    """Broken internal links/anchors and network loads, over every page of the site."""
    pages = {p: Page(p.read_text(encoding="utf-8")) for p in out.rglob("*.html") if "_static" not in p.parts}
    problems = []
    for path, page in pages.items():
        name = path.relative_to(out)
        for url in page.loads:
            if is_external(url) and not url.startswith("data:"):
                problems.append(f"{name}: loads {url} from the network")
        for url in page.links + [u for u in page.loads if not is_external(u)]:
            if is_external(url) or url.startswith(("mailto:", "javascript:")):
                continue
            parts = urlsplit(url)
            target = (path.parent / unquote(parts.path)).resolve() if parts.path else path
            if not target.exists():
                problems.append(f"{name}: broken link {url}")
                continue
            if parts.fragment and target.suffix == ".html":
                ids = pages[target].ids if target in pages else Page(target.read_text(encoding="utf-8")).ids
                if unquote(parts.fragment) not in ids:
                    problems.append(f"{name}: link {url}: no #{parts.fragment} on that page")
    return problems


def browser():
    """A Playwright chromium on Debian's browser (never a downloaded one), or a skip that says why."""
    if not CHROMIUM.exists():
        pytest.skip(f"no {CHROMIUM}: apt-get install chromium to run the site's browser test")
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright to run the browser test")
    return sync_api.sync_playwright()


CHECK_PAGE = """async () => {
  const figs = [...document.querySelectorAll('div.e3teach-plotly')];
  const start = Date.now();
  while (figs.some(f => !f.dataset.drawn) && Date.now() - start < 120000) await new Promise(r => setTimeout(r, 100));
  let math = {sources: document.querySelectorAll('span.math, div.math').length, done: true};
  if (math.sources) {
    const t0 = Date.now();
    while (!(window.MathJax && MathJax.startup && MathJax.startup.promise) && Date.now() - t0 < 60000)
      await new Promise(r => setTimeout(r, 100));
    math.loaded = !!(window.MathJax && MathJax.startup && MathJax.startup.promise);
    math.done = math.loaded && await Promise.race([MathJax.startup.promise.then(() => true),
                                                   new Promise(r => setTimeout(() => r(false), 120000))]);
    math.rendered = document.querySelectorAll('span.math mjx-container, div.math mjx-container').length;
    math.errors = document.querySelectorAll('mjx-merror, [data-mjx-error]').length;
    math.raw = [...document.querySelectorAll('span.math, div.math')].filter(e => !e.querySelector('mjx-container')).length;
  }
  return {
    figures: figs.map(f => ({drawn: f.dataset.drawn || 'no', svg: !!f.querySelector('.main-svg'),
                             scenes: f.querySelectorAll('.gl-container').length,
                             canvases: [...f.querySelectorAll('.gl-container canvas')].filter(c => c.width > 0).length})),
    math,
    copy: document.querySelectorAll('button.copybtn').length,
    code: document.querySelectorAll('div.cell_input pre, div.highlight pre').length,
    launch: [...document.querySelectorAll('a')].filter(a => /mybinder|colab/.test(a.href)).length,
  };
}"""


def axe_script() -> Path | None:
    """axe-core (Deque's accessibility engine) from a local copy, never downloaded: $E3TEACH_AXE, or the copy
    inside the PyPI package ``axe-playwright-python`` (``pip install axe-playwright-python``). None: the
    browser test then runs :data:`OWN_A11Y_CHECKS`, the few rules the site once broke."""
    import importlib.util

    if os.environ.get("E3TEACH_AXE"):
        return Path(os.environ["E3TEACH_AXE"])
    spec = importlib.util.find_spec("axe_playwright_python")
    if spec and spec.submodule_search_locations:
        path = Path(list(spec.submodule_search_locations)[0]) / "axe.min.js"
        return path if path.exists() else None
    return None


# every rule, experimental ones too (label-content-name-mismatch is one), plus OWN_A11Y_CHECKS' file-name alt
AXE_RUN = """async () => {
  const rules = Object.fromEntries(axe.getRules(['experimental']).map(r => [r.ruleId, {enabled: true}]));
  // preload: false — axe would fetch the stylesheets again with XHR, which file:// pages refuse (console errors)
  const result = await axe.run(document, {resultTypes: ['violations'], rules, preload: false});
  return result.violations.map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.length,
                                      where: v.nodes.slice(0, 2).map(n => n.target.join(' ')).join(' | ')}));
}"""

# Without axe-core: image-alt (no alt, or a file name as alt), role="img" without a name, empty table header,
# a button or link without a name, a landmark-less page part (region: content outside every landmark).
OWN_A11Y_CHECKS = """() => {
  const found = [];
  const add = (id, impact, el) => found.push({id, impact, nodes: 1, where: el.outerHTML.slice(0, 120)});
  const hidden = (el) => !!el.closest('[aria-hidden="true"]') || getComputedStyle(el).display === 'none';
  const byIds = (el) => (el.getAttribute('aria-labelledby') || '').split(/\\s+/).filter(Boolean)
    .map(id => (document.getElementById(id) || {}).textContent || '').join(' ');
  const name = (el) => (el.getAttribute('aria-label') || byIds(el) || el.getAttribute('title') || el.textContent || '').trim()
    || [...el.querySelectorAll('img[alt], svg title')].map(i => i.alt || i.textContent).join('').trim();
  document.querySelectorAll('img').forEach(img => {
    if (!img.hasAttribute('alt') || /\\.(png|svg|jpe?g|gif)$/i.test(img.alt)) add('image-alt', 'critical', img);
  });
  document.querySelectorAll('[role="img"]').forEach(el => { if (!hidden(el) && !name(el)) add('role-img-alt', 'serious', el); });
  document.querySelectorAll('th').forEach(th => { if (!th.textContent.trim() && !th.getAttribute('aria-label'))
    add('empty-table-header', 'minor', th); });
  document.querySelectorAll('button, a[href]').forEach(el => { if (!hidden(el) && !name(el)) add('button-name', 'critical', el); });
  return found;
}"""

PHONE = {"width": 390, "height": 844}

# At phone width: the page no wider than the screen; every element inside the screen or inside a box that
# scrolls sideways (a wide table, an equation; a box that hides what overflows cuts it); every plotly figure no wider than its box, its title and
# annotations inside the figure, the mode bar off the title.
PHONE_CHECK = """() => {
  const vw = document.documentElement.clientWidth;
  const scrolls = (el) => { for (let a = el.parentElement; a; a = a.parentElement) {
      const s = getComputedStyle(a); if (/(auto|scroll)/.test(s.overflowX) && a.clientWidth < vw) return true; }
    return false; };
  const wide = [];
  for (const el of document.querySelectorAll('body *')) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0 || r.right <= vw + 1 || el.closest('.e3teach-plotly')) continue;
    if (getComputedStyle(el).position === 'fixed' || scrolls(el)) continue;
    const parent = el.parentElement && el.parentElement.getBoundingClientRect();
    if (parent && parent.right > vw + 1 && !scrolls(el.parentElement)) continue;   // report the outermost only
    wide.push(`<${el.tagName.toLowerCase()} class="${el.className && el.className.baseVal === undefined ? el.className : ''}">`
              + ` ${Math.round(r.width)} px wide, right edge at ${Math.round(r.right)} px`);
  }
  const figures = [...document.querySelectorAll('div.e3teach-plotly')].map((gd, index) => {
    const box = gd.getBoundingClientRect();
    const inside = (r) => r.left >= box.left - 1 && r.right <= box.right + 1 && r.top >= box.top - 1 && r.bottom <= box.bottom + 1;
    const svg = gd.querySelector('.main-svg');
    const problems = [];
    if (svg && svg.getBoundingClientRect().width > box.width + 1)
      problems.push(`plotly figure ${index + 1} is ${Math.round(svg.getBoundingClientRect().width)} px wide in a ${Math.round(box.width)} px box`);
    if (box.right > vw + 1) problems.push(`plotly figure ${index + 1} ends at ${Math.round(box.right)} px on a ${vw} px screen`);
    for (const el of gd.querySelectorAll('.gtitle, .annotation-text-g text, .infolayer .annotation')) {
      const r = el.getBoundingClientRect();
      if (r.width && !inside(r)) problems.push(`plotly figure ${index + 1}: "${(el.textContent || '').slice(0, 40)}" is cut (outside the figure)`);
    }
    const full = gd._fullLayout || {};
    const sizes = [...((full._subplots || {}).gl3d || []).map(k => full[k].domain.x),
                   ...((full._subplots || {}).xaxis || []).map(k => full[k.replace('x', 'xaxis')].domain)];
    for (const d of sizes)
      if (d && (d[1] - d[0]) * (full._size ? full._size.w : box.width) < 150)
        problems.push(`plotly figure ${index + 1}: a panel is ${Math.round((d[1] - d[0]) * full._size.w)} px wide`);
    const title = gd.querySelector('.gtitle'), bar = gd.querySelector('.modebar');
    if (title && bar && bar.getBoundingClientRect().width) {
      const a = title.getBoundingClientRect(), b = bar.getBoundingClientRect();
      if (a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom)
        problems.push(`plotly figure ${index + 1}: the mode bar covers the title`);
    }
    return problems;
  }).flat();
  return {page_width: document.documentElement.scrollWidth, viewport: vw, wide: wide.slice(0, 8), figures};
}"""


def browser_check(out: Path, page_names: list[str], screenshots: Path | None = None, base: str | None = None,
                  viewport: dict | None = None, shoot: list[str] | None = None, a11y: bool = True) -> dict:
    """Open each page (from file://, or from ``base``, a local server's URL) and check it; returns {page: result}.

    ``viewport``: the window (default: desktop, 1280 x 900); at phone width (< 600 px) each result also holds
    ``phone``, what :data:`PHONE_CHECK` found. ``a11y``: run axe-core (or :data:`OWN_A11Y_CHECKS`)."""
    results = {}
    viewport = viewport or {"width": 1280, "height": 900}
    shoot = SCREENSHOTS if shoot is None else shoot
    axe = axe_script() if a11y else None
    with browser() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            context = chromium.new_context(viewport=viewport)
            context.set_default_timeout(180_000)
            local = ("file:", "data:", "blob:", "about:") + ((base,) if base else ())
            context.route(lambda url: not url.startswith(local),
                          lambda route: route.abort())                     # the site must need no network
            for name in page_names:
                errors = []
                page = context.new_page()
                page.on("console", lambda msg, e=errors: e.append(f"console: {msg.text}") if msg.type == "error" else None)
                page.on("pageerror", lambda exc, e=errors: e.append(f"page error: {exc}"))
                page.on("requestfailed", lambda req, e=errors: e.append(f"request failed: {req.url}"))
                url = f"{base}/{name}.html" if base else (out / f"{name}.html").as_uri()
                page.goto(url, wait_until="load", timeout=180_000)
                found = page.evaluate(CHECK_PAGE)
                found["errors"] = errors
                if viewport["width"] < 600:
                    found["phone"] = page.evaluate(PHONE_CHECK)
                if a11y:
                    if axe is not None:
                        page.add_script_tag(path=str(axe))
                        found["a11y"] = page.evaluate(AXE_RUN) + [
                            v for v in page.evaluate(OWN_A11Y_CHECKS) if v["id"] == "image-alt"]
                    else:
                        found["a11y"] = page.evaluate(OWN_A11Y_CHECKS)
                    found["a11y_engine"] = "axe-core" if axe is not None else "own checks"
                if screenshots is not None and name in shoot:
                    suffix = "" if viewport["width"] >= 600 else f"__{viewport['width']}px"
                    shot = screenshots / f"{name.replace('/', '__')}{suffix}.png"
                    page.screenshot(path=str(shot), full_page=viewport["width"] < 600)
                    found["screenshot"] = shot
                    if found["figures"] and viewport["width"] >= 600:     # and the first interactive figure, drawn
                        figure = page.locator("div.e3teach-plotly").first
                        figure.scroll_into_view_if_needed()
                        figure.screenshot(path=str(shot.with_name(shot.stem + "__figure.png")))
                results[name] = found
                page.close()
        finally:
            chromium.close()
    return results


def page_problems(name: str, found: dict) -> list[str]:
    problems = [f"{name}: {e}" for e in found["errors"]]
    for k, fig in enumerate(found["figures"]):
        if fig["drawn"] != "1" or not fig["svg"]:
            problems.append(f"{name}: plotly figure {k + 1} not drawn ({fig})")
        if fig["scenes"] and fig["canvases"] < 1:
            problems.append(f"{name}: plotly figure {k + 1} has a 3D scene without a WebGL canvas")
    math = found["math"]
    if math["sources"]:
        if not math["done"] or math["errors"] or math["raw"] or math["rendered"] < math["sources"]:
            problems.append(f"{name}: maths not rendered ({math})")
    if found["code"] and found["copy"] == 0:
        problems.append(f"{name}: code cells without a copy button")
    if name.startswith(("lessons/", "exercises/", "solutions/")) and found["launch"] < 2:
        problems.append(f"{name}: no Binder/Colab links")
    phone = found.get("phone")
    if phone:
        if phone["page_width"] > phone["viewport"] + 1:
            problems.append(f"{name}: the page is {phone['page_width']} px wide on a {phone['viewport']} px screen")
        problems += [f"{name}: at {phone['viewport']} px, {w}" for w in phone["wide"]]
        problems += [f"{name}: at {phone['viewport']} px, {f}" for f in phone["figures"]]
    for v in found.get("a11y", []):
        if v["impact"] in ("critical", "serious"):
            problems.append(f"{name}: accessibility ({found['a11y_engine']}): {v['impact']} {v['id']} "
                            f"on {v['nodes']} element(s), e.g. {v['where']}")
    return problems


def lesson_pages(out: Path) -> list[str]:
    return sorted(p.relative_to(out).with_suffix("").as_posix() for p in (out / "lessons").glob("*.html"))


@pytest.fixture(scope="module")
def mini_site(tmp_path_factory):
    from e3teach.authoring.site import build

    out = tmp_path_factory.mktemp("site") / "site"
    report = build(ROOT, out=out, only=MINI)
    return out, report


def test_mini_site_builds_offline(mini_site):
    out, report = mini_site
    assert report.notebooks == 4 and report.figures >= 3, report
    assert (out / "index.html").exists() and (out / "lessons" / "04_spherical_harmonics.html").exists()
    assert (out / "_static" / "plotly.min.js").exists() and (out / "_static" / "mathjax" / "tex-svg.js").exists()
    assert static_problems(out) == []
    lesson = (out / "lessons" / "04_spherical_harmonics.html").read_text()
    assert "e3teach-plotly" in lesson and "application/vnd.plotly" not in lesson
    assert "plotly.min.js" in lesson and "plotly.min.js" not in (out / "AUTHORING.html").read_text()
    assert "../exercises/04_spherical_harmonics.html" in lesson and "../solutions/04_spherical_harmonics.html" in lesson
    start = (out / "lessons" / "00_start_here.html").read_text()
    assert "widget-view" not in start and "RotationWidget(" not in start    # widgets show their static twin
    index = (out / "index.html").read_text()
    assert "lessons/00_start_here.html" in index and "How to take the course" in index   # the learners' page
    assert "Run the tests" not in index and "Layout" not in index          # not the README's developer sections
    assert "lessons/04_spherical_harmonics.html" in index and "exercises/04_spherical_harmonics.html" in index
    assert 'rel="icon"' in index and (out / "_static" / "favicon.svg").exists()
    assert 'search-button-field search-button__button pst-js-only" title="Search" aria-label' not in lesson
    assert list(out.rglob("*.map")) == [] and "sourceMappingURL" not in "".join(
        p.read_text(errors="replace") for p in (out / "_static").rglob("*.js"))
    import re

    pictures = re.findall(r'<img alt="([^"]*)" src="[^"]*_images/', lesson + start)
    assert pictures and not [alt for alt in pictures if alt.endswith(".png") or not alt]  # alt texts, not file names
    assert lesson.count('<figure class="e3teach-figure" aria-label="') == lesson.count('class="e3teach-plotly"')
    assert "e3teach-caption" not in lesson          # viz.show's caption: the figure is named by the same text


def test_the_site_names_a_plotly_figure_by_its_alt_and_leaves_its_lab_caption_out(tmp_path, monkeypatch):
    import nbformat
    import plotly.graph_objects as go
    from IPython import display as ipd

    from e3teach import viz
    from e3teach.authoring.site import stage_notebook

    shown = []
    monkeypatch.setattr(ipd, "display", lambda bundle, raw, metadata: shown.append((bundle, metadata)))
    viz.show(go.Figure(go.Scatter(x=[0, 1], y=[0, 1])), alt="A rising line.")
    outputs = [nbformat.v4.new_output("display_data", data=bundle, metadata=metadata or {})
               for bundle, metadata in shown]
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("viz.show(...)", outputs=outputs)])
    staged, figures = stage_notebook(notebook, "lessons/x.ipynb", set(), tmp_path)
    code = [cell for cell in staged.cells if cell.cell_type == "code"]
    assert len(outputs) == 2 and figures == 1 and len(code[0].outputs) == 1
    assert 'aria-label="A rising line."' in code[0].outputs[0].data["text/html"]


def test_mini_site_in_the_browser(mini_site):
    """Desktop (with axe-core, or the own checks when it is absent: 0 critical and 0 serious findings), then a
    phone (390 px): no page wider than the screen, no plotly figure wider than its box or with text cut."""
    out, _ = mini_site
    pages = lesson_pages(out) + ["exercises/04_spherical_harmonics", "index"]
    results = browser_check(out, pages)
    problems = [p for name, found in results.items() for p in page_problems(name, found)]
    phone = browser_check(out, pages, viewport=PHONE, a11y=False)
    problems += [p for name, found in phone.items() for p in page_problems(name, found)]
    assert problems == []
    lesson = results["lessons/04_spherical_harmonics"]
    assert len(lesson["figures"]) >= 2 and any(f["scenes"] for f in lesson["figures"])
    assert lesson["math"]["sources"] > 10


def test_phone_check_fails_on_cut_content(mini_site, tmp_path):
    """Negative control: a page wider than the phone and a figure whose annotation lies outside it must fail."""
    import json

    out, _ = mini_site
    shutil.copy(out / "_static" / "plotly.min.js", tmp_path / "plotly.min.js")
    figure = {"data": [{"type": "scatter", "x": [0, 1], "y": [0, 1]}],
              "layout": {"width": 900, "annotations": [{"text": "far away", "x": 1.6, "y": 0.5, "xref": "paper",
                                                         "yref": "paper", "showarrow": False}]}}
    (tmp_path / "cut.html").write_text(f"""<!doctype html><html lang="en"><head><title>cut</title>
<script src="plotly.min.js"></script></head><body><main><div style="width:700px">a wide block</div>
<div class="e3teach-plotly" id="f"></div><script>
Plotly.newPlot("f", {json.dumps(figure)}).then(() => document.getElementById("f").dataset.drawn = "1");
</script></main></body></html>""")
    found = browser_check(tmp_path, ["cut"], viewport=PHONE, a11y=False)["cut"]
    problems = " | ".join(page_problems("cut", found))
    assert "the page is" in problems and "px wide on a 390 px screen" in problems
    assert "plotly figure 1 is 900 px wide" in problems and '"far away" is cut' in problems


def test_site_from_a_local_http_server(mini_site):
    import functools
    import http.server
    import threading

    out, _ = mini_site
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(out))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        # What differs from file:// is loading (scripts, figures, maths): lesson 00, the lightest page that loads
        # all three (software WebGL draws every 3D scene on the CPU); axe ran on it in the desktop test.
        results = browser_check(out, ["lessons/00_start_here"], base=f"http://127.0.0.1:{server.server_port}",
                                a11y=False)
    finally:
        server.shutdown()
        server.server_close()
    assert [p for name, found in results.items() for p in page_problems(name, found)] == []
    lesson = results["lessons/00_start_here"]
    assert lesson["figures"] and lesson["math"]["sources"] and lesson["code"]   # it loaded what it must


def test_site_builds_from_file_or_http_server(mini_site):
    """Every link and resource is relative: the folder works from file:// and from any local HTTP server."""
    out, _ = mini_site
    for page in out.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        assert 'src="/' not in text and 'href="/' not in text, page


@pytest.mark.skipif(not FULL, reason="the whole-course site is built by .ci/run (E3TEACH_SITE_FULL=1)")
def test_full_site():
    from e3teach.authoring.site import build

    out = ROOT / "_build" / "site"
    report = build(ROOT, out=out)
    print(report)
    assert static_problems(out) == []
    shots = ROOT / "_build" / "site_screenshots"
    shutil.rmtree(shots, ignore_errors=True)
    shots.mkdir(parents=True)
    pages = lesson_pages(out)
    assert len(pages) >= 18
    extra = [n for n in SCREENSHOTS if n not in pages and (out / f"{n}.html").exists()]
    results = browser_check(out, pages + extra, screenshots=shots)
    problems = [p for name, found in results.items() for p in page_problems(name, found)]
    phone = browser_check(out, pages + extra, screenshots=shots, viewport=PHONE, a11y=False)
    problems += [p for name, found in phone.items() for p in page_problems(name, found)]
    figures = sum(len(f["figures"]) for f in results.values())
    formulas = sum(f["math"]["sources"] for f in results.values())
    print(f"browser: {len(results)} pages, {figures} plotly figures drawn, {formulas} formulas typeset, "
          f"screenshots in {shots}")
    assert problems == []


def test_build_refuses_a_folder_that_is_not_a_site(tmp_path):
    from e3teach.authoring.site import build

    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(SystemExit, match="not an e3teach site"):
        build(ROOT, out=tmp_path)
    assert (tmp_path / "notes.txt").read_text() == "mine"
