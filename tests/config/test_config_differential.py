"""The real supervisord 4.3.0 and nbsup read the same files: the same programs, groups,
start order and option values (for every option both have). Also on generated files, and on
the files nbsup writes."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from supervisord_conf_oracle import nbsup_terms, supervisord_programs

from nbsup.config import ConfigError, read_config, to_supervisord_conf

pytestmark = pytest.mark.differential

FILES = Path(__file__).parent / "files"


@pytest.fixture(autouse=True)
def conf_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NBSUP_CONF_PORT", "8123")
    monkeypatch.setenv("NBSUP_CONF_TAG", "blue")


def nbsup_programs(path: Path | str) -> list[tuple[str, str, dict]]:
    return [(p.group, p.name, nbsup_terms(p.options)) for p in read_config(path).programs]


@pytest.mark.parametrize("name", ["full.conf", "syntax.conf"])
def test_fixture_files_read_the_same(name: str) -> None:
    path = FILES / name
    assert nbsup_programs(path) == supervisord_programs(str(path))


def test_nested_includes_are_nbsup_only() -> None:
    path = FILES / "nested" / "main.conf"
    theirs = supervisord_programs(str(path))
    ours = nbsup_programs(path)
    assert [p for p in ours if p[1] != "bottom"] == theirs
    assert [p[1] for p in ours if p not in theirs] == ["bottom"]


def same_programs(exported: Path, original: list[tuple[str, str, dict]]) -> None:
    """supervisord reads the exported file as nbsup reads it, and finds the original programs.

    (Their start order within a group can differ: a group has one priority in nbsup, so
    members' own priorities, which only order them within the group, are not written.)
    """
    theirs = supervisord_programs(str(exported))
    assert theirs == nbsup_programs(exported)
    assert sorted(theirs, key=repr) == sorted(original, key=repr)


@pytest.mark.parametrize("name", ["full.conf", "syntax.conf"])
def test_the_exported_file_reads_the_same_in_supervisord(name: str, tmp_path: Path) -> None:
    exported = tmp_path / "exported.conf"
    exported.write_text(to_supervisord_conf(read_config(FILES / name).options))
    same_programs(exported, nbsup_programs(FILES / name))


# --------------------------------------------------------------------------- generated files


def _cased(words: list[str]) -> st.SearchStrategy[str]:
    return st.sampled_from(words).flatmap(lambda w: st.sampled_from([w, w.upper(), w.capitalize()]))


_BOOL = _cased(["true", "false", "yes", "no", "on", "off", "1", "0"])
_INT = st.integers(0, 99).map(str)
_OPTIONS = {
    "autostart": _BOOL,
    "autorestart": st.one_of(_BOOL, _cased(["unexpected"])),
    "startsecs": _INT,
    "startretries": _INT,
    "stopwaitsecs": _INT,
    "exitcodes": st.lists(st.integers(0, 255), min_size=1, max_size=3).map(
        lambda codes: ", ".join(map(str, codes))
    ),
    "stopsignal": st.sampled_from(["TERM", "int", "SIGHUP", "kill", "9", "usr1", "SIGUSR2"]),
    "stopasgroup": _BOOL,
    "killasgroup": _BOOL,
    "redirect_stderr": _BOOL,
    "priority": st.integers(-5, 1000).map(str),
    "umask": st.sampled_from(["022", "002", "077", "0"]),
    "directory": st.sampled_from(["%(here)s", "/tmp", "%(ENV_NBSUP_CONF_TAG)s-dir"]),
    "environment": st.lists(
        st.tuples(
            st.sampled_from(["A", "B_2", "PATHX"]),
            st.sampled_from(['"x, y"', "plain", "'single q'", '"%(program_name)s"', '"50%%"']),
        ),
        min_size=1,
        max_size=3,
    ).map(lambda pairs: ",".join(f"{k}={v}" for k, v in pairs)),
    "stdout_logfile": st.sampled_from(
        ["AUTO", "NONE", "off", "%(here)s/%(program_name)s.log", "%(here)s/x%%%%y.log"]
    ),
    "stderr_logfile": st.sampled_from(["auto", "none", "%(here)s/err-%(process_num)d.log"]),
    "stdout_logfile_maxbytes": st.sampled_from(["0", "1024", "10KB", "5mb", "1GB"]),
    "stderr_logfile_backups": _INT,
}
_COMMANDS = st.sampled_from(
    ["sleep 1", "echo %(program_name)s %(process_num)02d 100%%", 'bash -c "echo a;b"']
)


@st.composite
def program_sections(draw: st.DrawFn, name: str) -> str:
    lines = [f"[program:{name}]", f"command={draw(_COMMANDS)}"]
    chosen = draw(st.lists(st.sampled_from(sorted(_OPTIONS)), unique=True, max_size=8))
    lines += [f"{option}={draw(_OPTIONS[option])}" for option in chosen]
    if draw(st.booleans()):
        lines += [
            f"numprocs={draw(st.integers(1, 3))}",
            "process_name=%(program_name)s_%(process_num)d",
        ]
        if draw(st.booleans()):
            lines.append(f"numprocs_start={draw(st.integers(0, 12))}")
    return "\n".join(lines) + "\n"


@st.composite
def config_files(draw: st.DrawFn) -> str:
    names = draw(st.lists(st.sampled_from("abcdef"), unique=True, min_size=1, max_size=4))
    sections = ["[supervisord]\n"]
    if draw(st.booleans()):
        sections.append(f"[DEFAULT]\nstartretries={draw(_INT)}\n")
    sections += [draw(program_sections(name)) for name in names]
    grouped = draw(st.lists(st.sampled_from(names), unique=True, max_size=len(names)))
    if grouped:
        priority = draw(st.integers(0, 1000))
        sections.append(f"[group:grp]\nprograms={','.join(grouped)}\npriority={priority}\n")
    return "\n".join(draw(st.permutations(sections)))


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(text=config_files())
def test_generated_files_read_the_same(text: str, tmp_path: Path) -> None:
    path = tmp_path / "generated.conf"
    path.write_text(text)
    try:
        theirs = supervisord_programs(str(path))
    except ValueError:
        with pytest.raises(ConfigError):
            read_config(path)
        return
    assert nbsup_programs(path) == theirs
    exported = tmp_path / "exported.conf"
    exported.write_text(to_supervisord_conf(read_config(path).options))
    same_programs(exported, theirs)
