"""Managing folders inside ``Partagés/`` (issue 19) and the quota of a shared
mailbox, as transcripts over real TLS:

- RFC 4314 §4: CREATE needs "k" on the nearest existing parent (the owner's
  whole mailbox at the top), and the new folder inherits the parent's ACL;
  DELETE needs "x" on the mailbox; RENAME "x" on the old name and "k" on
  the new name's parent. Without the right: ``NO [NOPERM]`` (RFC 5530); a
  folder one cannot see answers as one that does not exist (§6).
- RFC 9208 §4.2-§4.3: GETQUOTAROOT on a shared mailbox names the owner's
  quota root, and GETQUOTA on it gives the owner's usage and limit.
"""

from __future__ import annotations

import pytest

from academail.accounts.services import check_create_functional_account
from academail.imap.parsing.utf7 import encode
from academail.store import acl
from academail.store.mailboxes import do_create_mailbox
from academail.store.messages import quota_usage
from academail.store.models import Mailbox
from tests.imap.conftest import PASSWORD
from tests.imap.helpers import deliver_to

pytestmark = pytest.mark.e2e

ADDRESS = "ce.0341234x@ac-demo.fr"
ROOT = f"Partagés/{ADDRESS}"


def w(name: str) -> str:
    """A name as it goes on the wire, quoted (modified UTF-7, RFC 3501 §5.1.3)."""
    return '"' + encode(name).decode("ascii") + '"'


@pytest.fixture
def school(make_account):
    """The functional mailbox; a secretary who may file ("k" with "ikte")
    and delete ("x"); a reader with "lr" only; an outsider."""
    secretary = make_account("Sophie", "Leroy")
    reader = make_account("Rémi", "Faure")
    outsider = make_account("Omar", "Benali")
    for person in (secretary, reader, outsider):
        person.set_password(PASSWORD)
        person.save()
    box = check_create_functional_account(name="Collège Jean Moulin", address=ADDRESS)
    acl.do_grant(box.pk, secretary.pk, acl.preset_rights(["read", "mark", "file", "delete"]))
    acl.do_grant(box.pk, reader.pk, acl.preset_rights(["read"]))
    deliver_to(box, subject="Inscription en 6e")
    return box, secretary, reader, outsider


def _names(box) -> set[str]:
    return set(Mailbox.objects.filter(account_id=box.pk).values_list("name", flat=True))


def test_create_rename_delete_with_k_and_x(connect, school):
    box, secretary, _reader, _outsider = school
    client = connect()
    client.login(secretary)
    # §4 CREATE: "k" on the owner's whole mailbox creates at the top; parents too (RFC 3501 §6.3.3).
    assert client.cmd(f"CREATE {w(ROOT + '/Conseils de classe/3e A')}").ok
    assert {"Conseils de classe", "Conseils de classe/3e A"} <= _names(box)
    listed = client.cmd(f'LIST "" {w(ROOT + "/Conseils*")}').text()
    assert encode(f"{ROOT}/Conseils de classe/3e A").decode() in listed
    assert client.cmd(f"CREATE {w(ROOT + '/Conseils de classe')}").status == "NO"  # [ALREADYEXISTS]
    # §4 RENAME: "x" on the old name, "k" on the new parent; children follow.
    renamed = client.cmd(f"RENAME {w(ROOT + '/Conseils de classe')} {w(ROOT + '/Conseils 2026')}")
    assert renamed.ok, renamed.tagged
    assert {"Conseils 2026", "Conseils 2026/3e A"} <= _names(box) and "Conseils de classe" not in _names(box)
    # Messages filed there stay the school's: the owner's quota counts them.
    assert client.cmd(f'SELECT {w(ROOT + "/INBOX")}').ok
    assert client.cmd(f"COPY 1 {w(ROOT + '/Conseils 2026/3e A')}").ok
    assert client.cmd("CLOSE").ok
    # §4 DELETE: "x" on the mailbox (and, here, on the folder under it).
    assert client.cmd(f"DELETE {w(ROOT + '/Conseils 2026')}").ok
    assert not {n for n in _names(box) if n.startswith("Conseils")}
    # Special folders stay, whoever asks (RFC 5530 [CANNOT]).
    refused = client.cmd(f"DELETE {w(ROOT + '/Envoyés')}")
    assert refused.status == "NO" and b"[CANNOT]" in refused.tagged


