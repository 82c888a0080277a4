"""Tickets: opening them (web form signed in or out, mail, phone), the
confirmation of signed-out tickets, the follow-up of requesters (their own
list, or an expiring link), answers, notes, assignment, closing, merging and
the satisfaction rating.

Every change of a ticket's state goes through here, so the SLA fields, the
per-day counters (``DayStat``) and the mails the requester is owed stay in
step. Mail is sent once the change's transaction block has ended (callers
are not inside a transaction of their own), so a rolled-back change never
mails anyone.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from academail.accounts.models import Account
from academail.assistance import categories, notices, sla
from academail.assistance.models import (
    OPEN_STATUSES,
    PUBLIC_KINDS,
    Attachment,
    Category,
    Channel,
    DayStat,
    Entry,
    EntryKind,
    Ticket,
    TicketLink,
    TicketStatus,
)

CONFIRM_TTL = timedelta(days=2)


class TicketError(ValueError):
    """A request that cannot be accepted; ``str()`` is for the person, in French."""


class RateLimited(TicketError):
    pass


class NotFound(LookupError):
    """No such ticket for this requester (same answer whether it exists or not)."""


@dataclass(frozen=True)
class Upload:
    filename: str
    content_type: str
    data: bytes


@dataclass
class NewTicket:
    category: str
    subject: str
    message: str
    name: str = ""
    identifier: str = ""
    establishment: str = ""
    contact_email: str = ""
    contact_phone: str = ""
    fields: dict[str, str] = field(default_factory=dict)
    attachments: Sequence[Upload] = ()


@dataclass(frozen=True)
class Opened:
    ticket: Ticket
    needs_confirmation: bool
    # The follow-up link secret is only ever mailed; tests read it from the mail.


def _hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def _now() -> datetime:
    return timezone.now()


def check_attachments(uploads: Sequence[Upload]) -> None:
    limit = int(settings.ASSISTANCE_MAX_ATTACHMENT)
    if len(uploads) > 5:
        raise TicketError("Joignez au plus 5 fichiers.")
    for upload in uploads:
        if len(upload.data) > limit:
            raise TicketError(
                f"Le fichier « {upload.filename} » dépasse {limit // (1024 * 1024)} Mo : "
                "envoyez une capture d'écran plus légère ou un extrait."
            )


def _add_entry(ticket: Ticket, kind: Any, body: str, *, author: Account | None = None,
               author_name: str = "", uploads: Sequence[Upload] = ()) -> Entry:
    entry = Entry.objects.create(
        ticket=ticket, kind=str(kind), author=author, body=body[:20000],
        author_name=author_name or (author.full_name if author is not None else ticket.name),
    )
    for upload in uploads:
        Attachment.objects.create(
            entry=entry, filename=(upload.filename or "fichier")[:200],
            content_type=(upload.content_type or "application/octet-stream")[:100],
            size=len(upload.data), data=upload.data,
        )
    return entry


def _bump(day: datetime, category: str, **counters: int) -> None:
    """Add to one day's counters (created if missing)."""
    local_day = timezone.localdate(day)
    DayStat.objects.get_or_create(day=local_day, category=category)
    DayStat.objects.filter(day=local_day, category=category).update(
        **{name: F(name) + value for name, value in counters.items()}
    )


def _queue(ticket: Ticket, now: datetime) -> None:
    """The ticket enters the agents' queue: its SLA clock starts."""
    ticket.status = TicketStatus.NEW
    ticket.queued_at = now
    ticket.due_at = sla.due_at(now)
    _bump(now, ticket.category, opened=1)


def new_link(ticket: Ticket) -> str:
    """A fresh follow-up secret for a mail to the requester."""
    raw = secrets.token_urlsafe(24)
    TicketLink.objects.create(ticket=ticket, token_hash=_hash(raw),
                              expires_at=_now() + timedelta(seconds=int(settings.ASSISTANCE_LINK_TTL)))
    return raw


