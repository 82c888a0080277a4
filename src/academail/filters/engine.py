"""Decide what happens to one delivered message for one account: load the
account's active Sieve script (compiled once, cached per account and keyed by
the script row's ``updated_at``), run it, and return a ``FilterDecision`` the
delivery door applies. ``decide`` only reads (the script, the vacation memory)
and never raises: a broken script, or one that fails while running, gives the
implicit keep (RFC 5228 §2.10.6) with ``error`` set, so mail is never lost.

Out-of-office (RFC 5230, RFC 3834): no reply to a null sender, to
MAILER-DAEMON and list robots (owner-*, *-request, LISTSERV, majordomo), to
mail with ``Auto-Submitted`` other than "no", with ``List-Id``/``List-*`` or
``Precedence: bulk|list|junk``, to mail that names none of the person's
addresses in To/Cc/Bcc (§4.5), to the person's own addresses, nor twice to
one sender within ``:days`` for one ``:handle`` (§4.2; ``VacationSeen``,
written by ``do_remember_vacation`` in the delivery transaction).

Reject and ereject (RFC 5429) are treated as discard with ``error`` set, to be
journaled: answering the sender needs the SMTP layer, not wired yet.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email import message_from_string
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import parseaddr

from django.db import connection
from django.db.models import Q
from django.utils import timezone

from academail.accounts.models import Account, Alias
from academail.filters.models import SieveScript, VacationSeen
from academail.filters.sieve import (
    Addr,
    MessageView,
    Outcome,
    Program,
    ScriptError,
    compile_script,
    split_address,
)
from academail.mime.headers import decode_words, parse_address_list, split_header
from academail.mime.parse import Address, ParsedMessage
from academail.store.messages import Flag

log = logging.getLogger(__name__)

_CACHE_SIZE = 10_000
_LIST_HEADERS = ("list-id", "list-post", "list-unsubscribe", "list-help", "list-owner", "list-subscribe")
_ROBOT_LOCALPARTS = ("mailer-daemon", "listserv", "majordomo", "postmaster")


@dataclass(frozen=True)
class VacationReply:
    """An out-of-office reply to send. The sender must mark it
    ``Auto-Submitted: auto-replied`` (RFC 3834 §5) with an empty envelope sender
    (RFC 5230 §5.1), ``In-Reply-To``/``References`` set to ``in_reply_to``, and
    call ``do_remember_vacation(account_id, remember, now, days=days)``."""

    to: str
    subject: str
    body: str
    from_: str
    in_reply_to: str | None
    days: int
    remember: str  # the VacationSeen key: sender and handle (RFC 5230 §4.2)
    mime: str | None = None  # with :mime, the reason as a whole MIME entity (RFC 5230 §4.3)

    def entity(self) -> EmailMessage:
        """The reply's content as a MIME entity (headers From/To/Subject to be
        added by the sender): the :mime reason as written, else ``body`` as
        text/plain in UTF-8."""
        if self.mime is not None:
            parsed = message_from_string(self.mime.lstrip("\r\n"), _class=EmailMessage, policy=SMTP_POLICY)
            assert isinstance(parsed, EmailMessage)
            return parsed
        entity = EmailMessage(policy=SMTP_POLICY)
        entity.set_content(self.body)
        return entity


@dataclass(frozen=True)
class FilterDecision:
    mailbox: str | None  # None = INBOX; else the folder path to file into (create it if missing)
    flags: frozenset[str]  # IMAP system flags ("\\Seen", "\\Flagged"...) and keywords
    discard: bool  # True: store no local copy at all
    redirects: tuple[str, ...]  # addresses to redirect to
    keep_copy: bool  # with ``mailbox`` set: store a copy in INBOX as well
    vacation: VacationReply | None
    error: str | None  # French; journal it. A script error comes with the implicit keep

    @property
    def local_mailboxes(self) -> list[str | None]:
        """Where to store the message: [] (discarded), [None] (INBOX), [folder],
        or [folder, None]."""
        if self.discard:
            return []
        if self.mailbox is None:
            return [None]
        return [self.mailbox, None] if self.keep_copy else [self.mailbox]


    def store_flags(self) -> tuple[int, str]:
        """``flags`` as the store's (system flag bits, space-separated keywords) for
        ``Placement``; \\Recent and malformed keywords (RFC 3501 atom) dropped."""
        bits = {name.lower(): bit for bit, name in Flag.NAMES.items()}
        value, keywords = 0, []
        for flag in sorted(self.flags):
            if flag.startswith("\\"):
                value |= bits.get(flag.lower(), 0)
            elif flag and len(flag) <= 100 and not any(c in flag for c in '(){%*"\\] ') and flag.isprintable():
                keywords.append(flag)
        return value, " ".join(keywords)


IMPLICIT_KEEP = FilterDecision(None, frozenset(), False, (), False, None, None)


def _keep_with_error(error: str) -> FilterDecision:
    return FilterDecision(None, frozenset(), False, (), False, None, error)


# --- the message, as the interpreter reads it ----------------------------------------


class ParsedView(MessageView):
    """Header fields the parser already gives (subject, from, to, cc, bcc,
    reply-to, date, message-id, in-reply-to) come from the parsed message and
    never touch the blob; any other field comes from the header section alone
    (``parsed.root.body_start`` bytes), read and split once, only when the
    script asks for one (``Program.needs_headers``).

    ``header`` is that section, or a function returning it (at delivery, a
    ranged read of the blob); without it, ``raw`` (the whole message, or a
    function returning it) is cut at the header's end."""

    def __init__(
        self,
        parsed: ParsedMessage,
        *,
        raw: bytes | Callable[[], bytes] | None,
        envelope_from: str,
        envelope_to: str,
        size: int,
        now: datetime,
        header: bytes | Callable[[], bytes] | None = None,
    ) -> None:
        super().__init__(
            envelope_from=envelope_from, envelope_to=envelope_to, size=size, body=parsed.search_text, now=now
        )
        self.parsed = parsed
        self._raw = raw
        self._header = header
        self._fields: dict[str, list[str]] | None = None

    @property
    def has_source(self) -> bool:
        """Whether fields beyond the parsed ones can be read at all."""
        return self._header is not None or self._raw is not None

    def _other_fields(self) -> dict[str, list[str]]:
        if self._fields is None:
            fields: dict[str, list[str]] = {}
            source = self._header if self._header is not None else self._raw
            if source is not None:
                data = source() if callable(source) else source
                end = min(self.parsed.root.body_start, len(data))
                for name, value in split_header(data, 0, end, allow_unixfrom=True).fields():
                    fields.setdefault(name, []).append(decode_words(value))
            self._fields = fields
        return self._fields

    def header(self, name: str) -> list[str]:
        p = self.parsed
        if name == "subject":
            return [p.subject] if p.envelope.subject is not None else []
        lists = {"from": p.from_, "to": p.to, "cc": p.cc, "bcc": p.bcc, "reply-to": p.reply_to}
        if name in lists:
            found = [a for a in lists[name] if a.group is None]
            return [", ".join(_format(a) for a in found)] if found else []
        if name in _PARSED_SINGLE:
            e = p.envelope
            value = e.message_id if name == "message-id" else e.in_reply_to if name == "in-reply-to" else e.date
            return [value] if value is not None else []
        return self._other_fields().get(name, [])

    def addresses(self, name: str) -> list[Addr]:
        p = self.parsed
        lists = {"from": p.from_, "to": p.to, "cc": p.cc, "bcc": p.bcc, "reply-to": p.reply_to}
        if name in lists:
            return [Addr(a.mailbox, a.host) for a in lists[name] if a.group is None]
        found: list[Addr] = []
        for value in self.header(name):
            found.extend(Addr(a.mailbox, a.host) for a in parse_address_list(value) if a.group is None)
        return found


