"""Helpers for the browser tests: Jupyter servers, Chromium pages and nbsup's widgets in them.

The fixtures, and what they guarantee, are described in ``conftest.py``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import nbformat
import psutil
from process_waits import until_written, wait_exited

CHROMIUM = "/usr/bin/chromium"
TOKEN = "nbsup-browser-test"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SERVER_START_TIMEOUT = 60.0
DEFAULT_TIMEOUT_MS = 20_000

#: Console and page errors that have nothing to do with nbsup: (app, text, where), each a
#: substring of the message / of its stack or location. Everything else fails the test.
#:
#: * Notebook 7.6.5, on every page load, before any cell runs (also without nbsup, and
#:   without our settings file): its shortcuts plugin reads ``plugins[id].schema`` for a
#:   plugin id the settings registry does not hold, in a ``pluginChanged`` handler
#:   (notebook_core.*.js). JupyterLab 4.6.6 logs nothing.
KNOWN_UNRELATED_ERRORS: tuple[tuple[str, str, str], ...] = (
    ("notebook", "Cannot read properties of undefined (reading 'schema')", "notebook_core."),
)

# ---------------------------------------------------------------------- processes


def is_alive(proc: psutil.Process) -> bool:
    """True for a process that still exists, is the same process, and is not a zombie."""
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def wait_gone(procs: list[psutil.Process], timeout: float) -> list[psutil.Process]:
    """Wait until every process has ended; return those still alive."""
    procs = [p for p in procs if is_alive(p)]  # also drops a pid reused by another process
    running = set(wait_exited([p.pid for p in procs], timeout))
    return [p for p in procs if p.pid in running]


def describe(proc: psutil.Process) -> str:
    try:
        return f"{proc.pid} {' '.join(proc.cmdline())[:150]}"
    except psutil.Error:
        return f"{proc.pid} ?"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# ---------------------------------------------------------------------- the server


class JupyterServer:
    """``python -m jupyterlab`` or ``python -m notebook`` in temporary folders."""

    def __init__(self, app: str, folder: Path) -> None:
        assert app in ("lab", "notebook")
        self.app = app
        self.folder = folder
        self.root = folder / "root"
        self.root.mkdir(parents=True)
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.tracked: dict[int, psutil.Process] = {}
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = folder / "server.log"
        self.stopped = False

    # -------------------------------------------------------------- start

    def environment(self) -> dict[str, str]:
        env = dict(os.environ)
        dirs = {
            "JUPYTER_CONFIG_DIR": "config",
            "JUPYTER_RUNTIME_DIR": "runtime",
            "JUPYTERLAB_SETTINGS_DIR": "lab-settings",
            "JUPYTERLAB_WORKSPACES_DIR": "lab-workspaces",
            "IPYTHONDIR": "ipython",
        }
        for variable, name in dirs.items():
            path = self.folder / name
            path.mkdir()
            env[variable] = str(path)
        # otherwise a "get notified about official Jupyter news?" toast covers the page (§5.3)
        settings = self.folder / "lab-settings" / "@jupyterlab" / "apputils-extension"
        settings.mkdir(parents=True)
        (settings / "notification.jupyterlab-settings").write_text(
            json.dumps({"fetchNews": "false", "checkForUpdates": False})
        )
        env["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"
        env.pop("JUPYTER_TOKEN", None)
        return env

    def command(self) -> list[str]:
        common = [
            "--no-browser",
            f"--IdentityProvider.token={TOKEN}",
            f"--port={self.port}",
            "--ip=127.0.0.1",
            "--ServerApp.port_retries=0",
            f"--ServerApp.root_dir={self.root}",
            "--expose-app-in-browser",
        ]
        if os.geteuid() == 0:  # "Running as root is not recommended", exit 1 (§5.1)
            common.append("--allow-root")
        if self.app == "lab":
            return [
                sys.executable,
                "-m",
                "jupyterlab",
                *common,
                "--LabApp.news_url=None",
                "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            ]
        # Notebook 7: no LabApp-only option, or it silently ignores all the others (§5.7)
        return [sys.executable, "-m", "notebook", *common]

    def start(self) -> None:
        self.launch()
        self.wait_ready()

    def launch(self) -> None:
        """Start the server process (see :meth:`wait_ready`)."""
        env = self.environment()
        log = open(self.log_path, "wb")  # the child keeps its own descriptor
        try:
            self.proc = subprocess.Popen(
                self.command(),
                cwd=self.root,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        finally:
            log.close()
        self.tracked[self.proc.pid] = psutil.Process(self.proc.pid)

    def wait_ready(self) -> None:
        """Wait until ``/api/status`` answers 200 (about 1.5 s on an idle machine)."""
        proc = self.proc
        assert proc is not None

        def answers() -> bool:
            if proc.poll() is not None:
                raise RuntimeError(f"jupyter {self.app} exited at once:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(self.api_url("/api/status"), timeout=2) as reply:
                    return bool(reply.status == 200)
            except (urllib.error.URLError, OSError):
                return False

        try:
            # the server logs its address once it listens: look again at each line it logs
            until_written(
                self.log_path.parent, answers, SERVER_START_TIMEOUT, f"jupyter {self.app}"
            )
        except AssertionError:
            self.stop(check=False)
            raise RuntimeError(f"jupyter {self.app} not ready:\n{self.log_tail()}") from None

    # -------------------------------------------------------------- use

    def api_url(self, path: str) -> str:
        return f"{self.base}{path}?token={TOKEN}"

    def page_url(self, notebook: str) -> str:
        if self.app == "notebook":
            return f"{self.base}/notebooks/{notebook}?token={TOKEN}"
        # a workspace of its own: the session server would otherwise reopen (and start
        # kernels for) the notebooks of earlier tests
        workspace = re.sub(r"[^A-Za-z0-9]+", "-", notebook)
        return f"{self.base}/lab/workspaces/{workspace}/tree/{notebook}?token={TOKEN}"

    def api(self, method: str, path: str) -> Any:
        request = urllib.request.Request(self.api_url(path), method=method)
        with urllib.request.urlopen(request, timeout=20) as reply:
            body = reply.read()
        return json.loads(body) if body else None

    def write_notebook(self, name: str, cells: list[str]) -> str:
        notebook = nbformat.v4.new_notebook()
        notebook.cells = [nbformat.v4.new_code_cell(source) for source in cells]
        notebook.metadata["kernelspec"] = {
            "name": "python3",
            "display_name": "Python 3 (ipykernel)",
            "language": "python",
        }
        nbformat.write(notebook, self.root / name)
        return name

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return "(no log)"

    def track(self, pids: list[int]) -> None:
        """Remember processes that must be gone once the server has stopped."""
        for pid in pids:
            if pid in self.tracked:
                continue
            try:
                self.tracked[pid] = psutil.Process(pid)
            except psutil.NoSuchProcess:
                pass

    def track_descendants(self) -> list[psutil.Process]:
        """Track every live process below the server (kernels, programs, helpers)."""
        if self.proc is None:
            return []
        try:
            children = psutil.Process(self.proc.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return []
        self.track([p.pid for p in children])
        return children

    def shutdown_kernels(self) -> None:
        """Shut down every session's kernel through the REST API (as a user would)."""
        self.track_descendants()
        for session in self.api("GET", "/api/sessions"):
            self.api("DELETE", f"/api/sessions/{session['id']}")
        for kernel in self.api("GET", "/api/kernels"):
            self.api("DELETE", f"/api/kernels/{kernel['id']}")

    def leftovers(self, timeout: float = 10.0) -> list[str]:
        """Tracked processes other than the server itself still alive after ``timeout``."""
        server_pid = self.proc.pid if self.proc is not None else -1
        watched = [p for pid, p in self.tracked.items() if pid != server_pid]
        return [describe(p) for p in wait_gone(watched, timeout)]

    @staticmethod
    def wait_gone(procs: list[psutil.Process], timeout: float) -> list[psutil.Process]:
        return wait_gone(procs, timeout)

    # -------------------------------------------------------------- stop

    def stop(self, check: bool = True) -> list[str]:
        """terminate, wait, kill; then every tracked process must be gone.

        Returns the processes that were left (and have then been killed)."""
        if self.stopped or self.proc is None:
            return []
        self.stopped = True
        self.track_descendants()
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
        alive = wait_gone(list(self.tracked.values()), timeout=10.0)
        left = [describe(p) for p in alive]
        for proc in alive:
            try:
                proc.kill()
            except psutil.Error:
                pass
        wait_gone(alive, timeout=5.0)
        return left if check else []


