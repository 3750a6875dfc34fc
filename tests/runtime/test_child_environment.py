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


def test_a_program_restarting_reuses_its_encoded_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import os

    environments = StartEnvironments()
    options = build_options("x", {"command": "true", "environment": {"MINE": "yes"}})
    first = environments.get(options, os.environ)
    assert environments.get(options, os.environ) is first
    assert first.variables["MINE"] == "yes"

    monkeypatch.setenv("NBSUP_ENV_PROBE", "1")  # os.environ changed: made again
    second = environments.get(options, os.environ)
    assert second is not first and second.variables["NBSUP_ENV_PROBE"] == "1"

    replaced = build_options("x", {"command": "true", "environment": {"MINE": "no"}})
    third = environments.get(replaced, os.environ)  # new options: made again
    assert third.variables["MINE"] == "no"
    assert environments.get(options, {"ONLY": "this"}).variables["ONLY"] == "this"
