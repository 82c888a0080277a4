"""Control characters in envelope addresses (outside review, 2026-12):
``MAIL FROM:<a\\0b@x>`` was accepted and stored. RFC 5321 §4.1.2 allows none;
the MX and submission answer ``501 5.1.7`` (sender) and ``501 5.1.3``
(recipient, RFC 3463 §3.2), and nothing is stored."""

from __future__ import annotations

import smtplib

import pytest

from academail.smtp import codes
from academail.store.models import Message
from tests.smtp.conftest import PASSWORD
from tests.smtp.test_rcpt_batch import Client
from tests.smtp.test_submission import starttls_client

BAD = ["a\x00b@exemple.fr", "a\x01b@exemple.fr", "a\x7fb@exemple.fr", "a\tb@exemple.fr", "a\x1bb@exemple.fr"]


@pytest.mark.parametrize("address", BAD)
def test_mx_refuses_control_characters_in_the_sender(mx, make_account, address):
    make_account("Julie", "Martin")
    client = Client(mx.host, mx.port)
    replies = client.pipeline(f"MAIL FROM:<{address}>")
    assert replies == [codes.S501_SENDER_SYNTAX]
    # The transaction never started: a RCPT now needs a MAIL first.
    assert client.pipeline("RCPT TO:<julie.martin@ac-demo.fr>")[0].startswith("503")
    client.close()
    assert not Message.objects.exists()


def test_mx_refuses_control_characters_in_a_recipient(mx, make_account):
    make_account("Julie", "Martin")
    client = Client(mx.host, mx.port)
    replies = client.pipeline("MAIL FROM:<parent@exemple.fr>", "RCPT TO:<julie.martin\x00@ac-demo.fr>",
                              "RCPT TO:<julie.martin@ac-demo.fr>")
    assert replies == [codes.S250_SENDER_OK, codes.S501_RECIPIENT_SYNTAX, codes.S250_RECIPIENT_OK]
    client.close()


def test_submission_refuses_control_characters(submission, sender):
    with starttls_client(submission) as client:
        client.login(sender.identifier, PASSWORD)
        code, message = client.docmd("MAIL", "FROM:<julie.martin\x00@ac-demo.fr>")
        assert f"{code} {message.decode()}" == codes.S501_SENDER_SYNTAX
        assert client.docmd("MAIL", f"FROM:<{sender.address}>")[0] == 250
        code, message = client.docmd("RCPT", "TO:<a\x00b@ac-demo.fr>")
        assert f"{code} {message.decode()}" == codes.S501_RECIPIENT_SYNTAX
        with pytest.raises(smtplib.SMTPResponseException):
            client.data(b"Subject: x\r\n\r\nx\r\n")
