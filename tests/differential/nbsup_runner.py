"""Run oracle :class:`Scenario` objects on nbsup, producing traces in the oracle's format.

Each scenario becomes one program of ONE private ``nbsup.Supervisor`` (as the oracle runs
them all in one supervisord). Options are passed as the same strings a supervisord.conf
would hold; supervisord's defaults for ``stopasgroup``/``killasgroup`` (false) are made
explicit, since nbsup's defaults differ. Actions run at their times after the program's
first STARTING.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pandas as pd
from supervisord_oracle import Scenario

import nbsup
from nbsup.core.errors import Fault


def nbsup_options(scenario: Scenario) -> dict[str, str]:
    options = {"stopasgroup": "false", **scenario.options}
    if "killasgroup" not in scenario.options:
        options["killasgroup"] = options["stopasgroup"]
    return options


def run_nbsup(scenarios: list[Scenario], workdir: Path) -> dict[str, list[dict]]:
    """Run every scenario at once; return ``{name: [row, ...]}`` like the oracle.

    Rows: ``t`` (seconds since the program's first STARTING), ``from_state``, ``to_state``,
    ``tries``, ``expected`` (only on EXITED rows, as in supervisord's events), ``phase``
    (``run``, or ``shutdown`` once the supervisor was told to stop), ``message``.
    """
    sup = nbsup.Supervisor(state_dir=str(workdir))
    zero: dict[str, float] = {}
    errors: list[str] = []
    try:
        for scenario in scenarios:
            sup.add_program(scenario.name, command=scenario.command, **nbsup_options(scenario))
        for scenario in scenarios:  # autostart spawns inside add_program: STARTING is there
            events = sup[scenario.name].events
            zero[scenario.name] = (
                float(events["elapsed"].iloc[0]) if len(events) else sup_elapsed(sup)
            )
        threads = [  # each action fires at its time after the program's first STARTING
            threading.Timer(
                max(0.0, zero[scenario.name] + at - sup_elapsed(sup)),
                _act,
                args=(sup, scenario, action, arg, errors),
            )
            for scenario in scenarios
            for at, action, arg in scenario.actions
        ]
        for thread in threads:
            thread.daemon = True
            thread.start()
        end = max(zero[s.name] + s.duration for s in scenarios)
        finished = threading.Event()  # set by a timer of the supervisor's own loop at `end`
        driver = sup._runner.driver
        sup._runner.call(driver.scheduler.call_at, driver.started_at + end, finished.set)
        assert finished.wait(end - sup_elapsed(sup) + 30), "the scenarios' end never came"
        for thread in threads:
            thread.join(10)
        cut = sup_elapsed(sup)
    finally:
        sup.shutdown(timeout=30)
    assert not errors, errors
    traces = {}
    for scenario in scenarios:
        rows = []
        for row in sup.events.itertuples():
            if row.program != scenario.name:
                continue
            rows.append(
                {
                    "t": round(float(row.elapsed) - zero[scenario.name], 4),
                    "from_state": str(row.from_state),
                    "to_state": str(row.to_state),
                    "tries": None if pd.isna(row.tries) else int(row.tries),
                    "expected": bool(row.expected) if str(row.to_state) == "EXITED" else None,
                    "phase": "run" if float(row.elapsed) < cut else "shutdown",
                    "message": str(row.message),
                }
            )
        traces[scenario.name] = rows
    return traces


def sup_elapsed(sup: nbsup.Supervisor) -> float:
    driver = sup._runner.driver
    return driver.scheduler.now() - driver.started_at


def _act(
    sup: nbsup.Supervisor,
    scenario: Scenario,
    action: str,
    arg: str | None,
    errors: list[str],
) -> None:
    program = sup[scenario.name]
    try:
        if action == "stop":
            program.stop(wait=True, timeout=60)
        elif action == "start":
            program.start(wait=False)
        elif action == "signal":
            program.signal(arg or "TERM")
    except Fault as fault:
        errors.append(f"{scenario.name}: {action}: {fault}")
