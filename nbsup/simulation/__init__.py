"""What-if simulation, explanations and a policy linter, on nbsup's real state machine.

* :func:`simulate` runs one program on virtual time with the real supervisor's driver and
  machine and a scripted fake process, and returns its event log;
* :func:`explain` adds a plain-language ``reason`` to each transition of an event log;
* :func:`lint` warns about supervisord's classic configuration traps before a run.
"""

from __future__ import annotations

from .explain import explain
from .lint import LintWarning, lint
from .simulate import simulate

__all__ = ["LintWarning", "explain", "lint", "simulate"]
