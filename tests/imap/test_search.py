"""SEARCH / UID SEARCH in SQL and the full-text index; ESEARCH; CHARSET; MODSEQ."""

from __future__ import annotations

import re

import pytest

from tests.conftest import build_message
from tests.imap.helpers import deliver_to

# Small mailboxes and large ones take two paths to the same answer (store.search.probes).
pytestmark = pytest.mark.usefixtures("both_search_paths")


def mailbox(session, user):
    deliver_to(user, build_message(subject="Réunion des parents", sender="direction@college-exemple.fr", body="Ordre du jour.\n"))
    deliver_to(user, build_message(subject="Conseil de classe", body="Le conseil aura lieu jeudi.\n" + "x" * 3000))
    deliver_to(user, build_message(subject="Cantine", sender="intendance@college-exemple.fr", body="Menus.\n"))
    assert session.cmd("SELECT INBOX").ok
    session.cmd("STORE 2 +FLAGS.SILENT (\\Seen \\Flagged)")


def numbers(response):
    (line,) = [u for u in response.untagged if u.startswith(b"* SEARCH")]
    return [int(n) for n in line.split()[2:] if n.isdigit()]


def test_text_searches_use_the_index_with_accent_folding(session, user):
    mailbox(session, user)
    assert numbers(session.cmd('UID SEARCH CHARSET UTF-8 SUBJECT "reunion"')) == [1]
    assert numbers(session.cmd(b'SEARCH CHARSET UTF-8 SUBJECT {8+}\r\nr\xc3\xa9union')) == [1]
    assert numbers(session.cmd("SEARCH TEXT conseil")) == [2]
    assert numbers(session.cmd("SEARCH BODY jeudi")) == [2]
    assert numbers(session.cmd("SEARCH FROM intendance")) == [3]
    assert numbers(session.cmd("SEARCH SUBJECT conseil FROM intendance")) == []
    assert session.cmd("SEARCH CHARSET KOI8-R TEXT x").status == "NO"


def test_flag_size_date_and_set_keys(session, user):
    mailbox(session, user)
    assert numbers(session.cmd("SEARCH UNSEEN")) == [1, 3]
    assert numbers(session.cmd("SEARCH FLAGGED SEEN")) == [2]
    assert numbers(session.cmd("SEARCH LARGER 2000")) == [2]
    assert numbers(session.cmd("SEARCH OR 1 3 NOT SEEN")) == [1, 3]
    assert numbers(session.cmd("SEARCH NOT (OR 1 3)")) == [2]
    assert numbers(session.cmd("SEARCH SENTON 26-Nov-2026")) == [1, 2, 3]
    assert numbers(session.cmd("SEARCH BEFORE 1-Jan-2000")) == []
    assert numbers(session.cmd("SEARCH SINCE 1-Jan-2000 UID 2:*")) == [2, 3]
    assert numbers(session.cmd("SEARCH 2:*")) == [2, 3]
    session.cmd("STORE 3 +FLAGS.SILENT ($Travail)")
    assert numbers(session.cmd("SEARCH KEYWORD $travail")) == [3]
    assert numbers(session.cmd("SEARCH UNKEYWORD $Travail")) == [1, 2]
    assert numbers(session.cmd("SEARCH NEW")) == [1, 3]  # \\Recent (this session selected first) and unseen


def test_esearch_and_modseq(session, user):
    mailbox(session, user)
    response = session.cmd("UID SEARCH RETURN (MIN MAX COUNT ALL) UNDELETED")
    assert re.fullmatch(rb'\* ESEARCH \(TAG "t\d+"\) UID MIN 1 MAX 3 COUNT 3 ALL 1:3', response.untagged[0].rstrip())
    none = session.cmd("SEARCH RETURN (COUNT) DELETED")
    assert none.untagged[0].rstrip().endswith(b"COUNT 0")
    modseq = session.cmd("SEARCH MODSEQ 1")
    # RFC 7162 §3.1: the first CONDSTORE-enabling command reports HIGHESTMODSEQ first.
    assert modseq.untagged[0].startswith(b"* OK [HIGHESTMODSEQ ")
    assert modseq.untagged[1].startswith(b"* SEARCH ") and b"(MODSEQ " in modseq.untagged[1]


def test_search_is_sql_not_blob_reads(session, user, monkeypatch):
    from academail.store import blobs

    mailbox(session, user)

    def forbidden(*args, **kwargs):
        raise AssertionError("SEARCH read a blob")

    monkeypatch.setattr(blobs.BlobStore, "get", forbidden)
    monkeypatch.setattr(blobs.BlobStore, "read_range", forbidden)
    assert numbers(session.cmd("SEARCH OR TEXT cantine BODY jeudi")) == [2, 3]


def test_header_keys_match_substrings_case_insensitively(session, user):
    # RFC 3501 §6.4.4 and RFC 9051 §6.4.4: FROM, TO, CC and SUBJECT match when the
    # field "contains the specified string", case-insensitively: a substring,
    # not a word prefix from the full-text index ("tendance" starts no word).
    mailbox(session, user)
    assert numbers(session.cmd("UID SEARCH FROM tendance")) == [3]
    assert numbers(session.cmd("UID SEARCH FROM COLLEGE-EXEMPLE")) == [1, 2, 3]
    assert numbers(session.cmd('UID SEARCH SUBJECT "union des"')) == [1]
    assert numbers(session.cmd("UID SEARCH SUBJECT ANTIN")) == [3]
    assert numbers(session.cmd("UID SEARCH TO artin@ac-d")) == [1, 2, 3]
    assert numbers(session.cmd("UID SEARCH TO direction")) == []
    assert numbers(session.cmd('UID SEARCH HEADER Subject "seil de cl"')) == [2]
    # The empty string is contained in every subject (RFC 3501 §6.4.4: substring).
    assert numbers(session.cmd('UID SEARCH SUBJECT ""')) == [1, 2, 3]
    # Substring matching stays within the field asked for.
    assert numbers(session.cmd("UID SEARCH SUBJECT intendance")) == []


def test_sent_date_keys_use_the_date_header_own_day(session, user):
    # RFC 3501 §6.4.4: SENTBEFORE, SENTON and SENTSINCE compare the Date header's
    # date, "disregarding time and timezone": 23:30 at -0500 is still the 26th
    # (the 27th in UTC), 00:30 at +1400 still the 27th (the 26th in UTC).
    late = build_message(subject="Tard").replace(b"Thu, 26 Nov 2026 10:00:00 +0100", b"Thu, 26 Nov 2026 23:30:00 -0500")
    early = build_message(subject="Tot").replace(b"Thu, 26 Nov 2026 10:00:00 +0100", b"Fri, 27 Nov 2026 00:30:00 +1400")
    deliver_to(user, late)
    deliver_to(user, early)
    assert session.cmd("SELECT INBOX").ok
    assert numbers(session.cmd("UID SEARCH SENTON 26-Nov-2026")) == [1]
    assert numbers(session.cmd("UID SEARCH SENTON 27-Nov-2026")) == [2]
    assert numbers(session.cmd("UID SEARCH SENTBEFORE 27-Nov-2026")) == [1]
    assert numbers(session.cmd("UID SEARCH SENTSINCE 27-Nov-2026")) == [2]
    assert numbers(session.cmd("UID SEARCH SENTSINCE 26-Nov-2026 SENTBEFORE 28-Nov-2026")) == [1, 2]
