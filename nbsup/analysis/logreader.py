"""Read a real supervisord.log into nbsup's event log schema.

:func:`read_supervisord_log` turns what supervisord wrote (semantics.md §15) into the
transitions supervisord made: a vectorised scan finds the message lines and their times
(:mod:`.logscan`), then a per-process replay of the few message kinds that mark
transitions rebuilds the sequence with ``tries``, ``expected``, pids and exit statuses:
column-wise with numpy (:mod:`.logvector`) for the processes that do not depend on the
others, one message at a time (:mod:`.logreplay`) for the rest. Replaying every message
one at a time (:func:`read_supervisord_log_per_message`) gives the same frame, slower.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from datetime import tzinfo
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd

from ..eventlog import STATE_CATEGORIES, frame_from_columns
from .logcolumns import OPS, MessageColumns, ObjArray
from .logpatterns import Fields, parse
from .logreplay import ES, EXP, MSG, SIG, LogReplay, Transitions
from .logscan import KINDS, PREFIX_LEN, FloatArray, IntArray, ScannedLog, scan
from .logvector import Split, split_replay

__all__ = ["read_supervisord_log", "read_supervisord_log_per_message"]

Source = str | os.PathLike[str] | IO[str] | IO[bytes]

_EXAMPLES = 5
_EXAMPLE_CHARS = 200


def read_supervisord_log(
    path_or_file: Source,
    startsecs: float = 1.0,
    startsecs_by_program: Mapping[str, float] | None = None,
    exitcodes: Iterable[int] = (0,),
    tz: str | tzinfo | None = None,
) -> pd.DataFrame:
    """The transitions recorded in a supervisord.log, as an event log DataFrame.

    Parameters
    ----------
    path_or_file
        A path, or an open file (text or binary) positioned at the log's start.
    startsecs
        The programs' ``startsecs``, used to tell an early death (STARTING -> BACKOFF)
        from an exit after startup (STARTING -> RUNNING -> EXITED) when the log has no
        ``success:`` line to learn it from. ``startsecs_by_program`` overrides it per
        process name.
    startsecs_by_program
        ``startsecs`` per process name (supervisord logs process names, not groups).
    exitcodes
        The expected exit codes (an early exit with one of them is surely a BACKOFF).
    tz
        Zone the log's local times are in: a name such as ``"Europe/Paris"``, a
        ``tzinfo``, or None for this machine's zone. The ``time`` column is UTC.
        Lines with impossible times (or outside 1900-2261) are skipped.

    Returns
    -------
    pandas.DataFrame
        The schema of :mod:`nbsup.eventlog`, rows in log order. ``program`` and ``group``
        are both the process name (supervisord logs ``pool_0``, never ``pool:pool_0``);
        ``elapsed`` counts from the log's first line; ``message`` is the log message with
        its continuation lines, empty for rows that have no line of their own. As in
        nbsup's own event log, ``pid`` is set from the spawn on, ``tries`` on STARTING
        and BACKOFF rows, and an exit's ``exitstatus`` (-1 for a signal), ``signal`` and
        ``expected`` on its EXITED, early-exit BACKOFF (expected False) or STOPPED row;
        STOPPING rows carry the stop signal. ``attrs``: ``lines``; ``skipped_lines``, the
        lines that gave no transition (unparseable, irrelevant, or an unattributable
        spawn error; continuation lines are not counted); ``skipped_examples``, the first
        few as ``(line number, text)``; ``continuation_lines``; ``unattributed_spawnerr``;
        ``source`` (the path, if one was given).

    Raises
    ------
    FileNotFoundError
        If the path does not exist. Nothing in the content raises.

    Notes
    -----
    Inferred, as supervisord would have done it (semantics.md §15.3):

    * an exit during STARTING is STARTING -> BACKOFF if it came less than startsecs
      after the spawn line (exact up to the ms truncation of the log), or if its exit
      code is in ``exitcodes`` yet it was logged "not expected"; otherwise
      STARTING -> RUNNING -> EXITED (the RUNNING row has no line of its own);
    * without DEBG lines (``loglevel=info``), STOPPING is dated at the first sign of the
      stop: ``waiting for x to stop``, the SIGKILL warning, or the ``stopped:`` line;
    * at ``received SIG... indicating exit/restart request``, BACKOFF -> FATAL (no line);
      a ``supervisord started`` line resets every process to a fresh STOPPED;
    * a ``spawnerr:`` line without a name goes to the process plausibly being spawned
      (due for a retry from BACKOFF, or autorestarting from EXITED, and not spawning
      otherwise in the same loop pass); the errors of a process that never ran go to
      the one whose ``gave up`` ends a chain following the retry schedule.

    Not recoverable from a log: BACKOFF -> STOPPED at ``loglevel=info`` (it stays
    BACKOFF and turns FATAL at shutdown), the STOPPING time at INFO when no line hints
    at it, the group of a process, spawn errors of a process that never ran and never
    gave up, and programs that never logged anything.
    """
    return _read(path_or_file, startsecs, startsecs_by_program, exitcodes, tz, vectorised=True)


def read_supervisord_log_per_message(
    path_or_file: Source,
    startsecs: float = 1.0,
    startsecs_by_program: Mapping[str, float] | None = None,
    exitcodes: Iterable[int] = (0,),
    tz: str | tzinfo | None = None,
) -> pd.DataFrame:
    """:func:`read_supervisord_log` replaying every message one at a time.

    The reference the column-wise replay is tested against: the same parameters and
    exactly the same frame, about twice as slow on a large log.
    """
    return _read(path_or_file, startsecs, startsecs_by_program, exitcodes, tz, vectorised=False)


def _read(
    path_or_file: Source,
    startsecs: float,
    startsecs_by_program: Mapping[str, float] | None,
    exitcodes: Iterable[int],
    tz: str | tzinfo | None,
    vectorised: bool,
) -> pd.DataFrame:
    data = _read_bytes(path_or_file)
    scanned = scan(data, tz)
    replay = LogReplay(
        startsecs=float(startsecs),
        startsecs_by_program=dict(startsecs_by_program or {}),
        exitcodes=frozenset(int(code) for code in exitcodes),
    )
    times: FloatArray
    texts: Callable[[IntArray], ObjArray]
    if vectorised and all(map(_exact_float, replay.startsecs_by_program.values())):
        cols = MessageColumns.read(scanned)
        codes = [c for c in replay.exitcodes if -(2**63) <= c < 2**63]
        split = split_replay(
            cols, replay.startsecs, replay.startsecs_by_program, np.array(codes, dtype=np.int64)
        )
        only = cols.act[split.rest].tolist()
        replay.run(cols.kinds.tolist(), cols.times.tolist(), cols.fields, only)
        rows, used = _merge(split, replay, cols.act[cols.op == OPS.index("received")])
        times, lines, texts = cols.times, cols.lines, cols.messages
    else:
        messages = _Messages(scanned)
        replay.run(messages.kinds.tolist(), messages.times.tolist(), messages.fields)
        rows = replay.transitions()
        rows = rows.take(np.argsort(rows.src, kind="stable"))  # rows named after the fact
        used = np.frombuffer(replay.used, dtype=np.int64)
        times, lines, texts = messages.times, messages.lines, messages.messages.__getitem__
    frame = _frame(rows, times, texts, scanned)
    frame.attrs.update(_accounting(scanned, lines[used], replay))
    if isinstance(path_or_file, (str, os.PathLike)):
        frame.attrs["source"] = str(path_or_file)
    return frame


def _exact_float(value: object) -> bool:
    """Whether the column-wise replay compares ``value`` as the per-message one does."""
    return type(value) is float or (type(value) is int and abs(value) <= 2**53)


def _merge(split: Split, replay: LogReplay, received: IntArray) -> tuple[Transitions, IntArray]:
    """The rows of both replays in log order, and the messages they used.

    Rows of one message come from one replay, in the order made, except at an exit
    request (``received``), where every process in BACKOFF turns FATAL in name order.
    """
    theirs = replay.transitions()
    parts = [split.rows, theirs]
    rows = Transitions(*(np.concatenate([getattr(p, f) for p in parts]) for f in _FIELDS))
    sub = np.concatenate([split.sub, np.arange(len(theirs.src))])
    at_request = np.flatnonzero(np.isin(rows.src, received))
    if len(at_request):
        names = rows.name[at_request].tolist()
        rank = {name: i for i, name in enumerate(sorted(set(names)))}
        sub[at_request] = [rank[name] for name in names]
    used = np.concatenate([split.used, np.frombuffer(replay.used, dtype=np.int64)])
    return rows.take(np.lexsort((sub, rows.src))), used


_FIELDS = tuple(Transitions.__dataclass_fields__)


def _read_bytes(path_or_file: Source) -> bytes:
    if isinstance(path_or_file, (str, os.PathLike)):
        return Path(path_or_file).read_bytes()
    content: Any = path_or_file.read()
    if isinstance(content, str):
        try:
            return content.encode("utf-8", "surrogateescape")  # undoes a lenient decode
        except UnicodeEncodeError:
            return content.encode("utf-8", "surrogatepass")
    return bytes(content)


class _Messages:
    """The message lines the replay reads, with their regex fields and exit details."""

    def __init__(self, scanned: ScannedLog) -> None:
        relevant = np.flatnonzero((scanned.kind >= 0) & ~np.isnan(scanned.epoch))
        self.lines = lines = scanned.prefixed[relevant]
        self.times = scanned.epoch[relevant]
        self.kinds = kinds = scanned.kind[relevant]
        following = np.append(scanned.prefixed[1:], scanned.n_lines)[relevant]
        begins = (scanned.starts[lines] + PREFIX_LEN).tolist()
        ends = scanned.ends[lines].tolist()
        last_ends = scanned.ends[following - 1]  # continuation lines belong to the message
        # latin-1 keeps one character per byte, so byte offsets index the text directly
        text = scanned.data.decode("latin-1")
        firsts = [text[b:e] for b, e in zip(begins, ends, strict=True)]
        if not text.isascii():
            firsts = [t if t.isascii() else _utf8(t) for t in firsts]
        self.texts = np.array(firsts, dtype=object) if firsts else np.zeros(0, dtype=object)
        self.messages = self.texts.copy()
        for i in np.flatnonzero(last_ends != np.asarray(ends, dtype=np.int64)).tolist():
            self.messages[i] = _utf8(text[begins[i] : int(last_ends[i])])
        aligned = np.empty(len(relevant), dtype=object)
        for code in np.unique(kinds).tolist():
            where = np.flatnonzero(kinds == code)
            fields = parse(KINDS[code], self.texts[where].tolist())
            aligned[where] = np.fromiter(fields, dtype=object, count=len(fields))
        self.fields: list[Fields] = aligned.tolist()


def _utf8(latin: str) -> str:
    return latin.encode("latin-1").decode("utf-8", "replace")


def _frame(
    rows: Transitions,
    times: FloatArray,
    texts: Callable[[IntArray], ObjArray],
    scanned: ScannedLog,
) -> pd.DataFrame:
    """The event frame of ``rows`` (in order); ``texts`` gives messages by index."""
    src, code = rows.src, rows.code
    flags = code >> 6
    pid, tries = rows.pid.copy(), rows.tries.copy()
    row_times = times[src]
    signal = rows.signal.copy()
    signal[flags & SIG == 0] = None
    message = np.full(len(src), "", dtype=object)
    with_message = np.flatnonzero(flags & MSG)
    message[with_message] = texts(src[with_message])
    valid = scanned.epoch[~np.isnan(scanned.epoch)]
    origin = float(valid[0]) if len(valid) else 0.0
    names = pd.array(rows.name, dtype="string")
    columns: dict[str, Any] = {
        "time": row_times,
        "elapsed": np.round(row_times - origin, 3),
        "program": names,
        "group": names.copy(),
        "from_state": pd.Categorical.from_codes(code & 7, dtype=STATE_CATEGORIES),
        "to_state": pd.Categorical.from_codes(code >> 3 & 7, dtype=STATE_CATEGORIES),
        "pid": pd.arrays.IntegerArray(pid, pid < 0),
        "tries": pd.arrays.IntegerArray(tries, tries < 0),
        "exitstatus": pd.arrays.IntegerArray(rows.exitstatus.copy(), flags & ES == 0),
        "signal": pd.array(signal, dtype="string"),
        "expected": pd.arrays.BooleanArray(rows.expected.copy(), flags & EXP == 0),
        "message": pd.array(message, dtype="string"),
    }
    frame = frame_from_columns(columns)
    frame["time"] = frame["time"].dt.round("ms")  # the log has whole milliseconds
    return frame


def _accounting(scanned: ScannedLog, used: IntArray, replay: LogReplay) -> dict[str, Any]:
    """How many lines there were, and which ones the replay did not use."""
    n_lines = scanned.n_lines
    leading = int(scanned.prefixed[0]) if len(scanned.prefixed) else n_lines
    skipped = np.zeros(n_lines, dtype=bool)
    skipped[:leading] = True
    skipped[scanned.prefixed] = True
    skipped[used] = False
    examples = [
        (int(i) + 1, scanned.text(int(i))[:_EXAMPLE_CHARS])
        for i in np.flatnonzero(skipped)[:_EXAMPLES]
    ]
    return {
        "lines": n_lines,
        "skipped_lines": int(skipped.sum()),
        "skipped_examples": examples,
        "continuation_lines": n_lines - leading - len(scanned.prefixed),
        "unattributed_spawnerr": sum(not e.claimed for e in replay.pending),
    }
