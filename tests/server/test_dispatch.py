"""Every command the IMAP and ManageSieve parsers accept has a handler in its
protocol's dispatch table (keyed by the parsed command's class)."""

from __future__ import annotations

import pytest

from academail.imap.commands import HANDLERS as IMAP_HANDLERS
from academail.imap.parsing import parse_command as parse_imap
from academail.imap.parsing.commands import KNOWN_COMMANDS
from academail.imap.state import ALLOWED as IMAP_ALLOWED
from academail.managesieve.parsing import parse_command as parse_sieve
from academail.managesieve.session import HANDLERS as SIEVE_HANDLERS
from academail.managesieve.state import ALLOWED as SIEVE_ALLOWED

IMAP_EXAMPLES = [
    "CAPABILITY", "NOOP", "LOGOUT", "STARTTLS", "CHECK", "CLOSE", "UNSELECT", "EXPUNGE", "NAMESPACE", "IDLE",
    'LOGIN julie "secret"', "AUTHENTICATE PLAIN", 'ID ("name" "x")', "ENABLE CONDSTORE", "SELECT INBOX",
    "EXAMINE INBOX", "CREATE a", "DELETE a", "SUBSCRIBE a", "UNSUBSCRIBE a", "GETQUOTAROOT INBOX",
    'GETQUOTA ""', "RENAME a b", 'LIST "" "*"', 'LSUB "" "*"', "STATUS INBOX (MESSAGES)",
    "APPEND INBOX {1+}\r\nx", "SEARCH ALL", "FETCH 1 FLAGS", "STORE 1 +FLAGS (\\Seen)", "COPY 1 a", "MOVE 1 a",
    "UID SEARCH ALL", "UID FETCH 1 FLAGS", "UID STORE 1 +FLAGS (\\Seen)", "UID COPY 1 a", "UID MOVE 1 a",
    "UID EXPUNGE 1", "GETACL INBOX", "SETACL INBOX bob lr", "DELETEACL INBOX bob", "LISTRIGHTS INBOX bob",
    "MYRIGHTS INBOX", "SORT (DATE) UTF-8 ALL", "THREAD REFERENCES UTF-8 ALL", "COMPRESS DEFLATE",
    "NOTIFY NONE", 'CANCELUPDATE "t1"',
]
SIEVE_EXAMPLES = [
    "CAPABILITY", "LOGOUT", "STARTTLS", "LISTSCRIPTS", "UNAUTHENTICATE", "NOOP", 'AUTHENTICATE "PLAIN"',
    'HAVESPACE "a" 10', 'PUTSCRIPT "a" "keep;"', 'SETACTIVE "a"', 'GETSCRIPT "a"', 'DELETESCRIPT "a"',
    'RENAMESCRIPT "a" "b"', 'CHECKSCRIPT "keep;"',
]


def test_the_examples_cover_every_imap_command():
    names = {parse_imap(b"t " + text.encode()).name for text in IMAP_EXAMPLES}
    assert names == set(IMAP_ALLOWED) and names >= KNOWN_COMMANDS - {"UID"}


@pytest.mark.parametrize("text", IMAP_EXAMPLES)
def test_every_imap_command_has_a_handler(text):
    assert IMAP_HANDLERS.handles(type(parse_imap(b"t " + text.encode())))


def test_the_examples_cover_every_managesieve_command():
    assert {parse_sieve(text.encode()).name for text in SIEVE_EXAMPLES} == set(SIEVE_ALLOWED)


@pytest.mark.parametrize("text", SIEVE_EXAMPLES)
def test_every_managesieve_command_has_a_handler(text):
    assert SIEVE_HANDLERS.handles(type(parse_sieve(text.encode())))
