"""Shared mailboxes over IMAP (issue 19 §1-§2): NAMESPACE (RFC 2342), the
shared namespace in LIST, rights checked by SELECT/FETCH/STORE/COPY/MOVE/
EXPUNGE, the ACL extension (RFC 4314) through imapclient over real TLS, no
information leak (§6), a member removed while selected, and two members
idling on the same functional mailbox."""

from __future__ import annotations

import re

import pytest
from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError

from academail.accounts.services import check_create_functional_account
from academail.imap.parsing.utf7 import encode
from academail.store import acl
from academail.store.mailboxes import do_create_mailbox
from tests.imap.conftest import PASSWORD, client_context
from tests.imap.helpers import deliver_to, idle_until

pytestmark = pytest.mark.e2e

INBOX = "Partagés/ce.0341234x@ac-demo.fr/INBOX"


def utf7(name: str) -> str:
    """A mailbox name as it goes on the wire (modified UTF-7, RFC 3501 §5.1.3)."""
    return encode(name).decode("ascii")


@pytest.fixture
def people(make_account):
    """A functional mailbox (with two messages), a secretary member with the
    default rights, a principal managing it, and an outsider."""
    secretary = make_account("Sophie", "Leroy")
    principal = make_account("Paul", "Girard")
    outsider = make_account("Omar", "Benali")
    for person in (secretary, principal, outsider):
        person.set_password(PASSWORD)
        person.save()
    box = check_create_functional_account(name="Collège Jean Moulin", address="ce.0341234x@ac-demo.fr")
    acl.do_grant(box.pk, secretary.pk, acl.preset_rights(["read", "mark", "file", "delete", "send_as"]))
    acl.do_grant(box.pk, principal.pk, acl.preset_rights(["read", "mark", "file", "delete", "send_as", "manage"]))
    deliver_to(box, subject="Inscription en 6e")
    deliver_to(box, subject="Demande de rendez-vous")
    return box, secretary, principal, outsider


def _client(imap, account) -> IMAPClient:
    client = IMAPClient(imap.host, port=imap.tls_port, ssl=True, ssl_context=client_context(), timeout=30)
    client.login(account.identifier, PASSWORD)
    return client


def test_namespace_and_list_show_the_functional_mailbox(imap, people):
    _box, secretary, _principal, outsider = people
    with _client(imap, secretary) as client:
        assert client.has_capability("ACL") and client.has_capability("NAMESPACE")
        personal, other, shared = client.namespace()
        assert personal == (("", "/"),) and other is None and shared == (("Partagés/", "/"),)
        folders = {name: flags for flags, _, name in client.list_folders()}
        assert b"\\Noselect" in folders["Partagés"]
        assert b"\\Noselect" in folders["Partagés/ce.0341234x@ac-demo.fr"]
        assert INBOX in folders and "Partagés/ce.0341234x@ac-demo.fr/Envoyés" in folders
        # A shared Envoyés is not the member's own Sent folder (RFC 6154).
        assert b"\\Sent" not in folders["Partagés/ce.0341234x@ac-demo.fr/Envoyés"]
        assert b"\\Sent" in folders["Envoyés"]
        # Thunderbird lists subscribed folders: the shared ones are.
        assert INBOX in {name for _, _, name in client.list_sub_folders()}
        assert client.folder_status(INBOX, ["MESSAGES", "UNSEEN"]) == {b"MESSAGES": 2, b"UNSEEN": 2}
    with _client(imap, outsider) as client:
        assert not any(name.startswith("Partagés") for _, _, name in client.list_folders())


def test_member_reads_flags_and_files_with_their_own_password(imap, people):
    box, secretary, _principal, _outsider = people
    with _client(imap, secretary) as client:
        client.select_folder(INBOX)
        fetched = client.fetch([1], ["BODY[HEADER.FIELDS (SUBJECT)]", "FLAGS"])
        assert b"Inscription en 6e" in fetched[1][b"BODY[HEADER.FIELDS (SUBJECT)]"]
        assert b"\\Seen" in client.get_flags([1])[1]  # team-shared \Seen (docs/design.md)
        client.add_flags([2], [b"\\Flagged"])
        client.create_folder("Traités")  # in the member's own mailbox
        client.copy([1], "Traités")
        client.move([2], "Partagés/ce.0341234x@ac-demo.fr/Archives")
        assert client.search("ALL") == [1]
        client.select_folder("Traités")
        assert len(client.search("ALL")) == 1
    entries = list(box.journal.values_list("detail", flat=True))
    assert any("Sophie Leroy" in e and "a lu 1 message" in e for e in entries), entries
    assert any("Sophie Leroy" in e and "a déplacé 1 message" in e for e in entries), entries
    own = list(secretary.journal.values_list("detail", flat=True))
    assert any("ce.0341234x@ac-demo.fr" in e and "a déplacé" in e for e in own), own


