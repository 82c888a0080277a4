"""Writing to a list from the webmail: the member's post reaches the other
members once, the sent copy is in Envoyés, and the sending limits count the
list once; a non-member's post to a members-only list comes back as a DSN."""

from __future__ import annotations

import email
import email.policy

import pytest
from django.urls import reverse

from academail.delivery.models import SendEvent
from academail.lists.models import MailingList, Member, Posting
from academail.store.models import Message

# The DSN leaves once the send commits (transaction.on_commit), as in production.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def team(make_account):
    members = [make_account("Prof", f"Numero{i}") for i in range(3)]
    team = MailingList.objects.create(address="equipe@ac-demo.fr", name="Équipe", posting=Posting.MEMBERS)
    for account in members:
        Member.objects.create(mailing_list=team, address=account.address, account=account)
    return team, members


def _send(client, account, to: str, subject: str):
    client.force_login(account)
    data = {"to": to, "cc": "", "bcc": "", "subject": subject, "body": "Bonjour à tous."}
    return client.post(reverse("webmail:write"), data)


def inbox_subjects(account) -> list[str]:
    return list(Message.objects.filter(mailbox__account=account, mailbox__special_use="inbox")
                .values_list("content__subject", flat=True))


def test_member_writes_to_the_list_from_the_webmail(client, team):
    mailing_list, (author, *others) = team
    assert _send(client, author, mailing_list.address, "Conseil de classe de 3eB").status_code == 302
    for account in others:
        assert inbox_subjects(account) == ["Conseil de classe de 3eB"]
    assert Message.objects.filter(mailbox__account=author, mailbox__special_use="sent").count() == 1
    assert list(SendEvent.objects.filter(account_id=author.pk).values_list("recipients", flat=True)) == [1]


def test_non_member_gets_a_dsn_from_the_webmail(client, team, make_account):
    mailing_list, members = team
    outsider = make_account("Jean", "Dehors")
    assert _send(client, outsider, mailing_list.address, "Question").status_code == 302
    assert all(inbox_subjects(m) == [] for m in members)
    (dsn,) = Message.objects.filter(mailbox__account=outsider, mailbox__special_use="inbox").select_related("content")
    assert dsn.content.subject.startswith("Message non distribué / Undelivered mail: Question")
    from academail.store.messages import read_raw

    report = email.message_from_bytes(read_raw(dsn), policy=email.policy.default)
    assert report.get_content_type() == "multipart/report"
