"""Process-level helpers for the resource benchmarks (idle cost, scale, output throughput).

* ``/proc`` readings: CPU seconds (utime + stime) of a process or one of its threads, RSS.
* :func:`lean_supervisord`: the real supervisord with a plain configuration (no event
  listener, ``loglevel=info``), unlike :func:`benchmarks.harness.run_supervisord`, whose
  recording listener and debug log would add work that these benchmarks must not count.
* :class:`BareLoop`: a bare supervisor loop (children started and watched as nbsup does,
  nothing recorded), the limit the restart-rate and scale benchmarks compare nbsup with.
* :class:`NbsupHost`: nbsup's :class:`~nbsup.Supervisor` in a Python process of its own
  (``benchmarks/nbsup_host.py``), driven over a pipe, so that its CPU time and memory can
  be read from ``/proc`` like supervisord's, apart from the benchmark process.

Both run with a unique marker in their environment; on exit every process carrying it
(supervisor, programs, nbsup's watchdog) is SIGKILLed, as the differential oracle does.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from nbsup.runtime.environment import Environment
from nbsup.runtime.readers import Readers
from nbsup.runtime.spawner import Child, ChildPipes, start_child

from .harness import ROOT, Rpc, oracle, stop_daemon

CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")

# --------------------------------------------------------------------------
# /proc
# --------------------------------------------------------------------------


class BareLoop:
    """What any event-driven supervisor must do per child, the fastest way nbsup knows.

    Children start as nbsup starts them (:func:`nbsup.runtime.spawner.start_child`:
    stdin/stdout/stderr pipes, their own session, no other descriptor, as supervisord gives
    each child), on pipes made after the previous start. Their pidfds and pipes are watched
    through one epoll (:class:`nbsup.runtime.readers.Readers`); output is read and dropped.
    ``exited(child)`` is called once a child's pidfd is readable: it must :meth:`reap` the
    child (then start the next one, if any) and :meth:`release` it. No state machine,
    records, logs or watchdog: the limit nbsup is measured against.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, env: Environment) -> None:
        self.loop = loop
        self.env = env
        self.readers = Readers(loop)
        self._next_pipes: ChildPipes | None = ChildPipes().prepare()
        self._watched: dict[int, tuple[int, list[int]]] = {}  # pid: (pidfd, pipes)

    def spawn(self, argv: list[str], exited: Callable[[Child], None]) -> Child:
        pipes, self._next_pipes = self._next_pipes, None
        child = start_child(argv[0], argv, self.env, pipes=pipes)
        fds = [child.stdout] + ([] if child.stderr is None else [child.stderr])
        for fd in fds:
            os.set_blocking(fd, False)
            self.readers.add(fd, _drop_output, fd)
        pidfd = os.pidfd_open(child.pid)
        self.readers.add(pidfd, exited, child)
        self._watched[child.pid] = (pidfd, fds)
        self._next_pipes = ChildPipes().prepare()
        return child

    def reap(self, child: Child) -> None:
        os.waitpid(child.pid, 0)

    def release(self, child: Child) -> None:
        """Drain and close a reaped child's pipes and pidfd."""
        pidfd, fds = self._watched.pop(child.pid)
        self.readers.remove(pidfd)
        os.close(pidfd)
        for fd in fds:
            _drop_output(fd)
            self.readers.remove(fd)
            os.close(fd)
        os.close(child.stdin)

    def close(self) -> None:
        if self._next_pipes is not None:
            self._next_pipes.close()
        self.readers.close()


def _drop_output(fd: int) -> None:
    try:
        os.read(fd, 1 << 16)
    except BlockingIOError:
        pass


