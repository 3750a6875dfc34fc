"""A restarting program's next process starts before the ended one's last output is
delivered (runtime/driver.py): the log file and each attempt's output still come out in
order, every attempt with exactly what its own process wrote."""

from __future__ import annotations

import re

import pytest

from nbsup import ProcessState

pytestmark = pytest.mark.realprocess

WRITES = 300_000  # bytes per attempt: some of it is still in the pipe at the exit
ATTEMPTS = 6


def test_each_attempt_keeps_its_own_output_in_order(harness):
    p = harness.add(
        "burst",
        "--quiet",
        "--write-bytes",
        WRITES,
        startsecs=0,
        autorestart=True,
        restartpause=0,
        stdout_logfile_maxbytes=0,  # no rotation: the whole story is in one file
    )
    harness.wait_entered(p, "STARTING", count=ATTEMPTS, timeout=20)
    p.stop()
    assert p.state == ProcessState.STOPPED

    log = (harness.sup.session_dir / "logs" / "burst-stdout.log").read_text()
    markers = re.findall(r"==> nbsup: attempt (\d+) (spawned|exited)", log)
    numbers = [int(n) for n, _ in markers]
    assert numbers == sorted(numbers)  # attempts never interleave
    kinds = [kind for _, kind in markers]
    assert kinds[: 2 * (ATTEMPTS - 1)] == ["spawned", "exited"] * (ATTEMPTS - 1)
    for k in range(1, ATTEMPTS):
        assert len(p.attempt_log(k)) == WRITES, k
    blocks = re.split(r"==> nbsup: attempt \d+ [^\n]*\n", log)
    assert all(len(block) in (0, WRITES) for block in blocks[:-2])  # between the markers
