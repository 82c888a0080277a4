"""CONTEXT=SEARCH and CONTEXT=SORT (RFC 5267 §4) as transcripts over real
TLS: the CONTEXT hint, live searches (UPDATE) told of ADDTO and REMOVEFROM
as another session or a delivery changes the mailbox, their bound, and
CANCELUPDATE; PARTIAL windows of SEARCH and SORT results. The commands are
the RFC's examples (their tags and programs) over a small mailbox."""

from __future__ import annotations

import imaplib

import pytest

from academail.imap import limits
from tests.imap.conftest import PASSWORD, client_context
from tests.imap.helpers import deliver_to


def run(client, tag: str, text: str):
    """A command with the RFC example's own tag (ESEARCH correlates by it)."""
    client.send(f"{tag} {text}\r\n".encode())
    return client.read_until(tag)


def esearch(response, tag: str) -> list[bytes]:
    return [line for line in response.untagged if line.startswith(f'* ESEARCH (TAG "{tag}")'.encode())]


@pytest.fixture
def four(user):
    for subject in ("Budget", "Appel", "Conseil", "Demande"):
        deliver_to(user, subject=subject)
    return user


@pytest.fixture
def other(connect, four):
    """A second session of the same account, which changes the mailbox."""
    client = connect()
    client.login(four)
    assert client.cmd("SELECT INBOX").ok
    return client


def test_capabilities_advertised(session):
    """§4.1: CONTEXT=SEARCH and CONTEXT=SORT, beside ESEARCH, SORT and ESORT."""
    caps = session.cmd("CAPABILITY").untagged[0].split()
    for name in (b"CONTEXT=SEARCH", b"CONTEXT=SORT", b"ESEARCH", b"ESORT", b"SORT"):
        assert name in caps


def test_context_hint_is_accepted(four, session):
    """§4.2: ``RETURN (CONTEXT COUNT)`` is a hint; the count comes back."""
    assert session.cmd("SELECT INBOX").ok
    assert session.cmd("STORE 4 +FLAGS ($Junk)").ok
    response = run(session, "A01", "SEARCH RETURN (CONTEXT COUNT) UNDELETED UNKEYWORD $Junk")
    assert response.ok
    assert esearch(response, "A01") == [b'* ESEARCH (TAG "A01") COUNT 3\r\n']


def test_update_adds_what_another_session_flags(four, session, other):
    """§4.3 and §4.3.3: ``B01 UID SEARCH RETURN (UPDATE COUNT) DELETED
    KEYWORD $Junk``; messages another session flags enter the result as
    ``ADDTO (0 uids)`` (position 0 for SEARCH, mailbox order)."""
    assert session.cmd("SELECT INBOX").ok
    response = run(session, "B01", "UID SEARCH RETURN (UPDATE COUNT) DELETED KEYWORD $Junk")
    assert response.ok and esearch(response, "B01") == [b'* ESEARCH (TAG "B01") UID COUNT 0\r\n']
    assert other.cmd("STORE 2:3 +FLAGS (\\Deleted $Junk)").ok
    noop = session.cmd("NOOP")
    assert esearch(noop, "B01") == [b'* ESEARCH (TAG "B01") UID ADDTO (0 2:3)\r\n']
    # §4.3: the same tag again with UPDATE while B01 lives is BAD.
    assert run(session, "B01", "UID SEARCH RETURN (UPDATE) ALL").status == "BAD"
    # Nothing more when nothing changes.
    assert esearch(session.cmd("NOOP"), "B01") == []


def test_update_removes_and_own_store_is_told_at_once(four, session):
    """§4.3.4: a message that no longer matches leaves with REMOVEFROM; the
    session's own STORE is reflected in its own response."""
    assert session.cmd("SELECT INBOX").ok
    assert run(session, "B01", "SEARCH RETURN (UPDATE) UNSEEN").ok
    store = session.cmd("STORE 2 +FLAGS (\\Seen)")
    assert esearch(store, "B01") == [b'* ESEARCH (TAG "B01") REMOVEFROM (0 2)\r\n']
    store = session.cmd("STORE 2 -FLAGS (\\Seen)")
    assert esearch(store, "B01") == [b'* ESEARCH (TAG "B01") ADDTO (0 2)\r\n']


