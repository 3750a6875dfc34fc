"""Fixtures for the XML-RPC tests: a real supervisor serving on a unix socket or on TCP
(127.0.0.1 only), shut down after each test with no process left behind."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from rpc_support import Served


@pytest.fixture
def served() -> Iterator[Served]:
    """A supervisor serving XML-RPC on a unix socket in its session folder."""
    s = Served()
    try:
        yield s
    finally:
        s.close()


@pytest.fixture
def served_tcp() -> Iterator[Served]:
    """A supervisor serving XML-RPC on 127.0.0.1, on a free port."""
    s = Served("127.0.0.1:0")
    try:
        yield s
    finally:
        s.close()
