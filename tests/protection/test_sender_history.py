"""Two warnings that need what the académie knows: an outside sender using
a staff member's name (looked up by the (last_name, first_name) index), and
a sender domain's history with the académie ("Premier message de ce
domaine", spam points for a long clean record or a failing one), on the
real MX."""

from __future__ import annotations

import smtplib
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from academail.delivery.dns import FakeResolver
from academail.mime.parse import parse_message
from academail.protection.authresults import Auth
from academail.protection.models import DomainHistory, SenderRule
from academail.protection.phishing import analyse
from academail.protection.spam import screen, verdicts
from academail.protection.warnings import for_message
from academail.store.models import Message
from tests.conftest import build_message

RESOLVER = FakeResolver(txt={"parents.example": ["v=spf1 ip4:127.0.0.1 -all"],
                             "_dmarc.parents.example": ["v=DMARC1; p=none"]})


def codes_of(sender: str) -> list[str]:
    raw = build_message(sender=sender)
    return [w.code for w in analyse(parse_message(raw), raw, Auth(present=True, spf="pass")).warnings]


@pytest.mark.django_db
def test_an_outside_sender_with_a_colleagues_name(make_account):
    make_account("Julie", "Martin")
    make_account("Anne Marie", "Dupont")
    make_account("Hélène", "Châtelain")
    for name in ("Julie Martin", "MARTIN Julie", "Martin, Julie", "julie martin", "Anne Marie Dupont",
                 "Anne-Marie DUPONT", "Helene CHATELAIN", "hélène châtelain", "CHÂTELAIN Hélène"):
        assert "DISPLAY_NAME_STAFF" in codes_of(f'"{name}" <quelquun@messagerie-gratuite.example>'), name
    raw = build_message(sender="Julie Martin <julie.martin.perso@messagerie-gratuite.example>")
    warning = next(w for w in analyse(parse_message(raw), raw, Auth()).warnings if w.code == "DISPLAY_NAME_STAFF")
    assert warning.level == "warning" and "« Julie Martin »" in warning.detail
    assert "julie.martin.perso@messagerie-gratuite.example" in warning.detail
    # Another name, a one-word name, and the colleague herself from inside: nothing.
    assert "DISPLAY_NAME_STAFF" not in codes_of("Julie Durand <julie@messagerie-gratuite.example>")
    assert "DISPLAY_NAME_STAFF" not in codes_of("Martin <martin@messagerie-gratuite.example>")
    assert codes_of("Julie Martin <julie.martin@ac-demo.fr>") == []


@pytest.mark.django_db
def test_screening_reads_name_history_totals_and_lists_in_one_statement(make_account):
    julie, paul = make_account("Julie", "Martin"), make_account("Paul", "Durand")
    SenderRule.objects.create(account=paul, sender="@parents.example", kind=SenderRule.Kind.REFUSE)
    raw = build_message(sender='"Julie Martin" <maman@parents.example>')
    prefix = f"Authentication-Results: {settings.MAIL_HOSTNAME};\r\n\tspf=pass smtp.mailfrom=parents.example\r\n".encode()
    with CaptureQueriesContext(connection) as reads:
        screening = screen(parse_message(raw), prefix, raw=raw,
                           recipients=[(julie.address, julie.pk), (paul.address, paul.pk)])
    assert len(reads.captured_queries) == 1, [q["sql"] for q in reads.captured_queries]
    assert screening.findings is not None
    staff = next(w for w in screening.findings.warnings if w.code == "DISPLAY_NAME_STAFF")
    assert staff.params["name"] == "Julie Martin"  # the directory's answer, not the worker's "to look up"
    assert "NEW_DOMAIN" in [w.code for w in screening.findings.warnings]
    assert "DOMAIN_FIRST_SEEN" in [r.code for r in screening.reasons]
    with CaptureQueriesContext(connection) as more:
        judged = verdicts(screening, [julie.pk, paul.pk])
    assert not more.captured_queries  # the lists came with the screening's read
    assert "USER_REFUSE" in [r.code for r in judged[paul.pk].reasons] and judged[paul.pk].junk
    assert "USER_REFUSE" not in [r.code for r in judged[julie.pk].reasons] and not judged[julie.pk].junk
    # A known domain and nobody of that name: the same one statement, no staff warning.
    DomainHistory.objects.create(domain="parents.example", first_seen=timezone.now() - timedelta(days=8),
                                 last_seen=timezone.now(), messages=12, verified=12, failed=0)
    other = build_message(sender='"Zoé Inconnue" <maman@parents.example>')
    with CaptureQueriesContext(connection) as reads:
        screening = screen(parse_message(other), prefix, raw=other, recipients=[(julie.address, julie.pk)])
    assert len(reads.captured_queries) == 1
    assert screening.findings is not None
    assert [w.code for w in screening.findings.warnings] == ["EXTERNAL"]
    assert "DOMAIN_GOOD_HISTORY" in [r.code for r in screening.reasons]


def send(mx, account, raw: bytes) -> Message:
    with smtplib.SMTP(mx.host, mx.port) as client:
        client.ehlo("mta.parents.example")
        client.sendmail("maman@parents.example", [account.address], raw)
    return Message.objects.filter(mailbox__account=account).select_related("mailbox", "content").latest("pk")


