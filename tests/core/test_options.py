"""build_options and the value converters: accepted spellings and every error message."""

from __future__ import annotations

import dataclasses
import signal

import pytest

from nbsup.core import values
from nbsup.core.backoff import ExponentialBackoff, LinearBackoff
from nbsup.core.errors import NbsupError, OptionError
from nbsup.core.options import CONVERTERS, ProgramOptions, build_options, check_name, option_names
from nbsup.core.values import AutoRestart


def build(**raw: object) -> ProgramOptions:
    return build_options("x", {"command": "sleep 1", **raw})


def refused(option: str, value: object, **extra: object) -> OptionError:
    with pytest.raises(OptionError) as info:
        build(**{option: value}, **extra)
    return info.value


# --------------------------------------------------------------------------- defaults


def test_defaults_are_supervisords_with_nbsup_differences() -> None:
    o = build()
    assert (o.name, o.command) == ("x", "sleep 1")
    assert o.autostart is True
    assert o.startsecs == 1.0
    assert o.startretries == 3
    assert o.autorestart is AutoRestart.UNEXPECTED
    assert o.exitcodes == (0,)
    assert o.stopsignal is signal.SIGTERM
    assert o.stopwaitsecs == 10.0
    # nbsup differences: group signals by default, restartpause, backoff options
    assert o.stopasgroup is True
    assert o.killasgroup is True
    assert o.restartpause == 1.0
    assert o.backoff == "linear"
    assert o.backoffmax == 60.0
    assert o.backoffjitter == 0.0
    assert o.backoffreset == 0.0
    assert o.policy == LinearBackoff(reset_after=0.0)
    assert o.directory is None
    assert dict(o.environment) == {}
    assert o.redirect_stderr is False
    assert o.priority == 999
    assert o.group == "" and o.group_name == "x"


def test_option_names() -> None:
    assert option_names() == list(CONVERTERS)
    assert option_names()[:4] == ["command", "autostart", "startsecs", "startretries"]
    assert {"stopasgroup", "killasgroup", "restartpause", "backoffreset"} <= set(option_names())


def test_options_are_frozen() -> None:
    o = build()
    with pytest.raises(dataclasses.FrozenInstanceError):
        o.startsecs = 3  # type: ignore[misc]


# --------------------------------------------------------------------------- boolean


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (True, True),
        (False, False),
        ("yes", True),
        ("YES", True),
        (" on ", True),
        ("1", True),
        ("true", True),
        ("TrUe", True),
        (1, True),
        ("no", False),
        ("Off", False),
        ("0", False),
        ("false", False),
        (0, False),
    ],
)
def test_boolean_spellings(value: object, expected: bool) -> None:
    assert values.boolean("autostart", value) is expected
    assert build(autostart=value).autostart is expected


@pytest.mark.parametrize("value", ["maybe", "", "2", 2, "y", "t"])
def test_boolean_errors(value: object) -> None:
    error = refused("autostart", value)
    assert error.option == "autostart"
    assert error.value == value
    assert str(error) == f"autostart={value}: expected true or false (also yes/no, on/off, 1/0)"


# --------------------------------------------------------------------------- integer


@pytest.mark.parametrize(
    ("value", "expected"), [("3", 3), (" 3 ", 3), (0, 0), ("0", 0), (100, 100)]
)
def test_integer_spellings(value: object, expected: int) -> None:
    assert values.integer("startretries", value) == expected
    assert build(startretries=value).startretries == expected


@pytest.mark.parametrize("value", ["3.5", 3.5, "abc", "", True, "1e3"])
def test_integer_errors(value: object) -> None:
    assert str(refused("startretries", value)) == f"startretries={value}: expected a whole number"


@pytest.mark.parametrize("value", ["-1", -5])
def test_integer_minimum(value: object) -> None:
    assert (
        str(refused("startretries", value)) == f"startretries={value}: expected a whole number >= 0"
    )


def test_priority_may_be_negative() -> None:
    assert build(priority="-1").priority == -1
    assert build(priority=5).priority == 5
    assert str(refused("priority", "high")) == "priority=high: expected a whole number"


