"""``academail demo`` through the real services: accounts, folders, messages,
credentials kept private, and a second run that changes nothing."""

from __future__ import annotations

import io
import stat

import pytest
from django.conf import settings
from django.utils import timezone

from academail.accounts.models import Account
from academail.demo.seed import CREDENTIALS_FILE, PENDING_INDEXES, seed_demo
from academail.store.models import Message

pytestmark = pytest.mark.django_db


def test_demo_seeds_every_role_with_mail_and_private_credentials():
    out = io.StringIO()
    rows = seed_demo(messages_per_account=4, out=out)
    assert len(rows) == 12
    assert set(Account.objects.values_list("role", flat=True)) == {"staff", "secretariat", "support", "admin"}
    assert Account.objects.filter(identifier__in=["jmartin", "jmartin1"]).count() == 2
    pending = Account.objects.filter(status="pending")
    assert pending.count() == len(PENDING_INDEXES)
    assert not any(a.has_usable_password() for a in pending)
    active = Account.objects.filter(status="active").first()
    password = next(r["mot de passe"] for r in rows if r["identifiant"] == active.identifier)
    assert active.check_password(password)
    assert Account.objects.get(role="admin").is_superuser
    # 4 messages each, plus one training invitation or waiting-list mail per demo registration,
    # plus protection's 4 outside messages per active account (junk, a lure, a parent).
    from academail.help.models import Registration, TrainingSession

    assert TrainingSession.objects.filter(starts_at__gt=timezone.now()).count() == 3
    assert Registration.objects.filter(state="waiting").exists()
    outside = 4 * Account.objects.filter(status="active", kind="person").count()
    # Plus the nearly full mailbox: three video messages and its 95 % notice (demo.mailboxcare),
    # the phishing report that reached the security team (the administrator), and the
    # copies of the distribution list's post (demo.lists), and the three parents'
    # messages of the functional mailbox (demo.sharing, issue 19).
    from academail.lists.models import Post

    list_copies = sum(Post.objects.values_list("local_count", flat=True))
    assert list_copies >= 2
    assert Message.objects.count() == 12 * 4 + Registration.objects.count() + outside + 3 + 1 + 1 + list_copies + 3
    path = settings.VAR_DIR / CREDENTIALS_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert password in path.read_text() and password in out.getvalue()

    again = io.StringIO()
    assert seed_demo(messages_per_account=4, out=again) == []
    assert Account.objects.filter(kind="person").count() == 12 and "déjà installée" in again.getvalue()


def test_the_demo_has_helpdesk_tickets_in_various_states(db, tmp_path, settings):
    import io

    from academail.assistance.models import Ticket
    from academail.demo.seed import seed_demo

    settings.VAR_DIR = tmp_path
    seed_demo(messages_per_account=2, out=io.StringIO())
    statuses = set(Ticket.objects.values_list("status", flat=True))
    channels = set(Ticket.objects.values_list("channel", flat=True))
    assert {"new", "waiting", "closed", "unconfirmed", "open"} <= statuses
    assert channels == {"web", "phone", "mail"}
    assert Ticket.objects.filter(rating=5).exists()


def test_the_demo_shows_junk_and_a_phishing_warning(db, settings):
    from academail.protection.models import Campaign, MessageWarnings

    seed_demo(messages_per_account=2, out=io.StringIO())
    # People: the demo school's functional mailbox (issue 19) is an active account too.
    active = Account.objects.filter(status="active", kind="person").count()
    junk = Message.objects.filter(mailbox__special_use="junk")
    # GTUBE and the casino promotion for everyone, plus the lure the first person reported.
    assert junk.filter(content__subject="Test anti-indésirables").count() == active
    assert junk.filter(content__subject="Votre bonus de 500 € vous attend").count() == active
    assert junk.filter(content__subject="Votre boîte aux lettres est pleine").count() == 1
    assert MessageWarnings.objects.filter(level="danger").exists()
    lure = Message.objects.filter(mailbox__special_use="inbox", content__subject="Votre boîte aux lettres est pleine")
    assert lure.count() == active - 1
    assert Campaign.objects.get().reports.count() == 1
    # The report reached the security team: the administrator, through the report address.
    admin = Account.objects.get(role="admin")
    report = Message.objects.filter(mailbox__account=admin, mailbox__special_use="inbox",
                                    content__subject__contains="Votre boîte aux lettres est pleine")
    assert report.exclude(content__subject="Votre boîte aux lettres est pleine").exists()


def test_the_demo_has_a_mailbox_near_its_quota(db, tmp_path, settings):
    from academail.store.messages import quota_usage
    from academail.store.space import space_report

    settings.VAR_DIR = tmp_path
    out = io.StringIO()
    seed_demo(messages_per_account=2, out=out)
    teacher = Account.objects.get(identifier=out.getvalue().split("Boîte presque pleine (95 %, trois vidéos) : ")[1].split(".")[0])
    used, limit = quota_usage(teacher.pk)
    assert used * 100 // limit == 95
    report = space_report(teacher.pk)
    assert sorted(m.subject for m in report.largest[:3]) == [f"Vidéo de la sortie au musée ({i}/3)" for i in (1, 2, 3)]
    assert sum(m.size for m in report.largest[:3]) > used // 2
    assert Message.objects.filter(
        mailbox__account=teacher, content__subject="Votre boîte aux lettres est utilisée à 95 %"
    ).count() == 1


def test_the_demo_has_a_directory_list_of_the_college_teachers_and_a_hand_list(db, settings):
    from academail.lists.members import directory_accounts
    from academail.lists.models import MailingList, Post

    seed_demo(messages_per_account=2, out=io.StringIO())
    profs = MailingList.objects.get(name="Tous les professeurs du collège")
    teachers = set(directory_accounts(profs).values_list("address", flat=True))
    assert teachers and all(
        a.function == "teacher" and a.uai == profs.dir_uai for a in Account.objects.filter(address__in=teachers)
    )
    assert list(Post.objects.filter(mailing_list=profs).order_by("pk").values_list("status", flat=True)) == [
        "distributed", "held",
    ]
    hand = MailingList.objects.get(name="Conseil pédagogique")
    assert hand.kind == "manual" and hand.members.filter(account__isnull=True).count() == 1


def test_the_demo_has_a_functional_mailbox_with_members(db, tmp_path, settings):
    from academail.sharing.functional import members_of
    from academail.sharing.models import FunctionalMailbox
    from academail.store.messages import special_mailbox

    settings.VAR_DIR = tmp_path
    out = io.StringIO()
    seed_demo(messages_per_account=2, out=out)
    box = FunctionalMailbox.objects.get(uai="0341234x")
    assert box.account.address == "ce.0341234x@ac-demo.fr" and f"Boîte fonctionnelle {box.account.address}" in out.getvalue()
    rights = {row.identifier: row.rights for row in members_of(box)}
    assert len(rights) == 2 and any("a" in r for r in rights.values())
    assert special_mailbox(box.account_id, "inbox").messages == 3