def _rate_check(contact_email: str, remote_addr: str) -> None:
    hour_ago = _now() - timedelta(hours=1)
    limit = int(settings.ASSISTANCE_PER_HOUR)
    if contact_email and Ticket.objects.filter(contact_email=contact_email, created_at__gt=hour_ago).count() >= limit:
        raise RateLimited("Vous avez déjà envoyé plusieurs demandes : l'assistance vous répondra. "
                          "Réessayez dans une heure si c'est une autre question.")
    if remote_addr and Ticket.objects.filter(remote_addr=remote_addr, created_at__gt=hour_ago).count() >= limit:
        raise RateLimited("Trop de demandes envoyées depuis cette connexion : réessayez dans une heure.")


def _clean(data: NewTicket) -> NewTicket:
    if data.category not in Category.values:
        data.category = str(Category.OTHER)
    data.subject = " ".join(data.subject.split())[:200] or str(Category(data.category).label)
    data.message = data.message.strip()[:8000]
    data.name = " ".join(data.name.split())[:200]
    data.establishment = " ".join(data.establishment.split())[:200]
    data.contact_email = data.contact_email.strip().lower()[:254]
    data.contact_phone = " ".join(data.contact_phone.split())[:40]
    data.fields = categories.clean_fields(data.category, data.fields)
    if not data.message:
        raise TicketError("Décrivez votre difficulté en quelques mots.")
    check_attachments(data.attachments)
    return data


def check_open_web(data: NewTicket, *, requester: Account | None, remote_addr: str,
                   verified_account: Account | None = None, numen: str = "") -> Opened:
    """Open a ticket from the web form.

    Signed in (``requester``): the ticket is about the requester and enters
    the queue at once. Signed out: the identifier (or name + établissement)
    says who it is about; a NUMEN that matches the identifier, or an identity
    already proven by the NUMEN challenge of "Mot de passe oublié"
    (``verified_account``), marks it "identité vérifiée" (the requester is
    never told which); an unverified signed-out ticket waits for the
    confirmation mail. Raises ``TicketError`` / ``RateLimited`` / ``NumenError``
    (malformed NUMEN; says nothing about accounts)."""
    from academail.accounts import lifecycle
    from academail.accounts.services import normalize_identifier

    data = _clean(data)
    now = _now()
    ticket = Ticket(category=data.category, subject=data.subject, channel=Channel.WEB,
                    fields=data.fields, remote_addr=remote_addr or None, created_at=now, updated_at=now,
                    mail_key=secrets.token_hex(3))
    if requester is not None:
        ticket.account = requester
        ticket.signed_in = True
        ticket.name = requester.full_name
        ticket.identifier_given = requester.identifier
        ticket.establishment = requester.establishment
        ticket.contact_email = data.contact_email or requester.address
        ticket.contact_phone = data.contact_phone
    else:
        if not data.name:
            raise TicketError("Indiquez votre nom et votre prénom.")
        if not data.contact_email:
            raise TicketError("Indiquez une adresse où vous joindre : vous y recevrez le numéro de votre "
                              "demande. Sans adresse, appelez l'assistance.")
        from academail.accounts.services import clean_secondary_address

        try:
            data.contact_email = clean_secondary_address(data.contact_email)
        except ValueError as exc:
            raise TicketError(str(exc)) from None
        _rate_check(data.contact_email, remote_addr)
        ticket.name = data.name
        ticket.identifier_given = (normalize_identifier(data.identifier) or data.identifier.strip())[:64]
        ticket.establishment = data.establishment
        ticket.contact_email = data.contact_email
        ticket.contact_phone = data.contact_phone
        account = None
        if verified_account is not None and verified_account.identifier == ticket.identifier_given:
            account, ticket.identity_verified = verified_account, True
        elif numen.strip() and ticket.identifier_given:
            result = lifecycle.check_numen_challenge(ticket.identifier_given, numen, remote_addr=remote_addr)
            if result.account is not None:
                account, ticket.identity_verified = result.account, True
        if account is None and ticket.identifier_given:
            account = Account.objects.filter(identifier=ticket.identifier_given).first()
        ticket.account = account
        if account is not None and not ticket.establishment:
            ticket.establishment = account.establishment
    needs_confirmation = requester is None and not ticket.identity_verified
    confirm_raw = ""
    with transaction.atomic():
        if needs_confirmation:
            ticket.status = TicketStatus.UNCONFIRMED
            confirm_raw = secrets.token_urlsafe(24)
            ticket.confirm_hash = _hash(confirm_raw)
        else:
            _queue(ticket, now)
        ticket.save()
        _add_entry(ticket, EntryKind.REQUESTER, data.message, author=requester, uploads=data.attachments)
        link = "" if needs_confirmation or ticket.signed_in else new_link(ticket)
    if needs_confirmation:
        notices.send_confirmation(ticket, confirm_raw)
    else:
        notices.send_acknowledgement(ticket, link)
    return Opened(ticket, needs_confirmation)


