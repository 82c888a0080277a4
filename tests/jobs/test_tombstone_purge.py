"""The daily purge of expunge tombstones (ACADEMAIL_EXPUNGED_KEEP_DAYS), and
QRESYNC over a real IMAP connection afterwards: a client whose MODSEQ is older
than the purged tombstones gets every missing UID as VANISHED (a full resync
of the UID list), a newer one still gets the exact list."""

from __future__ import annotations

import re
from datetime import timedelta

import imapclient
import pytest
from django.utils import timezone

from academail.config.serve import _housekeeping
from academail.store.messages import do_append, do_expunge, do_set_flags
from academail.store.models import Expunged, Flag, Mailbox
from academail.store.tombstones import do_purge_tombstones
from tests.conftest import build_message
from tests.imap.conftest import PASSWORD, client_context, connect, imap, user  # noqa: F401 (fixtures)


@pytest.fixture(autouse=True)
def _fast_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _inbox(account) -> Mailbox:
    return Mailbox.objects.get(account=account, special_use="inbox")


def _expunge(account, uid: int, *, age_days: int) -> int:
    box = _inbox(account)
    do_set_flags(account.pk, box.pk, [(uid, uid)], mode="add", flags=Flag.DELETED)
    assert do_expunge(account.pk, box.pk, [(uid, uid)]) == [uid]
    Expunged.objects.filter(mailbox=box, uid=uid).update(expunged_at=timezone.now() - timedelta(days=age_days))
    return Expunged.objects.get(mailbox=box, uid=uid).modseq


def _qresync(session, uidvalidity: int, modseq: int, known: str = "") -> bytes:
    extra = f" {known}" if known else ""
    response = session.cmd(f"SELECT INBOX (QRESYNC ({uidvalidity} {modseq}{extra}))")
    assert response.ok, response
    lines = [line for line in response.untagged if line.startswith(b"* VANISHED")]
    return lines[0].strip() if lines else b""


def test_purge_keeps_recent_tombstones_and_qresync_falls_back_to_a_full_list(connect, user):  # noqa: F811
    box = _inbox(user)
    for i in range(6):
        do_append(user.pk, box.pk, build_message(subject=f"Message {i}", to=user.address))
    start = _inbox(user).highestmodseq
    _expunge(user, 2, age_days=200)
    old = _expunge(user, 4, age_days=91)
    after_old = _inbox(user).highestmodseq
    _expunge(user, 5, age_days=89)  # within the 90 days kept
    uidvalidity = _inbox(user).uidvalidity

    session = connect()
    session.login(user)
    assert session.cmd("ENABLE QRESYNC").ok
    assert _qresync(session, uidvalidity, start) == b"* VANISHED (EARLIER) 2,4:5"

    assert do_purge_tombstones(timezone.now()) == 2
    assert sorted(Expunged.objects.filter(mailbox=box).values_list("uid", flat=True)) == [5]
    assert _inbox(user).tombstones_purged_modseq == old
    assert do_purge_tombstones(timezone.now()) == 0  # idempotent

    # Older than the watermark: every UID without a message (here the same three).
    assert _qresync(session, uidvalidity, start) == b"* VANISHED (EARLIER) 2,4:5"
    assert _qresync(session, uidvalidity, start, "1:3") == b"* VANISHED (EARLIER) 2"
    # Newer than the watermark: the exact tombstones, as before.
    assert _qresync(session, uidvalidity, after_old) == b"* VANISHED (EARLIER) 5"
    fetched = session.cmd(f"UID FETCH 1:* (FLAGS) (CHANGEDSINCE {start} VANISHED)")
    assert fetched.ok and fetched.untagged[0].strip() == b"* VANISHED (EARLIER) 2,4:5"


def test_a_client_from_before_the_purge_ends_with_the_right_uids(imap, user):  # noqa: F811
    box = _inbox(user)
    for i in range(4):
        do_append(user.pk, box.pk, build_message(subject=f"Message {i}", to=user.address))
    client = imapclient.IMAPClient(imap.host, port=imap.tls_port, ssl=True, ssl_context=client_context())
    client.login(user.identifier, PASSWORD)
    client.enable("CONDSTORE", "QRESYNC")
    client.select_folder("INBOX")
    known = set(client.search("ALL"))  # UIDs 1-4
    modseq = _inbox(user).highestmodseq
    client.logout()

    _expunge(user, 1, age_days=120)
    _expunge(user, 3, age_days=120)
    do_append(user.pk, box.pk, build_message(subject="Nouveau", to=user.address))
    do_purge_tombstones(timezone.now())
    assert not Expunged.objects.filter(mailbox=box).exists()

    client = imapclient.IMAPClient(imap.host, port=imap.tls_port, ssl=True, ssl_context=client_context())
    client.login(user.identifier, PASSWORD)
    client.enable("CONDSTORE", "QRESYNC")
    typ, data = client._imap._simple_command(
        "SELECT", f"INBOX (QRESYNC ({_inbox(user).uidvalidity} {modseq}))"
    )
    assert typ == "OK"
    vanished = client._imap.untagged_responses.pop("VANISHED", [])
    text = b" ".join(v if isinstance(v, bytes) else b"" for v in vanished).decode()
    gone = set()
    for part in re.sub(r"\(EARLIER\)\s*", "", text).split(","):
        lo, _, hi = part.strip().partition(":")
        gone.update(range(int(lo), int(hi or lo) + 1))
    assert gone == {1, 3} and known - gone == {2, 4}
    assert set(client.search("ALL")) == {2, 4, 5}  # imapclient searches by UID
    client.logout()


def test_daily_housekeeping_purges_with_the_setting(transactional_db, make_account, settings):
    settings.EXPUNGED_KEEP_DAYS = 30
    person = make_account("Paul", "Durand")
    box = _inbox(person)
    for i in range(3):
        do_append(person.pk, box.pk, build_message(subject=f"M{i}", to=person.address))
    _expunge(person, 1, age_days=31)
    _expunge(person, 2, age_days=29)
    _housekeeping(1)  # hourly rounds leave tombstones alone
    assert Expunged.objects.filter(mailbox=box).count() == 2
    _housekeeping(0)
    assert list(Expunged.objects.filter(mailbox=box).values_list("uid", flat=True)) == [2]
