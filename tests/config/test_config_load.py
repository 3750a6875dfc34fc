"""Supervisor.load_config and to_supervisord_conf on virtual time: start order, supervisord's
defaults, the one warning, names, errors that load nothing, and the tiered shutdown."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import pytest

from nbsup import ProcessState
from nbsup.config import ConfigError, ConfigWarning, read_config
from nbsup.testing import Life

SOURCE = Path(__file__).parent / "files"
START_ORDER = ["cache", "db", "worker-01", "worker-02", "worker-03", "web", "cron", "tick"]


@pytest.fixture(autouse=True)
def conf_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NBSUP_CONF_PORT", "8123")
    monkeypatch.setenv("NBSUP_CONF_TAG", "blue")


@pytest.fixture
def files(tmp_path: Path) -> Path:
    """A copy of the fixture files: loaded programs write their log files beside them."""
    copy = tmp_path / "files"
    shutil.copytree(SOURCE, copy)
    return copy


def load(sup, path: Path, names=None):
    with pytest.warns(ConfigWarning) as caught:
        programs = sup.load_config(path, names)
    assert len(caught) == 1
    return programs, str(caught[0].message)


def test_programs_are_added_in_start_order_with_the_files_options(files: Path, sim) -> None:
    sup, clock, launcher = sim
    sup.startsecs = 5.0  # the supervisor's defaults do not apply to a file's programs
    sup.stopasgroup = True
    programs, warning = load(sup, files / "full.conf")
    assert [p.name for p in programs] == START_ORDER
    assert sup.program_names == START_ORDER
    expected = {o.name: o for o in read_config(files / "full.conf").options}
    assert {p.name: p.options for p in programs} == expected
    assert sup["cache"].options.startsecs == 0 and sup["db"].options.startsecs == 1
    assert sup["db"].options.stopasgroup is False
    assert sup["cron"].state is ProcessState.STOPPED  # autostart=false
    assert sup["web"].state is ProcessState.STARTING
    starts = sup.events[sup.events["to_state"] == "STARTING"]["program"].tolist()
    assert starts == [n for n in START_ORDER if n != "cron"]
    assert warning == read_config(files / "full.conf").warning
    assert "[program:web] user: ignored" in warning


def test_group_names_and_status(files: Path, sim) -> None:
    sup, clock, launcher = sim
    load(sup, files / "full.conf")
    assert sup["tick"].group == "jobs" and sup["worker-02"].group == "worker"
    assert sup["web"].group == "web"
    status = sup.status().splitlines()
    assert status[0].startswith("cache ") and any(s.startswith("jobs:tick ") for s in status)


def test_only_the_named_programs_and_groups(files: Path, sim) -> None:
    sup, clock, launcher = sim
    programs, warning = load(sup, files / "full.conf", ["jobs", "worker-03", "cache"])
    assert [p.name for p in programs] == ["cache", "worker-03", "cron", "tick"]
    assert "[program:web]" not in warning and "[program:cron] priority" in warning


def test_a_file_without_anything_to_say_warns_nothing(sim, tmp_path: Path) -> None:
    sup, clock, launcher = sim
    path = tmp_path / "plain.conf"
    path.write_text("[program:x]\ncommand=sleep 1\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert [p.name for p in sup.load_config(path)] == ["x"]


@pytest.mark.parametrize(
    ("path", "names", "message"),
    [
        (
            SOURCE / "broken" / "bad_value.conf",
            None,
            "bad_value.conf:3: [program:web] startsecs=abc",
        ),
        (SOURCE / "broken" / "duplicate_name.conf", None, "duplicate program name 'same'"),
        (SOURCE / "full.conf", ["web", "nosuch"], "no program or group named 'nosuch'"),
        (SOURCE / "absent.conf", None, "absent.conf: could not find config file"),
        ("bad\x00name.conf", None, "bad\\x00name.conf: a file name cannot contain a NUL byte"),
    ],
)
def test_errors_load_nothing_and_change_nothing(sim, path, names, message) -> None:
    sup, clock, launcher = sim
    existing = sup.add_program("web", command="sleep 100", startsecs=0)
    clock.advance(0.1)
    before, pid = existing.options, existing.pid
    with pytest.raises(ConfigError) as caught:
        sup.load_config(path, names)
    assert message in str(caught.value)
    assert sup.program_names == ["web"] and existing.options is before
    clock.advance(0.1)
    assert existing.state is ProcessState.RUNNING and existing.pid == pid


def test_loading_again_replaces_the_programs(files: Path, sim) -> None:
    sup, clock, launcher = sim
    load(sup, files / "full.conf")
    clock.advance(3)
    pid = sup["web"].pid
    load(sup, files / "full.conf", ["web"])
    clock.advance(0.1)
    assert len(sup) == len(START_ORDER)
    assert sup["web"].pid != pid
    states = sup["web"].events["to_state"].tolist()
    assert states[-3:] == ["STOPPING", "STOPPED", "STARTING"]


def test_a_file_is_added_in_one_go(files: Path, sim) -> None:
    """One hop to the supervisor's thread and one change of ``program_names`` for all the
    file's programs (a dashboard redraws once), also when some already exist."""
    sup, clock, launcher = sim
    sup.add_program("db", command="sleep 1", autostart=False)
    changes: list[list[str]] = []
    sup.observe(lambda change: changes.append(change["new"]), "program_names")
    calls = []
    call = sup._runner.call
    sup._runner.call = lambda function, *args: (calls.append(function), call(function, *args))[1]
    load(sup, files / "full.conf")
    assert len(calls) == 1
    assert changes == [["db", *(name for name in START_ORDER if name != "db")]]


def test_shutdown_stops_groups_by_descending_priority_a_tier_at_a_time(files: Path, sim) -> None:
    """As supervisord: jobs (200), then web (10), then worker (5), then cache and db (1);
    a tier starts stopping only when the one before has stopped."""
    sup, clock, launcher = sim
    launcher.script("web", Life(ignores=frozenset({2})))  # survives its stopsignal, INT
    load(sup, files / "full.conf")
    sup["cron"].start()
    clock.advance(3)
    assert sup.shutdown(timeout=60)
    events = sup.events
    stopping = events[events["to_state"] == "STOPPING"]
    order = stopping["program"].tolist()
    assert order[:2] == ["cron", "tick"] and order[2] == "web"
    assert set(order[3:6]) == {"worker-01", "worker-02", "worker-03"}
    assert set(order[6:]) == {"cache", "db"}
    stopped = events[events["to_state"] == "STOPPED"].set_index("program")["elapsed"]
    web_stopped = stopped["web"]
    assert web_stopped - stopping.set_index("program")["elapsed"]["web"] == pytest.approx(7)
    assert (stopping.set_index("program")["elapsed"][["worker-01", "cache"]] >= web_stopped).all()
    assert all(p.state is ProcessState.STOPPED for p in sup)


def test_export_writes_a_file_that_loads_the_same(files: Path, sim, tmp_path: Path) -> None:
    sup, clock, launcher = sim
    load(sup, files / "full.conf")
    sup.add_program("cell", command="python train.py", startsecs=0.5, restartpause=0)
    path = tmp_path / "out" / "supervisord.conf"
    path.parent.mkdir()
    text = sup.to_supervisord_conf(path)
    assert path.read_text() == text
    assert "[group:jobs]\nprograms=cron,tick\npriority=200\n" in text
    again = read_config(path)
    assert {o.name: o for o in again.options} == {p.name: p.options for p in sup}
    assert sup.to_supervisord_conf() == text
