"""Your progress through the course: the latest verdict of every exercise checker you ran.

Each time a checker cell runs (``check.q1(answer)``), its verdict — ✅ pass, ❌ fail, ⏳ not attempted,
⚠️ checker error — is written, with the time, to a small JSON file on your own computer. Nothing is ever
sent anywhere. :func:`progress` reads it back as a table of every exercise of every lesson::

    from e3teach.progress import progress
    progress()                              # the table (HTML in a notebook, text elsewhere)
    progress(lesson="01")                   # one lesson
    print(progress(format="markdown"))      # to paste or hand in
    progress().to_csv("my_progress.csv")    # a file for a teacher

Where the file lives:

- by default ``~/.e3teach/progress.json`` (under your home folder);
- ``E3TEACH_PROGRESS=/some/path.json`` puts it elsewhere (e.g. inside a course repository: one file per
  learner, per clone);
- ``E3TEACH_PROGRESS=off`` (or ``0``, ``none``, ``false``) records nothing.

Recording never breaks a notebook: a missing file is created, a corrupt one is set aside as
``progress.json.corrupt`` and recreated with a warning, an unwritable folder gives one warning per session.
The exercises of each lesson are read from the checker modules ``e3teach/checks/lessonNN.py`` (every
function decorated with ``@exercise``), without importing them.
"""
from __future__ import annotations

import ast
import csv
import html
import io
import json
import os
import re
import tempfile
import warnings
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

__all__ = ["progress", "record", "load", "reset", "progress_path", "course_exercises", "Progress", "PROGRESS_ENV"]

PROGRESS_ENV = "E3TEACH_PROGRESS"
DISABLED = ("off", "0", "none", "false", "no")
FORMAT_VERSION = 1
ICONS = {"pass": "✅", "fail": "❌", "not attempted": "⏳", "checker error": "⚠️"}
NOT_RUN = "·"
CHECKS_DIR = Path(__file__).parent / "checks"

_warned: set[str] = set()


def progress_path() -> Path | None:
    """The progress file in use (``None`` when recording is switched off with ``E3TEACH_PROGRESS=off``)."""
    value = os.environ.get(PROGRESS_ENV)
    if value is None or not value.strip():
        return Path.home() / ".e3teach" / "progress.json"
    if value.strip().lower() in DISABLED:
        return None
    return Path(value).expanduser()


def _warn_once(key: str, message: str) -> None:
    if key not in _warned:
        _warned.add(key)
        warnings.warn(message, RuntimeWarning, stacklevel=3)


def _empty() -> dict:
    return {"version": FORMAT_VERSION, "records": {}}


def load(path: Path | None = None) -> dict:
    """The stored records, ``{"version": 1, "records": {lesson: {question: record}}}``.

    A missing file gives empty records; a corrupt one is renamed ``*.corrupt`` (so nothing is lost), a
    warning says so, and empty records are returned (the next check recreates the file)."""
    path = progress_path() if path is None else path
    if path is None or not path.exists():
        return _empty()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or not isinstance(data.get("records"), dict):
            raise ValueError("not an e3teach progress file")
        for lesson, questions in data["records"].items():
            if not isinstance(questions, dict) or not all(isinstance(r, dict) and r.get("status") in ICONS
                                                          for r in questions.values()):
                raise ValueError(f"bad records for lesson {lesson!r}")
        return data
    except Exception as exc:  # corrupt: keep a copy, start again
        backup = path.with_name(path.name + ".corrupt")
        try:
            os.replace(path, backup)
            kept = f"; the old file was kept as {backup}"
        except OSError:
            kept = ""
        _warn_once(f"corrupt:{path}", f"e3teach progress file {path} could not be read ({exc}): starting a new "
                                      f"one{kept}")
        return _empty()


