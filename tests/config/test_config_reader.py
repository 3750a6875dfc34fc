"""read_config on the fixture files: every construct, supervisord's defaults, the warning."""

from __future__ import annotations

import platform
import signal
from pathlib import Path

import pytest

from nbsup.config import ConfigError, read_config
from nbsup.config.schema import NBSUP_ONLY, NOT_IN_FILES, SUPERVISORD_DEFAULTS
from nbsup.core.options import CONVERTERS, build_options
from nbsup.core.values import AutoRestart

FILES = Path(__file__).parent / "files"


@pytest.fixture(autouse=True)
def conf_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NBSUP_CONF_PORT", "8123")
    monkeypatch.setenv("NBSUP_CONF_TAG", "blue")


def write(tmp_path: Path, text: str, name: str = "supervisord.conf") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def by_name(path: Path) -> dict:
    return {p.name: p for p in read_config(path).programs}


# --------------------------------------------------------------------------- full.conf


def test_programs_groups_and_start_order() -> None:
    config = read_config(FILES / "full.conf")
    order = [(p.group, p.name) for p in config.programs]
    assert order == [
        ("cache", "cache"),
        ("db", "db"),
        ("worker", "worker-01"),
        ("worker", "worker-02"),
        ("worker", "worker-03"),
        ("web", "web"),
        ("jobs", "cron"),
        ("jobs", "tick"),
    ]
    assert config.groups["jobs"].programs == ("cron", "tick")
    assert config.groups["jobs"].priority == 200
    assert [p.options.priority for p in config.programs] == [1, 1, 5, 5, 5, 10, 200, 200]
    assert {p.options.group for p in config.programs} == {"", "worker", "jobs"}
    assert config.files[0] == str(FILES / "full.conf")
    assert [Path(f).name for f in config.files[1:]] == ["10-db.conf", "20-cache.conf"]


def test_every_option_as_written() -> None:
    web = by_name(FILES / "full.conf")["web"].options
    assert web.command == "python -m http.server 8123 --bind 127.0.0.1"
    assert web.directory == str(FILES)
    assert web.autostart is True and web.autorestart is AutoRestart.TRUE
    assert (web.startsecs, web.startretries, web.stopwaitsecs) == (2, 5, 7)
    assert web.exitcodes == (0, 2, 3)
    assert web.stopsignal is signal.SIGINT
    assert web.stopasgroup is True and web.killasgroup is True  # killasgroup follows
    assert dict(web.environment) == {"DEPLOY": "prod", "TAG": "web-blue", "A": "x, y", "B": "plain"}
    assert web.umask == 0o027
    assert web.stdout_logfile == str(FILES / "web-web.log")
    assert (web.stdout_logfile_maxbytes, web.stdout_logfile_backups) == (1024**2, 3)
    assert web.stderr_logfile == "NONE"


def test_expansions_numprocs_and_escapes() -> None:
    programs = by_name(FILES / "full.conf")
    host = platform.node()
    assert programs["worker-02"].options.command == (
        f'bash -c "echo worker 02 of 3 in worker on {host}; sleep 100%"'
    )
    worker = programs["worker-01"].options
    assert worker.stopsignal is signal.SIGQUIT and worker.redirect_stderr is True
    assert worker.stdout_logfile == "NONE" and worker.autorestart is AutoRestart.UNEXPECTED
    db = programs["db"].options
    included = FILES / "conf.d"
    assert db.command == f"{included}/db-server --data {included}/data"  # %(here)s: its file
    assert (db.stderr_logfile, db.stderr_logfile_maxbytes) == (str(included / "db.err"), 0)


def test_supervisord_defaults_are_kept_where_nbsup_differs() -> None:
    programs = by_name(FILES / "full.conf")
    cache = programs["cache"].options
    assert cache.stopasgroup is False and cache.killasgroup is False
    cron = programs["cron"].options
    assert (cron.stopasgroup, cron.killasgroup, cron.autostart) == (False, True, False)
    expected = build_options("cache", {**programs["cache"].raw})
    assert cache == expected
    assert set(programs["cache"].raw) == set(CONVERTERS)  # complete: no outside defaults


