"""The public API is what ``nbsup.__all__`` says, and every name in it resolves."""

from __future__ import annotations

import subprocess
import sys

import nbsup


def test_all_names_resolve() -> None:
    for name in nbsup.__all__:
        assert getattr(nbsup, name) is not None, name


def test_public_api_is_exactly() -> None:
    assert set(nbsup.__all__) == {
        "BackoffPolicy", "ConfigError", "ExponentialBackoff", "LogUnavailable", "Fault", "FaultCode", "LinearBackoff",
        "LintWarning", "NbsupError", "OptionError", "ProcessState", "Program", "ProgramCard",
        "Supervisor", "__version__", "dashboard", "explain", "explore", "lint", "read_events",
        "read_supervisord_log", "simulate", "history", "sessions",
        "get_supervisor", "load_ipython_extension", "unload_ipython_extension",
    }  # fmt: skip


def test_import_is_cheap() -> None:
    """``import nbsup`` must not import pandas, IPython or traitlets (they load on use)."""
    code = (
        "import sys, nbsup; "
        "print(sorted(m for m in ('pandas', 'IPython', 'traitlets') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
