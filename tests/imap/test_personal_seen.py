"""Per-person \\Seen on a functional mailbox (issue 19 §1, RFC 4314 §4,
Dovecot's INDEXPVT idea): the manager chooses it; then each member's "lu" is
their own in IMAP (FETCH FLAGS, SEARCH SEEN/UNSEEN, STATUS UNSEEN, IDLE
updates to that member's sessions only), over real TLS with imapclient, and
in the webmail (bold, counts). The default stays the team's shared \\Seen."""

from __future__ import annotations

import pytest
from imapclient import IMAPClient

from academail.accounts.services import check_create_functional_account
from academail.store import acl, seen
from academail.store.messages import special_mailbox
from academail.store.models import PersonalSeen
from tests.imap.conftest import PASSWORD, client_context
from tests.imap.helpers import deliver_to, idle_until

pytestmark = pytest.mark.e2e

ADDRESS = "ce.0341234x@ac-demo.fr"
INBOX = f"Partagés/{ADDRESS}/INBOX"
ARCHIVES = f"Partagés/{ADDRESS}/Archives"
SEEN = b"\\Seen"


@pytest.fixture
def team(make_account):
    """The functional mailbox with two messages, kept with per-person \\Seen,
    and two members who may mark read and file."""
    secretary = make_account("Sophie", "Leroy")
    principal = make_account("Paul", "Girard")
    for person in (secretary, principal):
        person.set_password(PASSWORD)
        person.save()
    box = check_create_functional_account(name="Collège Jean Moulin", address=ADDRESS)
    for person in (secretary, principal):
        acl.do_grant(box.pk, person.pk, acl.preset_rights(["read", "mark", "file", "delete"]))
    deliver_to(box, subject="Inscription en 6e")
    deliver_to(box, subject="Demande de rendez-vous")
    assert seen.do_set_mode(box.pk, per_person=True)
    return box, secretary, principal


def _client(imap, account) -> IMAPClient:
    client = IMAPClient(imap.host, port=imap.tls_port, ssl=True, ssl_context=client_context(), timeout=30)
    client.login(account.identifier, PASSWORD)
    return client


def _seen(client: IMAPClient, uids=(1, 2)) -> dict[int, bool]:
    return {uid: SEEN in data[b"FLAGS"] for uid, data in client.fetch(list(uids), ["FLAGS"]).items()}


def test_each_member_has_their_own_seen(imap, team):
    box, secretary, principal = team
    with _client(imap, secretary) as mine, _client(imap, principal) as theirs:
        mine.select_folder(INBOX)
        theirs.select_folder(INBOX)
        # RFC 3501 §6.4.5: a non-PEEK body fetch sets \Seen, for her alone.
        mine.fetch([1], ["BODY[]"])
        assert _seen(mine) == {1: True, 2: False}
        assert _seen(theirs) == {1: False, 2: False}
        assert mine.search(["UNSEEN"]) == [2] and mine.search(["SEEN"]) == [1]
        assert theirs.search(["UNSEEN"]) == [1, 2] and theirs.search(["SEEN"]) == []
        # SORT and THREAD take the SEARCH criteria (RFC 5256 §3, §4): hers.
        assert mine.sort(["ARRIVAL"], ["UNSEEN"]) == [2] and theirs.sort(["ARRIVAL"], ["UNSEEN"]) == [1, 2]
        assert mine.thread("ORDEREDSUBJECT", ["SEEN"]) == ((1,),)
        # He marks the other one read with STORE; she still has it unread.
        theirs.add_flags([2], [SEEN])
        assert _seen(theirs) == {1: False, 2: True}
        assert _seen(mine) == {1: True, 2: False}
        # Other flags stay the team's (RFC 4314 §4 keeps only \Seen apart).
        theirs.add_flags([1], [b"\\Flagged"])
        assert b"\\Flagged" in mine.fetch([1], ["FLAGS"])[1][b"FLAGS"]
        mine.remove_flags([1], [SEEN])
        assert _seen(mine) == {1: False, 2: False}
        mine.add_flags([1], [SEEN])
    with _client(imap, secretary) as mine, _client(imap, principal) as theirs:
        # STATUS (RFC 3501 §6.3.10) and the folder list count each person's.
        assert mine.folder_status(INBOX, ["MESSAGES", "UNSEEN"]) == {b"MESSAGES": 2, b"UNSEEN": 1}
        assert theirs.folder_status(INBOX, ["MESSAGES", "UNSEEN"]) == {b"MESSAGES": 2, b"UNSEEN": 1}
        assert mine.select_folder(INBOX)[b"EXISTS"] == 2
        assert mine.search(["UNSEEN"]) == [2] and theirs.select_folder(INBOX) and theirs.search(["UNSEEN"]) == [1]
    # The mailbox's own \Seen (the team's) was not touched: switching back
    # shows it again, and each member's marks are kept for a later switch.
    inbox = special_mailbox(box.pk, "inbox")
    assert inbox.unseen == 2
    assert seen.do_set_mode(box.pk, per_person=False)
    with _client(imap, secretary) as mine:
        mine.select_folder(INBOX)
        assert _seen(mine) == {1: False, 2: False}
        assert mine.folder_status(INBOX, ["UNSEEN"]) == {b"UNSEEN": 2}
    assert PersonalSeen.objects.filter(mailbox_id=inbox.pk).count() == 2