@pytest.mark.parametrize("mx", [RESOLVER], indirect=True)
def test_a_domains_first_message_then_its_history(mx, make_account):
    account = make_account()
    first = send(mx, account, build_message(sender="maman@parents.example", subject="Sortie jeudi"))
    shown = for_message(first.content.sha256, bytes(first.prefix))
    assert [w["code"] for w in shown.warnings] == ["EXTERNAL", "NEW_DOMAIN"] and shown.neutral
    assert "première fois que l'académie reçoit un message de parents.example" in shown.new_domain["detail"]
    assert b"DOMAIN_FIRST_SEEN" in bytes(first.prefix)
    row = DomainHistory.objects.get(domain="parents.example")
    assert (row.messages, row.verified, row.failed) == (1, 1, 0)

    second = send(mx, account, build_message(sender="maman@parents.example", subject="Cantine"))
    assert [w["code"] for w in for_message(second.content.sha256, bytes(second.prefix)).warnings] == ["EXTERNAL"]
    assert b"DOMAIN_" not in bytes(second.prefix)  # neither new nor long-standing yet
    assert DomainHistory.objects.get(domain="parents.example").messages == 2

    # A week of authenticated mail and no failure: a few points off.
    DomainHistory.objects.filter(domain="parents.example").update(
        first_seen=timezone.now() - timedelta(days=8), verified=12)
    third = send(mx, account, build_message(sender="maman@parents.example", subject="Kermesse"))
    assert b"DOMAIN_GOOD_HISTORY" in bytes(third.prefix)
    # Mostly failing authentication: points on.
    DomainHistory.objects.filter(domain="parents.example").update(verified=1, failed=9)
    fourth = send(mx, account, build_message(sender="maman@parents.example", subject="Photos"))
    assert b"DOMAIN_BAD_HISTORY" in bytes(fourth.prefix)


@pytest.mark.parametrize("mx", [RESOLVER], indirect=True)
def test_mail_from_the_academie_keeps_no_domain_history(mx, make_account):
    account, colleague = make_account("Julie", "Martin"), make_account("Paul", "Durand")
    with smtplib.SMTP(mx.host, mx.port) as client:
        client.ehlo("mta.parents.example")
        client.sendmail("maman@parents.example", [account.address], build_message(sender=colleague.address))
    assert not DomainHistory.objects.exists()


def test_the_batcher_counts_a_domain_once_per_commit_and_only_what_held(transactional_db):
    """Through the group commit, the sender domains' counts and the warnings
    rows of the deliveries that held are written once, before the commit:
    a delivery that raised or rolled back its savepoint counts nothing, and
    a lone delivery's rollback neither."""
    import asyncio
    import threading

    from django.db import transaction

    from academail.delivery.batcher import DeliveryBatcher
    from academail.protection import domains
    from academail.protection.models import MessageWarnings
    from academail.protection.phishing import INFO, Findings, Warning
    from academail.protection.warnings import do_remember

    passing, failing = Auth(present=True, spf="pass"), Auth(present=True, spf="fail", dmarc="fail")
    findings = Findings([Warning("EXTERNAL", INFO, {"address": "x@lettres.example"})], [])
    release = threading.Event()

    def blocker() -> None:  # holds the writer so that the next jobs wait together
        release.wait(10)

    def held(name: str, auth: Auth) -> object:
        def work() -> str:
            domains.do_count("lettres.example", auth)
            do_remember(name * 64, b"", findings, auth)
            return name
        return work

    def raising() -> None:
        domains.do_count("lettres.example", passing)
        do_remember("e" * 64, b"", findings, passing)
        raise RuntimeError("a delivery that fails after counting")

    def rolled_back() -> None:
        domains.do_count("lettres.example", passing)
        do_remember("f" * 64, b"", findings, passing)
        transaction.set_rollback(True)

    batcher = DeliveryBatcher(processes=0)

    async def main() -> list[object]:
        first = asyncio.ensure_future(batcher.commit(blocker))
        await asyncio.sleep(0.2)  # the writer took the blocker alone
        rest = [asyncio.ensure_future(batcher.commit(work)) for work in (
            held("a", passing), raising, held("b", passing), rolled_back, held("c", failing))]
        await asyncio.sleep(0.2)
        release.set()
        return await asyncio.gather(first, *rest, return_exceptions=True)

    try:
        outcomes = asyncio.run(main())
        assert outcomes[1:4:2] == ["a", "b"] and outcomes[5] == "c"
        assert isinstance(outcomes[2], RuntimeError)
        row = DomainHistory.objects.get(domain="lettres.example")
        assert (row.messages, row.verified, row.failed) == (3, 2, 1)
        stored = set(MessageWarnings.objects.values_list("level", flat=True))
        assert MessageWarnings.objects.count() == 3 and stored == {"info"}
        # A delivery alone in its commit, rolled back: nothing counted.
        asyncio.run(batcher.commit(rolled_back))
        assert DomainHistory.objects.get(domain="lettres.example").messages == 3
        assert MessageWarnings.objects.count() == 3
    finally:
        batcher.close()
