"""The pure command parser (RFC 5804 §4): strings quoted and literal, numbers,
case-insensitive names, and what it refuses."""

from __future__ import annotations

import pytest

from academail.managesieve.parsing import (
    Authenticate,
    CheckScript,
    HaveSpace,
    Noop,
    ParseError,
    PutScript,
    RenameScript,
    ScriptName,
    parse_command,
    parse_sasl_response,
)


def test_putscript_with_a_literal_holding_braces_and_quotes():
    script = b'if header :contains "subject" "{3}" {\r\n  keep;\r\n}\r\n'
    command = parse_command(b'PutScript "r\\"\\\\x" {%d+}\r\n' % len(script) + script)
    assert command == PutScript("PUTSCRIPT", 'r"\\x', script)


def test_synchronizing_literal_is_read_the_same_way():
    assert parse_command(b"GETSCRIPT {3}\r\nabc") == ScriptName("GETSCRIPT", "abc")


def test_each_command_and_its_arguments():
    assert parse_command(b'AUTHENTICATE "plain"') == Authenticate("AUTHENTICATE", "PLAIN", None)
    assert parse_command(b'AUTHENTICATE "PLAIN" "AGEAYg=="') == Authenticate("AUTHENTICATE", "PLAIN", b"AGEAYg==")
    assert parse_command(b'HAVESPACE "a" 4294967295') == HaveSpace("HAVESPACE", "a", 4294967295)
    assert parse_command(b'renamescript "a" "b"') == RenameScript("RENAMESCRIPT", "a", "b")
    assert parse_command(b"CHECKSCRIPT {5+}\r\nkeep;") == CheckScript("CHECKSCRIPT", b"keep;")
    assert parse_command(b"NOOP") == Noop("NOOP", None)
    assert parse_command(b'NOOP "t"') == Noop("NOOP", "t")
    assert parse_command(b"LISTSCRIPTS").name == "LISTSCRIPTS"
    assert parse_command('SETACTIVE "réunions"'.encode()) == ScriptName("SETACTIVE", "réunions")


@pytest.mark.parametrize(
    "data",
    [
        b'HAVESPACE "a" 4294967296',  # number too large
        b'HAVESPACE "a" "10"',  # a string where a number goes
        b"GETSCRIPT a",  # an atom where a string goes
        b'GETSCRIPT "a" "b"',  # too many arguments
        b"PUTSCRIPT \"a\"",  # too few
        b'GETSCRIPT "a',  # unterminated
        b'GETSCRIPT "a\\b"',  # "\" escapes only \ and "
        b'GETSCRIPT "a""b"',  # no space between arguments
        b"GETSCRIPT {10+}\r\nabc",  # literal shorter than announced
        b"GETSCRIPT {3+}abc",  # no CRLF after the literal's size
        b'GETSCRIPT "\xff"',  # not UTF-8
    ],
)
def test_malformed_commands(data):
    with pytest.raises(ParseError) as caught:
        parse_command(data)
    assert not caught.value.unknown


def test_unknown_command():
    with pytest.raises(ParseError) as caught:
        parse_command(b"SELECT INBOX")
    assert caught.value.unknown
    with pytest.raises(ParseError):
        parse_command(b'"GETSCRIPT"')


def test_sasl_response_is_one_string():
    assert parse_sasl_response(b'"abc="') == b"abc="
    assert parse_sasl_response(b"{4+}\r\nabc=") == b"abc="
    with pytest.raises(ParseError):
        parse_sasl_response(b"abc")
