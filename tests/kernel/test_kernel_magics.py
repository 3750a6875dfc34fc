"""The magics in a real ipykernel: one shared kernel, distinct program names per test.

Cells run through jupyter_client exactly as a notebook front end sends them; process
checks (alive, gone, cmdline) are made from outside the kernel with psutil.
"""

from __future__ import annotations

import itertools
import os
import re
import signal

import psutil
import pytest
from kernel_support import KernelSession, is_alive, wait_gone

pytestmark = pytest.mark.kernel

#: A %%supervise cell returns at once: the cell itself (the kernel's reply timing, from
#: ``started`` to the reply) takes less than this...
FAST_CELL = 0.1
#: ...and the client's whole round trip (zmq both ways, scheduling on a loaded machine)
#: less than this: far below any startsecs or stopwaitsecs the cells use.
ROUND_TRIP = 0.3


def assert_returned_at_once(result) -> None:
    assert result.kernel_seconds() < FAST_CELL, f"the cell took {result.kernel_seconds():.3f} s"
    assert result.elapsed < ROUND_TRIP, f"the round trip took {result.elapsed:.3f} s"


def sup(expr: str) -> str:
    """Kernel-side expression on the kernel's supervisor."""
    return f"_nbsup.get_supervisor(){expr}"


def wait_running(kernel: KernelSession, name: str, timeout: float = 10.0) -> int:
    """Wait in the kernel for ``name`` to be RUNNING; return its pid (tracked for cleanup)."""
    state = kernel.value(sup(f"[{name!r}].wait_for('RUNNING', timeout={timeout}).value"))
    assert state == "RUNNING"
    pid = kernel.value(sup(f"[{name!r}].pid"))
    assert pid > 0
    kernel.track_tree(pid)
    return int(pid)


def delays(events: list[dict], frm: str, to: str, after: str) -> list[float]:
    """Seconds between entering ``after`` and each following ``frm -> to`` transition."""
    result = []
    entered = None
    for event in events:
        if event["to"] == after:
            entered = event["elapsed"]
        if event["from"] == frm and event["to"] == to:
            assert entered is not None
            result.append(event["elapsed"] - entered)
    return result


# ---------------------------------------------------------------------- 1


def test_supervise_cell_returns_at_once_and_status_has_supervisorctl_format(kernel):
    load = kernel.load_result
    assert load is not None and load.error is None, load
    assert (load.stdout, load.stderr) == ("", "")

    result = kernel.run("%%supervise train startsecs=1 autorestart=true\necho hello\nsleep 1000\n")
    assert result.error is None, result.error
    print(
        f"%%supervise round trip {result.elapsed * 1000:.1f} ms, "
        f"kernel {result.kernel_seconds() * 1000:.1f} ms"
    )
    assert_returned_at_once(result)
    # it returned before the program could count as started (startsecs=1)
    lines = result.stdout.splitlines()
    assert lines[0] == "train: added (STARTING)"
    assert lines[1].startswith("train  STARTING")  # the live card, as text
    assert result.stderr == ""

    pid = wait_running(kernel, "train")
    for line in ("%supervisorctl status train", "%supervisorctl status"):
        out = kernel.ok(line)
        rows = [row for row in out.splitlines() if row.startswith("train ")]
        assert len(rows) == 1, out
        match = re.fullmatch(r"(train +)RUNNING   pid (\d+), uptime 0:00:0\d", rows[0])
        assert match, rows[0]
        assert len(match.group(1)) == 33
        assert int(match.group(2)) == pid
    assert is_alive(pid)
    # the supervisor's files are under the kernel's working directory
    session = kernel.value("str(" + sup(".session_dir") + ")")
    assert os.path.dirname(session) == str(kernel.cwd / ".nbsup")


# ---------------------------------------------------------------------- 2


