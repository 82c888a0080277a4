"""A post to a distribution list through the real MX (smtplib over a real
socket): the directory list reaches every teacher of the établissement once,
with one stored content; List-* headers read back by the stdlib parser;
moderation, an unauthorised sender's DSN, outside members through the queue
with an SRS bounce address, a bounce that disables an outside member, and a
copy that comes back with the list's own List-Id."""

from __future__ import annotations

import asyncio
import email
import email.policy
import smtplib
import ssl

import pytest
from django.utils import timezone

from academail.delivery.models import QueueEntry, SendEvent
from academail.delivery.queue import process_due
from academail.forwarding import srs
from academail.lists import services
from academail.lists.models import (
    Kind,
    MailingList,
    Member,
    Moderator,
    Post,
    Posting,
    PostStatus,
    Sender,
)
from academail.smtp import codes
from academail.store.messages import access_message, read_raw
from academail.store.models import Content, Mailbox, Message
from tests.conftest import build_message
from tests.smtp.conftest import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)

UAI = "0341234X"


def inbox(account) -> list[bytes]:
    box = Mailbox.objects.get(account=account, special_use="inbox")
    return [read_raw(access_message(account.pk, box.pk, m.uid)) for m in Message.objects.filter(mailbox=box).order_by("uid")]


def send(mx, mail_from: str, to: str, raw: bytes) -> dict:
    with smtplib.SMTP(mx.host, mx.port) as client:
        client.ehlo("client.example")
        return client.sendmail(mail_from, [to], raw)


@pytest.fixture
def college(make_account):
    teachers = [make_account("Prof", f"Numero{i}", uai=UAI, function="teacher") for i in range(3)]
    principal = make_account("Claire", "Principale", uai=UAI, function="principal")
    elsewhere = make_account("Paul", "Ailleurs", uai="0349999Z", function="teacher")
    profs = MailingList.objects.create(
        address="profs.0341234x@ac-demo.fr", name="Tous les professeurs du collège", kind=Kind.DIRECTORY,
        dir_uai=UAI, dir_function="teacher", posting=Posting.SENDERS, moderate_others=True, owner_uai=UAI,
    )
    Moderator.objects.create(mailing_list=profs, account=principal)
    return teachers, principal, elsewhere, profs


def test_directory_list_post_is_moderated_then_reaches_each_teacher_once_with_list_headers(mx, college, mailoutbox):
    teachers, principal, elsewhere, profs = college
    raw = build_message(subject="Réunion de rentrée", sender="rectorat@ac-demo.fr", to=profs.address)
    assert send(mx, "rectorat@ac-demo.fr", profs.address, raw) == {}
    # An unauthorised sender on a list with moderation: held, nobody has it yet, the moderator is told.
    post = Post.objects.get(mailing_list=profs)
    assert post.status == PostStatus.HELD
    assert all(inbox(t) == [] for t in teachers)
    (notice,) = mailoutbox  # the platform's mail (delivery.mailbackend in production)
    assert notice.to == [principal.address]
    assert "attend votre accord" in notice.body and f"/courrier/listes/{profs.pk}/" in notice.body

    assert services.check_moderate(principal, profs.pk, post.pk, approve=True) is not None
    assert services.check_moderate(principal, profs.pk, post.pk, approve=True) is None  # decided once

    for teacher in teachers:
        (copy,) = inbox(teacher)
        parsed = email.message_from_bytes(copy, policy=email.policy.default)
        assert parsed["List-Id"] == '"Tous les professeurs du collège" <profs.0341234x.ac-demo.fr>' or parsed[
            "List-Id"
        ].endswith("<profs.0341234x.ac-demo.fr>")
        assert parsed["List-Post"] == "NO"  # RFC 2369 §3.4: only named senders post
        assert parsed["List-Archive"].endswith(f"/courrier/listes/{profs.pk}/>")
        assert parsed["List-Unsubscribe"] is None  # a directory list cannot be left
        assert parsed["Precedence"] == "list"
        assert parsed["Reply-To"] is None  # replies go to the sender
        assert parsed["Subject"] == "Réunion de rentrée"
        assert copy.endswith(raw)
    assert inbox(elsewhere) == []
    # One content for every copy and the archive.
    sha = Post.objects.get(pk=post.pk).sha256
    assert Content.objects.filter(sha256=sha).count() == 1
    assert Content.objects.get(sha256=sha).refcount == len(teachers) + 1
    post.refresh_from_db()
    assert (post.status, post.local_count, post.remote_count) == (PostStatus.DISTRIBUTED, 3, 0)


