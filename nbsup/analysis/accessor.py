"""The ``df.nbsup`` accessor: the metrics of :mod:`nbsup.analysis.metrics` on any event frame.

Importing this module registers the accessor on :class:`pandas.DataFrame`. It works on
every frame of the event-log schema (:mod:`nbsup.eventlog`): from a live supervisor, a
simulation or an imported log::

    import nbsup.analysis.accessor  # registers df.nbsup
    sup.events.nbsup.summary()
    sup.events.nbsup.timeline()     # needs matplotlib

Every method returns a new DataFrame and leaves the frame it was called on unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import pandas as pd

from . import metrics
from ._prepare import REQUIRED_COLUMNS, Until, missing_columns

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["NbsupAccessor"]


@pd.api.extensions.register_dataframe_accessor("nbsup")
class NbsupAccessor:
    """Supervision metrics of an event-log frame, as ``df.nbsup.<method>()``.

    Parameters
    ----------
    frame
        A DataFrame with at least the columns ``time``, ``program``, ``from_state``,
        ``to_state``, ``tries`` and ``expected``; ``elapsed`` (preferred for durations),
        ``group``, ``exitstatus`` and ``signal`` are used when present.

    Raises
    ------
    AttributeError
        If a required column is missing (pandas' contract for accessors).

    Notes
    -----
    pandas builds the accessor on every attribute access, so construction only checks the
    column names; data are read by the methods. Conventions (row order, the clock,
    ``until``, what a failure is) are those of :mod:`nbsup.analysis.metrics`.
    """

    def __init__(self, frame: pd.DataFrame) -> None:
        missing = missing_columns(frame)
        if missing:
            raise AttributeError(
                f"df.nbsup needs an nbsup event-log frame; missing column(s): "
                f"{', '.join(missing)} (required: {', '.join(REQUIRED_COLUMNS)})"
            )
        self._frame = frame

    @property
    def programs(self) -> list[str]:
        """The program names in the frame, sorted."""
        return sorted(self._frame["program"].dropna().astype(str).unique())

    def restarts(self) -> pd.DataFrame:
        """Starts and failures per program.

        Returns
        -------
        pandas.DataFrame
            Indexed by ``program``: ``starts``, ``automatic``, ``manual``,
            ``failed_starts``, ``unexpected_exits``, ``fatals`` (int64; see
            :func:`nbsup.analysis.metrics.restarts`).
        """
        return metrics.restarts(self._frame)

    def backoff_delays(self, policy: Any = "linear") -> pd.DataFrame:
        """One row per retry after a BACKOFF, with its nominal and actual delay.

        Parameters
        ----------
        policy
            ``"linear"`` (supervisord: ``tries`` seconds) or an object with
            ``delay(tries)`` such as :class:`~nbsup.core.backoff.ExponentialBackoff`.

        Returns
        -------
        pandas.DataFrame
            Columns ``program``, ``tries``, ``backoff``, ``start``, ``nominal``, ``actual``,
            ``lateness`` (see :func:`nbsup.analysis.metrics.backoff_delays`).
        """
        return metrics.backoff_delays(self._frame, policy)

    def intervals(self, until: Until = None) -> pd.DataFrame:
        """One row per state spell.

        Parameters
        ----------
        until
            Where the last states stop: a timestamp or a number on the clock.

        Returns
        -------
        pandas.DataFrame
            Columns ``program``, ``state``, ``start``, ``end``, ``start_s``, ``end_s``,
            ``duration`` (see :func:`nbsup.analysis.metrics.intervals`).
        """
        return metrics.intervals(self._frame, until)

    def time_in_state(self, until: Until = None) -> pd.DataFrame:
        """Seconds per program per state.

        Parameters
        ----------
        until
            Where the last states stop: a timestamp or a number on the clock; default:
            the frame's last row.

        Returns
        -------
        pandas.DataFrame
            Indexed by ``program``, one float64 column per state in supervisord's code order.
        """
        return metrics.time_in_state(self._frame, until)

    def uptimes(self, until: Until = None) -> pd.DataFrame:
        """One row per run that reached RUNNING.

        Parameters
        ----------
        until
            Where a run still going is cut (rows after it are ignored).

        Returns
        -------
        pandas.DataFrame
            Columns ``program``, ``start``, ``running``, ``end``, ``uptime``, ``ended``,
            ``exitstatus``, ``signal`` (see :func:`nbsup.analysis.metrics.uptimes`).
        """
        return metrics.uptimes(self._frame, until)

    def mtbf(self) -> pd.DataFrame:
        """Mean time between failures (BACKOFF, unexpected EXITED, FATAL) per program.

        Returns
        -------
        pandas.DataFrame
            Indexed by ``program``: ``failures``, ``first_failure``, ``last_failure``,
            ``mtbf`` (seconds; see :func:`nbsup.analysis.metrics.mtbf`).
        """
        return metrics.mtbf(self._frame)

    def crash_loops(
        self, n: int = 3, window: str | float | pd.Timedelta = "15min", events: str = "failures"
    ) -> pd.DataFrame:
        """Where "at least ``n`` events within ``window``" fired, per program.

        Parameters
        ----------
        n
            Events needed within one window.
        window
            A pandas offset string or Timedelta, or seconds.
        events
            ``"failures"`` or ``"restarts"`` (automatic starts).

        Returns
        -------
        pandas.DataFrame
            One row per episode: ``program``, ``start``, ``end``, ``count`` (see
            :func:`nbsup.analysis.metrics.crash_loops`).
        """
        return metrics.crash_loops(self._frame, n, window, events)

    def summary(self, until: Until = None) -> pd.DataFrame:
        """One row per program: state, counts, time to FATAL, up/downtime and MTBF.

        Parameters
        ----------
        until
            The moment described (rows after it are ignored); default: the last row.

        Returns
        -------
        pandas.DataFrame
            Indexed by ``program``: ``group``, ``state``, ``since``, ``transitions``,
            ``starts``, ``restarts``, ``failures``, ``fatals``, ``time_to_fatal``,
            ``uptime``, ``downtime``, ``mtbf`` (see :func:`nbsup.analysis.metrics.summary`).
        """
        return metrics.summary(self._frame, until)

    def timeline(
        self,
        programs: str | Iterable[str] | None = None,
        ax: Axes | None = None,
        *,
        x: str = "elapsed",
        until: Until = None,
        title: str | None = None,
    ) -> Figure:
        """A state-per-time chart, one lane per program (needs matplotlib).

        Parameters are those of :func:`nbsup.analysis.timeline.timeline`.

        Returns
        -------
        matplotlib.figure.Figure
            The figure drawn in.
        """
        from .timeline import timeline

        return timeline(self._frame, programs, ax, x=x, until=until, title=title)
