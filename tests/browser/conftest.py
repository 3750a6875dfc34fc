"""A real Jupyter server and a real browser for nbsup's end-to-end widget tests.

Recipe: /work/shared/design/jupyter-testing.md §4 and §5 (run on this kind of machine).

* ``lab_server``: ONE JupyterLab server for the session (``python -m jupyterlab``), and
  ``notebook_server``: one Notebook 7 server (``python -m notebook``, with the notebook app's
  options only: LabApp-only options make it ignore all the others, §5.7). Each runs on a free
  loopback port with temporary JUPYTER_* / IPYTHONDIR folders, the settings file that keeps
  the news toast away, and a temporary root folder holding the notebooks the tests write.
  Only the servers the collected tests need are started, side by side.
* ``chromium_context``: headless Debian Chromium (``/usr/bin/chromium``, never a downloaded
  one) with a fresh profile, driven by Playwright's sync API. ``browser.open(server, name)``
  opens a page on a notebook and gives a :class:`NotebookPage`, with helpers to run cells by
  command and to watch nbsup's widgets.

Every process below a server (kernels, nbsup's programs, their helpers) is tracked by pid;
when a server stops (``terminate``, ``wait``, ``kill``) every tracked process must be gone,
and so must Chromium and Playwright's driver when the session ends.
The only reason to skip is a missing ``/usr/bin/chromium``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
from browser_support import (
    CHROMIUM,
    CHROMIUM_ARGS,
    DEFAULT_TIMEOUT_MS,
    Browser,
    JupyterServer,
    describe,
    wait_gone,
)


@pytest.fixture(scope="session")
def chromium() -> str:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")
    return CHROMIUM


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("screenshots")


SERVER_FIXTURES = {"lab": "lab_server", "notebook": "notebook_server"}


@pytest.fixture(scope="session")
def servers(
    chromium: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, JupyterServer]]:
    """The servers the collected tests use, started side by side (each takes seconds)."""
    wanted = [
        app
        for app, fixture in SERVER_FIXTURES.items()
        if any(fixture in getattr(item, "fixturenames", ()) for item in request.session.items)
    ]
    started: dict[str, JupyterServer] = {}
    try:
        for app in wanted:
            started[app] = JupyterServer(app, tmp_path_factory.mktemp(app))
            started[app].launch()
        for server in started.values():
            server.wait_ready()
        yield started
    finally:
        left = {app: server.stop() for app, server in started.items()}
    assert not any(left.values()), f"processes left after the servers stopped: {left}"


@pytest.fixture(scope="session")
def lab_server(servers: dict[str, JupyterServer]) -> JupyterServer:
    """The session's JupyterLab server (``python -m jupyterlab``)."""
    return servers["lab"]


@pytest.fixture(scope="session")
def notebook_server(servers: dict[str, JupyterServer]) -> JupyterServer:
    """The session's Notebook 7 server (``python -m notebook``)."""
    return servers["notebook"]


@pytest.fixture(scope="session")
def chromium_context(chromium: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Headless Debian Chromium with a fresh profile, for the whole session (its HTTP
    cache makes the second JupyterLab load quicker)."""
    from playwright.sync_api import sync_playwright

    profile = tmp_path_factory.mktemp("chromium-profile")
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            user_data_dir=str(profile),
            executable_path=chromium,
            headless=True,
            viewport={"width": 1280, "height": 900},
            args=CHROMIUM_ARGS,
        )
        # Playwright's node driver and Chromium's processes (servers were started before)
        mine = [p for p in psutil.Process().children(recursive=True) if p.pid not in before]
        context.set_default_timeout(DEFAULT_TIMEOUT_MS)
        try:
            yield context
        finally:
            context.close()
    left = [describe(p) for p in wait_gone(mine, timeout=10.0)]
    assert not left, f"browser processes left after the session: {left}"


@pytest.fixture(scope="session")
def new_browser(chromium_context: Any, screenshots: Path) -> Callable[[], Browser]:
    """Makes a :class:`Browser` (for fixtures wider than a test; close it yourself)."""
    return lambda: Browser(chromium_context, screenshots)


@pytest.fixture
def browser(chromium_context: Any, screenshots: Path) -> Iterator[Browser]:
    session = Browser(chromium_context, screenshots)
    try:
        yield session
    finally:
        session.close()
