"""Notebook kernels forked from a process that has already imported torch and e3nn (test suite only).

Every notebook the suite runs needs a kernel, and a fresh kernel spends about 3 CPU-seconds importing torch,
e3nn and IPython before it runs a line of the notebook: over 70 notebooks, a third of the suite's work. Here a
*template* process (one per pytest worker) imports those libraries once; each notebook's kernel is a ``fork``
of it. The kernel is still a new process with a fresh IPython namespace: a notebook that forgets
``import torch`` fails as it would for a learner, because only ``sys.modules`` is warm, never the
notebook's variables.

Three processes take part::

    jupyter_client ──starts──▶ launcher ("launch -f conn.json")  ── Unix socket ──▶ template ("serve")
                                   │ forwards signals                                   │ forks
                                   └──── waits for the exit status ◀──── reports ──── kernel (ipykernel)

* The **launcher** is what jupyter_client starts, signals and waits for. It sends the template its argv,
  working folder, environment and standard streams, forwards SIGINT/SIGTERM to the kernel's process group,
  and exits with the kernel's exit status. If the template cannot serve it (not running, or started with an
  environment that differs in anything that could have changed an import), it becomes an ordinary
  ``python -m ipykernel_launcher`` kernel instead: slower, never wrong.
* The **template** imports ``PRELOADED`` and forks one kernel per request. It refuses a request whose
  environment differs from its own except for variables in ``MAY_DIFFER`` (set per notebook, read only at
  run time).
* The **kernel** (the forked child) takes the launcher's folder, environment, streams and ``sys.argv``,
  starts its own session and process group (so that a kill reaches its own children, such as lesson 16's
  data-parallel workers), and dies with its group if the launcher dies.

Forking after ``import torch`` is safe while no parallel work has run: OpenMP's thread pool starts on the
first parallel operation, and the worker threads of OpenBLAS (numpy's copy and scipy's) are stopped and
restarted around ``fork`` by the library itself. ``serve`` asserts that the template has no other thread.

CI's second pass (``.ci/run``) runs every lesson and solution again in ordinary fresh kernels
(``E3TEACH_FRESH_KERNELS=1``), so a notebook that depends on the template's warm imports cannot land.
"""
from __future__ import annotations

import json
import os
import selectors
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

#: the libraries the notebooks import, in import order: torch and e3nn are 90 % of a kernel's start-up;
#: ``e3nn.io`` brings scipy (0.8 s, a third of the lessons); plotly imports nbformat to show any figure (1 s:
#: jsonschema builds a grammar); matplotlib (0.3 s, most lessons) only where ``MPLBACKEND`` is set already,
#: as in the suite and the Lab of the browser test (ipykernel sets it otherwise, after the fork: too late).
#: Nothing here may run tensor work at import, start a thread, or read at import a variable a kernel may set
#: differently (``MAY_DIFFER``; ipykernel reads ``JPY_PARENT_PID``; plotly picks its renderer from the
#: running kernel, pyplot hooks into it: those stay out).
PRELOADED = ("numpy", "torch", "torch._dynamo", "e3nn", "e3nn.o3", "e3nn.nn", "e3nn.math", "e3nn.io",
             "nbformat", "matplotlib")
#: environment variables that may differ between the template and a kernel: set per notebook or by
#: jupyter_client, and read by the course only at run time
MAY_DIFFER = ("E3TEACH_KERNEL_TEMPLATE", "E3TEACH_STRICT", "JPY_PARENT_PID", "JPY_SESSION_NAME",
              "PYDEVD_DISABLE_FILE_VALIDATION", "PYTEST_CURRENT_TEST", "PYTEST_XDIST_WORKER", "KERNEL_ID")
#: the environment variable that tells a launcher its template: ``PID:SOCKET_PATH``
TEMPLATE_ENV = "E3TEACH_KERNEL_TEMPLATE"
#: Linux only: the template waits on its kernels through pidfds, and fork after ``import torch`` is not safe
#: on macOS (nor possible on Windows)
SUPPORTED = sys.platform == "linux" and hasattr(os, "pidfd_open") and hasattr(socket, "send_fds")
_FORWARDED_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1,
                      signal.SIGUSR2)