def test_directory_list_follows_the_directory_at_post_time(mx, college, make_account):
    teachers, principal, _elsewhere, profs = college
    newcomer = make_account("Nouvelle", "Arrivee", uai=UAI, function="teacher")
    teachers[0].status = "disabled"
    teachers[0].save()
    Sender.objects.create(mailing_list=profs, address="direction@college-exemple.fr")
    sent = send(mx, "direction@college-exemple.fr", profs.address, build_message(to=profs.address))
    assert sent == {} and Post.objects.get().status == PostStatus.DISTRIBUTED  # a named sender: no moderation
    assert len(inbox(newcomer)) == 1
    assert inbox(teachers[0]) == []
    assert [len(inbox(t)) for t in teachers[1:]] == [1, 1]


def test_unauthorised_sender_gets_a_bilingual_dsn(mx, make_account):
    outsider = make_account("Jean", "Dehors")
    member = make_account("Marie", "Membre")
    colleague = make_account("Paul", "Collegue")
    team = MailingList.objects.create(address="equipe@ac-demo.fr", name="Équipe", posting=Posting.MEMBERS)
    Member.objects.create(mailing_list=team, address=member.address, account=member)
    raw = build_message(subject="Bonjour l'équipe", sender=outsider.address, to=f"{team.address}, {colleague.address}")
    # Another recipient in the same transaction: accepted for them, a DSN for the list.
    with smtplib.SMTP(mx.host, mx.port) as client:
        client.ehlo("client.example")
        assert client.sendmail(outsider.address, [team.address, colleague.address], raw) == {}
    # (The colleague's copy is in Indésirables: an académie From sent from outside fails DMARC.)
    assert inbox(member) == [] and Message.objects.filter(mailbox__account=colleague).count() == 1
    assert not Post.objects.exists()
    (dsn,) = inbox(outsider)
    report = email.message_from_bytes(dsn, policy=email.policy.default)
    assert report.get_content_type() == "multipart/report"
    text, status, _headers = report.iter_parts()
    body = text.get_content()
    assert "Seuls les membres de la liste peuvent y écrire" in body
    assert "Only members of this list may post to it" in body
    fields = status.get_payload()[1]
    assert fields["Final-Recipient"] == "rfc822; equipe@ac-demo.fr"
    assert fields["Status"] == "5.7.2"  # RFC 3463: mailing list expansion prohibited


def test_a_post_only_for_a_list_that_refuses_it_is_550_at_data(mx, make_account):
    member = make_account("Marie", "Membre")
    team = MailingList.objects.create(address="equipe@ac-demo.fr", name="Équipe", posting=Posting.MEMBERS)
    Member.objects.create(mailing_list=team, address=member.address, account=member)
    raw = build_message(subject="Offre exceptionnelle", sender="inconnu@exemple.org", to=team.address)
    with smtplib.SMTP(mx.host, mx.port) as client:
        client.ehlo("client.example")
        client.mail("inconnu@exemple.org")
        assert client.rcpt(team.address)[0] == 250
        code, text = client.data(raw)
    assert (code, text.decode()) == (550, codes.S550_LIST_POSTING[4:])
    assert not Post.objects.exists() and inbox(member) == []
    assert not QueueEntry.objects.exists()  # no DSN to a sender that may be forged
    # With moderation for other senders the same post is accepted and held.
    team.moderate_others = True
    team.save()
    assert send(mx, "inconnu@exemple.org", team.address, raw) == {}
    assert Post.objects.get().status == PostStatus.HELD


