"""Authoring tools — for the people who write and publish the course, not for learners:
``e3teach-author`` (also ``python -m e3teach.authoring``).

Commands::

    e3teach-author run solutions/01_why_symmetry.ipynb   # execute in a fresh kernel, clean, regenerate its exercise
    e3teach-author run lessons/*.ipynb                   # execute lessons (prints time and size of each)
    e3teach-author sync                                  # regenerate every exercises/NN from solutions/NN
    e3teach-author check                                 # hygiene + exercises in sync; exit 1 on a problem
    e3teach-author map                                   # the README's course map
    e3teach-author badges                                # Binder/Colab badges + links + the Colab install cell
    e3teach-author site                                  # the course website in _build/site (no execution)

Modules (imports go down this list only, never up):

* ``course``: where the course lives (:data:`REPOSITORY`, :data:`BRANCH`), badge links, the ids of the cells
  ``badges`` writes — the one small module every other one reads;
* ``hygiene``: executing, cleaning, and the hygiene rules of committed notebooks;
* ``exercises``: the exercise notebook generated from a solution notebook (``# BEGIN SOLUTION`` markers);
* ``badges``: the header of links and the guarded Colab install cell in each notebook, the README's map;
* ``site``: the course website (Sphinx + myst-nb);
* ``__main__``: the command line.

The learner's package (``e3teach``) never imports this sub-package.
"""
from .badges import add_course_links, badge_notebooks, course_map
from .course import (BRANCH, COLAB_CELL_ID, HEADER_CELL_ID, REPOSITORY, binder_url, colab_install_source,
                     colab_url, header_markdown)
from .exercises import check_all, make_exercise, stub_code, sync_exercise
from .hygiene import clean, execute, hygiene_problems, installs_packages, notebooks, render

__all__ = ["main", "REPOSITORY", "BRANCH", "HEADER_CELL_ID", "COLAB_CELL_ID", "binder_url", "colab_url",
           "header_markdown", "colab_install_source", "make_exercise", "stub_code", "sync_exercise", "clean",
           "execute", "render", "hygiene_problems", "installs_packages", "notebooks", "check_all",
           "add_course_links", "badge_notebooks", "course_map"]


def main(argv: list[str] | None = None) -> int:
    """``e3teach-author``: see this package's docstring (the command line lives in ``__main__.py``)."""
    from .__main__ import main as command_line

    return command_line(argv)
