"""Mail a person sends (SMTP submission, RFC 6409, and the webmail): who may
use which sender address, the header fixes a message submission agent makes
(RFC 6409 §8), and the webmail's send. The route of each recipient (académie
addresses through the one door, the others into the outbound queue,
DKIM-signed, in the same commit, with the sending limits) is
``delivery.route``'s.

No copy goes to the sender's Sent folder: mail clients APPEND it themselves
over IMAP, and a second copy from the server would duplicate it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime, make_msgid

from django.conf import settings
from django.db import close_old_connections
from django.dispatch import Signal
from django.utils import timezone

from academail.accounts.models import Account
from academail.accounts.services import resolve_address
from academail.delivery.door import DeliveryRefused
from academail.delivery.limits import Verdict
from academail.delivery.route import Identity, do_submit
from academail.mime.parse import parse_message
from academail.store import acl
from academail.store.errors import QuotaExceeded
from academail.store.messages import Flag, do_append, special_mailbox


def identity_of(account: object) -> Identity:
    """Precondition: none (reads the aliases and sending rights)."""
    close_old_connections()
    return account_identity(account)


# Sent after a message left with another account's address in From (a
# functional mailbox's member, a delegate): ``actor_id``, ``owner_id``,
# ``subject``, ``recipients`` (how many), ``on_behalf`` (Sender: the actor).
# ``sharing`` writes both journals.
sent_for = Signal()


class SenderRefused(Exception):
    """The From (or Sender) header names an address the sender does not own
    (``address``), or no usable address (``address`` is None). ``field`` is
    ``"From"`` or ``"Sender"``."""

    def __init__(self, address: str | None, field: str = "From") -> None:
        super().__init__(address or "")
        self.address = address
        self.field = field


def check_author_fields(identity: Identity, from_addresses: Sequence[str], sender_addresses: Sequence[str]) -> None:
    """The one rule on who a submitted message says it is from (RFC 6409 §6.1,
    RFC 5322 §3.6.2): every From address and the Sender address (one mailbox at
    most) must be ``identity``'s own, else ``SenderRefused``. Otherwise mail
    clients would show "X on behalf of Y" for an account Y never delegated.

    Sharing (issue 19): From may also name a functional mailbox ``identity``
    may send as (``Identity.send_as``), or an account that delegated its
    mailbox with "send on behalf" (``Identity.on_behalf``); then Sender must
    be present and be ``identity``'s own: RFC 5322 §3.6.2, the agent
    responsible for the transmission, so readers see "X de la part de Y"."""
    if not from_addresses:
        raise SenderRefused(None)
    behalf = False
    for address in from_addresses:
        if identity.owns(address) or identity.may_send_as(address):
            continue
        if identity.may_send_for(address):
            behalf = True
            continue
        raise SenderRefused(address)
    if len(sender_addresses) > 1:
        raise SenderRefused(None, "Sender")
    for address in sender_addresses:
        if "@" not in address:
            raise SenderRefused(None, "Sender")
        if not identity.owns(address):
            raise SenderRefused(address, "Sender")
    if behalf and not sender_addresses:
        raise SenderRefused(None, "Sender")


def _addresses(fields: list[bytes], names: list[bytes], name: bytes) -> list[str] | None:
    """The addresses of header ``name`` (``from`` or ``sender``; None when the
    message has no such field). Parsed alone, so the envelope's Sender cannot
    default to From (RFC 3501 §7.4.2)."""
    chosen = [f for f, n in zip(fields, names, strict=True) if n == name]
    if not chosen:
        return None
    parsed = parse_message(b"".join(chosen) + b"\r\n")
    found = parsed.from_ if name == b"from" else parsed.envelope.sender
    return [a.addr for a in found if a.group is None]


_FIELD = re.compile(rb"^([!-9;-~]+)[ \t]*:", re.MULTILINE)


def _split(raw: bytes) -> tuple[list[bytes], bytes]:
    """Header fields (each with its continuation lines and line end) and the
    rest (blank line and body). A message without a header section (RFC 5322
    §2.1 allows none) has no fields."""
    fields: list[bytes] = []
    position = 0
    while position < len(raw):
        if raw.startswith(b"\r\n", position) or raw.startswith(b"\n", position):
            return fields, raw[position:]
        if not _FIELD.match(raw, position):
            if not fields:
                return [], raw  # no header section: it is all body
            return fields, raw[position:]
        end = position
        while True:
            newline = raw.find(b"\n", end)
            if newline < 0:
                end = len(raw)
                break
            end = newline + 1
            if end >= len(raw) or raw[end : end + 1] not in (b" ", b"\t"):
                break
        fields.append(raw[position:end])
        position = end
    return fields, b""


def _name(field: bytes) -> bytes:
    return field.split(b":", 1)[0].strip().lower()


def fix_headers(raw: bytes, identity: Identity, *, mail_from: str, now: datetime | None = None) -> bytes:
    """Check the From and Sender headers and make the MSA's fixes (RFC 6409 §8):

    - every From address, and the Sender address, must be one of
      ``identity``'s (``check_author_fields``, else SenderRefused); a message
      without From gets the envelope sender (or the account's address);
    - Bcc removed (RFC 5322 §3.6.3: the other recipients must not see it);
    - Date and Message-ID added when missing (RFC 6409 §8.2, §8.3).
    """
    fields, rest = _split(raw)
    names = [_name(f) for f in fields]
    authors = _addresses(fields, names, b"from")
    senders = _addresses(fields, names, b"sender")
    added: list[bytes] = []
    if senders is None and authors and any(identity.may_send_for(a) for a in authors):
        # A delegate's client (Thunderbird) rarely writes Sender: the MSA adds
        # it (RFC 6409 §8.1 lets it fix the header; RFC 5322 §3.6.2).
        senders = [identity.address]
        added.append(f"Sender: <{identity.address}>\r\n".encode())
    if authors is not None or senders is not None:
        check_author_fields(identity, authors if authors is not None else [mail_from or identity.address],
                            senders or ([] if senders is None else [""]))
    if b"from" not in names:
        added.append(f"From: <{mail_from or identity.address}>\r\n".encode())
    if b"date" not in names:
        added.append(f"Date: {format_datetime(timezone.localtime(now or timezone.now()))}\r\n".encode())
    if b"message-id" not in names:
        added.append(f"Message-ID: {make_msgid(domain=identity.address.rpartition('@')[2])}\r\n".encode())
    kept = [f for f, n in zip(fields, names, strict=True) if n != b"bcc"]
    if not fields and not rest.startswith((b"\r\n", b"\n")):
        rest = b"\r\n" + rest  # the blank line that ends the header section we add
    if kept and not kept[-1].endswith(b"\n"):
        kept[-1] += b"\r\n"
    return b"".join(kept) + b"".join(added) + rest


# --- sending from the webmail -------------------------------------------------------


class SendRefused(Exception):
    """The message cannot be sent as it is; ``message`` is French a person can
    act on; ``sending_limit``: refused by the sending limits (the page links to
    the help article that explains them)."""

    def __init__(self, message: str, *, sending_limit: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.sending_limit = sending_limit


@dataclass(frozen=True)
class Sent:
    local: list[str]
    remote: list[str]
    sent_copy_uid: int | None  # None when Envoyés had no room left (the mail went all the same)
    held: bool = False  # over a soft sending limit: kept for an administrator, not sent yet


def account_identity(account: object) -> Identity:
    """``identity_of`` for code already inside a request (web views): the same
    addresses, without recycling the thread's database connection. The
    addresses it may send as or for come from ``store.acl`` (issue 19)."""
    assert isinstance(account, Account)
    aliases = set(account.aliases.values_list("address", flat=True))
    rights = acl.sending_rights(account.pk)
    return Identity(
        account.pk, account.identifier, account.address, frozenset({account.address, *aliases}),
        send_as=frozenset(a for a, r in rights.items() if acl.SEND_AS in r),
        on_behalf=frozenset(a for a, r in rights.items() if acl.SEND_ON_BEHALF in r),
    )


def refreshed_identity(identity: Identity) -> Identity | None:
    """``identity`` as the rights stand now, for each new message of an SMTP
    session (MAIL FROM): a member removed from a functional mailbox, or a
    delegation that ended, since AUTH no longer lets the session send as or
    for that address (issue 19, as IMAP reads the rights before each
    command). None when the account is no longer active (a departure).

    Precondition: none (two indexed queries, from a worker thread)."""
    close_old_connections()
    account = Account.objects.filter(pk=identity.account_id).first()
    if account is None or not account.is_active:
        return None
    return account_identity(account)


def do_send(account: object, raw: bytes, recipients: Sequence[str], *, bcc: Sequence[str] = ()) -> Sent:
    """Send ``raw`` (built by the webmail) to ``recipients`` (To, Cc and Bcc
    addresses), under the rules of SMTP submission: the From header must be one
    of the account's addresses (SenderRefused), Bcc removed, Date and
    Message-ID added when missing; académie addresses go through the one door
    (all or nothing), the others into the outbound queue, DKIM-signed, in the
    same commit. Then the sent copy (with its Bcc line, for the sender's eyes
    only) is appended to Envoyés, \\Seen.

    Sending limits (``delivery.limits``) are checked and counted in the same
    transaction: over a soft limit the message is held for an administrator
    (``Sent.held``; nothing delivered nor queued, the sent copy kept), over a
    hard one SendRefused with the French reason.

    Raises SenderRefused, SendRefused (unknown or full local mailbox, too many
    recipients, too big, sending limit) before anything is stored or queued.
    Precondition: none (own transactions; synchronous, for web views)."""
    identity = account_identity(account)
    unique = list(dict.fromkeys(r.strip().lower() for r in recipients if r.strip()))
    if not unique:
        raise SendRefused("Indiquez au moins un destinataire.")
    if len(unique) > settings.SMTP_MAX_RECIPIENTS:
        raise SendRefused(f"Trop de destinataires ({len(unique)}) : {settings.SMTP_MAX_RECIPIENTS} au plus.")
    for address in unique:
        if not _ADDRESS.fullmatch(address):
            raise SendRefused(f"L'adresse « {address} » n'est pas valide.")
    fixed = fix_headers(raw, identity, mail_from=identity.address)
    try:
        submitted = do_submit(fixed, unique, identity=identity, origin="webmail")
    except DeliveryRefused as refused:
        raise SendRefused(refused.message) from None
    if submitted.refused:
        address, refusal = next(iter(submitted.refused.items()))
        raise SendRefused(f"{address} : {refusal.message}")
    refused_to = [o.recipient.address for o in submitted.outcomes if not o.delivered]
    if refused_to:
        # All or nothing, as in SMTP submission: nothing was stored, queued or counted.
        raise SendRefused("La boîte aux lettres de " + ", ".join(refused_to) + " est pleine : message non envoyé.")
    decision = submitted.decision
    if decision.verdict is Verdict.REFUSE:
        raise SendRefused(decision.reason, sending_limit=True)
    copy = fixed
    if bcc:
        copy = ("Bcc: " + ", ".join(bcc) + "\r\n").encode() + fixed
    # Sent as or for another account (issue 19): the copy goes to its Envoyés,
    # and both journals say who sent it (``sent_for``).
    owner_id, on_behalf = _sent_for(identity, fixed)
    uid: int | None
    try:
        sent_box = special_mailbox(owner_id, "sent")
        uid = do_append(owner_id, sent_box.pk, copy, flags=Flag.SEEN).uid
    except QuotaExceeded:
        uid = None
    if owner_id != identity.account_id:
        subject = parse_message(fixed).subject
        sent_for.send(sender=None, actor_id=identity.account_id, owner_id=owner_id, subject=subject,
                      recipients=len(unique), on_behalf=on_behalf)
    return Sent(submitted.local, submitted.remote, uid, held=decision.verdict is Verdict.HOLD)


def _sent_for(identity: Identity, raw: bytes) -> tuple[int, bool]:
    """(the account whose address is the message's From, whether it was sent
    on its behalf): ``identity``'s own unless From names an address it may
    send as or for (checked by ``check_author_fields`` already)."""
    fields, _ = _split(raw)
    authors = _addresses(fields, [_name(f) for f in fields], b"from") or []
    for address in authors:
        if identity.owns(address):
            continue
        if identity.may_send_as(address) or identity.may_send_for(address):
            owner = resolve_address(address)
            if owner is not None:
                return owner.pk, not identity.may_send_as(address)
    return identity.account_id, False


_ADDRESS = re.compile(r"[^@\s<>,;\"]+@[^@\s<>,;\"]+\.[^@\s<>,;\"]+")
