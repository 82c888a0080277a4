"""The pure parsing layer: examples from the RFCs, modified UTF-7, and a
hypothesis fuzz target (any bytes give a command or a ParseError, nothing else)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from academail.imap.parsing import ParseError, parse_command, utf7
from academail.imap.parsing import commands as C
from academail.imap.parsing import search as S
from academail.imap.parsing.fetch import Section


def test_fetch_section_with_fields_and_partial():
    command = parse_command(b"a1 UID FETCH 1:* (UID BODY.PEEK[1.2.HEADER.FIELDS (From To)]<0.100>)")
    assert isinstance(command, C.Fetch) and command.uid
    item = command.items[1]
    assert item.section == Section((1, 2), "HEADER.FIELDS", ("FROM", "TO")) and item.partial == (0, 100) and item.peek
    assert item.response_name() == "BODY[1.2.HEADER.FIELDS (FROM TO)]<0>"


def test_sequence_sets():
    command = parse_command(b"a FETCH *:1,5,7:9 FLAGS")
    assert command.set.resolve(10) == [(1, 10), (5, 5), (7, 9)]
    for bad in (b"a FETCH 0 FLAGS", b"a FETCH 4294967296 FLAGS", b"a FETCH 1:: FLAGS", b"a FETCH , FLAGS"):
        with pytest.raises(ParseError):
            parse_command(bad)


def test_literals_and_literal_plus():
    command = parse_command(b'a LOGIN {5}\r\njulie {8+}\r\npa"ss wd')
    assert isinstance(command, C.Login) and command.user == "julie" and command.password == 'pa"ss wd'
    with pytest.raises(ParseError):
        parse_command(b"a LOGIN {50}\r\nshort x")


def test_search_program():
    command = parse_command(b'a SEARCH CHARSET UTF-8 OR SUBJECT "r\xc3\xa9union" NOT SEEN SENTSINCE "1-Feb-2024" LARGER 10')
    assert command.charset == "UTF-8"
    assert command.key == S.And((
        S.Or(S.TextKey("subject", "réunion"), S.Not(S.FlagKey("\\Seen", True))),
        S.DateKey("sent", "since", dt.date(2024, 2, 1)),
        S.SizeKey(True, 10),
    ))


def test_mailbox_names_and_utf8_mode():
    assert parse_command(b"a SELECT Envoy&AOk-s").mailbox == "Envoyés"
    assert parse_command(b'a SELECT "Envoy\xc3\xa9s"', utf8=True).mailbox == "Envoyés"
    with pytest.raises(ParseError):
        parse_command(b'a SELECT "Envoy\xc3\xa9s"')


@pytest.mark.parametrize("name", ["Envoyés", "Indésirables", "a&b", "日本語", "Élèves/3eB", "x\U0001f600y"])
def test_utf7_round_trip(name):
    assert utf7.decode(utf7.encode(name)) == name


@pytest.mark.parametrize("bad", [b"&AOk", b"&AGE-", b"&AOk-&AOk-", b"&A-", b"\xc3\xa9", b"&Jjo!-"])
def test_utf7_rejects_non_canonical(bad):
    with pytest.raises(utf7.UTF7Error):
        utf7.decode(bad)


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=300))
def test_fuzz_random_bytes(data):
    try:
        parse_command(data)
    except ParseError:
        pass


_TOKENS = [b"a", b" ", b"(", b")", b"[", b"]", b"<", b">", b".", b"*", b":", b",", b'"', b"\\", b"{3}\r\n",
           b"{2+}\r\n", b"1", b"42", b"FETCH", b"UID", b"SEARCH", b"STORE", b"BODY", b"BODY.PEEK", b"HEADER.FIELDS",
           b"FLAGS", b"+FLAGS", b"NOT", b"OR", b"SELECT", b"LIST", b"APPEND", b"NIL", b"&", b"-", b"RETURN", b"\x00",
           b"\xc3\xa9", b"MIME", b"TEXT", b"CHANGEDSINCE", b"QRESYNC"]


@settings(max_examples=1500, deadline=None)
@given(st.lists(st.sampled_from(_TOKENS), max_size=40), st.booleans())
def test_fuzz_grammar_tokens(tokens, utf8):
    try:
        command = parse_command(b"t " + b"".join(tokens), utf8=utf8)
    except ParseError:
        return
    assert isinstance(command, C.Command) and command.tag == "t"