def _write(path: Path, data: dict) -> None:
    """Write atomically (a temporary file renamed over the old one): a crash never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".progress-", suffix=".json", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=1, ensure_ascii=False, sort_keys=True)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def record(lesson: str | None, question: str, status: str, title: str = "", *, path: Path | None = None) -> bool:
    """Store the latest verdict of one exercise. Never raises: returns False (with a warning) if it could not.

    ``status`` is one of ``"pass"``, ``"fail"``, ``"not attempted"``, ``"checker error"``."""
    try:
        path = progress_path() if path is None else path
        if path is None or lesson is None:
            return False
        if status not in ICONS:
            raise ValueError(f"unknown status {status!r}")
        data = load(path)
        questions = data["records"].setdefault(str(lesson), {})
        previous = questions.get(question, {})
        questions[question] = {
            "status": status,
            "title": title,
            "time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "runs": int(previous.get("runs", 0)) + 1 if isinstance(previous.get("runs", 0), int) else 1,
            "passed_once": bool(previous.get("passed_once")) or status == "pass",
        }
        _write(path, data)
        return True
    except Exception as exc:
        _warn_once(f"write:{path}", f"e3teach could not record your progress in {path} ({type(exc).__name__}: "
                                    f"{exc}); your checks still work. Set {PROGRESS_ENV}=/a/writable/file.json "
                                    f"to keep a record, or {PROGRESS_ENV}=off to silence this.")
        return False


def reset(path: Path | None = None) -> None:
    """Forget every record (deletes the progress file)."""
    path = progress_path() if path is None else path
    if path is not None and path.exists():
        path.unlink()


# --- what exercises exist ----------------------------------------------------------------------------

def course_exercises(checks_dir: Path = CHECKS_DIR) -> dict[str, list[tuple[str, str]]]:
    """``{lesson: [(question, title), ...]}`` for every ``lessonNN.py`` checker module, in source order.

    Read from the source (functions decorated with ``@exercise("title", ...)``), so that listing the course
    imports nothing heavy and a broken module cannot stop it."""
    found: dict[str, list[tuple[str, str]]] = {}
    for module in sorted(checks_dir.glob("lesson*.py")):
        match = re.fullmatch(r"lesson(\d+[a-z]?)", module.stem)      # lesson10a.py for a split lesson
        if not match:
            continue
        try:
            tree = ast.parse(module.read_text(encoding="utf-8"))
        except (OSError, SyntaxError):
            continue
        questions = []
        for node in tree.body:
            if not isinstance(node, ast.FunctionDef):
                continue
            for deco in node.decorator_list:
                func = deco.func if isinstance(deco, ast.Call) else deco
                name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
                if name == "exercise":
                    title = ""
                    if isinstance(deco, ast.Call) and deco.args and isinstance(deco.args[0], ast.Constant):
                        title = str(deco.args[0].value)
                    questions.append((node.name, title))
        found[match.group(1)] = questions
    return found


# --- the table ------------------------------------------------------------------------------------------

def _shown(path: Path) -> str:
    """A path as a learner reads it: ``~/.e3teach/progress.json`` under the home folder."""
    try:
        return "~/" + Path(path).resolve().relative_to(Path.home().resolve()).as_posix()
    except ValueError:
        return str(path)


@dataclass
class Row:
    lesson: str
    question: str
    title: str
    status: str          # a key of ICONS, or "" when never run
    time: str
    runs: int

    @property
    def icon(self) -> str:
        return ICONS.get(self.status, NOT_RUN)


class Progress:
    """A table of every exercise with its latest verdict; shows as HTML in a notebook, text elsewhere."""

    columns = ("lesson", "question", "exercise", "status", "last run (UTC)", "runs")

    def __init__(self, rows: list[Row], path: Path | None):
        self.rows, self.path = rows, path

    def counts(self) -> dict[str, int]:
        """How many exercises are at each status (``"not run"`` for those never checked)."""
        out = {status: 0 for status in ICONS}
        out["not run"] = 0
        for row in self.rows:
            out[row.status or "not run"] += 1
        return out

    def summary(self) -> str:
        c = self.counts()
        where = f"recorded in {_shown(self.path)}" if self.path else f"recording is off ({PROGRESS_ENV}=off)"
        return (f"{c['pass']} of {len(self.rows)} exercises ✅, {c['fail']} ❌, {c['not attempted']} ⏳, "
                f"{c['checker error']} ⚠️, {c['not run']} not run yet — {where}")

    def _cells(self, row: Row) -> list[str]:
        return [row.lesson, row.question, row.title, f"{row.icon} {row.status or 'not run'}",
                row.time.replace("T", " ").replace("+00:00", ""), str(row.runs) if row.runs else ""]

    def to_markdown(self) -> str:
        lines = ["| " + " | ".join(self.columns) + " |", "|" + "---|" * len(self.columns)]
        for row in self.rows:
            lines.append("| " + " | ".join(c.replace("|", "\\|") for c in self._cells(row)) + " |")
        return "\n".join(lines + ["", self.summary()])

    def to_csv(self, path: str | Path | None = None) -> str:
        """The table as CSV text (status as a word, time in ISO format); also written to ``path`` if given."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(["lesson", "question", "title", "status", "time", "runs"])
        for row in self.rows:
            writer.writerow([row.lesson, row.question, row.title, row.status or "not run", row.time, row.runs])
        text = buffer.getvalue()
        if path is not None:
            Path(path).write_text(text, encoding="utf-8")
        return text

    def __str__(self) -> str:
        table = [list(self.columns)] + [self._cells(row) for row in self.rows]
        widths = [max(len(r[i]) for r in table) for i in range(len(self.columns))]
        lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip() for r in table]
        lines.insert(1, "  ".join("-" * w for w in widths))
        return "\n".join(lines + ["", self.summary()])

    __repr__ = __str__

    def _repr_html_(self) -> str:
        head = "".join(f"<th style='text-align:left'>{html.escape(c)}</th>" for c in self.columns)
        body = "".join("<tr>" + "".join(f"<td style='text-align:left'>{html.escape(c)}</td>"
                                         for c in self._cells(row)) + "</tr>" for row in self.rows)
        return (f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
                f"<p>{html.escape(self.summary())}</p>")


