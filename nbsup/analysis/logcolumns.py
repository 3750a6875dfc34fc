"""The messages of a scanned supervisord.log, column by column, for the vectorised replay.

:class:`MessageColumns` holds every message line the replay may read (the reference
replay's message indices, so both replays number messages alike), and, for the ones that
act (their regex matched), one column per field: the operation (:data:`OPS`), the name of
the process, a number (pid or exit status), signal, "expected" and the ``startsecs`` a
``success:`` line states. The per-message tuples of :func:`.logpatterns.parse` stay
available for the per-message replay.

Each distinct line is decoded (UTF-8, errors replaced) and parsed once. Lines that cannot
match their kind's regex, as told by their last bytes (the many ``received SIGCHLD
indicating a child quit`` of a DEBG log), are neither sliced nor parsed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from .logpatterns import NAMED_SPAWNERR, Fields, parse
from .logscan import KINDS, PREFIX_LEN, FloatArray, IntArray, ScannedLog

ObjArray = npt.NDArray[np.object_]
BoolArray = npt.NDArray[np.bool_]

#: Operations of the messages that act; the last three concern every process.
OPS: tuple[str, ...] = (
    "spawned", "success", "exited", "spawnerr", "gave_up", "killing", "infer_stopping",
    "stopped", "kill_backoff", "unknown", "unnamed_spawnerr", "received", "started",
)  # fmt: skip
GLOBAL_OPS = 10  # ops from here on are not about one named process
#: Per kind: bytes a matching line must end with (the regexes are anchored at the end).
_SUFFIXES = {"received": b" request", "waiting": b" to stop"}
_NO_MATCH: Fields = (False,)


@dataclass
class MessageColumns:
    """The message lines of a log (see the module docstring).

    Attributes
    ----------
    lines, times, kinds
        Per message: its physical line, epoch seconds and index into :data:`KINDS`.
    fields
        Per message: its :func:`.logpatterns.parse` tuple (``(False,)`` if it cannot match).
    act
        Indices of the messages that act, in order; the columns below are aligned with it.
    op
        Index into :data:`OPS`.
    name
        The process named (None for the ops from :data:`GLOBAL_OPS` on).
    num
        The pid of ``spawned`` and ``killing``, the exit status of ``exited`` and ``stopped``.
    sig, exp, startsecs
        The signal of ``exited``, ``stopped`` and ``killing``; "expected" of ``exited``; the
        ``startsecs`` of ``success``.
    """

    scanned: ScannedLog
    lines: IntArray
    times: FloatArray
    kinds: IntArray
    fields: list[Fields]
    act: IntArray
    op: IntArray
    name: ObjArray
    num: IntArray
    sig: ObjArray
    exp: BoolArray
    startsecs: FloatArray
    _firsts: ObjArray

    @classmethod
    def read(cls, scanned: ScannedLog) -> MessageColumns:
        """Slice and parse the message lines of ``scanned``."""
        relevant = np.flatnonzero((scanned.kind >= 0) & ~np.isnan(scanned.epoch))
        lines = scanned.prefixed[relevant]
        kinds = scanned.kind[relevant]
        n = len(lines)
        starts, ends = scanned.starts[lines] + PREFIX_LEN, scanned.ends[lines]
        hopeless = np.zeros(n, dtype=bool)
        for kind, suffix in _SUFFIXES.items():
            where = np.flatnonzero(kinds == KINDS.index(kind))
            hopeless[where] = ~_ends_with(scanned.data, ends[where], suffix)
        # the hopeful messages grouped by kind, each kind's in log order
        order = np.flatnonzero(~hopeless)
        order = order[np.argsort(kinds[order], kind="stable")]
        data = scanned.data
        raw = [data[b:e] for b, e in zip(starts[order].tolist(), ends[order].tolist(), strict=True)]
        bounds = np.searchsorted(kinds[order], np.arange(len(KINDS) + 1)).tolist()
        flat: list[Fields] = [_NO_MATCH]
        index = np.zeros(n, dtype=np.int64)
        firsts = np.full(n, "", dtype=object)
        columns = _Columns(n)
        for code, kind in enumerate(KINDS):
            a, b = bounds[code], bounds[code + 1]
            if a == b:
                continue
            # each distinct line decoded and parsed once (crash loops repeat their lines)
            distinct = {line: i for i, line in enumerate(dict.fromkeys(raw[a:b]))}
            inverse = np.array(list(map(distinct.__getitem__, raw[a:b])), dtype=np.int64)
            texts = [line.decode("utf-8", "replace") for line in distinct]
            fields = parse(kind, texts)
            where = order[a:b]
            index[where] = inverse + len(flat)
            firsts[where] = np.array(texts, dtype=object)[inverse]
            flat += fields
            columns.fill(kind, where, fields, inverse)
        act = np.flatnonzero(columns.op >= 0)
        fields = list(map(flat.__getitem__, index.tolist()))
        return cls(
            scanned, lines, scanned.epoch[relevant], kinds, fields, act, columns.op[act],
            columns.name[act], columns.num[act], columns.sig[act], columns.exp[act],
            columns.startsecs[act], firsts,
        )  # fmt: skip

    def messages(self, src: IntArray) -> ObjArray:
        """The text of messages ``src`` with their continuation lines (each one parsed)."""
        scanned = self.scanned
        out = self._firsts[src]
        lines = self.lines[src]
        following = np.append(scanned.prefixed[1:], scanned.n_lines)
        nxt = following[np.searchsorted(scanned.prefixed, lines)]
        ends = scanned.ends[lines]
        last_ends = scanned.ends[nxt - 1]
        for i in np.flatnonzero(last_ends != ends).tolist():
            begin = int(scanned.starts[lines[i]]) + PREFIX_LEN
            raw = scanned.data[begin : int(last_ends[i])]
            out[i] = raw.decode("utf-8", "replace")
        return out


class _Columns:
    """The columns of the acting messages, filled kind by kind (index: message)."""

    def __init__(self, n: int) -> None:
        self.op = np.full(n, -1, dtype=np.int64)
        self.name = np.full(n, None, dtype=object)
        self.num = np.zeros(n, dtype=np.int64)
        self.sig = np.full(n, None, dtype=object)
        self.exp = np.zeros(n, dtype=bool)
        self.startsecs = np.zeros(n, dtype=np.float64)

    def fill(self, kind: str, where: IntArray, distinct: list[Fields], inverse: IntArray) -> None:
        """Set the columns of messages ``where``: fields ``distinct[inverse]``."""
        transposed = list(zip(*distinct, strict=True))

        def column(i: int, dtype: Any) -> Any:
            return np.array(transposed[i], dtype=dtype)[inverse]

        matched = column(0, bool)
        if kind == "killing":  # "killing x (pid N) with signal S" | the SIGKILL warning
            self._set(where, matched, "killing", column(1, object))
            self.num[where[matched]] = column(2, np.int64)[matched]
            self.sig[where[matched]] = column(3, object)[matched]
            self._set(where, column(4, bool), "infer_stopping", column(5, object))
            return
        if kind == "spawnerr":
            named = [m[1] if (m := NAMED_SPAWNERR.fullmatch(t)) else None for t in transposed[1]]
            names = np.array(named, dtype=object)[inverse]
            unnamed = np.array([name is None for name in named], dtype=bool)[inverse]
            self._set(where, matched & ~unnamed, "spawnerr", names)
            self._set(where, matched & unnamed, "unnamed_spawnerr", None)
            return
        named_kind = kind not in ("received", "started")
        op = "infer_stopping" if kind == "waiting" else kind
        self._set(where, matched, op, column(1, object) if named_kind else None)
        chosen = where[matched]
        if kind in ("spawned", "exited", "stopped"):
            self.num[chosen] = column(2, np.int64)[matched]
        if kind in ("exited", "stopped"):
            self.sig[chosen] = column(3, object)[matched]
        if kind == "exited":
            self.exp[chosen] = column(4, bool)[matched]
        if kind == "success":
            self.startsecs[chosen] = column(2, np.float64)[matched]

    def _set(self, where: IntArray, mask: BoolArray, op: str, names: ObjArray | None) -> None:
        chosen = where[mask]
        self.op[chosen] = OPS.index(op)
        if names is not None:
            self.name[chosen] = names[mask]


def _ends_with(data: bytes, ends: IntArray, suffix: bytes) -> BoolArray:
    """Whether each line ending at ``ends`` ends with ``suffix`` (lines are long enough)."""
    if not len(ends):
        return np.zeros(0, dtype=bool)
    array = np.frombuffer(data, dtype=np.uint8)
    window = np.lib.stride_tricks.sliding_window_view(array, len(suffix))
    tails = window[np.maximum(ends - len(suffix), 0)]
    result: BoolArray = (tails == np.frombuffer(suffix, dtype=np.uint8)).all(axis=1)
    return result