def wanted() -> bool:
    """Forked kernels unless ``E3TEACH_FRESH_KERNELS=1``, and only where they can work (Linux)."""
    return SUPPORTED and os.environ.get("E3TEACH_FRESH_KERNELS", "0") in ("", "0")


class Template:
    """A running template (``serve``) for kernels whose environment is ``env``.

    Its launchers find it through ``TEMPLATE_ENV`` (set it to :attr:`variable` in their environment) and are
    started by :data:`KERNEL_ARGV`, a kernelspec's ``argv``. ``env`` is given, not inherited: a library that
    sets a variable in C (a terminal library's ``COLUMNS``) changes what a child inherits but not
    ``os.environ``, from which kernels start.
    """

    def __init__(self, env: dict, cwd: Path):
        socket_path = Path(tempfile.mkdtemp(prefix="e3teach-kernels-")) / "template.sock"
        self.process = subprocess.Popen([sys.executable, __file__, "serve", str(socket_path)],
                                        stdin=subprocess.DEVNULL, cwd=cwd, env=env)
        self.socket_path = socket_path
        self.variable = f"{self.process.pid}:{socket_path}"

    @staticmethod
    def write_kernelspec(folder: Path) -> Path:
        """A kernelspec named ``python3`` under ``folder/kernels`` (put ``folder`` first in ``JUPYTER_PATH``)."""
        spec = folder / "kernels" / "python3"
        spec.mkdir(parents=True, exist_ok=True)
        (spec / "kernel.json").write_text(json.dumps({
            "argv": KERNEL_ARGV, "display_name": "Python 3 (ipykernel)", "language": "python",
            "interrupt_mode": "signal", "metadata": {"debugger": True}}))
        return folder

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)
        _remove_socket(self.socket_path)             # the template does it too, unless it was killed


def _remove_socket(socket_path) -> None:
    """Remove the template's socket and its temporary folder (only once empty)."""
    socket_path = Path(socket_path)
    for path in (socket_path, socket_path.with_name(socket_path.name + ".part")):
        path.unlink(missing_ok=True)
    try:
        socket_path.parent.rmdir()
    except OSError:                                  # gone already, or holds something that is not ours
        pass


#: a kernelspec's ``argv`` for kernels forked from a :class:`Template`
KERNEL_ARGV = [sys.executable, __file__, "launch", "-f", "{connection_file}"]


def environment_differences(template: dict, kernel: dict) -> list[str]:
    """Names of the variables set differently in ``kernel`` than in ``template``, ``MAY_DIFFER`` aside."""
    names = set(template) | set(kernel)
    return sorted(name for name in names
                  if name not in MAY_DIFFER and template.get(name) != kernel.get(name))


def _send_message(connection: socket.socket, message: dict, fds: tuple[int, ...] = ()) -> None:
    payload = json.dumps(message).encode()
    header = struct.pack("!I", len(payload))
    if fds:
        socket.send_fds(connection, [header + payload], list(fds))
    else:
        connection.sendall(header + payload)