def test_a_bare_program_gets_exactly_supervisords_defaults(tmp_path: Path) -> None:
    entry = read_config(write(tmp_path, "[program:x]\ncommand=sleep 1\n")).programs[0]
    options = entry.options
    assert (options.autostart, options.startsecs, options.startretries) == (True, 1.0, 3)
    assert options.autorestart is AutoRestart.UNEXPECTED and options.exitcodes == (0,)
    assert (options.stopsignal, options.stopwaitsecs) == (signal.SIGTERM, 10.0)
    assert (options.stopasgroup, options.killasgroup, options.redirect_stderr) == (False,) * 3
    assert (options.stdout_logfile, options.stdout_logfile_maxbytes) == ("AUTO", 50 * 1024**2)
    assert (options.stderr_logfile_backups, options.umask, options.directory) == (10, None, None)
    assert options.priority == 999 and options.group == ""
    assert options.restartpause == 1.0 and options.backoff == "linear"  # nbsup-only: nbsup's
    assert read_config(write(tmp_path, "[program:x]\ncommand=sleep 1\n")).warning == ""


def test_every_nbsup_option_is_classified() -> None:
    assert set(CONVERTERS) == {"command", *SUPERVISORD_DEFAULTS, *NBSUP_ONLY, *NOT_IN_FILES}


# --------------------------------------------------------------------------- the warning


def test_one_warning_lists_every_ignored_section_and_option() -> None:
    warning = read_config(FILES / "full.conf").warning
    lines = warning.splitlines()
    assert (
        lines[0]
        == f"{FILES / 'full.conf'}: nbsup ignores what it does not support and accepts a few nbsup-only settings:"
    )
    expected = [
        "[supervisord] logfile, pidfile, nodaemon: ignored",
        "[unix_http_server] file: ignored",
        "[rpcinterface:supervisor] supervisor.rpcinterface_factory: ignored",
        "[supervisorctl] serverurl: ignored",
        "[eventlistener:crashmail] command, events: ignored: event listeners are not supported",
        "[fcgi-program:php] command, socket: ignored: FastCGI programs are not supported",
        "[program:web] user: ignored: programs run as the kernel's user",
        "[program:web] stdout_capture_maxbytes: ignored",
        "[program:web] stdout_events_enabled: ignored",
        "[program:web] serverurl: ignored",
        "[program:cron] priority: in [group:jobs] (priority=200)",
        "[program:tick] priority: in [group:jobs] (priority=200)",
        "[include] files: no file matches",
    ]
    for text in expected:
        assert sum(text in line for line in lines) == 1, text
    assert len(lines) == 1 + len(expected)


def test_nbsup_only_options_and_values_are_accepted_and_told() -> None:
    config = read_config(FILES / "nbsup_only.conf")
    quick = config.programs[0].options
    assert (quick.startsecs, quick.stopwaitsecs, quick.restartpause) == (0.25, 1.5, 0.0)
    assert (quick.backoff, quick.backoffmax, quick.stdout_timestamps) == ("exponential", 30, True)
    assert quick.stdout_logfile_maxbytes == int(1.5 * 1024**2)
    warning = config.warning
    assert "[program:quick] restartpause: nbsup-only option: supervisord has no pause" in warning
    assert "[program:quick] backoff, backoffmax: nbsup-only option" in warning
    assert "[program:quick] stdout_timestamps: nbsup-only option" in warning
    assert (
        "[program:quick] startsecs: nbsup-only value: supervisord needs a whole number" in warning
    )
    assert "[program:quick] stopwaitsecs: nbsup-only value" in warning
    assert "[program:quick] stdout_logfile_maxbytes: nbsup-only value" in warning


# --------------------------------------------------------------------------- syntax