def test_rights_are_enforced_per_command(imap, people, make_account):
    box, _secretary, principal, _outsider = people
    reader = make_account("Rémi", "Faure")
    reader.set_password(PASSWORD)
    reader.save()
    acl.do_grant(box.pk, reader.pk, acl.preset_rights(["read"]))
    with _client(imap, reader) as client:
        # RFC 4314 §4: with no right to change anything, SELECT opens read-only.
        with pytest.raises(IMAPClientError, match="not writable"):
            client.select_folder(INBOX)
        client.select_folder(INBOX, readonly=True)
        client.fetch([1], ["BODY[]"])
        # Reading without "s" leaves \Seen alone for the team.
        assert b"\\Seen" not in client.get_flags([1])[1]
        with pytest.raises(IMAPClientError, match="READ-ONLY|NOPERM"):
            client.add_flags([1], [b"\\Flagged"])
        with pytest.raises(IMAPClientError, match="READ-ONLY|NOPERM"):
            client.move([1], "INBOX")
        with pytest.raises(IMAPClientError, match="NOPERM"):
            client.getacl(INBOX)
        with pytest.raises(IMAPClientError, match="NOPERM"):
            client.append(INBOX, b"Subject: x\r\n\r\nx\r\n")
        # A copy from the shared mailbox into one's own folder is a read.
        client.copy([1], "Archives")
        client.select_folder("Archives")
        assert len(client.search("ALL")) == 1
    with _client(imap, principal) as client:
        client.select_folder(INBOX)
        assert client.search("ALL") == [1, 2]
        assert client.get_flags([1])[1] == (b"\\Recent",)  # first read-write session to select it (RFC 3501 §2.3.2)


def test_imapclient_getacl_setacl_myrights(imap, people, connect):
    box, secretary, principal, outsider = people
    with _client(imap, principal) as client:
        rows = dict(client.getacl(INBOX))
        assert rows[box.identifier.encode()] == b"lrswipkxtea"
        assert rows[principal.identifier.encode()] == b"lrswikxtea0"
        assert rows[secretary.identifier.encode()] == b"lrswikxte0"
        # RFC 4314 SETACL: a read-only share of this folder for the outsider.
        client.setacl(INBOX, outsider.identifier, "lr")
        assert dict(client.getacl(INBOX))[outsider.identifier.encode()] == b"lr"
        client.setacl(INBOX, outsider.identifier, "+s")
        assert dict(client.getacl(INBOX))[outsider.identifier.encode()] == b"lrs"
        with pytest.raises(IMAPClientError):
            client.setacl(INBOX, outsider.identifier, "lrZ")  # unknown right: BAD (§3.1)
        with pytest.raises(IMAPClientError, match="CANNOT"):
            client.setacl(INBOX, "personne.inconnue", "lr")
    raw = connect()
    raw.login(outsider)
    mine = raw.cmd(f'MYRIGHTS "{utf7(INBOX)}"')
    assert mine.ok and mine.untagged[0].rstrip() == f'* MYRIGHTS "{utf7(INBOX)}" lrs'.encode()
    assert raw.cmd(f'LISTRIGHTS "{utf7(INBOX)}" {outsider.identifier}').status == "NO"  # no "a"
    assert raw.cmd(f'SELECT "{utf7(INBOX)}"').ok
    names = raw.cmd('LIST "" "*"').text()
    # Only INBOX was shared with the outsider.
    assert utf7(INBOX) in names and utf7("Partagés/ce.0341234x@ac-demo.fr/Envoyés") not in names
    manager = connect()
    manager.login(principal)
    listed = manager.cmd(f'LISTRIGHTS "{utf7(INBOX)}" {outsider.identifier}')
    assert listed.ok and b'"" l r s w i p k x t e a 0 1 2 3' in listed.untagged[0]
    assert manager.cmd(f'DELETEACL "{utf7(INBOX)}" {outsider.identifier}').ok
    with _client(imap, principal) as client:
        assert outsider.identifier.encode() not in dict(client.getacl(INBOX))
    # The outsider's session loses the folder at its next command.
    assert raw.cmd("FETCH 1 (FLAGS)").status == "NO"


