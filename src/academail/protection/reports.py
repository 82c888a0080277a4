"""'Signaler un hameçonnage' and the security team's campaigns.

A report moves the message to Indésirables (which trains the filter, through
the store's signal), sends it as ``message/rfc822`` to
``ACADEMAIL_PHISHING_REPORT_ADDRESS`` through the platform's mail path
(``delivery.route.do_send_platform_mail``), records it in the person's journal, and joins a
campaign: the open campaign with the same sender, subject or link host, or a
new one. The campaigns page shows each campaign's reports and how many
mailboxes hold it; "Retirer de toutes les boîtes" removes it everywhere
through the store, with a journal entry for each person.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from academail.accounts.journal import do_record
from academail.accounts.models import Account, EventKind, Role
from academail.protection.models import Campaign, PhishingReport
from academail.protection.phishing import is_academie
from academail.protection.warnings import for_message
from academail.store import webmail as store
from academail.store.errors import MessageNotFound, StoreError
from academail.store.mailboxes import access_mailbox
from academail.store.messages import do_remove_contents, find_contents, holders

SECURITY_ROLES = (Role.SECURITY, Role.ADMIN)


class NotAllowed(Exception):
    """The person is not in the security team."""


def access_security(account: Account) -> None:
    """Raise NotAllowed unless ``account`` is in the security team (or an administrator)."""
    if account.role not in SECURITY_ROLES or not account.is_active:
        raise NotAllowed


def _first_outside_host(opened: store.Opened) -> str:
    shown = for_message(opened.message.content.sha256, bytes(opened.message.prefix))
    for url in shown.links:
        host = (urlsplit(url).hostname or "").lower()
        if host:
            return host[:253]
    return ""


MAX_SELECTED = 100  # messages reported at once from the list (a page holds 50)


def check_report(account: Account, mailbox_id: int, uid: int) -> Campaign:
    """Report one of the person's messages as phishing (see the module).
    Raises MailboxNotFound / MessageNotFound for anything not theirs.
    Precondition: none. Publishes the store's events of the move."""
    opened = store.open_message(account.pk, mailbox_id, uid)
    campaign = _report(account, opened)
    _move_to_junk(account, opened.mailbox, [uid])
    return campaign


def check_report_selected(account: Account, mailbox_id: int, uids: Sequence[int]) -> int:
    """Report the messages selected in a list (at most ``MAX_SELECTED``),
    each as ``check_report`` does, then move them to Indésirables in one
    store action. A message gone meanwhile is skipped; returns how many
    were reported. Raises MailboxNotFound for a folder not theirs.
    Precondition: none. Publishes the store's events of the move."""
    mailbox = access_mailbox(account.pk, mailbox_id)
    reported: list[int] = []
    for uid in list(dict.fromkeys(uids))[:MAX_SELECTED]:
        try:
            opened = store.open_message(account.pk, mailbox_id, uid)
        except MessageNotFound:
            continue
        _report(account, opened)
        reported.append(uid)
    _move_to_junk(account, mailbox, reported)
    return len(reported)


def _report(account: Account, opened: store.Opened) -> Campaign:
    """Send one message to the security team, join its campaign, write the journal."""
    content = opened.message.content
    sender = content.from_addr.lower()[:320]
    subject = content.subject[:500]
    host = _first_outside_host(opened)
    _send_to_security(account, opened.raw, bytes(opened.message.prefix), subject)
    with transaction.atomic():
        campaign = _campaign_for(sender, subject, host)
        PhishingReport.objects.get_or_create(
            account=account, sha256=content.sha256,
            defaults={"campaign": campaign, "sender": sender, "subject": subject, "url_host": host},
        )
        do_record(account, EventKind.PHISHING_REPORTED, detail=f"{sender} — {subject}"[:300])
    return campaign


def _move_to_junk(account: Account, mailbox: store.Mailbox, uids: Sequence[int]) -> None:
    """To Indésirables, which trains the filter (the store's signal)."""
    if not uids or mailbox.special_use == "junk":
        return
    try:
        store.do_message_action(account.pk, mailbox.pk, list(uids), "junk")
    except StoreError:
        pass  # reported all the same; the messages stay where they are


