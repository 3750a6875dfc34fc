"""``Supervisor``: the traitlets model of a set of supervised programs.

A :class:`Supervisor` is a traitlets ``Configurable``: its traits are the defaults for new
programs (inherited from :class:`~nbsup.defaults.ProgramDefaults`: ``%config
Supervisor.startsecs = 2``, ``c.Supervisor.startsecs`` in ``ipython_config.py``), where it
keeps its files and whether it serves XML-RPC. It owns a runner (a private loop
thread with real processes, or virtual time for simulations) and mirrors every transition
into the :class:`~nbsup.program.Program` objects it hands out.
"""

from __future__ import annotations

import itertools
import os
import threading
import time
import weakref
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
from traitlets import (
    Bool,
    Int,
    List,
    Type,
    Unicode,
    observe,
)

from .analysis import accessor as _accessor  # noqa: F401  (df.nbsup on sup.events)
from .core.errors import Fault, FaultCode
from .core.events import Transition
from .core.options import ProgramOptions, build_options, check_name
from .core.record import EventRecord
from .core.states import RUNNING_STATES, ProcessState
from .defaults import ProgramDefaults
from .describe import status_table
from .eventlog import EventStore
from .program import Program
from .runtime.runner import Runner, ThreadRunner


class Supervisor(ProgramDefaults):
    """A process supervisor with supervisord's semantics.

    Most code uses the kernel's one supervisor, :func:`nbsup.get_supervisor`; create a
    ``Supervisor()`` for a private one (stop it with :meth:`shutdown`).

    Examples
    --------
    >>> sup = Supervisor()                                     # doctest: +SKIP
    >>> p = sup.add_program("x", command="sh -c 'exit 1'")     # doctest: +SKIP
    >>> p.wait_for("FATAL", timeout=15)                        # doctest: +SKIP
    """

    state_dir = Unicode(
        ".nbsup", help="Folder for the supervisor's files (a session folder is made inside)."
    ).tag(config=True)
    tail_bytes = Int(64 * 1024, help="Bytes of each output stream kept in memory.").tag(config=True)
    program_names: List[str] = List(
        read_only=True, help="The programs' names, in order added."
    )  # no element trait: traitlets would re-check every name at each add
    rpc_enabled = Bool(
        False, help="Serve supervisord's XML-RPC interface (the real supervisorctl connects)."
    ).tag(config=True)
    rpc_address = Unicode(
        "",
        help="XML-RPC address: '' (a unix socket in the session folder), unix:///path, host:port.",
    ).tag(config=True)
    rpc_auth = Bool(
        True, help="XML-RPC requires HTTP basic auth (user nbsup, random password)."
    ).tag(config=True)
    rpc_server_class = Type(
        default_value="nbsup.rpc.server.RpcServer",
        klass=object,
        help="The XML-RPC server: (supervisor, address=, auth=), start(), stop(), info.",
    ).tag(config=True)

    def __init__(self, runner: Runner | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._store = EventStore()
        self._programs: dict[str, Program] = {}
        self._names = itertools.count(1)
        self._lock = threading.RLock()
        self.session_dir: Path | None = None
        self._nbsup_dashboard: Any = None  # the one live dashboard (nbsup.widgets)
        self._nbsup_views: set[Any] = set()  # live widget presenters, sharing one budget
        self._nbsup_view_bytes = 0  # the size of their latest updates, summed
        self._rpc_server: Any = None
        if runner is None:
            self.session_dir = _session_folder(Path(self.state_dir))
            runner = ThreadRunner(self._on_transition, self.session_dir, self.tail_bytes)
            self._finalizer = weakref.finalize(self, runner.shutdown, 15.0)
        self._runner = runner
        runner.driver.logs.on_log_error = self._on_log_error
        runner.driver.logs.markers = self.attempt_markers
        if self.rpc_enabled:
            self._serve_rpc()

    # ------------------------------------------------------------------ programs

    def add_program(
        self, name: str | None = None, command: str | None = None, **options: Any
    ) -> Program:
        """Add a program (or replace the same-named one, stopping it first) and start it.

        Parameters
        ----------
        name
            The program's name; a unique one is chosen when omitted (see ``Program.name``).
        command
            What to run, split like a shell would split it but never run by a shell.
        **options
            supervisord ``[program:x]`` options: ``startsecs``, ``startretries``,
            ``autorestart``, ``exitcodes``, ``stopsignal``, ``stopwaitsecs``,
            ``stopasgroup``, ``killasgroup``, ``autostart``, ``directory``, ``environment``,
            ``redirect_stderr``, ``priority``, ``restartpause``, ``backoff``... Defaults come
            from this supervisor's traits.

        Raises
        ------
        OptionError
            An unknown option or a wrong value; nothing is added, replaced or stopped.
        """
        if command is not None:
            options["command"] = command
        with self._lock:
            if name is None:
                name = self.unique_name()
            checked = build_options(check_name(name), options, self.option_defaults())
            return self._add_checked([checked])[0]

    def _add_checked(self, checked: list[ProgramOptions]) -> list[Program]:
        """Add (or replace) programs whose options are already checked, in this order:
        one hop to the supervisor's thread and one change of ``program_names`` for all."""
        programs = []
        for options in checked:
            program = self._programs.get(options.name)
            if program is None:
                program = Program(self, options)
                self._programs[options.name] = program
            else:
                program.options = options
            programs.append(program)
        self._runner.call(self._runner.driver.add_all, checked)
        known = set(self.program_names)
        added = []
        for options in checked:
            if options.name not in known:
                known.add(options.name)
                added.append(options.name)
        if added:
            self.set_trait("program_names", [*self.program_names, *added])
        return programs

    def unique_name(self, stem: str = "program") -> str:
        """A program name not used yet: ``program-1``, ``program-2``..."""
        while True:
            name = f"{stem}-{next(self._names)}"
            if name not in self._programs:
                return name

    def remove_program(self, name: str) -> None:
        """Forget a stopped program (Fault FAILED if it still runs, BAD_NAME if unknown)."""
        with self._lock:
            self[name]
            self._runner.call(self._runner.driver.remove, name)
            program = self._programs.pop(name)
            self.set_trait("program_names", [n for n in self.program_names if n != name])
            if program._nbsup_card is not None:
                program._nbsup_card.close()

    def __getitem__(self, name: str) -> Program:
        try:
            return self._programs[name]
        except KeyError:
            raise Fault(FaultCode.BAD_NAME, name) from None

    def __contains__(self, name: object) -> bool:
        return name in self._programs

    def __iter__(self) -> Iterator[Program]:
        return iter(self.programs)

    def __len__(self) -> int:
        return len(self._programs)

    @property
    def programs(self) -> list[Program]:
        """The programs, sorted by priority then name."""
        return sorted(self._programs.values(), key=lambda p: (p.options.priority, p.name))

    def start_all(
        self, names: Iterable[str] | None = None, wait: bool = True, timeout: float | None = None
    ) -> dict[str, Fault | None]:
        """Start programs together (all that are not running, by default), in priority order.

        As supervisord's ``startAllProcesses``: every start is asked first, then all are
        waited for side by side, so 1,000 programs with ``startsecs=1`` take about 1 s.

        Returns
        -------
        dict
            Per program started, None or the Fault ``Program.start`` would have raised.
        """
        from .control import start_together

        targets = self._targets(names, running=False)
        outcomes = start_together(targets, wait, timeout)
        return {p.name: outcome for p, outcome in zip(targets, outcomes, strict=True)}

    def stop_all(
        self, names: Iterable[str] | None = None, wait: bool = True, timeout: float | None = None
    ) -> dict[str, Fault | None]:
        """Stop programs together (all that run, by default), highest priority number first.

        Returns
        -------
        dict
            Per program stopped, None or the Fault ``Program.stop`` would have raised.
        """
        from .control import stop_together

        targets = list(reversed(self._targets(names, running=True)))
        outcomes = stop_together(targets, wait, timeout)
        return {p.name: outcome for p, outcome in zip(targets, outcomes, strict=True)}

    def _targets(self, names: Iterable[str] | None, running: bool) -> list[Program]:
        if names is not None:
            wanted = [self[name] for name in names]
            return sorted(wanted, key=lambda p: (p.options.priority, p.name))
        return [p for p in self.programs if (p.state in RUNNING_STATES) is running]

    def options(self, name: str) -> ProgramOptions:
        """The checked options of program ``name``."""
        return self[name].options

    # ------------------------------------------------------------------ config files

    def load_config(
        self, path: str | os.PathLike[str], names: Iterable[str] | None = None
    ) -> list[Program]:
        """Add the programs of a supervisord.conf (and its includes), in start order.

        Programs keep supervisord's defaults for what the file leaves out (``stopasgroup``
        false...), not this supervisor's traits. What nbsup ignores in the file, and its
        nbsup-only settings, are told in one :class:`nbsup.config.ConfigWarning`. A program
        of the same name is replaced (stopped first), as by :meth:`add_program`.

        Parameters
        ----------
        path
            The supervisord.conf.
        names
            Only these programs or groups (a group, a ``[program:x]`` section's name, or a
            program's name); all when omitted or empty.

        Returns
        -------
        list[Program]
            The programs added, in start order (groups by priority, then name).

        Raises
        ------
        nbsup.config.ConfigError
            A malformed file or an unknown name (file, line, section, option and problem
            in one line); nothing is added.
        """
        import warnings

        from .config import ConfigWarning, read_config

        config = read_config(path)
        if names:
            config = config.select(names)
        if config.warning:
            warnings.warn(config.warning, ConfigWarning, stacklevel=2)
        with self._lock:
            defaults = self.option_defaults()
            checked = [
                build_options(check_name(entry.name), dict(entry.raw), defaults)
                for entry in config.programs
            ]  # all checked before any is added
            return self._add_checked(checked)

    def to_supervisord_conf(self, path: str | os.PathLike[str] | None = None) -> str:
        """The programs as a supervisord.conf text (written to ``path`` when given).

        Reading it back (:meth:`load_config`) gives the same options; nbsup-only settings
        carry a comment saying how supervisord differs.

        Raises
        ------
        nbsup.config.ConfigError
            A value a supervisord.conf cannot hold; nothing is written.
        """
        from .config import to_supervisord_conf

        text = to_supervisord_conf(program.options for program in self.programs)
        if path is not None:
            Path(path).write_text(text)
        return text

    # ------------------------------------------------------------------ reading

    @property
    def events(self) -> pd.DataFrame:
        """Every program's transitions as one DataFrame (schema in :mod:`nbsup.eventlog`)."""
        return self._store.frame()

    def status(self, *names: str) -> str:
        """``supervisorctl status`` text for all programs or the named ones."""
        if names:
            programs = [self[n] for n in names]
        else:  # supervisord lists by group, then name
            programs = sorted(self._programs.values(), key=lambda p: (p.group, p.name))
        rows = [(_namespec(p), p.state.value, p.current_description()) for p in programs]
        return status_table(rows)

    # ------------------------------------------------------------------ shutdown

    def shutdown(self, timeout: float | None = None) -> bool:
        """Stop every program by its stop rules (highest priority number first) and release
        the supervisor's thread and files. Returns False if ``timeout`` ran out first."""
        finalizer = getattr(self, "_finalizer", None)
        if finalizer is not None:
            finalizer.detach()
        self.rpc_enabled = False
        return self._runner.shutdown(timeout)

    @property
    def closed(self) -> bool:
        return bool(getattr(self._runner, "_closed", False))

    # ------------------------------------------------------------------ XML-RPC

    @property
    def rpc_info(self) -> Any:
        """Where XML-RPC is served and how to log in, or None when it is not: a
        :class:`nbsup.rpc.RpcInfo` (``url``, ``username``, ``password``, ``config_path``,
        ``command()``: the supervisorctl command line)."""
        server = self._rpc_server
        return None if server is None else server.info

    @observe("rpc_enabled", "rpc_address", "rpc_auth")
    def _rpc_changed(self, change: Any) -> None:
        if getattr(self, "_runner", None) is None:
            return  # __init__ starts serving once the supervisor is ready
        server, self._rpc_server = self._rpc_server, None
        if server is not None:
            server.stop()
        if self.rpc_enabled and not self.closed:
            self._serve_rpc()

    def _serve_rpc(self) -> None:
        # the server class is named, not imported: nbsup.rpc is a layer above this module
        factory: Any = self.rpc_server_class
        try:
            server = factory(self, address=self.rpc_address, auth=self.rpc_auth)
            server.start()
        except BaseException:
            self.rpc_enabled = False
            raise
        self._rpc_server = server

    # ------------------------------------------------------------------ internals

    def _on_transition(self, name: str, record: EventRecord, transition: Transition) -> None:
        self._store.append(record)
        program = self._programs.get(name)
        if program is not None:
            program._apply(record, transition, self._runner.driver.scheduler.wall)

    def _on_log_error(self, name: str, channel: str, error: str | None) -> None:
        program = self._programs.get(name)
        if program is not None:
            program._log_failed(channel, error)

    @observe("attempt_markers")
    def _markers_changed(self, change: Any) -> None:
        runner = getattr(self, "_runner", None)
        if runner is not None:
            runner.driver.logs.markers = change.new


def _namespec(program: Program) -> str:
    return program.name if program.group == program.name else f"{program.group}:{program.name}"


def _session_folder(root: Path) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    folder = root.expanduser().resolve() / f"{stamp}-{os.getpid()}"
    suffix = itertools.count(2)
    while folder.exists():
        folder = folder.with_name(f"{stamp}-{os.getpid()}-{next(suffix)}")
    folder.mkdir(parents=True)
    return folder


_default: Supervisor | None = None
_default_lock = threading.Lock()


def get_supervisor(**kwargs: Any) -> Supervisor:
    """The process's one shared supervisor (created on first use; used by the magics).

    In IPython, it is configured from the shell's config (``c.Supervisor.*``) and
    registered for ``%config``.
    """
    global _default
    with _default_lock:
        if _default is None or _default.closed:
            parent = _shell()
            if parent is not None and "parent" not in kwargs:
                kwargs["parent"] = parent
            _default = Supervisor(**kwargs)
            if parent is not None and _default not in parent.configurables:
                parent.configurables.append(_default)
        return _default


def _forget_default() -> Supervisor | None:
    global _default
    with _default_lock:
        current, _default = _default, None
        return current


def _shell() -> Any:
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    return get_ipython()


__all__ = ["ProcessState", "Supervisor", "get_supervisor"]