# --------------------------------------------------------------------------- seconds


@pytest.mark.parametrize(
    ("value", "expected"),
    [("1", 1.0), ("0.5", 0.5), (" 2.5 ", 2.5), (0, 0.0), (2, 2.0), (1.5, 1.5), ("10", 10.0)],
)
def test_seconds_spellings(value: object, expected: float) -> None:
    for option in ("startsecs", "stopwaitsecs", "restartpause", "backoffmax", "backoffreset"):
        converted = getattr(build(**{option: value}), option)
        assert converted == expected
        assert isinstance(converted, float)


@pytest.mark.parametrize("value", ["-1", -0.1, "inf", float("inf"), "nan", "abc", "", True, "1s"])
def test_seconds_errors(value: object) -> None:
    assert (
        str(refused("startsecs", value)) == f"startsecs={value}: expected a number of seconds >= 0"
    )


# --------------------------------------------------------------------------- autorestart


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("unexpected", AutoRestart.UNEXPECTED),
        ("UNEXPECTED", AutoRestart.UNEXPECTED),
        (" unexpected ", AutoRestart.UNEXPECTED),
        ("true", AutoRestart.TRUE),
        ("yes", AutoRestart.TRUE),
        ("on", AutoRestart.TRUE),
        ("1", AutoRestart.TRUE),
        (True, AutoRestart.TRUE),
        ("false", AutoRestart.FALSE),
        ("No", AutoRestart.FALSE),
        ("off", AutoRestart.FALSE),
        ("0", AutoRestart.FALSE),
        (False, AutoRestart.FALSE),
        (AutoRestart.TRUE, AutoRestart.TRUE),
    ],
)
def test_autorestart_spellings(value: object, expected: AutoRestart) -> None:
    assert build(autorestart=value).autorestart is expected


@pytest.mark.parametrize("value", ["sometimes", "", "always", 2])
def test_autorestart_errors(value: object) -> None:
    assert str(refused("autorestart", value)) == (
        f"autorestart={value}: expected false, unexpected or true"
    )


# --------------------------------------------------------------------------- exitcodes


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0", (0,)),
        ("0,2", (0, 2)),
        (" 0 , 2 ", (0, 2)),
        ("2,0,2", (2, 0)),
        ("255", (255,)),
        ([1, 2], (1, 2)),
        ((255,), (255,)),
        (3, (3,)),
        (["4", "5"], (4, 5)),
    ],
)
def test_exitcodes_spellings(value: object, expected: tuple[int, ...]) -> None:
    assert build(exitcodes=value).exitcodes == expected


@pytest.mark.parametrize("value", ["256", "-1", "a", "", "0,", "0,,1", "1.5", [True], [256]])
def test_exitcodes_errors(value: object) -> None:
    error = refused("exitcodes", value)
    assert str(error) == f"exitcodes={value}: expected exit codes from 0 to 255, comma-separated"
    assert error.allowed == "expected exit codes from 0 to 255, comma-separated"


def test_exitcodes_empty_list() -> None:
    assert str(refused("exitcodes", [])) == (
        "exitcodes=[]: expected at least one exit code from 0 to 255"
    )


# --------------------------------------------------------------------------- stopsignal


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("TERM", signal.SIGTERM),
        ("SIGTERM", signal.SIGTERM),
        ("term", signal.SIGTERM),
        ("sigterm", signal.SIGTERM),
        (" KILL ", signal.SIGKILL),
        ("15", signal.SIGTERM),
        (9, signal.SIGKILL),
        (signal.SIGINT, signal.SIGINT),
        ("HUP", signal.SIGHUP),
        ("usr1", signal.SIGUSR1),
        ("QUIT", signal.SIGQUIT),
    ],
)
def test_stopsignal_spellings(value: object, expected: signal.Signals) -> None:
    assert build(stopsignal=value).stopsignal is expected