_PARSED_SINGLE = frozenset({"message-id", "in-reply-to", "date"})


def _format(address: Address) -> str:
    return f"{address.name} <{address.addr}>" if address.name else address.addr


# --- cache ---------------------------------------------------------------------------

_cache: dict[int, tuple[tuple[int, datetime], Program | ScriptError]] = {}
_cache_lock = threading.Lock()


def compiled_for(account_id: int) -> Program | ScriptError | None:
    """The account's active program (or the ScriptError it gave), None without
    an active script. One indexed query per call; compiles only on change.

    The cache key is the active script's (id, updated_at): switching the
    active script (ManageSieve SETACTIVE) changes the id even when the newly
    active script is older than the cached one."""
    row = SieveScript.objects.filter(account_id=account_id, active=True).values_list("pk", "updated_at").first()
    if row is None:
        return None
    cached = _cache.get(account_id)
    if cached is not None and cached[0] == row:
        return cached[1]
    content = SieveScript.objects.filter(pk=row[0]).values_list("content", flat=True).first() or ""
    program: Program | ScriptError
    try:
        program = compile_script(content)
    except ScriptError as exc:
        program = exc
    with _cache_lock:
        if len(_cache) >= _CACHE_SIZE:
            _cache.clear()
        _cache[account_id] = (row, program)
    return program


