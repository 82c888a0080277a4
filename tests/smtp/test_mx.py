"""The MX over a real socket with smtplib: stored before 250, the right reply
code for each refusal, STARTTLS, the Received prefix."""

from __future__ import annotations

import smtplib
import ssl

import pytest

from academail.smtp import codes
from academail.store.messages import access_message, quota_usage, read_raw
from academail.store.models import Mailbox
from tests.conftest import build_message


def code_of(constant: str) -> int:
    return int(constant[:3])


def inbox_uids(account) -> list[int]:
    box = Mailbox.objects.get(account=account, special_use="inbox")
    from academail.store.models import Message

    return list(Message.objects.filter(mailbox=box).order_by("uid").values_list("uid", flat=True))


def test_ehlo_advertises_extensions(mx):
    with smtplib.SMTP(mx.host, mx.port) as client:
        code, _ = client.ehlo("client.example")
        assert code == 250
        for extension in ("size", "8bitmime", "pipelining", "enhancedstatuscodes", "starttls", "smtputf8"):
            assert client.has_extn(extension), extension


def test_message_is_stored_before_250(mx, make_account):
    account = make_account()
    raw = build_message(to=account.address)
    with smtplib.SMTP(mx.host, mx.port) as client:
        client.ehlo("client.example")
        refused = client.sendmail("direction@college-exemple.fr", [account.address.upper()], raw)
    assert refused == {}
    assert inbox_uids(account) == [1]
    box = Mailbox.objects.get(account=account, special_use="inbox")
    stored = read_raw(access_message(account.pk, box.pk, 1))
    assert stored.startswith(b"Authentication-Results: localhost;\r\n\tspf=none")  # RFC 8601 §4: above Received
    assert b"\r\nReceived: from client.example ([127.0.0.1])" in stored
    assert stored.endswith(raw)
    assert quota_usage(account.pk)[0] == len(stored)


def test_starttls_then_delivery(mx, make_account):
    account = make_account()
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with smtplib.SMTP(mx.host, mx.port) as client:
        client.starttls(context=context)
        client.ehlo("secure.example")
        client.sendmail("a@example.org", [account.address], build_message())
    box = Mailbox.objects.get(account=account, special_use="inbox")
    assert b"with ESMTPS" in read_raw(access_message(account.pk, box.pk, 1))


def test_unknown_recipient_and_relay_are_refused_at_rcpt(mx, make_account):
    make_account()
    with smtplib.SMTP(mx.host, mx.port) as client:
        client.ehlo("client.example")
        client.mail("a@example.org")
        code, message = client.rcpt("personne@ac-demo.fr")
        assert (code, message.decode()) == (code_of(codes.S550_UNKNOWN_RECIPIENT), codes.S550_UNKNOWN_RECIPIENT[4:])
        code, _ = client.rcpt("quelquun@gmail.com")
        assert code == code_of(codes.S550_RELAY_DENIED)


def test_same_message_to_unknown_and_known_goes_to_the_known(mx, make_account):
    account = make_account()
    with smtplib.SMTP(mx.host, mx.port) as client:
        refused = client.sendmail("a@example.org", ["inconnu@ac-demo.fr", account.address], build_message())
    assert list(refused) == ["inconnu@ac-demo.fr"]
    assert inbox_uids(account) == [1]


def test_too_big_is_refused_with_552(mx, make_account, settings):
    account = make_account()
    settings.MAX_MESSAGE_SIZE = 20_000
    with smtplib.SMTP(mx.host, mx.port) as client:
        with pytest.raises(smtplib.SMTPSenderRefused) as declared:
            client.sendmail("a@example.org", [account.address], build_message(body="x" * 30_000), mail_options=["SIZE=30000"])
        assert declared.value.smtp_code == 552
    # aiosmtpd reads the SIZE limit at connection time, so open a fresh one.
    with smtplib.SMTP(mx.host, mx.port) as client:
        client.ehlo("client.example")
        client.esmtp_features.pop("size", None)  # lie: do not declare the size
        with pytest.raises(smtplib.SMTPDataError) as undeclared:
            client.sendmail("a@example.org", [account.address], build_message(body="x" * 30_000))
        assert undeclared.value.smtp_code == 552
        assert undeclared.value.smtp_error.decode().startswith("5.3.4")
    assert inbox_uids(account) == []


def test_full_mailbox_gets_452(mx, make_account, settings):
    settings.QUOTA_GRACE_PERCENT = 0
    raw = build_message(body="x" * 3000)
    account = make_account(quota_bytes=len(raw) + 500)
    with smtplib.SMTP(mx.host, mx.port) as client:
        client.sendmail("a@example.org", [account.address], raw)
        with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
            client.sendmail("a@example.org", [account.address], raw)
        assert refused.value.recipients[account.address][0] == code_of(codes.S452_MAILBOX_FULL)
    assert inbox_uids(account) == [1]


