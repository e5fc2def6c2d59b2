"""The command line of the authoring tools: ``e3teach-author`` or ``python -m e3teach.authoring``."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat

from . import __doc__ as COMMANDS
from .badges import badge_notebooks, course_map
from .exercises import check_all, exercise_path_for, sync_exercise
from .hygiene import clean, execute, notebooks, render

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="e3teach-author", description=COMMANDS.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=COMMANDS)
    sub = parser.add_subparsers(dest="command", required=True)
    run_p = sub.add_parser("run", help="execute notebooks in a fresh kernel, clean them, regenerate exercises")
    run_p.add_argument("paths", nargs="+", type=Path)
    clean_p = sub.add_parser("clean", help="strip volatile metadata")
    clean_p.add_argument("paths", nargs="+", type=Path)
    sub.add_parser("sync", help="regenerate exercises/ from solutions/")
    sub.add_parser("check", help="hygiene + exercises in sync (exit 1 on problems)")
    sub.add_parser("map", help="print the course map (markdown table) for the README")
    badges_p = sub.add_parser("badges", help="Binder/Colab badges, links and the guarded Colab install cell "
                                             "in lessons and solutions (exercises are regenerated)")
    badges_p.add_argument("paths", nargs="*", type=Path)
    site_p = sub.add_parser("site", help="build the course website (static HTML, no execution) into _build/site")
    site_p.add_argument("--out", type=Path, default=None, help="output folder (default: ROOT/_build/site)")
    site_p.add_argument("--only", nargs="*", default=None,
                        help="build only these notebooks (paths from the root; for quick tests)")
    parser.add_argument("--root", type=Path, default=Path("."), help="the course folder (default: .)")
    args = parser.parse_args(argv)
    root = args.root

    if args.command == "run":
        for path in args.paths:
            elapsed = execute(path)
            print(f"{path}: ran in {elapsed:.1f} s, {path.stat().st_size / 1e3:.0f} kB")
            if path.parent.name == "solutions":
                sync_exercise(path)
                print(f"  regenerated {exercise_path_for(path)}")
        return 0
    if args.command == "clean":
        for path in args.paths:
            path.write_text(render(clean(nbformat.read(path, as_version=4))))
        return 0
    if args.command == "sync":
        for solution in notebooks(root, ("solutions",)):
            fresh = sync_exercise(solution)
            print(f"{exercise_path_for(solution)}: {'up to date' if fresh else 'regenerated'}")
        return 0
    if args.command == "map":
        print(course_map(root))
        return 0
    if args.command == "badges":
        changed = badge_notebooks(root, args.paths)
        for path in changed:
            print(f"{path}: badges, links and Colab cell written")
        print(f"{len(changed)} notebook(s) changed; exercises regenerated from their solutions")
        return 0
    if args.command == "site":
        from .site import build
        report = build(root, out=args.out, only=args.only)
        print(report)
        return 0
    problems = check_all(root)
    for p in problems:
        print("❌", p)
    if not problems:
        print(f"✅ {len(notebooks(root))} notebooks: hygienic, exercises in sync")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
