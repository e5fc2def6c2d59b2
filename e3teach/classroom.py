r"""Sizing a class: what each lesson costs a learner's machine (a teacher's command).

``python -m e3teach.classroom resources`` executes each lesson top to bottom in a fresh Jupyter kernel
(as a learner's *Run All*), samples the kernel **and every process it starts** (data-parallel workers,
compile workers) every ``interval`` seconds, and prints, per lesson:

- **wall s**: seconds from the kernel's start to the last cell's end, on this machine as it is now;
- **CPU-s**: user + system CPU seconds of the kernel's process tree (finished children included);
- **peak MB**: the most memory the tree held at one sample, in MB (10^6 bytes): the sum of each
  process's proportional set size (PSS), which counts a page shared by several processes once, as a
  container's memory limit does (plain resident sets elsewhere than Linux);
- **RSS MB**: the largest plain sum of resident sets, an upper bound that counts shared pages
  (the torch library, a forked worker's inherited memory) once per process.

A hub that runs :math:`n` learners on the same lesson at once, with :math:`c` cores, needs about

.. math::

    \text{memory} \approx n \times \text{peak MB}, \qquad
    \text{wall} \approx \max\!\big(\text{wall alone},\; n \times \text{CPU-s} / c\big),

(the rule of TEACHING.md, *Sizing a class*). ``--learners N --cores C`` adds both columns to the table.

Usage::

    python -m e3teach.classroom resources                          # every lesson in lessons/
    python -m e3teach.classroom resources --lessons 09 16          # by number (or a path)
    python -m e3teach.classroom resources --out resources.md       # also write a markdown table
    python -m e3teach.classroom resources --lessons 16 --cells 5   # and the 5 slowest cells

Linux, macOS and Windows (``psutil``); nothing is written next to the notebooks.
"""
from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["LessonResources", "ProcessTreeSampler", "class_estimate", "find_lessons", "main",
           "measure_notebook", "resources_table"]

MB = 1e6
#: the folder of the lessons, next to the package in a clone of the repository
LESSONS = Path(__file__).resolve().parent.parent / "lessons"


@dataclass
class LessonResources:
    """What one notebook cost: ``wall_s`` (s), ``cpu_s`` (CPU seconds), ``peak_mb`` (MB), the most
    processes alive at once, and each code cell's cost (``cells``: ``(index, wall s, CPU-s, first line)``)."""

    name: str
    wall_s: float
    cpu_s: float
    peak_mb: float
    processes: int = 1
    cells: list[tuple[int, float, float, str]] = field(default_factory=list)
    error: str | None = None
    peak_rss_mb: float | None = None


class ProcessTreeSampler:
    """Samples a process and all its descendants in a background thread.

    ``peak_mb``: the largest memory of the tree seen at one sample: the sum of each process's
    *proportional* set size (PSS: its private pages plus its share of the pages it shares) where Linux
    reports it, else of resident sets. ``peak_rss_mb``: the largest plain sum of resident sets, an upper
    bound that counts a page shared by *k* processes *k* times (a compile worker forked from a 400 MB
    process shows 400 MB of RSS it mostly shares). A container's memory limit counts each page once, as
    PSS does. ``cpu_s``: user + system seconds of the tree,
    where a finished child counts through its parent's ``children_user``/``children_system`` times (the
    operating system adds them when the parent reaps it); the largest sum seen is kept. ``processes``: the
    most processes alive at one sample.
    """

    def __init__(self, pid: int, interval: float = 0.05):
        import psutil

        self._psutil = psutil
        self.root = psutil.Process(pid)
        self.interval = interval
        self.peak_mb = 0.0
        self.peak_rss_mb = 0.0
        self.cpu_s = 0.0
        self.processes = 0
        self._lock = threading.Lock()      # the thread and the caller both sample
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def sample(self) -> None:
        """One sample of the tree (also called once more by :meth:`stop`)."""
        psutil = self._psutil
        try:
            tree = [self.root, *self.root.children(recursive=True)]
        except psutil.Error:
            return
        rss = pss = cpu = 0.0
        alive = 0
        for proc in tree:
            try:
                with proc.oneshot():
                    times = proc.cpu_times()
                    resident = proc.memory_info().rss
                proportional = _proportional_set_size(proc.pid)
            except psutil.Error:       # finished between listing and reading: its parent counts it
                continue
            rss += resident
            pss += resident if proportional is None else proportional
            cpu += times.user + times.system + times.children_user + times.children_system
            alive += 1
        with self._lock:
            self.peak_mb = max(self.peak_mb, pss / MB)
            self.peak_rss_mb = max(self.peak_rss_mb, rss / MB)
            self.cpu_s = max(self.cpu_s, cpu)
            self.processes = max(self.processes, alive)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval)

    def start(self) -> "ProcessTreeSampler":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()


