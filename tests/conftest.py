"""Fixtures shared by every test folder."""

from __future__ import annotations

import pytest
from sim_support import simulated_supervisor

from nbsup.supervisor import Supervisor
from nbsup.testing import FakeClock, FakeLauncher

__all__ = ["simulated_supervisor"]


@pytest.fixture
def sim() -> tuple[Supervisor, FakeClock, FakeLauncher]:
    """``(supervisor, clock, launcher)`` on virtual time."""
    return simulated_supervisor()