@pytest.mark.parametrize("value", ["BOGUS", "0", "999", "", "SIG"])
def test_stopsignal_errors(value: object) -> None:
    error = refused("stopsignal", value)
    text = str(error)
    assert text.startswith(f"stopsignal={value}: expected a signal name or number (")
    names = text[text.index("(") + 1 : -1].split(", ")
    assert {"TERM", "KILL", "HUP", "INT", "QUIT", "USR1"} <= set(names)
    assert names == sorted(names)
    assert not any(name.startswith("SIG") for name in names)


# --------------------------------------------------------------------------- environment


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('KEY="v",K2=v2', {"KEY": "v", "K2": "v2"}),
        ('A="x,y",B=z', {"A": "x,y", "B": "z"}),
        ("A='1,2,3'", {"A": "1,2,3"}),
        ('A="hello world"', {"A": "hello world"}),
        ('A="a  b"', {"A": "a  b"}),
        ("A=", {"A": ""}),
        ("A=1,", {"A": "1"}),
        (" A = 1 , B = 2 ", {"A": "1", "B": "2"}),
        ("_PRIVATE=1,X_2=y", {"_PRIVATE": "1", "X_2": "y"}),
        ("", {}),
        ({"A": 1, "B": "two"}, {"A": "1", "B": "two"}),
        ({}, {}),
    ],
)
def test_environment_spellings(value: object, expected: dict[str, str]) -> None:
    assert dict(build(environment=value).environment) == expected
    assert values.environment("environment", value) == expected


@pytest.mark.parametrize("value", ["A", "=1", "A-B=1", 'A="unterminated', "A=1,B", "A B=1"])
def test_environment_errors(value: str) -> None:
    assert str(refused("environment", value)) == (
        f'environment={value}: expected KEY="value",KEY2="value2"'
    )


@pytest.mark.parametrize("value", [{"": "x"}, {"A=B": "x"}, {1: "x"}])
def test_environment_mapping_errors(value: dict) -> None:
    assert str(refused("environment", value)) == (
        f"environment={value}: expected names without '=' mapped to values"
    )


# --------------------------------------------------------------------------- text options


@pytest.mark.parametrize("value", ["", "   "])
def test_command_must_not_be_empty(value: str) -> None:
    assert str(refused("command", value)) == f"command={value}: expected a non-empty text"


def test_command_is_required() -> None:
    with pytest.raises(OptionError) as info:
        build_options("x", {"startsecs": 1})
    assert info.value.option == "command"
    assert str(info.value) == "command=: a program needs a command (or a cell body)"


def test_none_value_names_the_value_not_an_unknown_option() -> None:
    error = refused("startsecs", None)
    assert not str(error).startswith("unknown option")


def test_directory_and_group() -> None:
    assert build(directory="/tmp").directory == "/tmp"
    assert build(directory=None).directory is None
    assert str(refused("directory", "")) == "directory=: expected a non-empty text"
    o = build(group="web")
    assert (o.group, o.group_name) == ("web", "web")


# --------------------------------------------------------------------------- names


@pytest.mark.parametrize("name", ["x", "web_1", "a.b@c+d-e", "9lives", "_hidden"])
def test_program_names(name: str) -> None:
    assert check_name(name) == name
    assert build_options(name, {"command": "c"}).name == name


@pytest.mark.parametrize("name", ["", "my prog", "-x", ".x", "a/b", "a:b", 3, None])
def test_bad_program_names(name: object) -> None:
    with pytest.raises(OptionError) as info:
        build_options(name, {"command": "c"})  # type: ignore[arg-type]
    assert info.value.option == "name"
    assert info.value.allowed == "a program name uses letters, digits and _ . @ + - (no spaces)"


# --------------------------------------------------------------------------- unknown options


@pytest.mark.parametrize(
    ("option", "suggestion"),
    [
        ("startsec", "startsecs"),
        ("autorestrt", "autorestart"),
        ("stopwaitsec", "stopwaitsecs"),
        ("exitcode", "exitcodes"),
        ("killasgrp", "killasgroup"),
        ("enviroment", "environment"),
    ],
)
def test_unknown_option_did_you_mean(option: str, suggestion: str) -> None:
    error = refused(option, "1")
    assert error.option == option
    assert error.value is None
    assert str(error) == f"unknown option {option!r}: did you mean {suggestion!r}?"


