"""Fixtures of the analysis tests; puts this folder on ``sys.path`` for
``supervisord_runs`` (the real-supervisord harness of the log reader tests) and
``both_replays``.

In the log reader tests below, every ``read_supervisord_log`` call also reads the log
with the per-message reference replay and fails unless both frames are exactly equal.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

_CHECKED_AGAINST_REFERENCE = {
    "test_logreader_snippets",
    "test_logreader_fuzz",
    "test_logreader_real",
}


@pytest.fixture(autouse=True, scope="module")
def _reader_checked_against_reference(request: pytest.FixtureRequest) -> Iterator[None]:
    module = request.module
    if module.__name__ not in _CHECKED_AGAINST_REFERENCE:
        yield
        return
    from both_replays import read_both_ways

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(module, "read_supervisord_log", read_both_ways)
        yield


@pytest.fixture
def event_schema() -> Any:
    """The dtypes every reader must return."""
    from nbsup.eventlog import empty_frame

    return empty_frame().dtypes