# ---------------------------------------------------------------------- the page

#: The cells of the notebook under test (its panel is marked by :meth:`NotebookPage.open`).
CELLS = "[data-nbsup-test] .jp-Notebook .jp-Cell"

#: Installed once per page: records every distinct look of every nbsup card and row (with
#: the time and which cells were busy then), so short-lived states (BACKOFF lasts 1 s) are
#: never missed between two polls.
OBSERVER_JS = r"""
() => {
  const CELLS = '__CELLS__';
  if (window.__nbsup) return;
  const seen = [];
  const last = new Map();
  const busyCells = () => [...document.querySelectorAll(CELLS)]
      .map((cell, i) => [i, cell.querySelector('.jp-InputPrompt')])
      .filter(([i, p]) => p && p.textContent.includes('*')).map(([i]) => i);
  const record = () => {
    for (const card of document.querySelectorAll('.nbsup-card')) {
      const cd = card.querySelector('.nbsup-countdown');
      const badge = card.querySelector('.nbsup-badge');
      const entry = {kind: 'card', program: card.dataset.program, state: card.dataset.state,
                     badge: badge ? badge.dataset.state : null,
                     colour: badge ? getComputedStyle(badge).backgroundColor : null,
                     countdown: cd ? cd.firstChild.textContent : null};
      const key = 'card:' + entry.program;
      const sig = entry.state + '|' + entry.badge + '|' + (entry.countdown || '').replace(/[0-9.]+ s$/, '');
      if (last.get(key) !== sig) {
        last.set(key, sig);
        seen.push({...entry, now: Date.now(), busy: busyCells()});
      }
    }
    for (const row of document.querySelectorAll('.nbsup-row-line')) {
      const key = 'row:' + row.dataset.program;
      if (last.get(key) !== row.dataset.state) {
        last.set(key, row.dataset.state);
        seen.push({kind: 'row', program: row.dataset.program, state: row.dataset.state,
                   now: Date.now(), busy: busyCells()});
      }
    }
  };
  window.__nbsup = {seen, record};
  new MutationObserver(record).observe(document.body,
      {subtree: true, childList: true, characterData: true, attributes: true});
  record();
}
""".replace("__CELLS__", CELLS)

