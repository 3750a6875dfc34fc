"""From the machines' notes to records: journalled first, then told to the listener.

Each event's effects include notes: transitions and supervisord.log lines. The
:class:`Recorder` turns a transition into an :class:`~nbsup.core.record.EventRecord`,
appends its line to the journal and only then tells the listener (the traitlets model), so
whoever is told of a transition finds it on disk already.

The listener is told in the order the transitions happened, also when it acts in turn: a
request made by an observer while it is told (a start on RUNNING, say) is told after the
transitions already waiting, never in between.

On the supervisor's loop, the notes of one turn are held and written together, one
``write`` per file, at the end of the turn (:attr:`Recorder.defer`), before a user request
is served and after it (:meth:`Recorder.flush`), or once :data:`HOLD_LIMIT` transitions
wait: 1,000 programs stopped by one request cost 20 writes, not 4,000. Without ``defer``
(simulations), each event's notes are written and told at once.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

from ..core.events import LogLine, Transition
from ..core.options import ProgramOptions
from ..core.record import EventRecord
from .clock import Scheduler
from .journal import Journal, format_log_line, format_record_line

TransitionListener = Callable[[str, EventRecord, Transition], None]
#: Most transitions held before they are written and told even in mid-turn: a loop working
#: through a burst (1,000 exits) keeps the model at most this far behind.
HOLD_LIMIT = 100
#: A machine's note: a transition, or a log line with the monotonic time it was made.
Note = Transition | tuple[float, LogLine]


class Recorder:
    """Records transitions and log lines for a driver.

    Parameters
    ----------
    scheduler
        For ``wall()``: records carry epoch seconds.
    started_at
        Monotonic time the supervisor started (records' ``elapsed`` counts from it).
    journal
        Where records and log lines are written (None: nowhere).
    listener
        Told (program, record, transition) of each transition, after it is written.

    Attributes
    ----------
    defer : callable or None
        Schedules a callback for the end of the loop's current turn (``loop.call_soon``).
    """

    def __init__(
        self,
        scheduler: Scheduler,
        started_at: float,
        journal: Journal | None,
        listener: TransitionListener,
    ) -> None:
        self.scheduler = scheduler
        self.started_at = started_at
        self.journal = journal
        self.listener = listener
        self.defer: Callable[[Callable[[], None]], object] | None = None
        self._waiting: deque[tuple[str, EventRecord, Transition]] | None = None
        self._telling = False

    def write(self, options: ProgramOptions, notes: list[Note]) -> None:
        """Journal one event's notes of program ``options.name``; tell them once written."""
        if not notes:
            return
        journal = self.journal
        waiting = self._waiting
        if waiting is None:
            waiting = self._waiting = deque()
            if self.defer is not None:
                if journal is not None:
                    journal.hold()
                self.defer(self.flush)
        records: list[str] = []
        lines: list[str] = []
        wall = self.scheduler.wall
        name = options.name
        for note in notes:
            if isinstance(note, Transition):
                at = note.at
                record = EventRecord.from_transition(
                    note, name, options.group_name, wall(at), at - self.started_at
                )
                waiting.append((name, record, note))
                if journal is not None:
                    records.append(format_record_line(record))
                    if note.level:
                        lines.append(format_log_line(record.time, note.level, note.message))
            elif journal is not None:
                at, line = note
                lines.append(format_log_line(wall(at), line.level, line.message))
        if journal is not None:
            journal.append(records, lines)
        if self.defer is None or len(waiting) >= HOLD_LIMIT:
            self.flush()

    def flush(self) -> None:
        """Write what is held, then tell the listener of each waiting transition, in order
        (those an observer's request adds meanwhile included, after the others)."""
        waiting = self._waiting
        if waiting is None or self._telling:
            return  # nothing waits, or an outer flush is telling and will tell these too
        journal = self.journal
        self._telling = True
        try:
            while waiting:
                if journal is not None:
                    journal.write_held()  # what an observer's request added: on disk first
                name, record, transition = waiting.popleft()
                self.listener(name, record, transition)
        finally:
            self._telling = False
            self._waiting = None
            if journal is not None:
                journal.release()
