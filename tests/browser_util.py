"""Drive a real JupyterLab in headless Chromium (Debian's ``/usr/bin/chromium``, never a downloaded browser).

Used by ``tests/test_browser_lab.py``. Three pieces:

* :class:`LabServer`: ``jupyter lab`` on a free localhost port, in its own runtime/config/workspace folders
  (nothing shared with the user's Jupyter or with other test workers), serving a folder of notebook COPIES
  (JupyterLab autosaves). :meth:`LabServer.stop` shuts its kernels down and ends the server and any child
  it left, by process id.
* :func:`run_notebook` opens a notebook in the Lab UI, runs *Run → Restart Kernel and Run All Cells…*,
  accepts the dialog and waits until every code cell has an execution count and the kernel is idle.
* :func:`render_report` says what the page drew: WebGL contexts created and lost (the page's
  ``getContext`` is watched from the first script, see :data:`WEBGL_WATCH`), every plotly figure (an SVG,
  and for 3D scenes a live, sized canvas with pixels on it), every widget output.
  :func:`move_slider_and_wait` moves one slider of a widget and waits for its figure to be redrawn.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

CHROMIUM = Path(os.environ.get("E3TEACH_CHROMIUM", "/usr/bin/chromium"))

# Headless Chromium without a GPU: WebGL runs on SwiftShader (software). --disable-gpu alone gives a working
# context with Chromium 156; the two SwiftShader flags keep it working where newer builds refuse the
# software fallback unless asked explicitly.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-gpu",
    "--use-angle=swiftshader",
    "--enable-unsafe-swiftshader",
    "--disable-dev-shm-usage",
]

# Console lines that mean a WebGL context was lost (Chromium's own warning, WebGL's CONTEXT_LOST_WEBGL
# error, three.js/regl style messages).
LOST_CONTEXT_PATTERN = re.compile(r"CONTEXT_LOST|context lost|Too many active WebGL contexts", re.IGNORECASE)

# Runs before any page script: records every WebGL context the page creates, every loss, and which losses
# were asked for (``WEBGL_lose_context.loseContext()``, what a library does when it frees a figure on
# purpose). An involuntary loss is the browser evicting a context: the page has too many.
WEBGL_WATCH = r"""
(() => {
  const watch = window.__e3watch = {created: 0, lost: 0, deliberate: 0, contexts: []};
  const original = HTMLCanvasElement.prototype.getContext;
  HTMLCanvasElement.prototype.getContext = function (type, ...rest) {
    const had = this.__e3gl;
    const ctx = original.call(this, type, ...rest);
    if (ctx && /webgl/i.test(String(type)) && !had) {
      this.__e3gl = ctx;
      watch.created += 1;
      watch.contexts.push(ctx);
      this.addEventListener('webglcontextlost', () => {
        if (ctx.__e3deliberate) { watch.deliberate += 1; } else { watch.lost += 1; }
      });
      const loseExt = ctx.getExtension('WEBGL_lose_context');
      if (loseExt) {
        const lose = loseExt.loseContext.bind(loseExt);
        loseExt.loseContext = () => { ctx.__e3deliberate = true; lose(); };
      }
    }
    return ctx;
  };
})();
"""

# A cell's top-level output drawn by the ipywidgets renderer: it holds a widget view (.jupyter-widgets), or the
# renderer's "Loading widget..." / "Error displaying widget" text; outputs nested inside an Output widget are not.
IS_WIDGET_OUTPUT_JS = (
    "(out) => !out.parentElement.closest('.jupyter-widgets') && (!!out.querySelector('.jupyter-widgets')"
    " || out.classList.contains('jupyter-widgets') || /^(Loading widget|Error displaying widget)/.test(out.innerText || ''))")

# What the page drew, read from the DOM (see render_report).
REPORT_JS = r"""
() => {
  const WIDGET_OUTPUTS_SELECTOR = '.jp-Notebook .jp-OutputArea-output';
  const IS_WIDGET_OUTPUT = """ + IS_WIDGET_OUTPUT_JS + r""";
  const watch = window.__e3watch || {created: 0, lost: 0, deliberate: 0, contexts: []};
  const isLost = (ctx) => { try { return ctx.isContextLost(); } catch (e) { return true; } };
  const inDom = (el) => el.isConnected;
  const plots = [...document.querySelectorAll('.jp-Notebook .js-plotly-plot')].map((gd, index) => {
    const cell = gd.closest('.jp-Cell');
    const cells = [...document.querySelectorAll('.jp-Notebook .jp-Cell')];
    const scenes = (gd._fullLayout && gd._fullLayout._subplots && gd._fullLayout._subplots.gl3d) || [];
    const canvases = [...gd.querySelectorAll('canvas')].filter((c) => c.__e3gl);
    return {
      index,
      cell: cells.indexOf(cell),
      title: (gd._fullLayout && gd._fullLayout.title && gd._fullLayout.title.text) || '',
      svg: gd.querySelectorAll('.main-svg').length,
      traces: (gd._fullData || []).length,
      scenes: scenes.length,
      in_widget: !!gd.closest('.jupyter-widgets, .widget-output'),
      gl_canvases: canvases.length,
      gl_lost: canvases.filter((c) => isLost(c.__e3gl)).length,
      gl_empty: canvases.filter((c) => !(c.width > 0 && c.height > 0)).length,
    };
  });
  const widgetOutputs = [...document.querySelectorAll(WIDGET_OUTPUTS_SELECTOR)].filter(IS_WIDGET_OUTPUT);
  const widgets = widgetOutputs.map((out) => ({
    cell: [...document.querySelectorAll('.jp-Notebook .jp-Cell')].indexOf(out.closest('.jp-Cell')),
    rendered: !!out.querySelector('.jupyter-widgets'),
    text: (out.innerText || '').slice(0, 300),
    sliders: out.querySelectorAll('.widget-slider, .widget-hslider').length,
    plots: out.querySelectorAll('.js-plotly-plot').length,
  }));
  const errors = [...document.querySelectorAll('.jp-Notebook .jp-OutputArea-output')]
    .map((o) => o.innerText || '')
    .filter((t) => /Traceback \(most recent call last\)|Error displaying widget|Javascript Error/.test(t))
    .map((t) => t.slice(0, 400));
  const live = watch.contexts.filter((c) => c.canvas && inDom(c.canvas));
  return {
    webgl: {created: watch.created, lost: watch.lost, deliberate: watch.deliberate,
            live_in_page: live.length, live_lost: live.filter(isLost).length},
    plots, widgets, errors,
  };
}
"""


def chromium_missing_reason() -> str | None:
    """Why the browser test cannot run here (one line), or None when it can."""
    if not CHROMIUM.exists():
        return f"chromium not found at {CHROMIUM}: install Debian's chromium to run the browser test"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the Python package playwright is missing: pip install -e '.[test]' (never `playwright install`)"
    return None


def free_port() -> int:
    """A localhost port nobody listens on now (the server confirms the one it got, see LabServer)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class LabServer:
    """``jupyter lab`` serving ``root`` on localhost, no token, no browser, isolated Jupyter folders."""

    root: Path
    state_dir: Path
    startup_timeout: float = 90.0
    #: fork the Lab's kernels from a template that has imported torch (``preloaded_kernel.Template``,
    #: started with the server's environment), as the suite does for nbval's kernels
    preloaded_kernels: bool = False
    url: str = ""
    process: subprocess.Popen | None = None
    template: object = None
    #: the environment of the server and its kernels
    env: dict = field(init=False, default_factory=dict)
    log_path: Path = field(init=False)

    def start(self) -> "LabServer":
        runtime, config, workspaces = (self.state_dir / name for name in ("runtime", "config", "workspaces"))
        for folder in (runtime, config / "labconfig", workspaces):
            folder.mkdir(parents=True, exist_ok=True)
        # No news/update toasts over the notebook.
        settings = self.state_dir / "settings"
        (settings / "@jupyterlab" / "apputils-extension").mkdir(parents=True, exist_ok=True)
        (settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings").write_text(
            json.dumps({"fetchNews": "false", "checkForUpdates": False}))
        env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(runtime), JUPYTER_CONFIG_DIR=str(config),
                   JUPYTERLAB_SETTINGS_DIR=str(settings), JUPYTERLAB_WORKSPACES_DIR=str(workspaces),
                   PYTHONUNBUFFERED="1", MPLBACKEND="module://matplotlib_inline.backend_inline")
        env.pop("JUPYTER_TOKEN", None)
        bin_dir = str(Path(sys.executable).parent)
        env["PATH"] = bin_dir + os.pathsep + env.get("PATH", "")  # the kernel is this interpreter's ipykernel
        if self.preloaded_kernels:
            import preloaded_kernel

            kernels = preloaded_kernel.Template.write_kernelspec(self.state_dir / "jupyter-path")
            env["JUPYTER_PATH"] = os.pathsep.join(filter(None, [str(kernels), env.get("JUPYTER_PATH")]))
            self.template = preloaded_kernel.Template(env, cwd=self.root)
            env[preloaded_kernel.TEMPLATE_ENV] = self.template.variable
        self.env = env
        self.log_path = self.state_dir / "jupyter-lab.log"
        command = [sys.executable, "-m", "jupyter", "lab", "--no-browser", f"--port={free_port()}",
                   "--ip=127.0.0.1", "--ServerApp.port_retries=20", "--ServerApp.token=", "--ServerApp.password=",
                   "--allow-root", f"--ServerApp.root_dir={self.root}", "--ServerApp.open_browser=False",
                   "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
                   "--ServerApp.disable_check_xsrf=True"]
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env,
                                            cwd=self.root, start_new_session=True)
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"jupyter lab exited with {self.process.returncode}:\n{self.log()}")
            for info_file in runtime.glob("jpserver-*.json"):  # the port the server really got
                try:
                    info = json.loads(info_file.read_text())
                except (OSError, ValueError):
                    continue
                if info.get("pid") == self.process.pid:
                    self.url = f"http://127.0.0.1:{info['port']}"
            if self.url and self._answers():
                return self
            time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"jupyter lab did not answer within {self.startup_timeout:.0f} s:\n{self.log()}")

    def execute(self, notebook, timeout: float = 240.0, attempts: int = 3) -> None:
        """Run ``notebook`` (an nbformat notebook, changed in place) outside the Lab, as ``e3teach-author run``
        does, in a kernel started the Lab's way: its ``python3`` kernelspec (forked from its template when it
        has one) and its environment. Tries ``attempts`` times: a kernel whose port another process took
        never answers."""
        from jupyter_client.kernelspec import KernelSpecManager
        from jupyter_client.manager import KernelManager
        from nbclient import NotebookClient

        jupyter_path = self.env.get("JUPYTER_PATH", "").split(os.pathsep)
        kernel_dirs = [os.path.join(folder, "kernels") for folder in jupyter_path if folder]
        for attempt in range(1, attempts + 1):
            specs = KernelSpecManager(kernel_dirs=kernel_dirs) if kernel_dirs else KernelSpecManager()
            manager = KernelManager(kernel_name="python3", kernel_spec_manager=specs)
            try:
                NotebookClient(notebook, km=manager, timeout=timeout, startup_timeout=30).execute(
                    env=self.env, cwd=str(self.root), cleanup_kc=True)   # else nbclient leaves it running
                return
            except RuntimeError:
                if attempt == attempts:
                    raise

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:] if self.log_path.exists() else ""

    def _answers(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/api/status", timeout=2) as response:
                return response.status == 200
        except OSError:
            return False

    def _api(self, method: str, path: str):
        request = urllib.request.Request(f"{self.url}{path}", method=method)
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
        return json.loads(body) if body else None

    def shutdown_kernels(self) -> None:
        """Shut down every kernel of this server (between notebooks, and before stopping)."""
        try:
            for kernel in self._api("GET", "/api/kernels") or []:
                self._api("DELETE", f"/api/kernels/{kernel['id']}")
        except OSError:
            pass

    def stop(self) -> None:
        """Kernels first (through the API), then the server; then any process it left, by pid; then the
        kernels' template."""
        try:
            self._stop_server()
        finally:
            if self.template is not None:
                self.template.stop()
                self.template = None

    def _stop_server(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        children = []
        try:
            import psutil

            children = psutil.Process(self.process.pid).children(recursive=True)
        except Exception:  # psutil missing or process gone: the server's own shutdown ends its kernels
            pass
        if self.url:
            self.shutdown_kernels()
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        for child in children:
            try:
                if child.is_running():
                    child.kill()
            except Exception:
                pass


def copy_notebooks(sources, destination: Path) -> list[Path]:
    """Copy notebooks into ``destination`` (the server's root); the Lab edits and autosaves only these."""
    destination.mkdir(parents=True, exist_ok=True)
    copies = []
    for source in sources:
        target = destination / Path(source).name
        shutil.copyfile(source, target)
        copies.append(target)
    return copies


def code_cell_count(notebook: Path) -> int:
    return sum(cell["cell_type"] == "code" for cell in json.loads(notebook.read_text())["cells"])


PLOTLY_MIME, WIDGET_MIME = "application/vnd.plotly.v1+json", "application/vnd.jupyter.widget-view+json"


def stored_output_counts(notebook: Path) -> dict:
    """How many plotly figures and widgets the stored (committed, executed) notebook shows: the Lab must draw
    at least as many."""
    outputs = [out for cell in json.loads(notebook.read_text())["cells"] for out in cell.get("outputs", [])]
    return {"plotly": sum(PLOTLY_MIME in out.get("data", {}) for out in outputs),
            "widgets": sum(WIDGET_MIME in out.get("data", {}) for out in outputs)}


def mark_widget_outputs(page) -> int:
    """Tag each top-level widget output with ``data-e3widget`` (for locators); return how many there are."""
    return page.evaluate("""() => {
      const outs = [...document.querySelectorAll('.jp-Notebook .jp-OutputArea-output')].filter(""" + IS_WIDGET_OUTPUT_JS + """);
      outs.forEach((out, i) => out.setAttribute('data-e3widget', String(i)));
      return outs.length;
    }""")


def _click_menu(page, menu: str, item_pattern: str) -> None:
    page.locator("#jp-MainMenu .lm-MenuBar-item", has_text=re.compile(f"^{menu}$")).click()
    page.locator(".lm-Menu .lm-Menu-item:visible",
                 has=page.locator(".lm-Menu-itemLabel", has_text=re.compile(item_pattern))).first.click()


def kernel_status(page) -> str:
    """What the notebook toolbar's execution indicator says (idle, busy, starting...)."""
    indicator = page.locator(".jp-NotebookPanel:visible .jp-Notebook-ExecutionIndicator").first
    return indicator.get_attribute("data-status") or ""


def wait_kernel_ready(page, server: LabServer, relative_path: str, timeout_s: float = 120.0) -> None:
    """Wait until the notebook's kernel exists on the server and is idle, and the toolbar has said "idle"
    for 2 s in a row (the indicator reads "idle" for a moment before the kernel connects)."""
    deadline, idle_since = time.monotonic() + timeout_s, None
    while time.monotonic() < deadline:
        try:
            sessions = server._api("GET", "/api/sessions") or []
        except OSError:
            sessions = []
        server_idle = any(s.get("path") == relative_path and (s.get("kernel") or {}).get("execution_state") == "idle"
                          for s in sessions)
        if server_idle and kernel_status(page) == "idle":
            idle_since = idle_since or time.monotonic()
            if time.monotonic() - idle_since >= 2.0:
                return
        else:
            idle_since = None
        page.wait_for_timeout(250)
    raise AssertionError(f"{relative_path}: the kernel did not become idle within {timeout_s:.0f} s "
                         f"(toolbar: {kernel_status(page)!r})")


def run_notebook(page, server: LabServer, relative_path: str, n_code_cells: int, *, timeout_s: float = 240.0) -> dict:
    """Open ``relative_path`` in the Lab, Restart Kernel and Run All Cells through the Run menu, accept the
    dialog, and wait until all ``n_code_cells`` have an execution count and the kernel is idle.

    Returns the seconds it took to open the notebook (``open_s``: page, Lab, kernel) and to run it (``run_s``,
    from the click on the menu). Raises AssertionError with the cell
    prompts and any traceback when the run stops early (a cell raised) or times out.
    """
    opened = time.monotonic()
    page.goto(f"{server.url}/lab/tree/{relative_path}?reset", wait_until="domcontentloaded")
    page.locator(".jp-NotebookPanel .jp-Notebook .jp-Cell").first.wait_for(timeout=90_000)
    wait_kernel_ready(page, server, relative_path)
    started = time.monotonic()
    _click_menu(page, "Run", r"Restart Kernel and Run All Cells")
    dialog = page.locator(".jp-Dialog")
    dialog.locator("button.jp-mod-accept").click(timeout=30_000)
    dialog.wait_for(state="detached", timeout=30_000)
    finished_js = """(n) => {
      const prompts = [...document.querySelectorAll('.jp-NotebookPanel .jp-CodeCell .jp-InputPrompt')]
        .map((p) => p.textContent.trim());
      const indicator = document.querySelector('.jp-NotebookPanel .jp-Notebook-ExecutionIndicator');
      const idle = indicator && indicator.getAttribute('data-status') === 'idle';
      const counted = prompts.filter((t) => /^\\[\\d+\\]:$/.test(t)).length;
      const queued = prompts.filter((t) => t.includes('*')).length;
      return idle && queued === 0 && counted >= n && prompts.length >= n;
    }"""
    try:
        page.wait_for_function(finished_js, arg=n_code_cells, timeout=timeout_s * 1000, polling=500)
    except Exception as error:  # playwright's TimeoutError: say where it stopped
        prompts = page.eval_on_selector_all(".jp-NotebookPanel .jp-CodeCell .jp-InputPrompt",
                                            "els => els.map(e => e.textContent.trim())")
        errors = page.eval_on_selector_all(
            ".jp-NotebookPanel .jp-OutputArea-output",
            "els => els.map(e => e.innerText).filter(t => /Traceback|Error/.test(t)).map(t => t.slice(-1500))")
        raise AssertionError(f"{relative_path}: run all did not finish ({type(error).__name__}); prompts: {prompts}; "
                             f"kernel: {kernel_status(page)}; errors: {errors}") from None
    return {"open_s": started - opened, "run_s": time.monotonic() - started}


def wait_for_plots(page, expected: int = 0, timeout_s: float = 120.0) -> None:
    """Wait until the notebook shows at least ``expected`` plotly figures and every one has drawn its SVG
    (plotly.js loads lazily, figures appear one by one after the kernel is idle)."""
    try:
        page.wait_for_function(
            "(n) => { const plots = [...document.querySelectorAll('.jp-Notebook .js-plotly-plot')];"
            " return plots.length >= n && plots.every((gd) => gd.querySelector('.main-svg')); }",
            arg=expected, timeout=timeout_s * 1000, polling=500)
    except Exception:
        pass  # the report says which figure is missing or has no SVG


def wait_for_fast_frames(page, timeout_s: float = 90.0) -> bool:
    """Wait until the page paints at a normal rate again (two frames < 250 ms apart). Software WebGL
    (SwiftShader, no GPU) takes seconds for the first frame of a big 3D scene that scrolls into view, and
    every action on the page waits for frames meanwhile. False if it never recovers within ``timeout_s``."""
    return page.evaluate("""(timeout) => new Promise((resolve) => {
      const start = performance.now(); let last = start, fast = 0;
      const tick = (now) => {
        fast = now - last < 250 ? fast + 1 : 0; last = now;
        if (fast >= 2) resolve(true); else if (now - start > timeout) resolve(false); else requestAnimationFrame(tick);
      };
      requestAnimationFrame(tick);
    })""", timeout_s * 1000)


def render_report(page) -> dict:
    return page.evaluate(REPORT_JS)


def nonblank_fraction(png_bytes: bytes, box=None) -> float:
    """Fraction of pixels (inside ``box`` = (left, top, right, bottom), screenshot pixels) that are not
    the background colour: about 0 for a canvas that lost its context or never drew. The background is the
    most frequent colour among 2000 evenly spaced pixels' colours; a pixel differs when its |ΔR|+|ΔG|+|ΔB|
    from it exceeds 30."""
    import io

    import numpy as np
    from PIL import Image

    image = Image.open(io.BytesIO(png_bytes)).convert("RGB")
    if box is not None:
        image = image.crop(tuple(int(round(v)) for v in box))
    pixels = np.asarray(image, dtype=np.int32).reshape(-1, 3)
    if not len(pixels):
        return 0.0
    packed = (pixels[:, 0] << 16) | (pixels[:, 1] << 8) | pixels[:, 2]
    colours, counts = np.unique(packed, return_counts=True)
    candidates = np.isin(colours, packed[:: max(1, len(packed) // 2000)])
    background = pixels[np.flatnonzero(packed == colours[candidates][np.argmax(counts[candidates])])[0]]
    return float((np.abs(pixels - background).sum(axis=1) > 30).mean())


def screenshot_plots(page, folder: Path, prefix: str) -> list[dict]:
    """Screenshot every plotly figure (scrolled into view, so the browser paints it) into ``folder`` and
    measure how much of each 3D scene's canvas has pixels on it."""
    folder.mkdir(parents=True, exist_ok=True)
    results = []
    count = page.evaluate("""() => { const plots = [...document.querySelectorAll('.jp-Notebook .js-plotly-plot')];
      plots.forEach((gd, i) => gd.setAttribute('data-e3plot', String(i))); return plots.length; }""")
    page.mouse.move(2, 2)  # no hover label over a figure
    for index in range(count):
        gd = page.locator(f'.jp-Notebook [data-e3plot="{index}"]')
        started = time.monotonic()
        if not gd.count():
            results.append({"index": index, "path": None, "canvas_ink": [], "seconds": 0.0, "vanished": True})
            continue
        gd.scroll_into_view_if_needed(timeout=90_000)
        page.wait_for_timeout(300)
        wait_for_fast_frames(page)  # the scene's first frame is painted
        path = folder / f"{prefix}_plot{index:02d}.png"
        png = gd.screenshot(path=str(path), timeout=90_000)
        boxes = gd.evaluate("""(gd) => {
          const r = gd.getBoundingClientRect(); const s = window.devicePixelRatio || 1;
          return [...gd.querySelectorAll('canvas')].filter((c) => c.__e3gl).map((c) => {
            const b = c.getBoundingClientRect();
            return [(b.left - r.left) * s, (b.top - r.top) * s, (b.right - r.left) * s, (b.bottom - r.top) * s];
          });
        }""")
        # A scene canvas spans the figure; what a lost/blank canvas leaves is the figure's background.
        fractions = [nonblank_fraction(png, box) for box in boxes if box[2] - box[0] > 4 and box[3] - box[1] > 4]
        results.append({"index": index, "path": str(path), "canvas_ink": fractions,
                        "seconds": round(time.monotonic() - started, 1), "vanished": False})
    return results


def screenshot_outputs_with_text(page, folder: Path, prefix: str, pattern: str, limit: int = 6) -> list[str]:
    """Screenshot output areas whose text matches ``pattern`` (e.g. the ✅/❌ checker lines)."""
    outputs = page.locator(".jp-Notebook .jp-OutputArea-output", has_text=re.compile(pattern))
    paths = []
    for index in range(min(outputs.count(), limit)):
        out = outputs.nth(index)
        out.scroll_into_view_if_needed(timeout=90_000)
        wait_for_fast_frames(page)
        path = folder / f"{prefix}_text{index:02d}.png"
        out.screenshot(path=str(path), timeout=90_000)
        paths.append(str(path))
    return paths


def figure_signature(gd) -> str:
    """What a plotly figure draws, in short: length and hash of its title and data (typed arrays included)."""
    return gd.evaluate("""(gd) => {
      const text = JSON.stringify([gd.layout && gd.layout.title, gd.data],
                                  (key, value) => ArrayBuffer.isView(value) ? Array.from(value) : value);
      let hash = 0;
      for (let i = 0; i < text.length; i++) hash = (hash * 31 + text.charCodeAt(i)) | 0;
      return `${text.length}:${hash}`;
    }""")


def activate_static_figures(page, timeout_s: float = 90.0) -> list[dict]:
    """jupyterlab-plotly shows a figure whose output also holds an ``image/png`` (e3teach.viz.show's static
    twin) as that PNG, and builds the interactive figure when the mouse enters it. Hover each such figure as
    a reader would; return, per figure, whether its PNG had loaded and whether the interactive figure drew."""
    results = []
    count = page.evaluate("""() => { const figs = [...document.querySelectorAll('.jp-Notebook .jp-RenderedPlotly')]
        .filter((f) => !f.querySelector('.plot-container'));
      figs.forEach((f, i) => f.setAttribute('data-e3static', String(i))); return figs.length; }""")
    for index in range(count):
        figure = page.locator(f'.jp-Notebook [data-e3static="{index}"]')
        image = figure.locator("img.plot-img")
        image.scroll_into_view_if_needed(timeout=timeout_s * 1000)
        png_loaded = image.evaluate("(img) => img.complete && img.naturalWidth > 0")
        box = image.bounding_box(timeout=timeout_s * 1000)
        page.mouse.move(2, 2)
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2, steps=3)  # mouseenter
        try:
            figure.locator(".main-svg").first.wait_for(timeout=timeout_s * 1000)
            drew = True
        except Exception:
            drew = False
        wait_for_fast_frames(page)
        page.mouse.move(2, 2)
        results.append({"index": index, "png_loaded": png_loaded, "interactive_drew": drew})
    return results


def scroll_through(page, max_steps: int = 200) -> int:
    """Scroll the notebook from top to bottom, most of a screen at a time, as a reader does: JupyterLab
    draws an output (a plotly figure...) only once it comes into view. Returns the number of steps."""
    scroller = ".jp-NotebookPanel .jp-WindowedPanel-outer"
    page.mouse.move(2, 2)  # no hover label over a figure
    page.evaluate(f"() => document.querySelector('{scroller}').scrollTop = 0")
    for step in range(1, max_steps + 1):
        page.wait_for_timeout(300)
        wait_for_fast_frames(page)
        at_end = page.evaluate(f"""() => {{ const s = document.querySelector('{scroller}');
          const end = s.scrollTop + s.clientHeight >= s.scrollHeight - 2;
          if (!end) s.scrollTop += Math.floor(0.8 * s.clientHeight);
          return end; }}""")
        if at_end:
            return step
    return max_steps


def move_slider_and_wait(page, widget_output, timeout_s: float = 90.0) -> dict:
    """Type a new value (3/4 of its range) into the first slider's readout of a widget output, as a user can, and wait for
    the widget's plotly figure to be redrawn with different data.

    Returns ``{"before", "after", "value_before", "value_after", "new_element"}``; raises AssertionError when
    the figure did not change.
    """
    gd = widget_output.locator(".js-plotly-plot").first
    gd.scroll_into_view_if_needed(timeout=90_000)
    wait_for_fast_frames(page)
    gd.evaluate("(gd) => { gd.__e3before = true; }")
    before = figure_signature(gd)
    readout = widget_output.locator(".widget-readout").first
    value_before = readout.inner_text()
    handle = widget_output.locator(".noUi-handle").first
    low, high = (float(handle.get_attribute(a)) for a in ("aria-valuemin", "aria-valuemax"))
    target = low + 0.75 * (high - low)  # far from a default value, inside the range
    readout.click()  # the readout is editable: type a value, Enter (one change, one redraw)
    page.keyboard.press("Control+A")
    page.keyboard.type(f"{target:.2f}" if "." in value_before else str(round(target)))  # IntSlider: an integer
    page.keyboard.press("Enter")
    page.wait_for_timeout(200)
    value_after = readout.inner_text()
    deadline = time.monotonic() + timeout_s
    after, new_element = before, False
    while time.monotonic() < deadline:
        current = widget_output.locator(".js-plotly-plot").first
        if current.count() and current.evaluate("(gd) => !!gd.querySelector('.main-svg')"):
            # one element for both reads: a locator resolves anew on each call, and the widget may swap the
            # figure in between (seen once under load: "new" read on the old figure, the change on the new)
            handle = current.element_handle()
            new_element = not handle.evaluate("(gd) => !!gd.__e3before")
            after = figure_signature(handle)
            if after != before:
                wait_for_fast_frames(page)
                break
        page.wait_for_timeout(300)
    return {"before": before, "after": after, "value_before": value_before, "value_after": value_after,
            "new_element": new_element}