KERNEL_READY_JS = """() => {
  const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
  return !!k && k.connectionStatus === 'connected' && k.status === 'idle';
}"""

MARK_JS = """() => {
  const panel = window.jupyterapp.shell.currentWidget;
  panel.node.setAttribute('data-nbsup-test', 'current');
  return panel.context.path;
}"""

#: Never awaited: the command's promise resolves only on the kernel's idle message (§5.9).
RUN_CELL_JS = """(i) => {
  const app = window.jupyterapp, panel = app.shell.currentWidget;
  panel.content.activeCellIndex = i;
  panel.content.deselectAll();
  app.commands.execute('notebook:run-cell');
}"""

PROMPT_JS = """(i) => {
  const CELLS = '__CELLS__';
  const cell = document.querySelectorAll(CELLS)[i];
  const prompt = cell && cell.querySelector('.jp-InputPrompt');
  return prompt ? prompt.textContent.trim() : null;
}""".replace("__CELLS__", CELLS)

DONE_JS = """([i, before]) => {
  const CELLS = '__CELLS__';
  const cell = document.querySelectorAll(CELLS)[i];
  const prompt = cell && cell.querySelector('.jp-InputPrompt');
  const text = prompt ? prompt.textContent.trim() : '';
  return /^\\[\\d+\\]:$/.test(text) && text !== before;
}""".replace("__CELLS__", CELLS)


