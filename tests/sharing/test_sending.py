"""Sending from a functional mailbox (send as) and on a delegator's behalf
(issue 19): From and Sender (RFC 5322 §3.6.2) checked by the one rule
``delivery.submit.check_author_fields``, over real SMTP submission and from
the webmail; the copy kept in the mailbox's Envoyés; both journals."""

from __future__ import annotations

import email
import html
from email import policy

import pytest
from django.test import Client
from django.urls import reverse

from academail.accounts.services import check_create_functional_account
from academail.delivery.route import Identity
from academail.delivery.submit import SenderRefused, check_author_fields
from academail.smtp import codes
from academail.store import acl
from academail.store.messages import special_mailbox
from tests.imap.helpers import deliver_to
from tests.smtp.conftest import PASSWORD, submission  # noqa: F401, F811 (the real submission server)
from tests.smtp.test_submission import inbox, starttls_client

SCHOOL_ADDRESS = "ce.0341234x@ac-demo.fr"


@pytest.fixture
def school(make_account):
    """The functional mailbox, a secretary who may send as it, a reader who
    may not, and a parent's colleague address in the académie."""
    box = check_create_functional_account(name="Collège Jean Moulin", address=SCHOOL_ADDRESS)
    secretary = make_account("Sophie", "Leroy")
    reader = make_account("Rémi", "Faure")
    parent = make_account("Claire", "Parent")
    for person in (secretary, reader):
        person.set_password(PASSWORD)
        person.save()
    acl.do_grant(box.pk, secretary.pk, acl.preset_rights(["read", "mark", "file", "send_as"]))
    acl.do_grant(box.pk, reader.pk, acl.preset_rights(["read"]))
    return box, secretary, reader, parent


def test_the_rule_is_one_function():
    identity = Identity(
        1, "sleroy", "sophie.leroy@ac-demo.fr", frozenset({"sophie.leroy@ac-demo.fr"}),
        send_as=frozenset({SCHOOL_ADDRESS}), on_behalf=frozenset({"paul.girard@ac-demo.fr"}),
    )
    check_author_fields(identity, [SCHOOL_ADDRESS], [])  # send as: no Sender needed
    check_author_fields(identity, [SCHOOL_ADDRESS], ["sophie.leroy@ac-demo.fr"])
    check_author_fields(identity, ["paul.girard@ac-demo.fr"], ["sophie.leroy@ac-demo.fr"])  # on behalf
    with pytest.raises(SenderRefused) as refused:
        check_author_fields(identity, ["paul.girard@ac-demo.fr"], [])  # on behalf needs Sender
    assert refused.value.field == "Sender"
    with pytest.raises(SenderRefused) as refused:
        check_author_fields(identity, ["paul.girard@ac-demo.fr"], ["paul.girard@ac-demo.fr"])
    assert refused.value.field == "Sender"
    with pytest.raises(SenderRefused):
        check_author_fields(identity, ["recteur@ac-demo.fr"], ["sophie.leroy@ac-demo.fr"])


def _message(frm: str, to: str, extra: str = "") -> bytes:
    return (f"From: {frm}\r\n{extra}To: <{to}>\r\nSubject: Réponse aux parents\r\n\r\nBonjour.\r\n").encode()


def test_send_as_over_submission(submission, school):  # noqa: F811
    box, secretary, reader, parent = school
    with starttls_client(submission) as client:
        client.login(secretary.identifier, PASSWORD)
        client.sendmail(SCHOOL_ADDRESS, [parent.address], _message(f"Collège <{SCHOOL_ADDRESS}>", parent.address))
    [received] = inbox(parent)
    parsed = email.message_from_bytes(received, policy=policy.default)
    assert parsed["From"].addresses[0].addr_spec == SCHOOL_ADDRESS and parsed["Sender"] is None
    # Without the right: 553 for the envelope, 550 for the header.
    with starttls_client(submission) as client:
        client.login(reader.identifier, PASSWORD)
        code, reply = client.mail(SCHOOL_ADDRESS)
        assert f"{code} {reply.decode()}" == codes.S553_SENDER_NOT_OWNED.format(address=SCHOOL_ADDRESS)


def test_send_on_behalf_over_submission_adds_sender(submission, make_account):  # noqa: F811
    principal = make_account("Paul", "Girard")
    deputy = make_account("Inès", "Morel")
    deputy.set_password(PASSWORD)
    deputy.save()
    colleague = make_account("Jean", "Dupont")
    acl.do_grant(principal.pk, deputy.pk, "lr1", kind="delegation")
    with starttls_client(submission) as client:
        client.login(deputy.identifier, PASSWORD)
        # Thunderbird writes no Sender: the MSA adds the delegate's (RFC 5322 §3.6.2).
        client.sendmail(deputy.address, [colleague.address], _message(f"<{principal.address}>", colleague.address))
        with pytest.raises(Exception) as refused:
            client.sendmail(deputy.address, [colleague.address], _message(
                f"<{principal.address}>", colleague.address, f"Sender: <{principal.address}>\r\n"))
        assert "550" in str(refused.value)
    [received] = inbox(colleague)
    parsed = email.message_from_bytes(received, policy=policy.default)
    assert parsed["From"].addresses[0].addr_spec == principal.address
    assert parsed["Sender"].addresses[0].addr_spec == deputy.address


