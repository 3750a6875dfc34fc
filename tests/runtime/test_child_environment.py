"""The child's environment follows ``os.environ`` at every spawn, though its copy is reused
while ``os.environ`` has not changed."""

from __future__ import annotations

import pytest

from nbsup.core.options import build_options
from nbsup.runtime.environment import StartEnvironments, child_environment


def test_changes_to_os_environ_reach_the_next_spawn(monkeypatch: pytest.MonkeyPatch) -> None:
    options = build_options("x", {"command": "true", "environment": {"MINE": "yes"}})
    import os

    first = child_environment(options, os.environ)
    assert first["MINE"] == "yes" and first["SUPERVISOR_PROCESS_NAME"] == "x"
    first["SCRIBBLED"] = "on a copy"  # a caller's change does not leak into the next one
    assert "SCRIBBLED" not in child_environment(options, os.environ)
    monkeypatch.setenv("NBSUP_ENV_PROBE", "1")
    assert child_environment(options, os.environ)["NBSUP_ENV_PROBE"] == "1"
    monkeypatch.setenv("NBSUP_ENV_PROBE", "2")
    assert child_environment(options, os.environ)["NBSUP_ENV_PROBE"] == "2"
    monkeypatch.delenv("NBSUP_ENV_PROBE")
    assert "NBSUP_ENV_PROBE" not in child_environment(options, os.environ)
    assert child_environment(options, {"ONLY": "this"})["ONLY"] == "this"


def test_programs_share_one_encoding_of_os_environ_until_it_changes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import os

    environments = StartEnvironments()
    options = build_options("x", {"command": "true", "environment": {"MINE": "yes"}})
    other = build_options("y", {"command": "true", "environment": {"HOME": "/y"}})
    first = environments.get(options, os.environ)
    assert dict(first) == child_environment(options, os.environ)
    assert dict(environments.get(other, os.environ)) == child_environment(other, os.environ)
    assert environments.get(other, os.environ).shared is first.shared  # encoded once
    assert environments.get(options, os.environ) is first  # kept while nothing changed

    monkeypatch.setenv("NBSUP_ENV_PROBE", "1")  # os.environ changed: encoded again
    second = environments.get(options, os.environ)
    assert second.shared is not first.shared and second["NBSUP_ENV_PROBE"] == "1"
    replaced = build_options("x", {"command": "true", "environment": {"MINE": "no"}})
    assert environments.get(replaced, os.environ)["MINE"] == "no"  # new options: made again
    assert dict(environments.get(options, {"ONLY": "this"})) == child_environment(
        options, {"ONLY": "this"}
    )


def test_the_kernels_inline_backend_is_not_inherited() -> None:
    environments = StartEnvironments()
    inline = {"MPLBACKEND": "module://matplotlib_inline.backend_inline", "A": "1"}
    plain = build_options("p", {"command": "true"})
    assert "MPLBACKEND" not in environments.get(plain, inline)
    assert "MPLBACKEND" not in child_environment(plain, inline)
    agg = build_options("q", {"command": "true", "environment": {"MPLBACKEND": "agg"}})
    assert environments.get(agg, inline)["MPLBACKEND"] == "agg"
    assert environments.get(plain, {"MPLBACKEND": "agg"})["MPLBACKEND"] == "agg"
