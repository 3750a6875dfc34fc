"""Real supervisord runs for the log reader tests, recorded by an event listener.

A plain module (the tests tree has no ``__init__`` files): ``conftest.py`` puts this folder
on ``sys.path``, so tests ``import supervisord_runs``.

:func:`run_supervisord` starts the real daemon (supervisor 4.3.0 from the venv) on a
config with a ``[eventlistener:rec]`` that writes every ``PROCESS_STATE`` event as a
JSON line: supervisord's own account of each transition, the reference the log reader is
compared with. Actions (stop a program via XML-RPC or ``supervisorctl``) fire when the
recorded events meet a condition, so the runs do not depend on the machine's speed.

The daemon runs in a session of its own with a marker in its environment; every process
carrying the marker is killed at the end, whatever happens.
"""

from __future__ import annotations

import json
import os
import select
import shlex
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import xmlrpc.client
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from process_waits import wait_exited

VENV_BIN = Path(sys.executable).parent
SUPERVISORD = VENV_BIN / "supervisord"
SUPERVISORCTL = VENV_BIN / "supervisorctl"
MARKER = "NBSUP_ANALYSIS_TEST_MARKER"

LISTENER = r"""
import json, sys
out = open(sys.argv[1], "a", buffering=1)
pulse = open(sys.argv[2], "wb", buffering=0)  # a byte per event: the test waits on it
while True:
    sys.stdout.write("READY\n"); sys.stdout.flush()
    header = sys.stdin.readline()
    if not header:
        break
    head = dict(token.split(":", 1) for token in header.split())
    payload = sys.stdin.read(int(head["len"]))
    event = dict(token.split(":", 1) for token in payload.split())
    event["eventname"] = head["eventname"]
    event["serial"] = int(head["serial"])
    out.write(json.dumps(event) + "\n")
    pulse.write(b"!")
    sys.stdout.write("RESULT 2\nOK"); sys.stdout.flush()
"""

#: A condition on the events so far (a list of dicts) and what to do when it holds.
Trigger = tuple[Callable[[list[dict[str, Any]]], bool], Callable[["Daemon"], None]]


def has(events: list[dict[str, Any]], name: str, state: str, **values: str) -> bool:
    """True once ``name`` entered ``state`` (with payload ``values``) per the listener."""
    return any(
        e["processname"] == name
        and e["eventname"] == f"PROCESS_STATE_{state}"
        and all(e.get(k) == v for k, v in values.items())
        for e in events
    )


@dataclass
class Daemon:
    """A running supervisord: its folder, config, socket and event file."""

    workdir: Path
    conf: Path
    socket: Path
    events_path: Path
    process: subprocess.Popen[bytes] | None = None
    errors: list[str] = field(default_factory=list)

    @property
    def log(self) -> Path:
        return self.workdir / "supervisord.log"

    def events(self) -> list[dict[str, Any]]:
        """Listener events so far (complete lines only), in serial order."""
        try:
            text = self.events_path.read_text()
        except FileNotFoundError:
            return []
        lines = text.split("\n")[:-1]
        return sorted((json.loads(line) for line in lines if line), key=lambda e: e["serial"])

    def rpc(self) -> Any:
        from supervisor.xmlrpc import SupervisorTransport

        transport = SupervisorTransport(None, None, f"unix://{self.socket}")
        return xmlrpc.client.ServerProxy("http://127.0.0.1", transport=transport)

    def stop_rpc(self, name: str) -> None:
        self.rpc().supervisor.stopProcess(name, True)

    def stop_ctl(self, name: str) -> None:
        done = subprocess.run(
            [str(SUPERVISORCTL), "-c", str(self.conf), "stop", name],
            capture_output=True,
            text=True,
            timeout=30,
        )
        if "stopped" not in done.stdout:
            self.errors.append(f"supervisorctl stop {name}: {done.stdout} {done.stderr}")


