"""A process hosting one nbsup :class:`~nbsup.Supervisor`, driven by JSON lines on stdin.

``python -m benchmarks.nbsup_host STATE_DIR [SETTINGS_JSON]`` (see
:class:`benchmarks.procs.NbsupHost`); SETTINGS_JSON holds more Supervisor traits.
Each command is one JSON object ``{"cmd": ..., ...}``; the reply is one JSON object on
the original stdout (``{"error": ...}`` when it failed). Program output never reaches that
stream: fd 1 is pointed at stderr before nbsup starts.

Commands
--------
``hello``
    ``pid``, ``loop_tid`` (native id of the supervisor's loop thread), ``watchdog_pid``.
``add n prefix command options``
    Add programs ``<prefix>0`` .. ``<prefix><n-1>``; ``seconds`` it took.
``load path``
    ``load_config(path)`` (a supervisord.conf); ``seconds`` it took and ``programs`` added.
``start names until timeout`` / ``stop names until timeout``
    ``start_all(names, wait=False)`` / ``stop_all(names, wait=False)`` (all programs when
    ``names`` is null: every request in one hop to the supervisor's thread),
    then, when ``until`` (state names) is given, wait until each is in one of them;
    ``seconds`` from the first request to the last program there, and ``states``.
``wait names until timeout``
    Wait until each program is in one of ``until``; ``seconds``.
``rss``
    This process's resident set size in bytes.
``log_path name channel``
    The file the program's ``channel`` is written to (null: none).
``events``
    How many transition records the supervisor holds.
``shutdown timeout``
    Stop everything and exit.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
import traceback
import warnings
from collections import Counter
from typing import Any

import nbsup
from nbsup.config import ConfigWarning


def _rss() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class Host:
    """Carries out the commands on one Supervisor."""

    def __init__(self, state_dir: str, settings: dict[str, Any] | None = None) -> None:
        self.sup = nbsup.Supervisor(state_dir=state_dir, **(settings or {}))

    def _programs(self, names: list[str] | None) -> list[Any]:
        return list(self.sup) if names is None else [self.sup[n] for n in names]

    def _wait(self, programs: list[Any], until: list[str], timeout: float) -> Counter[str]:
        deadline = time.monotonic() + timeout
        for p in programs:
            p.wait_for(*until, timeout=max(0.0, deadline - time.monotonic()))
        return Counter(p.state.value for p in programs)

    def hello(self) -> dict[str, Any]:
        runner: Any = self.sup._runner  # a ThreadRunner with a LocalLauncher
        return {
            "pid": os.getpid(),
            "loop_tid": runner.thread.thread.native_id,
            "watchdog_pid": runner.driver.launcher.watchdog.pid,
            "session_dir": str(self.sup.session_dir),
        }

    def add(self, n: int, prefix: str, command: str, options: dict[str, Any]) -> dict[str, Any]:
        t0 = time.monotonic()
        for i in range(n):
            self.sup.add_program(f"{prefix}{i}", command=command, **options)
        return {"seconds": time.monotonic() - t0}

    def load(self, path: str) -> dict[str, Any]:
        with warnings.catch_warnings():  # the file's [supervisord] section... are not ours
            warnings.simplefilter("ignore", ConfigWarning)
            t0 = time.monotonic()
            programs = self.sup.load_config(path)
            return {"seconds": time.monotonic() - t0, "programs": len(programs)}

    def start(
        self, names: list[str] | None = None, until: list[str] | None = None, timeout: float = 600
    ) -> dict[str, Any]:
        programs = self._programs(names)
        t0 = time.monotonic()
        self.sup.start_all([p.name for p in programs], wait=False)  # one hop for all
        states = self._wait(programs, until, timeout) if until else Counter()
        return {"seconds": time.monotonic() - t0, "states": dict(states)}

    def stop(
        self, names: list[str] | None = None, until: list[str] | None = None, timeout: float = 600
    ) -> dict[str, Any]:
        programs = self._programs(names)
        t0 = time.monotonic()
        self.sup.stop_all([p.name for p in programs], wait=False)  # one hop for all
        states = self._wait(programs, until, timeout) if until else Counter()
        return {"seconds": time.monotonic() - t0, "states": dict(states)}

    def wait(
        self, until: list[str], names: list[str] | None = None, timeout: float = 600
    ) -> dict[str, Any]:
        t0 = time.monotonic()
        states = self._wait(self._programs(names), until, timeout)
        return {"seconds": time.monotonic() - t0, "states": dict(states)}

    def rss(self) -> dict[str, Any]:
        return {"rss": _rss()}

    def log_path(self, name: str, channel: str = "stdout") -> dict[str, Any]:
        path = self.sup[name].output_channel(channel).path
        return {"path": None if path is None else str(path)}

    def events(self) -> dict[str, Any]:
        return {"events": len(self.sup._store)}

    def starts(self) -> dict[str, Any]:
        column = self.sup._store._columns["to_state"]
        return {"starts": sum(1 for state in column if state == "STARTING")}

    def shutdown(self, timeout: float = 60) -> dict[str, Any]:
        return {"finished": self.sup.shutdown(timeout)}


def main(argv: list[str]) -> int:
    replies = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # anything printed goes to stderr, never into the replies
    sys.stdout = sys.stderr
    host = Host(argv[0], json.loads(argv[1]) if len(argv) > 1 else None)
    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        cmd = request.pop("cmd")
        try:
            reply = getattr(host, cmd)(**request)
        except Exception as error:
            traceback.print_exc()
            reply = {"error": f"{type(error).__name__}: {error}"}
        replies.write(json.dumps(reply) + "\n")
        if cmd == "shutdown":
            break
    # daemon threads (the supervisor's loop) must not keep the process alive
    if threading.active_count() > 1:
        os._exit(0)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
