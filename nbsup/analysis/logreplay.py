"""Replay supervisord.log messages into transitions (semantics.md §15.3).

One small state machine per process name keeps what supervisord kept: the state, the
failure counter (``backoff``, the events' ``tries``), the pid and the spawn time. Each
message kind moves it the way the daemon moved the real process (§5). Where a message
arrives in a state it cannot come from (a log that starts mid-run, lines lost), the row's
``from_state`` is the state the message implies, so the row itself is still right.

Rows are kept lean for speed: the source message's index, the process name, one code
packing from/to states and flags (:data:`MSG`, :data:`ES`, :data:`SIG`, :data:`EXP`: the
row carries the message, exit status, signal or "expected" of its source line), ``pid``
and ``tries`` (-1 for none). :meth:`LogReplay.transitions` gives them as
:class:`Transitions`, the columns :mod:`.logvector` builds too.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from .logpatterns import NAMED_SPAWNERR, Fields
from .logscan import KINDS, IntArray
from .logstate import (
    BACKOFF,
    EXITED,
    FATAL,
    RUNNING,
    STARTING,
    STOPPED,
    STOPPING,
    UNKNOWN,
    Process,
    SpawnErr,
    crash_loop,
    names_acting_soon,
    plausible_owner,
)

MSG, ES, SIG, EXP = 1, 2, 4, 8


@dataclass
class Transitions:
    """Rows, column by column: the source message, the process, ``code`` (from state,
    to state << 3, flags << 6), pid and tries (-1: none), and the exit status, signal and
    "expected" of the source message (read where the flags say so)."""

    src: IntArray
    name: npt.NDArray[np.object_]
    code: IntArray
    pid: IntArray
    tries: IntArray
    exitstatus: IntArray
    signal: npt.NDArray[np.object_]
    expected: npt.NDArray[np.bool_]

    def take(self, rows: IntArray) -> Transitions:
        """The rows at ``rows``, in that order."""
        return Transitions(*(getattr(self, f)[rows] for f in self.__dataclass_fields__))


@dataclass
class LogReplay:
    """Run with :meth:`run`; read the row lists and :attr:`used` (indices of messages used).

    Parameters
    ----------
    startsecs
        ``startsecs`` for processes not in ``startsecs_by_program`` and never seen
        entering RUNNING with a ``success:`` line (which states their startsecs).
    startsecs_by_program
        ``startsecs`` per process name.
    exitcodes
        The expected exit codes: an early exit with one of them is logged "not
        expected" only when it is a failure (STARTING -> BACKOFF).
    """

    startsecs: float = 1.0
    startsecs_by_program: Mapping[str, float] = field(default_factory=dict)
    exitcodes: Collection[int] = (0,)
    # the rows, column by column (typed arrays: numpy reads them without a copy)
    src: array[int] = field(default_factory=lambda: array("q"))
    name: list[str] = field(default_factory=list)
    code: array[int] = field(default_factory=lambda: array("q"))
    pid: array[int] = field(default_factory=lambda: array("q"))
    tries: array[int] = field(default_factory=lambda: array("q"))
    used: array[int] = field(default_factory=lambda: array("q"))
    processes: dict[str, Process] = field(default_factory=dict)
    pending: list[SpawnErr] = field(default_factory=list)
    shutting_down: bool = False
    run_start: int = -1
    #: Per message (by index): the exit status, signal and "expected" it states, if any.
    exitstatus: array[int] = field(default_factory=lambda: array("q"))
    signal: list[str | None] = field(default_factory=list)
    expected: array[int] = field(default_factory=lambda: array("b"))
    _kinds: Sequence[int] = field(default=(), repr=False)
    _times: Sequence[float] = field(default=(), repr=False)
    _fields: Sequence[Fields] = field(default=(), repr=False)

    def run(
        self,
        kinds: Sequence[int],
        times: Sequence[float],
        fields: Sequence[Fields],
        only: Iterable[int] | None = None,
    ) -> None:
        """Replay messages in order: their kind codes, times and :func:`parse` fields.

        ``only``: the indices of the messages to replay, in order (default: all); the
        others are still looked at where a spawn error's owner is guessed.
        The three kinds that make up most of a busy log (spawned, success, exited) are
        handled inline; the others by a method per kind.
        """
        handlers: list[Callable[[int, float, Fields], bool]] = [
            getattr(self, "_" + kind, self._inline) for kind in KINDS
        ]
        self._kinds, self._times, self._fields = kinds, times, fields
        self.exitstatus = statuses = array("q", bytes(8 * len(kinds)))
        signals: list[str | None] = [None] * len(kinds)
        self.signal = signals
        self.expected = expectations = array("b", bytes(len(kinds)))
        spawned, success, exited = (KINDS.index(k) for k in ("spawned", "success", "exited"))
        get = self.processes.get
        add_src, add_name, add_code = self.src.append, self.name.append, self.code.append
        add_pid, add_tries, used = self.pid.append, self.tries.append, self.used.append
        if len(kinds) != len(times) or len(kinds) != len(fields):
            raise ValueError("kinds, times and fields differ in length")
        for src in range(len(kinds)) if only is None else only:
            kind, time, f = kinds[src], times[src], fields[src]
            if kind == spawned:
                if not f[0]:
                    continue
                name, pid = f[1], f[2]
                p = get(name) or self._get(name)
                add_src(src), add_name(name), add_pid(pid), add_tries(p.backoff)
                add_code(p.state | STARTING << 3 | MSG << 6)
                p.state, p.pid, p.t_spawn, p.fresh = STARTING, pid, time, False
            elif kind == success:
                if not f[0]:
                    continue
                p = get(f[1]) or self._get(f[1])
                p.startsecs = f[2]
                if p.state == RUNNING:
                    continue
                add_src(src), add_name(f[1]), add_pid(p.pid), add_tries(-1)
                add_code(STARTING | RUNNING << 3 | MSG << 6)
                p.state, p.backoff = RUNNING, 0
            elif kind == exited:
                if not f[0]:
                    continue
                p = get(f[1]) or self._get(f[1])
                statuses[src] = es = f[2]
                signals[src] = f[3]
                expectations[src] = expected = f[4]
                if p.state == RUNNING or (p.state == STARTING and expected):
                    if p.state == STARTING:  # T8: RUNNING inside the exit, no own line
                        self._emit(src, f[1], STARTING, RUNNING, 0, p.pid)
                    add_src(src), add_name(f[1]), add_pid(p.pid), add_tries(-1)
                    add_code(RUNNING | EXITED << 3 | (MSG | ES | SIG | EXP) << 6)
                    p.state, p.backoff, p.pid, p.t_exit = EXITED, 0, -1, time
                else:
                    self._exit(src, time, f[1], p, es, expected)
            elif not handlers[kind](src, time, f):
                continue
            used(src)

    def transitions(self) -> Transitions:
        """The rows so far, in the order they were made."""
        src = np.frombuffer(self.src, dtype=np.int64)
        signal = np.empty(len(src), dtype=object)
        signal[:] = [self.signal[i] for i in src.tolist()]
        return Transitions(
            src,
            np.array(self.name, dtype=object),
            np.frombuffer(self.code, dtype=np.int64),
            np.frombuffer(self.pid, dtype=np.int64),
            np.frombuffer(self.tries, dtype=np.int64),
            np.frombuffer(self.exitstatus, dtype=np.int64)[src],
            signal,
            np.frombuffer(self.expected, dtype=np.int8)[src].astype(bool),
        )

    def _inline(self, src: int, time: float, f: Fields) -> bool:
        raise AssertionError("handled in run()")  # pragma: no cover

    def _emit(self, src: int, name: str, from_: int, to: int, flags: int, pid: int = -1,
              tries: int = -1) -> None:  # fmt: skip
        self.src.append(src)
        self.name.append(name)
        self.code.append(from_ | to << 3 | flags << 6)
        self.pid.append(pid)
        self.tries.append(tries)

    def _get(self, name: str) -> Process:
        p = self.processes.get(name)
        if p is None:
            p = self.processes[name] = Process()
        return p

    # ------------------------------------------------------------------ starting

    def _spawnerr(self, src: int, time: float, f: Fields) -> bool:
        if not f[0]:
            return False
        named = NAMED_SPAWNERR.fullmatch(f[1])
        if named:
            name: str | None = named[1]
        elif self.shutting_down:  # no spawns any more
            name = None
        else:
            busy = names_acting_soon(self._kinds, self._times, self._fields, src, time)
            name = plausible_owner(self.processes, time, f[1], busy)
        if name is None:
            self.pending.append(SpawnErr(src, time, f[1]))
            return False
        self._spawn_error(src, time, name, f[1])
        return True

    def _spawn_error(self, src: int, time: float, name: str, text: str) -> None:
        p = self._get(name)
        self._emit(src, name, p.state, STARTING, 0, tries=p.backoff)
        p.backoff += 1
        self._emit(src, name, STARTING, BACKOFF, MSG, tries=p.backoff)
        p.state, p.pid, p.t_spawn, p.t_backoff = BACKOFF, -1, time, time
        p.spawnerr, p.fresh = text, False

    # ------------------------------------------------------------------ exits

    def _exit(self, src: int, time: float, name: str, p: Process, es: int, expected: bool) -> None:
        """An exit line in a state other than RUNNING: T7 (BACKOFF) or T8, or a resync."""
        pid, state = p.pid, p.state
        p.pid, p.t_exit = -1, time
        if state not in (UNKNOWN, STARTING):
            state = STARTING if not expected and es in self.exitcodes else RUNNING
        if state == STARTING and not expected and self._too_quickly(name, p, time, es):
            p.backoff += 1  # T7: died before startsecs, whatever the code
            p.state, p.t_backoff = BACKOFF, time
            self._emit(src, name, state, BACKOFF, MSG | ES | SIG | EXP, pid, p.backoff)
            return
        if state == STARTING:  # T8: RUNNING inside the exit processing, no own line
            self._emit(src, name, state, RUNNING, 0, pid)
            state = RUNNING
        p.state, p.backoff = EXITED, 0
        self._emit(src, name, state, EXITED, MSG | ES | SIG | EXP, pid)

    def _too_quickly(self, name: str, p: Process, time: float, es: int) -> bool:
        if es in self.exitcodes:  # a T8/T9 exit with an expected code says "expected"
            return True
        startsecs = self.startsecs_by_program.get(name, p.startsecs)
        if startsecs is None:
            startsecs = self.startsecs
        if startsecs <= 0 or p.t_spawn is None:
            return False
        return time - p.t_spawn < startsecs

    def _gave_up(self, src: int, time: float, f: Fields) -> bool:
        if not f[0]:
            return False
        p = self._get(f[1])
        if p.state == FATAL:  # already given up at the exit request
            return False
        if p.state == STOPPED and p.fresh:  # never ran: its spawn errors had no name
            for entry in crash_loop(self.pending, self.run_start, time):
                entry.claimed = True
                self._spawn_error(entry.src, entry.time, f[1], entry.text)
                self.used.append(entry.src)
        p.state, p.backoff = FATAL, 0
        self._emit(src, f[1], BACKOFF, FATAL, MSG)
        return True

    # ------------------------------------------------------------------ stopping

    def _killing(self, src: int, time: float, f: Fields) -> bool:
        if f[4]:  # "killing 'x' (N) with SIGKILL" (WARN): STOPPING if not seen yet
            return self._infer_stopping(src, f[5])
        if not f[0]:
            return False
        p = self._get(f[1])
        if p.state == STOPPING:  # SIGKILL escalation (T12): no transition
            return False
        origin = p.state if p.state in (RUNNING, STARTING) else RUNNING
        p.state, p.pid, self.signal[src] = STOPPING, f[2], f[3]
        self._emit(src, f[1], origin, STOPPING, MSG | SIG, p.pid)
        return True

    def _waiting(self, src: int, time: float, f: Fields) -> bool:
        return f[0] and self._infer_stopping(src, f[1])

    def _infer_stopping(self, src: int, name: str) -> bool:
        """STOPPING seen only indirectly (no DEBG ``killing`` line): at the first sign."""
        p = self.processes.get(name)
        if p is None or p.state not in (RUNNING, STARTING):
            return False
        self._emit(src, name, p.state, STOPPING, MSG, p.pid)
        p.state = STOPPING
        return True

    def _stopped(self, src: int, time: float, f: Fields) -> bool:
        if not f[0]:
            return False
        p = self._get(f[1])
        self.exitstatus[src], self.signal[src] = f[2], f[3]
        if p.state in (RUNNING, STARTING):  # no killing line (loglevel info)
            self._emit(src, f[1], p.state, STOPPING, 0, p.pid)
        self._emit(src, f[1], STOPPING, STOPPED, MSG | ES | SIG, p.pid)
        p.state, p.pid = STOPPED, -1
        return True

    def _kill_backoff(self, src: int, time: float, f: Fields) -> bool:
        if not f[0]:
            return False
        self._get(f[1]).state = STOPPED  # T14: the counter is kept
        self._emit(src, f[1], BACKOFF, STOPPED, MSG, 0)
        return True

    def _unknown(self, src: int, time: float, f: Fields) -> bool:
        if not f[0]:
            return False
        p = self._get(f[1])
        origin = p.state if p.state in (RUNNING, STARTING, STOPPING) else RUNNING
        p.state = UNKNOWN
        self._emit(src, f[1], origin, UNKNOWN, MSG)
        return True

    # ------------------------------------------------------------------ the daemon

    def _received(self, src: int, time: float, f: Fields) -> bool:
        if not f[0]:
            return False
        self.shutting_down = True  # stop_all(): BACKOFF -> FATAL without a line (T10b)
        for name, p in sorted(self.processes.items()):
            if p.state == BACKOFF:
                p.state, p.backoff = FATAL, 0
                self._emit(src, name, BACKOFF, FATAL, 0)
        return True

    def _started(self, src: int, time: float, f: Fields) -> bool:
        if not f[0]:
            return False
        # a new daemon (or a restart after SIGHUP): fresh process objects, all STOPPED
        for name, p in self.processes.items():
            self.processes[name] = Process(spawnerr=p.spawnerr)
        self.shutting_down, self.run_start = False, src
        return True