# --- decide --------------------------------------------------------------------------


def accounts_with_filters(account_ids: list[int]) -> set[int]:
    """Which of these accounts have an active script (one query): a circular
    to 10,000 people only runs the filters of those who wrote some.

    Raw SQL: the delivery writer asks it for every message, and the ORM's
    query building cost 0.58 ms of Python a call against 0.05 for the query
    itself (bench/README.md, issue 21 item 2)."""
    if not account_ids:
        return set()
    marks = ", ".join(["%s"] * len(account_ids))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT account_id FROM {SieveScript._meta.db_table}"  # noqa: S608 (fixed name, placeholders)
            f" WHERE account_id IN ({marks}) AND active AND content <> ''",
            list(account_ids),
        )
        return {int(row[0]) for row in cursor.fetchall()}


def decide(
    account_id: int,
    parsed: ParsedMessage,
    *,
    envelope_from: str,
    envelope_to: str,
    size: int,
    raw: bytes | Callable[[], bytes] | None = None,
    header: bytes | Callable[[], bytes] | None = None,
    now: datetime | None = None,
    spam: tuple[int, int] | None = None,
) -> FilterDecision:
    """Run the account's active script over one message. Never raises.

    ``header`` (the message's header section, ``parsed.root.body_start`` bytes,
    or a function returning it, e.g. a ranged blob read) or else ``raw`` (the
    whole message, or a function returning it), called at most once and only
    when the script reads a field the parsed message does not carry or has a
    vacation action, lets tests such as ``header "list-id"`` work; without
    either, such fields read as absent and no vacation reply is sent.
    ``spam``: the delivery's spam verdict for RFC 5235 ``spamtest`` (value
    1..10, percent 0..100); None reads as "not tested".
    Precondition: may run inside the delivery transaction; reads only."""
    try:
        program = compiled_for(account_id)
        if program is None:
            return IMPLICIT_KEEP
        if isinstance(program, ScriptError):
            return _keep_with_error(f"Filtres ignorés : {program.message}")
        moment = now or timezone.now()
        moment = timezone.localtime(timezone.make_aware(moment) if timezone.is_naive(moment) else moment)
        view = ParsedView(
            parsed, raw=raw, header=header, envelope_from=envelope_from, envelope_to=envelope_to, size=size,
            now=moment,
        )
        if spam is not None:
            view.spam_value, view.spam_percent = spam
        outcome = program.run(view)
        vacation = None
        if outcome.vacation is not None and view.has_source:
            vacation = _vacation(account_id, outcome.vacation, view, moment)
        return _decision(outcome, vacation)
    except ScriptError as exc:
        return _keep_with_error(f"Filtres ignorés : {exc.message}")
    except Exception as exc:  # noqa: BLE001 - a filter must never lose a message
        log.exception("filter run failed for account %s", account_id)
        return _keep_with_error(f"Filtres ignorés après une erreur interne ({type(exc).__name__}).")


def _decision(outcome: Outcome, vacation: VacationReply | None) -> FilterDecision:
    error = None
    discard = outcome.discard
    if outcome.rejected is not None:
        discard = True
        error = f"Refus (reject) traité comme une suppression : {outcome.rejected[:200]}"
    # RFC 5228 §2.10.2: fileinto, redirect (without :copy), discard and reject cancel
    # the implicit keep; an explicit keep always stores in INBOX.
    cancelled = bool(outcome.fileinto) or outcome.redirect_moves or discard
    inbox = outcome.keep or not cancelled
    folder = outcome.fileinto[0] if outcome.fileinto else None
    return FilterDecision(
        mailbox=folder,
        flags=frozenset(outcome.flags),
        discard=folder is None and not inbox,
        redirects=tuple(outcome.redirects),
        keep_copy=inbox if folder else bool(outcome.redirects) and inbox,
        vacation=vacation,
        error=error,
    )