def check_confirm(raw: str) -> Ticket:
    """The requester clicked the confirmation link: the ticket enters the
    queue and the acknowledgement (number and follow-up link) is sent.
    A second click finds the ticket already queued and changes nothing."""
    with transaction.atomic():
        ticket = Ticket.objects.select_for_update().filter(confirm_hash=_hash(raw)).first() if raw else None
        if ticket is None or ticket.created_at < _now() - CONFIRM_TTL:
            raise NotFound(raw)
        link = ""
        if ticket.status == TicketStatus.UNCONFIRMED:
            _queue(ticket, _now())
            ticket.save(update_fields=["status", "queued_at", "due_at"])
            link = new_link(ticket)
    if link:
        notices.send_acknowledgement(ticket, link)
    return ticket


def do_open_phone(agent: Account, data: NewTicket, *, account: Account | None) -> Ticket:
    """An agent opens a ticket while on the phone with the person; it is
    assigned to the agent and queued at once (no confirmation: the agent
    spoke to them)."""
    data = _clean(data)
    now = _now()
    with transaction.atomic():
        ticket = Ticket(
            category=data.category, subject=data.subject, channel=Channel.PHONE, account=account,
            name=data.name or (account.full_name if account else ""),
            identifier_given=account.identifier if account else data.identifier[:64],
            establishment=data.establishment or (account.establishment if account else ""),
            contact_email=data.contact_email or (account.address if account else ""),
            contact_phone=data.contact_phone, fields=data.fields, assigned_to=agent,
            created_at=now, updated_at=now, mail_key=secrets.token_hex(3),
        )
        if not ticket.name:
            raise TicketError("Indiquez le nom de la personne ou son identifiant.")
        _queue(ticket, now)
        ticket.status = TicketStatus.OPEN
        ticket.save()
        _add_entry(ticket, EntryKind.REQUESTER, data.message, author_name=ticket.name, uploads=data.attachments)
        _add_entry(ticket, EntryKind.EVENT, "Demande ouverte par téléphone", author=agent)
        own_address = account is not None and ticket.contact_email == account.address
        link = "" if own_address or not ticket.contact_email else new_link(ticket)
    if ticket.contact_email:
        notices.send_acknowledgement(ticket, link)
    return ticket


def do_open_mail(data: NewTicket, *, junk: bool = False) -> Ticket:
    """A ticket from a mail to the helpdesk (``assistance.mailin``): queued at
    once (the mail itself is the sender's proof of address), about the
    académie account whose address wrote, if any; acknowledged to the sender.
    ``junk``: kept with the "Indésirable" status, neither queued nor answered."""
    from academail.accounts.services import resolve_address

    data.message = data.message.strip()[:8000] or "(message sans texte)"
    data.subject = " ".join(data.subject.split())[:200] or "Message à l'assistance"
    data.attachments = [u for u in data.attachments if len(u.data) <= int(settings.ASSISTANCE_MAX_ATTACHMENT)][:5]
    now = _now()
    account = resolve_address(data.contact_email) if data.contact_email else None
    with transaction.atomic():
        ticket = Ticket(
            category=data.category, subject=data.subject, channel=Channel.MAIL, account=account,
            name=(account.full_name if account else data.name)[:200] or data.contact_email,
            identifier_given=account.identifier if account else "",
            establishment=account.establishment if account else "", contact_email=data.contact_email,
            created_at=now, updated_at=now, mail_key=secrets.token_hex(3),
        )
        if junk:
            ticket.status = TicketStatus.JUNK
        else:
            _queue(ticket, now)
        ticket.save()
        _add_entry(ticket, EntryKind.REQUESTER, data.message, author_name=ticket.name, uploads=data.attachments)
        link = "" if junk else new_link(ticket)
    if not junk:
        notices.send_acknowledgement(ticket, link)
    return ticket


