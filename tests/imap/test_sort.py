"""SORT (RFC 5256 §3) and ESORT (RFC 5267 §3) as transcripts over real TLS, and
imapclient's ``sort()`` against them."""

from __future__ import annotations

import pytest
from imapclient import IMAPClient

from tests.imap.conftest import PASSWORD, client_context
from tests.imap.helpers import deliver_to


def _raw(sender: str, to: str, subject: str, date: str | None, body: str, cc: str | None = None) -> bytes:
    lines = [f"From: {sender}", f"To: {to}", f"Subject: {subject}", "Message-ID: <" + subject[:4] + f"{len(body)}@x.fr>"]
    if cc:
        lines.append(f"Cc: {cc}")
    if date:
        lines.append(f"Date: {date}")
    lines += ["MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8", "", body, ""]
    return "\r\n".join(lines).encode()


@pytest.fixture
def three(user):
    """1: small, 3 Dec; 2: large, 1 Dec, with a Cc; 3: medium, no Date header
    (RFC 5256 §3: its INTERNALDATE, today, is its sent date)."""
    deliver_to(user, _raw("Zoé Bernard <alice@x.fr>", "bob@y.fr", "Re: Réunion", "Thu, 3 Dec 2026 10:00:00 +0100", "court"))
    deliver_to(
        user,
        _raw("Alain <zed@x.fr>", "ana@y.fr", "Budget", "Tue, 1 Dec 2026 10:00:00 +0100", "long " * 400, cc="cc@y.fr"),
    )
    deliver_to(user, _raw("<mid@x.fr>", "Zoe <zoe@y.fr>", "[CA] Appel", None, "moyen " * 40))
    return user


def _sort(session, command: str) -> list[int]:
    response = session.cmd(command)
    assert response.ok, response.tagged
    (line,) = [line for line in response.untagged if line.startswith(b"* SORT")]
    return [int(n) for n in line.split()[2:]]


@pytest.mark.parametrize(
    ("criteria", "expected"),
    [
        ("ARRIVAL", [1, 2, 3]),
        ("SUBJECT", [3, 2, 1]),  # §2.1 base subjects: appel, budget, reunion
        ("FROM", [1, 3, 2]),  # the first address's mailbox: alice, mid, zed
        ("DISPLAYFROM", [2, 3, 1]),  # RFC 5957 §3: alain, mid@x.fr, zoe bernard
        ("DATE", [2, 1, 3]),
        ("REVERSE DATE", [3, 1, 2]),
        ("SIZE", [1, 3, 2]),
        ("REVERSE SIZE", [2, 3, 1]),
        ("TO", [2, 1, 3]),  # ana, bob, zoe
        ("CC", [1, 3, 2]),  # no Cc sorts as the empty string; ties by sequence number
        ("CC SUBJECT", [3, 1, 2]),  # the second key breaks the first one's ties
    ],
)
def test_sort_keys(three, session, criteria, expected):
    """RFC 5256 §3, each key; ties in the final order are by sequence number."""
    assert session.cmd("SELECT INBOX").ok
    assert _sort(session, f"SORT ({criteria}) UTF-8 ALL") == expected


def test_sort_from_compares_local_parts_ascii_case_insensitively(user, session):
    """RFC 5256 §3 FROM: the first address's addr-mailbox under
    i;ascii-casemap ("BOB" sorts as "bob", after "alice" and before "Carl"),
    the domain and display name ignored; COPY keeps the key."""
    deliver_to(user, _raw("Zoé <Carl@a.fr>, <aaron@a.fr>", "x@y.fr", "Un", None, "a"))
    deliver_to(user, _raw("<BOB@z.fr>", "x@y.fr", "Deux", None, "b"))
    deliver_to(user, _raw("Yves <alice@zz.fr>", "x@y.fr", "Trois", None, "c"))
    assert session.cmd("SELECT INBOX").ok
    assert _sort(session, "SORT (FROM) UTF-8 ALL") == [3, 2, 1]
    assert _sort(session, "SORT (REVERSE FROM) UTF-8 ALL") == [1, 2, 3]
    assert session.cmd('CREATE "Copie"').ok and session.cmd('COPY 1:* "Copie"').ok
    assert session.cmd('SELECT "Copie"').ok
    assert _sort(session, "SORT (FROM) UTF-8 ALL") == [3, 2, 1]


