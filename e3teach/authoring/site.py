"""The course website: ``e3teach-author site`` builds a static HTML site of the committed, executed notebooks
into ``_build/site`` with Sphinx + myst-nb + sphinx-book-theme — nothing is executed and nothing is downloaded
(plotly.js comes from the ``plotly`` package, MathJax 3 from ``sphinx-mathjax-offline``). See ``site/conf.py``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from .badges import lesson_title
from .course import BINDER_BADGE, BRANCH, COLAB_BADGE, HEADER_CELL_ID, REPOSITORY, header_markdown

__all__ = [
    "build", "stage", "stage_notebook", "landing_page", "set_image_alts", "fix_theme_html",
    "drop_source_maps", "SiteReport",
]

# The notebooks are NOT executed: their committed outputs are what the site shows. Before Sphinx reads them,
# a staged copy (``_build/site_src``) is prepared:
# - a plotly output (``application/vnd.plotly.v1+json``) becomes a small HTML block that the page's script
#   draws with the local plotly.js (interactive: rotate, zoom, hover); its PNG twin is left for GitHub;
#   it carries the figure's text alternative (``viz.show(fig, alt=...)``) as the aria-label of its <figure>;
# - a picture (PNG) gets its text alternative as ``alt`` (after the build: Sphinx would write the file name);
# - a widget output keeps only its static twin (a page has no kernel to drive the widget);
# - badge images point at local copies, and links to repository files that are not pages (``.py``, ``.yml``)
#   point at the repository on GitHub, so that no link on the site is broken;
# - each notebook gets a line of links: Binder, Colab, your own JupyterLab, the lesson's other notebooks,
#   the glossary and the cheat sheet.

PLOTLY_MIME = "application/vnd.plotly.v1+json"
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
NOTEBOOK_FOLDERS = (("lessons", "Lessons"), ("exercises", "Exercises"), ("solutions", "Solutions"))
ROOT_PAGES = (("GLOSSARY.md", "Reference"), ("CHEATSHEET.md", "Reference"),
              ("TEACHING.md", "For teachers"), ("AUTHORING.md", "For teachers"))
LOCAL_JUPYTERLAB = "http://localhost:8888/lab/tree/"
WIDGET_NOTE = ('<p class="e3teach-widget-note"><em>An interactive widget: it needs a running notebook. Open this '
               'page in JupyterLab, Binder or Colab (links at the top) to use it.</em></p>')
LINK = re.compile(r"(!?\[[^\]]*\]\()([^)\s]+)(\))")


#: the alt of a picture whose output has none (every figure should have one: ``viz.show(fig, alt=...)``)
NO_ALT = "A figure of the notebook (no text description yet)."
IMAGE_SRC = re.compile(r'<img alt="[^"]*" src="([^"]*?/_images/([0-9a-f]{64})\.png)"')


def output_alt(out) -> str | None:
    """The text alternative stored with an output: ``metadata["image/png"]["alt"]`` (see ``viz.show``)."""
    alt = ((out.get("metadata") or {}).get("image/png") or {}).get("alt")
    return " ".join(str(alt).split()) if alt else None


def _plotly_html(figure: dict, index: int, alt: str | None = None) -> str:
    import html
    import json

    text = json.dumps({"data": figure.get("data", []), "layout": figure.get("layout", {}),
                       "config": figure.get("config", {})}, separators=(",", ":"))
    text = text.replace("</", "<\\/")            # the JSON cannot close its <script> element
    height = (figure.get("layout") or {}).get("height") or 450
    title = ((figure.get("layout") or {}).get("title") or {})
    title = title.get("text") if isinstance(title, dict) else title
    name = html.escape(alt or re.sub(r"<[^>]+>", " ", title or "") or "An interactive figure", quote=True)
    # a <figure> named by the alt text (role="img" would make plotly's controls inside it "nested-interactive")
    return (f'<figure class="e3teach-figure" aria-label="{name}">'
            f'<div class="e3teach-plotly" id="e3teach-plotly-{index}" style="width:100%;min-height:{int(height)}px">'
            f'</div>\n<script type="application/json" class="e3teach-plotly-data">{text}</script></figure>\n')


def _site_links(path: str, pages: set[str]) -> str:
    """The link line of a notebook on the site: like :func:`header_markdown`, plus "your JupyterLab"."""
    header = header_markdown(path, exists=lambda target: target in pages)
    badges, _, rest = header.partition("  ·  ")
    local = f"[your JupyterLab]({LOCAL_JUPYTERLAB}{path})"
    return f"{badges}  ·  open in {local}" + (f"  ·  {rest}" if rest else "")


def _rewrite_links(text: str, page: str, pages: set[str], root: Path) -> str:
    """Badge images → local copies; a relative link to a repository file that is not a page → GitHub."""
    import posixpath

    folder = posixpath.dirname(page)

    def fix(match):
        before, target, after = match.groups()
        if target == BINDER_BADGE:
            return f"{before}{posixpath.relpath('_badges/binder-badge.svg', folder or '.')}{after}"
        if target == COLAB_BADGE:
            return f"{before}{posixpath.relpath('_badges/colab-badge.svg', folder or '.')}{after}"
        if re.match(r"^[a-z][a-z0-9+.-]*:|^#", target):
            return match.group(0)
        file, _, anchor = target.partition("#")
        resolved = posixpath.normpath(posixpath.join(folder, file))
        if resolved == "README.md":                      # the landing page
            return f"{before}{posixpath.relpath('index.md', folder or '.')}{'#' + anchor if anchor else ''}{after}"
        if resolved in pages or resolved.startswith(".."):
            return match.group(0)
        kind = "tree" if (root / resolved).is_dir() else "blob"
        url = f"{REPOSITORY}/{kind}/{BRANCH}/{resolved}" + (f"#{anchor}" if anchor else "")
        return f"{before}{url}{after}"

    return LINK.sub(fix, text)


def stage_notebook(nb, path: str, pages: set[str], root: Path, alts: dict | None = None):
    """The copy of a notebook that the site renders (see the comment above); returns (notebook, figures).

    ``alts``: filled with {sha256 of a PNG: its text alternative}, for :func:`set_image_alts`."""
    import base64
    import copy
    import hashlib

    import nbformat

    from ..viz import CAPTION_KEY

    nb = copy.deepcopy(nb)
    nb.metadata.pop("widgets", None)
    figures = 0
    for index, cell in enumerate(nb.cells):
        cell.setdefault("id", f"cell-{index}")
        if cell.cell_type == "markdown":
            cell.source = _rewrite_links(cell.source, path, pages, root)
        if cell.cell_type != "code":
            continue
        # viz.show's caption under a plotly figure: here the figure itself is named by the same text
        cell.outputs = [out for out in cell.get("outputs", []) if not (out.get("metadata") or {}).get(CAPTION_KEY)]
        for out in cell.outputs:
            data = out.get("data")
            if not data:
                continue
            alt = output_alt(out)
            if PLOTLY_MIME in data:
                figures += 1
                out["data"] = nbformat.NotebookNode({"text/html": _plotly_html(data[PLOTLY_MIME], figures, alt)})
                out.setdefault("metadata", {})
                continue
            html_picture = str(data.get("text/html", ""))
            if "image/png" in data and html_picture.startswith(('<img class="e3teach-', '<figure class="e3teach-')):
                del data["text/html"]          # viz.show's <img alt>: the site writes the PNG as a file, alt added
            if "image/png" in data and alts is not None:
                png = base64.b64decode("".join(data["image/png"]))
                alts[hashlib.sha256(png).hexdigest()] = alt or NO_ALT
            if WIDGET_MIME in data:
                del data[WIDGET_MIME]
                if not any(key.startswith("image/") for key in data):     # no twin: say where it works
                    out["data"] = nbformat.NotebookNode({"text/html": WIDGET_NOTE})
    links = nbformat.v4.new_markdown_cell(_rewrite_links(_site_links(path, pages), path, pages, root))
    links.id = "site-links"
    nb.cells = [c for c in nb.cells if c.get("id") != HEADER_CELL_ID]
    nb.cells.insert(1 if nb.cells and nb.cells[0].cell_type == "markdown" else 0, links)
    return nb, figures


def _mathjax_folder() -> Path:
    """MathJax 3.2.2 as shipped by the PyPI package ``sphinx-mathjax-offline`` (its folder is not importable)."""
    import importlib.metadata

    try:
        folder = Path(importlib.metadata.distribution("sphinx-mathjax-offline")
                      .locate_file("sphinx-mathjax-offline/static/mathjax"))
    except importlib.metadata.PackageNotFoundError:
        folder = None
    if folder is None or not (folder / "tex-svg.js").exists():
        raise SystemExit("the site serves MathJax itself (no CDN): pip install sphinx-mathjax-offline "
                         "(or pip install -e \".[site]\")")
    return folder


def _vendor(staging: Path) -> Path:
    """plotly.js (from the plotly package) and MathJax 3 (from sphinx-mathjax-offline), for offline pages."""
    import shutil

    import plotly

    vendor = staging / "_vendor"
    vendor.mkdir(parents=True)
    shutil.copy(Path(plotly.__file__).parent / "package_data" / "plotly.min.js", vendor / "plotly.min.js")
    mathjax = _mathjax_folder()
    for part in ("tex-svg.js", "input/tex/extensions", "a11y", "ui", "LICENSE"):
        source = mathjax / part
        if source.is_dir():
            shutil.copytree(source, vendor / "mathjax" / part)
        elif source.exists():
            (vendor / "mathjax" / part).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(source, vendor / "mathjax" / part)
    return vendor


def stage(root: Path, staging: Path, only: list[str] | None = None) -> dict:
    """Write the Sphinx source folder: staged notebooks, the landing page, the root pages, the toctrees."""
    import shutil

    import nbformat

    root = Path(root)
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    notebooks = [f"{folder}/{p.name}" for folder, _ in NOTEBOOK_FOLDERS for p in sorted((root / folder).glob("*.ipynb"))]
    if only is not None:
        wanted = {Path(p).as_posix().removeprefix("./") for p in only}
        notebooks = [p for p in notebooks if p in wanted]
    docs = [name for name, _ in ROOT_PAGES if (root / name).exists()]
    pages = set(notebooks) | set(docs) | {"README.md"}
    figures, alts = {}, {}
    for path in notebooks:
        nb, count = stage_notebook(nbformat.read(root / path, as_version=4), path, pages, root, alts)
        target = staging / path
        target.parent.mkdir(exist_ok=True)
        nbformat.write(nb, target)
        figures[path] = count
    for name in docs:
        (staging / name).write_text(_rewrite_links((root / name).read_text(), name, pages, root))
    index = _rewrite_links(landing_page(root, notebooks, pages), "index.md", pages, root)
    trees = []
    for folder, caption in NOTEBOOK_FOLDERS:
        entries = [p.removesuffix(".ipynb") for p in notebooks if p.startswith(folder + "/")]
        if entries:
            trees.append((caption, entries))
    for caption in dict.fromkeys(c for _, c in ROOT_PAGES):
        entries = [name.removesuffix(".md") for name, c in ROOT_PAGES if c == caption and name in docs]
        if entries:
            trees.append((caption, entries))
    for caption, entries in trees:
        index += f"\n\n```{{toctree}}\n:hidden:\n:caption: {caption}\n\n" + "\n".join(entries) + "\n```\n"
    (staging / "index.md").write_text(index)
    (staging / "_badges").mkdir()
    for badge in ("binder-badge.svg", "colab-badge.svg"):
        shutil.copy(root / "site" / "_static" / badge, staging / "_badges" / badge)
    _vendor(staging)
    return {"notebooks": notebooks, "docs": docs, "figures": figures, "alts": alts}


def landing_page(root: Path, notebooks: list[str], pages: set[str]) -> str:
    """The learners' home page (``site/index.md.in``, not the README with its developer sections), with the list
    of the lessons that are built, each with its exercise and solution."""
    lines = []
    for path in (p for p in notebooks if p.startswith("lessons/")):
        name = path.split("/", 1)[1]
        links = [f"[{label}]({folder}/{name})" for folder, label in (("exercises", "exercise"),
                                                                    ("solutions", "solution"))
                 if f"{folder}/{name}" in pages]
        lines.append(f"- **{name.split('_', 1)[0]}** [{lesson_title(root / path)}]({path})"
                     + (" · " + " · ".join(links) if links else ""))
    template = (root / "site" / "index.md.in").read_text()
    return template.replace("{course_map}", "\n".join(lines)).replace("{repository}", REPOSITORY)


def set_image_alts(out: Path, alts: dict[str, str]) -> int:
    """Give every output picture of the built pages its text alternative (Sphinx writes the file name as
    ``alt``); returns the number of pictures changed."""
    import html

    changed = 0
    for page in out.rglob("*.html"):
        text = page.read_text(encoding="utf-8")

        def fix(match):
            nonlocal changed
            changed += 1
            return f'<img alt="{html.escape(alts.get(match.group(2), NO_ALT), quote=True)}" src="{match.group(1)}"'

        new = IMAGE_SRC.sub(fix, text)
        if new != text:
            page.write_text(new, encoding="utf-8")
    return changed


#: What the theme writes that accessibility checkers (axe-core) flag, and its fix. The search field's button
#: is named "Search" but shows "Search Ctrl+K" (label-content-name-mismatch: let its text name it); the
#: logo sits outside every landmark (region: name the primary sidebar as one); an empty table header cell
#: (empty-table-header: an empty corner of a table is a plain cell).
THEME_FIXES = (
    (re.compile(r'(<button class="btn search-button-field[^"]*" title="Search") aria-label="Search"'), r"\1"),
    (re.compile(r'<div id="pst-primary-sidebar" class="bd-sidebar-primary bd-sidebar"'),
     '<div id="pst-primary-sidebar" class="bd-sidebar-primary bd-sidebar" role="region" aria-label="Course contents"'),
    (re.compile(r'<th class="head">(?:<p></p>)?</th>'), '<td class="head"></td>'),
)


def fix_theme_html(out: Path) -> None:
    """Apply :data:`THEME_FIXES` to every page."""
    for page in out.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        new = text
        for pattern, replacement in THEME_FIXES:
            new = pattern.sub(replacement, new)
        if new != text:
            page.write_text(new, encoding="utf-8")


def drop_source_maps(out: Path) -> int:
    """The theme's ``.map`` files (3.4 MB, for debugging its JavaScript) are no use to readers: delete them and
    the comments that point at them; returns the bytes saved."""
    saved = 0
    for path in (out / "_static").rglob("*.map"):
        saved += path.stat().st_size
        path.unlink()
    for path in [*(out / "_static").rglob("*.js"), *(out / "_static").rglob("*.css")]:
        text = path.read_text(encoding="utf-8", errors="surrogateescape")
        if "sourceMappingURL=" in text:
            path.write_text(re.sub(r"\n?(//# sourceMappingURL=\S+|/\*# sourceMappingURL=\S+ \*/)\s*$", "\n", text),
                            encoding="utf-8", errors="surrogateescape")
    return saved


@dataclass
class SiteReport:
    out: Path
    seconds: float
    pages: int
    notebooks: int
    figures: int
    bytes: int
    warnings: int

    def __str__(self) -> str:
        return (f"site built in {self.seconds:.1f} s: {self.pages} pages ({self.notebooks} notebooks, "
                f"{self.figures} interactive figures), {self.bytes / 1e6:.1f} MB in {self.out} "
                f"({self.warnings} warnings) — open {self.out / 'index.html'}")


def build(root: Path | str = ".", out: Path | str | None = None, only: list[str] | None = None,
          quiet: bool = True) -> SiteReport:
    """Build the course website (static HTML) from the committed notebooks; nothing is executed or fetched."""
    import io
    import shutil
    import time

    try:
        from sphinx.application import Sphinx
    except ImportError as exc:
        raise SystemExit("the site needs Sphinx, myst-nb and sphinx-book-theme: pip install -e \".[site]\"") from exc

    start = time.perf_counter()
    root = Path(root).resolve()
    out = Path(out).resolve() if out is not None else root / "_build" / "site"
    staging = out.parent / (out.name + "_src")
    marker = out / ".e3teach-site"
    if out.exists() and any(out.iterdir()):
        if not marker.exists():
            raise SystemExit(f"{out} exists and is not an e3teach site: choose an empty folder with --out")
        shutil.rmtree(out)                      # no stale pages (a renamed lesson) survive a rebuild
    staged = stage(root, staging, only)
    warnings = io.StringIO()
    app = Sphinx(srcdir=str(staging), confdir=str(root / "site"), outdir=str(out),
                 doctreedir=str(out.parent / (out.name + "_doctrees")), buildername="html",
                 status=None if quiet else __import__("sys").stdout, warning=warnings, freshenv=True,
                 confoverrides={"html_static_path": [str(root / "site" / "_static"), str(staging / "_vendor")]})
    app.build(force_all=True)
    if app.statuscode:
        raise RuntimeError(f"sphinx failed:\n{warnings.getvalue()}")
    set_image_alts(out, staged["alts"])
    fix_theme_html(out)
    drop_source_maps(out)
    (out / ".nojekyll").write_text("")
    marker.write_text("built by e3teach-author site; deleted and rebuilt by it\n")
    files = [p for p in out.rglob("*") if p.is_file()]
    report = SiteReport(out, time.perf_counter() - start, len(staged["notebooks"]) + len(staged["docs"]) + 1,
                        len(staged["notebooks"]), sum(staged["figures"].values()),
                        sum(p.stat().st_size for p in files), warnings.getvalue().count("WARNING"))
    (out / "_warnings.txt").write_text(warnings.getvalue())
    return report