def test_unknown_option_lists_known_options() -> None:
    error = refused("zzzzqqq", "1")
    assert str(error) == "unknown option 'zzzzqqq': known options: " + ", ".join(CONVERTERS)


def test_unknown_option_in_defaults() -> None:
    with pytest.raises(OptionError) as info:
        build_options("x", {"command": "c"}, defaults={"startsecz": 1})
    assert str(info.value) == "unknown option 'startsecz': did you mean 'startsecs'?"


def test_option_error_is_a_value_error() -> None:
    error = refused("startsecs", "soon")
    assert isinstance(error, ValueError)
    assert isinstance(error, NbsupError)
    assert (error.option, error.value, error.allowed) == (
        "startsecs",
        "soon",
        "expected a number of seconds >= 0",
    )


# --------------------------------------------------------------------------- defaults mapping


def test_defaults_mapping_is_used_and_overridden() -> None:
    o = build_options(
        "x", {"command": "c", "startsecs": "3"}, defaults={"startsecs": 5, "startretries": 7}
    )
    assert (o.startsecs, o.startretries) == (3.0, 7)
    with pytest.raises(OptionError) as info:
        build_options("x", {"command": "c"}, defaults={"startretries": "many"})
    assert str(info.value) == "startretries=many: expected a whole number"


# --------------------------------------------------------------------------- stopasgroup/killasgroup


@pytest.mark.parametrize(
    ("raw", "stop", "kill"),
    [
        ({}, True, True),
        ({"stopasgroup": True}, True, True),
        ({"stopasgroup": False}, False, False),
        ({"stopasgroup": "false"}, False, False),
        ({"stopasgroup": False, "killasgroup": True}, False, True),
        ({"stopasgroup": False, "killasgroup": False}, False, False),
        ({"stopasgroup": True, "killasgroup": True}, True, True),
        ({"stopasgroup": False, "killasgroup": None}, False, False),
        ({"stopasgroup": True, "killasgroup": None}, True, True),
        ({"killasgroup": True}, True, True),
    ],
)
def test_killasgroup_follows_stopasgroup(raw: dict, stop: bool, kill: bool) -> None:
    o = build(**raw)
    assert (o.stopasgroup, o.killasgroup) == (stop, kill)


def test_killasgroup_follows_stopasgroup_from_defaults() -> None:
    o = build_options("x", {"command": "c"}, defaults={"stopasgroup": False})
    assert (o.stopasgroup, o.killasgroup) == (False, False)
    o = build_options("x", {"command": "c", "stopasgroup": False}, defaults={"stopasgroup": True})
    assert (o.stopasgroup, o.killasgroup) == (False, False)


@pytest.mark.parametrize(
    "raw",
    [
        {"stopasgroup": True, "killasgroup": False},
        {"stopasgroup": "yes", "killasgroup": "no"},
        {"killasgroup": False},  # stopasgroup defaults to true in nbsup
    ],
)
def test_stopasgroup_without_killasgroup_refused(raw: dict) -> None:
    with pytest.raises(OptionError) as info:
        build(**raw)
    assert info.value.option == "killasgroup"
    assert str(info.value) == (
        "killasgroup=false: killasgroup must be true when stopasgroup is true "
        "(supervisord refuses it too)"
    )


# --------------------------------------------------------------------------- backoff options


def test_backoff_policies() -> None:
    assert build().policy == LinearBackoff()
    assert build(backoffreset=30).policy == LinearBackoff(reset_after=30.0)
    o = build(backoff="Exponential", backoffmax="20", backoffjitter="0.25", backoffreset=5)
    assert o.backoff == "exponential"
    assert o.policy == ExponentialBackoff(cap=20.0, jitter=0.25, reset_after=5.0)
    assert [ExponentialBackoff(cap=20.0).delay(k) for k in range(1, 8)] == [
        1.0,
        2.0,
        4.0,
        8.0,
        16.0,
        20.0,
        20.0,
    ]
    assert [LinearBackoff().delay(k) for k in range(1, 5)] == [1.0, 2.0, 3.0, 4.0]
    custom = ExponentialBackoff(base=0.5, cap=4)
    o = build(backoff=custom)
    assert o.policy is custom