def _proportional_set_size(pid: int) -> int | None:
    """Bytes of ``pid``'s proportional set size (Linux ``/proc/PID/smaps_rollup``), ``None`` where unknown."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as rollup:
            for line in rollup:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _kernel_pid(km) -> int:
    """The process id of a kernel started by a jupyter_client ``KernelManager``."""
    provisioner = getattr(km, "provisioner", None)
    pid = getattr(provisioner, "pid", None) or getattr(getattr(provisioner, "process", None), "pid", None)
    if pid is None:
        raise RuntimeError("cannot find the kernel's process id (jupyter_client >= 7 is needed)")
    return pid


def measure_notebook(path, *, timeout: int = 600, interval: float = 0.05,
                     kernel_name: str = "python3") -> LessonResources:
    """Execute ``path`` in a fresh kernel (cwd: its folder) and measure it; the notebook file is not changed.

    Solutions run with ``E3TEACH_STRICT=1`` as in the tests; checkers record nothing
    (``E3TEACH_PROGRESS=off``), so measuring leaves the teacher's progress file alone. A cell that raises
    ends the run: the result then carries ``error`` and the cost up to that cell.
    """
    import nbformat
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    env = dict(os.environ, E3TEACH_PROGRESS="off", PYDEVD_DISABLE_FILE_VALIDATION="1",
               E3TEACH_STRICT="1" if path.parent.name == "solutions" else "0")
    km = KernelManager(kernel_name=kernel_name)
    client = NotebookClient(nb, km=km, timeout=timeout, resources={"metadata": {"path": str(path.parent)}})
    cells: list[tuple[int, float, float, str]] = []
    error = None
    start = time.perf_counter()
    # cleanup_kc: nbclient leaves a kernel it was handed (``km=``) running, with all its memory, unless asked
    with client.setup_kernel(env=env, cwd=str(path.parent), cleanup_kc=True):
        sampler = ProcessTreeSampler(_kernel_pid(km), interval).start()
        try:
            for index, cell in enumerate(nb.cells):
                if cell.cell_type != "code":
                    continue
                sampler.sample()
                began, cpu_before = time.perf_counter(), sampler.cpu_s
                client.execute_cell(cell, index)
                sampler.sample()
                first = next((line for line in cell.source.splitlines() if line.strip()), "")
                cells.append((index, time.perf_counter() - began, sampler.cpu_s - cpu_before, first))
        except CellExecutionError as exc:
            error = str(exc).strip().splitlines()[-1][:200] if str(exc).strip() else type(exc).__name__
        finally:
            wall = time.perf_counter() - start
            sampler.stop()
    return LessonResources(path.stem, wall, sampler.cpu_s, sampler.peak_mb, sampler.processes, cells, error,
                           sampler.peak_rss_mb)


def class_estimate(result: LessonResources, learners: int, cores: int) -> tuple[float, float]:
    """``(wall seconds, memory GB)`` for ``learners`` running the lesson at once on ``cores`` cores:
    wall ≈ max(wall alone, learners × CPU-s / cores), memory ≈ learners × peak."""
    return max(result.wall_s, learners * result.cpu_s / cores), learners * result.peak_mb * MB / 1e9


def resources_table(results: list[LessonResources], *, markdown: bool = False, learners: int | None = None,
                    cores: int | None = None) -> str:
    """The table of :func:`measure_notebook` results: plain text (≤ 100 columns) or markdown."""
    head = ["lesson", "wall s", "CPU-s", "peak MB", "RSS MB", "processes"]
    if learners and cores:
        head += [f"{learners} on {cores} cores: wall", "GB"]
    rows = []
    for r in results:
        rss = "" if r.peak_rss_mb is None else f"{r.peak_rss_mb:.0f}"
        row = [r.name[:30], f"{r.wall_s:.0f}", f"{r.cpu_s:.0f}", f"{r.peak_mb:.0f}", rss, f"{r.processes}"]
        if learners and cores:
            wall, memory = class_estimate(r, learners, cores)
            row += [f"{wall / 60:.1f} min", f"{memory:.1f}"]
        if r.error:
            row[0] += " (failed)"
        rows.append(row)
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|" + "|".join(["---"] + ["--:"] * (len(head) - 1)) + "|"]
        lines += ["| " + " | ".join(row) + " |" for row in rows]
        return "\n".join(lines)
    widths = [max(len(row[i]) for row in [head, *rows]) for i in range(len(head))]
    fmt = lambda row: "  ".join(c.ljust(w) if i == 0 else c.rjust(w)  # noqa: E731
                                for i, (c, w) in enumerate(zip(row, widths)))
    return "\n".join([fmt(head), fmt(["-" * w for w in widths]), *map(fmt, rows)])


def find_lessons(selectors: list[str] | None, folder: Path = LESSONS) -> list[Path]:
    """Lesson notebooks by number prefix (``09``, ``14b``) or path; every lesson when ``selectors`` is empty."""
    every = sorted(folder.glob("*.ipynb"))
    if not selectors:
        return every
    chosen = []
    for selector in selectors:
        if selector.endswith(".ipynb"):
            if not Path(selector).is_file():
                raise SystemExit(f"no notebook at {selector}")
            chosen.append(Path(selector))
            continue
        matches = [p for p in every if p.stem.split("_")[0] == selector]
        if not matches:
            known = ", ".join(p.stem.split("_")[0] for p in every)
            raise SystemExit(f"no lesson numbered {selector!r} in {folder} (lessons: {known})")
        chosen += matches
    return chosen


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m e3teach.classroom",
                                     description="Teacher's tools: what each lesson costs a learner's machine.")
    sub = parser.add_subparsers(dest="command", required=True)
    res = sub.add_parser("resources", help="run lessons in fresh kernels; wall, CPU-s and peak memory per lesson")
    res.add_argument("--lessons", nargs="*", help="lesson numbers (09 14b) or notebook paths; default: all")
    res.add_argument("--out", help="also write the table, as markdown, to this file")
    res.add_argument("--learners", type=int, help="with --cores: estimate a class running each lesson at once")
    res.add_argument("--cores", type=int, help="cores of the hub (with --learners)")
    res.add_argument("--cells", type=int, default=0, metavar="N", help="also print each lesson's N costliest cells (CPU-s)")
    res.add_argument("--timeout", type=int, default=600, help="seconds allowed per cell (default 600)")
    args = parser.parse_args(argv)

    if (args.learners is None) != (args.cores is None):
        parser.error("--learners and --cores go together")
    paths = find_lessons(args.lessons)
    results = []
    for path in paths:
        print(f"running {path.name} ...", file=sys.stderr, flush=True)
        result = measure_notebook(path, timeout=args.timeout)
        results.append(result)
        print(f"  {result.wall_s:.0f} s, {result.cpu_s:.0f} CPU-s, {result.peak_mb:.0f} MB "
              f"(RSS sum {result.peak_rss_mb:.0f} MB)"
              + (f"; FAILED: {result.error}" if result.error else ""), file=sys.stderr, flush=True)
        for index, seconds, cpu, first in sorted(result.cells, key=lambda c: -c[2])[:args.cells]:
            print(f"    cell {index:3d}: {seconds:5.1f} s {cpu:5.1f} CPU-s  {first[:60]}", file=sys.stderr)
    print(resources_table(results, learners=args.learners, cores=args.cores))
    if args.out:
        Path(args.out).write_text(resources_table(results, markdown=True, learners=args.learners,
                                                  cores=args.cores) + "\n")
        print(f"markdown table written to {args.out}", file=sys.stderr)
    return 1 if any(r.error for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