def test_without_k_or_x_the_answer_is_noperm(connect, school):
    box, _secretary, reader, _outsider = school
    do_create_mailbox(box.pk, "Archives 2025")
    client = connect()
    client.login(reader)  # "lr" only
    for command in (
        f"CREATE {w(ROOT + '/Nouveau')}",
        f"CREATE {w(ROOT + '/Archives 2025/Juin')}",
        f"DELETE {w(ROOT + '/Archives 2025')}",
        f"RENAME {w(ROOT + '/Archives 2025')} {w(ROOT + '/Archives')}",
    ):
        refused = client.cmd(command)
        assert refused.status == "NO" and b"[NOPERM]" in refused.tagged, (command, refused.tagged)
    assert "Archives 2025" in _names(box) and "Nouveau" not in _names(box)


def test_unseen_owners_leak_nothing(connect, school, make_account):
    """RFC 4314 §6: an owner one sees nothing of, and an address that is no
    account, get the same answers."""
    _box, _secretary, _reader, outsider = school
    client = connect()
    client.login(outsider)
    answers = []
    for root in (ROOT, "Partagés/personne@ac-demo.fr"):
        created = client.cmd(f"CREATE {w(root + '/Espion')}")
        deleted = client.cmd(f"DELETE {w(root + '/Archives')}")
        quota = client.cmd(f"GETQUOTA {w(root)}")
        answers.append([(r.status, r.tagged.split(b" ", 2)[2].split(b"]")[0]) for r in (created, deleted, quota)])
    assert answers[0] == answers[1], answers
    assert [status for status, _ in answers[0]] == ["NO", "NO", "NO"]


def test_a_folder_share_gives_k_on_its_folder_only_and_children_inherit(connect, make_account):
    owner = make_account("Claire", "Dumas")
    colleague = make_account("Hugo", "Petit")
    colleague.set_password(PASSWORD)
    colleague.save()
    projects = do_create_mailbox(owner.pk, "Projets")
    acl.do_grant(owner.pk, colleague.pk, "lrswikte", mailbox_id=projects.pk, kind="share")
    root = f"Partagés/{owner.address}"
    client = connect()
    client.login(colleague)
    # Not at the top of her mailbox: the share covers "Projets" only.
    assert b"[NOPERM]" in client.cmd(f"CREATE {w(root + '/Autre')}").tagged
    # Under it: "k" on the parent, and the new folder inherits the share (§4 CREATE).
    assert client.cmd(f"CREATE {w(root + '/Projets/2027')}").ok
    assert client.cmd(f'SELECT {w(root + "/Projets/2027")}').ok
    assert acl.rights_of(colleague.pk, Mailbox.objects.get(account_id=owner.pk, name="Projets/2027")) == "lrswikte"
    # No "x": she cannot remove what she made (RFC 4314 §4 DELETE).
    assert b"[NOPERM]" in client.cmd(f"DELETE {w(root + '/Projets/2027')}").tagged


def test_quota_root_of_a_shared_mailbox_is_the_owners(connect, school, settings):
    box, secretary, _reader, _outsider = school
    used, limit = quota_usage(box.pk)
    assert limit > 0
    client = connect()
    client.login(secretary)
    answer = client.cmd(f"GETQUOTAROOT {w(ROOT + '/INBOX')}")
    assert answer.ok
    # RFC 9208 §4.3: QUOTAROOT <mailbox> <root>, then QUOTA <root> (STORAGE used limit) in KiB (§5.2).
    assert answer.untagged[0].rstrip() == f"* QUOTAROOT {w(ROOT + '/INBOX')} {w(ROOT)}".encode()
    expected = f"* QUOTA {w(ROOT)} (STORAGE {(used + 1023) // 1024} {limit // 1024})".encode()
    assert answer.untagged[1].rstrip() == expected
    quota = client.cmd(f"GETQUOTA {w(ROOT)}")
    assert quota.ok and quota.untagged[0].rstrip() == expected
    # Her own mailbox keeps the root "".
    own = client.cmd("GETQUOTAROOT INBOX")
    assert own.ok and own.untagged[0].rstrip() == b'* QUOTAROOT "INBOX" ""'
    own_used, own_limit = quota_usage(secretary.pk)
    assert client.cmd('GETQUOTA ""').untagged[0].rstrip() == (
        f'* QUOTA "" (STORAGE {(own_used + 1023) // 1024} {own_limit // 1024})'.encode()
    )
