"""The ``%%supervise`` cell magic and the ``%supervisorctl`` line magic."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, line_magic, magics_class
from IPython.display import display

from ..core.errors import NbsupError
from ..core.options import build_options, check_name
from ..ctl import Supervisorctl
from ..supervisor import Supervisor, get_supervisor
from .cell import CellProgram, check_body, parse_line, write_script


@magics_class
class SupervisorMagics(Magics):
    """``%%supervise`` and ``%supervisorctl``, working on the kernel's supervisor."""

    def __init__(self, shell: Any, supervisor: Supervisor | None = None) -> None:
        super().__init__(shell)
        self._supervisor = supervisor

    @property
    def supervisor(self) -> Supervisor:
        if self._supervisor is None or self._supervisor.closed:
            self._supervisor = get_supervisor()
        return self._supervisor

    @line_cell_magic
    def supervise(self, line: str, cell: str | None = None) -> None:
        """Run the cell body as a supervised program, in the background.

        Usage: ``%%supervise [name] [option=value ...]``, or ``%supervise name
        command=...`` (one %: IPython refuses a cell magic with an empty body)

        The body is a bash script (``interpreter=python`` runs it with the kernel's
        Python; any interpreter path works). ``command=...`` replaces the body. Options are
        supervisord's: startsecs, startretries, autorestart, exitcodes, stopsignal,
        stopwaitsecs, stopasgroup, killasgroup, autostart, directory, environment, umask,
        redirect_stderr, priority, stdout_logfile/stderr_logfile (AUTO, NONE or a path) with
        their _maxbytes and _backups, plus restartpause, std*_timestamps and
        backoff/backoffmax/backoffjitter/backoffreset. Re-running the cell replaces the
        program (stopping the old one).

        ``%supervise --conf path/to/supervisord.conf [name ...]`` adds the programs of a
        supervisord config file (only the named programs or groups when names are given).
        """
        if line.lstrip().startswith("--conf"):
            self._load_conf(line, cell)
            return
        sup = self.supervisor
        try:
            request = parse_line(line, cell or "")
            name = request.name if request.name is not None else sup.unique_name()
            check_name(name)
            options = dict(request.options)
            if "command" not in options:
                options["command"] = "placeholder"
            build_options(name, options, sup.option_defaults())  # every check, nothing changed
            check_body(request)
            if "command" not in request.options:
                folder = (sup.session_dir or Path(tempfile.gettempdir())) / "scripts"
                options["command"] = request.command_for(write_script(folder, name, request))
            replaced = name in sup
            program = sup.add_program(name, **options)
        except NbsupError as error:
            magic = "%supervise" if cell is None else "%%supervise"
            raise UsageError(f"{magic}: {error}") from None
        if request.name is None:
            print(f"nbsup: no name given, this program is called {name!r}")
        for warning in self._lint(sup, request):
            print(f"nbsup: warning: {warning.message}", file=sys.stderr)
        verb = "replaced" if replaced else "added"
        print(f"{name}: {verb} ({program.state.value})")
        from ..widgets import ProgramCard

        display(ProgramCard(program))

    def _load_conf(self, line: str, cell: str | None) -> None:
        """``%supervise --conf path [name ...]``: the programs of a supervisord.conf."""
        import shlex
        import warnings

        from ..config import ConfigWarning
        from ..widgets import Dashboard

        usage = "%supervise --conf path/to/supervisord.conf [name ...]"
        try:
            words = shlex.split(line)
        except ValueError as error:
            raise UsageError(f"%supervise: cannot split the line into words ({error})") from None
        option = words.pop(0)
        path = option.partition("=")[2] or None if option.startswith("--conf=") else None
        if option not in ("--conf", f"--conf={path}") or not (path or words):
            raise UsageError(f"%supervise: expected {usage}")
        if path is None:
            path = words.pop(0)
        if cell is not None and cell.strip():
            raise UsageError(f"%%supervise: --conf takes no cell body; use {usage}")
        sup = self.supervisor
        before = set(sup.program_names)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConfigWarning)
            try:
                programs = sup.load_config(path, words)
            except NbsupError as error:
                raise UsageError(f"%supervise: {error}") from None
        for warning in caught:
            if issubclass(warning.category, ConfigWarning):
                print(f"nbsup: warning: {warning.message}", file=sys.stderr)
            else:
                warnings.warn_explicit(
                    warning.message, warning.category, warning.filename, warning.lineno
                )
        for program in programs:
            verb = "replaced" if program.name in before else "added"
            print(f"{program.name}: {verb} ({program.state.value})")
        if programs:
            display(Dashboard(sup, [program.name for program in programs]))

    @line_magic
    def supervisorctl(self, line: str) -> None:
        """supervisorctl's commands: status, start, stop, restart, signal, tail [-f], clear,
        pid, remove, help; ``all`` names every program. ``serve [address]`` serves
        supervisord's XML-RPC interface for the real supervisorctl (``serve stop``)."""
        sup = self.supervisor
        words = line.split()
        if not words or words[0].lower() == "status":
            self._status(sup, words[1:])
            return
        ctl = Supervisorctl(sup)
        try:
            ctl.run(line, write=lambda text: print(text, file=sys.stdout, flush=True))
        except NbsupError as error:
            raise UsageError(f"%supervisorctl: {error}") from None

    @staticmethod
    def _status(sup: Supervisor, names: list[str]) -> None:
        """``status``: a live dashboard (its text form is supervisorctl's status)."""
        from ..widgets import Dashboard

        for name in names:
            if name not in sup:
                print(f"{name}: ERROR (no such process)")
        known = [name for name in names if name in sup]
        if names and not known:
            return
        display(Dashboard(sup, known or None))

    @staticmethod
    def _lint(sup: Supervisor, request: CellProgram) -> list[Any]:
        """The classic traps in what the cell asks for (the program still starts)."""
        from ..simulation import lint

        options: dict[str, Any] = {**sup.option_defaults(), **request.options}
        command = options.pop("command", None)
        try:
            return lint(command, request.body or None, interpreter=request.interpreter, **options)
        except NbsupError:  # the options were checked already; never block on the linter
            return []
