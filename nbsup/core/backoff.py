"""Backoff policies: how long a program waits in BACKOFF before its next start attempt.

supervisord's schedule is linear: after the k-th consecutive failed start the program waits
k seconds (1 s, 2 s, 3 s...; ``process.py:171-172``). That is :class:`LinearBackoff`, the
default. :class:`ExponentialBackoff` doubles the wait up to a cap, with optional jitter, and
can reset its counter only after the program has stayed up for a while. Any object with the
same two members (:meth:`delay` and :attr:`reset_after`) can be used as a policy.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable


@runtime_checkable
class BackoffPolicy(Protocol):
    """What the state machine asks of a backoff policy."""

    @property
    def reset_after(self) -> float:
        """Seconds a program must stay RUNNING before its failure counter resets; 0 resets
        it as soon as the program reaches RUNNING, as supervisord does."""
        ...

    def delay(self, tries: int) -> float:
        """Seconds to wait in BACKOFF after the ``tries``-th consecutive failed start (>= 1)."""
        ...


@dataclass(frozen=True)
class LinearBackoff:
    """supervisord's schedule: wait ``tries`` seconds (1 s, 2 s, 3 s...)."""

    reset_after: float = 0.0

    def delay(self, tries: int) -> float:
        return float(tries)

    def describe(self) -> str:
        return "linear"


@dataclass(frozen=True)
class ExponentialBackoff:
    """Wait ``base * factor**(tries-1)`` seconds, at most ``cap``, give or take ``jitter``.

    Parameters
    ----------
    base
        The first wait, in seconds.
    factor
        How much each wait grows (2: doubling; PM2 uses 1.5).
    cap
        The longest wait, in seconds.
    jitter
        A fraction in [0, 1): each wait is multiplied by a random factor in
        ``[1 - jitter, 1 + jitter]`` (still capped), so that programs failing together do
        not retry together.
    reset_after
        Seconds of RUNNING after which the failure counter resets (0: at RUNNING).
    seed
        Seed of the jitter's random numbers, for reproducible simulations.
    """

    base: float = 1.0
    factor: float = 2.0
    cap: float = 60.0
    jitter: float = 0.0
    reset_after: float = 0.0
    seed: int | None = None
    _random: random.Random = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_random", random.Random(self.seed))

    def delay(self, tries: int) -> float:
        nominal = min(self.cap, self.base * self.factor ** max(tries - 1, 0))
        if self.jitter:
            nominal *= self._random.uniform(1.0 - self.jitter, 1.0 + self.jitter)
        return min(self.cap, nominal)

    def describe(self) -> str:
        return "exponential"
