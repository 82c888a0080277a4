"""The "Toujours accepter / toujours refuser cet expéditeur" lists: from the
reading pane and from their page, used at the next delivery; malformed input
is a French error; nobody removes another person's entry."""

from __future__ import annotations

from html import unescape

import pytest

from academail.delivery.route import deliver
from academail.protection.models import SenderRule
from academail.store.models import Message
from tests.conftest import build_message

pytestmark = pytest.mark.django_db(transaction=True)


def arrive(account, raw: bytes) -> Message:
    deliver(raw, [account.address], screen=True)
    return Message.objects.filter(mailbox__account=account).select_related("mailbox").latest("pk")


def test_refuse_from_the_reading_pane_then_accept_from_the_page(client, make_account, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    julie, paul = make_account("Julie", "Martin"), make_account("Paul", "Durand")
    client.force_login(julie)
    first = arrive(julie, build_message(sender="lettre@pub.example"))
    page = unescape(client.get(f"/courrier/message/{first.mailbox_id}/{first.uid}/").content.decode())
    assert "Toujours refuser cet expéditeur" in page
    back = f"/courrier/message/{first.mailbox_id}/{first.uid}/"
    response = client.post("/courrier/protection/expediteurs/", {"sender": "lettre@pub.example", "kind": "refuse",
                                                                "back": back})
    assert response.status_code == 302 and response["Location"] == back
    assert arrive(julie, build_message(sender="lettre@pub.example")).mailbox.special_use == "junk"
    # The domain accepted, the address still refused: the address wins.
    client.post("/courrier/protection/expediteurs/", {"sender": "@pub.example", "kind": "accept"})
    assert arrive(julie, build_message(sender="lettre@pub.example")).mailbox.special_use == "junk"
    assert arrive(julie, build_message(sender="autre@pub.example")).mailbox.special_use == "inbox"
    page = unescape(client.get("/courrier/protection/expediteurs/").content.decode())
    assert "lettre@pub.example" in page and "@pub.example" in page
    bad = client.post("/courrier/protection/expediteurs/", {"sender": "pas une adresse", "kind": "accept"})
    assert bad.status_code == 400 and "n'est pas une adresse" in unescape(bad.content.decode())
    # Paul cannot remove Julie's entry.
    rule = SenderRule.objects.get(account=julie, sender="lettre@pub.example")
    client.force_login(paul)
    client.post(f"/courrier/protection/expediteurs/{rule.pk}/retirer/")
    assert SenderRule.objects.filter(pk=rule.pk).exists()
    client.force_login(julie)
    client.post(f"/courrier/protection/expediteurs/{rule.pk}/retirer/")
    assert not SenderRule.objects.filter(pk=rule.pk).exists()
