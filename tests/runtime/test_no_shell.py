"""Options are never passed through a shell: ``command``, ``directory`` and ``environment``
values reach the program as the literal words and strings they are (only a cell body,
the user's own script, is run by its interpreter)."""

from __future__ import annotations

from pathlib import Path

import pytest

import nbsup

pytestmark = pytest.mark.realprocess


def test_shell_syntax_in_options_is_not_interpreted(tmp_path: Path) -> None:
    sup = nbsup.Supervisor(state_dir=str(tmp_path / "state"))
    marker = tmp_path / "pwned"
    try:
        program = sup.add_program(
            "literal",
            command=f"echo $HOME && touch {marker} ; `touch {marker}` $(touch {marker}) |cat",
            environment={"VALUE": f"$(touch {marker})"},
            startsecs=0,
            autorestart=False,
        )
        program.wait_for("EXITED", timeout=10)
        printenv = sup.add_program(
            "env",
            command="printenv VALUE",
            environment={"VALUE": f"$(touch {marker}); `id`"},
            startsecs=0,
            autorestart=False,
        )
        printenv.wait_for("EXITED", timeout=10)
        said = program.attempt_log(1).strip()
        env_said = printenv.attempt_log(1).strip()
    finally:
        sup.shutdown(timeout=10)
    assert not marker.exists()
    assert said == f"$HOME && touch {marker} ; `touch {marker}` $(touch {marker}) |cat"
    assert env_said == f"$(touch {marker}); `id`"