def write_config(
    workdir: Path, programs: dict[str, dict[str, str]], loglevel: str
) -> tuple[Path, Path]:
    """supervisord.conf for ``programs`` (``{name: options}``) plus the recording listener."""
    socket = workdir / "s.sock"
    if len(str(socket)) > 90:  # AF_UNIX path limit
        socket = Path(tempfile.mkdtemp(prefix="nbsa-")) / "s.sock"
    listener = workdir / "listener.py"
    listener.write_text(LISTENER)
    pulses = workdir / "pulses"
    listen = shlex.join(
        [sys.executable, "-u", str(listener), str(workdir / "events.jsonl"), str(pulses)]
    )
    sections = [
        "[supervisord]",
        f"logfile={workdir / 'supervisord.log'}",
        "logfile_maxbytes=0",
        f"loglevel={loglevel}",
        f"pidfile={workdir / 'supervisord.pid'}",
        f"childlogdir={workdir}",
        "nodaemon=true",
        "",
        "[unix_http_server]",
        f"file={socket}",
        "",
        "[rpcinterface:supervisor]",
        "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface",
        "",
        "[supervisorctl]",
        f"serverurl=unix://{socket}",
        "",
        "[eventlistener:rec]",
        f"command={listen}",
        "events=PROCESS_STATE",
        "buffer_size=1024",
        "",
    ]
    for name, options in programs.items():
        sections.append(f"[program:{name}]")
        options = {"stdout_logfile": "NONE", "stderr_logfile": "NONE", **options}
        sections += [f"{key}={value}" for key, value in options.items()]
        sections.append("")
    conf = workdir / "supervisord.conf"
    conf.write_text("\n".join(sections))
    return conf, socket


def run_supervisord(
    workdir: Path,
    programs: dict[str, dict[str, str]],
    *,
    loglevel: str = "debug",
    triggers: Sequence[Trigger] = (),
    done: Callable[[list[dict[str, Any]]], bool] = lambda events: False,
    timeout: float = 15.0,
) -> Daemon:
    """Run supervisord until ``done(events)`` (or ``timeout``), firing ``triggers`` once
    each; then SIGTERM it and wait until it has exited. Returns the finished daemon."""
    workdir.mkdir(parents=True, exist_ok=True)
    conf, socket = write_config(workdir, programs, loglevel)
    daemon = Daemon(workdir, conf, socket, workdir / "events.jsonl")
    marker = uuid.uuid4().hex
    env = {**os.environ, MARKER: marker}
    env.pop("SUPERVISOR_SERVER_URL", None)
    pending = list(triggers)
    threads: list[threading.Thread] = []
    os.mkfifo(workdir / "pulses")
    # held open for reading and writing: the listener's open never blocks, reads never EOF
    pulses = os.open(workdir / "pulses", os.O_RDWR | os.O_NONBLOCK)
    exited = -1
    try:
        daemon.process = subprocess.Popen(
            [str(SUPERVISORD), "-n", "-c", str(conf)],
            cwd=workdir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        exited = os.pidfd_open(daemon.process.pid)
        deadline = time.monotonic() + timeout
        while True:  # woken by each event the listener records, or by the daemon's exit
            events = daemon.events()
            for trigger in [t for t in pending if t[0](events)]:
                pending.remove(trigger)
                thread = threading.Thread(target=_act, args=(trigger[1], daemon), daemon=True)
                thread.start()
                threads.append(thread)
            left = deadline - time.monotonic()
            if (done(events) and not pending) or left <= 0:
                break
            ready, _, _ = select.select([pulses, exited], [], [], left)
            if exited in ready:
                break
            _drain(pulses)
        for thread in threads:
            thread.join(timeout=20)
        daemon.process.send_signal(signal.SIGTERM)
        _wake(daemon)
        daemon.process.wait(timeout=30)
    finally:
        os.close(pulses)
        if exited >= 0:
            os.close(exited)
        _kill_marked(daemon.process, marker)
    return daemon


def _drain(fd: int) -> None:
    try:
        while os.read(fd, 4096):
            pass
    except BlockingIOError:
        pass


def _wake(daemon: Daemon) -> None:
    """Any XML-RPC call wakes supervisord's poll loop, so it sees the signal at once."""
    try:
        daemon.rpc().supervisor.getState()
    except Exception:  # SHUTDOWN_STATE fault, or already gone: both fine
        pass


def _act(action: Callable[[Daemon], None], daemon: Daemon) -> None:
    try:
        action(daemon)
    except Exception as error:  # recorded, asserted on by the tests
        daemon.errors.append(repr(error))


def _kill_marked(process: subprocess.Popen[bytes] | None, marker: str) -> None:
    """SIGKILL the daemon's session and every process with the marker in its environment."""
    if process is not None and process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except OSError:
            pass
        process.wait(timeout=10)
    needle = f"{MARKER}={marker}".encode()
    for _ in range(20):
        found = []
        for entry in os.listdir("/proc"):
            try:
                with open(f"/proc/{entry}/environ", "rb") as file:
                    if needle in file.read().split(b"\0"):
                        found.append(int(entry))
            except (OSError, ValueError):
                continue
        if not found:
            return
        for pid in found:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        wait_exited(found, 1.0)  # then look again: one may have forked meanwhile