# --- the requester's side ----------------------------------------------------------------------


def _own(requester: Account) -> Q:
    """Tickets that are the requester's own: about their account AND filed by
    them (signed in, or answered at their académie address) or proven theirs
    (identity verified). A stranger who typed someone's identifier in the
    signed-out form links the ticket to that account for the agent, but the
    account's owner never reads the stranger's ticket, nor the stranger theirs."""
    return Q(account=requester) & (
        Q(signed_in=True) | Q(identity_verified=True) | Q(contact_email=requester.address)
    )


def access_own_tickets(requester: Account, *, limit: int = 100) -> list[Ticket]:
    """"Mes demandes": the requester's own tickets (``_own``), newest first
    (unconfirmed, merged and junk ones left out)."""
    return list(
        Ticket.objects.filter(_own(requester))
        .exclude(status__in=[TicketStatus.UNCONFIRMED, TicketStatus.MERGED, TicketStatus.JUNK])
        .order_by("-id")[:limit]
    )


def access_own_ticket(requester: Account, ticket_id: int) -> Ticket:
    ticket = Ticket.objects.filter(_own(requester), pk=ticket_id).exclude(
        status__in=[TicketStatus.UNCONFIRMED, TicketStatus.JUNK]).first()
    if ticket is None:
        raise NotFound(ticket_id)
    return _follow_merge(ticket)


def access_by_link(raw: str) -> Ticket:
    """The ticket of a follow-up link still valid (raises ``NotFound``)."""
    link = TicketLink.objects.select_related("ticket").filter(token_hash=_hash(raw)).first() if raw else None
    if link is None or link.expires_at <= _now():
        raise NotFound(raw)
    return _follow_merge(link.ticket)


def _follow_merge(ticket: Ticket) -> Ticket:
    seen = 0
    while ticket.status == TicketStatus.MERGED and ticket.merged_into_id is not None and seen < 5:
        ticket = Ticket.objects.get(pk=ticket.merged_into_id)
        seen += 1
    return ticket


def public_entries(ticket: Ticket) -> list[Entry]:
    return list(ticket.entries.filter(kind__in=PUBLIC_KINDS).prefetch_related("attachments").order_by("id"))


def all_entries(ticket: Ticket) -> list[Entry]:
    return list(ticket.entries.prefetch_related("attachments").select_related("author").order_by("id"))


def access_public_attachment(ticket: Ticket, attachment_id: int) -> Attachment:
    found = Attachment.objects.filter(pk=attachment_id, entry__ticket=ticket,
                                      entry__kind__in=PUBLIC_KINDS).first()
    if found is None:
        raise NotFound(attachment_id)
    return found


def access_any_attachment(ticket: Ticket, attachment_id: int) -> Attachment:
    found = Attachment.objects.filter(pk=attachment_id, entry__ticket=ticket).first()
    if found is None:
        raise NotFound(attachment_id)
    return found


