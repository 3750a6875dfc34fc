"""A Supervisor on virtual time, importable by any test module (``from sim_support import``)."""

from __future__ import annotations

from nbsup.runtime.driver import Driver
from nbsup.runtime.runner import InlineRunner
from nbsup.supervisor import Supervisor
from nbsup.testing import FakeClock, FakeLauncher


def simulated_supervisor() -> tuple[Supervisor, FakeClock, FakeLauncher]:
    """A Supervisor on virtual time: the real driver and machines, a fake clock and launcher."""
    clock = FakeClock()
    launcher = FakeLauncher(clock)
    holder: dict[str, Supervisor] = {}
    driver = Driver(clock, launcher, lambda *args: holder["sup"]._on_transition(*args))
    supervisor = Supervisor(runner=InlineRunner(driver, clock.run_until))
    holder["sup"] = supervisor
    return supervisor, clock, launcher