def test_seen_follows_a_move_and_goes_with_an_expunge(imap, team):
    box, secretary, principal = team
    with _client(imap, secretary) as mine:
        mine.select_folder(INBOX)
        mine.add_flags([1, 2], [SEEN])
        mine.move([1], ARCHIVES)  # RFC 6851: the copy keeps her \Seen
        assert mine.folder_status(ARCHIVES, ["MESSAGES", "UNSEEN"]) == {b"MESSAGES": 1, b"UNSEEN": 0}
    with _client(imap, principal) as theirs:
        assert theirs.folder_status(ARCHIVES, ["MESSAGES", "UNSEEN"]) == {b"MESSAGES": 1, b"UNSEEN": 1}
        theirs.select_folder(INBOX)
        theirs.add_flags([2], [b"\\Deleted"])
        theirs.expunge()
    inbox = special_mailbox(box.pk, "inbox")
    # Nobody's \Seen stays on an expunged UID (it would skew the counts).
    assert not PersonalSeen.objects.filter(mailbox_id=inbox.pk).exists()
    with _client(imap, secretary) as mine:
        assert mine.folder_status(INBOX, ["MESSAGES", "UNSEEN"]) == {b"MESSAGES": 0, b"UNSEEN": 0}


def test_append_with_seen_by_a_member_is_their_own(imap, team):
    box, secretary, principal = team
    acl.do_grant(box.pk, secretary.pk, acl.preset_rights(["read", "mark", "file", "delete"]))
    with _client(imap, secretary) as mine:
        mine.append(INBOX, b"Subject: Note\r\n\r\nCopie.\r\n", flags=[SEEN])
        mine.select_folder(INBOX)
        assert _seen(mine, (3,)) == {3: True}
    with _client(imap, principal) as theirs:
        theirs.select_folder(INBOX)
        assert _seen(theirs, (3,)) == {3: False}


def test_idle_tells_only_that_member(imap, team):
    """Her second session (a phone) hears her \\Seen; a colleague idling on
    the same folder never sees it as \\Seen, and still hears the team's
    changes (\\Flagged)."""
    _box, secretary, principal = team
    laptop, phone, colleague = _client(imap, secretary), _client(imap, secretary), _client(imap, principal)
    try:
        for client in (laptop, phone, colleague):
            client.select_folder(INBOX)
        phone.idle()
        colleague.idle()
        laptop.add_flags([1], [SEEN])
        heard = idle_until(phone, lambda r: any(x[1] == b"FETCH" and SEEN in repr(x).encode() for x in r))
        assert any(x[0] == 1 for x in heard if isinstance(x, tuple) and x[1] == b"FETCH"), heard
        laptop.add_flags([2], [b"\\Flagged"])
        told = idle_until(colleague, lambda r: any(b"\\\\Flagged" in repr(x).encode() for x in r))
        assert not any(SEEN in repr(x).encode() for x in told), told
        phone.idle_done()
        colleague.idle_done()
        assert _seen(colleague) == {1: False, 2: False}
    finally:
        for client in (laptop, phone, colleague):
            client.logout()
