"""A real Jupyter kernel for the kernel tests (ipykernel over ipc, driven by jupyter_client).

* ``kernel``: ONE kernel for the whole session, with ``%load_ext nbsup`` already run (its
  result is kept in ``kernel.load_result`` for the test that checks it). Tests that share
  it use distinct program names.
* ``fresh_kernel``: a kernel of its own for a test that kills, restarts or unloads.

Each kernel runs with its cwd in a temporary folder (so ``.nbsup/`` lands there), its
connection file and ipc sockets in that folder too, and ``IPYTHONDIR`` pointing at an
empty folder (no user profile). At teardown the kernel is shut down and every process
it started, and every process a test handed to :meth:`KernelSession.track`, must be gone.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from kernel_support import KernelSession, _start


@pytest.fixture(scope="session")
def kernel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KernelSession]:
    """One kernel for the session, nbsup loaded."""
    session = _start(tmp_path_factory.mktemp("kernel"))
    try:
        yield session
    finally:
        leftovers = session.shutdown()
        assert not leftovers, f"processes left after the kernel shut down: {leftovers}"


@pytest.fixture
def fresh_kernel(tmp_path: Path) -> Iterator[KernelSession]:
    """A kernel of its own (for tests that unload, kill or restart), nbsup loaded."""
    session = _start(tmp_path)
    try:
        yield session
    finally:
        leftovers = session.shutdown()
        assert not leftovers, f"processes left after the kernel shut down: {leftovers}"
