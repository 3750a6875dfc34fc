"""``nbsup.simulation.lint``: each classic trap is found, ordinary commands get nothing, and
what a warning predicts is what the simulation shows."""

from __future__ import annotations

import dataclasses

import pytest

from nbsup import OptionError
from nbsup.simulation import LintWarning, lint, simulate


def codes(*args: object, **kwargs: object) -> list[str]:
    return [w.code for w in lint(*args, **kwargs)]  # type: ignore[arg-type]


LOOP = {"startsecs": 0, "autorestart": True}

# --------------------------------------------------------------------------- traps


@pytest.mark.parametrize(
    ("command", "options"),
    [
        ("true", LOOP),
        ("exit 0", LOOP),
        ("echo done", LOOP),
        ("sh -c 'exit 3'", LOOP),
        ("bash -lc 'echo a; echo b'", LOOP),
        ("sh -c 'exit 1'", {"startsecs": 0}),  # autorestart=unexpected, 1 not in exitcodes
        ("false", {"startsecs": 0, "autorestart": "unexpected"}),
        ("sleep 0.2", {"startsecs": 0, "autorestart": True, "restartpause": 0}),
    ],
)
def test_restart_loop(command: str, options: dict) -> None:
    [warning] = lint(command, **options)
    assert warning.code == "restart-loop" and warning.option == "autorestart"
    assert "forever" in warning.message and "autorestart=false" in warning.message


def test_restart_loop_wording_follows_restartpause() -> None:
    assert "every 1 s forever" in str(lint("true", **LOOP)[0])
    assert "at once, in a tight loop, forever" in str(lint("true", restartpause=0, **LOOP)[0])


def test_no_loop_for_an_expected_exit_with_autorestart_unexpected() -> None:
    assert codes("sh -c 'exit 0'", startsecs=0) == []
    assert codes("sh -c 'exit 2'", startsecs=0, exitcodes="0,2") == []


@pytest.mark.parametrize(
    ("command", "body", "marker"),
    [
        ("sh -c 'python server.py &'", None, "'&' at the end"),
        (None, "cd /srv\npython server.py &\n", "'&' at the end"),
        ("nohup python server.py", None, "'nohup'"),
        (None, "nohup python server.py", "'nohup'"),
        ("setsid python server.py", None, "'setsid'"),
        (None, "python server.py &\ndisown", "'&' then 'disown'"),
        ("redis-server --daemonize yes", None, "'--daemonize yes'"),
        ("redis-server /etc/redis.conf daemonize yes", None, "'daemonize yes'"),
        ("gunicorn app:app --daemon", None, "'--daemon'"),
        ("mongod --fork", None, "'--fork'"),
        ("docker run -d nginx", None, "'docker ... -d'"),
        ("memcached -d", None, "'memcached ... -d'"),
        ("nginx", None, "nginx without"),
        ("service postgresql start", None, "'service postgresql start'"),
    ],
)
def test_daemonizes(command: str | None, body: str | None, marker: str) -> None:
    [warning] = lint(command, body)
    assert warning.code == "daemonizes"
    assert marker in warning.message
    assert "exits at once (a failed start, then FATAL)" in warning.message


def test_trailing_ampersand_in_a_command_is_an_argument() -> None:
    [warning] = lint("python server.py &")
    assert warning.code == "daemonizes"
    assert "no shell runs it" in warning.message


@pytest.mark.parametrize(
    ("command", "body", "options"),
    [
        ("true", None, {}),
        ("exit 0", None, {}),
        ("echo hello", None, {}),
        ("sh -c 'exit 0'", None, {}),
        ("sleep 0.5", None, {}),
        ("sleep 3", None, {"startsecs": 5}),
        ("bash -c 'sleep 1; echo done'", None, {"startsecs": 2}),
        (None, "set -e\n# a one-shot job\necho migrating\nexit 0\n", {}),
        (None, "sleep 0.3 && echo done", {}),
    ],
)
def test_oneshot_shorter_than_startsecs_will_be_fatal(
    command: str | None, body: str | None, options: dict
) -> None:
    [warning] = lint(command, body, **options)
    assert warning.code == "oneshot-fatal" and warning.option == "startsecs"
    assert warning.message.endswith("it will be FATAL: use startsecs=0 and autorestart=false")


