"""Cards and the dashboard: coalesced updates, the final state always sent, no leaks."""

from __future__ import annotations

import bisect
import collections
import itertools
import math
import threading

import pytest
from recording_comm import updates_of

from nbsup.core.states import ProcessState as S
from nbsup.testing import Life
from nbsup.widgets import Dashboard, ProgramCard, parts
from nbsup.widgets.presenter import BUDGET, BYTE_BUDGET, INTERVAL


def per_second(times: list[float]) -> collections.Counter[int]:
    return collections.Counter(math.floor(t) for t in times)


def test_flood_of_transitions_is_coalesced_and_the_final_state_is_sent(sim, comm_log):
    sup, clock, launcher = sim
    cards = {}
    for i in range(20):
        name = f"flap{i}"
        launcher.script(name, Life(runs=0.001, exit=0))
        program = sup.add_program(name, command="true", startsecs=0, autorestart=True,
                                  restartpause=0.02 + i / 10000)  # fmt: skip
        cards[name] = ProgramCard(program)
    writes: dict[str, list[float]] = collections.defaultdict(list)
    for name, card in cards.items():
        card.html.observe(lambda c, n=name: writes[n].append(clock.now()), "value")
    clock.advance(5.0)
    for name in cards:  # the flood ends: the next start of each program keeps running
        launcher.script(name, Life(runs=None))
    clock.advance(0.1)
    for program in sup:
        program.stop(wait=False)
    clock.advance(0.6)
    transitions = len(sup.events)
    assert transitions > 20 * 5 * 40 * 3  # a real flood: thousands of transitions
    for name, card in cards.items():
        program = sup[name]
        counts = per_second(writes[name])
        assert max(counts.values()) <= math.ceil(1 / INTERVAL) + 1, counts
        # the last write shows the final state, and came within 0.5 s of the last transition
        assert program.state is S.STOPPED
        assert 'data-state="STOPPED"' in card.html.value
        last_transition = float(program.events["elapsed"].iloc[-1])
        assert writes[name][-1] - last_transition <= 0.5
        # counters come from the event log, not from the frames that were sent
        events = program.events
        starts = int((events["to_state"] == "STARTING").sum())
        assert f"restarts {starts - 1}" in card.html.value
    messages = updates_of(comm_log, cards["flap0"].html.comm.comm_id)
    # one comm message per coalesced update (plus the first render, before the observer)
    assert len(messages) == len(writes["flap0"]) + 1


def test_many_views_share_one_message_and_byte_budget(sim, comm_log):
    sup, clock, launcher = sim
    cards = []
    for i in range(60):
        name = f"flap{i}"
        launcher.script(name, Life(runs=0.001, exit=0))
        program = sup.add_program(name, command="true", startsecs=0, autorestart=True,
                                  restartpause=0.05)  # fmt: skip
        cards.append(ProgramCard(program))
    sent: list[tuple[float, int]] = []
    for card in cards:
        card.html.observe(lambda c: sent.append((clock.now(), len(c.new))), "value")
    clock.advance(8.0)
    # jupyter_server averages its limit over 3 s windows: so does this check, once the
    # cards have filled up (they grow as their timelines do; the budget follows)
    sent = sorted(item for item in sent if item[0] >= 2.0)
    times = [t for t, _ in sent]
    sizes = list(itertools.accumulate(size for _, size in sent))
    busiest = busiest_bytes = 0
    for i, t in enumerate(times):
        end = bisect.bisect_left(times, t + 3.0)
        busiest = max(busiest, end - i)
        busiest_bytes = max(busiest_bytes, sizes[end - 1] - (sizes[i - 1] if i else 0))
    assert busiest <= 3 * BUDGET * 1.05, busiest
    # views that started together flush together: a 3 s window may hold two rounds, but
    # stays under jupyter_server's iopub_data_rate_limit (1 MB/s over 3 s)...
    assert busiest_bytes <= 3 * 1_000_000, busiest_bytes
    # ...and on average the byte budget holds, and is what limits these updates
    rate = sizes[-1] / (clock.now() - 2.0)
    assert 0.6 * BYTE_BUDGET < rate <= BYTE_BUDGET * 1.25, rate


def test_countdown_moves_while_in_backoff(sim, comm_log):
    sup, clock, launcher = sim
    launcher.script("x", Life(runs=0.1, exit=1))
    card = ProgramCard(sup.add_program("x", command="false", startretries=5))
    clock.advance(0.15)  # BACKOFF(1) at 0.1, next start at 1.1
    assert "attempt 1 of 6 failed; next start in 1.0 s" in card.html.value
    assert "width:0.0%" in card.html.value
    clock.advance(0.45)  # re-rendered every 0.25 s while the countdown runs: 0.35, 0.6
    assert "attempt 1 of 6 failed; next start in 0.5 s" in card.html.value
    assert "width:50.0%" in card.html.value


def test_closing_a_card_removes_every_listener_and_timer(sim, comm_log):
    sup, clock, launcher = sim
    launcher.script("x", Life(runs=0.1, exit=1))
    program = sup.add_program("x", command="false")
    first = ProgramCard(program)
    second = ProgramCard(program)  # a re-run cell: the old card is closed
    assert first.presenter is None and program._nbsup_card is second
    assert len(program._record_listeners) == 1
    channels = sup._runner.driver.slots["x"].channels.values()
    assert all(len(c._listeners) == 1 for c in channels)
    second.close()
    assert program._record_listeners == []
    assert all(c._listeners == [] for c in channels)
    pending = [t for t in clock._timers if not t.cancelled]
    names = {getattr(t.callback, "__qualname__", "") for t in pending}
    assert not any("Throttle" in n or "Presenter" in n for n in names), names
    sent = len(comm_log)
    clock.advance(10)
    assert len(comm_log) == sent  # nothing more is sent for a closed card


