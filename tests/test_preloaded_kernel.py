"""The suite's notebook kernels, forked from a template that has imported torch (tests/preloaded_kernel.py)."""
import os
import time

import nbval.kernel
import nbval.plugin
import pytest

import preloaded_kernel

pytestmark = pytest.mark.skipif(not preloaded_kernel.wanted(),
                                reason="the suite starts ordinary kernels (E3TEACH_FRESH_KERNELS=1, or not Linux)")


def run(kernel, code: str, timeout: float = 30) -> tuple[str, dict]:
    """Execute ``code``; return what it printed and the reply's content."""
    printed = []

    def keep_printed(message):
        if message["msg_type"] == "stream":
            printed.append(message["content"]["text"])

    reply = kernel.kc.execute_interactive(code, timeout=timeout, output_hook=keep_printed, allow_stdin=False,
                                          stop_on_error=False)      # as nbval sends cells
    return "".join(printed), reply["content"]


@pytest.fixture
def kernel(tmp_path, monkeypatch):
    """A kernel started as a notebook's is: from conftest's NOTEBOOK_ENVIRONMENT."""
    import conftest

    for name in set(os.environ) - set(conftest.NOTEBOOK_ENVIRONMENT):   # left by earlier unit tests
        monkeypatch.delenv(name)
    for name, value in conftest.NOTEBOOK_ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("E3TEACH_STRICT", "0")            # as for a lesson
    kernel = nbval.plugin.RunningKernel(nbval.kernel.CURRENT_ENV_KERNEL_NAME, cwd=str(tmp_path))
    yield kernel
    kernel.stop()


def template_pid() -> int:
    return int(os.environ[preloaded_kernel.TEMPLATE_ENV].split(":")[0])


#: what a kernel knows about itself, after the imports every notebook makes
FACTS = ("import os, sys\n"
         "warm = 'e3nn.o3' in sys.modules\n"
         "import e3nn.o3, e3teach\n"
         "print(repr((os.getppid(), warm, os.getcwd(), sys.path, sys.argv[1:-1],"
         " os.environ['E3TEACH_STRICT'], dict(os.environ))))")


def facts(kernel) -> tuple:
    printed, reply = run(kernel, FACTS)
    assert reply["status"] == "ok", reply
    return eval(printed)


def test_the_kernel_is_forked_with_warm_imports_and_a_fresh_namespace(kernel, tmp_path, monkeypatch):
    forked = facts(kernel)
    assert forked[0] == template_pid() and forked[1] is True
    # only sys.modules is warm: a notebook that forgets its import fails as it would for a learner
    _printed, reply = run(kernel, "torch.zeros(1)")
    assert reply["status"] == "error" and reply["ename"] == "NameError"
    # everything else is what an ordinary kernel sees (one starts when the environment differs)
    monkeypatch.setenv("E3TEACH_PROBE", "an ordinary kernel")
    ordinary_kernel = nbval.plugin.RunningKernel(nbval.kernel.CURRENT_ENV_KERNEL_NAME, cwd=str(tmp_path))
    try:
        ordinary = facts(ordinary_kernel)
    finally:
        ordinary_kernel.stop()
    assert ordinary[0] != template_pid() and ordinary[1] is False
    assert forked[2:6] == ordinary[2:6] == (str(tmp_path), ordinary[3], ["-f"], os.environ["E3TEACH_STRICT"])
    differences = preloaded_kernel.environment_differences(forked[6], ordinary[6])
    assert differences == ["E3TEACH_PROBE"]


