"""Reading log files as supervisord's XML-RPC interface does, and text safe for XML.

``read_file`` and ``tail_file`` follow ``supervisor/options.py`` ``readFile`` and
``tailFile`` (semantics.md §14): the same offsets, the same overflow flag and the same
faults. Output goes back as text: invalid UTF-8 becomes U+FFFD and characters XML 1.0
cannot carry (NUL, ESC and the other C0 controls but tab and newlines) become U+FFFD
too, so a program printing ANSI colours never breaks a client's XML parser (real
supervisord sends them raw and ``supervisorctl tail`` then fails to parse the answer).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from ..core.errors import Fault, FaultCode

#: Characters XML 1.0 does not allow, even escaped.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_text(data: bytes | str) -> str:
    """``data`` as text any XML parser accepts (see the module docstring)."""
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    return _NOT_XML.sub("\ufffd", text)


def read_file(path: Path, offset: int, length: int) -> bytes:
    """``length`` bytes of ``path`` from ``offset`` (supervisord's ``readFile``).

    A negative ``offset`` reads the last ``-offset`` bytes (then ``length`` must be 0);
    ``length`` 0 reads to the end.

    Raises
    ------
    Fault
        BAD_ARGUMENTS for a negative length, or a length with a negative offset; FAILED
        when the file cannot be read.
    """
    if offset < 0 and length:
        raise Fault(FaultCode.BAD_ARGUMENTS)
    if offset >= 0 and length < 0:
        raise Fault(FaultCode.BAD_ARGUMENTS)
    try:
        with open(path, "rb") as file:
            if offset < 0:
                size = file.seek(0, os.SEEK_END)
                file.seek(max(0, size + offset))
                return file.read(-offset)
            file.seek(offset)
            return file.read() if length == 0 else file.read(length)
    except OSError:
        raise Fault(FaultCode.FAILED) from None


def tail_file(path: Path, offset: int, length: int) -> tuple[bytes, int, bool]:
    """Up to ``length`` bytes of ``path`` from ``offset`` (supervisord's ``tailFile``).

    Returns ``(data, end, overflow)``: when the file holds more than ``offset + length``
    bytes, ``overflow`` is True and the last ``length`` bytes are returned; ``end`` is the
    file's size, the offset to ask for next.
    """
    try:
        with open(path, "rb") as file:
            size = file.seek(0, os.SEEK_END)
            overflow = size > offset + length
            if overflow:
                offset = size - 1
            if offset + length > size:
                if offset > size - 1:
                    length = 0
                offset = size - length
            offset = max(offset, 0)
            length = max(length, 0)
            if length == 0:
                return b"", size, overflow
            file.seek(offset)
            return file.read(length), size, overflow
    except OSError:
        return b"", offset, False