def vacation_allowed(view: MessageView, own: list[str]) -> bool:
    """RFC 5230 §4.5-4.6 and RFC 3834 §2: may an automatic reply go to this sender?"""
    sender = view.envelope_from.strip().strip("<>").lower()
    if not sender or "@" not in sender:
        return False
    local = split_address(sender).local
    if local in _ROBOT_LOCALPARTS or local.startswith("owner-") or local.endswith("-request"):
        return False
    auto = [v.strip().lower() for v in view.header("auto-submitted")]
    if any(v and not v.startswith("no") for v in auto):
        return False
    if any(view.header(h) for h in _LIST_HEADERS):
        return False
    if any(v.strip().lower() in ("bulk", "list", "junk") for v in view.header("precedence")):
        return False
    mine = {a.lower() for a in own if a}
    if sender in mine:  # RFC 5230 §4.5: never answer one's own addresses
        return False
    named = {a.all.lower() for h in ("to", "cc", "bcc", "resent-to", "resent-cc") for a in view.addresses(h)}
    return bool(mine & named)


def vacation_key(sender: str, params: dict[str, object]) -> str:
    """The once-per-:days memory key (RFC 5230 §4.2): the sender and the
    :handle, or, without one, a handle made of :subject, :from, :mime and the
    reason, so that a new out-of-office text answers again at once. Fits
    ``VacationSeen.sender`` (320 characters)."""
    handle = params.get("handle")
    if handle is None:
        handle = "\0".join(str(params.get(k) or "") for k in ("subject", "from", "mime", "reason"))
    digest = hashlib.sha256(str(handle).encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return f"{sender.strip().lower()[:300]} {digest}"


def _account_addresses(account_id: int) -> list[str]:
    """The account's main address and aliases (one query each, only when a
    vacation action ran)."""
    main = Account.objects.filter(pk=account_id).values_list("address", flat=True).first()
    aliases = Alias.objects.filter(account_id=account_id).values_list("address", flat=True)
    return [a.lower() for a in [main, *aliases] if a]


def _reply_from(wanted: object, mine: list[str], fallback: str) -> str:
    """RFC 5230 §4.4: :from, only when it is one of the person's own addresses
    (an out-of-office reply may not speak for someone else); else the address
    the message came to."""
    if wanted:
        address = parseaddr(str(wanted))[1].lower()
        if address and address in mine:
            return str(wanted)
    return fallback


def _vacation(account_id: int, params: dict[str, object], view: ParsedView, now: datetime) -> VacationReply | None:
    extra = params.get("addresses") or []
    mine = _account_addresses(account_id)
    own = [view.envelope_to, *mine, *[str(a).strip().strip("<>") for a in extra]]  # type: ignore[attr-defined]
    if not vacation_allowed(view, own):
        return None
    sender = view.envelope_from.strip().strip("<>").lower()
    remember = vacation_key(sender, params)
    if VacationSeen.objects.filter(Q(account_id=account_id, sender=remember, until__gt=now)).exists():
        return None
    original = view.parsed.subject
    # RFC 5230 §4.3 (suggested): "Auto:" and the original subject.
    subject = str(params.get("subject") or (f"Auto: {original}" if original else "Réponse automatique"))
    reason = str(params.get("reason") or "")
    mime = reason if params.get("mime") else None
    body = reason
    if mime is not None:  # text for senders that only read ``body``
        entity = VacationReply("", "", "", "", None, 1, "", mime).entity()
        part = entity.get_body(("plain",))
        body = part.get_content() if isinstance(part, EmailMessage) else ""
    return VacationReply(
        to=sender,
        subject=subject,
        body=body,
        from_=_reply_from(params.get("from"), [view.envelope_to.lower(), *mine], view.envelope_to),
        in_reply_to=view.parsed.message_id,
        days=int(params.get("days") or 7),  # type: ignore[call-overload]
        remember=remember,
        mime=mime,
    )


def do_remember_vacation(account_id: int, sender: str, now: datetime, *, days: int = 7) -> None:
    """Record that ``sender`` got a reply: none again before ``now + days``.

    Precondition: inside the delivery transaction that sends the reply."""
    VacationSeen.objects.update_or_create(
        account_id=account_id, sender=sender.strip().lower()[:320],
        defaults={"until": now + timedelta(days=days)},
    )