def test_python_interpreter_command_option_and_unnamed_cells(kernel):
    executable = kernel.value("__import__('sys').executable")
    result = kernel.run(
        "%%supervise pyprog interpreter=python startsecs=0 autorestart=false\n"
        "import os, sys\n"
        "print('exe=' + sys.executable)\n"
        "print('ppid=%d' % os.getppid())\n"
    )
    assert result.error is None, result.error
    assert kernel.value(sup("['pyprog'].wait_for('EXITED', timeout=10).value")) == "EXITED"
    assert kernel.value(sup("['pyprog'].exitstatus")) == 0
    tail = kernel.value(sup("['pyprog'].tail()"))
    assert f"exe={executable}\n" in tail
    assert f"ppid={kernel.pid}\n" in tail  # run by the kernel, not by a shell in between

    # command= instead of a body: split like a shell, run directly. IPython refuses a cell
    # magic without a body before nbsup sees it, and points at the line magic
    result = kernel.run('%%supervise cmdprog command="sleep 1000" startsecs=0.2\n')
    assert result.error and result.error["ename"] == "UsageError"
    assert "Did you mean the line magic %supervise (single %)?" in result.error["evalue"]
    result = kernel.run('%supervise cmdprog command="sleep 1000" startsecs=0.2')
    assert result.error is None, result.error
    assert_returned_at_once(result)
    assert result.stdout.startswith("cmdprog: added (STARTING)")
    pid = wait_running(kernel, "cmdprog")
    assert psutil.Process(pid).cmdline() == ["sleep", "1000"]
    # not both
    result = kernel.run('%%supervise cmdprog2 command="sleep 1"\nsleep 2\n')
    assert result.error and result.error["ename"] == "UsageError"
    assert kernel.value("'cmdprog2' in " + sup("")) is False

    # no name: a unique one is chosen and printed
    names = []
    for _ in range(2):
        result = kernel.run("%%supervise startsecs=0.2\nsleep 1000\n")
        assert result.error is None, result.error
        assert_returned_at_once(result)
        match = re.match(r"nbsup: no name given, this program is called '([^']+)'\n", result.stdout)
        assert match, result.stdout
        names.append(match.group(1))
        assert f"\n{match.group(1)}: added (STARTING)" in result.stdout
    assert names[0] != names[1]
    for name in names:
        wait_running(kernel, name)


# ---------------------------------------------------------------------- 3

BAD_LINES = [
    ("startsecs=abc", ["startsecs=abc", "seconds"]),
    ("autorestart=maybe", ["autorestart=maybe", "false, unexpected or true"]),
    ("exitcodes=300", ["exitcodes=300", "0 to 255"]),
    ("stopsignal=NOPE", ["stopsignal=NOPE", "signal name"]),
    ("stopasgroup=true killasgroup=false", ["killasgroup=false", "stopasgroup is true"]),
    ("startsec=1", ["'startsec'", "did you mean 'startsecs'"]),
]


@pytest.fixture(scope="module")
def running_x(kernel):
    """Program ``badx``, RUNNING, that bad cells for the same name must leave alone."""
    assert kernel.run("%%supervise badx startsecs=0.2\nsleep 1000\n").error is None
    wait_running(kernel, "badx")
    return "badx"


@pytest.mark.parametrize(("options", "words"), BAD_LINES, ids=[b[0] for b in BAD_LINES])
def test_bad_line_is_a_one_line_usage_error_and_changes_nothing(kernel, running_x, options, words):
    x = running_x
    before_x = kernel.value(f"_program({x!r})")
    for name in ("badnew", x):
        before = kernel.value("_snapshot()")
        result = kernel.run(f"%%supervise {name} {options}\nsleep 1000\n")
        assert result.error is not None, f"{name} {options} was accepted"
        assert result.error["ename"] == "UsageError"
        assert result.error["traceback"] == []
        evalue = result.error["evalue"]
        assert "\n" not in evalue and len(evalue) < 300, evalue
        for word in words:
            assert word in evalue, evalue
        # the user sees one line on stderr, no traceback
        assert result.stderr == f"UsageError: {evalue}\n"
        assert result.stdout == ""
        assert_returned_at_once(result)
        assert kernel.value("_snapshot()") == before
    assert "badnew" not in kernel.value("_snapshot()")["names"]
    assert kernel.value(f"_program({x!r})") == before_x
    assert before_x["state"] == "RUNNING" and is_alive(before_x["pid"])


