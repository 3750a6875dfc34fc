"""Waiting on programs without sleeping: on their state changes, and on their output.

Shared by the real-process test folders (runtime, reliability, rpc).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any


def wait_until(
    sup: Any, programs: list[Any], predicate: Callable[[], bool], timeout: float
) -> None:
    """Block until ``predicate()`` holds, re-checked at every state change of ``programs``.

    The observers are registered on the supervisor's thread, so no transition can slip
    between the first check and the registration.
    """
    done = threading.Event()

    def check(_change: object = None) -> None:
        if predicate():
            done.set()

    def register() -> None:
        for program in programs:
            program.observe(check, names="state")
        check()

    def unregister() -> None:
        for program in programs:
            program.unobserve(check, names="state")

    sup._runner.call(register)
    try:
        if not done.wait(timeout):
            states = {p.name: p.state.value for p in programs}
            raise TimeoutError(f"condition not met within {timeout} s; states: {states}")
    finally:
        sup._runner.call(unregister)


def wait_output(program: Any, text: str, channel: str = "stdout", timeout: float = 5.0) -> str:
    """Block until ``text`` is in the program's in-memory output (woken by each write);
    return that output."""
    output = program.output_channel(channel)
    deadline = time.monotonic() + timeout
    while True:
        data, end = output.read_since(0)
        decoded: str = data.decode("utf-8", "replace")
        if text in decoded:
            return decoded
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not output.wait_for_more(end, remaining):
            raise TimeoutError(f"{text!r} not in {program.name}'s {channel}: {decoded!r}")
