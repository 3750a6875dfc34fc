"""A malformed file: one ConfigError naming file, line, section, option and the problem, and
nothing loaded. Where nbsup says supervisord refuses the file too, the real one is asked."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from supervisord_conf_oracle import read_with_supervisord

from nbsup.config import ConfigError, read_config

BROKEN = Path(__file__).parent / "files" / "broken"

#: file: (file the error is in, line, section, option, problem, does supervisord refuse it)
CASES = {
    "no_header.conf": (None, 1, None, None, "an option before any [section] header: 'command=sleep 1'", True),
    "garbage_line.conf": (None, 3, None, None, "cannot parse 'this line is not an option'", True),
    "bad_value.conf": (None, 3, "program:web", "startsecs=abc", "expected a number of seconds >= 0", True),
    "unknown_option.conf": (None, 3, "program:web", "startsec", "unknown option: did you mean 'startsecs'?", False),
    "missing_command.conf": (None, 1, "program:web", None, "a [program:x] section needs a command=", True),
    "duplicate_section.conf": (None, 7, "program:web", None, "defined twice (first at", False),
    "duplicate_name.conf": (None, 5, "program:b", None, "duplicate program name 'same' (also made by [program:a]", False),
    "numprocs_without_process_num.conf": (None, 4, "program:w", "process_name=w", "%(process_num) must be present within process_name when numprocs > 1", True),
    "numprocs_zero.conf": (None, 3, "program:w", "numprocs=0", "expected a whole number >= 1", False),
    "numprocs_not_a_number.conf": (None, 3, "program:w", "numprocs=two", "expected a whole number", True),
    "missing_include.conf": (None, 5, "include", "files=conf.d/*.conf missing.conf", "the included file", False),
    "include_without_files.conf": (None, 4, "include", None, "an [include] section needs a files= setting", True),
    "group_unknown_program.conf": (None, 5, "group:g", "programs=a,ghost", "names unknown program 'ghost'", True),
    "group_unknown_option.conf": (None, 6, "group:g", "priorty", "unknown option: did you mean 'priority'?", False),
    "program_in_two_groups.conf": (None, 7, "group:h", "programs", "program 'a' is also in [group:g]", False),
    "group_and_program_same_name.conf": (None, 7, "program:a2", None, "[group:a2] and [program:a2] both make a group named 'a2'", False),
    "unknown_expansion.conf": (None, 2, "program:x", "command=echo %(nope)s", "%(nope)s cannot be expanded here; known names: group_name, here", True),
    "bare_percent.conf": (None, 2, "program:x", "command=echo 100% done", "a % that names nothing: write %% for a literal %", True),
    "process_num_too_early.conf": (None, 3, "program:x", "startsecs=%(process_num)s", "%(process_num)s cannot be expanded here", True),
    "group_option.conf": (None, 3, "program:x", "group=g", "list the program in a [group:x] section's programs= instead", False),
    "killasgroup_false.conf": (None, 4, "program:x", "killasgroup=false", "killasgroup must be true when stopasgroup is true", True),
    "bad_name.conf": (None, 1, "program:bad!name", None, "a program name uses letters, digits and _ . @ + -", False),
    "logfile_folder_missing.conf": (None, 3, "program:x", "stdout_logfile=/nonexistent-nbsup-dir/x.log", "the directory /nonexistent-nbsup-dir does not exist", True),
    "bad_environment.conf": (None, 3, "program:x", "environment=A=1 B=2", "unexpected end of key/value pairs", True),
    "bad_autorestart.conf": (None, 3, "program:x", "autorestart=sometimes", "expected false, unexpected or true", True),
    "bad_exitcodes.conf": (None, 3, "program:x", "exitcodes=0,256", "expected exit codes from 0 to 255", True),
    "bad_signal.conf": (None, 3, "program:x", "stopsignal=NOPE", "expected a signal name or number", True),
    "includes_a_broken_file.conf": ("included/broken_inside.conf", 3, "program:y", "startretries=many", "expected a whole number", True),
}  # fmt: skip


def test_every_broken_file_has_a_case() -> None:
    assert {p.name for p in BROKEN.glob("*.conf")} == set(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_error_names_file_line_section_option_and_problem(name: str) -> None:
    in_file, line, section, option, problem, _ = CASES[name]
    path = BROKEN / name
    with pytest.raises(ConfigError) as caught:
        read_config(path)
    error = caught.value
    message = str(error)
    assert "\n" not in message
    expected_file = str(path) if in_file is None else str(BROKEN / in_file)
    assert (error.file, error.line) == (expected_file, line)
    assert error.section == section
    prefix = f"{expected_file}:{line}: "
    if section is not None:
        prefix += f"[{section}]" + (f" {option}" if option else "") + ": "
    assert message.startswith(prefix), message
    assert problem in message, message


@pytest.mark.parametrize("name", sorted(CASES))
def test_supervisord_refuses_the_same_files(name: str, tmp_path: Path) -> None:
    """nbsup refuses more than supervisord (typos, clashes it would resolve silently), never
    less; 'supervisord refuses it too' in a message must be true."""
    copy = tmp_path / "broken"
    shutil.copytree(BROKEN, copy)
    path = copy / name
    with path.open("a") as handle:
        handle.write("\n[supervisord]\n")  # supervisord needs it; appended, lines stay put
    refuses = CASES[name][-1]
    try:
        read_with_supervisord(str(path))
    except ValueError:
        assert refuses, f"supervisord refuses {name} too: mark it so"
    else:
        assert not refuses, f"supervisord reads {name}"
    with pytest.raises(ConfigError) as caught:
        read_config(path)
    if "supervisord refuses it too" in str(caught.value):
        assert refuses
