"""Fixtures of the program-fault suite: a real supervisor per test that is always shut down
and checked for leftover processes (see ``fault_support.FaultRun``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fault_support import FaultRun


@pytest.fixture
def faults(tmp_path: Path) -> Iterator[FaultRun]:
    run = FaultRun(tmp_path)
    try:
        yield run
    finally:
        run.close()