def cpu_seconds(pid: int, tid: int | None = None) -> float:
    """utime + stime of process ``pid`` (all its threads, live or ended) or of one thread.

    Resolution is one clock tick (``1 / SC_CLK_TCK``, 10 ms here).
    """
    path = f"/proc/{pid}/stat" if tid is None else f"/proc/{pid}/task/{tid}/stat"
    with open(path) as fh:
        text = fh.read()
    fields = text[text.rindex(")") + 2 :].split()  # fields[0] is field 3 (state)
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def rss_bytes(pid: int) -> int:
    """Resident set size of ``pid`` (``/proc/<pid>/statm``)."""
    with open(f"/proc/{pid}/statm") as fh:
        return int(fh.read().split()[1]) * PAGE_SIZE


def fd_limits() -> tuple[int, int]:
    """This process's (soft, hard) RLIMIT_NOFILE, inherited by the supervisors it starts."""
    import resource

    return resource.getrlimit(resource.RLIMIT_NOFILE)


def raise_fd_limit(wanted: int) -> int:
    """Raise the soft RLIMIT_NOFILE towards ``wanted`` (up to the hard limit); the new soft."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = min(wanted, hard) if hard != resource.RLIM_INFINITY else wanted
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    return soft


def wait_file_size(path: Path, size: int, timeout: float, interval: float = 0.002) -> float:
    """Poll until ``path`` holds at least ``size`` bytes; the monotonic time it was seen."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if os.stat(path).st_size >= size:
                return time.monotonic()
        except FileNotFoundError:
            pass
        if time.monotonic() > deadline:
            have = path.stat().st_size if path.exists() else 0
            raise TimeoutError(f"{path} has {have} of {size} bytes after {timeout} s")
        time.sleep(interval)


def _marker_env(marker: str) -> dict[str, str]:
    env = dict(os.environ)
    env[oracle._MARKER_VAR] = marker
    env.pop("SUPERVISOR_SERVER_URL", None)
    return env


# --------------------------------------------------------------------------
# supervisord
# --------------------------------------------------------------------------


def lean_config(
    programs: dict[str, tuple[str, dict[str, str]]],
    workdir: Path,
    sock: Path,
    settings: dict[str, str] | None = None,
) -> Path:
    """A supervisord.conf with ``programs`` (``name -> (command, options)``) and nothing else."""
    esc = oracle._esc
    main = {
        "logfile": str(workdir / "supervisord.log"),
        "logfile_maxbytes": "0",
        "loglevel": "info",
        "pidfile": str(workdir / "supervisord.pid"),
        "childlogdir": str(workdir),
        "nodaemon": "true",
        **(settings or {}),
    }
    lines = ["[supervisord]", *(f"{k}={esc(v)}" for k, v in main.items()), ""]
    lines += [
        "[unix_http_server]",
        f"file={esc(str(sock))}",
        "",
        "[rpcinterface:supervisor]",
        "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface",
        "",
    ]
    for name, (command, options) in programs.items():
        lines += [f"[program:{name}]", f"command={esc(command)}"]
        lines += [f"{k}={esc(v)}" for k, v in options.items()]
        lines.append("")
    conf = workdir / "supervisord.conf"
    conf.write_text("\n".join(lines))
    return conf


