"""e3teach.progress: checkers record their verdicts locally; the table lists every exercise of the course."""
import importlib
import json
import os
import stat
import warnings
from pathlib import Path

import pytest

from e3teach.checks import exercise
from e3teach.progress import PROGRESS_ENV, course_exercises, progress, progress_path

prog = importlib.import_module("e3teach.progress")     # the module (e3teach.progress may also name the function)


@pytest.fixture
def store(tmp_path, monkeypatch):
    path = tmp_path / "sub" / "progress.json"
    monkeypatch.setenv(PROGRESS_ENV, str(path))
    monkeypatch.setenv("E3TEACH_STRICT", "0")
    prog._warned.clear()
    return path


@exercise("a number")
def q_number(value):
    from e3teach.checks import expect_equal
    expect_equal(value, 8, "value")
    return "right"


q_number.lesson = "99"      # a course checker's lesson comes from its module name (lessonNN)


def test_suite_never_writes_to_the_real_home():
    assert progress_path() is not None and Path.home() not in progress_path().parents


def test_default_location_and_switch(monkeypatch, tmp_path):
    monkeypatch.delenv(PROGRESS_ENV)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert progress_path() == tmp_path / ".e3teach" / "progress.json"
    for off in ("off", "0", "none", "OFF"):
        monkeypatch.setenv(PROGRESS_ENV, off)
        assert progress_path() is None
    monkeypatch.setenv(PROGRESS_ENV, "off")
    q_number(8)                                    # recording off: the check still prints, nothing is written
    assert not (tmp_path / ".e3teach").exists()


def test_checks_record_the_latest_status(store, capsys):
    q_number(...)
    q_number(7)
    data = json.loads(store.read_text())
    rec = data["records"]["99"]["q_number"]
    assert rec["status"] == "fail" and rec["runs"] == 2 and not rec["passed_once"] and rec["title"] == "a number"
    q_number(8)
    rec = json.loads(store.read_text())["records"]["99"]["q_number"]
    assert rec["status"] == "pass" and rec["runs"] == 3 and rec["passed_once"]
    assert "✅ q_number" in capsys.readouterr().out


def test_run_does_not_record(store):
    q_number.run(8)                                # .run() is for tests and checkers: only calls are learners'
    assert not store.exists()


def test_strict_mode_records_before_raising(store, monkeypatch):
    monkeypatch.setenv("E3TEACH_STRICT", "1")
    with pytest.raises(AssertionError):
        q_number(7)
    assert json.loads(store.read_text())["records"]["99"]["q_number"]["status"] == "fail"


@pytest.mark.parametrize("content", ["{not json", "[1, 2]", '{"records": {"01": {"q1": {"status": "great"}}}}', ""])
def test_corrupt_file_is_set_aside_and_recreated(store, content):
    store.parent.mkdir(parents=True)
    store.write_text(content)
    with pytest.warns(RuntimeWarning, match="could not be read"):
        q_number(8)
    assert json.loads(store.read_text())["records"]["99"]["q_number"]["status"] == "pass"
    assert store.with_name("progress.json.corrupt").read_text() == content


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root can write anywhere")
def test_unwritable_folder_warns_once_and_never_raises(store, capsys):
    store.parent.mkdir(parents=True)
    store.parent.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        with pytest.warns(RuntimeWarning, match="could not record"):
            q_number(8)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            q_number(8)                            # the second time: silent
    finally:
        store.parent.chmod(stat.S_IRWXU)
    assert capsys.readouterr().out.count("✅") == 2


def test_a_path_that_cannot_be_a_file_warns_and_never_raises(store, capsys, tmp_path, monkeypatch):
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    monkeypatch.setenv(PROGRESS_ENV, str(blocker / "progress.json"))   # a folder that is a file
    with pytest.warns(RuntimeWarning, match="could not record"):
        q_number(8)
    assert "✅" in capsys.readouterr().out


def test_record_rejects_unknown_status_without_raising(store):
    with pytest.warns(RuntimeWarning):
        assert prog.record("01", "q1", "excellent") is False


def test_course_exercises_are_read_from_the_checker_modules():
    known = course_exercises()
    assert known["00"] == [("q0", "the length of each vector")]
    assert [q for q, _ in known["01"]][:4] == ["q1", "q2", "q3", "q4"]
    modules = {p.stem.removeprefix("lesson") for p in prog.CHECKS_DIR.glob("lesson*.py")}
    assert set(known) == modules and len(known) >= 18
    from e3teach.checks import lesson01
    for question, title in known["01"]:
        assert getattr(lesson01, question).title == title


def test_table_lists_every_exercise_with_the_latest_status(store):
    from e3teach.checks import lesson00
    table = progress()
    assert len(table.rows) == sum(len(v) for v in course_exercises().values())
    assert table.counts()["not run"] == len(table.rows)
    lesson00.q0(lambda v: v.sum(dim=1))
    lesson00.q0(lambda v: (v ** 2).sum(dim=1).sqrt())
    table = progress(lesson=0)
    assert [(r.question, r.icon, r.runs) for r in table.rows] == [("q0", "✅", 2)]
    assert "✅ pass" in str(table) and "1 of 1 exercises ✅" in table.summary()
    assert "<table>" in table._repr_html_()
    md = progress(lesson="00", format="markdown")
    assert md.splitlines()[0].startswith("| lesson | question |") and "| 00 | q0 | the length of each vector | ✅ pass" in md
    csv_text = progress(format="csv")
    assert csv_text.splitlines()[0] == "lesson,question,title,status,time,runs"
    assert any(line.startswith("00,q0,the length of each vector,pass,") for line in csv_text.splitlines())


def test_a_teacher_reads_a_handed_in_file(store, tmp_path):
    from e3teach.checks import lesson00
    lesson00.q0(...)
    handed_in = tmp_path / "alice.json"
    handed_in.write_bytes(store.read_bytes())
    out = tmp_path / "alice.csv"
    progress(path=handed_in).to_csv(out)
    assert "00,q0,the length of each vector,not attempted," in out.read_text()
    with pytest.raises(ValueError, match="format"):
        progress(format="xml")
