"""Sender-header spoofing (outside review, 2026-12): a ``Sender:`` naming
another account passed submission, and mail clients then showed "julie.martin
on behalf of jean.dupont". It is checked like From, by the one rule
``delivery.submit.check_author_fields``: the person's own address or alias,
one mailbox at most; otherwise ``550 5.7.1`` and nothing is sent."""

from __future__ import annotations

import smtplib

import pytest

from academail.delivery.submit import Identity, SenderRefused, check_author_fields
from academail.smtp import codes
from tests.smtp.conftest import PASSWORD
from tests.smtp.test_submission import inbox, starttls_client


def message(sender_field: str, *, sender, to: str) -> bytes:
    return (f"From: Julie Martin <{sender.address}>\r\n{sender_field}To: <{to}>\r\n"
            "Subject: Conseil de classe\r\n\r\nBonjour.\r\n").encode()


@pytest.fixture
def colleague(make_account):
    account = make_account("Jean", "Dupont")
    return account


@pytest.mark.parametrize(("field", "reply"), [
    ("Sender: Jean Dupont <jean.dupont@ac-demo.fr>\r\n",
     codes.S550_SENDER_HEADER_NOT_OWNED.format(address="jean.dupont@ac-demo.fr")),
    ("Sender: <recteur@ac-demo.fr>\r\n", codes.S550_SENDER_HEADER_NOT_OWNED.format(address="recteur@ac-demo.fr")),
    ("Sender: pas une adresse\r\n", codes.S550_SENDER_HEADER_INVALID),
    ("Sender: <a@ac-demo.fr>, <b@ac-demo.fr>\r\n", codes.S550_SENDER_HEADER_INVALID),
])
def test_a_sender_header_naming_someone_else_is_refused(submission, sender, colleague, field, reply):
    with starttls_client(submission) as client:
        client.login(sender.identifier, PASSWORD)
        with pytest.raises(smtplib.SMTPDataError) as error:
            client.sendmail(sender.address, [colleague.address], message(field, sender=sender, to=colleague.address))
        assert f"{error.value.smtp_code} {error.value.smtp_error.decode()}" == reply
    assert inbox(colleague) == []


def test_a_sender_header_of_ones_own_is_kept(submission, sender, colleague):
    field = "Sender: Secrétariat <secretariat.college@ac-demo.fr>\r\n"
    with starttls_client(submission) as client:
        client.login(sender.identifier, PASSWORD)
        client.sendmail(sender.address, [colleague.address], message(field, sender=sender, to=colleague.address))
    [received] = inbox(colleague)
    assert b"Sender: Secr" in received and b"secretariat.college@ac-demo.fr" in received


def test_the_rule_is_one_function():
    own = frozenset({"julie.martin@ac-demo.fr", "secretariat.college@ac-demo.fr"})
    identity = Identity(1, "jmartin", "julie.martin@ac-demo.fr", own)
    sender, colleague = identity, Identity(2, "jdupont", "jean.dupont@ac-demo.fr", frozenset())
    check_author_fields(identity, [sender.address], ["secretariat.college@ac-demo.fr"])
    with pytest.raises(SenderRefused) as refused:
        check_author_fields(identity, [sender.address], [colleague.address])
    assert (refused.value.field, refused.value.address) == ("Sender", colleague.address)
    with pytest.raises(SenderRefused) as refused:
        check_author_fields(identity, [colleague.address], [])
    assert refused.value.field == "From"