#: Everything a card shows, read in one go (the HTML is replaced up to 10 times a second,
#: so element handles kept between two calls could be stale).
CARD_FACTS_JS = r"""(card) => {
  const one = (sel) => card.querySelector(sel);
  const text = (sel) => { const e = one(sel); return e ? e.textContent : null; };
  const badge = one('.nbsup-head .nbsup-badge');
  const counts = {};
  for (const t of card.querySelectorAll('svg.nbsup-diagram text.nbsup-count'))
    counts[t.dataset.edge] = t.textContent;
  const tails = {};
  for (const pre of card.querySelectorAll('pre.nbsup-tail')) {
    tails[pre.dataset.channel] = {
      text: pre.innerText, html: pre.innerHTML,
      elements: [...pre.querySelectorAll('*')].map(e => e.tagName.toLowerCase()),
      spans: [...pre.querySelectorAll('span')].map(e => ({text: e.textContent,
                                                         colour: getComputedStyle(e).color})),
    };
  }
  const current = card.querySelectorAll('svg.nbsup-diagram g.nbsup-node.nbsup-current');
  const last = card.querySelectorAll('svg.nbsup-diagram path.nbsup-edge.nbsup-last');
  const countdown = one('.nbsup-countdown');
  return {
    state: card.dataset.state,
    badge: badge ? badge.dataset.state : null,
    badgeText: badge ? badge.textContent : null,
    badgeColour: badge ? getComputedStyle(badge).backgroundColor : null,
    head: text('.nbsup-head'),
    description: text('.nbsup-description'),
    countdown: countdown ? countdown.firstChild.textContent : null,
    exit: text('.nbsup-exit'),
    text: card.innerText,
    current: [...current].map(g => g.dataset.state),
    lastEdge: [...last].map(p => p.dataset.edge),
    counts,
    timeline: [...card.querySelectorAll('.nbsup-timeline div.nbsup-event')]
        .map(e => ({to: e.dataset.to, text: e.textContent})),
    tails,
  };
}"""


