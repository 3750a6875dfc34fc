"""OutputChannel: the tail, the file, timestamps, markers (no processes; a fake clock)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from nbsup.runtime.logfile import LogFile
from nbsup.runtime.output import OutputChannel, format_stamp


class Clock:
    def __init__(self, wall: float) -> None:
        self.wall = wall

    def __call__(self) -> float:
        return self.wall


WALL = time.mktime((2026, 11, 27, 1, 2, 3, 0, 0, -1)) + 0.4567
STAMP = "2026-11-27 01:02:03.456"


def channel(
    tmp_path: Path, timestamps: bool = False, tail_bytes: int = 1024
) -> tuple[OutputChannel, Path, Clock]:
    path = tmp_path / "x.log"
    file = LogFile(path)
    file.open()
    clock = Clock(WALL)
    return OutputChannel(file, tail_bytes, timestamps, clock), path, clock


def test_format_stamp_is_local_time_with_truncated_milliseconds():
    assert format_stamp(WALL) == STAMP
    assert format_stamp(WALL + 0.5439) == "2026-11-27 01:02:04.000"


def test_each_line_gets_one_stamp_even_across_chunks(tmp_path):
    out, path, clock = channel(tmp_path, timestamps=True)
    out.write(b"one\ntwo\nthr")
    clock.wall += 1.25
    out.write(b"ee\nfour")
    out.write(b"\n")
    out.write(b"\n\n")  # empty lines are lines too
    later = "2026-11-27 01:02:04.706"
    assert path.read_text() == (
        f"{STAMP} one\n{STAMP} two\n{STAMP} three\n{later} four\n{later} \n{later} \n"
    )
    assert out.tail() == b"one\ntwo\nthree\nfour\n\n\n"  # the tail stays raw


def test_timestamps_off_write_bytes_unchanged(tmp_path):
    out, path, _ = channel(tmp_path)
    data = bytes(range(256)) * 4
    out.write(data)
    assert path.read_bytes() == data


def test_stamps_keep_carriage_returns_and_binary(tmp_path):
    out, path, _ = channel(tmp_path, timestamps=True)
    out.write(b"10%\r50%\r100%\n\xff\x00\n")
    assert path.read_bytes() == f"{STAMP} 10%\r50%\r100%\n{STAMP} ".encode() + b"\xff\x00\n"


def test_a_big_chunk_is_stamped_without_a_loop_per_line(tmp_path):
    out, path, _ = channel(tmp_path, timestamps=True)
    lines = [b"%06d" % k for k in range(20_000)]
    out.write(b"\n".join(lines) + b"\n")
    written = path.read_bytes().split(b"\n")[:-1]
    assert written == [f"{STAMP} ".encode() + line for line in lines]


def test_a_marker_starts_on_its_own_line_and_resets_the_stamp(tmp_path):
    out, path, _ = channel(tmp_path, timestamps=True)
    out.write(b"partial")
    out.mark("==> marker 1")
    out.mark("==> marker 2")
    out.write(b"next\n")
    assert path.read_text() == f"{STAMP} partial\n==> marker 1\n==> marker 2\n{STAMP} next\n"


def test_tail_is_bounded_and_read_range_knows_what_it_holds(tmp_path):
    out, _, _ = channel(tmp_path, tail_bytes=8)
    out.write(b"abcdef")
    out.write(b"ghijkl")
    assert out.tail() == b"efghijkl"
    assert out.total == 12
    assert out.read_range(4, 12) == b"efghijkl"
    assert out.read_range(3, 12) is None
    out.write(b"x" * 100)
    assert out.tail() == b"x" * 8


def test_clear_empties_tail_and_file_but_total_keeps_counting(tmp_path):
    out, path, _ = channel(tmp_path)
    out.write(b"before\n")
    position = out.total
    out.clear()
    assert out.tail() == b"" and path.read_bytes() == b""
    assert out.total == position  # a `tail -f` follower does not stall after a clear
    out.write(b"after\n")
    assert out.read_since(position) == (b"after\n", position + 6)


def test_without_a_file_only_the_tail(tmp_path):
    out = OutputChannel(None, 64)
    out.write(b"hello\n")
    out.mark("==> ignored")
    assert out.tail() == b"hello\n"
    assert out.path is None and out.error is None and out.position is None


def test_path_is_none_when_the_file_cannot_be_opened(tmp_path):
    file = LogFile(tmp_path / "missing" / "x.log")
    file.open()
    out = OutputChannel(file, 64)
    out.write(b"kept in memory\n")
    assert out.path is None
    assert out.target == tmp_path / "missing" / "x.log"
    assert out.error is not None and "No such file or directory" in out.error
    assert out.tail() == b"kept in memory\n"


@pytest.mark.parametrize("timestamps", [False, True])
def test_throughput_of_the_write_path(tmp_path, timestamps):
    """Far faster than a child can write: >= 200 MB/s through OutputChannel.write in 256 KiB
    chunks into the page cache, even on a loaded machine (see the README for measures)."""
    out, path, _ = channel(tmp_path, timestamps=timestamps, tail_bytes=64 * 1024)
    chunk = (b"x" * 99 + b"\n") * 2621  # 262100 bytes of 100-byte lines
    total = 0
    started, cpu = time.perf_counter(), time.process_time()
    while total < 64 * 1024 * 1024:
        out.write(chunk)
        total += len(chunk)
    took, cpu = time.perf_counter() - started, time.process_time() - cpu
    rate = total / cpu / 1e6  # CPU time (user + system): what other engineers' load changes least
    print(
        f"[measure] OutputChannel.write, timestamps={timestamps}: {rate:.0f} MB/s of CPU time, "
        f"{total / took / 1e6:.0f} MB/s of wall time"
    )
    size = path.stat().st_size
    assert size == (total if not timestamps else total + total // 100 * (len(STAMP) + 1))
    assert rate > 200