def test_an_interrupt_reaches_the_forked_kernel(kernel):
    # stop_on_error=False, as nbval sends every cell: after an error ipykernel 7 aborts the requests that
    # reach it until its shell thread has handled a message it posts to itself, so under load the next
    # request could be answered 'aborted' (it was once in CI, and at once here with both cores busy)
    msg_id = kernel.kc.execute("import time\ntime.sleep(60)", stop_on_error=False)
    time.sleep(1)
    started = time.monotonic()
    kernel.km.interrupt_kernel()
    while (reply := kernel.kc.get_shell_msg(timeout=20))["parent_header"].get("msg_id") != msg_id:
        pass
    assert reply["content"]["ename"] == "KeyboardInterrupt" and time.monotonic() - started < 10
    printed, reply = run(kernel, "print(6 * 7)")           # and the kernel goes on
    assert (printed.strip(), reply["status"]) == ("42", "ok"), reply


def test_killing_the_launcher_kills_the_kernel_and_its_children(kernel):
    printed, _reply = run(kernel, "import os, subprocess\n"
                                  "child = subprocess.Popen(['sleep', '60'])\n"
                                  "print(os.getpid(), child.pid)")
    kernel_pid, grandchild = map(int, printed.split())
    kernel.km.shutdown_kernel(now=True)                  # now=True: jupyter_client kills the launcher
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and (preloaded_kernel._alive(kernel_pid)
                                           or preloaded_kernel._alive(grandchild)):
        time.sleep(0.1)
    assert not preloaded_kernel._alive(kernel_pid) and not preloaded_kernel._alive(grandchild)


def test_environment_differences_ignore_only_the_per_notebook_variables():
    template = {"PATH": "/bin", "E3TEACH_STRICT": "0", "OMP_NUM_THREADS": "1"}
    assert preloaded_kernel.environment_differences(template, dict(template, E3TEACH_STRICT="1")) == []
    kernel = dict(template, OMP_NUM_THREADS="2", MPLBACKEND="Agg")
    assert preloaded_kernel.environment_differences(template, kernel) == ["MPLBACKEND", "OMP_NUM_THREADS"]


def test_a_dead_template_not_yet_reaped_counts_as_dead():
    """A launcher waits for its template only while it runs: a zombie (dead, its worker has not reaped it yet)
    would otherwise hold every kernel start for a minute."""
    import subprocess

    child = subprocess.Popen(["true"])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and preloaded_kernel._process_state(child.pid) != "Z":
        time.sleep(0.05)
    assert not preloaded_kernel._alive(child.pid)
    child.wait()
    assert not preloaded_kernel._alive(child.pid) and preloaded_kernel._alive(os.getpid())


def test_the_template_allows_worker_threads_for_each_openblas_library_loaded():
    from pathlib import Path

    import numpy
    import scipy
    import scipy.linalg  # noqa: F401 - loads scipy's OpenBLAS

    # pip's wheels ship a copy each, in numpy.libs and scipy.libs; a conda environment may share one, or use
    # MKL (then none is shipped and none need be found)
    shipped = {str(path.resolve()) for package in (numpy, scipy)
               for path in Path(package.__file__).parents[1].glob(f"{package.__name__}.libs/*openblas*")}
    loaded = preloaded_kernel._openblas_libraries()
    assert shipped <= {str(Path(path).resolve()) for path in loaded}
    assert preloaded_kernel._openblas_threads_allowed() == len(loaded) * max((os.cpu_count() or 1) - 1, 1)


def test_stopping_a_template_removes_its_socket_and_folder(tmp_path):
    """No ``e3teach-kernels-*`` folder is left in the temporary folder after a run, even when the template died
    before it could clean up; a folder that holds anything else is left alone."""
    import socket
    import subprocess

    folder = tmp_path / "e3teach-kernels-x"
    folder.mkdir()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(folder / "template.sock"))
    listener.close()
    template = object.__new__(preloaded_kernel.Template)   # a stand-in process that never cleans up itself
    template.process, template.socket_path = subprocess.Popen(["sleep", "60"]), folder / "template.sock"
    template.stop()
    assert not folder.exists()

    folder.mkdir()
    (folder / "notes.txt").write_text("not ours")
    preloaded_kernel._remove_socket(folder / "template.sock")
    assert (folder / "notes.txt").exists()
