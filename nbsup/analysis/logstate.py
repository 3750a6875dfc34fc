"""What the log replay knows per process, and who an unnamed spawn error belongs to.

Most ``spawnerr:`` lines do not name their process (semantics.md §6.2). The replay gives
one to the process that was plausibly being spawned: one due for a retry from BACKOFF,
an autorestart from EXITED, or (after a daemon restart) one that failed the same way
before. A process that never ran at all is only named when it gives up: its crash loop
of unnamed errors is then recognised by the retry schedule (§8).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..core.states import ProcessState
from .logpatterns import NAMED_SPAWNERR, Fields
from .logscan import KINDS

#: State codes: positions in the event log's state categories (checked just below).
STOPPED, STARTING, RUNNING, BACKOFF, STOPPING, EXITED, FATAL, UNKNOWN = range(8)
_ORDER = ["STOPPED", "STARTING", "RUNNING", "BACKOFF", "STOPPING", "EXITED", "FATAL", "UNKNOWN"]
if [state.value for state in ProcessState] != _ORDER:  # pragma: no cover
    raise ImportError("nbsup.analysis.logstate: state codes out of step with ProcessState")
#: Slack of a due retry, and how late an autorestart may follow its exit (seconds).
EPS = 0.01  # log times are truncated to the ms and written a few ms after the fact
LATE = 1.5  # supervisord acts on a due deadline within one poll (1 s) plus slack
_CHAIN_MAX = 64  # spawn errors considered when naming an unnamed crash loop
_ITERATION = 0.1  # one pass of supervisord's loop over all processes takes a few ms


@dataclass
class Process:
    """What supervisord keeps per process, as far as the log shows it."""

    state: int = STOPPED
    backoff: int = 0
    pid: int = -1
    t_spawn: float | None = None
    t_backoff: float = 0.0
    t_exit: float = 0.0
    startsecs: float | None = None  # learned from a "success:" line
    spawnerr: str | None = None  # the last spawn error attributed to it
    fresh: bool = True  # not spawned since the daemon started


@dataclass
class SpawnErr:
    src: int
    time: float
    text: str
    claimed: bool = False


def names_acting_soon(
    kinds: Sequence[int], times: Sequence[float], fields: Sequence[Fields], src: int, time: float
) -> set[str]:
    """Names spawned or failing by name within a loop iteration after message ``src``."""
    names: set[str] = set()
    for later in range(src + 1, len(kinds)):
        if times[later] > time + _ITERATION:
            break
        if not fields[later][0]:
            continue
        kind = KINDS[kinds[later]]
        if kind == "spawned":
            names.add(fields[later][1])
        elif kind == "spawnerr" and (named := NAMED_SPAWNERR.fullmatch(fields[later][1])):
            names.add(named[1])
    return names


def plausible_owner(
    processes: dict[str, Process], time: float, text: str, busy: set[str]
) -> str | None:
    """The process an unnamed spawn error ``text`` at ``time`` is plausibly about.

    Not one in ``busy`` (it spawns in the same loop iteration). Among several, the one
    that failed the same way last, then the one due first, then by name.
    """
    items = sorted((n, p) for n, p in processes.items() if n not in busy)
    tiers = (  # due for a retry; autorestarting; a new daemon's retry of the same error
        [(p.t_backoff + p.backoff, n, p) for n, p in items
         if p.state == BACKOFF and time >= p.t_backoff + p.backoff - EPS],
        [(p.t_exit, n, p) for n, p in items if p.state == EXITED and time - p.t_exit <= LATE],
        [(0.0, n, p) for n, p in items if p.state == STOPPED and p.fresh and p.spawnerr == text],
    )  # fmt: skip
    for tier in tiers:
        if len(tier) > 1:
            tier = [c for c in tier if c[2].spawnerr == text] or tier
        if tier:
            return min(tier, key=lambda c: (c[0], c[1]))[1]
    return None


def crash_loop(pending: Sequence[SpawnErr], run_start: int, time: float) -> list[SpawnErr]:
    """The unnamed spawn errors that led to a FATAL at ``time`` of a process that never ran.

    The last open error must be at most one loop pass (plus slack) before the FATAL, and
    the chain back to the first one must follow supervisord's retry schedule: retry k
    comes k seconds (plus less than a second) after the k-th failure. Empty if none fits.
    """
    open_ = [e for e in pending if not e.claimed and e.src > run_start]
    if not open_ or time - open_[-1].time > LATE:
        return []
    last = open_[-1]
    same = [e for e in open_ if e.text == last.text][-_CHAIN_MAX:]
    for first in same:
        chain = [first]
        while chain[-1] is not last:
            k, previous = len(chain), chain[-1]
            step = next(
                (e for e in same if e.src > previous.src
                 and k - EPS <= e.time - previous.time <= k + LATE),
                None,
            )  # fmt: skip
            if step is None:
                break
            chain.append(step)
        if chain[-1] is last:
            return chain
    return []