def test_ini_rules_as_supervisord_reads_them() -> None:
    programs = by_name(FILES / "syntax.conf")
    assert set(programs) == {"colon", "comments", "continued", "spaced"}
    assert programs["colon"].options.command == "sleep 10"
    assert programs["colon"].options.autostart is False  # AUTOSTART: FALSE
    assert programs["colon"].options.startretries == 7  # from [DEFAULT]
    comments = programs["comments"].options
    assert comments.command == "echo a#b #kept-by-a-configparser-quirk"
    assert comments.directory == "/tmp;not-a-comment"
    assert comments.stopwaitsecs == 4
    continued = programs["continued"].options
    assert continued.command == "bash -c 'for i in 1 2 3; do\necho $i\n\ndone'"
    assert continued.startretries == 1  # the last one counts
    warning = read_config(FILES / "syntax.conf").warning
    assert "[program:continued] startretries: given more than once; the last one" in warning


def test_percent_escapes_and_environment_names(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "[program:x]\ncommand=echo %%(here)s 50%% %(ENV_NBSUP_CONF_TAG)s\n"
        'environment=K="%(ENV_NBSUP_CONF_TAG)s"\ndirectory=%(ENV_K)s\n',
    )
    options = read_config(path).programs[0].options
    assert options.command == "echo %(here)s 50% blue"
    assert dict(options.environment) == {"K": "blue"} and options.directory == "blue"
    assert read_config(path, environ={"NBSUP_CONF_TAG": "red"}).programs[0].options.command == (
        "echo %(here)s 50% red"
    )


def test_logfile_percent_is_expanded_twice_as_in_supervisord(tmp_path: Path) -> None:
    path = write(tmp_path, "[program:x]\ncommand=true\nstdout_logfile=%(here)s/a%%%%b.log\n")
    assert read_config(path).programs[0].options.stdout_logfile == f"{tmp_path}/a%b.log"


def test_program_name_rules(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "[program:w]\ncommand=sleep 1\nnumprocs=2\nnumprocs_start=9\n"
        "process_name=%(group_name)s_%(process_num)d_of_%(numprocs)d\n\n"
        "[program:single]\ncommand=sleep 1\nprocess_name=renamed\n",
    )
    config = read_config(path)
    assert [(p.group, p.name) for p in config.programs] == [
        ("single", "renamed"),
        ("w", "w_10_of_2"),  # by name within a group, as supervisord sorts
        ("w", "w_9_of_2"),
    ]
    assert config.programs[0].options.group == "single"


# --------------------------------------------------------------------------- includes


def test_includes_several_levels_deep_with_their_own_here() -> None:
    config = read_config(FILES / "nested" / "main.conf")
    programs = {p.name: p.options for p in config.programs}
    assert set(programs) == {"top", "middle", "bottom"}
    assert programs["middle"].directory == str(FILES / "nested" / "sub")
    assert programs["bottom"].directory == str(FILES / "nested" / "sub" / "deeper")
    assert "nbsup-only: read in an included file (supervisord 4.3.0 reads [include] only" in (
        config.warning
    )
    assert "given more than once" not in config.warning


def test_an_include_cycle_reads_each_file_once(tmp_path: Path) -> None:
    write(tmp_path, "[program:b]\ncommand=true\n[include]\nfiles=a.conf\n", "b.conf")
    path = write(tmp_path, "[program:a]\ncommand=true\n[include]\nfiles=*.conf\n", "a.conf")
    assert {p.name for p in read_config(path).programs} == {"a", "b"}


# --------------------------------------------------------------------------- select


def test_select_by_group_section_or_program_name() -> None:
    config = read_config(FILES / "full.conf")
    assert [p.name for p in config.select(["jobs"]).programs] == ["cron", "tick"]
    assert [p.name for p in config.select("jobs").programs] == ["cron", "tick"]  # one name
    assert [p.name for p in config.select(["worker"]).programs] == [
        "worker-01",
        "worker-02",
        "worker-03",
    ]
    picked = config.select(["web", "worker-02"])
    assert [p.name for p in picked.programs] == ["worker-02", "web"]
    assert "[program:web] user" in picked.warning
    assert "[program:cron]" not in picked.warning
    assert "[supervisord]" in picked.warning
    assert list(picked.groups) == []
    with pytest.raises(
        ConfigError, match=r"full.conf: no program or group named 'wbe' in it; did you mean 'web'\?"
    ):
        config.select(["web", "wbe"])