# ---------------------------------------------------------------------- 4


def test_rerunning_a_cell_replaces_the_program(kernel):
    body = "trap '' TERM\necho old\nsleep 1000\n"  # ignores SIGTERM: stopping takes stopwaitsecs
    assert kernel.run(f"%%supervise rep startsecs=0.2 stopwaitsecs=1\n{body}").error is None
    old_pid = wait_running(kernel, "rep")
    old_tree = kernel.track_tree(old_pid)
    assert len(old_tree) == 2  # bash and its sleep

    result = kernel.run("%%supervise rep startsecs=0.2\necho new\nsleep 1000\n")
    assert result.error is None, result.error
    print(
        f"replacing cell round trip {result.elapsed * 1000:.1f} ms, "
        f"kernel {result.kernel_seconds() * 1000:.1f} ms"
    )
    assert_returned_at_once(result)
    assert result.stdout.startswith("rep: replaced (")

    kernel.ok(
        "_p = " + sup("['rep']") + "\n"
        f"_until(lambda: _p.pid not in (0, {old_pid}) and _p.state.value == 'RUNNING', _p, 10)"
    )
    new_pid = kernel.value(sup("['rep'].pid"))
    kernel.track_tree(new_pid)
    assert new_pid != old_pid and is_alive(new_pid)
    assert not wait_gone(old_tree, timeout=1.0), "the old program's processes survived"
    assert kernel.value(sup("['rep'].options.stopwaitsecs")) == 10.0  # the new cell's options
    kernel.ok("_until(lambda: 'new' in " + sup("['rep'].tail()") + ", " + sup("['rep']") + ", 5)")
    events = kernel.value("_events('rep')")
    stop = [e for e in events if e["from"] == "STOPPING" and e["to"] == "STOPPED"]
    assert len(stop) == 1 and stop[0]["signal"] == "SIGKILL" and stop[0]["pid"] == old_pid
    assert delays(events, "STOPPING", "STOPPED", after="STOPPING")[0] == pytest.approx(1.0, abs=0.1)
    starts = [e["pid"] for e in events if e["from"] == "STARTING" and e["to"] == "RUNNING"]
    assert starts == [old_pid, new_pid]


# ---------------------------------------------------------------------- 5

BACKOFF_CELL = "%%supervise {name} startsecs=1 startretries=3\ndate +%s.%N >> {stamps}\nexit 1\n"


