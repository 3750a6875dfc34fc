"""A misbehaving child program for the program-fault suite (stdlib only, quick to start).

Run it as ``python -S faulty_program.py [options]``; the steps happen in the order given:

--ignore-term          ignore SIGTERM (inherited by the grandchildren and the daemon)
--term-exit N          on SIGTERM, exit with code N
--core on|off          allow or forbid a core dump (RLIMIT_CORE)
--segv-on-usr1         on SIGUSR1, dereference NULL (dies by SIGSEGV)
--grandchildren N      fork N grandchildren (same process group) that sleep until killed
--daemonize FILE       double fork + setsid: a daemon in a session of its own that writes
                       its pid to FILE, closes its stdio and sleeps until killed
--vfork-hang           vfork a child that never execs (it prints ``VFORKED``): this
                       process then sleeps in the kernel (state D) until the child dies
--report               print ``READY {json}`` (pid, pgid, sid, grandchildren, daemon)
--emit CHANNEL HEX     write these bytes (hex) to stdout or stderr with one write each
--close WHICH          close stdout, stderr or both
--long-line N          write N bytes without a newline (:func:`long_line_block`)
--flood N              write N bytes of numbered lines (:func:`flood_block`)
--segv                 dereference NULL now
--run SECONDS          then run this long (``inf``: until killed; default 0)
--exit N               then exit with code N (default 0)

The block functions are importable so a test can compute what the output must be.
"""

from __future__ import annotations

import _signal as signal  # without the enums: starts faster
import os
import sys
import time

BLOCK = 1 << 20  # bytes per write of --long-line and --flood
FLAGS = ("--ignore-term", "--segv-on-usr1", "--vfork-hang", "--report", "--segv")
VALUED = ("--term-exit", "--core", "--grandchildren", "--daemonize", "--close")
VALUED += ("--long-line", "--flood", "--run", "--exit")


def long_line_block(k: int) -> bytes:
    """The k-th 1 MiB block of --long-line output: no newline anywhere."""
    return (b"%07d|" % k + b"abcdefghijklmnopqrstuvwxyz0123456789" * 29127)[:BLOCK]


def flood_block(k: int) -> bytes:
    """The k-th 1 MiB block of --flood output: 65,536 lines ``%015d\\n`` of the block number."""
    return (b"%015d\n" % k) * (BLOCK // 16)


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def write_generated(block: object, size: int) -> None:
    k = 0
    while size > 0:
        data = block(k)[:size]  # type: ignore[operator]
        write_all(1, data)
        size -= len(data)
        k += 1


def segfault() -> None:
    import ctypes

    ctypes.string_at(0)


def parse(argv: list[str]) -> list[tuple[str, list[str]]]:
    steps: list[tuple[str, list[str]]] = []
    words = iter(argv)
    for word in words:
        if word in FLAGS:
            steps.append((word, []))
        elif word in VALUED:
            steps.append((word, [next(words)]))
        elif word == "--emit":
            steps.append((word, [next(words), next(words)]))
        else:
            sys.exit(f"faulty_program.py: unknown argument {word!r}")
    return steps


def sleep_forever() -> None:
    while True:
        signal.pause()


def daemonize(pidfile: str) -> int:
    """Double fork + setsid; return the daemon's pid (in the original process)."""
    ready_r, ready_w = os.pipe()
    if os.fork() == 0:  # first child: leaves the session, forks the daemon, exits
        os.close(ready_r)
        os.setsid()
        if os.fork() == 0:  # the daemon
            null = os.open(os.devnull, os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(null, fd)
            temporary = pidfile + ".tmp"
            with open(temporary, "w") as file:
                file.write(str(os.getpid()))
            os.rename(temporary, pidfile)
            os.write(ready_w, b"%d\n" % os.getpid())
            os.close(ready_w)
            sleep_forever()
        os._exit(0)
    os.close(ready_w)
    with os.fdopen(ready_r, "rb") as ready:
        return int(ready.readline())


def main() -> None:
    info: dict[str, object] = {"pid": os.getpid(), "pgid": os.getpgid(0), "sid": os.getsid(0)}
    run, code = 0.0, 0
    for step, values in parse(sys.argv[1:]):
        if step == "--ignore-term":
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
        elif step == "--term-exit":
            signal.signal(signal.SIGTERM, lambda *_, status=int(values[0]): os._exit(status))
        elif step == "--core":
            import resource

            limit = resource.RLIM_INFINITY if values[0] == "on" else 0
            resource.setrlimit(resource.RLIMIT_CORE, (limit, limit))
        elif step == "--segv-on-usr1":
            signal.signal(signal.SIGUSR1, lambda *_: segfault())
        elif step == "--grandchildren":
            children = []
            for _ in range(int(values[0])):
                pid = os.fork()
                if pid == 0:
                    os.closerange(3, 256)
                    sleep_forever()
                children.append(pid)
            info["grandchildren"] = children
        elif step == "--daemonize":
            info["daemon"] = daemonize(values[0])
        elif step == "--vfork-hang":
            import ctypes

            sys.stdout.flush()
            libc = ctypes.CDLL(None, use_errno=True)
            if libc.vfork() == 0:  # the child shares our memory: say so, then only pause
                libc.write(1, b"VFORKED\n", 8)
                libc.pause()
        elif step == "--report":
            import json

            write_all(1, b"READY " + json.dumps(info).encode() + b"\n")
        elif step == "--emit":
            write_all(1 if values[0] == "stdout" else 2, bytes.fromhex(values[1]))
        elif step == "--close":
            for fd in {"stdout": (1,), "stderr": (2,), "both": (1, 2)}[values[0]]:
                os.close(fd)
        elif step == "--long-line":
            write_generated(long_line_block, int(values[0]))
        elif step == "--flood":
            write_generated(flood_block, int(values[0]))
        elif step == "--segv":
            segfault()
        elif step == "--run":
            run = float(values[0])
        elif step == "--exit":
            code = int(values[0])
    if run == float("inf"):
        sleep_forever()
    elif run > 0:
        time.sleep(run)
    os._exit(code)


if __name__ == "__main__":
    main()
