"""supervisord's RPC shapes over nbsup: arguments, namespecs, result structs, signatures.

A namespec is ``name`` (a program), ``group:name`` (a program of a group) or ``group:*`` /
``group:`` (every program of a group), as in ``supervisor/options.py`` ``split_namespec``.
nbsup program names are unique, so a bare ``name`` finds a program whatever its group.
Wrong types give Fault INCORRECT_PARAMETERS, unknown names Fault BAD_NAME.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from ..core.errors import Fault, FaultCode
from ..program import Program
from ..supervisor import Supervisor

F = TypeVar("F", bound=Callable[..., Any])
#: A struct of supervisord's (process info, a group call's per-process result...).
Result = dict[str, Any]


def signature(returns: str, *params: str) -> Callable[[F], F]:
    """Declare an XML-RPC method's result and parameter types (``system.methodSignature``)."""

    def mark(function: F) -> F:
        function.rpc_signature = [returns, *params]  # type: ignore[attr-defined]
        return function

    return mark


def result(program: Program, code: FaultCode = FaultCode.SUCCESS, text: str = "OK") -> Result:
    """One program's entry in a group call's answer (``make_allfunc``'s struct)."""
    return {"name": program.name, "group": program.group, "status": int(code), "description": text}


def outcome(program: Program, action: Callable[[Program], object]) -> Result:
    """Run ``action(program)``; its :func:`result` (the fault's code and text if refused)."""
    try:
        action(program)
    except Fault as fault:
        return result(program, fault.code, str(fault))
    return result(program)


def text(value: object, what: str) -> str:
    """``value`` if it is a string (Fault INCORRECT_PARAMETERS otherwise)."""
    if not isinstance(value, str):
        raise Fault(FaultCode.INCORRECT_PARAMETERS, f"{what} must be a string")
    return value


def integer(value: object, what: str) -> int:
    """``value`` as an int: an XML-RPC int or a decimal string, as supervisord's ``int()``."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            pass
    raise Fault(FaultCode.INCORRECT_PARAMETERS, f"{what} must be an integer")


def flag(value: object, what: str) -> bool:
    """``value`` as a bool: an XML-RPC boolean, or the integers 0 and 1."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    raise Fault(FaultCode.INCORRECT_PARAMETERS, f"{what} must be a boolean")


def split(namespec: str) -> tuple[str, str | None]:
    """``(group, name)``; name is None for ``group:*`` and ``group:`` (a whole group)."""
    group, colon, name = namespec.partition(":")
    if not colon:
        return namespec, namespec
    return group, (None if name in ("", "*") else name)


def namespec(program: Program) -> str:
    """``name`` when the program is its own group, else ``group:name``."""
    return program.name if program.group == program.name else f"{program.group}:{program.name}"


def group_programs(supervisor: Supervisor, group: str) -> list[Program]:
    """The programs of ``group`` by priority then name (Fault BAD_NAME if there are none)."""
    programs = [p for p in supervisor.programs if p.group == group]
    if not programs:
        raise Fault(FaultCode.BAD_NAME, group)
    return programs


def find(supervisor: Supervisor, spec: object) -> tuple[str, Program | None]:
    """Resolve a namespec to ``(group, program)``; program is None for a whole group.

    Raises
    ------
    Fault
        INCORRECT_PARAMETERS if ``spec`` is not a string, BAD_NAME if nothing matches.
    """
    spec = text(spec, "name")
    group, name = split(spec)
    if name is None:
        if not any(p.group == group for p in supervisor.programs):
            raise Fault(FaultCode.BAD_NAME, spec)
        return group, None
    if name in supervisor:
        program = supervisor[name]
        if ":" not in spec or program.group == group:
            return program.group, program
    raise Fault(FaultCode.BAD_NAME, spec)


def find_program(supervisor: Supervisor, spec: object) -> Program:
    """The one program ``spec`` names (Fault BAD_NAME for a group or an unknown name)."""
    _, program = find(supervisor, spec)
    if program is None:
        raise Fault(FaultCode.BAD_NAME, str(spec))
    return program