def submit(submission, account, to: str, raw: bytes) -> dict:
    with smtplib.SMTP_SSL(submission.host, submission.tls_port, context=ssl._create_unverified_context()) as client:
        client.login(account.identifier, PASSWORD)
        return client.sendmail(account.address, [to], raw)


def test_member_posts_outside_members_get_srs_bounce_address_and_a_bounce_disables(
    mx, submission, sender, remote_internet, settings, dkim_key
):
    settings.LISTS_BOUNCE_THRESHOLD = 1
    member = sender  # posts through submission, signed in
    team = MailingList.objects.create(address="partenaires@ac-demo.fr", name="Partenaires", allow_unsubscribe=True)
    for address, account in ((member.address, member), ("ami@exemple.org", None), ("reject@exemple.org", None)):
        Member.objects.create(mailing_list=team, address=address, account=account)
    raw = build_message(subject="Sortie", sender=member.address, to=team.address)
    assert submit(submission, member, team.address, raw) == {}
    # Sending limits: the list is one recipient for its sender, whatever its members.
    assert list(SendEvent.objects.filter(account_id=member.pk).values_list("recipients", flat=True)) == [1]
    (own,) = inbox(member)
    parsed = email.message_from_bytes(own, policy=email.policy.default)
    assert parsed["List-Post"] == "<mailto:partenaires@ac-demo.fr>"
    assert parsed["List-Unsubscribe"].endswith(f"/courrier/listes/{team.pk}/>")

    entries = list(QueueEntry.objects.select_related("message").order_by("recipient"))
    assert [e.recipient for e in entries] == ["ami@exemple.org", "reject@exemple.org"]
    for entry in entries:
        local, _, domain = entry.message.mail_from.rpartition("@")
        assert domain == "ac-demo.fr" and local.lower().startswith("partenaires-bounces+srs0=")
        assert srs.reverse(local.partition("+")[2] + "@" + domain) == entry.recipient
    asyncio.run(process_due(remote_internet.transport(), now=timezone.now()))
    (delivered,) = remote_internet.sink.received
    assert delivered.rcpt_tos == ["ami@exemple.org"]
    outside = email.message_from_bytes(delivered.data, policy=email.policy.default)
    assert outside["List-Id"].endswith("<partenaires.ac-demo.fr>")
    assert outside["DKIM-Signature"] is not None
    # reject@ was refused (550): the queue's DSN went to the list's bounce address and was counted.
    rejected = Member.objects.get(mailing_list=team, address="reject@exemple.org")
    assert rejected.bounces == 1 and rejected.disabled_at is not None
    assert Member.objects.get(mailing_list=team, address="ami@exemple.org").disabled_at is None

    submit(submission, member, team.address, build_message(subject="Encore", sender=member.address, to=team.address))
    assert QueueEntry.objects.filter(recipient="reject@exemple.org").count() == 0  # disabled: not sent again


def test_forged_bounce_address_is_unknown_at_rcpt(mx, make_account):
    MailingList.objects.create(address="equipe@ac-demo.fr", name="Équipe")
    forged = "equipe-bounces+SRS0=AAAA=ZZ=exemple.org=ami@ac-demo.fr"
    with smtplib.SMTP(mx.host, mx.port) as client:
        client.ehlo("client.example")
        client.mail("")
        code, _ = client.rcpt(forged)
    assert code == 550


def test_a_copy_coming_back_with_the_list_id_is_not_distributed_again(mx, make_account):
    member = make_account("Marie", "Membre")
    team = MailingList.objects.create(address="equipe@ac-demo.fr", name="Équipe", posting=Posting.MODERATED)
    Member.objects.create(mailing_list=team, address=member.address, account=member)
    raw = b"List-Id: <equipe.ac-demo.fr>\r\n" + build_message(sender="ami@exemple.org", to=team.address)
    assert send(mx, "ami@exemple.org", team.address, raw) == {}
    assert not Post.objects.exists()
    assert inbox(member) == []