def check_requester_reply(ticket: Ticket, body: str, uploads: Sequence[Upload] = (), *,
                          author: Account | None = None) -> Entry:
    """The requester answers (web or mail). A closed ticket is reopened and
    goes back in the queue with a new due time."""
    body = body.strip()
    if not body and not uploads:
        raise TicketError("Écrivez votre message ou joignez un fichier.")
    check_attachments(uploads)
    now = _now()
    with transaction.atomic():
        ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
        if ticket.status == TicketStatus.UNCONFIRMED:
            raise TicketError("Confirmez d'abord votre demande avec le lien reçu par courriel.")
        entry = _add_entry(ticket, EntryKind.REQUESTER, body, author=author, uploads=uploads)
        if ticket.status == TicketStatus.CLOSED:
            _queue(ticket, now)
            ticket.closed_at = None
            ticket.status = TicketStatus.OPEN
        elif ticket.status in (TicketStatus.WAITING, TicketStatus.NEW):
            ticket.status = TicketStatus.OPEN if ticket.first_answer_at else TicketStatus.NEW
        ticket.updated_at = now
        ticket.save()
    return entry


def check_rating(ticket: Ticket, rating: int) -> None:
    if ticket.status != TicketStatus.CLOSED:
        raise TicketError("Vous pourrez donner votre avis quand la demande sera résolue.")
    if rating not in range(1, 6):
        raise TicketError("Choisissez une note de 1 à 5.")
    Ticket.objects.filter(pk=ticket.pk).update(rating=rating)
    ticket.rating = rating


# --- the agents' side -----------------------------------------------------------------------------


def do_answer(ticket: Ticket, agent: Account, body: str, uploads: Sequence[Upload] = (), *,
              close: bool = False) -> Entry:
    """An answer to the requester, mailed to them with a fresh follow-up
    link (and closing the ticket when ``close``)."""
    body = body.strip()
    if not body:
        raise TicketError("La réponse est vide.")
    check_attachments(uploads)
    now = _now()
    with transaction.atomic():
        ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
        entry = _add_entry(ticket, EntryKind.ANSWER, body, author=agent, uploads=uploads)
        if ticket.first_answer_at is None and ticket.queued_at is not None:
            ticket.first_answer_at = now
            ticket.first_answer_seconds = sla.working_seconds_between(ticket.queued_at, now)
        if ticket.assigned_to_id is None:
            ticket.assigned_to = agent
        ticket.status = TicketStatus.WAITING
        ticket.updated_at = now
        if close:
            _close(ticket, now)
        ticket.save()
        link = "" if ticket.signed_in else new_link(ticket)
    notices.send_answer(ticket, entry, link)
    return entry


def _close(ticket: Ticket, now: datetime) -> None:
    ticket.status = TicketStatus.CLOSED
    ticket.closed_at = now
    if ticket.queued_at is not None:
        ticket.resolution_seconds = sla.working_seconds_between(ticket.queued_at, now)
    in_sla = 1 if ticket.due_at is not None and now <= ticket.due_at else 0
    _bump(now, ticket.category, closed=1, closed_in_sla=in_sla)


def do_close(ticket: Ticket, agent: Account) -> None:
    """Close without an answer (the requester is told and asked for a rating)."""
    now = _now()
    with transaction.atomic():
        ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
        if ticket.status == TicketStatus.CLOSED:
            return
        if ticket.status not in OPEN_STATUSES:
            raise TicketError("Cette demande ne peut pas être résolue dans son état actuel.")
        _close(ticket, now)
        ticket.updated_at = now
        ticket.save()
        _add_entry(ticket, EntryKind.EVENT, "Demande résolue", author=agent)
        link = "" if ticket.signed_in else new_link(ticket)
    notices.send_closed(ticket, link)


def do_reopen(ticket: Ticket, agent: Account) -> None:
    now = _now()
    with transaction.atomic():
        ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
        if ticket.status != TicketStatus.CLOSED:
            raise TicketError("Seule une demande résolue peut être rouverte.")
        _queue(ticket, now)
        ticket.status = TicketStatus.OPEN
        ticket.closed_at = None
        ticket.save()
        _add_entry(ticket, EntryKind.EVENT, "Demande rouverte", author=agent)


def do_note(ticket: Ticket, agent: Account, body: str, uploads: Sequence[Upload] = ()) -> Entry:
    body = body.strip()
    if not body and not uploads:
        raise TicketError("La note est vide.")
    check_attachments(uploads)
    with transaction.atomic():
        entry = _add_entry(ticket, EntryKind.NOTE, body, author=agent, uploads=uploads)
        if ticket.status == TicketStatus.NEW:
            Ticket.objects.filter(pk=ticket.pk).update(status=TicketStatus.OPEN)
    return entry