def _receive_exactly(connection: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = connection.recv(size - len(data))
        if not chunk:
            raise ConnectionError("the other side closed the connection")
        data += chunk
    return data


def _receive_message(connection: socket.socket, max_fds: int = 0) -> tuple[dict, list[int]]:
    fds: list[int] = []
    if max_fds:
        header, fds, _flags, _address = socket.recv_fds(connection, 4, max_fds)
        if len(header) < 4:
            header += _receive_exactly(connection, 4 - len(header))
    else:
        header = _receive_exactly(connection, 4)
    (size,) = struct.unpack("!I", header)
    return json.loads(_receive_exactly(connection, size)), fds


# ---------------------------------------------------------------------------------------------- template
def _threads() -> list[str]:
    return [open(f"/proc/self/task/{task}/comm").read().strip() for task in os.listdir("/proc/self/task")]


def _openblas_libraries() -> set[str]:
    """The paths of the OpenBLAS libraries this process has loaded (pip's numpy and scipy each ship one)."""
    with open("/proc/self/maps") as maps:
        return {line.split()[-1] for line in maps if "openblas" in line.rsplit("/", 1)[-1].lower()}


def _openblas_threads_allowed() -> int:
    """At most ``cores - 1`` worker threads per OpenBLAS library loaded (numpy's, scipy's): OpenBLAS starts them
    at load and stops them itself around ``fork`` (``pthread_atfork``), so they are safe to fork with."""
    return len(_openblas_libraries()) * max((os.cpu_count() or 1) - 1, 1)


def serve(socket_path: str) -> None:
    """Import ``PRELOADED``, then fork one kernel per launcher that connects to ``socket_path``."""
    import importlib

    template_environment = dict(os.environ)
    for name in PRELOADED:
        if name == "matplotlib" and "MPLBACKEND" not in os.environ:
            continue                                 # it reads MPLBACKEND at import (see PRELOADED)
        importlib.import_module(name)
    # what the imports set (torch: TORCHINDUCTOR_CACHE_DIR, ...): a fresh kernel would set it too
    set_by_imports = {name: value for name, value in os.environ.items()
                      if template_environment.get(name) != value}
    # Intra-op threads start on the first parallel operation; none may exist before we fork. The only threads
    # allowed besides the main one are OpenBLAS's, which OpenBLAS itself stops around fork.
    assert len(_threads()) <= 1 + _openblas_threads_allowed(), \
        f"the template started threads before forking: {_threads()}"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(socket_path + ".part")
    listener.listen(16)
    os.rename(socket_path + ".part", socket_path)   # launchers see the socket only once it accepts
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ, "listener")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    parent, template = os.getppid(), os.getpid()
    try:
        _serve_until_orphaned(parent, listener, selector, template_environment, set_by_imports)
    finally:
        if os.getpid() == template:                  # never in a kernel (they leave through os._exit anyway)
            _remove_socket(socket_path)


def _serve_until_orphaned(parent, listener, selector, template_environment, set_by_imports) -> None:
    while os.getppid() == parent:                    # the pytest worker that started us is alive
        for key, _events in selector.select(timeout=1.0):
            if key.data == "listener":
                connection, _address = listener.accept()
                _serve_one(connection, listener, selector, template_environment, set_by_imports)
            else:                                    # a kernel exited: report its status to its launcher
                pidfd, (child, connection) = key.fileobj, key.data
                selector.unregister(pidfd)
                os.close(pidfd)
                _pid, status = os.waitpid(child, 0)
                try:
                    _send_message(connection, {"exit": os.waitstatus_to_exitcode(status)})
                except OSError:
                    pass
                connection.close()


def _serve_one(connection, listener, selector, template_environment, set_by_imports) -> None:
    try:
        request, fds = _receive_message(connection, max_fds=3)
    except (OSError, ValueError):
        connection.close()
        return
    differences = environment_differences(template_environment, request["env"])
    if differences or len(fds) != 3:
        print(f"kernel template: refused a kernel whose environment differs in {differences}",
              file=sys.stderr, flush=True)
        for fd in fds:
            os.close(fd)
        _send_message(connection, {"refused": f"environment differs in {', '.join(differences)}"
                                   if differences else "no standard streams"})
        connection.close()
        return
    child = os.fork()
    if child == 0:                                   # the kernel keeps no other kernel's descriptors
        for key in list(selector.get_map().values()):
            if key.data != "listener":
                os.close(key.fd)
                key.data[1].close()
        selector.close()
        listener.close()
        request["env"].update(set_by_imports)
        _become_kernel(request, fds, connection)     # never returns
    for fd in fds:
        os.close(fd)
    _send_message(connection, {"pid": child})
    selector.register(os.pidfd_open(child), selectors.EVENT_READ, (child, connection))