def test_backoff_errors() -> None:
    assert str(refused("backoff", "quadratic")) == (
        "backoff=quadratic: expected linear or exponential (or a BackoffPolicy object)"
    )
    assert str(refused("backoffjitter", 1)) == (
        "backoffjitter=1: expected a fraction from 0 up to (not including) 1"
    )
    assert str(refused("backoffjitter", "-0.5")) == (
        "backoffjitter=-0.5: expected a number of seconds >= 0"
    )
    assert build(backoffjitter=0.99).backoffjitter == 0.99


# --------------------------------------------------------------------------- changed()


def test_changed_copies_and_checks() -> None:
    o = build(startsecs=2)
    p = o.changed(startretries="5")
    assert (p.startsecs, p.startretries) == (2.0, 5)


def test_changed_with_group_set() -> None:
    o = build(group="web", startsecs=2)
    p = o.changed(startretries="5", exitcodes="0,3")
    assert (p.startsecs, p.startretries, p.exitcodes, p.group) == (2.0, 5, (0, 3), "web")
    assert o.startretries == 3
    with pytest.raises(OptionError):
        o.changed(startsecs="-1")


def test_exponential_backoff_base_and_factor() -> None:
    o = build(backoff="exponential", backoffbase="10", backofffactor="1.5", backoffmax="30")
    assert [o.policy.delay(k) for k in (1, 2, 3, 4, 5)] == [10.0, 15.0, 22.5, 30.0, 30.0]
    assert str(refused("backofffactor", "0.5")) == (
        "backofffactor=0.5: expected a growth factor >= 1 (2 doubles each wait)"
    )


# --------------------------------------------------------------------------- logs, umask


def test_log_options_default_to_supervisords() -> None:
    o = build()
    assert (o.stdout_logfile, o.stderr_logfile) == ("AUTO", "AUTO")
    assert o.stdout_logfile_maxbytes == o.stderr_logfile_maxbytes == 50 * 1024 * 1024
    assert o.stdout_logfile_backups == o.stderr_logfile_backups == 10
    assert o.stdout_timestamps is o.stderr_timestamps is False
    assert o.umask is None


@pytest.mark.parametrize(
    ("text", "size"),
    [("0", 0), ("1024", 1024), ("10KB", 10240), ("50MB", 52428800), ("1gb", 1 << 30)],
)
def test_byte_sizes(text: str, size: int) -> None:
    assert build(stdout_logfile_maxbytes=text).stdout_logfile_maxbytes == size


@pytest.mark.parametrize("text", ["-1", "ten", "5TB", "", "1e309", "nan", "inf"])
def test_bad_byte_sizes_are_refused(text: str) -> None:
    error = refused("stderr_logfile_maxbytes", text)
    assert "50MB" in str(error) and "stderr_logfile_maxbytes" in str(error)


@pytest.mark.parametrize(
    ("text", "kept"),
    [("auto", "AUTO"), ("None", "NONE"), ("OFF", "NONE"), ("/tmp/x.log", "/tmp/x.log")],
)
def test_log_file_spellings(text: str, kept: str) -> None:
    assert build(stdout_logfile=text).stdout_logfile == kept


@pytest.mark.parametrize(("text", "mask"), [("022", 0o22), ("0", 0), ("777", 0o777), (0o27, 0o27)])
def test_umask_is_octal(text: object, mask: int) -> None:
    assert build(umask=text).umask == mask


@pytest.mark.parametrize("text", ["999", "abc", "1000"])
def test_bad_umask_is_refused(text: str) -> None:
    assert "octal" in str(refused("umask", text))


def test_error_shows_control_characters_quoted_and_long_values_shortened() -> None:
    assert (
        str(refused("startsecs", "1\n2")) == "startsecs='1\\n2': expected a number of seconds >= 0"
    )
    message = str(refused("startsecs", "9" * 50 + "x" * 100))
    assert len(message.split(":")[0]) == len("startsecs=") + 80 and "…" in message
