"""The platform's own mail: académie recipients get it in their INBOX, outside
addresses land in the outbound capture an administrator can read."""

from __future__ import annotations

import pytest
from django.core import mail

from academail.delivery.models import CapturedMessage
from academail.store.messages import search_messages

pytestmark = pytest.mark.django_db


def test_backend_delivers_locally_and_captures_the_rest(make_account):
    account = make_account()
    connection = mail.get_connection("academail.delivery.mailbackend.PlatformEmailBackend")
    message = mail.EmailMessage(
        subject="Votre code de vérification",
        body="Votre code : 482913. Il expire dans 15 minutes.",
        from_email="ne-pas-repondre@ac-demo.fr",
        to=[account.address, "julie.perso@exemple.fr"],
        connection=connection,
    )
    assert message.send() == 1
    assert [m.content.subject for m in search_messages(account.pk, "code verification")] == [
        "Votre code de vérification"
    ]
    captured = CapturedMessage.objects.get()
    assert captured.recipients == ["julie.perso@exemple.fr"]
    assert captured.subject == "Votre code de vérification"
    assert b"482913" in bytes(captured.raw)


def test_captured_mail_is_readable_in_the_admin(make_account, client):
    admin = make_account("Jean-Pierre", "De La Fontaine", role="admin")
    admin.is_superuser = True
    admin.set_password("Une-phrase-de-passe-42!")
    admin.save()
    CapturedMessage.objects.create(mail_from="x@ac-demo.fr", recipients=["a@exemple.fr"], subject="Alerte", raw=b"Subject: Alerte\r\n\r\ncorps secret\r\n")
    client.force_login(admin)
    listing = client.get("/admin/delivery/capturedmessage/")
    assert listing.status_code == 200 and "Alerte" in listing.content.decode()
    detail = client.get(f"/admin/delivery/capturedmessage/{CapturedMessage.objects.get().pk}/change/")
    assert "corps secret" in detail.content.decode()
