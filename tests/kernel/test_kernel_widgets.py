"""Live cards in a real kernel: 100 programs flapping as fast as they can stay within the
IOPub budget (jupyter_server drops everything above 1000 messages/s over 3 s), and the
final state of every card reaches the client."""

from __future__ import annotations

import bisect
import collections
import re
import time

import pytest

# what jupyter_server's rate limit counts: every IOPub message but these
NOT_COUNTED = {"status", "comm_open", "execute_input"}
PROGRAMS = 100
FLAP_SECONDS = 10.0

START = f"""
import nbsup
from nbsup.widgets import ProgramCard
from IPython.display import display
_sup = nbsup.get_supervisor()
for _i in range({PROGRAMS}):
    _p = _sup.add_program(f"flap{{_i}}", command="true", startsecs=0, autorestart=True,
                          restartpause=0)
    display(ProgramCard(_p))
"""

STOP = """
_stop_for_good(list(_sup), timeout=10)
print(sorted({_p.state.value for _p in _sup}), len(_sup.events))
"""


def drain(kernel, seconds: float) -> list[tuple[float, dict]]:
    """Every IOPub message for ``seconds`` (the kernel is idle: only widgets speak)."""
    messages = []
    end = time.monotonic() + seconds
    while (left := end - time.monotonic()) > 0:
        try:
            msg = kernel.kc.get_iopub_msg(timeout=left)
        except Exception:  # queue.Empty
            break
        messages.append((time.monotonic(), msg))
    return messages


@pytest.mark.kernel
def test_100_flapping_programs_stay_within_the_iopub_budget(fresh_kernel):
    kernel = fresh_kernel
    kernel.submit(START)  # its comm_open and display messages are read below, with the rest
    values: dict[str, str] = {}
    program_of: dict[str, str] = {}

    def follow(msg: dict) -> None:
        content = msg["content"]
        if msg["msg_type"] != "comm_msg":
            return
        value = content["data"].get("state", {}).get("value")
        if not isinstance(value, str):
            return
        match = re.search(r'data-program="(flap\d+)"', value)
        if match:
            program_of[content["comm_id"]] = match.group(1)
        if content["comm_id"] in program_of:
            values[program_of[content["comm_id"]]] = value

    flood = drain(kernel, FLAP_SECONDS)
    for _, msg in flood:
        follow(msg)
    errors = [m["content"] for _, m in flood if m["msg_type"] == "error"]
    assert not errors, errors
    assert len(program_of) == PROGRAMS  # every card was opened
    counted = sorted(t for t, msg in flood if msg["msg_type"] not in NOT_COUNTED)
    busiest = max(
        (bisect.bisect_left(counted, t + 3.0) - i for i, t in enumerate(counted)), default=0
    )
    rate = busiest / 3.0
    print(f"busiest 3 s window: {rate:.0f} IOPub messages/s")
    assert counted, "no widget updates at all"
    assert rate < 500, rate  # budget 300/s; jupyter_server cuts at 1000/s
    texts = [m["content"].get("text", "") for _, m in flood if m["msg_type"] == "stream"]
    assert not any("IOPub message rate exceeded" in t for t in texts)

    result = kernel.run(STOP, timeout=120)
    assert result.error is None, result.error
    states, transitions = result.stdout.strip().rsplit("] ", 1)
    assert states == "['STOPPED'", result.stdout
    assert int(transitions) > PROGRAMS * 20  # they really flapped
    for _, msg in drain(kernel, 1.0):
        follow(msg)
    assert len(values) == PROGRAMS
    stale = [name for name, value in values.items() if 'data-state="STOPPED"' not in value]
    assert not stale, f"cards not showing STOPPED: {stale[:5]}"
    counts = collections.Counter(msg["msg_type"] for _, msg in flood)
    print(dict(counts))
