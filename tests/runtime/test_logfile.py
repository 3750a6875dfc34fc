"""LogFile: supervisord's rotation rules, positions across rotations, and write errors.

No processes: files under ``tmp_path``, errors simulated by patching ``os.write``.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from nbsup.core.errors import LogUnavailable
from nbsup.runtime import logfile as logfile_module
from nbsup.runtime.logfile import LogFile, LogFiles, read_pieces


def opened(path: Path, maxbytes: int = 0, backups: int = 0) -> LogFile:
    file = LogFile(path, maxbytes, backups)
    assert file.open()
    return file


def read(file: LogFile, begin: int, end: int) -> bytes:
    return read_pieces(file.open_pieces(file.locate(begin, end)))


def names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# --------------------------------------------------------------------------- rotation


def test_rotates_after_the_write_that_reaches_maxbytes_like_supervisord(tmp_path):
    log = tmp_path / "x.log"
    file = opened(log, maxbytes=10, backups=3)
    file.write(b"123456789")  # 9 < 10: no rotation
    assert names(tmp_path) == ["x.log"]
    file.write(b"abcd")  # 13 >= 10: written whole, then rotated (a file may exceed maxbytes)
    assert names(tmp_path) == ["x.log", "x.log.1"]
    assert (tmp_path / "x.log.1").read_bytes() == b"123456789abcd"
    assert log.read_bytes() == b""
    assert file.size == 0 and file.position == 13


def test_backups_shift_and_the_oldest_is_dropped(tmp_path):
    log = tmp_path / "x.log"
    file = opened(log, maxbytes=4, backups=2)
    for word in (b"aaaa", b"bbbb", b"cccc", b"dd"):
        file.write(word)
    assert names(tmp_path) == ["x.log", "x.log.1", "x.log.2"]
    assert (tmp_path / "x.log.2").read_bytes() == b"bbbb"
    assert (tmp_path / "x.log.1").read_bytes() == b"cccc"
    assert log.read_bytes() == b"dd"
    assert list(file.spans) == [(8, 12), (4, 8)]


def test_backups_zero_truncates_instead_of_keeping(tmp_path):
    log = tmp_path / "x.log"
    file = opened(log, maxbytes=4, backups=0)
    file.write(b"aaaaa")
    file.write(b"bb")
    assert names(tmp_path) == ["x.log"]
    assert log.read_bytes() == b"bb"
    with pytest.raises(LogUnavailable, match="rotated away"):
        file.locate(0, 5)


def test_maxbytes_zero_never_rotates(tmp_path):
    log = tmp_path / "x.log"
    file = opened(log, maxbytes=0, backups=5)
    for _ in range(100):
        file.write(b"x" * 1000)
    assert names(tmp_path) == ["x.log"]
    assert log.stat().st_size == 100_000 == file.size


def test_size_is_tracked_in_memory_not_stat_per_write(tmp_path, monkeypatch):
    file = opened(tmp_path / "x.log", maxbytes=1 << 20, backups=1)
    calls = []
    for name in ("fstat", "stat", "lseek"):
        real = getattr(os, name)
        monkeypatch.setattr(os, name, lambda *a, real=real, **k: calls.append(a) or real(*a, **k))
    for _ in range(50):
        file.write(b"y" * 4096)
    monkeypatch.undo()
    assert calls == []
    assert file.size == 50 * 4096


def test_an_existing_file_is_appended_and_counts_toward_maxbytes(tmp_path):
    log = tmp_path / "x.log"
    log.write_bytes(b"old content\n")
    file = opened(log, maxbytes=16, backups=1)
    assert file.size == 12 and file.ends_with_newline
    file.write(b"new!")  # 16 bytes: rotated with the old content, as supervisord would
    assert (tmp_path / "x.log.1").read_bytes() == b"old content\nnew!"
    # the earlier session's bytes are not ours to hand out, ours are
    assert read(file, 12, 16) == b"new!"
    with pytest.raises(LogUnavailable):
        file.locate(0, 16)


def test_older_backups_from_before_keep_shifting(tmp_path):
    log = tmp_path / "x.log"
    (tmp_path / "x.log.1").write_bytes(b"previous session")
    file = opened(log, maxbytes=3, backups=2)
    file.write(b"one")
    assert (tmp_path / "x.log.2").read_bytes() == b"previous session"
    assert (tmp_path / "x.log.1").read_bytes() == b"one"
    assert read(file, 0, 3) == b"one"


def test_special_files_are_never_rotated(tmp_path):
    file = opened(Path(os.devnull), maxbytes=1, backups=3)
    file.write(b"discarded")
    assert not file.regular
    assert file.error is None
    assert Path(os.devnull).exists() and not Path(os.devnull + ".1").exists()
    with pytest.raises(LogUnavailable, match="not a regular file"):
        file.locate(0, 9)


# --------------------------------------------------------------------------- positions


def test_ranges_are_found_across_rotations(tmp_path):
    file = opened(tmp_path / "x.log", maxbytes=10, backups=3)
    data = b"".join(b"%03d," % k for k in range(11))  # 44 bytes in 4-byte writes
    for k in range(11):
        file.write(data[4 * k : 4 * k + 4])
    assert list(file.spans) == [(24, 36), (12, 24), (0, 12)]  # rotated at 12 bytes each
    assert read(file, 0, 44) == data
    assert read(file, 5, 31) == data[5:31]
    assert [p.name for p, _, _ in file.locate(0, 44)] == ["x.log.3", "x.log.2", "x.log.1", "x.log"]
    file.write(b"more")  # a fourth rotation: the first 12 bytes are gone
    with pytest.raises(LogUnavailable, match="rotated away"):
        file.locate(0, 44)
    assert read(file, 12, 48) == data[12:] + b"more"


def test_rotated_away_and_cleared_ranges_are_reported(tmp_path):
    file = opened(tmp_path / "x.log", maxbytes=4, backups=1)
    for word in (b"aaaa", b"bbbb", b"cc"):
        file.write(word)
    assert file.oldest() == 4
    with pytest.raises(LogUnavailable, match=r"rotated away .*maxbytes=4, 1 backups"):
        file.locate(0, 10)
    assert read(file, 4, 10) == b"bbbbcc"
    file.truncate()  # supervisorctl clear: the current file only
    assert (tmp_path / "x.log").read_bytes() == b""
    assert read(file, 4, 8) == b"bbbb"
    with pytest.raises(LogUnavailable, match="cleared"):
        file.locate(8, 10)
    file.write(b"dd")
    assert read(file, 10, 12) == b"dd"


def test_a_reader_keeps_its_files_even_if_they_rotate_meanwhile(tmp_path):
    file = opened(tmp_path / "x.log", maxbytes=4, backups=3)
    file.write(b"abcd")
    file.write(b"ef")
    handles = file.open_pieces(file.locate(0, 6))
    file.write(b"gh")  # rotates: x.log.1 -> x.log.2, x.log -> x.log.1
    assert read_pieces(handles) == b"abcdef"


def test_a_file_changed_behind_our_back_drops_the_history(tmp_path):
    log = tmp_path / "x.log"
    files = LogFiles()
    file = files.acquire(log, 0, 0, make_folder=False)
    file.write(b"ours\n")
    files.release(file)
    assert not file.is_open
    again = files.acquire(log, 0, 0, make_folder=False)
    assert again is file and read(file, 0, 5) == b"ours\n"  # unchanged: history kept
    files.release(file)
    log.write_bytes(b"someone else's")
    files.acquire(log, 0, 0, make_folder=False)
    with pytest.raises(LogUnavailable):
        file.locate(0, 5)


def test_two_users_of_one_path_share_one_file(tmp_path):
    files = LogFiles()
    first = files.acquire(tmp_path / "x.log", 10, 1, make_folder=False)
    second = files.acquire(tmp_path / "x.log", 20, 2, make_folder=False)
    assert first is second and first.users == 2
    assert (first.maxbytes, first.backups) == (20, 2)
    files.release(first)
    assert first.is_open
    files.release(second)
    assert not first.is_open


# --------------------------------------------------------------------------- errors


def test_a_missing_folder_is_an_error_not_an_exception(tmp_path):
    file = LogFile(tmp_path / "missing" / "x.log")
    told = []
    file.listeners.append(lambda: told.append(file.error))
    assert not file.open()
    assert file.error == f"cannot open {tmp_path}/missing/x.log: No such file or directory"
    assert told == [file.error]
    file.write(b"dropped")
    assert file.dropped == 7
    auto = LogFile(tmp_path / "made" / "x.log", make_folder=True)  # AUTO logs: folder made
    assert auto.open() and auto.error is None


def test_disk_full_drops_chunks_then_resumes(tmp_path, monkeypatch):
    log = tmp_path / "x.log"
    file = opened(log, maxbytes=100, backups=1)
    told: list[str | None] = []
    file.listeners.append(lambda: told.append(file.error))
    real_write = os.write
    full = {"on": False}

    def write(fd: int, data: bytes) -> int:
        if full["on"]:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_write(fd, data)

    monkeypatch.setattr(logfile_module.os, "write", write)
    file.write(b"before\n")
    full["on"] = True
    file.write(b"lost 1\n")
    file.write(b"lost 2\n")
    assert file.error == f"cannot write {log}: No space left on device"
    assert file.dropped == 14
    assert told == [file.error]  # told once, not per chunk
    full["on"] = False
    file.write(b"after\n")
    assert told == [f"cannot write {log}: No space left on device", None]
    assert file.error is None and file.dropped == 0
    assert log.read_bytes() == b"before\nafter\n"
    assert file.size == 13


def test_a_short_write_is_completed_or_counted(tmp_path, monkeypatch):
    log = tmp_path / "x.log"
    file = opened(log)
    real_write = os.write
    calls = []

    def write(fd: int, data: bytes) -> int:
        calls.append(len(data))
        if len(calls) == 1:
            return real_write(fd, bytes(data)[:3])  # the disk had room for 3 bytes
        if len(calls) == 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(fd, data)

    monkeypatch.setattr(logfile_module.os, "write", write)
    file.write(b"abcdef")
    assert log.read_bytes() == b"abc" and file.size == 3 and file.dropped == 3
    file.write(b"gh")
    assert log.read_bytes() == b"abcgh" and file.size == 5


def test_a_failed_rotation_is_reported_and_writing_goes_on(tmp_path, monkeypatch):
    log = tmp_path / "x.log"
    file = opened(log, maxbytes=4, backups=1)

    def replace(source: str, target: str) -> None:
        raise OSError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(logfile_module.os, "replace", replace)
    file.write(b"abcdef")
    assert file.error == f"cannot rotate {log}: Permission denied"
    file.write(b"gh")
    assert log.read_bytes() == b"abcdefgh"