def test_new_mail_addto_after_exists(four, session):
    """§4.3.3: ADDTO in sequence numbers for delivered messages comes after
    their EXISTS, so the numbers are valid."""
    assert session.cmd("SELECT INBOX").ok
    assert run(session, "B01", "SEARCH RETURN (UPDATE) UNSEEN").ok
    deliver_to(four, subject="Nouveau")
    lines = session.cmd("NOOP").untagged
    assert b"* 5 EXISTS\r\n" in lines
    assert b'* ESEARCH (TAG "B01") ADDTO (0 5)\r\n' in lines
    assert lines.index(b"* 5 EXISTS\r\n") < lines.index(b'* ESEARCH (TAG "B01") ADDTO (0 5)\r\n')


def test_removefrom_before_expunge(four, session, other):
    """§4.3.4: ``REMOVEFROM (0 n)`` is sent before the EXPUNGE of message n
    (the RFC's ``REMOVEFROM (0 32768)`` then ``* 23762 EXPUNGE``)."""
    assert session.cmd("SELECT INBOX").ok
    assert run(session, "B01", "SEARCH RETURN (UPDATE) ALL").ok
    assert other.cmd("STORE 3 +FLAGS.SILENT (\\Deleted)").ok and other.cmd("EXPUNGE").ok
    lines = session.cmd("NOOP").untagged
    removal = b'* ESEARCH (TAG "B01") REMOVEFROM (0 3)\r\n'
    assert removal in lines and b"* 3 EXPUNGE\r\n" in lines
    assert lines.index(removal) < lines.index(b"* 3 EXPUNGE\r\n")
    # The session's own EXPUNGE too, with the numbers renumbered since.
    assert session.cmd("STORE 3 +FLAGS.SILENT (\\Deleted)").ok
    lines = session.cmd("EXPUNGE").untagged
    assert lines.index(b'* ESEARCH (TAG "B01") REMOVEFROM (0 3)\r\n') < lines.index(b"* 3 EXPUNGE\r\n")


def test_sort_context_positions(four, session, other):
    """§4.3.3 and §4.3.4 for SORT: positions in the sort order. By subject the
    result is Appel(2) Budget(1) Conseil(3) Demande(4)."""
    assert session.cmd("SELECT INBOX").ok
    response = run(session, "C01", "UID SORT RETURN (UPDATE ALL) (SUBJECT) UTF-8 UNSEEN")
    assert esearch(response, "C01") == [b'* ESEARCH (TAG "C01") UID ALL 2,1,3:4\r\n']
    deliver_to(four, subject="Bulletin")  # between Budget and Conseil: position 3
    lines = session.cmd("NOOP").untagged
    assert b'* ESEARCH (TAG "C01") UID ADDTO (3 5)\r\n' in lines
    assert other.cmd("STORE 1,3 +FLAGS (\\Seen)").ok  # Budget (2nd) and Conseil (4th) leave
    lines = session.cmd("NOOP").untagged
    assert b'* ESEARCH (TAG "C01") UID REMOVEFROM (2 1 3 3)\r\n' in lines
    assert other.cmd("STORE 1,3 -FLAGS (\\Seen)").ok  # and come back at their places
    lines = session.cmd("NOOP").untagged
    assert b'* ESEARCH (TAG "C01") UID ADDTO (2 1 4 3)\r\n' in lines
    final = run(session, "C02", "UID SORT RETURN (ALL) (SUBJECT) UTF-8 UNSEEN")
    assert esearch(final, "C02") == [b'* ESEARCH (TAG "C02") UID ALL 2,1,5,3:4\r\n']