def test_webmail_reply_from_the_functional_mailbox(school):
    box, secretary, _reader, parent = school
    deliver_to(box, subject="Absence de mon fils", sender=parent.address)
    inbox_id = special_mailbox(box.pk, "inbox").pk
    client = Client()
    client.force_login(secretary)
    page = client.get(reverse("webmail:write"), {"mode": "reply", "source": f"{inbox_id}-1"})
    body = html.unescape(page.content.decode())
    assert page.status_code == 200
    assert f'<option value="{SCHOOL_ADDRESS}" selected>' in body  # replies leave from the school's address
    response = client.post(reverse("webmail:write"), {
        "mode": "reply", "source": f"{inbox_id}-1", "from": SCHOOL_ADDRESS, "to": parent.address,
        "subject": "Re: Absence de mon fils", "body": "Bien noté.",
    })
    assert response.status_code == 302, html.unescape(response.content.decode())[:3000]
    [received] = inbox(parent)
    parsed = email.message_from_bytes(received, policy=policy.default)
    assert parsed["From"].addresses[0].addr_spec == SCHOOL_ADDRESS and parsed["Sender"] is None
    # Envoyés of the functional mailbox keeps it; the secretary's own does not.
    assert special_mailbox(box.pk, "sent").messages == 1
    assert special_mailbox(secretary.pk, "sent").messages == 0
    journal = list(box.journal.values_list("detail", flat=True))
    assert any("Sophie Leroy" in line and "a envoyé « Re: Absence de mon fils »" in line for line in journal), journal
    own = list(secretary.journal.values_list("detail", flat=True))
    assert any(f"envoyé en tant que {SCHOOL_ADDRESS}" in line for line in own), own


def test_webmail_refuses_an_address_one_may_not_use(school):
    box, _secretary, reader, parent = school
    client = Client()
    client.force_login(reader)
    page = html.unescape(client.get(reverse("webmail:write")).content.decode())
    assert SCHOOL_ADDRESS not in page  # no choice offered without the right
    client.post(reverse("webmail:write"), {
        "from": SCHOOL_ADDRESS, "to": parent.address, "subject": "Essai", "body": "x",
    })
    [received] = inbox(parent)
    parsed = email.message_from_bytes(received, policy=policy.default)
    assert parsed["From"].addresses[0].addr_spec == reader.address  # the form's value is ignored


def test_rights_are_read_again_for_each_message_of_a_session(submission, school):  # noqa: F811
    """A member removed mid-session cannot keep sending as the functional
    address: the rights are read at each MAIL FROM, not kept from AUTH."""
    box, secretary, _reader, parent = school
    with starttls_client(submission) as client:
        client.login(secretary.identifier, PASSWORD)
        client.sendmail(SCHOOL_ADDRESS, [parent.address], _message(f"<{SCHOOL_ADDRESS}>", parent.address))
        acl.do_revoke(box.pk, secretary.pk)  # the secretariat removes her, same session
        code, reply = client.mail(SCHOOL_ADDRESS)
        assert f"{code} {reply.decode()}" == codes.S553_SENDER_NOT_OWNED.format(address=SCHOOL_ADDRESS)
        client.rset()
        # Her own envelope sender, the school's From: refused at DATA (550).
        code, _ = client.mail(secretary.address)
        assert code == 250
        assert client.rcpt(parent.address)[0] == 250
        code, reply = client.data(_message(f"<{SCHOOL_ADDRESS}>", parent.address))
        assert f"{code} {reply.decode()}" == codes.S550_FROM_NOT_OWNED.format(address=SCHOOL_ADDRESS)
        client.rset()
        # Her own mail still leaves.
        client.sendmail(secretary.address, [parent.address], _message(f"<{secretary.address}>", parent.address))
    assert len(inbox(parent)) == 2


def test_a_departure_mid_session_stops_sending(submission, school):  # noqa: F811
    from academail.accounts.models import Status

    _box, secretary, _reader, parent = school
    with starttls_client(submission) as client:
        client.login(secretary.identifier, PASSWORD)
        client.sendmail(secretary.address, [parent.address], _message(f"<{secretary.address}>", parent.address))
        secretary.status = Status.DISABLED
        secretary.save(update_fields=["status"])
        code, reply = client.mail(secretary.address)
        assert f"{code} {reply.decode()}" == codes.S530_ACCOUNT_DISABLED
    assert len(inbox(parent)) == 1
