"""Make ``supervisord.log`` next to this script: a small log written by the real supervisord.

How it was made
---------------
``python notebooks/data/make_supervisord_log.py`` (with the project's venv, which has
``supervisor==4.3.0``) writes a ``supervisord.conf`` into a temporary folder, runs
``supervisord -n`` on it with ``loglevel=debug`` and no event listener (so the log is
what a plain deployment writes), stops two programs with ``supervisorctl`` after about
4 s, sends SIGTERM after about 9 s and copies the log here. Programs:

* ``crashloop`` — ``exit 1`` at once, ``startretries=2``: STARTING/BACKOFF three times,
  then FATAL (a crash loop, with its stderr line in the log at debug level).
* ``missing`` — a command that does not exist, ``startretries=1``: ``spawnerr:`` lines
  that do not name the program, then FATAL.
* ``flapping`` — runs 0.5 s and exits 0, ``startsecs=0``, ``autorestart=true``: restarted
  about once a second, forever.
* ``worker`` — runs, then is stopped with ``supervisorctl stop`` (SIGTERM).
* ``stubborn`` — ignores SIGTERM, ``stopwaitsecs=2``: stopped with ``supervisorctl stop``,
  killed with SIGKILL two seconds later.
* ``pool`` — ``numprocs=2`` (``pool_0``, ``pool_1``), stopped at the daemon's shutdown.

Times in the log are this machine's local time, as supervisord writes them. The process
ids and times change on every run; everything else is reproducible.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent

PROGRAMS = {
    "crashloop": {
        "command": "sh -c 'echo crashloop: cannot reach the database >&2; exit 1'",
        "startretries": "2",
    },
    "missing": {"command": "/opt/app/bin/missing-binary --serve", "startretries": "1"},
    "flapping": {
        "command": "sh -c 'echo tick; sleep 0.5; exit 0'",
        "startsecs": "0",
        "autorestart": "true",
    },
    "worker": {"command": "sh -c 'echo worker ready; exec sleep 60'"},
    "stubborn": {
        "command": "sh -c 'trap \"\" TERM; echo ignoring SIGTERM; sleep 60'",
        "stopwaitsecs": "2",
        "stopasgroup": "true",
        "killasgroup": "true",
    },
    "pool": {
        "command": "sleep 60",
        "numprocs": "2",
        "process_name": "%(program_name)s_%(process_num)d",
    },
}


def write_config(folder: Path) -> Path:
    lines = [
        "[supervisord]",
        f"logfile={folder / 'supervisord.log'}",
        "logfile_maxbytes=0",
        "loglevel=debug",
        f"pidfile={folder / 'supervisord.pid'}",
        f"childlogdir={folder}",
        "nodaemon=true",
        "",
        "[unix_http_server]",
        f"file={folder / 's.sock'}",
        "",
        "[rpcinterface:supervisor]",
        "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface",
        "",
        "[supervisorctl]",
        f"serverurl=unix://{folder / 's.sock'}",
        "",
    ]
    for name, options in PROGRAMS.items():
        lines.append(f"[program:{name}]")
        lines += [f"{key}={value}" for key, value in options.items()]
        lines.append("")
    conf = folder / "supervisord.conf"
    conf.write_text("\n".join(lines))
    return conf


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="nbsup-log-"))
    conf = write_config(folder)
    daemon = subprocess.Popen(
        [str(BIN / "supervisord"), "-n", "-c", str(conf)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        time.sleep(4.0)
        ctl = [str(BIN / "supervisorctl"), "-c", str(conf)]
        subprocess.run([*ctl, "stop", "worker", "stubborn"], check=False, timeout=30)
        time.sleep(5.0)
        daemon.send_signal(signal.SIGTERM)
        subprocess.run([*ctl, "pid"], check=False, timeout=30, capture_output=True)
        daemon.wait(timeout=30)
    finally:
        if daemon.poll() is None:
            os.killpg(daemon.pid, signal.SIGKILL)
            daemon.wait()
    shutil.copyfile(folder / "supervisord.log", HERE / "supervisord.log")
    shutil.rmtree(folder, ignore_errors=True)
    size = (HERE / "supervisord.log").stat().st_size
    print(f"wrote {HERE / 'supervisord.log'} ({size} bytes)")


if __name__ == "__main__":
    main()