@pytest.mark.parametrize(
    ("command", "options", "what"),
    [
        ("python serve.py", {"startretries": 0, "startsecs": 10}, "startsecs=10 is long"),
        ("java -jar app.jar", {"startretries": 0}, "java is slow to start"),
        ("sh -c 'cd /app && docker compose up'", {"startretries": 0}, "docker is slow"),
    ],
)
def test_no_retries_for_a_slow_starter(command: str, options: dict, what: str) -> None:
    [warning] = lint(command, **options)
    assert warning.code == "no-retries" and warning.option == "startretries"
    assert what in warning.message and "startretries=3" in warning.message


# --------------------------------------------------------------------------- no false positives

ORDINARY = [
    "python train.py",
    "python -u train.py --epochs 10",
    "python train.py -d /data",
    "sleep 1000",
    "sleep infinity",
    "bash -c 'while true; do echo tick; sleep 1; done'",
    "sh -c 'cd /srv && exec python server.py'",
    "docker run --rm -it image",
    "redis-server --daemonize no",
    "nginx -g 'daemon off;'",
    "tail -f /var/log/syslog",
    "jupyter lab --no-browser",
]
ORDINARY_BODIES = [
    "python train.py",
    "cd /work\nexport X=1\npython train.py --resume\n",
    "python server.py &\nwait\n",
    "while true; do\n  date\n  sleep 5\ndone\n",
    "#!/usr/bin/env python\nprint('hi')\n",
]


@pytest.mark.parametrize("command", ORDINARY)
@pytest.mark.parametrize("options", [{}, LOOP, {"startsecs": 2, "autorestart": False}])
def test_no_warning_for_ordinary_commands(command: str, options: dict) -> None:
    assert lint(command, **options) == []


@pytest.mark.parametrize("body", ORDINARY_BODIES)
def test_no_warning_for_ordinary_bodies(body: str) -> None:
    assert lint(body=body) == []
    assert lint(body=body, **LOOP) == []


def test_python_without_u_is_not_a_trap_in_nbsup() -> None:
    assert lint("python train.py") == []
    assert lint(body="print('hello')", interpreter="python") == []


def test_nothing_to_read_gives_only_option_warnings() -> None:
    assert lint() == []
    assert codes(startretries=0, startsecs=30) == ["no-retries"]


# --------------------------------------------------------------------------- the warning


def test_lint_warning_is_a_small_frozen_dataclass() -> None:
    warning = LintWarning("restart-loop", "it loops", "autorestart")
    assert str(warning) == "restart-loop: it loops"
    with pytest.raises(dataclasses.FrozenInstanceError):
        warning.code = "x"  # type: ignore[misc]
    assert LintWarning("daemonizes", "m").option is None
    for w in lint("true") + lint("true", **LOOP) + lint("nohup x") + lint("java", startretries=0):
        assert "\n" not in w.message and len(w.message) < 200


def test_bad_options_raise() -> None:
    with pytest.raises(OptionError, match="startsecs"):
        lint("true", startsecs="soon")
    with pytest.raises(OptionError, match="unknown option"):
        lint("true", startsec=0)


# --------------------------------------------------------------------------- predictions hold


def test_what_the_warnings_predict_is_what_simulate_shows() -> None:
    true = (0.001, 0)  # `true` runs about a millisecond
    # oneshot-fatal: "true" with the defaults ends in FATAL...
    assert str(simulate(true)["to_state"].iloc[-1]) == "FATAL"
    # ...and with the advice (startsecs=0, autorestart=false) it simply exits
    advised = simulate(true, startsecs=0, autorestart=False)
    assert str(advised["to_state"].iloc[-1]) == "EXITED" and len(advised) == 3
    # restart-loop: never FATAL, one restart per restartpause
    loop = simulate(true, until=10, **LOOP)
    assert "FATAL" not in set(loop["to_state"])
    assert (loop["to_state"] == "STARTING").sum() == 10  # at 0, 1.001, 2.002... 9.009 s
