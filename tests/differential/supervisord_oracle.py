"""Run the real supervisord (4.3.0) as an oracle for differential tests.

Importing
---------
This is a plain module (the tests tree has no ``__init__`` files).
``tests/differential/conftest.py`` puts this directory on ``sys.path``, so
tests under ``tests/differential`` simply ``import supervisord_oracle``.
The conftest also registers the ``differential`` pytest marker.

API
---
``Scenario(name, command, options={}, actions=[], duration=5.0, reference=None)``
    One ``[program:<name>]``.  ``options`` are supervisord option strings
    (``{"startsecs": "1", "autorestart": "true"}``).  ``actions`` is a list of
    ``(at_seconds, action, arg)`` with ``action`` in ``"stop"``
    (``stopProcess(name, True)``), ``"start"`` (``startProcess(name, False)``),
    ``"signal"`` (``signalProcess(name, arg)``, ``arg`` a signal name such as
    ``"HUP"``).  ``at_seconds`` and ``duration`` are seconds since the
    program's time zero (see below).  ``reference`` optionally holds a
    reference trace (same row format as the traces returned here).

``run_supervisord(scenarios, workdir) -> {name: [row, ...]}``
    Runs ONE supervisord with every scenario as its own program, plus a
    recording ``[eventlistener:rec]`` subscribed to ``PROCESS_STATE``;
    performs the actions; shuts supervisord down (SIGTERM) once every program
    has reached ``time zero + duration``; returns one trace per program.
    ``run_supervisord_detailed(scenarios, workdir, *, startup_timeout=10,
    shutdown_timeout=None, poke_interval=None)`` returns an :class:`OracleRun`
    (traces, per-program time zero, action results, warnings, pids of
    leftover processes it had to kill).  ``poke_interval`` optionally wakes
    supervisord's poll loop periodically (changes its cadence; off by default).

    All programs share one daemon, so they influence each other's timing: any
    program's pipe/listener traffic re-phases the 1-s poll loop (time-based
    transitions then fire 0..1 s late, semantics.md §4.3.1), and a pending
    ``stopProcess(wait=True)`` makes the loop busy-spin for everybody
    (§4.3.7; e.g. a startsecs=0 autorestart program then restarts every few
    ms instead of about once per second).  Sequences of non-racy scenarios
    are unaffected; run racy ones alone if their cadence matters.

``normalise(trace) -> [(from_state, to_state, tries, expected), ...]``
    Run-phase rows only; ``expected`` as ``bool``/``None``.

``load_reference_scenarios(directory=/work/shared/scenarios) -> [Scenario]``
    The measured reference traces, converted to this module's time base.

Trace rows
----------
``{"t", "from_state", "to_state", "tries", "expected", "phase", ...}`` plus
diagnostics: ``pid``, ``message`` (the matched supervisord.log message),
``wall`` (epoch seconds), ``time_source`` and ``source``.

* ``t`` = seconds since the program's time zero.  Time zero is the wall time
  of the program's first STARTING.  For ``autostart=false`` programs it is
  the daemon's autostart moment instead (first STARTING of any program, or
  "supervisord started" + 1 s if no program autostarts), so that their
  ``start`` actions can be scheduled.
* Sequence, ``tries``, ``expected`` and ``pid`` come from the event listener
  (authoritative: it sees every transition, including ones with no log line
  such as RUNNING in the startsecs=0 exit path).
* Times come from supervisord.log (``loglevel=debug``; local time, ms
  truncated): every listener event is matched, in order and per process
  name, to the log line of that transition (``spawned``/``spawnerr`` for
  STARTING, ``exited``/``spawnerr`` for BACKOFF, ``success`` or the following
  ``exited`` line for RUNNING, ``exited``, ``gave up``, ``killing``,
  ``stopped``/``Attempted to kill ... BACKOFF``, ``unknown problem``).
  ``time_source == "log"`` then.  The listener receipt time lags the
  transition by up to ~1 s (semantics.md §13.2, §16.4) and is only used as a
  fallback (``time_source == "listener"``); a shutdown-phase BACKOFF->FATAL
  (no log line) gets the exit-request time (``time_source == "inferred"``).
* Transitions the listener never received (it is stopped last during
  shutdown, so the very last shutdown events can be lost) are replayed from
  the log (semantics.md §15.3) and appended with ``source == "log"``.
* ``phase`` is ``"shutdown"`` for transitions logged after supervisord's
  ``received SIGTERM indicating exit request`` line, else ``"run"``.  After
  sending SIGTERM the harness makes one XML-RPC call so that the daemon's
  poll loop wakes and handles the signal within milliseconds (otherwise it
  can take up to 1 s, during which run-phase transitions still happen).

Processes
---------
supervisord runs in its own session/process group and with a unique marker
in its environment (inherited by every program and grandchild).  In a
``finally`` block the harness SIGKILLs supervisord's process group and every
process whose ``/proc/<pid>/environ`` carries the marker, so no daemon,
program or orphaned grandchild survives a run (even a failing one).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import xmlrpc.client
from dataclasses import dataclass, field
from pathlib import Path

from process_waits import FolderWatch, wait_exited

__all__ = [
    "REFERENCE_DIR",
    "SUPERVISORD",
    "OracleError",
    "OracleRun",
    "Scenario",
    "load_reference_scenarios",
    "normalise",
    "run_supervisord",
    "run_supervisord_detailed",
]

REFERENCE_DIR = Path("/work/shared/scenarios")
_VENV_SUPERVISORD = Path("/work/main/.venv/bin/supervisord")
# Prefer the venv's console script; fall back to the running interpreter.
SUPERVISORD: list[str] = (
    [str(_VENV_SUPERVISORD)]
    if _VENV_SUPERVISORD.exists()
    else [sys.executable, "-m", "supervisor.supervisord"]
)

STATES = ("STOPPED", "STARTING", "RUNNING", "BACKOFF", "STOPPING", "EXITED", "FATAL", "UNKNOWN")
_ACTIONS = ("stop", "start", "signal")
_NAME_RE = re.compile(r"^[A-Za-z0-9_.\-]+$")
_LISTENER_NAME = "rec"
_MARKER_VAR = "NBSUP_ORACLE_MARKER"


class OracleError(RuntimeError):
    """supervisord could not be run as asked (config error, early exit...)."""


# --------------------------------------------------------------------------
# Scenarios
# --------------------------------------------------------------------------


@dataclass
class Scenario:
    name: str
    command: str
    options: dict[str, str] = field(default_factory=dict)
    actions: list[tuple[float, str, str | None]] = field(default_factory=list)
    duration: float = 5.0
    # Optional reference trace (rows like those returned by run_supervisord,
    # t relative to the first STARTING).  Not used by run_supervisord.
    reference: list[dict] | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not _NAME_RE.match(self.name) or self.name == _LISTENER_NAME:
            raise ValueError(f"bad program name {self.name!r}")
        if "\n" in self.command:
            raise ValueError("command must be one line")
        self.options = {str(k): str(v) for k, v in self.options.items()}
        acts = []
        for a in self.actions:
            at, action, arg = (tuple(a) + (None,))[:3]
            if action not in _ACTIONS:
                raise ValueError(f"unknown action {action!r}")
            if action == "signal" and not arg:
                raise ValueError("signal action needs a signal name")
            acts.append((float(at), action, arg))
        self.actions = sorted(acts, key=lambda a: a[0])
        self.duration = float(self.duration)

    @property
    def autostart(self) -> bool:
        return self.options.get("autostart", "true").strip().lower() not in (
            "false",
            "no",
            "off",
            "0",
        )

    @property
    def startsecs(self) -> float:
        try:
            return float(self.options.get("startsecs", "1"))
        except ValueError:
            return 1.0


def load_reference_scenarios(directory: Path | str = REFERENCE_DIR) -> list[Scenario]:
    """Load ``*.json`` reference traces as Scenarios.

    The files time everything from supervisord's launch; here action times,
    ``duration`` and the reference rows' ``t`` are shifted to be relative to
    the first STARTING (``t_launch`` keeps the original value).  ``duration``
    therefore still marks the moment SIGTERM was sent in the reference run.
    """
    out = []
    for path in sorted(Path(directory).glob("*.json")):
        data = json.loads(path.read_text())
        trace = data.get("trace", [])
        t0 = next((r["t"] for r in trace if r["to_state"] == "STARTING"), 0.0)
        ref = []
        for r in trace:
            row = dict(r)
            row["t_launch"] = r["t"]
            row["t"] = round(r["t"] - t0, 4)
            ref.append(row)
        actions = [
            (round(a["at"] - t0, 4), a["action"], a.get("arg", a.get("signal")))
            for a in data.get("actions", [])
        ]
        out.append(
            Scenario(
                name=data.get("name", path.stem),
                command=data["command"],
                options=dict(data.get("options", {})),
                actions=actions,
                duration=round(data["duration"] - t0, 4),
                reference=ref,
            )
        )
    return out


def normalise(trace: list[dict]) -> list[tuple]:
    """``(from_state, to_state, tries, expected)`` of the run-phase rows."""
    res = []
    for r in trace:
        if r.get("phase", "run") != "run":
            continue
        tries = r.get("tries")
        exp = r.get("expected")
        res.append(
            (
                r["from_state"],
                r["to_state"],
                None if tries is None else int(tries),
                None if exp is None else bool(exp),
            )
        )
    return res


# --------------------------------------------------------------------------
# supervisord.log parsing (semantics.md §15)
# --------------------------------------------------------------------------

_LINE_RE = re.compile(
    r"^(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}),(\d{3}) "
    r"(CRIT|ERRO|WARN|INFO|DEBG|TRAC|BLAT) (.*)$"
)
_HOW = (
    r"(exit status (?P<status>\d+)|terminated by (?P<sig>SIG[A-Z0-9]+|signal \d+)"
    r"(?P<core> \(core dumped\))?|unknown termination cause 0x[0-9a-f]+)"
)
_KINDS: list[tuple[str, re.Pattern]] = [
    ("spawned", re.compile(r"^spawned: '(?P<name>.+)' with pid (?P<pid>\d+)$")),
    ("spawnerr", re.compile(r"^spawnerr: (?P<err>.*)$")),
    (
        "success",
        re.compile(
            r"^success: (?P<name>.+) entered RUNNING state, process has stayed up "
            r"for > than (?P<startsecs>-?\d+) seconds \(startsecs\)$"
        ),
    ),
    (
        "exited",
        re.compile(r"^exited: (?P<name>.+) \(" + _HOW + r"; (?P<exp>expected|not expected)\)$"),
    ),
    (
        "gave_up",
        re.compile(
            r"^gave up: (?P<name>.+) entered FATAL state, too many start retries too quickly$"
        ),
    ),
    (
        "killing",
        re.compile(
            r"^killing (?P<name>.+) \(pid (?P<pid>\d+)\) (?P<grp>process group )?"
            r"with signal (?P<signame>\S+)$"
        ),
    ),
    ("stopped", re.compile(r"^stopped: (?P<name>.+) \(" + _HOW + r"\)$")),
    ("kill_backoff", re.compile(r"^Attempted to kill (?P<name>.+), which is in BACKOFF state\.$")),
    (
        "unknown",
        re.compile(r"^unknown problem (killing|sending sig) (?P<name>.+) \((?P<pid>\d+)\):"),
    ),
    ("started", re.compile(r"^supervisord started with pid (?P<pid>\d+)$")),
    ("exit_request", re.compile(r"^received (?P<signame>SIG\w+) indicating exit request$")),
]


@dataclass
class LogLine:
    idx: int  # line number (ordering)
    wall: float  # epoch seconds (ms truncated, as logged)
    level: str
    msg: str
    kind: str | None = None
    name: str | None = None
    groups: dict = field(default_factory=dict)


def _parse_stamp(stamp: str, ms: str) -> float:
    return time.mktime(time.strptime(stamp, "%Y-%m-%d %H:%M:%S")) + int(ms) / 1000.0


def _classify(line: LogLine) -> LogLine:
    for kind, rx in _KINDS:
        m = rx.match(line.msg)
        if m:
            line.kind = kind
            line.groups = m.groupdict()
            line.name = line.groups.get("name")
            break
    return line


class _LogTail:
    """Incremental reader of supervisord.log (complete lines only)."""

    def __init__(self, path: Path):
        self.path = path
        self._fh = None
        self._buf = ""
        self._idx = 0

    def read_new(self) -> list[LogLine]:
        if self._fh is None:
            try:
                self._fh = open(self.path, encoding="utf-8", errors="replace")
            except FileNotFoundError:
                return []
        self._buf += self._fh.read()
        out = []
        while "\n" in self._buf:
            raw, self._buf = self._buf.split("\n", 1)
            m = _LINE_RE.match(raw)
            if not m:
                continue  # continuation line (tracebacks, output dumps)
            self._idx += 1
            out.append(
                _classify(
                    LogLine(self._idx, _parse_stamp(m.group(1), m.group(2)), m.group(3), m.group(4))
                )
            )
        return out

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None


def parse_log(path: Path) -> list[LogLine]:
    tail = _LogTail(path)
    try:
        return tail.read_new()
    finally:
        tail.close()


def _attribute_spawnerr(msg: str, scenarios: list[Scenario]) -> str | None:
    """Which program a ``spawnerr:`` line (which usually has no name) is about."""
    cands = set()
    for s in scenarios:
        if f"'{s.name}'" in msg:
            cands.add(s.name)
            continue
        try:
            argv = shlex.split(s.command)
        except ValueError:
            argv = []
        if f"{s.command!r}" in msg:
            cands.add(s.name)
        elif argv:
            prog = argv[0]
            if f"{prog!r}" in msg or ("/" not in prog and f"/{prog}'" in msg):
                cands.add(s.name)
        elif "command is empty" in msg:
            cands.add(s.name)
    return cands.pop() if len(cands) == 1 else None


# --------------------------------------------------------------------------
# Listener
# --------------------------------------------------------------------------

_LISTENER_SRC = r"""
import json, sys, time
out = open(sys.argv[1], "a", buffering=1)
rd, wr = sys.stdin.buffer, sys.stdout.buffer
while True:
    wr.write(b"READY\n"); wr.flush()
    header = rd.readline()
    if not header:
        break
    recv = time.time()
    hdr = dict(tok.split(":", 1) for tok in header.decode().split())
    payload = rd.read(int(hdr["len"])).decode()
    body = dict(tok.split(":", 1) for tok in payload.split())
    rec = {"recv": recv, "serial": int(hdr.get("serial", -1)),
           "eventname": hdr.get("eventname"), "payload": payload}
    rec.update(body)
    out.write(json.dumps(rec) + "\n"); out.flush()
    wr.write(b"RESULT 2\nOK"); wr.flush()
