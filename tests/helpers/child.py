"""A configurable child program for nbsup's real-process tests (stdlib only).

Run it as ``python -S child.py [options]``; every behaviour is chosen on the command line:

--exit N            exit with code N (default 0) once --run seconds have passed
--run SECONDS       how long to run before exiting (default 0; ``inf`` = until killed)
--ignore-term       ignore SIGTERM
--term-exit N       on SIGTERM, exit with code N (a program that handles its stop signal)
--grandchild        spawn a grandchild (same process group) that ignores SIGTERM and sleeps
--write-bytes N     write N bytes to stdout, in 64 KiB chunks of ``b"%015d\\n" % k``
--stdout TEXT       write TEXT and a newline to stdout
--stderr TEXT       write TEXT and a newline to stderr
--print-env         print the environment, cwd, pid, sid and pgid in the READY line
--stamp FILE        write time.monotonic() into FILE just before exiting
--quiet             do not print the READY line

Once set up (grandchild spawned, signals arranged) it prints one line (unless --quiet)
``READY {"pid": ..., "grandchild": ..., ...}`` on stdout, then runs.
"""

from __future__ import annotations

import _signal as signal  # ``signal`` without its enums: 12 ms less to start
import os
import sys
import time

# no argparse, json, subprocess or enum at start-up: they triple the start time (to ~60 ms
# here), and tests time what happens right after a start
CHUNK_LINES = 4096  # 16-byte lines per 64 KiB chunk
FLAGS = ("--ignore-term", "--grandchild", "--print-env", "--quiet")
OPTIONS = {
    "--exit": int,
    "--run": float,
    "--term-exit": int,
    "--write-bytes": int,
    "--stdout": str,
    "--stderr": str,
    "--stamp": str,
}


def parse(argv: list[str]) -> dict[str, object]:
    args: dict[str, object] = {"--exit": 0, "--run": 0.0, "--write-bytes": 0}
    words = iter(argv)
    for word in words:
        if word in FLAGS:
            args[word] = True
        elif word in OPTIONS:
            args[word] = OPTIONS[word](next(words))
        else:
            sys.exit(f"child.py: unknown argument {word!r}")
    return args


def chunk(k: int) -> bytes:
    """The k-th 64 KiB block of --write-bytes output."""
    return (b"%015d\n" % k) * CHUNK_LINES


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def main() -> None:
    args = parse(sys.argv[1:])
    info: dict[str, object] = {"pid": os.getpid()}
    if args.get("--grandchild"):
        import subprocess

        # the grandchild inherits an ignored SIGTERM through exec: no window where TERM kills it
        previous = signal.signal(signal.SIGTERM, signal.SIG_IGN)
        grandchild = subprocess.Popen(
            [sys.executable, "-S", os.path.abspath(__file__), "--quiet", "--ignore-term"]
            + ["--run", "inf"],
            stdin=subprocess.DEVNULL,
        )
        signal.signal(signal.SIGTERM, previous)
        info["grandchild"] = grandchild.pid
    if args.get("--ignore-term"):
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    elif "--term-exit" in args:
        code = args["--term-exit"]
        signal.signal(signal.SIGTERM, lambda *_: os._exit(code))  # type: ignore[arg-type]
    if args.get("--print-env"):
        info.update(env=dict(os.environ), cwd=os.getcwd(), sid=os.getsid(0), pgid=os.getpgid(0))
    if not args.get("--quiet"):
        import json

        write_all(1, b"READY " + json.dumps(info).encode() + b"\n")

    if "--stdout" in args:
        write_all(1, str(args["--stdout"]).encode() + b"\n")
    if "--stderr" in args:
        write_all(2, str(args["--stderr"]).encode() + b"\n")
    remaining = int(args["--write-bytes"])  # type: ignore[call-overload]
    k = 0
    while remaining > 0:
        block = chunk(k)[:remaining]
        write_all(1, block)
        remaining -= len(block)
        k += 1

    run = float(args["--run"])  # type: ignore[arg-type]
    if run == float("inf"):
        while True:
            signal.pause()
    elif run > 0:
        time.sleep(run)
    if "--stamp" in args:
        fd = os.open(str(args["--stamp"]), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.write(fd, repr(time.monotonic()).encode())
    os._exit(int(args["--exit"]))  # type: ignore[call-overload]


if __name__ == "__main__":
    main()