def test_noupdate_past_the_bound(four, session, monkeypatch):
    """§4.3.1: past the session's bound, ``* NO [NOUPDATE "tag"]``; the
    search is still answered and completes OK; at least one context is given."""
    assert session.cmd("SELECT INBOX").ok
    for n in range(limits.MAX_UPDATE_CONTEXTS):
        response = run(session, f"B{n:02d}", "UID SEARCH RETURN (UPDATE) ALL")
        assert response.ok and not response.find(rb"NOUPDATE")
    response = run(session, "B99", "UID SEARCH RETURN (UPDATE COUNT) ALL")
    assert response.ok
    assert esearch(response, "B99") == [b'* ESEARCH (TAG "B99") UID COUNT 4\r\n']
    assert response.find(rb'^\* NO \[NOUPDATE "B99"\]')
    # The UID bound: a result bigger than what the session may hold is refused.
    assert run(session, "X01", "CANCELUPDATE " + " ".join(f'"B{n:02d}"' for n in range(limits.MAX_UPDATE_CONTEXTS))).ok
    monkeypatch.setattr(limits, "MAX_CONTEXT_UIDS", 3)
    response = run(session, "B02", "UID SEARCH RETURN (UPDATE) ALL")
    assert response.ok and response.find(rb'^\* NO \[NOUPDATE "B02"\]')
    response = run(session, "B03", "UID SEARCH RETURN (UPDATE) 1:3")
    assert response.ok and not response.find(rb"NOUPDATE")


def test_cancelupdate(four, session, other):
    """§4.3.5: ``B04 CANCELUPDATE "B01"`` stops the updates; a tag naming no
    live search is NO, a missing argument BAD."""
    assert session.cmd("SELECT INBOX").ok
    assert run(session, "B01", "UID SEARCH RETURN (UPDATE) FLAGGED").ok
    cancel = run(session, "B04", 'CANCELUPDATE "B01"')
    assert cancel.ok and b"No further updates" in cancel.tagged
    assert other.cmd("STORE 1 +FLAGS (\\Flagged)").ok
    assert esearch(session.cmd("NOOP"), "B01") == []
    assert run(session, "B05", 'CANCELUPDATE "B01"').status == "NO"
    assert run(session, "B06", "CANCELUPDATE").status == "BAD"
    # The tag is free again once cancelled.
    assert run(session, "B01", "UID SEARCH RETURN (UPDATE) FLAGGED").ok


def test_updates_end_with_the_selection(four, session, other):
    """§4.3: updates cease when the mailbox is no longer selected; CANCELUPDATE
    needs a selected mailbox."""
    assert session.cmd("SELECT INBOX").ok
    assert run(session, "B01", "UID SEARCH RETURN (UPDATE) FLAGGED").ok
    assert session.cmd("UNSELECT").ok
    assert run(session, "B02", 'CANCELUPDATE "B01"').status == "BAD"
    assert session.cmd("SELECT INBOX").ok
    assert other.cmd("STORE 1 +FLAGS (\\Flagged)").ok
    assert esearch(session.cmd("NOOP"), "B01") == []
    assert run(session, "B01", "UID SEARCH RETURN (UPDATE) FLAGGED").ok  # no tag reuse left


def test_updates_during_idle(four, session, other):
    """§4.3.2: ADDTO and REMOVEFROM may come at any time, IDLE included."""
    assert session.cmd("SELECT INBOX").ok
    assert run(session, "B01", "UID SEARCH RETURN (UPDATE) FLAGGED").ok
    session.send(b"i IDLE\r\n")
    assert session.readline().startswith(b"+ ")
    assert other.cmd("STORE 4 +FLAGS (\\Flagged)").ok
    line = session.readline()
    while not line.startswith(b"* ESEARCH"):
        line = session.readline()
    assert line == b'* ESEARCH (TAG "B01") UID ADDTO (0 4)\r\n'
    session.send(b"DONE\r\n")
    assert session.read_until("i").ok


