"""The teacher's resources command: a lesson's wall time, CPU-seconds and peak memory, children included."""
import sys

import nbformat
import pytest

from e3teach import classroom

CHILD = ("import time\n"
         "block = bytearray(200_000_000)                  # 200 MB, touched\n"
         "start = time.process_time()\n"
         "while time.process_time() - start < 1.0:\n"
         "    pass\n")


def _notebook(path, *cells):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# a tiny lesson")] + [nbformat.v4.new_code_cell(c) for c in cells]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    return path


@pytest.fixture(scope="module")
def measured(tmp_path_factory):
    """One measured run of a notebook whose second cell starts a child that holds 200 MB and burns 1 CPU-s."""
    path = _notebook(tmp_path_factory.mktemp("lesson") / "99_tiny.ipynb",
                     "x = 1 + 1",
                     f"import subprocess, sys\nsubprocess.run([sys.executable, '-c', {CHILD!r}], check=True)")
    before = path.read_text()
    result = classroom.measure_notebook(path, interval=0.02)
    return path, before, result


def test_child_processes_count_in_cpu_and_memory(measured):
    _, _, result = measured
    assert result.error is None
    assert result.cpu_s >= 1.0                  # the child's CPU second, reaped by the kernel
    assert result.peak_mb >= 200                # the child's 200 MB on top of the kernel
    assert result.processes >= 2
    assert result.wall_s >= result.cells[-1][1]


FORK = ("import os, time\n"
        "block = bytearray(300_000_000)                  # 300 MB, touched, then shared with a fork\n"
        "child = os.fork()\n"
        "if child == 0:\n"
        "    time.sleep(1.0)\n"
        "    os._exit(0)\n"
        "os.waitpid(child, 0)\n")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PSS is read from Linux's /proc")
def test_memory_a_forked_child_shares_is_counted_once(tmp_path):
    path = _notebook(tmp_path / "96_fork.ipynb", FORK)
    result = classroom.measure_notebook(path, interval=0.02)
    assert result.error is None and result.processes >= 2
    assert result.peak_mb >= 300                       # the kernel's 300 MB ...
    assert result.peak_rss_mb - result.peak_mb >= 200  # ... which the plain RSS sum counts twice


def test_each_code_cell_is_timed_and_the_notebook_is_left_alone(measured):
    path, before, result = measured
    assert [index for index, *_ in result.cells] == [1, 2]
    assert result.cells[1][2] >= 0.9 and result.cells[1][3].startswith("import subprocess")
    assert path.read_text() == before


def test_a_failing_cell_is_reported_not_raised(tmp_path):
    path = _notebook(tmp_path / "98_broken.ipynb", "raise ValueError('planted')", "print('never')")
    result = classroom.measure_notebook(path)
    assert result.error and "planted" in result.error and len(result.cells) == 0
    assert "(failed)" in classroom.resources_table([result])


def test_the_kernel_is_shut_down_after_each_notebook(tmp_path):
    """Measuring every lesson in one command must not leave each lesson's kernel running with its memory
    (nbclient keeps a kernel it was handed alive unless told otherwise); a failed run neither."""
    import psutil

    def children() -> set[int]:
        return {child.pid for child in psutil.Process().children(recursive=True) if child.status() != "zombie"}

    before = children()
    for path in (_notebook(tmp_path / "95_ok.ipynb", "x = 1"),
                 _notebook(tmp_path / "94_broken.ipynb", "raise ValueError('planted')")):
        classroom.measure_notebook(path)
        assert children() <= before, f"{path.name}: processes left running: {children() - before}"


def test_table_fits_100_columns_and_has_a_markdown_form():
    results = [classroom.LessonResources("09_tetris", 38.2, 28.0, 700.0, 1),
               classroom.LessonResources("16_performance_and_scale", 29.0, 41.0, 950.0, 4)]
    text = classroom.resources_table(results, learners=30, cores=8)
    assert all(len(line) <= 100 for line in text.splitlines())
    assert "16_performance_and_scale" in text and "950" in text
    markdown = classroom.resources_table(results, markdown=True)
    assert markdown.splitlines()[0] == "| lesson | wall s | CPU-s | peak MB | RSS MB | processes |"
    assert markdown.splitlines()[2] == "| 09_tetris | 38 | 28 | 700 |  | 1 |"


def test_class_estimate_follows_the_rule():
    lesson09 = classroom.LessonResources("09_tetris", 38.0, 28.0, 750.0)
    wall, memory = classroom.class_estimate(lesson09, learners=30, cores=8)
    assert wall == pytest.approx(30 * 28 / 8) and memory == pytest.approx(22.5)
    wall_few, _ = classroom.class_estimate(lesson09, learners=2, cores=8)
    assert wall_few == 38.0                     # few learners: as long as alone


def test_lessons_are_found_by_number_or_path(tmp_path):
    found = classroom.find_lessons(["09", "14b"])
    assert [p.name for p in found] == ["09_tetris.ipynb", "14b_potentials_in_practice.ipynb"]
    assert len(classroom.find_lessons(None)) == len(list(classroom.LESSONS.glob("*.ipynb")))
    with pytest.raises(SystemExit, match=r"no lesson numbered '99'.*lessons: 00, 01"):
        classroom.find_lessons(["99"])
    with pytest.raises(SystemExit, match="no notebook at"):
        classroom.find_lessons([str(tmp_path / "missing.ipynb")])


def test_command_line_prints_the_table_and_writes_markdown(tmp_path, capsys):
    path = _notebook(tmp_path / "97_quick.ipynb", "print('hello')")
    out = tmp_path / "resources.md"
    assert classroom.main(["resources", "--lessons", str(path), "--out", str(out), "--cells", "1"]) == 0
    printed = capsys.readouterr()
    assert "97_quick" in printed.out and "peak MB" in printed.out and "cell   1" in printed.err
    assert out.read_text().startswith("| lesson | wall s |")
    with pytest.raises(SystemExit):
        classroom.main(["resources", "--learners", "30"])   # --cores missing
    assert sys.modules["e3teach.classroom"] is classroom
