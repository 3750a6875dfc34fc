"""The ini syntax: nbsup's reader against Python's RawConfigParser as supervisord configures
it, on hand-picked lines and on generated ones."""

from __future__ import annotations

import configparser
import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nbsup.config.errors import ConfigError
from nbsup.config.ini import parse_ini


def supervisord_parser_reading(text: str) -> dict[str, dict[str, str]] | None:
    """What supervisord's UnhosedConfigParser settings make of ``text`` (None: refused)."""
    parser = configparser.RawConfigParser(inline_comment_prefixes=(";", "#"), strict=False)
    try:
        parser.read_string(text)
    except configparser.Error:
        return None
    found = {"DEFAULT": dict(parser.defaults())}
    for section in parser.sections():
        found[section] = {option: parser.get(section, option) for option in parser.options(section)}
    return found


def nbsup_reading(text: str) -> dict[str, dict[str, str]] | None:
    try:
        parsed = parse_ini(io.StringIO(text), "test.conf")
    except ConfigError:
        return None
    defaults = {k: e.value for k, e in parsed.defaults.options.items()}
    found: dict[str, dict[str, str]] = {"DEFAULT": dict(defaults)}
    for section in parsed.sections:
        merged = found.setdefault(section.name, dict(defaults))
        merged.update({k: e.value for k, e in section.options.items()})
    return found


CASES = [
    "[a]\nx=1\n",
    "[a]\nX : 1\n",
    "[a]\nx=a;b\ny=a ;b\nz=a\t#b\nw=a#b #c ;d\n",
    "; comment\n# comment\n[a]\n  ; indented comment\nx=1\n",
    "[a]\nx=first\n   second\n\n   third\n\n\n[b]\n",
    "[a]\nx=first\n; a comment line does not add a blank\n  second\n",
    "[a] trailing junk\nx=1\n",
    "[a]\nx=1\n[a]\ny=2\nx=3\n",
    "[DEFAULT]\nd=1\n[a]\nx=2\n[b]\nd=3\n",
    "x=1\n",
    "[a]\nnot an option\n",
    "[a]\n=value\n",
    "[a]\nx=\n",
    "[a]\n  x = spaced  \n",
    "[]\nx=1\n",
    "[a]\nx==1\ny:=2\n",
]


@pytest.mark.parametrize("text", CASES)
def test_hand_picked_lines_read_as_supervisord_reads_them(text: str) -> None:
    assert nbsup_reading(text) == supervisord_parser_reading(text)


def test_values_remember_their_file_and_line() -> None:
    parsed = parse_ini(io.StringIO("[a]\n\nx=1\n  more\ny=2\n"), "f.conf")
    entries = parsed.sections[0].options
    assert (entries["x"].value, entries["x"].file, entries["x"].line) == ("1\nmore", "f.conf", 3)
    assert entries["y"].line == 5
    assert (parsed.sections[0].name, parsed.sections[0].line) == ("a", 1)


def test_the_first_bad_line_is_named() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_ini(io.StringIO("[a]\nx=1\noops\nalso bad\n"), "f.conf")
    assert str(caught.value).startswith("f.conf:3: cannot parse 'oops'")


_TEXT = st.text(alphabet="ab;#=:[] \t", max_size=10)
_OPTION = st.builds(
    "{}{}{}{}".format,
    st.sampled_from(["", " ", "\t"]),
    st.sampled_from(["k", "K", "b"]),
    st.sampled_from(["=", ":", " = "]),
    _TEXT,
)
_LINE = st.one_of(
    st.text(alphabet="ab;#=:[] \tDEFAULT", max_size=14),
    st.builds("[{}]{}".format, st.sampled_from(["a", "b", "DEFAULT", " a "]), _TEXT),
    _OPTION,
    _OPTION,
    _OPTION,
    st.sampled_from(["", "  ", "; c", "  # c", "   indented"]),
)


def test_generated_files_read_as_supervisord_reads_them() -> None:
    readable: list[bool] = []

    @settings(max_examples=400, deadline=None, database=None)
    @given(st.lists(_LINE, max_size=12), st.booleans())
    def check(lines: list[str], header: bool) -> None:
        text = ("[a]\n" if header else "") + "".join(line + "\n" for line in lines)
        expected = supervisord_parser_reading(text)
        assert nbsup_reading(text) == expected
        readable.append(expected is not None)

    check()
    assert sum(readable) > len(readable) // 8, "the generator must make readable files too"