def do_assign(ticket: Ticket, agent: Account, assignee: Account | None) -> None:
    with transaction.atomic():
        Ticket.objects.filter(pk=ticket.pk).update(assigned_to=assignee, updated_at=_now())
        ticket.assigned_to = assignee
        _add_entry(ticket, EntryKind.EVENT,
                   f"Attribuée à {assignee.full_name}" if assignee else "Attribution retirée", author=agent)


def do_set_category(ticket: Ticket, agent: Account, category: str) -> None:
    """The agent files the ticket under another category (mail tickets come
    in as "autre"); the day's counters move with it."""
    if category not in Category.values or category == ticket.category:
        return
    with transaction.atomic():
        if ticket.queued_at is not None:
            _bump(ticket.queued_at, ticket.category, opened=-1)
            _bump(ticket.queued_at, category, opened=1)
        old = Category(ticket.category).label
        Ticket.objects.filter(pk=ticket.pk).update(category=category)
        ticket.category = category
        _add_entry(ticket, EntryKind.EVENT, f"Catégorie : {old} → {Category(category).label}", author=agent)


def do_link_account(ticket: Ticket, agent: Account, account: Account) -> None:
    """The agent says which account the ticket is about (found by identifier)."""
    with transaction.atomic():
        Ticket.objects.filter(pk=ticket.pk).update(account=account)
        ticket.account = account
        if not ticket.establishment and account.establishment:
            Ticket.objects.filter(pk=ticket.pk).update(establishment=account.establishment)
            ticket.establishment = account.establishment
        _add_entry(ticket, EntryKind.EVENT, f"Demande rattachée au compte {account.identifier}", author=agent)


def do_mark_verified(ticket: Ticket, agent: Account, how: str) -> None:
    with transaction.atomic():
        Ticket.objects.filter(pk=ticket.pk).update(identity_verified=True)
        ticket.identity_verified = True
        _add_entry(ticket, EntryKind.ACTION, f"Identité vérifiée par l'agent : {how}", author=agent)


def do_merge(duplicate: Ticket, into: Ticket, agent: Account) -> None:
    """Fold ``duplicate`` into ``into``: its entries move over, it leaves the
    queue (its links lead to ``into``); the counters count it once."""
    if duplicate.pk == into.pk:
        raise TicketError("Une demande ne peut pas être fusionnée avec elle-même.")
    if into.status == TicketStatus.MERGED:
        raise TicketError("La demande cible a elle-même été fusionnée.")
    with transaction.atomic():
        Entry.objects.filter(ticket=duplicate).update(ticket=into)
        TicketLink.objects.filter(ticket=duplicate).update(ticket=into)
        was_queued = duplicate.queued_at is not None and duplicate.status != TicketStatus.CLOSED
        Ticket.objects.filter(pk=duplicate.pk).update(status=TicketStatus.MERGED, merged_into=into, open_due=None,
                                                      updated_at=_now())
        if was_queued:
            _bump(duplicate.queued_at or _now(), duplicate.category, opened=-1)
        _add_entry(into, EntryKind.EVENT, f"Demande n° {duplicate.pk} fusionnée dans celle-ci", author=agent)


def do_action_entry(ticket: Ticket, agent: Account, text: str) -> None:
    """The trace of an action on the account, in the ticket's thread."""
    with transaction.atomic():
        _add_entry(ticket, EntryKind.ACTION, text, author=agent)
        if ticket.status == TicketStatus.NEW:
            Ticket.objects.filter(pk=ticket.pk).update(status=TicketStatus.OPEN)


# --- the queue -------------------------------------------------------------------------------------


QUEUE_PAGE = 50


@dataclass(frozen=True)
class QueueFilter:
    category: str = ""
    status: str = ""
    agent: str = ""  # an account id, "moi" or "aucun"
    establishment: str = ""
    page: int = 1