@contextmanager
def lean_supervisord(
    programs: dict[str, tuple[str, dict[str, str]]],
    workdir: Path,
    settings: dict[str, str] | None = None,
    startup_timeout: float = 60.0,
) -> Iterator[tuple[subprocess.Popen[bytes], Rpc]]:
    """Run supervisord until the block ends; yields (its process, XML-RPC) once it answers.

    At the end it is sent SIGTERM (it stops its programs) and, after at most 30 s, every
    process of the run is SIGKILLed.
    """
    sock = workdir / "supervisor.sock"
    conf = lean_config(programs, workdir, sock, settings)
    marker = uuid.uuid4().hex
    proc: subprocess.Popen[bytes] | None = None
    with open(workdir / "supervisord.stdout", "wb") as out:
        try:
            proc = subprocess.Popen(
                [*oracle.SUPERVISORD, "-n", "-c", str(conf)],
                cwd=str(workdir),
                env=_marker_env(marker),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
            rpc = Rpc(sock)
            deadline = time.monotonic() + startup_timeout
            while True:
                if proc.poll() is not None:
                    tail = (workdir / "supervisord.stdout").read_text()[-2000:]
                    raise RuntimeError(f"supervisord exited early (rc={proc.returncode}): {tail}")
                if time.monotonic() > deadline:
                    raise RuntimeError("supervisord did not start")
                try:
                    if rpc.call("getState")["statename"] == "RUNNING":
                        break
                except Exception:
                    pass
                time.sleep(0.02)
            yield proc, rpc
            stop_daemon(proc, rpc)
        finally:
            oracle._kill_everything(proc, marker)


def wait_supervisord_states(
    rpc: Rpc, states: set[str], timeout: float, interval: float = 0.25
) -> float:
    """Poll ``getAllProcessInfo`` until every program is in ``states``; the seconds it took."""
    t0 = time.monotonic()
    while True:
        infos = rpc.call("getAllProcessInfo")
        if all(i["statename"] in states for i in infos):
            return time.monotonic() - t0
        if time.monotonic() - t0 > timeout:
            counts: dict[str, int] = {}
            for i in infos:
                counts[i["statename"]] = counts.get(i["statename"], 0) + 1
            raise TimeoutError(f"supervisord programs not all in {states}: {counts}")
        time.sleep(interval)


# --------------------------------------------------------------------------
# nbsup in a process of its own
# --------------------------------------------------------------------------


class NbsupHost:
    """A Python process hosting one nbsup Supervisor (``python -m benchmarks.nbsup_host``).

    ``settings`` are Supervisor traits (``{"attempt_markers": False}``). Commands are JSON
    lines on its stdin; each gets one JSON line back (see that module).
    Between commands its main thread is blocked reading the pipe, so the process's CPU
    time is the supervisor's: its loop thread, plus nothing else.
    """

    def __init__(self, workdir: Path, settings: dict[str, Any] | None = None) -> None:
        self.marker = uuid.uuid4().hex
        self._stderr = open(workdir / "nbsup_host.stderr", "wb")  # noqa: SIM115 (close())
        argv = [sys.executable, "-m", "benchmarks.nbsup_host", str(workdir / "state")]
        self.proc = subprocess.Popen(
            [*argv, json.dumps(settings or {})],
            cwd=str(ROOT),
            env=_marker_env(self.marker),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            start_new_session=True,
        )
        self.stderr_path = workdir / "nbsup_host.stderr"
        self.info = self.call("hello")
        self.pid: int = self.info["pid"]

    def call(self, cmd: str, **args: Any) -> dict[str, Any]:
        """Send one command and wait for its reply (RuntimeError if it failed)."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write((json.dumps({"cmd": cmd, **args}) + "\n").encode())
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            tail = self.stderr_path.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"nbsup host ended (rc={self.proc.poll()}): {tail}")
        reply: dict[str, Any] = json.loads(line)
        if "error" in reply:
            raise RuntimeError(f"nbsup host: {cmd} failed: {reply['error']}")
        return reply

    def cpu_seconds(self) -> dict[str, float]:
        """CPU seconds of the host process, its loop thread and the watchdog process."""
        out = {
            "process": cpu_seconds(self.pid),
            "loop_thread": cpu_seconds(self.pid, self.info["loop_tid"]),
        }
        try:
            out["watchdog"] = cpu_seconds(self.info["watchdog_pid"])
        except OSError:
            out["watchdog"] = 0.0
        return out

    def close(self, timeout: float = 60.0) -> None:
        """Shut the supervisor down (its programs are stopped), then kill what is left."""
        try:
            if self.proc.poll() is None:
                try:
                    self.call("shutdown", timeout=timeout)
                except (RuntimeError, OSError, ValueError):
                    pass
                try:
                    self.proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    pass
        finally:
            oracle._kill_everything(self.proc, self.marker)
            self._stderr.close()

    def __enter__(self) -> NbsupHost:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