def test_no_information_leak(imap, people, make_account):
    """RFC 4314 §6: a mailbox one may not see answers like one that does not exist."""
    box, _secretary, _principal, outsider = people
    with _client(imap, outsider) as client:
        errors = []
        for name in (INBOX, "Partagés/personne@ac-demo.fr/INBOX", "Partagés/ce.0341234x@ac-demo.fr/Inexistant"):
            for call in (lambda n=name: client.getacl(n), lambda n=name: client.select_folder(n),
                         lambda n=name: client.setacl(n, outsider.identifier, "lr"),
                         lambda n=name: client.folder_status(n, ["MESSAGES"])):
                with pytest.raises(IMAPClientError) as caught:
                    call()
                errors.append(re.sub(r"«[^»]*»|\"[^\"]*\"", "", str(caught.value)))
        assert all("NONEXISTENT" in e for e in errors), "\n".join(errors)

    assert not box.journal.filter(detail__contains="Omar").exists()


def test_member_removed_while_selected_loses_access_at_the_next_command(imap, people, connect):
    box, secretary, _principal, _outsider = people
    client = connect()
    client.login(secretary)
    assert client.cmd(f'SELECT "{utf7(INBOX)}"').ok
    assert client.cmd("FETCH 1 (FLAGS)").ok
    acl.do_revoke(box.pk, secretary.pk)
    refused = client.cmd("FETCH 1 (BODY.PEEK[])")
    assert refused.status == "NO" and b"[NOPERM]" in refused.tagged
    assert any(b"[CLOSED]" in line for line in refused.untagged)
    assert b"BODY[]" not in b"".join(refused.untagged)
    assert client.cmd("NOOP").ok  # still signed in, nothing selected
    assert client.cmd(f'SELECT "{utf7(INBOX)}"').status == "NO"


def test_departure_ends_access(imap, people, connect, make_account):
    from academail.accounts import helpdesk

    box, secretary, principal, _outsider = people
    admin = make_account("Alice", "Admin", role="admin")
    client = connect()
    client.login(secretary)
    assert client.cmd(f'SELECT "{utf7(INBOX)}"').ok
    helpdesk.do_depart(secretary, by=admin)
    assert client.cmd("FETCH 1 (FLAGS)").status == "NO"
    assert not acl.visible_shared(secretary.pk)


def test_two_members_in_idle_see_each_other(imap, people):
    box, secretary, principal, _outsider = people
    one, two = _client(imap, secretary), _client(imap, principal)
    try:
        one.select_folder(INBOX)
        two.select_folder(INBOX)
        two.idle()
        one.add_flags([1], [b"\\Flagged"])
        seen = idle_until(two, lambda r: any(b"FETCH" in repr(x).encode() for x in r))
        assert any(b"\\Flagged" in repr(x).encode() for x in seen), seen
        two.idle_done()
        one.idle()
        deliver_to(box, subject="Nouveau message")
        seen = idle_until(one, lambda r: any(b"EXISTS" in repr(x).encode() for x in r))
        assert any(x[0] == 3 and x[1] == b"EXISTS" for x in seen if isinstance(x, tuple)), seen
        one.idle_done()
        two.idle()
        one.move([1], "Partagés/ce.0341234x@ac-demo.fr/Archives")
        seen = idle_until(two, lambda r: any(b"EXPUNGE" in repr(x).encode() for x in r))
        two.idle_done()
    finally:
        one.logout()
        two.logout()


def test_folder_share_is_in_the_shared_namespace(imap, make_account):
    owner = make_account("Claire", "Dumas")
    colleague = make_account("Hugo", "Petit")
    colleague.set_password(PASSWORD)
    colleague.save()
    folder = do_create_mailbox(owner.pk, "Conseils de classe")
    deliver_to(owner)
    acl.do_grant(owner.pk, colleague.pk, "lr", mailbox_id=folder.pk, kind="share")
    with _client(imap, colleague) as client:
        names = {n for _, _, n in client.list_folders()}
        assert f"Partagés/{owner.address}/Conseils de classe" in names
        assert f"Partagés/{owner.address}/INBOX" not in names
        with pytest.raises(IMAPClientError, match="NONEXISTENT"):
            client.select_folder(f"Partagés/{owner.address}/INBOX")
        client.select_folder(f"Partagés/{owner.address}/Conseils de classe", readonly=True)
        assert client.search("ALL") == []
