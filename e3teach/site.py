"""Moved: the course address is in :mod:`e3teach.authoring.course`, the website in :mod:`e3teach.authoring.site`.

This shim keeps ``from e3teach.site import REPOSITORY`` (and ``python -m e3teach.site``) working, with a warning.
"""
import warnings

from .authoring.course import *  # noqa: F401,F403
from .authoring.course import __all__ as _course_names
from .authoring.site import build, stage, stage_notebook  # noqa: F401

warnings.warn("e3teach.site has moved to e3teach.authoring.course (the course address) and "
              "e3teach.authoring.site (the website)", FutureWarning, stacklevel=2)

__all__ = [*_course_names, "build", "stage", "stage_notebook"]


def main(argv=None) -> int:
    from .authoring import main as author_main

    return author_main(["site", *(argv if argv is not None else __import__("sys").argv[1:])])


if __name__ == "__main__":
    raise SystemExit(main())