def test_buttons_hand_requests_to_the_supervisor(sim, comm_log):
    sup, clock, launcher = sim
    program = sup.add_program("x", command="sleep 100", autostart=False)
    card = ProgramCard(program)
    card.controls.buttons["start"].click()
    assert program.state is S.STARTING
    card.controls.buttons["start"].click()
    clock.advance(0.2)
    assert "ALREADY_STARTED" in card.html.value
    card.controls.buttons["stop"].click()
    clock.advance(0.2)
    assert program.state is S.STOPPED
    assert 'data-state="STOPPED"' in card.html.value


def test_dashboard_follows_programs_and_falls_back_to_text(sim, comm_log):
    sup, clock, launcher = sim
    sup.add_program("a", command="sleep 100")
    board = Dashboard(sup)
    sup.add_program("b", command="sleep 100", autostart=False)
    clock.advance(2)
    assert sorted(board.rows) == ["a", "b"]
    assert 'data-state="RUNNING"' in board.rows["a"].html.value
    bundle = board._repr_mimebundle_()
    assert bundle["text/plain"].splitlines()[0].startswith("a" + " " * 32 + "RUNNING   pid ")
    assert "<table" in bundle["text/html"]
    sup["b"].stop(wait=False) if sup["b"].state is not S.STOPPED else None
    sup.remove_program("b")
    assert sorted(board.rows) == ["a"]
    board.close()
    assert sup["a"]._record_listeners == []


@pytest.mark.realprocess
def test_real_card_is_written_only_by_the_supervisor_thread(comm_log, tmp_path):
    import nbsup

    sup = nbsup.Supervisor(state_dir=str(tmp_path))
    try:
        program = sup.add_program("x", command="sh -c 'echo hi; exit 1'", startsecs=0.2,
                                  startretries=1)  # fmt: skip
        card = ProgramCard(program)
        shown = threading.Event()
        card.html.observe(
            lambda change: 'data-state="FATAL"' in change.new and shown.set(), "value"
        )
        program.wait_for("FATAL", timeout=10)
        comm_id = card.html.comm.comm_id
        # the final state reaches the widget within 0.5 s
        assert shown.wait(0.5) or 'data-state="FATAL"' in card.html.value
        assert 'data-state="FATAL"' in card.html.value
        updates = updates_of(comm_log, comm_id)
        assert updates and {m["thread"] for m in updates} == {"nbsup-supervisor"}
        card.close()
    finally:
        sup.shutdown(10)


def test_the_timeline_explains_each_transition(sim, comm_log):
    sup, clock, launcher = sim
    launcher.script("x", Life(runs=0.3, exit=1))
    card = ProgramCard(sup.add_program("x", command="false", startretries=1))
    clock.advance(5)
    value = card.html.value
    assert "gave up after 2 failed starts (startretries=1 allows 1 retry)" in value
    assert "before startsecs=1: counts as a failed start whatever the exit code" in value
    assert value.count('class="nbsup-reason"') == len(sup["x"].events)


def test_closed_cards_and_dashboards_leave_no_widget_model_open(sim, comm_log):
    # ipywidgets closes a widget's own model only: its layout and style stay registered (in
    # the kernel and the frontend) unless closed too; the shared parts stay for every view
    from ipywidgets.widgets.widget import _instances

    sup, clock, launcher = sim
    program = sup.add_program("x", command="sleep 100")
    sup.add_program("y", command="sleep 100")
    before = set(_instances)
    for _ in range(3):  # re-run cells: each new view closes the previous one
        ProgramCard(program)
        board = Dashboard(sup)
    assert len(_instances) > len(before) + 20
    program._nbsup_card.close()
    board.close()
    left = [_instances[k] for k in set(_instances) - before]
    assert left and all(parts.is_shared(w) for w in left)
    assert len(left) <= 10  # a handful of layouts and styles, however many views


def test_views_share_their_layouts_and_styles(sim, comm_log):
    from ipywidgets.widgets.widget import _instances

    def own_models(make):  # the models a view makes for itself (not the shared parts)
        before = set(_instances)
        made = make()
        return made, sum(not parts.is_shared(_instances[k]) for k in set(_instances) - before)

    sup, clock, launcher = sim
    programs = [sup.add_program(f"p{i}", command="sleep 100") for i in range(3)]
    first, count = own_models(lambda: ProgramCard(programs[0]))
    second, _ = own_models(lambda: ProgramCard(programs[1]))
    assert count == 10  # 20 without sharing
    assert first.html.layout is second.html.layout
    assert first.controls.signal_menu.style is second.controls.signal_menu.style
    _, count = own_models(lambda: Dashboard(sup))
    assert count == 2 + 9 * len(programs)  # 2 + 17 per row without sharing


def test_a_shared_part_closed_elsewhere_is_made_again(sim, comm_log):
    import ipywidgets

    sup, clock, launcher = sim
    program = sup.add_program("x", command="sleep 100")
    first = ProgramCard(program).html.layout
    ipywidgets.Widget.close_all()  # e.g. by the user
    card = ProgramCard(program)
    assert card.html.layout is not first and card.html.layout.comm is not None