def test_sort_with_search_criteria_and_uid_sort(three, session):
    """RFC 5256 §3: the searching criteria are SEARCH's; UID SORT answers UIDs."""
    assert session.cmd("SELECT INBOX").ok
    assert _sort(session, "SORT (SUBJECT) UTF-8 NOT FROM zed") == [3, 1]
    assert _sort(session, 'SORT (SUBJECT) US-ASCII SINCE 1-Feb-1994 SUBJECT "e"') == [3, 2, 1]
    assert session.cmd("STORE 1 +FLAGS (\\Deleted)").ok and session.cmd("EXPUNGE").ok
    assert _sort(session, "SORT (SUBJECT) UTF-8 ALL") == [2, 1]
    assert _sort(session, "UID SORT (SUBJECT) UTF-8 ALL") == [3, 2]


def test_esort_return_options(three, session):
    """RFC 5267 §3.2: ``SORT RETURN`` answers ESEARCH, MIN/MAX being the first
    and last in sort order, ALL in sort order (the RFC's example: A282)."""
    assert session.cmd("SELECT INBOX").ok
    response = session.cmd("SORT RETURN (MIN COUNT) (DATE) UTF-8 SINCE 1-Feb-1994")
    tag = response.tagged.split()[0].decode()
    assert response.untagged == [f'* ESEARCH (TAG "{tag}") MIN 2 COUNT 3\r\n'.encode()]
    response = session.cmd("UID SORT RETURN (MAX ALL) (REVERSE SIZE) UTF-8 ALL")
    tag = response.tagged.split()[0].decode()
    assert response.untagged == [f'* ESEARCH (TAG "{tag}") UID MAX 1 ALL 2:3,1\r\n'.encode()]
    response = session.cmd('SORT RETURN () (SUBJECT) UTF-8 FROM "nobody"')
    tag = response.tagged.split()[0].decode()
    assert response.untagged == [f'* ESEARCH (TAG "{tag}")\r\n'.encode()]


def test_sort_bad_input(three, session):
    """Unknown keys and empty key lists are BAD (RFC 5256 §3 grammar); an
    unknown charset is NO [BADCHARSET] (RFC 5256 §3); SORT needs a selected mailbox."""
    assert session.cmd("SORT (SUBJECT) UTF-8 ALL").status == "BAD"
    assert session.cmd("SELECT INBOX").ok
    assert session.cmd("SORT (THREAD) UTF-8 ALL").status == "BAD"
    assert session.cmd("SORT () UTF-8 ALL").status == "BAD"
    assert session.cmd("SORT (SUBJECT) ALL").status == "BAD"  # the charset is mandatory
    assert session.cmd("SORT (REVERSE) UTF-8 ALL").status == "BAD"
    assert session.cmd("SORT RETURN (SAVE) (SUBJECT) UTF-8 ALL").status == "BAD"
    refused = session.cmd("SORT (SUBJECT) KOI8-R ALL")
    assert refused.status == "NO" and b"[BADCHARSET" in refused.tagged
    assert _sort(session, "SORT (ARRIVAL) UTF-8 ALL") == [1, 2, 3]  # the session is healthy


@pytest.mark.e2e
def test_imapclient_sort(imap, three):
    with IMAPClient(imap.host, port=imap.tls_port, ssl=True, ssl_context=client_context()) as client:
        client.login(three.identifier, PASSWORD)
        assert client.has_capability("SORT") and client.has_capability("ESORT")
        client.select_folder("INBOX")
        assert client.sort(["REVERSE DATE"]) == [3, 1, 2]
        assert client.sort(["SUBJECT"], ["NOT", "FROM", "zed"]) == [3, 1]