def test_partial(four, session):
    """§4.4: ``PARTIAL first:last`` gives that window of the result (1-based,
    either way round), the range echoed, NIL past the end; SEARCH in mailbox
    order, SORT in sort order."""
    assert session.cmd("SELECT INBOX").ok
    response = run(session, "A02", "UID SEARCH RETURN (PARTIAL 1:2) UNDELETED UNKEYWORD $Junk")
    assert esearch(response, "A02") == [b'* ESEARCH (TAG "A02") UID PARTIAL (1:2 1:2)\r\n']
    response = run(session, "A03", "UID SEARCH RETURN (PARTIAL 5:3) UNDELETED")
    assert esearch(response, "A03") == [b'* ESEARCH (TAG "A03") UID PARTIAL (5:3 3:4)\r\n']
    response = run(session, "A04", "UID SEARCH RETURN (PARTIAL 24000:24500) UNDELETED UNKEYWORD $Junk")
    assert esearch(response, "A04") == [b'* ESEARCH (TAG "A04") UID PARTIAL (24000:24500 NIL)\r\n']
    response = run(session, "E01", "UID SORT RETURN (PARTIAL 1:3 COUNT) (SUBJECT) UTF-8 UNDELETED UNKEYWORD $Junk")
    assert esearch(response, "E01") == [b'* ESEARCH (TAG "E01") UID COUNT 4 PARTIAL (1:3 2,1,3)\r\n']


@pytest.mark.parametrize(
    "command",
    [
        "UID SEARCH RETURN (PARTIAL 1:2 ALL) ALL",  # §4.4: one of PARTIAL and ALL
        "UID SEARCH RETURN (PARTIAL 1:2 PARTIAL 3:4) ALL",
        "UID SEARCH RETURN (PARTIAL 0:5) ALL",  # nz-number
        "UID SEARCH RETURN (PARTIAL 1:*) ALL",  # no "*"
        "UID SEARCH RETURN (PARTIAL) ALL",
        "UID SORT RETURN (UPDATE SAVE) (DATE) UTF-8 ALL",
        'CANCELUPDATE "B01" (',
    ],
)
def test_bad_input(four, session, command):
    assert session.cmd("SELECT INBOX").ok
    assert run(session, "Z01", command).status == "BAD"
    assert session.cmd("NOOP").ok  # the session is healthy


@pytest.mark.e2e
def test_imaplib_live_search(imap, four, other):
    """A real client, Python's imaplib: its UID SEARCH RETURN (UPDATE) gets
    ADDTO under its own tag after another session flags a message, and its
    CANCELUPDATE (added to imaplib's command table, as for any extension) stops them."""
    imaplib.Commands.setdefault("CANCELUPDATE", ("SELECTED",))
    with imaplib.IMAP4_SSL(imap.host, imap.tls_port, ssl_context=client_context()) as client:
        client.login(four.identifier, PASSWORD)
        assert b"CONTEXT=SEARCH" in client.capability()[1][0].split()
        client.select("INBOX")
        typ, data = client.uid("SEARCH", "RETURN", "(UPDATE COUNT)", "FLAGGED")
        assert typ == "OK"
        (first,) = client.untagged_responses.pop("ESEARCH")
        tag = first.split(b'"')[1].decode()
        assert first == f'(TAG "{tag}") UID COUNT 0'.encode()
        assert other.cmd("STORE 2 +FLAGS (\\Flagged)").ok
        client.noop()
        assert client.untagged_responses.pop("ESEARCH") == [f'(TAG "{tag}") UID ADDTO (0 2)'.encode()]
        assert client._simple_command("CANCELUPDATE", f'"{tag}"')[0] == "OK"
        assert other.cmd("STORE 3 +FLAGS (\\Flagged)").ok
        client.noop()
        assert "ESEARCH" not in client.untagged_responses