@dataclass(frozen=True)
class QueueRow:
    """One line of the queue, formatted once here: the template loops over
    50 of these without a filter or a method call per cell (Django's template
    engine costs more per cell than the query does per row)."""

    pk: int
    subject: str
    verified: bool
    category: str
    name: str
    establishment: str
    status: str
    channel: str
    agent: str
    due_iso: str
    due_text: str
    overdue: bool


@dataclass(frozen=True)
class QueuePage:
    tickets: list[QueueRow]
    has_next: bool
    page: int


def _rows(found: list[Ticket]) -> list[QueueRow]:
    now = _now()
    categories = {value: str(label) for value, label in Category.choices}
    statuses = {value: str(label) for value, label in TicketStatus.choices}
    channels = {value: str(label) for value, label in Channel.choices}
    rows = []
    for t in found:
        due = timezone.localtime(t.due_at) if t.due_at is not None else None
        rows.append(QueueRow(
            pk=t.pk, subject=t.subject, verified=t.identity_verified, category=categories.get(t.category, ""),
            name=t.name, establishment=t.establishment, status=statuses.get(t.status, ""),
            channel=channels.get(t.channel, ""), agent=t.assigned_to.full_name if t.assigned_to else "",
            due_iso=due.isoformat() if due else "", due_text=f"{due:%d/%m %H:%M}" if due else "",
            overdue=due is not None and due < now,
        ))
    return rows


def queue(flt: QueueFilter, *, viewer: Account) -> QueuePage:
    """Tickets by due time (earliest first; the oldest overdue first), 50 a
    page. Open tickets unless a status is chosen. Uses the ``ticket_queue*``
    indexes; no count of the whole table."""
    rows = Ticket.objects.all()
    open_only = flt.status not in TicketStatus.values
    if not open_only:
        rows = rows.filter(status=flt.status)
    else:
        rows = rows.filter(open_due__isnull=False)  # the open ones, in the queue indexes
    if flt.category in Category.values:
        rows = rows.filter(category=flt.category)
    if flt.agent == "moi":
        rows = rows.filter(assigned_to=viewer)
    elif flt.agent == "aucun":
        rows = rows.filter(assigned_to__isnull=True)
    elif flt.agent.isdigit():
        rows = rows.filter(assigned_to_id=int(flt.agent))
    if flt.establishment:
        rows = rows.filter(establishment=flt.establishment)
    page = max(1, flt.page)
    start = (page - 1) * QUEUE_PAGE
    found = list(
        rows.select_related("assigned_to").order_by("open_due" if open_only else "due_at", "id")
        .only("id", "subject", "category", "status", "channel", "name", "establishment", "due_at",
              "created_at", "identity_verified", "assigned_to__first_name", "assigned_to__last_name")
        [start:start + QUEUE_PAGE + 1]
    )
    return QueuePage(_rows(found[:QUEUE_PAGE]), len(found) > QUEUE_PAGE, page)


def access_ticket(ticket_id: int) -> Ticket:
    """For an agent (role already checked): any ticket of the helpdesk."""
    ticket = Ticket.objects.select_related("account", "assigned_to").filter(pk=ticket_id).first()
    if ticket is None:
        raise NotFound(ticket_id)
    return ticket


def tickets_about(account: Account, *, exclude: int | None = None, limit: int = 10) -> list[Ticket]:
    rows = Ticket.objects.filter(account=account).exclude(status=TicketStatus.UNCONFIRMED)
    if exclude is not None:
        rows = rows.exclude(pk=exclude)
    return list(rows.order_by("-id")[:limit])


def search_tickets(text: str, *, limit: int = 20) -> list[Ticket]:
    """By number, identifier or contact address (exact)."""
    text = text.strip().lstrip("n°").strip()
    query = Q(identifier_given=text.lower()) | Q(contact_email=text.lower())
    if text.isdigit():
        query |= Q(pk=int(text))
    return list(Ticket.objects.filter(query).order_by("-id")[:limit])
