"""IDOR: ids of another account's messages, folders and attachments are 404,
and actions on them change nothing."""

from __future__ import annotations

import pytest
from django.urls import reverse

from academail.store.models import Mailbox, Message
from tests.conftest import build_message
from tests.webmail.conftest import box_of, deliver


@pytest.fixture
def theirs(other):
    return deliver(other, build_message(to=other.address, subject="Confidentiel", attachment=b"secret"))


@pytest.mark.parametrize(
    "name, args",
    [
        ("webmail:folder", lambda m: [m.mailbox_id]),
        ("webmail:message", lambda m: [m.mailbox_id, m.uid]),
        ("webmail:message_frame", lambda m: [m.mailbox_id, m.uid]),
        ("webmail:source", lambda m: [m.mailbox_id, m.uid]),
        ("webmail:attachment", lambda m: [m.mailbox_id, m.uid, "2"]),
        ("webmail:folder_delete", lambda m: [m.mailbox_id]),
    ],
)
def test_other_accounts_ids_are_404(web, theirs, name, args):
    response = web.get(reverse(name, args=args(theirs)))
    assert response.status_code == 404
    assert b"Confidentiel" not in response.content and b"secret" not in response.content


def test_own_mailbox_with_their_uid_is_404(web, person, theirs):
    inbox = box_of(person, "inbox")
    assert web.get(reverse("webmail:message", args=[inbox.pk, theirs.uid])).status_code == 404


def test_actions_on_their_messages_change_nothing(web, person, other, theirs):
    for action in ("delete", "seen", "junk"):
        response = web.post(reverse("webmail:actions", args=[theirs.mailbox_id]), {"uid": [theirs.uid], "action": action})
        assert response.status_code == 404
    assert Message.objects.get(pk=theirs.pk).flags == 0
    mine = deliver(person, build_message())
    response = web.post(
        reverse("webmail:actions", args=[mine.mailbox_id]),
        {"uid": [mine.uid], "action": "move", "target": box_of(other, "inbox").pk},
    )
    assert Message.objects.filter(pk=mine.pk).exists()
    assert Message.objects.filter(mailbox__account=other).count() == 1


def test_their_folders_cannot_be_renamed_or_deleted(web, other):
    box = Mailbox.objects.create(account=other, name="Privé", uidvalidity=1)
    assert web.post(reverse("webmail:folder_rename", args=[box.pk]), {"name": "Pris"}).status_code == 404
    assert web.post(reverse("webmail:folder_delete", args=[box.pk])).status_code == 404
    box.refresh_from_db()
    assert box.name == "Privé"


def test_reply_to_their_message_is_404(web, theirs):
    url = reverse("webmail:write") + f"?mode=reply&source={theirs.mailbox_id}-{theirs.uid}"
    assert web.get(url).status_code == 404