class NotebookPage:
    """One open notebook in the browser, with helpers for nbsup's widgets."""

    def __init__(self, page: Any, server: JupyterServer, shots: Path) -> None:
        self.page = page
        self.server = server
        self.shots = shots
        self.console: list[dict[str, Any]] = []
        self.page_errors: list[str] = []
        page.on("console", self._on_console)
        page.on("pageerror", lambda error: self.page_errors.append(f"{error}\n{error.stack}"))

    def _on_console(self, message: Any) -> None:
        if message.type == "error":
            self.console.append({"text": message.text, "location": message.location})

    # -------------------------------------------------------------- notebook

    def open(self, notebook: str) -> None:
        self.page.goto(self.server.page_url(notebook))
        self.page.wait_for_selector(".jp-Notebook .jp-Cell .cm-content", timeout=30_000)
        self.page.wait_for_function(KERNEL_READY_JS, timeout=30_000)
        # mark the notebook under test: every query below looks only inside it
        path = self.page.evaluate(MARK_JS)
        assert path == notebook, f"the current widget is {path!r}, not {notebook!r}"
        self.page.evaluate(OBSERVER_JS)

    def cell(self, index: int) -> Any:
        return self.page.locator(CELLS).nth(index)

    def run(self, index: int) -> str:
        """Start cell ``index``; return its prompt from before (for :meth:`wait_done`)."""
        before = self.page.evaluate(PROMPT_JS, index)
        self.page.evaluate(RUN_CELL_JS, index)
        return str(before)

    def wait_done(self, index: int, before: str, timeout: float = 20_000) -> None:
        self.page.wait_for_function(DONE_JS, arg=[index, before], timeout=timeout)

    def run_and_wait(self, index: int, timeout: float = 20_000) -> None:
        self.wait_done(index, self.run(index), timeout)

    def printed_ints(self, index: int, tag: str) -> list[int]:
        """The integers cell ``index`` printed after ``tag`` (``TAG 1 2 3``)."""
        found = re.search(rf"{tag}((?: \d+)*)", self.output_text(index))
        return [int(n) for n in found.group(1).split()] if found else []

    def is_busy(self, index: int) -> bool:
        return "*" in str(self.page.evaluate(PROMPT_JS, index))

    def output_text(self, index: int) -> str:
        return str(self.cell(index).locator(".jp-Cell-outputArea").inner_text())

    def error_outputs(self, index: int) -> list[str]:
        """Tracebacks and stderr text of a cell."""
        items = self.cell(index).locator(
            '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'
        )
        return [str(t) for t in items.all_inner_texts()]

    # -------------------------------------------------------------- nbsup

    def card(self, program: str) -> Any:
        return self.page.locator(f'[data-nbsup-test] .nbsup-card[data-program="{program}"]')

    def card_facts(self, program: str) -> dict[str, Any]:
        """What the card of ``program`` shows now (see CARD_FACTS_JS)."""
        return dict(self.card(program).evaluate(CARD_FACTS_JS))

    def card_widget(self, program: str) -> Any:
        """The card's VBox (HTML + buttons)."""
        inner = self.page.locator(f'.nbsup-card[data-program="{program}"]')
        return self.page.locator("[data-nbsup-test] .widget-vbox").filter(has=inner)

    def button(self, scope: Any, name: str) -> Any:
        """An ipywidgets Button by its exact description ("Start" is not "Restart").

        Not ``get_by_role(name=...)``: the Font Awesome icon's glyph (a ``::before``
        pseudo-element) is part of the button's accessible name."""
        by_text = scope.locator("button.widget-button", has_text=re.compile(rf"^\s*{name}\s*$"))
        # compact (icon-only) buttons, as in dashboard rows, carry their name as a tooltip
        return by_text.or_(scope.locator(f'button.widget-button[title="{name}"]'))

    def wait_card_state(self, program: str, state: str, timeout: float = 20_000) -> None:
        self.card(program).and_(self.page.locator(f'[data-state="{state}"]')).wait_for(
            timeout=timeout
        )

    def seen(self, kind: str = "card", program: str | None = None) -> list[dict[str, Any]]:
        """Every distinct look recorded by the page's observer."""
        entries = self.page.evaluate("() => window.__nbsup.seen")
        return [
            e for e in entries if e["kind"] == kind and (program is None or e["program"] == program)
        ]

    def wait_seen(self, predicate_js: str, timeout: float = 20_000) -> None:
        """Wait until an observed entry ``e`` satisfies the JS expression ``predicate_js``."""
        self.page.wait_for_function(
            f"() => window.__nbsup.seen.some(e => {predicate_js})", timeout=timeout
        )

    def seen_count(self) -> int:
        return int(self.page.evaluate("() => window.__nbsup.seen.length"))

    def wait_seen_after(self, start: int, predicate_js: str, timeout: float = 20_000) -> None:
        self.page.wait_for_function(
            f"(n) => window.__nbsup.seen.slice(n).some(e => {predicate_js})",
            arg=start,
            timeout=timeout,
        )

    # -------------------------------------------------------------- evidence

    def screenshot(self, name: str, locator: Any | None = None) -> Path:
        path = self.shots / f"{self.server.app}-{name}.png"
        if locator is None:
            self.page.screenshot(path=str(path), full_page=True)
        else:
            locator.screenshot(path=str(path))
        extra = os.environ.get("NBSUP_SCREENSHOTS")
        if extra:
            Path(extra).mkdir(parents=True, exist_ok=True)
            shutil.copy(path, Path(extra) / path.name)
        return path

    def nbsup_console_errors(self) -> list[str]:
        """Console errors and uncaught page errors, minus the known unrelated ones."""
        errors = [f"{e['text']}\n  at {e['location']}" for e in self.console]
        errors += self.page_errors
        return [
            error
            for error in errors
            if not any(
                app == self.server.app and text in error and where in error
                for app, text, where in KNOWN_UNRELATED_ERRORS
            )
        ]


class Browser:
    """Pages of the session's Chromium; each test's pages are closed when it ends."""

    def __init__(self, context: Any, shots: Path) -> None:
        self.context = context
        self.shots = shots
        self.pages: list[Any] = []

    def open(self, server: JupyterServer, notebook: str) -> NotebookPage:
        page = self.context.new_page()
        self.pages.append(page)
        notebook_page = NotebookPage(page, server, self.shots)
        notebook_page.open(notebook)
        return notebook_page

    def close(self) -> None:
        for page in self.pages:
            try:
                page.close()
            except Exception:
                pass
        self.pages.clear()


# ---------------------------------------------------------------------- fixtures
