"""Fixtures of the analysis tests; puts this folder on ``sys.path`` for
``supervisord_runs`` (the real-supervisord harness of the log reader tests)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)


@pytest.fixture
def event_schema() -> Any:
    """The dtypes every reader must return."""
    from nbsup.eventlog import empty_frame

    return empty_frame().dtypes
