"""to_supervisord_conf: an equivalent file (reading it back gives equal options), comments
on nbsup-only settings, groups as [group:x], clear errors for what a file cannot hold."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nbsup.config import ConfigError, read_config, to_supervisord_conf
from nbsup.core.backoff import LinearBackoff
from nbsup.core.options import ProgramOptions, build_options

FILES = Path(__file__).parent / "files"


@pytest.fixture(autouse=True)
def conf_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NBSUP_CONF_PORT", "8123")
    monkeypatch.setenv("NBSUP_CONF_TAG", "blue")


def reread(options: list[ProgramOptions], tmp_path: Path) -> dict[str, ProgramOptions]:
    path = tmp_path / "exported.conf"
    path.write_text(to_supervisord_conf(options))
    return {p.name: p.options for p in read_config(path).programs}


@pytest.mark.parametrize(
    "name", ["full.conf", "syntax.conf", "nbsup_only.conf", "nested/main.conf"]
)
def test_load_export_load_gives_equal_options(name: str, tmp_path: Path) -> None:
    loaded = read_config(FILES / name).options
    assert reread(loaded, tmp_path) == {o.name: o for o in loaded}


def test_nbsup_defaults_are_written_out_for_supervisord(tmp_path: Path) -> None:
    """A %%supervise program has nbsup's defaults (stopasgroup=true...): the file says so."""
    cell = build_options("train", {"command": "python train.py"})
    text = to_supervisord_conf([cell])
    assert "[program:train]\ncommand=python train.py\nstopasgroup=true\n" in text
    assert "killasgroup" not in text  # follows stopasgroup
    assert "restartpause" not in text  # nbsup's default: nothing to say
    assert reread([cell], tmp_path) == {"train": cell}


def test_a_comment_on_each_nbsup_only_option_and_value() -> None:
    options = build_options(
        "x",
        {"command": "sleep 1", "startsecs": "0.5", "restartpause": "0", "backoff": "exponential",
         "backoffmax": "30", "stdout_timestamps": "true"},
    )  # fmt: skip
    lines = to_supervisord_conf([options]).splitlines()

    def comment_above(option: str) -> str:
        index = next(i for i, line in enumerate(lines) if line.startswith(option + "="))
        return lines[index - 1]

    assert comment_above("startsecs") == (
        "; nbsup-only value: supervisord needs a whole number of seconds and refuses '0.5'"
    )
    assert comment_above("restartpause").startswith("; nbsup-only: supervisord has no pause")
    assert comment_above("backoff").startswith("; nbsup-only: supervisord's backoff is always")
    assert comment_above("backoffmax").startswith("; nbsup-only: supervisord's backoff")
    assert comment_above("stdout_timestamps").startswith("; nbsup-only: supervisord writes")
    assert not comment_above("stopasgroup").startswith(";")  # both have it: no comment


def test_groups_become_group_sections(tmp_path: Path) -> None:
    members = [
        build_options(n, {"command": "true", "group": "pool", "priority": "40"}) for n in "ab"
    ]
    alone = build_options("pool", {"command": "true", "priority": "40"})  # joins group pool
    other = build_options("solo", {"command": "true", "priority": "7"})
    text = to_supervisord_conf([*members, alone, other])
    assert "[group:pool]\nprograms=a,b,pool\npriority=40\n" in text
    assert "[program:solo]\ncommand=true\nstopasgroup=true\npriority=7\n" in text
    back = reread([*members, alone, other], tmp_path)
    assert back == {o.name: o for o in [*members, alone, other]}
    assert back["pool"].group == "" and back["a"].group == "pool"


def test_a_group_with_different_priorities_gets_the_lowest_and_a_comment(tmp_path: Path) -> None:
    members = [
        build_options("a", {"command": "true", "group": "g", "priority": "5"}),
        build_options("b", {"command": "true", "group": "g", "priority": "9"}),
    ]
    text = to_supervisord_conf(members)
    assert "; nbsup gave these programs different priorities (a=5, b=9); a group has one" in text
    assert "programs=a,b\n; nbsup gave" in text and text.rstrip().endswith("priority=5")
    assert {o.priority for o in reread(members, tmp_path).values()} == {5}


def test_percent_signs_and_the_comment_quirk_survive(tmp_path: Path) -> None:
    options = build_options(
        "x",
        {"command": "echo 100% %(here)s a#b #c", "stdout_logfile": f"{tmp_path}/a%b.log",
         "environment": {"P": "50%", "Q": 'say "hi", ok', "R": ""}},
    )  # fmt: skip
    text = to_supervisord_conf([options])
    assert "command=echo 100%% %%(here)s a#b #c ;\n" in text
    assert f"stdout_logfile={tmp_path}/a%%%%b.log\n" in text
    assert reread([options], tmp_path) == {"x": options}


