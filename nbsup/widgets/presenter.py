"""The bridge between a program and its views, living on the supervisor's thread.

A :class:`Presenter` listens to every transition record and every output write of one
program, keeps a :class:`~nbsup.widgets.snapshot.CardModel`, and re-renders through a
:class:`~nbsup.widgets.throttle.Throttle` (at most 10 times per second, the latest state
always). While a deadline is pending it re-renders a few times per second so countdowns
move; while RUNNING, once per second for the uptime. It is the only writer of its widget.
"""

from __future__ import annotations

from collections.abc import Callable

from ..core.record import EventRecord
from ..core.states import ProcessState
from ..program import Program
from ..runtime.clock import TimerHandle
from ..simulation.explain import explain_records
from .snapshot import CardModel, CardSnapshot, Countdown
from .throttle import Throttle

#: Seconds between two renders of one view, at least.
INTERVAL = 0.1
#: Widget messages per second for all live views of a supervisor together: well under
#: jupyter_server's 1000/s IOPub limit, leaving room for streams and the kernel's own.
BUDGET = 300.0
#: Bytes per second of widget updates for all live views together. Each update is a
#: whole card (a few KB) that the frontend renders again. The kernel itself no longer needs
#: the limit: since the views' updates give way to its threads (the courtesy runs before
#: every timer), execute p99 with 200 cards and a dashboard is 25 ms at twice this budget,
#: as at this one (before, 1.7 MB/s gave 129 ms and 0.8 MB/s 83 ms).
BYTE_BUDGET = 600_000.0
#: Re-render period while a countdown runs, and while RUNNING (uptime).
COUNTDOWN_TICK = 0.25
UPTIME_TICK = 1.0

S = ProcessState


class Presenter:
    """Renders one program into ``write(html)``; create and close it on the supervisor's
    thread (``supervisor._runner.call``)."""

    def __init__(
        self,
        program: Program,
        render: Callable[[CardSnapshot], str],
        write: Callable[[str], None],
        interval: float = INTERVAL,
    ) -> None:
        self.program = program
        self.render = render
        self.write = write
        self.scheduler = program._supervisor._runner.driver.scheduler
        self.model = CardModel(program.records())
        self.note = ""
        self.views: set[Presenter] = program._supervisor._nbsup_views
        self.views.add(self)
        self.sent_bytes = 0  # the size of this view's last update (all views: their sum)
        self.throttle = Throttle(self.scheduler, lambda: self._interval(interval), self._flush)
        self._ticker: TimerHandle | None = None
        self._channels = list(
            program._supervisor._runner.driver.slots[program.name].channels.values()
        )
        program.add_record_listener(self._on_record)
        program.observe(self._on_log_error, names="log_error")
        for channel in self._channels:
            channel.add_listener(self.throttle.poke)
        self._flush()

    # ------------------------------------------------------------------ events

    def _on_record(self, record: EventRecord) -> None:
        self.model.add(record)
        self.throttle.poke()

    def _on_log_error(self, change: object) -> None:
        self.throttle.poke()

    def set_note(self, note: str) -> None:
        self.note = note
        self.throttle.poke()

    # ------------------------------------------------------------------ rendering

    def snapshot(self) -> CardSnapshot:
        p = self.program
        slot = p._supervisor._runner.driver.slots.get(p.name)
        channels = slot.channels if slot is not None else {}
        return CardSnapshot(
            name=p.name,
            state=p.state,
            pid=p.pid,
            description=p.current_description(),
            tries=p.tries,
            startretries=p.options.startretries,
            countdown=self._countdown(),
            last_exit=self.model.last_exit,
            counts=dict(self.model.counts),
            last_edge=self.model.last_edge,
            timeline=list(self.model.timeline),
            reasons=self.model.fill_reasons(self._explain),
            restarts=self.model.restarts,
            failures=self.model.failures,
            stdout=channels["stdout"].tail(4096) if "stdout" in channels else b"",
            stderr=channels["stderr"].tail(4096) if "stderr" in channels else b"",
            note=self.note,
            log_error=p.log_error,
        )

    def _explain(self, records: list[EventRecord]) -> list[str]:
        return explain_records(records, self.program.options)

    def _countdown(self) -> Countdown | None:
        p = self.program
        remaining = p.deadline_in()
        if remaining is None:
            return None
        remaining = max(0.0, remaining)
        total = p.elapsed_now() + remaining - self.model.entered_elapsed
        o = p.options
        state = p.state
        if state is S.STARTING:
            spent = o.startsecs - remaining
            label = f"starting: up {spent:.1f} s of startsecs={o.startsecs:g}"
        elif state is S.BACKOFF:
            label = (
                f"attempt {p.tries} of {o.startretries + 1} failed; next start in {remaining:.1f} s"
            )
        elif state is S.STOPPING:
            label = f"SIGKILL in {remaining:.1f} s (stopwaitsecs={o.stopwaitsecs:g})"
        elif state is S.EXITED:
            label = f"autorestart in {remaining:.1f} s (restartpause={o.restartpause:g})"
        else:
            return None
        return Countdown(label, remaining, total)

    def _interval(self, interval: float) -> float:
        """Seconds between two updates of this view: its own minimum, stretched so that
        all views together keep within :data:`BUDGET` and :data:`BYTE_BUDGET`."""
        total = self.program._supervisor._nbsup_view_bytes
        return max(interval, len(self.views) / BUDGET, total / BYTE_BUDGET)

    def _resize(self, size: int) -> None:
        """This view's updates are now ``size`` bytes (the supervisor keeps the sum)."""
        self.program._supervisor._nbsup_view_bytes += size - self.sent_bytes
        self.sent_bytes = size

    def _flush(self) -> None:
        snapshot = self.snapshot()
        page = self.render(snapshot)
        self._resize(len(page))
        self.write(page)
        if self._ticker is not None:
            self._ticker.cancel()
            self._ticker = None
        tick = None
        if snapshot.countdown is not None:
            tick = COUNTDOWN_TICK
        elif snapshot.state is S.RUNNING:
            tick = UPTIME_TICK
        if tick is not None and not self.throttle.closed:
            self._ticker = self.scheduler.call_at(self.scheduler.now() + tick, self.throttle.poke)

    # ------------------------------------------------------------------ lifetime

    def close(self) -> None:
        """Stop listening and cancel every timer (idempotent)."""
        self.throttle.close()
        self._resize(0)
        self.views.discard(self)
        if self._ticker is not None:
            self._ticker.cancel()
            self._ticker = None
        self.program.remove_record_listener(self._on_record)
        self.program.unobserve(self._on_log_error, names="log_error")
        for channel in self._channels:
            channel.remove_listener(self.throttle.poke)
