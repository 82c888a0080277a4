"""Writing and sending from the webmail, as services the compose page calls:
``access_compose`` opens what a new message starts from (nothing, or the
message answered or forwarded, read again from the store: the identification
fields never come from the form), and ``check_compose_and_send`` turns the
posted form into a message and saves it as a draft or sends it.

Sending goes through ``delivery.submit.do_send`` (the rules of SMTP
submission, then ``delivery.route``); the sent copy lands in Envoyés, the
compose session's draft is discarded, and an answered original is flagged
\\Answered.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from django.conf import settings
from django.utils.translation import gettext as _

from academail.accounts.directory import active_names
from academail.accounts.models import Account
from academail.accounts.services import account_label
from academail.delivery.submit import SenderRefused, SendRefused, Sent, account_identity, do_send
from academail.mime.parse import ParsedMessage, Part, decode_part_body, parse_message
from academail.store import mailboxes as store_mailboxes
from academail.store import webmail as store
from academail.store.errors import QuotaExceeded, StoreError
from academail.web.helplinks import Articles
from academail.webmail import compose
from academail.webmail import render as rendering
from academail.webmail.drafts import do_discard_draft, do_save_draft

MODES = ("reply", "all", "forward", "forward_attached")


class UploadedFile(Protocol):
    """What the service needs of an uploaded file (Django's UploadedFile)."""

    name: str | None
    content_type: str | None
    size: int | None

    def read(self) -> bytes: ...


@dataclass(frozen=True)
class Compose:
    """What a new message starts from. ``draft``: the reply or forward
    prepared from the original (empty for a new message)."""

    mode: str
    reference: tuple[int, int] | None  # (mailbox id, uid) of the original
    draft: compose.Draft
    opened: store.Opened | None = None
    original: ParsedMessage | None = None
    original_files: list[Any] = field(default_factory=list)  # a forward's attachments, each can be left out

    @property
    def attached_original(self) -> tuple[str, int] | None:
        """(file name, size) of the original attached whole ("forward_attached")."""
        if self.opened is None or self.original is None or self.mode != "forward_attached":
            return None
        return attached_name(self.original), self.opened.message.size


def attached_name(original: ParsedMessage) -> str:
    return rendering.safe_filename(compose.attached_message_name(original.subject), "message/rfc822")


def access_compose(account: Account, mode: str, reference: tuple[int, int] | None) -> Compose:
    """A new message (``mode`` ""), or a reply, reply to all, forward or
    forward as attachment of the signed-in account's message ``reference``
    (another account's: MessageNotFound). Reads the original from the store."""
    if mode not in MODES:
        mode = ""
    if reference is None or not mode:
        return Compose(mode, reference, compose.Draft())
    opened = store.open_message(int(account.pk), *reference)
    original = parse_message(opened.raw)
    draft = compose.start_reply(
        original,
        rendering.plain_text(opened.raw, opened.root),
        mode="forward" if mode == "forward_attached" else mode,
        own_addresses=account_identity(account).addresses,
    )
    if mode == "forward_attached":
        draft.body = ""  # the original travels whole, as an attached message
    files = rendering.attachments(opened.raw, opened.root) if mode == "forward" else []
    return Compose(mode, reference, draft, opened, original, files)


@dataclass(frozen=True)
class SenderChoice:
    """An address the person may write from: their own, a functional
    mailbox's they may send as, or a delegator's (``on_behalf``: the person
    goes in Sender)."""

    address: str
    name: str
    on_behalf: bool = False


def sender_choices(account: Account) -> list[SenderChoice]:
    """The person's own address first, then those ``store.acl`` lets them
    send as or for (two queries)."""
    identity = account_identity(account)
    others = sorted(identity.send_as | identity.on_behalf)
    names = active_names(others)
    return [SenderChoice(account.address, account.full_name)] + [
        SenderChoice(address, names.get(address, address), address not in identity.send_as) for address in others
    ]


def default_sender(account: Account, start: Compose, choices: Sequence[SenderChoice]) -> str:
    """A reply from a shared mailbox leaves from that mailbox's address when
    the person may use it; anything else from their own."""
    if start.opened is not None and start.opened.mailbox.account_id != account.pk:
        owner_address = account_label(start.opened.mailbox.account_id)[1]
        if any(c.address == owner_address for c in choices):
            return owner_address
    return account.address


class Result(enum.Enum):
    FORM = "form"  # show the form again: ``error`` or ``attachment_warning``
    DRAFT_SAVED = "draft_saved"
    SENT = "sent"


@dataclass(frozen=True)
class Outcome:
    result: Result
    draft: compose.Draft
    error: str = ""
    attachment_warning: bool = False
    drafts_id: int | None = None  # DRAFT_SAVED: Brouillons
    sent: Sent | None = None
    help_article: str = ""  # the help article the error links to (``web.helplinks``)


def _attach(start: Compose, draft: compose.Draft, kept: set[str], uploads: Sequence[UploadedFile]) -> int:
    """Attach what goes with the message; returns the total size (uploads
    past the limit are not read)."""
    total = 0
    opened = start.opened
    if opened is not None and start.mode == "forward":
        for listed in start.original_files:
            if listed.section not in kept:
                continue
            part: Part | None = rendering.find_leaf(opened.root, listed.section)
            if part is None:
                continue
            data = decode_part_body(opened.raw, part)
            total += len(data)
            draft.attachments.append(compose.Upload(listed.filename, part.content_type, data))
    elif opened is not None and start.original is not None and start.mode == "forward_attached":
        total += len(opened.raw)
        draft.attachments.append(compose.Upload(attached_name(start.original), "message/rfc822", opened.raw))
    for upload in uploads:
        total += upload.size or 0
        if total > settings.MAX_MESSAGE_SIZE:
            break
        draft.attachments.append(
            compose.Upload(
                rendering.safe_filename(upload.name or "", upload.content_type or ""),
                upload.content_type or "application/octet-stream",
                upload.read(),
            )
        )
    return total


def check_compose_and_send(
    account: Account,
    start: Compose,
    draft: compose.Draft,
    *,
    kept: set[str],
    uploads: Sequence[UploadedFile],
    save_draft: bool,
    confirmed: bool,
    draft_uid: int | None,
    from_address: str = "",
) -> Outcome:
    """The posted compose form: ``draft`` holds its addresses, subject and
    body (``start.draft``'s identification fields, from the original);
    ``kept`` the forwarded files left in; ``uploads`` the new files;
    ``from_address`` one of ``sender_choices`` (else the person's own).

    Checks the total size; with ``save_draft`` stores the message in
    Brouillons (replacing the session's draft ``draft_uid``). Otherwise warns
    once when the text mentions an attachment and none is there (unless
    ``confirmed``), then sends (``delivery.submit.do_send``), discards the
    session's draft and flags an answered original \\Answered.

    Returns FORM with a French ``error`` (or ``attachment_warning``) when the
    person must act; nothing is sent then. Precondition: none (own
    transactions)."""
    account_id = int(account.pk)
    total = _attach(start, draft, kept, uploads)
    if total > settings.MAX_MESSAGE_SIZE:
        error = _("Les pièces jointes dépassent la taille permise (%(mb)s Mo au total).") % {
            "mb": settings.MAX_MESSAGE_SIZE // (1024 * 1024)
        }
        return Outcome(Result.FORM, draft, error=error)
    choice = next((c for c in sender_choices(account) if c.address == from_address.strip().lower()), None)
    if choice is None or choice.address == account.address:
        raw = compose.build_message(draft, sender_name=account.full_name, sender_address=account.address)
    else:
        agent = (account.full_name, account.address) if choice.on_behalf else None
        raw = compose.build_message(draft, sender_name=choice.name, sender_address=choice.address, agent=agent)
    if save_draft:
        drafts = store_mailboxes.special_mailbox(account_id, "drafts")
        try:
            do_save_draft(account_id, raw, replaces=draft_uid)  # replaces the one saved automatically
        except QuotaExceeded as error:
            return Outcome(Result.FORM, draft, error=error.message)
        return Outcome(Result.DRAFT_SAVED, draft, drafts_id=drafts.pk)
    if not draft.attachments and compose.mentions_attachment(f"{draft.subject}\n{draft.body}") and not confirmed:
        return Outcome(Result.FORM, draft, attachment_warning=True)
    try:
        sent = do_send(account, raw, [*draft.to, *draft.cc, *draft.bcc], bcc=draft.bcc)
    except SenderRefused:
        return Outcome(Result.FORM, draft, error=_("Vous ne pouvez envoyer qu'avec votre propre adresse."))
    except SendRefused as refused:
        article = Articles.SENDING_LIMITS if refused.sending_limit else ""
        return Outcome(Result.FORM, draft, error=refused.message, help_article=article)
    try:
        do_discard_draft(account_id, draft_uid)
    except StoreError:
        pass  # the message is sent; a draft left behind is only clutter
    if start.reference is not None and start.mode in ("reply", "all"):
        try:
            store.do_message_action(account_id, start.reference[0], [start.reference[1]], "answered")
        except StoreError:
            pass  # the original went away meanwhile: the reply is sent all the same
    return Outcome(Result.SENT, draft, sent=sent)