def _become_kernel(request: dict, fds: list[int], connection: socket.socket) -> None:
    """In the forked child: take the launcher's streams, folder and environment, then run ipykernel."""
    code = 1
    try:
        connection.close()
        os.setsid()                                  # our own process group, as jupyter_client gives kernels
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
            os.close(fd)
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGCHLD):
            signal.signal(sig, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        sys.argv = request["argv"]
        del sys.path[0]                              # this file's folder; ipykernel_launcher does the same
        _die_with(request["launcher"])
        from ipykernel import kernelapp

        kernelapp.launch_new_instance()
        code = 0
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
    except BaseException:                            # noqa: BLE001 - report anything, then exit
        import traceback

        traceback.print_exc()
    finally:
        import atexit

        atexit._run_exitfuncs()
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:                        # noqa: BLE001 - a closed stream at exit
                pass
        os._exit(code)


def _die_with(launcher: int) -> None:
    """Kill this kernel's process group when the launcher dies (jupyter_client kills only the launcher)."""
    import select
    import threading

    try:
        pidfd = os.pidfd_open(launcher)
    except ProcessLookupError:
        os._exit(1)

    def watch():
        select.select([pidfd], [], [])               # readable once the launcher has exited
        os.killpg(0, signal.SIGKILL)

    threading.Thread(target=watch, name="launcher-watch", daemon=True).start()


# ---------------------------------------------------------------------------------------------- launcher
def launch(argv: list[str], wait_for_template: float = 60.0) -> None:
    """Ask the template for a kernel; run an ordinary one if it cannot serve. ``argv``: ``-f conn.json``."""
    import importlib.util

    kernel_argv = [importlib.util.find_spec("ipykernel_launcher").origin, *argv]
    reply, connection = None, None
    if os.environ.get(TEMPLATE_ENV):
        template, socket_path = os.environ[TEMPLATE_ENV].split(":", 1)
        deadline = time.monotonic() + wait_for_template
        while not os.path.exists(socket_path) and time.monotonic() < deadline and _alive(int(template)):
            time.sleep(0.05)                         # the template is still importing
        try:
            connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            connection.connect(socket_path)
            _send_message(connection, {"argv": kernel_argv, "cwd": os.getcwd(), "env": dict(os.environ),
                                       "launcher": os.getpid()}, fds=(0, 1, 2))
            reply, _ = _receive_message(connection)
        except OSError as error:
            reply = {"refused": f"template unreachable ({error})"}
    if reply is None or "pid" not in reply:
        if reply:
            print(f"preloaded kernel: {reply['refused']}; starting an ordinary kernel", file=sys.stderr)
        os.execv(sys.executable, [sys.executable, "-m", "ipykernel_launcher", *argv])
    kernel = reply["pid"]

    def forward(signum, _frame):
        try:
            os.killpg(kernel, signum)
        except ProcessLookupError:
            pass

    for sig in _FORWARDED_SIGNALS:
        signal.signal(sig, forward)
    try:
        status, _ = _receive_message(connection)
        code = status["exit"]
    except (OSError, ValueError):
        code = 1
    sys.exit(code if code >= 0 else 128 - code)


def _process_state(pid: int) -> str | None:
    """The state letter of ``pid`` in ``/proc`` (``R``, ``S``, ``Z`` for a zombie...), or None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0]     # the name, in brackets, may hold spaces
    except FileNotFoundError:
        return None


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs: a template that died but is not yet reaped by its pytest worker (a zombie) does not."""
    return _process_state(pid) not in (None, "Z")


if __name__ == "__main__":
    command, *rest = sys.argv[1:]
    if command == "serve":
        serve(*rest)
    elif command == "launch":
        launch(rest)
    else:
        raise SystemExit(f"usage: {sys.argv[0]} serve SOCKET | launch -f CONNECTION_FILE")
