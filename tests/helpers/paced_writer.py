"""A supervised program for the busy-minute test: 100 KB every 10 ms to stdout.

Each write is timed: a full pipe would block it for as long as the supervisor does not
read. It keeps ``writer10.json`` (in its folder) up to date with the worst write and the
bytes written so far. The pacing wait is this program's own behaviour, not a test's wait.
"""

from __future__ import annotations

import json
import os
import time

CHUNK = b"x" * 99_999 + b"\n"
INTERVAL = 0.01


def main() -> None:
    worst = written = 0.0
    next_at = time.monotonic()
    while True:
        started = time.monotonic()
        os.write(1, CHUNK)
        took = time.monotonic() - started
        worst, written = max(worst, took), written + len(CHUNK)
        with open("writer10.json.tmp", "w") as report:
            json.dump({"worst": worst, "written": written}, report)
        os.replace("writer10.json.tmp", "writer10.json")
        next_at += INTERVAL
        time.sleep(max(0.0, next_at - time.monotonic()))


if __name__ == "__main__":
    main()
