"""Sphinx configuration of the course website. Build it with ``e3teach-author site`` (not sphinx-build:
the command first stages the notebooks, see ``e3teach/authoring/site.py``).

Why Sphinx + myst-nb + sphinx-book-theme: the standard toolchain for executed-notebook books (it is what
Jupyter Book 1 is made of), it renders committed outputs without executing anything
(``nb_execution_mode = "off"``), builds fully offline, and its theme brings the sidebar, per-page launch
buttons (Binder, Colab, JupyterHub) and search. Everything a page loads is in ``_static``: plotly.js from
the ``plotly`` package, MathJax 3 from ``sphinx-mathjax-offline`` (a PyPI copy of MathJax 3.2.2),
the theme's fonts and icons; no CDN is referenced.
"""
import os

from e3teach.authoring import course

project = "e3teach"
author = "the e3teach authors"
copyright = "the e3teach authors"
html_title = "e3teach: E(3)-equivariant networks with e3nn"

extensions = ["myst_nb", "sphinx_copybutton"]
root_doc = "index"
exclude_patterns = ["_vendor", "_badges", "**.ipynb_checkpoints"]
# index.md, the learners' home page, is written by e3teach-author site from site/index.md.in
nb_execution_mode = "off"                 # the committed outputs are the content
nb_output_stderr = "remove"               # warnings printed while the notebook ran are not course content
nb_merge_streams = True
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "html_image"]
myst_heading_anchors = 4                  # GitHub-style #anchors, e.g. CHEATSHEET.md#pitfall-float32-by-default
myst_update_mathjax = False
suppress_warnings = ["mystnb.unknown_mime_type", "myst.header"]

# MathJax 3, served from _static (Sphinx's default is a CDN). SVG output: its fonts are inside the script,
# so formulas render from file:// too (web fonts loaded from file:// are blocked by the browser: CORS).
mathjax_path = "mathjax/tex-svg.js"
mathjax3_config = {"svg": {"fontCache": "global"}}

html_theme = "sphinx_book_theme"
html_context = {"default_mode": "light"}  # an explicit mode: the theme logs a console error without one
html_static_path = ["_static"]            # e3teach-author site adds the vendored plotly.js and MathJax
html_css_files = ["e3teach-site.css"]
html_favicon = "_static/favicon.svg"
html_js_files = ["e3teach-site.js"]        # long formulas scroll instead of running off a phone
html_show_sourcelink = False
html_copy_source = False
html_last_updated_fmt = None
html_theme_options = {
    "repository_url": course.REPOSITORY,
    "repository_branch": course.BRANCH,
    "path_to_docs": "",
    "use_repository_button": True,
    "use_download_button": True,
    "launch_buttons": {
        "binderhub_url": course.BINDER,
        "colab_url": course.COLAB,
        # a workshop's JupyterHub (TEACHING.md): E3TEACH_JUPYTERHUB=https://hub.example.org e3teach-author site
        "jupyterhub_url": os.environ.get("E3TEACH_JUPYTERHUB", ""),
        "notebook_interface": "jupyterlab",
    },
    "show_toc_level": 2,
    "home_page_in_toc": True,
}


def _plotly_on_pages_with_figures(app, pagename, templatename, context, doctree):
    """plotly.js (4.8 MB) only on the pages that hold a figure."""
    if "e3teach-plotly" in (context.get("body") or ""):
        app.add_js_file("plotly.min.js")
        app.add_js_file("e3teach-plotly.js")


def setup(app):
    app.connect("html-page-context", _plotly_on_pages_with_figures)
