"""The one door with ugly input: every message of the corpus and the
pathological ones are stored unchanged and readable, or refused with a reason;
never a crash, never half a message."""

from __future__ import annotations

from pathlib import Path

import pytest

from academail.delivery.door import DeliveryRefused, Refusal, check_recipient
from academail.delivery.route import deliver
from academail.store.messages import access_message, read_raw
from academail.store.models import Content, Mailbox, Message

pytestmark = pytest.mark.django_db

CORPUS = sorted((Path(__file__).parent.parent / "data" / "messages").glob("*.eml"))


def inbox(account) -> Mailbox:
    return Mailbox.objects.get(account=account, special_use="inbox")


def nested(depth: int) -> bytes:
    message = b"Subject: fond\r\n\r\nau fond du puits\r\n"
    for level in range(depth):
        message = (
            b"Subject: niveau %d\r\nMIME-Version: 1.0\r\nContent-Type: message/rfc822\r\n\r\n" % level
        ) + message
    return message


def many_parts(count: int) -> bytes:
    head = b"Subject: 500 parties\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
    parts = b"".join(b"--b\r\nContent-Type: text/plain\r\n\r\npartie %d\r\n" % i for i in range(count))
    return head + parts + b"--b--\r\n"


PATHOLOGICAL = {
    "zero_bytes": b"",
    "nul_bytes": b"Subject: nul\x00\r\n\r\ncorps\x00avec\x00nul\r\n",
    "bare_lf": b"Subject: lf\nFrom: a@b.c\n\nligne 1\nligne 2\n",
    "eight_bit_headers": "Subject: Réunion élèves\r\nFrom: Hélène <h@x.fr>\r\n\r\ncorps\r\n".encode("latin-1"),
    "unknown_charset": b"Subject: =?x-inconnu?Q?r=E9union?=\r\nContent-Type: text/plain; charset=x-inconnu\r\n\r\n\xe9\xe8\r\n",
    "five_hundred_parts": many_parts(500),
    "fifty_levels": nested(50),
}


@pytest.mark.parametrize("path", CORPUS, ids=[p.stem for p in CORPUS])
def test_corpus_message_is_stored_unchanged(make_account, path):
    account = make_account()
    raw = path.read_bytes()
    (outcome,) = deliver(raw, [account.address])
    assert outcome.delivered
    message = access_message(account.pk, inbox(account).pk, outcome.uid)
    assert read_raw(message) == raw
    assert message.size == len(raw)


@pytest.mark.parametrize("name", sorted(PATHOLOGICAL))
def test_pathological_message_is_stored(make_account, name):
    account = make_account()
    raw = PATHOLOGICAL[name]
    (outcome,) = deliver(raw, [account.address])
    assert outcome.delivered
    assert read_raw(access_message(account.pk, inbox(account).pk, outcome.uid)) == raw


def test_thirty_megabytes_is_refused_whole(make_account, settings):
    account = make_account()
    raw = b"Subject: trop gros\r\n\r\n" + b"A" * (30 * 1024 * 1024)
    with pytest.raises(DeliveryRefused) as refused:
        deliver(raw, [account.address])
    assert refused.value.refusal is Refusal.TOO_BIG
    assert "25 Mo" in refused.value.message
    assert Message.objects.count() == 0 and Content.objects.count() == 0


def test_recipients_resolve_case_insensitively_and_through_aliases(make_account):
    account = make_account()
    account.aliases.create(address="Secretariat.3eB@ac-demo.fr")
    assert check_recipient("JULIE.Martin@AC-DEMO.FR").account_id == account.pk
    assert check_recipient("secretariat.3eb@ac-demo.fr").account_id == account.pk
    outcomes = deliver(b"Subject: deux fois\r\n\r\nx\r\n", [account.address, "secretariat.3eb@ac-demo.fr"])
    assert all(o.delivered for o in outcomes)
    assert Message.objects.filter(mailbox=inbox(account)).count() == 1, "one copy per person"


def test_unknown_and_disabled_recipients_are_refused(make_account):
    account = make_account(status="disabled")
    for address in ("personne@ac-demo.fr", account.address):
        with pytest.raises(DeliveryRefused) as refused:
            check_recipient(address)
        assert refused.value.refusal is Refusal.UNKNOWN_RECIPIENT
    assert [type(r) for r in deliver(b"x", ["personne@ac-demo.fr"])] == [DeliveryRefused]