def test_data_time_quota_failure_stores_for_nobody(mx, make_account, settings):
    settings.QUOTA_GRACE_PERCENT = 0
    small, full = make_account(), make_account("Paul", "Durand", quota_bytes=4000)
    raw = build_message(body="y" * 6000)
    with smtplib.SMTP(mx.host, mx.port) as client:
        client.ehlo("client.example")
        client.esmtp_features.pop("size", None)  # no SIZE=: the RCPT check cannot see it coming
        with pytest.raises(smtplib.SMTPDataError) as error:
            client.sendmail("a@example.org", [small.address, full.address], raw)
        assert error.value.smtp_code == 452
    assert inbox_uids(small) == [] and inbox_uids(full) == []


def test_mail_loop_is_refused(mx, make_account):
    account = make_account()
    looping = b"".join(b"Received: from relay%d by relay%d\r\n" % (i, i + 1) for i in range(31)) + build_message()
    with smtplib.SMTP(mx.host, mx.port) as client:
        with pytest.raises(smtplib.SMTPDataError) as error:
            client.sendmail("a@example.org", [account.address], looping)
        assert error.value.smtp_code == code_of(codes.S554_LOOP)


def test_bare_lf_dot_does_not_end_data(mx, make_account):
    """SMTP smuggling: <LF>.<LF> inside DATA must not end the message."""
    account = make_account()
    smuggled = (
        build_message(body="avant")
        + b"\n.\nMAIL FROM:<pirate@evil.example>\r\nRCPT TO:<" + account.address.encode() + b">\r\nDATA\r\n"
        + b"Subject: faux\r\n\r\ncontenu introduit\r\n"
    )
    with smtplib.SMTP(mx.host, mx.port) as client:
        client.sendmail("a@example.org", [account.address], smuggled)
    assert inbox_uids(account) == [1], "exactly one message: the smuggled one is not separate"


def test_connection_limit_per_address(mx, settings):
    settings.SMTP_MAX_CONNECTIONS_PER_IP = 2
    clients = [smtplib.SMTP(mx.host, mx.port) for _ in range(2)]
    try:
        with pytest.raises(smtplib.SMTPConnectError) as error:
            smtplib.SMTP(mx.host, mx.port)
        assert error.value.smtp_code == 421
    finally:
        for client in clients:
            client.quit()


def test_dot_stuffing_is_undone_and_long_lines_refused(mx, make_account):
    account = make_account()
    body = b"Subject: points\r\n\r\n.commence par un point\r\n..deux points\r\nfin\r\n"
    with smtplib.SMTP(mx.host, mx.port) as client:
        client.sendmail("a@example.org", [account.address], body)  # smtplib stuffs the dots
        with pytest.raises(smtplib.SMTPDataError) as error:
            client.sendmail("a@example.org", [account.address], b"Subject: long\r\n\r\n" + b"x" * 1200 + b"\r\n")
        assert error.value.smtp_code == code_of(codes.S500_LINE_TOO_LONG)
        # The session goes on normally after a refused DATA.
        assert client.sendmail("a@example.org", [account.address], b"Subject: vide\r\n\r\n") == {}
    box = Mailbox.objects.get(account=account, special_use="inbox")
    stored = read_raw(access_message(account.pk, box.pk, 1))
    assert stored.endswith(body)
    assert inbox_uids(account) == [1, 2]


def test_pipelined_transactions_after_data(mx, make_account):
    """Bytes after the end of data (a pipelining client) are the next commands."""
    import socket

    account = make_account()
    with socket.create_connection((mx.host, mx.port)) as sock:
        reader = sock.makefile("rb")
        assert reader.readline().startswith(b"220")
        sock.sendall(b"EHLO client.example\r\n")
        while not reader.readline().startswith(b"250 "):
            pass
        message = b"Subject: un\r\n\r\ncorps\r\n.\r\n"
        sock.sendall(
            b"MAIL FROM:<a@example.org>\r\nRCPT TO:<" + account.address.encode() + b">\r\nDATA\r\n"
        )
        replies = [reader.readline() for _ in range(3)]
        assert replies[2].startswith(b"354")
        sock.sendall(message + b"MAIL FROM:<b@example.org>\r\nRCPT TO:<" + account.address.encode() + b">\r\nDATA\r\n")
        replies = [reader.readline() for _ in range(4)]
        assert [r[:3] for r in replies] == [b"250", b"250", b"250", b"354"]
        sock.sendall(b"Subject: deux\r\n\r\ncorps\r\n.\r\nQUIT\r\n")
        assert reader.readline().startswith(b"250")
        assert reader.readline().startswith(b"221")
    assert inbox_uids(account) == [1, 2]


def test_vacation_reply_goes_to_the_smtp_envelope_sender(mx, make_account):
    from academail.filters.services import check_and_save_script

    absent, colleague = make_account(), make_account("Paul", "Durand")
    check_and_save_script(absent.pk, 'require ["vacation"];\nvacation :days 3 "Absente cette semaine.";\n')
    with smtplib.SMTP(mx.host, mx.port) as client:
        client.sendmail(colleague.address, [absent.address], build_message(sender=colleague.address, to=absent.address))
    assert inbox_uids(colleague) == [1], "the out-of-office reply reached the sender"