@pytest.mark.parametrize(
    ("raw", "option", "problem"),
    [
        ({"command": "sh -c 'a ; b'"}, "command", "a ; or # after a blank starts a comment"),
        ({"command": " leading"}, "command", "blanks around a value or a line are dropped"),
        ({"command": "x", "environment": {"A": "both \" and '"}}, "environment", "both kinds"),
        ({"command": "x", "environment": {"A": "'quoted'"}}, "environment", "starting or ending"),
        ({"command": "x", "backoff": LinearBackoff()}, "backoff", "a BackoffPolicy object"),
    ],
)
def test_what_a_file_cannot_hold_is_a_clear_error(raw: dict, option: str, problem: str) -> None:
    options = build_options("x", raw)
    with pytest.raises(ConfigError) as caught:
        to_supervisord_conf([options])
    message = str(caught.value)
    assert message.startswith(f"[program:x] {option}")
    assert problem in message and "\n" not in message


def test_two_programs_of_one_name_are_refused() -> None:
    twice = [build_options("x", {"command": "a"}), build_options("x", {"command": "b"})]
    with pytest.raises(ConfigError, match=r"two programs are named 'x'"):
        to_supervisord_conf(twice)


# --------------------------------------------------------------------------- generated options

_SECONDS = st.one_of(
    st.integers(0, 10**6), st.floats(0, 1e6, allow_nan=False, allow_infinity=False)
)
_TEXT = st.text(alphabet="ab %;#'\"=,/()", min_size=1, max_size=12).filter(lambda t: t.strip() == t)
_RAW = {
    "autostart": st.booleans(),
    "startsecs": _SECONDS,
    "startretries": st.integers(0, 100),
    "autorestart": st.sampled_from(["true", "false", "unexpected"]),
    "exitcodes": st.lists(st.integers(0, 255), min_size=1, max_size=4),
    "stopsignal": st.sampled_from(list(signal.Signals)),
    "stopwaitsecs": _SECONDS,
    "stopasgroup": st.booleans(),
    "restartpause": _SECONDS,
    "backoff": st.sampled_from(["linear", "exponential"]),
    "backoffbase": _SECONDS,
    "backofffactor": st.floats(1, 10),
    "backoffmax": _SECONDS,
    "backoffjitter": st.floats(0, 0.99),
    "backoffreset": _SECONDS,
    "directory": _TEXT,
    "environment": st.dictionaries(st.sampled_from(["A", "B_1", "PATH"]), _TEXT | st.just("")),
    "redirect_stderr": st.booleans(),
    "stdout_logfile": st.sampled_from(["AUTO", "NONE", "/tmp/x.log", "/tmp/50%.log"]),
    "stdout_logfile_maxbytes": st.integers(0, 2**40),
    "stderr_logfile_backups": st.integers(0, 50),
    "stderr_timestamps": st.booleans(),
    "umask": st.integers(0, 0o777),
    "priority": st.integers(-100, 10_000),
}


@st.composite
def programs(draw: st.DrawFn) -> list[ProgramOptions]:
    names = draw(st.lists(st.sampled_from(["a", "b", "c", "web", "w-1"]), unique=True, min_size=1))
    made = []
    group_priority = draw(st.integers(0, 1000))
    for name in names:
        chosen = draw(st.lists(st.sampled_from(sorted(_RAW)), unique=True, max_size=10))
        raw = {option: draw(_RAW[option]) for option in chosen}
        raw["command"] = draw(_TEXT)
        if draw(st.booleans()):
            raw["group"] = "grp"
            raw["priority"] = group_priority
        made.append(build_options(name, raw))
    return made


def test_generated_options_round_trip(tmp_path_factory: pytest.TempPathFactory) -> None:
    written: list[bool] = []

    @settings(max_examples=200, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow])  # fmt: skip
    @given(programs())
    def check(options: list[ProgramOptions]) -> None:
        try:
            text = to_supervisord_conf(options)
        except ConfigError as error:
            assert error.section is not None and error.option is not None
            written.append(False)
            return
        path = tmp_path_factory.mktemp("rt") / "exported.conf"
        path.write_text(text)
        back = {p.name: p.options for p in read_config(path).programs}
        assert back == {o.name: o for o in options}
        written.append(True)

    check()
    assert sum(written) > len(written) // 2, "most generated programs must be writable"
