"""nbsup's live widgets in a real browser: JupyterLab 4 and Notebook 7, headless Chromium.

Everything is observed in the rendered page (the DOM that ipywidgets' HTML views produce),
and buttons are clicked with the mouse, so the whole loop is covered: kernel -> comm ->
server -> websocket -> widget manager -> DOM, and click -> comm -> kernel -> supervisor.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import psutil
import pytest

from nbsup.widgets.render import OUTPUT_LINES

if TYPE_CHECKING:  # the fixtures' types; conftest is never imported as a module
    from browser_support import Browser, JupyterServer, NotebookPage

pytestmark = [pytest.mark.browser, pytest.mark.timeout(90)]

FLAKY = (
    "%%supervise flaky startsecs=1 startretries=2\n"
    "echo \"hello <b>&amp;\"; printf '\\033[31mred\\033[0m\\n'; exit 1"
)
SLEEPER = "%%supervise sleeper startsecs=0.5\nsleep 1000"
KERNEL_PID = 'import os\nprint("KERNEL_PID", os.getpid())'
PROGRAM_PIDS = (
    "import nbsup\n"
    "_sup = nbsup.get_supervisor()\n"
    "_pids = {int(p) for n in _sup.program_names for p in _sup[n].events['pid'].dropna()}\n"
    'print("PROGRAM_PIDS", *sorted(_pids))'
)
#: Fails 3 times, then FATAL about 3 s after it starts, while the busy cell behind it runs.
QUICK = "%%supervise quick startsecs=1 startretries=2\necho quick; exit 2"
#: A FIFO the busy cell opens read-write: it blocks the kernel in ``select`` until the test
#: writes a byte to it (or 20 s pass).
RELEASE = Path(tempfile.gettempdir()) / f"nbsup-browser-release-{os.getpid()}"
BUSY = (
    "import os, select, time\n"
    'print("BUSY_START", round(time.time() * 1000))\n'
    f"_fd = os.open({str(RELEASE)!r}, os.O_RDWR)\n"
    "select.select([_fd], [], [], 20)\n"
    "os.close(_fd)\n"
    'print("BUSY_END", round(time.time() * 1000))'
)

#: The JupyterLab notebook, shared by the Lab tests (one page load, one kernel): each
#: test runs its own cells, on programs of its own.
LAB_CELLS = {
    "load": "%load_ext nbsup",
    "kernel_pid": KERNEL_PID,
    "flaky": FLAKY,
    "sleeper": SLEEPER,
    "status": "%supervisorctl status",
    "quick": QUICK,
    "busy": BUSY,
    "program_pids": PROGRAM_PIDS,
}
CELL = {name: index for index, name in enumerate(LAB_CELLS)}

#: The flaky program's transitions, newest first, as its timeline shows them.
FLAKY_TIMELINE = ["FATAL", "BACKOFF", "STARTING", "BACKOFF", "STARTING", "BACKOFF", "STARTING"]
RED = "rgb(220, 38, 38)"  # STATE_COLOURS[FATAL], and ANSI colour 31 in nbsup.widgets.ansi
ORANGE = "rgb(234, 88, 12)"  # STATE_COLOURS[BACKOFF]
GREEN = "rgb(22, 163, 74)"  # STATE_COLOURS[RUNNING]


# ---------------------------------------------------------------------- helpers


def track_kernel(nb: NotebookPage, server: JupyterServer, index: int) -> int:
    """Run the cell that prints the kernel's pid; track it (it must be gone at the end)."""
    nb.run_and_wait(index)
    pids = nb.printed_ints(index, "KERNEL_PID")
    assert len(pids) == 1, nb.output_text(index)
    below_server = {p.pid for p in server.track_descendants()}
    assert pids[0] in below_server, "the kernel is not a child of the server"
    server.track(pids)
    return pids[0]


def track_programs(nb: NotebookPage, server: JupyterServer, index: int) -> list[int]:
    """Run the cell that prints every pid nbsup's programs ever had; track the live ones."""
    nb.run_and_wait(index)
    pids = nb.printed_ints(index, "PROGRAM_PIDS")
    assert pids, nb.output_text(index)
    server.track(pids)
    server.track_descendants()
    return pids


def no_console_errors(nb: NotebookPage, since: int = 0) -> None:
    errors = nb.nbsup_console_errors()[since:]
    assert not errors, f"console errors in the page: {errors}"


