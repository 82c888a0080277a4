"""The pure command parser (RFC 5804 §4): strings quoted and literal, numbers,
case-insensitive names, and what it refuses."""

from __future__ import annotations

import random

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


def test_fuzz_only_parse_errors():
    """Random mutations of valid commands: the parser answers a command or a
    ParseError, never another exception (a crash would drop the connection)."""
    seeds = [b'PUTSCRIPT "a" {5+}\r\nkeep;', b'HAVESPACE "x" 12', b'AUTHENTICATE "PLAIN" "AGEAYg=="',
             b'RENAMESCRIPT {1+}\r\na "b"', b'NOOP "t\\\"q"']
    alphabet = b' "{}+\\\r\n0123456789aZ\xff\x00'
    rng = random.Random(5804)
    for _ in range(5000):
        data = bytearray(rng.choice(seeds))
        for _ in range(rng.randint(1, 4)):
            pos = rng.randrange(len(data) + 1)
            if rng.random() < 0.5 and data:
                del data[min(pos, len(data) - 1)]
            else:
                data[pos:pos] = bytes([rng.choice(alphabet)])
        try:
            parse_command(bytes(data))
        except ParseError:
            pass
