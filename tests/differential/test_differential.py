"""supervisord and nbsup, side by side on the same scenarios.

Both run at the same time (supervisord in a thread, nbsup in the test): every scenario is one
program of one daemon / one supervisor. The transition sequences (from, to, tries,
expected) must be identical; nbsup's delays must be within 20 ms of nominal (supervisord's
are up to ~1 s late by design: its 1 s poll loop).
"""

from __future__ import annotations

import concurrent.futures
import itertools
import multiprocessing
from pathlib import Path

import pytest
import supervisord_oracle as oracle
from nbsup_runner import run_nbsup

S = oracle.Scenario
TOLERANCE = 0.020

SCENARIOS = [
    # the measured reference traces (shared/scenarios), same commands and options
    S("exit1_defaults", "sh -c 'exit 1'", {}, duration=9.5),
    S("startretries0", "sh -c 'exit 1'", {"startretries": "0"}, duration=3),
    S(
        "early_exit0",
        "sh -c 'sleep 0.5; exit 0'",
        {"startsecs": "1", "startretries": "2"},
        duration=7,
    ),
    S("sleep2_exit0_expected", "sh -c 'sleep 2; exit 0'", {"startsecs": "1"}, duration=4),
    S("autorestart_false", "sh -c 'sleep 1.5; exit 3'", {"autorestart": "false"}, duration=4),
    S("exitcodes_list", "sh -c 'sleep 1.5; exit 2'", {"exitcodes": "0,2"}, duration=4),
    S("spawn_error", "/no/such/cmd", {}, duration=9.5),
    S(
        "stop_kill_escalation",
        "sh -c 'trap \"\" TERM; sleep 100'",
        {"stopwaitsecs": "2", "stopasgroup": "true"},
        actions=[(3.0, "stop", None)],
        duration=6.5,
    ),
    S(
        "stop_in_starting",
        "sleep 100",
        {"startsecs": "10"},
        actions=[(2.5, "stop", None)],
        duration=4,
    ),
    S(
        "signal_then_stop",
        "sleep 100",
        {},
        actions=[(2.5, "signal", "HUP"), (7.0, "stop", None)],
        duration=8.5,
    ),
    S(
        "stop_in_backoff_then_start",
        "sh -c 'exit 1'",
        {"startretries": "10"},
        actions=[(2.5, "stop", None), (3.5, "start", None)],
        duration=9.5,
    ),
    S(
        "stopsignal_int_handled",
        "sh -c 'trap \"exit 0\" INT; while :; do sleep 0.1; done'",
        {"stopsignal": "INT"},
        actions=[(2.5, "stop", None)],
        duration=4,
    ),
    # restart loops: where the run phase ends is a race, compare the common prefix
    S("flap_startsecs0", "sh -c 'exit 0'", {"startsecs": "0", "autorestart": "true"}, duration=4),
    S("crash_after_running", "sh -c 'sleep 1.2; exit 1'", {"startsecs": "1"}, duration=7),
]
LOOPS = {"flap_startsecs0": 6, "crash_after_running": 5}


def comparable(trace: list[dict]) -> list[tuple]:
    rows = oracle.normalise(trace)
    return [(f, t, tries, expected if t == "EXITED" else None) for f, t, tries, expected in rows]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, dict]:
    """Both at once: supervisord's harness in a process of its own (its log parsing must not
    compete with nbsup's supervisor thread for this process's GIL), nbsup here."""
    oracle_dir = tmp_path_factory.mktemp("supervisord")
    nbsup_dir = tmp_path_factory.mktemp("nbsup")
    spawn = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(max_workers=1, mp_context=spawn) as pool:
        supervisord = pool.submit(oracle.run_supervisord, SCENARIOS, oracle_dir)
        nbsup_traces = run_nbsup(SCENARIOS, Path(nbsup_dir))
        return supervisord.result(timeout=120), nbsup_traces


@pytest.mark.differential
@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
def test_same_transitions_as_supervisord(runs, scenario):
    supervisord, nbsup = runs
    want = comparable(supervisord[scenario.name])
    got = comparable(nbsup[scenario.name])
    if scenario.name in LOOPS:
        shortest = LOOPS[scenario.name]
        assert len(want) >= shortest and len(got) >= shortest, (want, got)
        length = min(len(want), len(got))
        assert got[:length] == want[:length], oracle.describe(nbsup[scenario.name])
    else:
        assert got == want, (
            f"supervisord:\n{oracle.describe(supervisord[scenario.name])}\n"
            f"nbsup:\n{oracle.describe(nbsup[scenario.name])}"
        )


def delays(trace: list[dict], options: dict[str, str]) -> list[tuple[str, float, float]]:
    """(what, actual, nominal) for each timed transition of a trace."""
    startsecs = float(options.get("startsecs", "1"))
    stopwaitsecs = float(options.get("stopwaitsecs", "10"))
    rows = [r for r in trace if r["phase"] == "run"]
    found = []
    for before, after in itertools.pairwise(rows):
        pair = (before["to_state"], after["to_state"])
        actual = after["t"] - before["t"]
        if pair == ("BACKOFF", "STARTING"):
            found.append(("backoff", actual, float(before["tries"])))
        elif pair == ("STARTING", "RUNNING") and "success:" in after["message"]:
            found.append(("startsecs", actual, startsecs))
        elif pair == ("EXITED", "STARTING"):
            found.append(("restartpause", actual, 1.0))
        elif pair == ("STOPPING", "STOPPED") and "SIGKILL" in after["message"]:
            found.append(("stopwaitsecs", actual, stopwaitsecs))
    return found


@pytest.mark.differential
def test_nbsup_delays_are_within_20_ms_of_nominal(runs):
    _, nbsup = runs
    measured = [
        (scenario.name, *delay)
        for scenario in SCENARIOS
        for delay in delays(nbsup[scenario.name], scenario.options)
    ]
    kinds = {kind for _, kind, _, _ in measured}
    assert kinds == {"backoff", "startsecs", "restartpause", "stopwaitsecs"}
    late = [m for m in measured if not -0.001 <= m[2] - m[3] <= TOLERANCE]
    assert not late, late
