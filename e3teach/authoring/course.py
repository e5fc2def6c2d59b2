"""Where the course lives online: the one place that says it, and the links derived from it.

The repository URL is set HERE and nowhere else: the Binder and Colab badges of every notebook
(``e3teach-author badges``), the guarded Colab install cell, and the website's launch buttons are
all derived from :data:`REPOSITORY` and :data:`BRANCH`. A teacher running a fork changes these two lines
and runs ``e3teach-author badges`` and ``e3teach-author site``. The ids of the two cells that
``badges`` writes into each notebook are here too: the exercise generator and the website find them by id.
"""
from __future__ import annotations

import re
from pathlib import Path

__all__ = ["REPOSITORY", "BRANCH", "BINDER", "COLAB", "BINDER_BADGE", "COLAB_BADGE", "HEADER_CELL_ID",
           "COLAB_CELL_ID", "github_slug", "binder_url", "colab_url", "blob_url", "pip_target",
           "colab_install_source", "header_markdown"]

#: The course repository on GitHub (Binder and Colab read notebooks from it). The one place to change.
REPOSITORY = "https://github.com/e3teach/e3teach"
#: The branch the badges open.
BRANCH = "main"
BINDER = "https://mybinder.org"
COLAB = "https://colab.research.google.com"
BINDER_BADGE = "https://mybinder.org/badge_logo.svg"
COLAB_BADGE = "https://colab.research.google.com/assets/colab-badge.svg"

HEADER_CELL_ID = "course-links"
COLAB_CELL_ID = "colab-install"


def github_slug(repository: str = REPOSITORY) -> str:
    """``owner/name`` of a GitHub URL."""
    match = re.fullmatch(r"https://github\.com/([^/]+/[^/]+?)(?:\.git)?/?", repository)
    if not match:
        raise ValueError(f"REPOSITORY should be https://github.com/OWNER/NAME, not {repository!r}")
    return match.group(1)


def binder_url(path: str, repository: str = REPOSITORY, branch: str = BRANCH) -> str:
    """Open ``path`` (relative to the repository root, e.g. ``lessons/01_why_symmetry.ipynb``) in JupyterLab on Binder."""
    return f"{BINDER}/v2/gh/{github_slug(repository)}/{branch}?urlpath=lab/tree/{path}"


def colab_url(path: str, repository: str = REPOSITORY, branch: str = BRANCH) -> str:
    """Open ``path`` in Google Colab (which reads it from GitHub)."""
    return f"{COLAB}/github/{github_slug(repository)}/blob/{branch}/{path}"


def blob_url(path: str, repository: str = REPOSITORY, branch: str = BRANCH) -> str:
    """A file of the repository on GitHub."""
    return f"{repository}/blob/{branch}/{path}"


def pip_target(repository: str = REPOSITORY, branch: str = BRANCH) -> str:
    return f"e3teach @ git+{repository}@{branch}"


def colab_install_source(repository: str = REPOSITORY, branch: str = BRANCH) -> str:
    """The one accepted install cell: it installs the course package only inside Google Colab.

    Everywhere else (JupyterLab, Binder, the tests) ``google.colab`` is not imported, and the cell does nothing.
    ``e3teach-author check`` accepts exactly this source and rejects every other ``pip install``."""
    return (
        "# Only on Google Colab: install the course package (does nothing anywhere else)\n"
        "import sys\n"
        "if \"google.colab\" in sys.modules:\n"
        "    import subprocess\n"
        f"    package = \"{pip_target(repository, branch)}\"\n"
        "    subprocess.run([sys.executable, \"-m\", \"pip\", \"install\", \"-q\", package], check=True)"
    )


def header_markdown(path: str, root: Path | None = None, exists=None) -> str:
    """The line at the top of a notebook: Binder and Colab badges, then links to the lesson's other
    notebooks, the glossary and the cheat sheet — those that exist under ``root`` (or for which
    ``exists(path_from_root)`` is true; all of them if neither is given)."""
    folder, name = path.split("/", 1)
    if exists is None:
        exists = (lambda target: True) if root is None else (lambda target: (root / target).exists())
    links = [f"[![Open in Binder]({BINDER_BADGE})]({binder_url(path)})",
             f"[![Open in Colab]({COLAB_BADGE})]({colab_url(path)})"]
    others = []
    for other, label in (("lessons", "lesson"), ("exercises", "exercises"), ("solutions", "solutions")):
        if other != folder and exists(f"{other}/{name}"):
            others.append(f"[{label}](../{other}/{name})")
    for doc, label in (("GLOSSARY.md", "glossary"), ("CHEATSHEET.md", "cheat sheet")):
        if exists(doc):
            others.append(f"[{label}](../{doc})")
    return " ".join(links) + ("  ·  " + " · ".join(others) if others else "")

