"""supervisord's log methods: the main log, programs' stdout and stderr logs, clearing.

``readLog``, ``readProcessStdoutLog``/``readProcessStderrLog`` (``readFile``: NO_FILE when
the program keeps no log file, BAD_ARGUMENTS for impossible offsets),
``tailProcessStdoutLog``/``tailProcessStderrLog`` (``tailFile``: ``['', 0, False]`` when
there is no file), ``clearProcessLogs`` and ``clearAllProcessLogs``, as in
``supervisor/rpcinterface.py`` 4.3.0. A program's log file is whatever its output channel
writes (``stdout_logfile``: AUTO, a path, or NONE for none).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..core.errors import Fault, FaultCode
from ..program import Program
from ..supervisor import Supervisor
from . import names
from .logs import read_file, tail_file, xml_text
from .names import Result, outcome, signature


class LogMethods:
    """The ``supervisor.*`` log methods (mixed into :class:`~nbsup.rpc.SupervisorNamespace`)."""

    supervisor: Supervisor

    @signature("string", "int", "int")
    def readLog(self, offset: object, length: object) -> str:
        """Read length bytes from the session's supervisord.log starting at offset.

        @param int offset         offset to start reading from (< 0: from the end).
        @param int length         number of bytes to read from the log (0: to the end).
        @return string result     Bytes of log
        """
        start, size = names.integer(offset, "offset"), names.integer(length, "length")
        path = main_log(self.supervisor)
        if path is None or not path.exists():
            raise Fault(FaultCode.NO_FILE, str(path) if path else "")
        return xml_text(read_file(path, start, size))

    @signature("string", "string", "int", "int")
    def readProcessStdoutLog(self, name: object, offset: object, length: object) -> str:
        """Read length bytes from name's stdout log starting at offset.

        @param string name        the name of the process (or 'group:name')
        @param int offset         offset to start reading from.
        @param int length         number of bytes to read from the log.
        @return string result     Bytes of log
        """
        return self._read(name, offset, length, "stdout")

    @signature("string", "string", "int", "int")
    def readProcessStderrLog(self, name: object, offset: object, length: object) -> str:
        """Read length bytes from name's stderr log starting at offset.

        @param string name        the name of the process (or 'group:name')
        @param int offset         offset to start reading from.
        @param int length         number of bytes to read from the log.
        @return string result     Bytes of log
        """
        return self._read(name, offset, length, "stderr")

    @signature("array", "string", "int", "int")
    def tailProcessStdoutLog(self, name: object, offset: object, length: object) -> list[Any]:
        """Tail the stdout log: up to length bytes from offset (the end if it has grown past).

        @param string name         the name of the process (or 'group:name')
        @param int offset          offset to start reading from
        @param int length          maximum number of bytes to return
        @return array result       [string bytes, int offset, bool overflow]
        """
        return self._tail(name, offset, length, "stdout")

    @signature("array", "string", "int", "int")
    def tailProcessStderrLog(self, name: object, offset: object, length: object) -> list[Any]:
        """Tail the stderr log: up to length bytes from offset (the end if it has grown past).

        @param string name         the name of the process (or 'group:name')
        @param int offset          offset to start reading from
        @param int length          maximum number of bytes to return
        @return array result       [string bytes, int offset, bool overflow]
        """
        return self._tail(name, offset, length, "stderr")

    @signature("boolean", "string")
    def clearProcessLogs(self, name: object) -> bool:
        """Clear the stdout and stderr logs for the named process and reopen them.

        @param string name   The name of the process (or 'group:name')
        @return boolean result      Always True unless error
        """
        program = names.find_program(self.supervisor, name)
        self._clear(program)
        return True

    @signature("array")
    def clearAllProcessLogs(self) -> list[Result]:
        """Clear all process log files.

        @return array result   An array of process status info structs
        """
        return [outcome(p, self._clear) for p in self.supervisor.programs]

    def _clear(self, program: Program) -> None:
        try:
            program.clear_log()
        except KeyError:
            raise Fault(FaultCode.BAD_NAME, program.name) from None
        except OSError:
            raise Fault(FaultCode.FAILED, program.name) from None

    def _read(self, name: object, offset: object, length: object, channel: str) -> str:
        program = names.find_program(self.supervisor, name)
        start, size = names.integer(offset, "offset"), names.integer(length, "length")
        path = log_path(program, channel)
        if path is None or not path.exists():
            raise Fault(FaultCode.NO_FILE, str(path) if path else "")
        return xml_text(read_file(path, start, size))

    def _tail(self, name: object, offset: object, length: object, channel: str) -> list[Any]:
        program = names.find_program(self.supervisor, name)
        start, size = names.integer(offset, "offset"), names.integer(length, "length")
        path = log_path(program, channel)
        if path is None or not path.exists():
            return ["", 0, False]
        data, end, overflow = tail_file(path, start, size)
        return [xml_text(data), end, overflow]


def log_path(program: Program, channel: str) -> Path | None:
    """The program's log file on ``channel``; None when it keeps none."""
    try:
        output = program.output_channel(channel)
    except Fault:  # stderr redirected to stdout: supervisord's stderr_logfile is None
        return None
    except KeyError:  # removed meanwhile
        raise Fault(FaultCode.BAD_NAME, program.name) from None
    path = getattr(output, "path", None)
    return None if path is None else Path(path)


def main_log(supervisor: Supervisor) -> Path | None:
    """The session's supervisord.log (None for a supervisor that keeps no files)."""
    journal = getattr(supervisor._runner.driver, "journal", None)
    return None if journal is None else Path(journal.log_path)