def check_backoff_schedule(kernel: KernelSession, name: str, cell: str, tolerance: float) -> None:
    """Run a failing program, then ``cell``; check the retries kept their schedule.

    Two measures of each BACKOFF -> STARTING delay (1 s, 2 s, 3 s wanted), both within
    ``tolerance`` (and never early, beyond the 1 ms of converting clocks):

    * timer: from entering BACKOFF to the moment the spawn began (``Program.laststart``,
      seen by an observer), i.e. how late the supervisor thread's timer fired;
    * record: from the BACKOFF row to the STARTING row of the event log.
    """
    stamps = kernel.cwd / f"{name}.starts"
    result = kernel.run(BACKOFF_CELL.format(name=name, stamps=stamps))
    assert result.error is None, result.error
    observe = (
        "_starts = []\n"
        + sup(f"[{name!r}]")
        + ".observe(lambda change: _starts.append(change['new']), names='laststart')\n"
    )
    busy = kernel.run(observe + cell)
    assert busy.error is None, busy.error
    assert kernel.value(sup(f"[{name!r}].state.value")) == "FATAL"

    events = kernel.value(f"_events({name!r})")
    assert [e["to"] for e in events] == [
        *("STARTING", "BACKOFF") * 4,
        "FATAL",
    ]
    backoffs = [e["time"] for e in events if e["to"] == "BACKOFF"]
    starts = kernel.value("_starts")
    assert len(starts) == 3, starts
    timer = [start - entered for start, entered in zip(starts, backoffs, strict=False)]
    record = delays(events, "BACKOFF", "STARTING", after="BACKOFF")
    timer_errors = [round((d - want) * 1000, 1) for d, want in zip(timer, (1, 2, 3), strict=True)]
    record_errors = [round((d - want) * 1000, 1) for d, want in zip(record, (1, 2, 3), strict=True)]
    print(
        f"{name}: BACKOFF->STARTING delays {[round(d, 4) for d in record]} s; errors: "
        f"timer {timer_errors} ms, record {record_errors} ms"
    )
    assert all(-1 <= e <= tolerance * 1000 for e in timer_errors), timer_errors
    assert all(-1 <= e <= tolerance * 1000 for e in record_errors), record_errors
    # every retry happened while the busy cell held the kernel's main thread
    started, finished = busy.kernel_interval()
    retries = [e["time"] for e in events if e["from"] == "BACKOFF" and e["to"] == "STARTING"]
    assert all(started <= t <= finished for t in retries), (started, retries, finished)
    # cross-check with the programs' own clock (which also counts fork, exec and bash's
    # start-up): the processes really started when the events say
    spawned = [e["elapsed"] for e in events if e["to"] == "STARTING"]
    own = [float(line) for line in stamps.read_text().split()]
    assert len(own) == 4
    gaps = [b - a for a, b in itertools.pairwise(own)]
    event_gaps = [b - a for a, b in itertools.pairwise(spawned)]
    assert all(abs(g - e) < 0.1 for g, e in zip(gaps, event_gaps, strict=True)), (
        gaps,
        event_gaps,
    )


def test_backoff_schedule_kept_while_a_cell_sleeps(kernel):
    # the cell blocks the kernel's main thread (the lock released) until the program is FATAL
    program = sup("['flap_sleep']")
    cell = f"_until(lambda: {program}.state.value == 'FATAL', {program}, timeout=20)\n"
    check_backoff_schedule(kernel, "flap_sleep", cell, tolerance=0.02)


def test_backoff_schedule_kept_while_a_cell_is_busy_in_python(kernel):
    busy = "_t = _time.perf_counter()\nwhile _time.perf_counter() - _t < 7:\n    pass\n"
    check_backoff_schedule(kernel, "flap_busy", busy, tolerance=0.05)


# ---------------------------------------------------------------------- 6


def test_kernel_interrupt_reaches_the_cell_but_not_the_programs(kernel):
    assert kernel.run("%%supervise sleeper startsecs=0.2\nsleep 1000\n").error is None
    pid = wait_running(kernel, "sleeper")
    tree = kernel.track_tree(pid)
    assert len(tree) == 2  # bash and its sleep
    events_before = kernel.value(sup("['sleeper'].events.shape[0]"))
    watchdog = kernel.value(sup("._runner.driver.launcher.watchdog.pid"))
    # a control child in the kernel's own process group: it must get the SIGINT
    control = kernel.value("(_ctl := __import__('subprocess').Popen(['sleep', '1000'])).pid")
    kernel.track([control])
    assert os.getpgid(control) == os.getpgid(kernel.pid)

    msg_id = kernel.submit(
        "print('busy-started', flush=True)\n"
        "_t = _time.monotonic()\n"
        "while _time.monotonic() - _t < 20:\n"
        "    pass\n"
        "print('not interrupted')\n"
    )
    kernel.wait_for_output(msg_id, "busy-started")
    kernel.km.interrupt_kernel()
    result = kernel.collect(msg_id, timeout=15)
    assert result.error is not None and result.error["ename"] == "KeyboardInterrupt"
    assert "not interrupted" not in result.stdout
    assert kernel.value("_ctl.wait(timeout=5)") == -signal.SIGINT

    # the program's processes did not get it: nothing ends in the next 0.3 s either
    gone, _ = psutil.wait_procs(tree, timeout=0.3)
    assert not gone, f"interrupt killed {gone}"
    assert all(is_alive(p) for p in tree)
    assert kernel.value(sup("['sleeper'].state.value")) == "RUNNING"
    assert kernel.value(sup("['sleeper'].pid")) == pid
    assert kernel.value(sup("['sleeper'].events.shape[0]")) == events_before
    assert is_alive(watchdog)


