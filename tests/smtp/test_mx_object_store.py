"""The MX with blobs in object storage (moto's S3 server, tests/s3.py): a
message is in the bucket before 250; when the object store cuts the upload
half-way, answers 500 or stops answering, the sender gets 451 4.3.0, and
neither an object nor a row is left (issue 21, "Bad input and faults")."""

from __future__ import annotations

import hashlib
import os
import smtplib

import pytest

from academail.smtp import codes
from academail.store.models import Message
from tests.conftest import build_message


def test_message_is_in_the_bucket_before_250(mx, make_account, s3_blobs):
    account = make_account()
    raw = build_message(to=account.address, attachment=os.urandom(50_000))
    with smtplib.SMTP(mx.host, mx.port) as client:
        assert client.sendmail("direction@college-exemple.fr", [account.address], raw) == {}
    sha = hashlib.sha256(raw).hexdigest()
    assert s3_blobs.keys() == [f"mail/{sha[:2]}/{sha[2:4]}/{sha}"]
    assert Message.objects.filter(mailbox__account=account).count() == 1


@pytest.mark.parametrize("mode", ["cut", "error", "hang"])
def test_object_store_failure_is_451_and_leaves_nothing(mx, make_account, s3_faulty, s3_blobs, mode):
    account = make_account()
    raw = build_message(to=account.address, attachment=os.urandom(200_000))
    s3_faulty.mode = mode
    with smtplib.SMTP(mx.host, mx.port, timeout=60) as client:
        with pytest.raises(smtplib.SMTPDataError) as refused:
            client.sendmail("direction@college-exemple.fr", [account.address], raw)
    assert (refused.value.smtp_code, refused.value.smtp_error.decode()) == (
        451, codes.S451_LOCAL_ERROR[4:])
    assert Message.objects.filter(mailbox__account=account).count() == 0
    s3_faulty.mode = "pass"
    assert s3_blobs.keys() == []
    with smtplib.SMTP(mx.host, mx.port, timeout=60) as client:  # the sender's retry
        assert client.sendmail("direction@college-exemple.fr", [account.address], raw) == {}
    assert Message.objects.filter(mailbox__account=account).count() == 1
