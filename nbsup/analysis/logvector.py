"""The log replay of :mod:`.logreplay`, column-wise for the processes that allow it.

Each process's messages are a sequence of state changes; most kinds set the state
whatever it was (``spawned`` -> STARTING, ``success`` -> RUNNING, ``stopped`` -> STOPPED),
the others map each state to one (an exit to EXITED or BACKOFF, a stop hint from RUNNING
or STARTING to STOPPING). Per process and daemon run, the states are then a scan of
8-state maps (composed by doubling over the runs between constant ones), and everything
else (pid, the failure counter, spawn and exit times) forward fills or cumulative sums
over the same order. Rows are built kind by kind with numpy.

The processes do not depend on each other except where supervisord's log leaves it open:
a ``spawnerr:`` without a name goes to a process plausibly being spawned, and a ``gave
up`` of a process that never ran claims such errors. A process that could be the one
(BACKOFF and due, or EXITED shortly before) at any unnamed spawn error, or that gives up
without having run, is left to the per-message replay, with the messages that concern
all processes. Being conservative there only costs speed: the rows are the same.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .logcolumns import GLOBAL_OPS, OPS, BoolArray, MessageColumns, ObjArray
from .logreplay import ES, EXP, MSG, SIG, Transitions
from .logscan import FloatArray, IntArray
from .logstate import BACKOFF, EPS, EXITED, FATAL, LATE, RUNNING, STARTING, STOPPED, STOPPING
from .logstate import UNKNOWN as UNKNOWN_STATE

(SPAWNED, SUCCESS, EXIT, SPAWNERR, GAVE_UP, KILLING, INFER, STOP, KILL_BACKOFF, UNKNOWN,
 UNNAMED, RECEIVED, STARTED) = range(len(OPS))  # fmt: skip
#: State every op but EXIT and INFER leaves, whatever the state before.
_CONSTANT = {
    SPAWNED: STARTING, SUCCESS: RUNNING, SPAWNERR: BACKOFF, GAVE_UP: FATAL, KILLING: STOPPING,
    STOP: STOPPED, KILL_BACKOFF: STOPPED, UNKNOWN: UNKNOWN_STATE,
}  # fmt: skip
_PAIRS_MAX = 2_000_000  # (unnamed spawn error, process state) pairs checked at most
_MARGIN = 1e-6  # widens the "could be its spawn error" tests: float rounding never decides


@dataclass
class Split:
    """The rows of the processes replayed here, and which acting messages are not.

    Attributes
    ----------
    rows
        Transitions of the processes replayed column-wise (not in row order).
    sub
        Per row: its order among the rows of its message.
    used
        Messages of those processes that gave a transition.
    rest
        Per acting message (``MessageColumns.act``): whether the per-message replay reads it.
    """

    rows: Transitions
    sub: IntArray
    used: IntArray
    rest: BoolArray


def split_replay(
    cols: MessageColumns, startsecs: float, by_program: Mapping[str, float], exitcodes: IntArray
) -> Split:
    """Replay column-wise the processes that allow it (see the module docstring).

    Parameters
    ----------
    cols
        The log's messages.
    startsecs, by_program
        As ``LogReplay.startsecs`` and ``startsecs_by_program``; the values of
        ``by_program`` must be floats or ints a float holds exactly.
    exitcodes
        The expected exit codes (those that fit an int64: no exit status is larger).

    Returns
    -------
    Split
        The rows made here, and the messages left to :class:`.logreplay.LogReplay`.
    """
    op_all = cols.op
    local = np.flatnonzero(op_all < GLOBAL_OPS)
    codes, names = pd.factorize(cols.name[local])
    src_local = cols.act[local]
    started = cols.act[op_all == STARTED]
    seg_local = np.searchsorted(started, src_local)
    order = np.lexsort((src_local, seg_local, codes))
    s = _Sequences(cols, local[order], codes[order], seg_local[order], started)
    s.states(startsecs, by_program, names, exitcodes)
    complex_ = s.entangled(len(names), cols.act[op_all == UNNAMED], cols.times)
    rest = op_all >= GLOBAL_OPS
    rest[local[complex_[codes]]] = True
    rows, sub, used = s.rows(~complex_[s.proc], names)
    return Split(rows, sub, used, rest)


class _Sequences:
    """The acting messages about one process, sorted by process, daemon run and time."""

    def __init__(
        self, cols: MessageColumns, at: IntArray, proc: IntArray, seg: IntArray, started: IntArray
    ) -> None:
        n = len(at)
        self.n, self.proc = n, proc
        self.src = cols.act[at]
        self.op, self.num, self.exp = cols.op[at], cols.num[at], cols.exp[at]
        self.sig, self.learned = cols.sig[at], cols.startsecs[at]
        self.t = cols.times[self.src]
        first = np.ones(n, dtype=bool)
        first[1:] = (proc[1:] != proc[:-1]) | (seg[1:] != seg[:-1])
        last = np.ones(n, dtype=bool)
        last[:-1] = first[1:]
        self.first, self.last = first, last
        # the end of each message's daemon run: the next "started" line, or the log's end
        self.run_end = np.append(started, len(cols.kinds))[seg]
        received = cols.act[cols.op == RECEIVED]
        self.received = received
        self.n_received = np.searchsorted(received, self.src)  # received before each
        self.after_received = np.zeros(n, dtype=bool)  # a received since the previous one
        self.after_received[1:] = ~first[1:] & (self.n_received[1:] > self.n_received[:-1])

    def ffill(self, values: np.ndarray, mask: BoolArray, default: object) -> np.ndarray:
        """Per message: ``values`` at the last message up to it (this run) where ``mask``."""
        pos = np.where(mask | self.first, np.arange(self.n), 0)
        np.maximum.accumulate(pos, out=pos)
        out = values[pos]
        out[~mask[pos]] = default
        return out

    def previous(self, values: np.ndarray, default: object) -> np.ndarray:
        """Per message: ``values`` of the message before it in its run, else ``default``."""
        out = np.empty_like(values)
        out[1:] = values[:-1]
        out[self.first] = default
        return out

    # ------------------------------------------------------------------ states

    def states(
        self, startsecs: float, by_program: Mapping[str, float], names: ObjArray,
        exitcodes: IntArray,
    ) -> None:  # fmt: skip
        """The states before (``b``) and after each message, the failure counter before
        and after, the pid before, and the spawn, BACKOFF and exit times."""
        op, t = self.op, self.t
        spawn = (op == SPAWNED) | (op == SPAWNERR)
        t_spawn = self.ffill(t, spawn, np.nan)
        learned = self.ffill(self.learned, op == SUCCESS, np.nan)
        given = np.array([name in by_program for name in names.tolist()], dtype=bool)
        value = np.array([float(by_program.get(name, 0.0)) for name in names.tolist()])
        limit = np.where(np.isnan(learned), startsecs, learned)
        limit = np.where(given[self.proc], value[self.proc], limit)
        self.coded = np.isin(self.num, exitcodes)
        with np.errstate(invalid="ignore"):
            quick = self.coded | ((limit > 0) & ~np.isnan(t_spawn) & (t - t_spawn < limit))
        after = self._scan(quick)
        before = self.previous(after, STOPPED)
        self.fell = self.after_received & (before == BACKOFF)  # FATAL at the exit request
        self.after = after
        self.b = np.where(self.fell, FATAL, before)
        # the failure counter: + at a BACKOFF; 0 at RUNNING, EXITED, FATAL, a new daemon
        ex = op == EXIT
        inc = ((ex & (after == BACKOFF)) | (op == SPAWNERR)).astype(np.int64)
        reset = (op == SUCCESS) | (ex & (after == EXITED)) | (op == GAVE_UP)
        total = np.cumsum(inc)
        bases = np.empty(2 * self.n, dtype=np.int64)
        bases[0::2] = np.where(self.fell | self.first, total - inc, -1)
        bases[1::2] = np.where(reset, total, -1)
        np.maximum.accumulate(bases, out=bases)
        self.tries_before = total - inc - bases[0::2]
        self.tries_after = total - bases[1::2]
        pid_set = (op == SPAWNED) | ((op == KILLING) & (self.b != STOPPING))
        pid_cleared = ex | (op == SPAWNERR) | (op == STOP)
        pids = np.where(pid_set, self.num, -1)
        self.pid = self.previous(self.ffill(pids, pid_set | pid_cleared, -1), -1)
        self.fresh = self.previous(~self.ffill(spawn, spawn, False), True)
        enter_backoff = (ex & (after == BACKOFF)) | (op == SPAWNERR)
        self.t_backoff = self.ffill(t, enter_backoff, 0.0)
        self.t_exit = self.ffill(t, ex, 0.0)

    def _scan(self, quick: BoolArray) -> IntArray:
        """The state after each message: constants, and map compositions in between."""
        op = self.op
        const = np.full(self.n, -1, dtype=np.int64)
        for code, state in _CONSTANT.items():
            const[op == code] = state
        nc = np.flatnonzero(const < 0)
        tables = np.tile(np.arange(8, dtype=np.int64), (len(nc), 1))
        ex = op[nc] == EXIT
        exp, coded, fast = self.exp[nc], self.coded[nc], quick[nc]
        out_starting = np.where(exp | ~fast, EXITED, BACKOFF)
        out_other = np.where(~exp & coded, BACKOFF, EXITED)
        tables[ex] = out_other[ex, None]
        tables[ex, RUNNING] = EXITED
        tables[ex, STARTING] = out_starting[ex]
        tables[ex, UNKNOWN_STATE] = EXITED
        tables[~ex, RUNNING] = STOPPING  # INFER: a stop hint
        tables[~ex, STARTING] = STOPPING
        fell = self.after_received[nc]  # BACKOFF -> FATAL just before the message
        tables[fell, BACKOFF] = tables[fell, FATAL]
        # prefix compositions within runs of such messages (Hillis-Steele doubling)
        head = self.first[nc] | (const[np.maximum(nc - 1, 0)] >= 0)
        start = np.maximum.accumulate(np.where(head, np.arange(len(nc)), 0))
        step = 1
        while True:
            at = np.flatnonzero(np.arange(len(nc)) - step >= start)
            if not len(at):
                break
            tables[at] = np.take_along_axis(tables[at], tables[at - step], axis=1)
            step *= 2
        run_head = nc[start]
        entry = np.where(self.first[run_head], STOPPED, const[np.maximum(run_head - 1, 0)])
        after = const.copy()
        after[nc] = tables[np.arange(len(nc)), entry]
        return after

    # ------------------------------------------------------------------ processes

    def entangled(self, n_procs: int, unnamed: IntArray, times: FloatArray) -> BoolArray:
        """Per process: whether its rows may depend on other processes (module docstring)."""
        out = np.zeros(n_procs, dtype=bool)
        crash = (self.op == GAVE_UP) & (self.b == STOPPED) & self.fresh
        out[self.proc[crash]] = True
        k = np.flatnonzero((self.after == BACKOFF) | (self.after == EXITED))
        if not len(unnamed) or not len(k):
            return out
        end = np.where(self.last, self.run_end, np.append(self.src[1:], 0))[k]
        lo = np.searchsorted(unnamed, self.src[k], side="right")
        counts = np.searchsorted(unnamed, end) - lo
        if counts.sum() > _PAIRS_MAX:
            out[:] = True
            return out
        k = np.repeat(k, counts)
        offsets = np.arange(len(k)) - np.repeat(np.cumsum(counts) - counts, counts)
        when = times[unnamed[np.repeat(lo, counts) + offsets]]
        due = self.t_backoff[k] + self.tries_after[k] - EPS - _MARGIN
        possible = np.where(
            self.after[k] == BACKOFF, when >= due, when - self.t_exit[k] <= LATE + _MARGIN
        )
        out[self.proc[k[possible]]] = True
        return out

    # ------------------------------------------------------------------ rows

    def rows(self, keep: BoolArray, names: ObjArray) -> tuple[Transitions, IntArray, IntArray]:
        """The transitions of the messages where ``keep``, their sub-order and used messages."""
        op, b, after = self.op, self.b, self.after
        running = (b == RUNNING) | (b == STARTING)
        ex = op == EXIT
        two = ex & (after == EXITED) & (b == STARTING)
        exit_from = np.where(b == UNKNOWN_STATE, UNKNOWN_STATE, RUNNING)
        exit_from[after == BACKOFF] = STARTING
        built = _Rows(self, keep, names)
        # (mask, sub, from, to, flags, pid, tries); pid/tries: None = none, "pid" = the pid
        built.add(op == SPAWNED, 0, b, STARTING, MSG, self.num, self.tries_before)
        built.add((op == SUCCESS) & (b != RUNNING), 0, STARTING, RUNNING, MSG, "pid", None)
        built.add(two, 0, STARTING, RUNNING, 0, "pid", None, used=False)
        exit_tries = np.where(after == BACKOFF, self.tries_after, -1)
        built.add(ex, two.astype(np.int64), exit_from, after, MSG | ES | SIG | EXP, "pid",
                  exit_tries)  # fmt: skip
        spawnerr = op == SPAWNERR
        built.add(spawnerr, 0, b, STARTING, 0, None, self.tries_before, used=False)
        built.add(spawnerr, 1, STARTING, BACKOFF, MSG, None, self.tries_after)
        built.add((op == GAVE_UP) & (b != FATAL), 0, BACKOFF, FATAL, MSG, None, None)
        origin = np.where(running, b, RUNNING)
        built.add((op == KILLING) & (b != STOPPING), 0, origin, STOPPING, MSG | SIG, self.num, None)
        built.add((op == INFER) & running, 0, b, STOPPING, MSG, "pid", None)
        stop = op == STOP
        built.add(stop & running, 0, b, STOPPING, 0, "pid", None, used=False)
        built.add(stop, running.astype(np.int64), STOPPING, STOPPED, MSG | ES | SIG, "pid", None)
        built.add(op == KILL_BACKOFF, 0, BACKOFF, STOPPED, MSG, np.zeros(self.n, np.int64), None)
        origin = np.where(running | (b == STOPPING), b, RUNNING)
        built.add(op == UNKNOWN, 0, origin, UNKNOWN_STATE, MSG, None, None)
        if len(self.received):  # BACKOFF -> FATAL at an exit request: before a message...
            top = len(self.received) - 1
            at = self.received[np.minimum(self.previous(self.n_received, 0), top)]
            built.add(self.fell, 0, BACKOFF, FATAL, 0, None, None, src=at, used=False)
            later = np.searchsorted(self.received, self.run_end) > self.n_received
            at = self.received[np.minimum(self.n_received, top)]  # ... or after the last one
            pending = self.last & (after == BACKOFF) & later
            built.add(pending, 0, BACKOFF, FATAL, 0, None, None, src=at, used=False)
        return built.finish()


class _Rows:
    """Row columns collected kind by kind."""

    def __init__(self, seq: _Sequences, keep: BoolArray, names: ObjArray) -> None:
        self.seq, self.keep, self.names = seq, keep, names
        self.parts: list[tuple[np.ndarray, ...]] = []
        self.used: list[IntArray] = []

    def add(self, mask: BoolArray, sub: object, from_: object, to: object, flags: int,
            pid: object, tries: object, src: IntArray | None = None, used: bool = True,
            ) -> None:  # fmt: skip
        seq = self.seq
        at = np.flatnonzero(mask & self.keep)
        if not len(at):
            return
        if pid is None:
            pid = np.full(seq.n, -1, dtype=np.int64)
        elif isinstance(pid, str):
            pid = seq.pid
        if tries is None:
            tries = np.full(seq.n, -1, dtype=np.int64)
        code = _pick(from_, at) | _pick(to, at) << 3 | flags << 6
        rows_src = (seq.src if src is None else src)[at]
        self.parts.append((rows_src, _pick(sub, at), seq.proc[at], code, _pick(pid, at),
                           _pick(tries, at), at))  # fmt: skip
        if used:
            self.used.append(seq.src[at])

    def finish(self) -> tuple[Transitions, IntArray, IntArray]:
        seq = self.seq
        empty = (np.zeros(0, dtype=np.int64),)
        columns = zip(*self.parts, strict=True) if self.parts else [empty] * 7
        src, sub, proc, code, pid, tries, at = (np.concatenate(c) for c in columns)
        flags = code >> 6
        rows = Transitions(
            src, self.names[proc], code, pid, tries,
            np.where(flags & ES, seq.num[at], 0), seq.sig[at],
            np.where(flags & EXP, seq.exp[at], False),
        )  # fmt: skip
        used = np.concatenate(self.used) if self.used else np.zeros(0, dtype=np.int64)
        return rows, sub, used


def _pick(value: object, at: IntArray) -> IntArray:
    if isinstance(value, np.ndarray):
        return value[at].astype(np.int64)
    return np.full(len(at), value, dtype=np.int64)
