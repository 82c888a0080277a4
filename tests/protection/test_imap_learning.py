"""IMAP clients train the classifier: a message moved into Indésirables by
imapclient (as Thunderbird or a phone does) teaches junk; moved back out,
not junk; $NotJunk / $Junk keywords set by STORE too. The learning then
changes where the sender's next mail goes."""

from __future__ import annotations

import pytest
from imapclient import IMAPClient

from academail.delivery.route import deliver
from academail.protection.models import Correspondent, Learned, ReportedSender
from academail.store.models import Message
from tests.conftest import build_message
from tests.imap.conftest import PASSWORD, client_context, imap, user  # noqa: F401

pytestmark = pytest.mark.e2e


def arrive(account, raw: bytes) -> Message:
    (outcome,) = deliver(raw, [account.address], screen=True)
    return Message.objects.filter(mailbox__account=account).select_related("mailbox").latest("pk")


def test_imap_moves_and_keywords_train_the_classifier(imap, user):  # noqa: F811
    arrive(user, build_message(subject="Offre", sender="promo@offres.example"))
    arrive(user, build_message(subject="Menus", sender="cantine@mairie.example"))
    with IMAPClient(imap.host, port=imap.tls_port, ssl=True, ssl_context=client_context()) as client:
        client.login(user.identifier, PASSWORD)
        client.select_folder("INBOX")
        client.move([1], "Indésirables")  # what Thunderbird's "Indésirable" button does
        assert Learned.objects.get(account=user).spam is True
        assert ReportedSender.objects.filter(account=user, address="promo@offres.example").exists()
        client.add_flags([2], [b"$NotJunk"])
        assert Learned.objects.get(account=user, spam=False)
        assert Correspondent.objects.filter(account=user, address="cantine@mairie.example").exists()
    # The reported sender's next mail goes to Indésirables.
    assert arrive(user, build_message(subject="Autre offre", sender="promo@offres.example")).mailbox.special_use == "junk"
    with IMAPClient(imap.host, port=imap.tls_port, ssl=True, ssl_context=client_context()) as client:
        client.login(user.identifier, PASSWORD)
        client.select_folder("Indésirables")
        uids = client.search("ALL")
        client.move(uids, "INBOX")  # "Ce n'est pas un indésirable" from a phone
    assert not ReportedSender.objects.filter(account=user).exists()
    assert Learned.objects.filter(account=user, spam=True).count() == 0
    assert arrive(user, build_message(subject="Dernière", sender="promo@offres.example")).mailbox.special_use == "inbox"
