"""Output throughput: a child writes 1 GiB to stdout; MB/s through the supervisor into its log.

The child is ``head -c 1073741824 /dev/zero``. Its stdout goes to ``stdout_logfile=<file>``
with ``stdout_logfile_maxbytes=0`` (no rotation) in both supervisors; the time runs from
the start request until the file holds every byte (polled with ``stat`` every 2 ms), and
the file must end up exactly 1 GiB.

* supervisord: ``startProcess(name, False)`` over XML-RPC (``loglevel=info``, no listener).
* nbsup (its own process, ``benchmarks/nbsup_host.py``): ``start(wait=False)``, with
  ``attempt_markers=False`` so that the file holds the output only, like supervisord's
  (nbsup's default adds a ~80-byte marker line at each spawn and exit). If its
  ``stdout_logfile`` option is not honoured (an older nbsup), the program's AUTO log file
  in the session folder is measured instead, and the note says so.

The two supervisors run three times each, interleaved, and report their medians (a single
run moved by 30 % between runs on this VM). The physical limit is the same command piped
through ``cat`` into a file on the same file system (its best of four runs, one before and
one after each round). MB is 10^6 bytes.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from .harness import median, row, workdir
from .procs import NbsupHost, lean_supervisord, wait_file_size, wait_supervisord_states

NAME = "output_throughput"
SIZE = 1 << 30
QUICK_SIZE = 64 << 20
ROUNDS = 3
TIMEOUT = 600.0


def command(size: int) -> str:
    return f"head -c {size} /dev/zero"


def _options(path: Path) -> dict[str, str]:
    return {
        "autostart": "false",
        "startsecs": "0",
        "autorestart": "false",
        "stdout_logfile": str(path),
        "stdout_logfile_maxbytes": "0",
        "stdout_logfile_backups": "0",
    }


def measure_cat(size: int) -> float:
    """Seconds for ``head | cat > file``."""
    with workdir("tp-cat") as tmp:
        out = tmp / "cat.out"
        t0 = time.monotonic()
        subprocess.run(["sh", "-c", f"{command(size)} | cat > {out}"], check=True)
        seconds = time.monotonic() - t0
        if out.stat().st_size != size:
            raise RuntimeError(f"cat wrote {out.stat().st_size} bytes, not {size}")
    return seconds


def measure_supervisord(size: int) -> float:
    with workdir("tp-supd") as tmp:
        log = tmp / "tp.out"
        progs = {"tp": (command(size), _options(log))}
        with lean_supervisord(progs, tmp) as (_proc, rpc):
            t0 = time.monotonic()
            rpc.call("startProcess", "tp", False)
            seconds = wait_file_size(log, size, TIMEOUT) - t0
            wait_supervisord_states(rpc, {"EXITED", "FATAL", "BACKOFF"}, timeout=60, interval=0.1)
            final = log.stat().st_size
        if final != size:
            raise RuntimeError(f"supervisord's log holds {final} bytes, not {size}")
    return seconds


def measure_nbsup(size: int) -> tuple[float, bool]:
    """(seconds, whether the configured stdout_logfile was used)."""
    with workdir("tp-nbsup") as tmp:
        log = tmp / "tp.out"
        options: dict[str, object] = {
            k: (v if not v.isdigit() else int(v)) for k, v in _options(log).items()
        }
        options.update(autostart=False, autorestart=False)
        with NbsupHost(tmp, {"attempt_markers": False}) as host:
            host.call("add", n=1, prefix="tp", command=command(size), options=options)
            path = Path(host.call("log_path", name="tp0")["path"])
            configured = path == log
            t0 = time.monotonic()
            host.call("start", names=["tp0"])
            seconds = wait_file_size(path, size, TIMEOUT) - t0
            host.call("wait", names=["tp0"], until=["EXITED", "FATAL", "BACKOFF"], timeout=60)
            final = path.stat().st_size
        if final != size:
            raise RuntimeError(f"nbsup's log {path} holds {final} bytes, not {size}")
    return seconds, configured


def run(quick: bool = False) -> list[dict]:
    size = QUICK_SIZE if quick else SIZE
    mb = size / 1e6
    rounds = 1 if quick else ROUNDS
    cats, nbs, sds = [measure_cat(size)], [], []
    for _ in range(rounds):  # interleaved: a noisy moment of the machine hits both sides
        seconds, configured = measure_nbsup(size)
        nbs.append(seconds)
        sds.append(measure_supervisord(size))
        cats.append(measure_cat(size))
    nb, sd = median(nbs), median(sds)
    cat = min(cats)  # the limit: the best run
    where = (
        "nbsup: stdout_logfile=<file>, maxbytes=0, attempt_markers=False"
        if configured
        else "nbsup: stdout_logfile not honoured yet, its AUTO log in the session folder"
    )
    return [
        row(
            NAME,
            f"MB/s of {size / (1 << 20):.0f} MiB stdout into the log file",
            mb / nb,
            mb / sd,
            unit="MB/s",
            target=">= supervisord, >= 50 % of cat",
            limit=mb / cat,
            note=(
                f"{where}; log sizes checked; median of {rounds} interleaved rounds; "
                "limit: head | cat > file (best run)"
            ),
        )
    ]