# ---------------------------------------------------------------------- 10


def test_config_sets_the_default_startsecs_of_the_next_program(kernel):
    assert kernel.run("%%supervise cfg_before\nsleep 1000\n").error is None
    try:
        assert kernel.run("%config Supervisor.startsecs = 2").error is None
        assert kernel.value(sup(".startsecs")) == 2.0
        assert kernel.run("%%supervise cfg\nsleep 1000\n").error is None
        assert kernel.run("%%supervise cfg_explicit startsecs=0.5\nsleep 1000\n").error is None
    finally:
        kernel.ok("%config Supervisor.startsecs = 1.0")
    assert kernel.value(sup("['cfg'].options.startsecs")) == 2.0
    assert kernel.value(sup("['cfg_before'].options.startsecs")) == 1.0
    assert kernel.value(sup("['cfg_explicit'].options.startsecs")) == 0.5
    wait_running(kernel, "cfg")
    wait_running(kernel, "cfg_before")
    wait_running(kernel, "cfg_explicit")
    # and it is used: RUNNING after 2 s
    up = delays(kernel.value("_events('cfg')"), "STARTING", "RUNNING", after="STARTING")
    assert up == [pytest.approx(2.0, abs=0.05)]


# ---------------------------------------------------------------------- 11


def test_supervisorctl_commands(kernel):
    body = (
        "trap 'echo got HUP' HUP\n"
        "echo hello-ctl\n"
        "echo oops-ctl >&2\n"
        "while true; do sleep 0.05; done\n"
    )
    assert kernel.run(f"%%supervise ctl startsecs=0.3\n{body}").error is None
    first = wait_running(kernel, "ctl")
    kernel.ok(
        "_until(lambda: 'hello-ctl' in " + sup("['ctl'].tail()") + ", " + sup("['ctl']") + ", 5)"
    )
    assert "hello-ctl\n" in kernel.ok("%supervisorctl tail ctl")
    assert "oops-ctl\n" in kernel.ok("%supervisorctl tail ctl stderr")
    assert "hello-ctl" not in kernel.ok("%supervisorctl tail ctl stderr")

    assert kernel.ok("%supervisorctl signal HUP ctl") == "ctl: signalled\n"
    kernel.ok(
        "_until(lambda: 'got HUP' in " + sup("['ctl'].tail()") + ", " + sup("['ctl']") + ", 5)"
    )
    assert "got HUP" in kernel.ok("%supervisorctl tail ctl")
    assert kernel.value(sup("['ctl'].pid")) == first

    assert kernel.ok("%supervisorctl stop ctl") == "ctl: stopped\n"
    assert kernel.value(sup("['ctl'].state.value")) == "STOPPED"
    assert not is_alive(first)
    assert kernel.ok("%supervisorctl stop ctl") == "ctl: ERROR (not running)\n"
    assert kernel.ok("%supervisorctl start ctl") == "ctl: started\n"
    assert kernel.value(sup("['ctl'].state.value")) == "RUNNING"
    second = kernel.value(sup("['ctl'].pid"))
    kernel.track_tree(second)
    assert second != first and is_alive(second)
    assert kernel.ok("%supervisorctl pid ctl") == f"{second}\n"

    for line in (
        "stop nosuch",
        "start nosuch",
        "signal HUP nosuch",
        "tail nosuch",
        "status nosuch",
    ):
        assert kernel.ok(f"%supervisorctl {line}") == "nosuch: ERROR (no such process)\n", line