"""


def _read_events(path: Path) -> list[dict]:
    events = []
    if not path.exists():
        return events
    for raw in path.read_text().splitlines():
        raw = raw.strip()
        if not raw:
            continue
        try:
            e = json.loads(raw)
        except ValueError:
            continue
        en = e.get("eventname") or ""
        if not en.startswith("PROCESS_STATE_"):
            continue
        e["to_state"] = en[len("PROCESS_STATE_") :]
        events.append(e)
    events.sort(key=lambda e: e.get("serial", 0))
    return events


# --------------------------------------------------------------------------
# Config
# --------------------------------------------------------------------------


def _esc(v: str) -> str:
    return str(v).replace("%", "%%")


def _write_config(scenarios: list[Scenario], workdir: Path, sock: Path) -> Path:
    listener = workdir / "oracle_listener.py"
    listener.write_text(_LISTENER_SRC)
    lines = [
        "[supervisord]",
        f"logfile={_esc(workdir / 'supervisord.log')}",
        "logfile_maxbytes=0",
        "loglevel=debug",
        f"pidfile={_esc(workdir / 'supervisord.pid')}",
        f"childlogdir={_esc(workdir)}",
        "nodaemon=true",
        "",
        "[unix_http_server]",
        f"file={_esc(sock)}",
        "",
        "[rpcinterface:supervisor]",
        "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface",
        "",
        "[supervisorctl]",
        f"serverurl=unix://{_esc(sock)}",
        "",
        f"[eventlistener:{_LISTENER_NAME}]",
        f"command={_esc(shlex.join([sys.executable, '-u', str(listener), str(workdir / 'events.jsonl')]))}",
        "events=PROCESS_STATE",
        "buffer_size=1024",
        f"stderr_logfile={_esc(workdir / 'rec.err')}",
        "",
    ]
    for s in scenarios:
        opts = dict(s.options)
        opts.setdefault("stdout_logfile", str(workdir / f"{s.name}.out"))
        opts.setdefault("stderr_logfile", str(workdir / f"{s.name}.err"))
        lines.append(f"[program:{s.name}]")
        lines.append(f"command={_esc(s.command)}")
        for k, v in opts.items():
            lines.append(f"{k}={_esc(v)}")
        lines.append("")
    conf = workdir / "supervisord.conf"
    conf.write_text("\n".join(lines))
    return conf


def _proxy(sock: Path):
    from supervisor.xmlrpc import SupervisorTransport

    return xmlrpc.client.ServerProxy(
        "http://127.0.0.1", transport=SupervisorTransport(None, None, f"unix://{sock}")
    )


# --------------------------------------------------------------------------
# Process cleanup
# --------------------------------------------------------------------------


def _marked_pids(marker: str) -> list[int]:
    needle = f"{_MARKER_VAR}={marker}".encode()
    me = os.getpid()
    pids = []
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) == me:
            continue
        try:
            with open(f"/proc/{d}/environ", "rb") as fh:
                env = fh.read()
        except OSError:
            continue
        if needle in env.split(b"\0"):
            pids.append(int(d))
    return pids


def _kill_everything(proc: subprocess.Popen | None, marker: str) -> list[int]:
    killed = []
    if proc is not None and proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except OSError:
            pass
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
    for _ in range(10):
        pids = _marked_pids(marker)
        if not pids:
            break
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
            except OSError:
                pass
        wait_exited(pids, 1.0)  # then look again: one may have forked meanwhile
    return killed


# --------------------------------------------------------------------------
# Running
# --------------------------------------------------------------------------


@dataclass
class OracleRun:
    traces: dict[str, list[dict]]
    t0: dict[str, float]  # wall time of each program's time zero
    actions: list[dict]  # one record per XML-RPC action
    warnings: list[str]
    workdir: Path
    started_wall: float | None = None  # "supervisord started" log time
    exit_request_wall: float | None = None
    wall_seconds: float = 0.0  # total harness run time
    leftover_pids_killed: list[int] = field(default_factory=list)


def _do_action(sock: Path, name: str, action: str, arg: str | None):
    p = _proxy(sock)
    try:
        if action == "stop":
            return p.supervisor.stopProcess(name, True)
        if action == "start":
            return p.supervisor.startProcess(name, False)
        if action == "signal":
            return p.supervisor.signalProcess(name, arg)
        raise ValueError(action)
    finally:
        try:
            p("transport").close()
        except Exception:
            pass


def _action_thread(
    sock: Path,
    name: str,
    at: float,
    action: str,
    arg,
    t0: float,
    record: dict,
    stop_evt: threading.Event,
) -> None:
    delay = t0 + at - time.time()
    if delay > 0 and stop_evt.wait(delay):
        record["skipped"] = "shutdown before action time"
        return
    record["t_call"] = time.time() - t0
    try:
        record["result"] = _do_action(sock, name, action, arg)
    except xmlrpc.client.Fault as f:
        record["fault"] = (f.faultCode, f.faultString)
    except Exception as e:
        record["error"] = repr(e)
    record["t_return"] = time.time() - t0


def _socket_path(workdir: Path) -> tuple[Path, str | None]:
    sock = workdir / "supervisor.sock"
    if len(str(sock)) < 100:
        return sock, None
    d = tempfile.mkdtemp(prefix="nbo-")
    return Path(d) / "s.sock", d


def run_supervisord(scenarios: list[Scenario], workdir: Path) -> dict[str, list[dict]]:
    """Run all scenarios in one real supervisord; return ``{name: trace}``."""
    return run_supervisord_detailed(scenarios, workdir).traces


def run_supervisord_detailed(
    scenarios: list[Scenario],
    workdir: Path,
    *,
    startup_timeout: float = 10.0,
    shutdown_timeout: float | None = None,
    poke_interval: float | None = None,
) -> OracleRun:
    """Like :func:`run_supervisord`, with diagnostics.

    ``poke_interval`` (default None = faithful): if set, a thread calls
    ``getState()`` every that many seconds, waking supervisord's poll loop so
    that time-based transitions fire within ~poke_interval of their deadline
    instead of up to 1 s late.  This changes supervisord's cadence (e.g. the
    ~1 s restart after EXITED becomes ~poke_interval) - use it only when the
    test cares about nominal delays rather than about supervisord's slop.
    """
    scenarios = list(scenarios)
    names = [s.name for s in scenarios]
    if len(set(names)) != len(names):
        raise ValueError("scenario names must be unique")
    by_name = {s.name: s for s in scenarios}
    workdir = Path(workdir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    for f in ("supervisord.log", "events.jsonl"):
        (workdir / f).unlink(missing_ok=True)
    sock, sockdir = _socket_path(workdir)
    conf = _write_config(scenarios, workdir, sock)
    if shutdown_timeout is None:
        sws = [float(s.options.get("stopwaitsecs", "10")) for s in scenarios]
        shutdown_timeout = max(sws + [10.0]) + 10.0

    marker = uuid.uuid4().hex
    env = dict(os.environ)
    env[_MARKER_VAR] = marker
    env.pop("SUPERVISOR_SERVER_URL", None)
    warnings: list[str] = []
    actions: list[dict] = []
    threads: list[threading.Thread] = []
    stop_evt = threading.Event()
    t0_live: dict[str, float] = {}
    started_wall = None
    proc = None
    killed: list[int] = []
    launch = time.time()
    out = open(workdir / "supervisord.stdout", "wb")
    try:
        proc = subprocess.Popen(
            SUPERVISORD + ["-n", "-c", str(conf)],
            cwd=str(workdir),
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        tail = _LogTail(workdir / "supervisord.log")
        written = FolderWatch(workdir)  # wakes the loop below when supervisord logs a line
        first_any = None
        if poke_interval:
            pk = threading.Thread(
                target=_poke_loop, args=(sock, poke_interval, stop_evt), daemon=True
            )
            pk.start()
            threads.append(pk)

        def set_t0(name: str, wall: float) -> None:
            t0_live[name] = wall
            for at, action, arg in by_name[name].actions:
                rec = {"name": name, "at": at, "action": action, "arg": arg}
                actions.append(rec)
                th = threading.Thread(
                    target=_action_thread,
                    daemon=True,
                    args=(sock, name, at, action, arg, wall, rec, stop_evt),
                )
                th.start()
                threads.append(th)

        try:
            while True:
                now = time.time()
                if proc.poll() is not None:
                    raise OracleError(
                        f"supervisord exited early (rc={proc.returncode}):\n"
                        + _tail_text(workdir / "supervisord.stdout")
                        + _tail_text(workdir / "supervisord.log")
                    )
                for ln in tail.read_new():
                    if ln.kind == "started" and started_wall is None:
                        started_wall = ln.wall
                    name = ln.name
                    if ln.kind == "spawnerr":
                        name = _attribute_spawnerr(ln.groups["err"], scenarios)
                    if ln.kind in ("spawned", "spawnerr") and name in by_name:
                        if first_any is None:
                            first_any = ln.wall
                        if name not in t0_live and by_name[name].autostart:
                            set_t0(name, ln.wall)
                if started_wall is not None:
                    # programs without autostart (or whose start we cannot see)
                    base = first_any
                    if base is None and now > started_wall + 1.0 + 0.5:
                        base = started_wall + 1.0
                    for s in scenarios:
                        if s.name in t0_live or base is None:
                            continue
                        if not s.autostart or now > base + 3.0:
                            set_t0(s.name, base)
                elif now - launch > startup_timeout:
                    raise OracleError(
                        "supervisord did not start:\n" + _tail_text(workdir / "supervisord.stdout")
                    )
                # the next moment a rule above depends on the time alone, at most 0.5 s away
                due = [launch + startup_timeout, now + 0.5]
                if started_wall is not None:
                    due += [started_wall + 1.5] if first_any is None else [first_any + 3.0]
                if len(t0_live) == len(scenarios):
                    end = max(t0_live[s.name] + s.duration for s in scenarios)
                    if now >= end:
                        break
                    due.append(end)
                written.wait(min(t for t in due if t > now) - now)
        finally:
            tail.close()
            written.close()

        # ---- shutdown: SIGTERM, then wake the poll loop with an RPC ----
        stop_evt.set()
        proc.send_signal(signal.SIGTERM)
        poke = threading.Thread(target=_poke, args=(sock,), daemon=True)
        poke.start()
        try:
            proc.wait(timeout=shutdown_timeout)
        except subprocess.TimeoutExpired:
            warnings.append(f"supervisord did not exit within {shutdown_timeout}s; killed")
        for th in threads:
            th.join(timeout=2)
    finally:
        stop_evt.set()
        killed = _kill_everything(proc, marker)
        out.close()
        if sockdir:
            try:
                os.unlink(sock)
            except OSError:
                pass
            try:
                os.rmdir(sockdir)
            except OSError:
                pass

    traces, t0, exit_wall, w = build_traces(
        scenarios, workdir / "supervisord.log", workdir / "events.jsonl", t0_live
    )
    warnings.extend(w)
    for rec in actions:
        rec_t0 = t0_live.get(rec["name"])
        if rec_t0 is not None and rec["name"] in t0:
            # re-express in the final time base (normally identical)
            shift = rec_t0 - t0[rec["name"]]
            for k in ("t_call", "t_return"):
                if k in rec:
                    rec[k] = rec[k] + shift
    return OracleRun(
        traces=traces,
        t0=t0,
        actions=actions,
        warnings=warnings,
        workdir=workdir,
        started_wall=started_wall,
        exit_request_wall=exit_wall,
        wall_seconds=time.time() - launch,
        leftover_pids_killed=killed,
    )


def _poke(sock: Path) -> None:
    try:
        p = _proxy(sock)
        p.supervisor.getState()
    except Exception:
        pass


def _poke_loop(sock: Path, interval: float, stop_evt: threading.Event) -> None:
    p = None
    while not stop_evt.wait(interval):
        try:
            if p is None:
                p = _proxy(sock)
            p.supervisor.getState()
        except Exception:
            p = None


def _tail_text(path: Path, n: int = 4000) -> str:
    try:
        return path.read_text(errors="replace")[-n:]
    except OSError:
        return ""


# --------------------------------------------------------------------------
# Trace construction: listener sequence + log times
# --------------------------------------------------------------------------

_ANCHOR_KINDS = (
    "spawned",
    "spawnerr",
    "success",
    "exited",
    "gave_up",
    "killing",
    "stopped",
    "kill_backoff",
    "unknown",
)


def build_traces(
    scenarios: list[Scenario],
    log_path: Path,
    events_path: Path,
    t0_live: dict[str, float] | None = None,
):
    """Merge listener events and log lines into per-program traces.

    Returns ``(traces, t0_wall, exit_request_wall, warnings)``.
    """
    t0_live = t0_live or {}
    warnings: list[str] = []
    lines = parse_log(log_path)
    events = _read_events(events_path)
    by_name = {s.name: s for s in scenarios}
    exit_line = next((ln for ln in lines if ln.kind == "exit_request"), None)
    exit_idx = exit_line.idx if exit_line else None
    exit_wall = exit_line.wall if exit_line else None

    anchors: dict[str, list[LogLine]] = {s.name: [] for s in scenarios}
    unattributed: list[LogLine] = []
    for ln in lines:
        if ln.kind not in _ANCHOR_KINDS:
            continue
        name = ln.name
        if ln.kind == "spawnerr":
            name = _attribute_spawnerr(ln.groups["err"], scenarios)
            if name is None:
                unattributed.append(ln)
                continue
        if name in anchors:
            anchors[name].append(ln)

    def phase_of_line(ln: LogLine) -> str:
        return "shutdown" if exit_idx is not None and ln.idx > exit_idx else "run"

    traces: dict[str, list[dict]] = {}
    t0_wall: dict[str, float] = {}
    for s in scenarios:
        evs = [e for e in events if e.get("processname") == s.name]
        anc = anchors[s.name]
        rows: list[dict] = []
        cur = 0
        last_idx = 0
        state = "STOPPED"
        backoff = 0
        shared: LogLine | None = None  # spawnerr line covering STARTING+BACKOFF
        for e in evs:
            to, frm = e["to_state"], e.get("from_state")
            line: LogLine | None = None
            # skip SIGKILL-escalation 'killing' lines while STOPPING
            while (
                cur < len(anc)
                and anc[cur].kind == "killing"
                and state == "STOPPING"
                and to != "STOPPING"
            ):
                cur += 1
            a = anc[cur] if cur < len(anc) else None
            k = a.kind if a else None
            if to == "STARTING":
                shared = None
                if k == "spawned":
                    line, cur = a, cur + 1
                elif k == "spawnerr":
                    line = shared = a
                else:
                    hi = a.idx if a else float("inf")
                    for u in unattributed:
                        if (
                            last_idx < u.idx < hi
                            and not getattr(u, "_claimed", False)
                            and u.wall <= e["recv"] + 0.002
                        ):
                            u._claimed = True  # type: ignore[attr-defined]
                            line = shared = u
                            break
            elif to == "BACKOFF":
                if shared is not None and frm == "STARTING":
                    line = shared
                    if k == "spawnerr" and a is shared:
                        cur += 1
                elif k == "exited":
                    line, cur = a, cur + 1
            elif to == "RUNNING":
                if k == "success":
                    line, cur = a, cur + 1
                elif k == "exited":
                    line = a  # RUNNING inferred by finish(): no own line
            elif to == "EXITED":
                if k == "exited":
                    line, cur = a, cur + 1
            elif to == "FATAL":
                if k == "gave_up":
                    line, cur = a, cur + 1
            elif to == "STOPPING":
                if k == "killing":
                    line, cur = a, cur + 1
            elif to == "STOPPED":
                if k in ("stopped", "kill_backoff"):
                    line, cur = a, cur + 1
            elif to == "UNKNOWN":
                if k == "unknown":
                    line, cur = a, cur + 1
            if to != "STARTING":
                shared = None

            row = _row_from_event(e, frm, to)
            if line is not None:
                row.update(
                    wall=line.wall, time_source="log", message=line.msg, phase=phase_of_line(line)
                )
                last_idx = max(last_idx, line.idx)
            else:
                recv = e["recv"]
                if (
                    to == "FATAL"
                    and frm == "BACKOFF"
                    and exit_wall is not None
                    and recv >= exit_wall
                ):
                    row.update(
                        wall=exit_wall, time_source="inferred", phase="shutdown", message=None
                    )
                else:
                    ph = "shutdown" if exit_wall is not None and recv >= exit_wall else "run"
                    row.update(wall=recv, time_source="listener", message=None, phase=ph)
                    warnings.append(
                        f"{s.name}: no log line matched {frm}->{to} "
                        f"(serial {e.get('serial')}); using listener time"
                    )
            rows.append(row)
            state = to
            if to in ("STARTING", "BACKOFF") and row["tries"] is not None:
                backoff = row["tries"]
            elif to in ("RUNNING", "FATAL"):
                backoff = 0

        # a 'run' row can never follow a 'shutdown' row (listener-time rows)
        seen_run_after = False
        for r in reversed(rows):
            if r["phase"] == "run":
                seen_run_after = True
            elif seen_run_after and r["time_source"] != "log":
                r["phase"] = "run"

        # transitions the listener never got (end of shutdown): replay the log
        rest = [a for a in anc[cur:] if not (a.kind == "killing" and state == "STOPPING")]
        if rest:
            tail_rows, state = _replay(rest, state, backoff, s.startsecs, phase_of_line)
            rows.extend(tail_rows)
        if state == "BACKOFF" and exit_wall is not None:
            # T10b: shutdown turns BACKOFF into FATAL without a log line
            rows.append(
                dict(
                    from_state="BACKOFF",
                    to_state="FATAL",
                    tries=None,
                    expected=None,
                    pid=None,
                    wall=exit_wall,
                    phase="shutdown",
                    time_source="inferred",
                    source="inferred",
                    message=None,
                )
            )

        # chain check
        prev = "STOPPED"
        for r in rows:
            if r["from_state"] != prev:
                warnings.append(
                    f"{s.name}: broken chain {prev} then {r['from_state']}->{r['to_state']}"
                )
            prev = r["to_state"]

        first_start = next((r["wall"] for r in rows if r["to_state"] == "STARTING"), None)
        if by_name[s.name].autostart and first_start is not None:
            t0 = first_start
        else:
            t0 = t0_live.get(s.name, first_start if first_start is not None else 0.0)
        t0_wall[s.name] = t0
        for r in rows:
            r["t"] = round(r["wall"] - t0, 4)
        traces[s.name] = [_order(r) for r in rows]
    return traces, t0_wall, exit_wall, warnings


def _row_from_event(e: dict, frm: str, to: str) -> dict:
    tries = e.get("tries")
    exp = e.get("expected")
    pid = e.get("pid")
    return dict(
        from_state=frm,
        to_state=to,
        tries=int(tries) if tries is not None else None,
        expected=(exp == "1") if exp is not None else None,
        pid=int(pid) if pid is not None else None,
        recv=e.get("recv"),
        serial=e.get("serial"),
        source="listener",
    )


def _replay(
    anchors: list[LogLine], state: str, backoff: int, startsecs: float, phase_of_line
) -> tuple[list[dict], str]:
    """semantics.md §15.3 replay of log anchors from a known state."""
    rows = []
    t_spawn = None

    def emit(ln, to, tries=None, expected=None, pid=None):
        nonlocal state
        rows.append(
            dict(
                from_state=state,
                to_state=to,
                tries=tries,
                expected=expected,
                pid=pid,
                wall=ln.wall,
                phase=phase_of_line(ln),
                time_source="log",
                source="log",
                message=ln.msg,
            )
        )
        state = to

    for ln in anchors:
        g = ln.groups
        if ln.kind == "spawned":
            emit(ln, "STARTING", tries=backoff)
            t_spawn = ln.wall
        elif ln.kind == "spawnerr":
            emit(ln, "STARTING", tries=backoff)
            backoff += 1
            emit(ln, "BACKOFF", tries=backoff)
        elif ln.kind == "success":
            backoff = 0
            emit(ln, "RUNNING")
        elif ln.kind == "exited":
            exp = g.get("exp") == "expected"
            if state == "STARTING":
                if (
                    not exp
                    and startsecs > 0
                    and t_spawn is not None
                    and ln.wall - t_spawn < startsecs
                ):
                    backoff += 1
                    emit(ln, "BACKOFF", tries=backoff)
                    continue
                emit(ln, "RUNNING")
            backoff = 0
            emit(ln, "EXITED", expected=exp)
        elif ln.kind == "gave_up":
            backoff = 0
            emit(ln, "FATAL")
        elif ln.kind == "killing":
            if state in ("RUNNING", "STARTING"):
                emit(ln, "STOPPING", pid=int(g["pid"]))
        elif ln.kind == "stopped":
            emit(ln, "STOPPED")
        elif ln.kind == "kill_backoff":
            emit(ln, "STOPPED", pid=0)
        elif ln.kind == "unknown":
            emit(ln, "UNKNOWN")
    return rows, state


_ORDER = (
    "t",
    "from_state",
    "to_state",
    "tries",
    "expected",
    "phase",
    "pid",
    "time_source",
    "source",
    "message",
    "wall",
    "recv",
    "serial",
)


def _order(r: dict) -> dict:
    return {k: r.get(k) for k in _ORDER}


def describe(trace: list[dict]) -> str:
    """Human-readable one-line-per-row dump (for assertion messages)."""
    out = []
    for r in trace:
        extra = "" if r.get("time_source") == "log" else f" [{r.get('time_source')}]"
        tries = "" if r.get("tries") is None else f"({r['tries']})"
        exp = "" if r.get("expected") is None else f"(exp={int(bool(r['expected']))})"
        out.append(
            f"{r['t']:8.3f} {r.get('phase', 'run'):8s} {r['from_state']}->"
            f"{r['to_state']}{tries}{exp}{extra}"
        )
    return "\n".join(out)


if __name__ == "__main__":  # manual use: python supervisord_oracle.py WORKDIR
    wd = Path(sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="oracle-"))
    run = run_supervisord_detailed(load_reference_scenarios(), wd)
    for n, tr in run.traces.items():
        print(f"== {n}\n{describe(tr)}")
    print("warnings:", run.warnings, "\nactions:", run.actions, f"\nwall: {run.wall_seconds:.2f}s")
