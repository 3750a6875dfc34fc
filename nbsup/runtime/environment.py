"""The environment a program starts with, and its C form for ``posix_spawn``.

A program starts with this process's environment, then supervisord's variables
(``SUPERVISOR_ENABLED``, ``SUPERVISOR_PROCESS_NAME``, ``SUPERVISOR_GROUP_NAME``), then its
own ``environment``.

A restart loop starts programs hundreds of times a second, and encoding 40 variables into a
C array took ~70 us of each start. So this process's variables are encoded once per change
of ``os.environ``, into one C buffer that every start shares; a start encodes only its own
few variables and lists the addresses, once per program (:class:`StartEnvironments`).
"""

from __future__ import annotations

import array
import ctypes
import os
from collections.abc import Iterator, Mapping
from typing import Any

from ..core.options import ProgramOptions

#: ``array`` type code of a C pointer.
_POINTER = "Q" if ctypes.sizeof(ctypes.c_void_p) == 8 else "L"


class EncodedVariables:
    """Variables as NUL-terminated ``KEY=value`` strings in one C buffer."""

    __slots__ = ("_buffer", "addresses", "variables")

    def __init__(self, variables: Mapping[str, str]) -> None:
        #: The variables (read-only).
        self.variables = variables
        encoded = [os.fsencode(k) + b"=" + os.fsencode(v) + b"\0" for k, v in variables.items()]
        blob = b"".join(encoded)
        self._buffer = ctypes.create_string_buffer(blob, len(blob))
        #: Where each variable's string is, by name.
        self.addresses: dict[str, int] = {}
        at = ctypes.addressof(self._buffer)
        for name, text in zip(variables, encoded, strict=True):
            self.addresses[name] = at
            at += len(text)


class Environment(Mapping[str, str]):
    """A child's whole environment: shared variables, less ``removed``, plus its own."""

    __slots__ = ("_envp", "own", "removed", "shared")

    def __init__(
        self,
        own: Mapping[str, str],
        shared: EncodedVariables | None = None,
        removed: frozenset[str] = frozenset(),
    ) -> None:
        self.own = EncodedVariables(own)
        self.shared = shared
        self.removed = removed
        self._envp: array.array[int] | None = None

    @property
    def variables(self) -> dict[str, str]:
        """All of it, as a dict."""
        merged = {} if self.shared is None else dict(self.shared.variables)
        for name in self.removed:
            merged.pop(name, None)
        merged.update(self.own.variables)
        return merged

    def __getitem__(self, name: str) -> str:
        own = self.own.variables
        if name in own:
            return own[name]
        if self.shared is None or name in self.removed:
            raise KeyError(name)
        return self.shared.variables[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.variables)

    def __len__(self) -> int:
        return len(self.variables)

    def envp(self) -> array.array[int]:
        """``envp`` for the C library: the strings' addresses, then 0 (made once; valid for
        as long as this object lives)."""
        if self._envp is not None:
            return self._envp
        own = self.own.addresses
        if self.shared is None:
            addresses = list(own.values())
        else:
            skip = self.removed
            shared = self.shared.addresses.items()
            addresses = [a for k, a in shared if k not in own and k not in skip]
            addresses.extend(own.values())
        addresses.append(0)
        self._envp = array.array(_POINTER, addresses)
        return self._envp


def _own_variables(options: ProgramOptions) -> dict[str, str]:
    """What a program sets over this process's environment."""
    return {
        "SUPERVISOR_ENABLED": "1",
        "SUPERVISOR_PROCESS_NAME": options.name,
        "SUPERVISOR_GROUP_NAME": options.group_name,
        "PYTHONUNBUFFERED": "1",
        **options.environment,
    }


def _removed(base: Mapping[str, str], own: Mapping[str, str]) -> frozenset[str]:
    """What a program does not inherit: the kernel's inline matplotlib backend means nothing
    in a child."""
    if "MPLBACKEND" not in own and base.get("MPLBACKEND", "").startswith(
        "module://matplotlib_inline"
    ):
        return frozenset({"MPLBACKEND"})
    return frozenset()


def child_environment(options: ProgramOptions, base: Mapping[str, str]) -> dict[str, str]:
    """The environment a program starts with, over ``base``, as a dict."""
    own = _own_variables(options)
    env = dict(base)
    for name in _removed(base, own):
        del env[name]
    env.update(own)
    return env


class StartEnvironments:
    """Programs' start environments over one shared, encoded copy of the base.

    The base is encoded again only when it changed: ``os.environ`` is compared by its raw
    contents (it keeps its bytes in a plain dict; copying it decodes every variable, ~50 us).
    Each program's own part and its ``envp`` are kept while its options and the base stay
    the same (about 1.5 KiB per program name started in the session), so a restart loop
    reuses them.
    """

    def __init__(self) -> None:
        self._shared: tuple[dict[Any, Any], EncodedVariables] | None = None
        self._kept: dict[str, tuple[ProgramOptions, Environment]] = {}

    def get(self, options: ProgramOptions, base: Mapping[str, str]) -> Environment:
        """The environment ``options``'s program starts with, over ``base``."""
        shared = self._encoded(base)
        kept = self._kept.get(options.name)
        if kept is not None and kept[0] is options and kept[1].shared is shared:
            return kept[1]
        own = _own_variables(options)
        environment = Environment(own, shared, _removed(base, own))
        self._kept[options.name] = (options, environment)
        return environment

    def _encoded(self, base: Mapping[str, str]) -> EncodedVariables:
        raw = getattr(base, "_data", None) if base is os.environ else None
        if not isinstance(raw, dict):
            raw = base
        if self._shared is not None and self._shared[0] == raw:
            return self._shared[1]
        encoded = EncodedVariables(dict(base))
        self._shared = (dict(raw), encoded)
        return encoded


__all__ = ["EncodedVariables", "Environment", "StartEnvironments", "child_environment"]
