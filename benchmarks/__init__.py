"""Performance benchmarks: nbsup against the real supervisord (``python -m benchmarks``).

Each benchmark module exposes ``run() -> list[dict]``; every dict is one table row with
the keys ``benchmark``, ``metric``, ``nbsup``, ``supervisord``, ``ratio``, ``target``,
``limit`` (a physical limit, where relevant), ``unit`` and ``note``. Modules whose ``run``
takes ``quick: bool`` have a quick mode (small sizes, seconds; ``--quick``) for smoke tests.
"""

from __future__ import annotations

BENCHMARKS = (
    "exit_detection",
    "schedule_precision",
    "restart_rate",
    "idle_cost",
    "scale",
    "output_throughput",
    "kernel_responsiveness",
    "analysis",
)