def finish(nb: NotebookPage, server: JupyterServer, kernel_pid: int) -> None:
    """No console error; shutting the kernel down leaves no process behind."""
    no_console_errors(nb)
    kernel = server.tracked[kernel_pid]
    server.shutdown_kernels()
    left = server.leftovers(timeout=15.0)
    assert not left, f"processes left after the kernel shut down: {left}"
    assert not server.wait_gone([kernel], 0.1)


def check_flaky_fatal(nb: NotebookPage, attempts: int = 3) -> None:
    """The flaky card at FATAL: badge, description, diagram, timeline, escaped output."""
    card = nb.card_facts("flaky")
    assert card["state"] == card["badge"] == card["badgeText"] == "FATAL", card
    assert card["badgeColour"] == RED
    assert card["description"] == "Exited too quickly (process log may have details)"
    assert card["countdown"] is None  # nothing pending any more
    assert "exit status 1" in card["exit"], card["exit"]
    assert f"failures {attempts}" in card["text"]

    # the diagram: current node, last edge, how often each edge was taken
    assert card["current"] == ["FATAL"]
    assert card["lastEdge"] == ["BACKOFF-FATAL"]
    runs = attempts // 3
    assert card["counts"] == {
        "STOPPED-STARTING": "1",
        "STARTING-BACKOFF": str(attempts),
        "BACKOFF-STARTING": str(attempts - runs),
        "BACKOFF-FATAL": str(runs),
        **({"FATAL-STARTING": str(runs - 1)} if runs > 1 else {}),
    }, card["counts"]

    # the timeline, newest first
    timeline = card["timeline"]
    assert [e["to"] for e in timeline[: len(FLAKY_TIMELINE)]] == FLAKY_TIMELINE, timeline
    assert "BACKOFF→FATAL" in timeline[0]["text"]
    assert "STOPPED→STARTING" in timeline[-1]["text"]
    assert len(timeline) == 7 * runs  # (STOPPED|FATAL)->STARTING, 3 failed starts, FATAL

    # the output tail: HTML-escaped text, colours as spans, no raw escape sequences
    assert set(card["tails"]) == {"stdout"}, card["tails"]  # nothing on stderr
    tail = card["tails"]["stdout"]
    # each attempt printed 2 lines; the card shows the last OUTPUT_LINES
    assert tail["text"].count("hello <b>&amp;") == min(attempts, OUTPUT_LINES // 2), tail
    assert "&lt;b&gt;&amp;amp;" in tail["html"]
    assert set(tail["elements"]) == {"span"}, "program output was rendered as HTML"
    assert "\x1b" not in tail["text"] and "[31m" not in tail["text"] and "[0m" not in tail["text"]
    assert tail["spans"] and all(sp == {"text": "red", "colour": RED} for sp in tail["spans"])
    assert len(tail["spans"]) == min(attempts, OUTPUT_LINES // 2)
    shown = nb.card("flaky").locator('pre.nbsup-tail[data-channel="stdout"]')
    assert shown.get_by_text("hello <b>&amp;").first.is_visible()
    assert shown.locator("span", has_text="red").first.is_visible()


# ---------------------------------------------------------------------- JupyterLab


@pytest.fixture(scope="module")
def lab_page(
    lab_server: JupyterServer, new_browser: Callable[[], Browser]
) -> Iterator[NotebookPage]:
    """One notebook open in JupyterLab, nbsup loaded; at the end: no console error, and
    shutting its kernel down leaves no process (kernel, programs) behind."""
    browser = new_browser()
    try:
        name = lab_server.write_notebook("lab.ipynb", list(LAB_CELLS.values()))
        nb = browser.open(lab_server, name)
        nb.run_and_wait(CELL["load"])
        assert nb.error_outputs(CELL["load"]) == []
        kernel_pid = track_kernel(nb, lab_server, CELL["kernel_pid"])
        yield nb
        track_programs(nb, lab_server, CELL["program_pids"])
        finish(nb, lab_server, kernel_pid)
    finally:
        browser.close()


@pytest.fixture
def lab(lab_page: NotebookPage) -> Iterator[NotebookPage]:
    """The Lab notebook for one test, which must log no console error."""
    before = len(lab_page.nbsup_console_errors())
    yield lab_page
    no_console_errors(lab_page, since=before)


def test_lab_card_buttons_and_dashboard(lab: NotebookPage, lab_server: JupyterServer) -> None:
    """A fast-failing program, Start again, a long one stopped by button, the dashboard."""
    nb = lab
    # --- flaky: STARTING -> BACKOFF x3 -> FATAL over about 3 s, watched as it happens
    nb.run_and_wait(CELL["flaky"])
    assert "flaky: added" in nb.output_text(CELL["flaky"])
    nb.card("flaky").wait_for()
    nb.wait_seen(
        "e.program === 'flaky' && e.badge === 'BACKOFF' && e.state === 'BACKOFF' && "
        "/^attempt [12] of 3 failed; next start in \\d+\\.\\d s$/.test(e.countdown || '')"
    )
    nb.wait_card_state("flaky", "FATAL", timeout=15_000)
    seen = [e["state"] for e in nb.seen("card", "flaky")]
    assert seen[-1] == "FATAL"
    assert set(seen) <= {"STOPPED", "STARTING", "BACKOFF", "FATAL"}, seen
    assert seen.count("FATAL") == 1, seen
    colours = {e["badge"]: e["colour"] for e in nb.seen("card", "flaky")}
    assert colours["BACKOFF"] == ORANGE and colours["FATAL"] == RED, colours
    check_flaky_fatal(nb)
    nb.screenshot("flaky-fatal", nb.card_widget("flaky"))

    # --- the card's Start button: the kernel handles the click, the program starts again
    widget = nb.card_widget("flaky")
    mark = nb.seen_count()
    nb.button(widget, "Start").click()
    nb.wait_seen_after(
        mark, "e.program === 'flaky' && (e.state === 'STARTING' || e.state === 'BACKOFF')"
    )

    # --- sleeper: RUNNING, then the Stop button
    nb.run_and_wait(CELL["sleeper"])
    nb.wait_card_state("sleeper", "RUNNING", timeout=10_000)
    sleeper = nb.card_facts("sleeper")
    match = re.search(r"pid (\d+)", sleeper["head"])
    assert match, sleeper["head"]
    sleeper_pid = int(match.group(1))
    lab_server.track([sleeper_pid])
    process = psutil.Process(sleeper_pid)
    assert process.is_running()
    assert sleeper["badge"] == "RUNNING" and sleeper["badgeColour"] == GREEN
    assert sleeper["current"] == ["RUNNING"]
    assert sleeper["lastEdge"] == ["STARTING-RUNNING"]
    nb.screenshot("sleeper-running", nb.card_widget("sleeper"))
    nb.button(nb.card_widget("sleeper"), "Stop").click()
    nb.wait_card_state("sleeper", "STOPPED", timeout=10_000)
    assert not lab_server.wait_gone([process], 5.0), "Stop left the program running"
    stopped = nb.card_facts("sleeper")
    assert "(stopped)" in stopped["exit"], stopped["exit"]
    assert stopped["current"] == ["STOPPED"] and stopped["lastEdge"] == ["STOPPING-STOPPED"]
    sleeper_seen = [e["state"] for e in nb.seen("card", "sleeper")]
    assert "RUNNING" in sleeper_seen and sleeper_seen[-1] == "STOPPED", sleeper_seen

    # flaky, started again by the button, fails again: 6 failed starts in all
    nb.wait_card_state("flaky", "FATAL", timeout=15_000)
    nb.page.wait_for_function(
        """() => { const t = document.querySelector(
             '.nbsup-card[data-program="flaky"] text.nbsup-count[data-edge="STARTING-BACKOFF"]');
           return t && t.textContent === '6'; }""",
        timeout=5_000,
    )
    check_flaky_fatal(nb, attempts=6)

    # --- %supervisorctl status: a live dashboard with one row per program
    nb.run_and_wait(CELL["status"])
    dash = nb.cell(CELL["status"])
    for program, state in (("flaky", "FATAL"), ("sleeper", "STOPPED")):
        row = dash.locator(f'div.nbsup-row-line[data-program="{program}"]')
        row.wait_for()
        assert row.get_attribute("data-state") == state
        assert row.locator(".nbsup-badge").get_attribute("data-state") == state
    rows = {r.get_attribute("data-program") for r in dash.locator("div.nbsup-row-line").all()}
    assert {"flaky", "sleeper"} <= rows <= {"flaky", "sleeper", "quick"}, rows
    assert "failures 6" in dash.locator('[data-program="flaky"] .nbsup-counts').inner_text()
    nb.screenshot("dashboard", dash.locator(".jp-Cell-outputArea"))

    # the dashboard's buttons drive the same program, and both views follow
    row_widget = dash.locator(".widget-hbox").filter(
        has=nb.page.locator('div.nbsup-row-line[data-program="sleeper"]')
    )
    nb.button(row_widget, "Start").click()
    dash.locator('div.nbsup-row-line[data-program="sleeper"][data-state="RUNNING"]').wait_for(
        timeout=10_000
    )
    nb.wait_card_state("sleeper", "RUNNING", timeout=5_000)
    nb.button(row_widget, "Stop").click()
    dash.locator('div.nbsup-row-line[data-program="sleeper"][data-state="STOPPED"]').wait_for(
        timeout=10_000
    )
    nb.wait_card_state("sleeper", "STOPPED", timeout=5_000)
    nb.screenshot("page")

    # flaky is a one-shot shorter than startsecs: %%supervise warns (the trap it demonstrates)
    (warning,) = nb.error_outputs(CELL["flaky"])
    assert warning.startswith("nbsup: warning: it ends at once, before startsecs=1"), warning
    assert nb.error_outputs(CELL["sleeper"]) == []
    assert nb.error_outputs(CELL["status"]) == []


def test_lab_updates_while_another_cell_runs(lab: NotebookPage) -> None:
    """The card is written from the supervisor's thread: it moves while the kernel is busy."""
    nb = lab
    quick, busy = CELL["quick"], CELL["busy"]
    os.mkfifo(RELEASE)
    try:
        before_supervise = nb.run(quick)
        before_busy = nb.run(busy)  # queued right behind it: the kernel is busy until released
        nb.wait_done(quick, before_supervise)
        nb.card("quick").wait_for(timeout=10_000)
        nb.cell(busy).locator(".jp-Cell-outputArea", has_text="BUSY_START").wait_for(timeout=5_000)
        assert nb.is_busy(busy), "the busy cell should still be running"
        nb.wait_card_state("quick", "FATAL", timeout=7_000)
        assert nb.is_busy(busy), "FATAL was only shown after the busy cell had finished"
        _release()
        nb.wait_done(busy, before_busy, timeout=15_000)
    finally:
        _release()
        RELEASE.unlink()
    (busy_started,) = nb.printed_ints(busy, "BUSY_START")  # ms since the epoch, kernel clock
    (busy_ended,) = nb.printed_ints(busy, "BUSY_END")
    seen = nb.seen("card", "quick")
    assert seen[0]["state"] != "FATAL", seen  # the first render came before the failure
    fatal = next(e for e in seen if e["state"] == "FATAL")
    assert busy in fatal["busy"], f"the cell was not busy when FATAL was rendered: {fatal}"
    # rendered while the cell blocked the kernel (same machine, same clock; 50 ms of slack)
    assert busy_started - 50 <= fatal["now"] <= busy_ended, (busy_started, busy_ended, fatal)
    nb.screenshot("busy-fatal", nb.card_widget("quick"))
    assert "quick: added" in nb.output_text(quick)


def _release() -> None:
    """Let the busy cell finish (nothing happens if it is not waiting)."""
    try:
        fd = os.open(RELEASE, os.O_WRONLY | os.O_NONBLOCK)
    except OSError:  # no reader: the cell is not waiting (yet, or any more)
        return
    try:
        os.write(fd, b"x")
    finally:
        os.close(fd)


# ---------------------------------------------------------------------- Notebook 7


def test_notebook7_card(notebook_server: JupyterServer, browser: Browser) -> None:
    """The same widgets in Notebook 7: load, one program, FATAL visible."""
    name = notebook_server.write_notebook(
        "nb7.ipynb", ["%load_ext nbsup", KERNEL_PID, FLAKY, PROGRAM_PIDS]
    )
    nb = browser.open(notebook_server, name)
    nb.run_and_wait(0)
    assert nb.error_outputs(0) == []
    kernel_pid = track_kernel(nb, notebook_server, 1)
    nb.run_and_wait(2)
    nb.card("flaky").wait_for()
    nb.wait_seen("e.program === 'flaky' && e.state === 'BACKOFF'")
    nb.wait_card_state("flaky", "FATAL", timeout=15_000)
    check_flaky_fatal(nb)
    nb.screenshot("flaky-fatal", nb.card_widget("flaky"))
    track_programs(nb, notebook_server, 3)
    finish(nb, notebook_server, kernel_pid)