def _campaign_for(sender: str, subject: str, host: str) -> Campaign:
    """The open campaign sharing the sender, the subject or the link host, or
    a new one. Precondition: inside a transaction."""
    match = Q(sender=sender) if sender else Q(pk__in=[])
    if subject:
        match |= Q(subject=subject)
    if host and not is_academie(host):
        match |= Q(url_host=host)
    campaign = Campaign.objects.select_for_update().filter(match, removed_at__isnull=True).order_by("-last_seen").first()
    now = timezone.now()
    if campaign is None:
        return Campaign.objects.create(sender=sender, subject=subject, url_host=host, first_seen=now, last_seen=now)
    campaign.last_seen = now
    campaign.save(update_fields=["last_seen"])
    return campaign


def _send_to_security(account: Account, raw: bytes, prefix: bytes, subject: str) -> None:
    from academail.delivery.route import do_send_platform_mail

    report = EmailMessage(policy=SMTP)
    report["From"] = settings.DEFAULT_FROM_EMAIL
    report["To"] = settings.PHISHING_REPORT_ADDRESS
    report["Subject"] = f"Signalement d'hameçonnage : {subject[:150]}"
    report["Date"] = format_datetime(timezone.localtime())
    report["Message-ID"] = make_msgid(domain=settings.MAIL_DOMAINS[0])
    report["Auto-Submitted"] = "auto-generated"
    report.set_content(
        f"{account.full_name or account.address} ({account.address}) a signalé le message joint comme "
        "une tentative d'hameçonnage.\n\nLe message est joint tel qu'il a été reçu, avec ses en-têtes de "
        "réception.\n"
    )
    # RFC 2046 §5.2.1 message/rfc822: the message as received (trace fields included).
    report.add_attachment(parse_message_bytes(prefix + raw), filename="message-signale.eml")
    do_send_platform_mail(report.as_bytes(), mail_from=settings.DEFAULT_FROM_EMAIL, recipients=[settings.PHISHING_REPORT_ADDRESS])


def parse_message_bytes(raw: bytes) -> EmailMessage:
    from email import message_from_bytes

    parsed = message_from_bytes(raw, policy=SMTP)
    assert isinstance(parsed, EmailMessage)
    return parsed


@dataclass(frozen=True)
class CampaignRow:
    campaign: Campaign
    reports: int
    mailboxes: int


def campaigns_page(viewer: Account, *, limit: int = 50) -> list[CampaignRow]:
    """The newest campaigns with their report counts and how many mailboxes
    hold them now. Raises NotAllowed outside the security team."""
    access_security(viewer)
    rows = list(Campaign.objects.annotate(n=Count("reports")).order_by("-last_seen")[:limit])
    out = []
    for campaign in rows:
        contents = _contents(campaign)
        out.append(CampaignRow(campaign, int(campaign.n), len(holders(contents))))
    return out


def _contents(campaign: Campaign) -> list[int]:
    shas = list(campaign.reports.values_list("sha256", flat=True)[:1000])
    return find_contents(sha256s=shas, from_addr=campaign.sender, subject=campaign.subject)


def check_remove_campaign(viewer: Account, campaign_id: int) -> int:
    """Pull a campaign from every mailbox (store functions), with a journal
    entry for each person; returns how many messages went. Raises NotAllowed
    outside the security team, Campaign.DoesNotExist for an unknown id."""
    access_security(viewer)
    campaign = Campaign.objects.get(pk=campaign_id)
    removed = do_remove_contents(_contents(campaign))
    for account_id, count in removed.items():
        do_record(
            account_id, EventKind.PHISHING_REMOVED,
            detail=f"{count} message(s) « {campaign.subject[:120]} » de {campaign.sender} retiré(s) par l'équipe sécurité",
        )
    Campaign.objects.filter(pk=campaign.pk).update(
        removed_at=timezone.now(), removed_by=viewer, removed_count=sum(removed.values())
    )
    return sum(removed.values())