def progress(lesson: str | int | None = None, *, format: str = "table", path: str | Path | None = None):
    """Every exercise of the course with your latest ✅ / ❌ / ⏳ / ⚠️ (``·`` for never checked).

    ``lesson`` keeps one lesson (``"01"`` or ``1``). ``format="table"`` returns a :class:`Progress` (shown as
    a table; ``.to_csv(path)``, ``.to_markdown()``, ``.counts()``), ``"markdown"`` and ``"csv"`` return text.
    ``path`` reads another progress file (e.g. one a learner handed in)."""
    file = Path(path) if path is not None else progress_path()
    records = load(file)["records"] if file is not None else {}
    known = course_exercises()
    wanted = None if lesson is None else (f"{lesson:02d}" if isinstance(lesson, int) else str(lesson).zfill(2))
    rows = []
    lessons = sorted(set(known) | set(records))
    for les in lessons:
        if wanted is not None and les != wanted:
            continue
        stored = records.get(les, {})
        questions = list(known.get(les, []))
        questions += [(q, r.get("title", "")) for q, r in stored.items() if q not in dict(questions)]
        for question, title in questions:
            rec = stored.get(question, {})
            rows.append(Row(les, question, title or rec.get("title", ""), rec.get("status", ""),
                            rec.get("time", ""), rec.get("runs", 0) if isinstance(rec.get("runs", 0), int) else 0))
    table = Progress(rows, file)
    if format == "table":
        return table
    if format == "markdown":
        return table.to_markdown()
    if format == "csv":
        return table.to_csv()
    raise ValueError(f"format should be 'table', 'markdown' or 'csv', not {format!r}")
