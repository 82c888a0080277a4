"""Typed commands (RFC 3501 §6, RFC 9051 §6 and the extensions listed in
``academail.imap.session.CAPABILITIES``) and ``parse_command``, which turns the
bytes of one complete command (final CRLF removed, literals inline) into one of
them or raises ParseError."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from academail.imap.parsing import utf7
from academail.imap.parsing.errors import ParseError
from academail.imap.parsing.fetch import FetchItem, parse_item, parse_items
from academail.imap.parsing.lexer import Lexer, SequenceSet
from academail.imap.parsing.search import MONTHS, SearchKey, parse_keys

SIMPLE_COMMANDS = frozenset(
    {"CAPABILITY", "NOOP", "LOGOUT", "STARTTLS", "CHECK", "CLOSE", "UNSELECT", "EXPUNGE",
     "NAMESPACE", "IDLE"}
)
STATUS_ITEMS = frozenset(
    {"MESSAGES", "RECENT", "UIDNEXT", "UIDVALIDITY", "UNSEEN", "HIGHESTMODSEQ", "SIZE", "DELETED"}
)
ESEARCH_RETURN = frozenset({"MIN", "MAX", "COUNT", "ALL", "SAVE"})
# RFC 5267 §4.1: CONTEXT=SEARCH and CONTEXT=SORT add three return options.
CONTEXT_RETURN = frozenset({"CONTEXT", "UPDATE", "PARTIAL"})
# RFC 5256 §3 sort keys, and RFC 5957 §3's DISPLAYFROM.
SORT_KEYS = frozenset({"ARRIVAL", "CC", "DATE", "FROM", "SIZE", "SUBJECT", "TO", "DISPLAYFROM"})
ESORT_RETURN = frozenset({"MIN", "MAX", "COUNT", "ALL"})  # RFC 5267 §3.2
THREAD_ALGORITHMS = frozenset({"ORDEREDSUBJECT", "REFERENCES"})  # RFC 5256 §2
LIST_SELECTION = frozenset({"SUBSCRIBED", "REMOTE", "RECURSIVEMATCH", "SPECIAL-USE"})
LIST_RETURN = frozenset({"SUBSCRIBED", "CHILDREN", "SPECIAL-USE", "STATUS"})


@dataclass(frozen=True)
class Command:
    tag: str
    name: str


@dataclass(frozen=True)
class Simple(Command):
    """A command without arguments; each has its own class below, so the
    server's dispatch table (``imap.commands.HANDLERS``) is keyed by class."""


@dataclass(frozen=True)
class Capability(Simple):
    pass


@dataclass(frozen=True)
class Noop(Simple):
    pass


@dataclass(frozen=True)
class Logout(Simple):
    pass


@dataclass(frozen=True)
class StartTLS(Simple):
    pass


@dataclass(frozen=True)
class Check(Simple):
    pass


@dataclass(frozen=True)
class Close(Simple):
    pass


@dataclass(frozen=True)
class Unselect(Simple):
    pass


@dataclass(frozen=True)
class Expunge(Simple):
    pass


@dataclass(frozen=True)
class Namespace(Simple):
    pass


@dataclass(frozen=True)
class Idle(Simple):
    pass


@dataclass(frozen=True)
class Login(Command):
    user: str
    password: str = field(repr=False)


@dataclass(frozen=True)
class Authenticate(Command):
    mechanism: str
    initial: bytes | None = field(default=None, repr=False)  # SASL-IR (RFC 4959), base64


@dataclass(frozen=True)
class Id(Command):
    params: tuple[tuple[str, str | None], ...] | None


@dataclass(frozen=True)
class Enable(Command):
    capabilities: tuple[str, ...]


@dataclass(frozen=True)
class Compress(Command):
    algorithm: str  # RFC 4978 §3: DEFLATE is the only one defined


@dataclass(frozen=True)
class Qresync:
    uidvalidity: int
    modseq: int
    known_uids: SequenceSet | None = None
    seq_match: tuple[SequenceSet, SequenceSet] | None = None


@dataclass(frozen=True)
class Select(Command):
    mailbox: str
    readonly: bool
    condstore: bool = False
    qresync: Qresync | None = None


@dataclass(frozen=True)
class MailboxCommand(Command):
    """CREATE, DELETE, SUBSCRIBE, UNSUBSCRIBE, GETQUOTAROOT."""

    mailbox: str


@dataclass(frozen=True)
class Create(MailboxCommand):
    pass


@dataclass(frozen=True)
class Delete(MailboxCommand):
    pass


@dataclass(frozen=True)
class Subscribe(MailboxCommand):
    pass


@dataclass(frozen=True)
class Unsubscribe(MailboxCommand):
    pass


@dataclass(frozen=True)
class GetQuotaRoot(MailboxCommand):
    pass


@dataclass(frozen=True)
class GetAcl(MailboxCommand):
    """GETACL mailbox (RFC 4314 §3.3)."""


@dataclass(frozen=True)
class MyRights(MailboxCommand):
    """MYRIGHTS mailbox (RFC 4314 §3.5)."""


@dataclass(frozen=True)
class SetAcl(Command):
    """SETACL mailbox identifier rights (RFC 4314 §3.1); ``mode`` "+" adds,
    "-" removes, "" replaces (§3.1: a leading sign)."""

    mailbox: str
    identifier: str
    mode: str
    rights: str


@dataclass(frozen=True)
class DeleteAcl(Command):
    """DELETEACL mailbox identifier (RFC 4314 §3.2)."""

    mailbox: str
    identifier: str


@dataclass(frozen=True)
class ListRights(Command):
    """LISTRIGHTS mailbox identifier (RFC 4314 §3.4)."""

    mailbox: str
    identifier: str


@dataclass(frozen=True)
class GetQuota(Command):
    root: str


@dataclass(frozen=True)
class Rename(Command):
    mailbox: str
    new_name: str


@dataclass(frozen=True)
class ListCommand(Command):
    """LIST and LSUB; LIST-EXTENDED options (RFC 5258), LIST-STATUS (RFC 5819)."""

    reference: str
    patterns: tuple[str, ...]
    selection: frozenset[str] = frozenset()
    returns: frozenset[str] = frozenset()
    status_items: tuple[str, ...] = ()
    extended: bool = False


@dataclass(frozen=True)
class Status(Command):
    mailbox: str
    items: tuple[str, ...]


@dataclass(frozen=True)
class AppendMessage:
    """One message of a MULTIAPPEND (RFC 3502 §6.3.11) after the first."""

    flags: tuple[str, ...]
    date: dt.datetime | None
    message: bytes = field(repr=False)
    # CATENATE (RFC 4469 §5): ("TEXT", bytes) and ("URL", url) parts; message is b"".
    catenate: tuple[tuple[str, bytes], ...] = field(default=(), repr=False)


@dataclass(frozen=True)
class Append(Command):
    mailbox: str
    flags: tuple[str, ...]
    date: dt.datetime | None
    message: bytes = field(repr=False)
    more: tuple[AppendMessage, ...] = ()  # MULTIAPPEND (RFC 3502)
    catenate: tuple[tuple[str, bytes], ...] = field(default=(), repr=False)  # the first message's


@dataclass(frozen=True)
class UidExpunge(Command):
    set: SequenceSet


@dataclass(frozen=True)
class Search(Command):
    uid: bool
    key: SearchKey
    charset: str | None = None
    returns: tuple[str, ...] | None = None  # ESEARCH (RFC 4731); None: plain SEARCH
    partial: tuple[int, int] | None = None  # RFC 5267 §4.4 PARTIAL range, as written


@dataclass(frozen=True)
class Sort(Command):
    """RFC 5256 §3 SORT: ``keys`` are (key, reverse) pairs in priority order."""

    uid: bool
    keys: tuple[tuple[str, bool], ...]
    charset: str
    key: SearchKey
    returns: tuple[str, ...] | None = None  # ESORT (RFC 5267 §3); None: plain SORT
    partial: tuple[int, int] | None = None  # RFC 5267 §4.4 PARTIAL range, as written


@dataclass(frozen=True)
class NotifyFilter:
    """One ``(filter-mailboxes events)`` of NOTIFY SET (RFC 5465 §3.1, §6)."""

    kind: str  # SELECTED, SELECTED-DELAYED, INBOXES, PERSONAL, SUBSCRIBED, SUBTREE, MAILBOXES
    mailboxes: tuple[str, ...]  # SUBTREE's and MAILBOXES' names
    events: tuple[str, ...]  # as the RFC spells them (MessageNew ...); () for NONE
    fetch: tuple[FetchItem, ...] = ()  # MessageNew's fetch attributes (SELECTED only)


@dataclass(frozen=True)
class Notify(Command):
    """RFC 5465 §3: NOTIFY NONE (``filters`` None) or NOTIFY SET [STATUS] filters."""

    filters: tuple[NotifyFilter, ...] | None
    status: bool = False


@dataclass(frozen=True)
class CancelUpdate(Command):
    """RFC 5267 §4.3.5: stop the updates of the searches with these tags."""

    tags: tuple[str, ...]


@dataclass(frozen=True)
class Thread(Command):
    """RFC 5256 §4 THREAD: ``algorithm`` is ORDEREDSUBJECT or REFERENCES."""

    uid: bool
    algorithm: str
    charset: str
    key: SearchKey


@dataclass(frozen=True)
class Fetch(Command):
    uid: bool
    set: SequenceSet
    items: tuple[FetchItem, ...]
    changed_since: int | None = None
    vanished: bool = False


@dataclass(frozen=True)
class Store(Command):
    uid: bool
    set: SequenceSet
    mode: str  # "add" | "remove" | "replace"
    silent: bool
    flags: tuple[str, ...]
    unchanged_since: int | None = None


@dataclass(frozen=True)
class Copy(Command):
    uid: bool
    set: SequenceSet
    mailbox: str
    move: bool


def mailbox_name(raw: bytes, *, utf8: bool, lx: Lexer) -> str:
    """A mailbox name from the wire: modified UTF-7 (RFC 3501 §5.1.3), or UTF-8
    once UTF8=ACCEPT is enabled (RFC 6855 §3)."""
    if b"\x00" in raw:
        raise lx.error("NUL in mailbox name")
    if utf8:
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise lx.error("mailbox name is not valid UTF-8") from None
    try:
        return utf7.decode(raw)
    except utf7.UTF7Error as exc:
        raise lx.error(f"invalid modified UTF-7 mailbox name ({exc})") from None


def _mailbox(lx: Lexer, utf8: bool) -> str:
    return mailbox_name(lx.astring(), utf8=utf8, lx=lx)


_DATE_TIME = re.compile(rb'"([ \d]\d)-([A-Za-z]{3})-(\d{4}) (\d\d):(\d\d):(\d\d) ([+-])(\d\d)(\d\d)"')


def parse_date_time(lx: Lexer) -> dt.datetime:
    """date-time (RFC 3501 §9): "26-Nov-2026 10:00:00 +0100"."""
    m = _DATE_TIME.match(lx.data, lx.pos)
    if m is None:
        raise lx.error("bad date-time")
    lx.pos = m.end()
    day, month, year, hh, mm, ss, sign, zh, zm = (g.decode("ascii") for g in m.groups())
    try:
        offset = dt.timedelta(hours=int(zh), minutes=int(zm)) * (-1 if sign == "-" else 1)
        return dt.datetime(
            int(year), MONTHS.index(month.upper()) + 1, int(day.strip()), int(hh), int(mm), int(ss),
            tzinfo=dt.timezone(offset),
        )
    except ValueError:
        raise lx.error("invalid date-time") from None


def _text(raw: bytes, lx: Lexer) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise lx.error("not UTF-8") from None


# --- per-command parsers ---------------------------------------------------------


def _login(lx: Lexer, tag: str, name: str, utf8: bool) -> Command:
    lx.sp()
    user = _text(lx.astring(), lx)
    lx.sp()
    password = _text(lx.astring(), lx)
    return Login(tag, name, user, password)


def _authenticate(lx: Lexer, tag: str, name: str, utf8: bool) -> Command:
    lx.sp()
    mechanism = lx.keyword()
    initial = None
    if not lx.at_end():
        lx.sp()
        initial = lx._match(re.compile(rb"[A-Za-z0-9+/]*={0,2}"), "initial response")
    return Authenticate(tag, name, mechanism, initial)


def _id(lx: Lexer, tag: str, name: str, utf8: bool) -> Command:
    lx.sp()
    if lx.maybe(b"NIL"):
        return Id(tag, name, None)
    items = lx.paren_list(lambda: lx.nstring())
    if len(items) % 2 or len(items) > 60:
        raise lx.error("ID takes field/value pairs (30 at most)")
    pairs: list[tuple[str, str | None]] = []
    for i in range(0, len(items), 2):
        key, value = items[i], items[i + 1]
        if key is None:
            raise lx.error("ID field name is NIL")
        pairs.append((key.decode("utf-8", "replace")[:30], None if value is None else value.decode("utf-8", "replace")[:1024]))
    return Id(tag, name, tuple(pairs))


def _compress(lx: Lexer, tag: str, name: str, utf8: bool) -> Command:
    lx.sp()
    return Compress(tag, name, lx.keyword())


def _enable(lx: Lexer, tag: str, name: str, utf8: bool) -> Command:
    caps: list[str] = []
    while not lx.at_end():
        lx.sp()
        caps.append(lx.keyword())
        if len(caps) > 100:
            raise lx.error("too many capabilities")
    if not caps:
        raise lx.error("ENABLE needs a capability")
    return Enable(tag, name, tuple(caps))


def _select(lx: Lexer, tag: str, name: str, utf8: bool) -> Command:
    lx.sp()
    mailbox = _mailbox(lx, utf8)
    condstore = False
    qresync: Qresync | None = None
    if not lx.at_end():
        lx.sp()

        def param() -> None:
            nonlocal condstore, qresync
            word = lx.keyword()
            if word == "CONDSTORE":  # RFC 7162 §3.1.8
                condstore = True
            elif word == "QRESYNC":  # RFC 7162 §3.2.5
                lx.sp()
                lx.expect(b"(")
                uidvalidity = lx.number(nonzero=True)
                lx.sp()
                modseq = lx.number(nonzero=True, bits=64)
                known = None
                match = None
                if lx.maybe(b" "):
                    if lx.peek() != b"(":
                        known = lx.sequence_set()
                        lx.maybe(b" ")
                    if lx.peek() == b"(":
                        lx.expect(b"(")
                        seqs = lx.sequence_set()
                        lx.sp()
                        uids = lx.sequence_set()
                        lx.expect(b")")
                        match = (seqs, uids)
                lx.expect(b")")
                qresync = Qresync(uidvalidity, modseq, known, match)
            else:
                raise lx.error(f"unknown SELECT parameter {word[:40]}")

        lx.paren_list(param)
    return Select(tag, name, mailbox, readonly=name == "EXAMINE", condstore=condstore, qresync=qresync)


def _one_mailbox(lx: Lexer, tag: str, name: str, utf8: bool) -> Command:
    lx.sp()
    return _MAILBOX_COMMANDS[name](tag, name, _mailbox(lx, utf8))


def _getquota(lx: Lexer, tag: str, name: str, utf8: bool) -> Command:
    lx.sp()
    # A quota root names an owner in the mailbox namespace (RFC 9208 §3):
    # "" or "Partagés/<owner>", modified UTF-7 on the wire as mailbox names.
    return GetQuota(tag, name, _mailbox(lx, utf8))


def _rename(lx: Lexer, tag: str, name: str, utf8: bool) -> Command:
    lx.sp()
    old = _mailbox(lx, utf8)
    lx.sp()
    return Rename(tag, name, old, _mailbox(lx, utf8))


def _list(lx: Lexer, tag: str, name: str, utf8: bool) -> Command:
    lx.sp()
    selection: set[str] = set()
    extended = False
    if lx.peek() == b"(":
        extended = True  # RFC 5258 §3: list-select-opts
        for opt in lx.paren_list(lambda: lx.keyword()):
            if opt not in LIST_SELECTION:
                raise lx.error(f"unknown LIST selection option {opt[:40]}")
            selection.add(opt)
        lx.sp()
    reference = mailbox_name(lx.astring() if lx.peek() != b'"' else lx.quoted(), utf8=utf8, lx=lx)
    lx.sp()
    if lx.peek() == b"(":
        extended = True
        raw_patterns = lx.paren_list(lambda: lx.list_mailbox(), allow_empty=False)
    else:
        raw_patterns = [lx.list_mailbox()]
    patterns = tuple(mailbox_name(p, utf8=utf8, lx=lx) for p in raw_patterns)
    returns: set[str] = set()
    status_items: tuple[str, ...] = ()
    if not lx.at_end():
        lx.sp()
        if not lx.maybe(b"RETURN "):
            raise lx.error("expected RETURN")
        extended = True

        def option() -> str:
            nonlocal status_items
            word = lx.keyword()
            if word not in LIST_RETURN:
                raise lx.error(f"unknown LIST return option {word[:40]}")
            if word == "STATUS":  # RFC 5819
                lx.sp()
                status_items = tuple(_status_items(lx))
            return word

        returns = set(lx.paren_list(option))
    if name == "LSUB" and extended:
        raise lx.error("LSUB takes no options")
    if "RECURSIVEMATCH" in selection and not selection - {"RECURSIVEMATCH", "REMOTE"}:
        # RFC 5258 §3.1: alone or with REMOTE only, RECURSIVEMATCH is a BAD.
        raise lx.error("RECURSIVEMATCH needs another selection option")
    return ListCommand(
        tag, name, reference, patterns, frozenset(selection), frozenset(returns), status_items, extended
    )


def _status_items(lx: Lexer) -> list[str]:
    items = lx.paren_list(lambda: lx.keyword(), allow_empty=False)
    for item in items:
        if item not in STATUS_ITEMS:
            raise lx.error(f"unknown STATUS item {item[:40]}")
    return items


def _status(lx: Lexer, tag: str, name: str, utf8: bool) -> Command:
    lx.sp()
    mailbox = _mailbox(lx, utf8)
    lx.sp()
    return Status(tag, name, mailbox, tuple(_status_items(lx)))


def _append(lx: Lexer, tag: str, name: str, utf8: bool) -> Command:
    """RFC 3501 §6.3.11, RFC 3502 §6.3.11: ``APPEND mailbox 1*(SP append-message)``."""
    lx.sp()
    mailbox = _mailbox(lx, utf8)
    first = _append_message(lx)
    more: list[AppendMessage] = []
    while not lx.at_end():
        more.append(_append_message(lx))
    return Append(tag, name, mailbox, first.flags, first.date, first.message, tuple(more), first.catenate)


def _append_message(lx: Lexer) -> AppendMessage:
    lx.sp()
    flags: list[str] = []
    date = None
    if lx.peek() == b"(":
        flags = lx.paren_list(lx.flag)
        lx.sp()
    if lx.peek() == b'"':
        date = parse_date_time(lx)
        lx.sp()
    if lx.maybe(b"CATENATE "):  # RFC 4469 §5
        parts = lx.paren_list(lambda: _cat_part(lx), allow_empty=False)
        return AppendMessage(tuple(flags), date, b"", tuple(parts))
    if lx.maybe(b"UTF8 ("):  # RFC 6855 §4
        message = lx.literal()
        lx.expect(b")")
    else:
        message = lx.literal()
    return AppendMessage(tuple(flags), date, message)


def _cat_part(lx: Lexer) -> tuple[str, bytes]:
    kind = lx.keyword()
    lx.sp()
    if kind == "TEXT":
        return kind, lx.literal()
    if kind == "URL":
        return kind, lx.astring()
    raise lx.error(f"unknown CATENATE part {kind[:40]}")


def _uid_expunge(lx: Lexer, tag: str, name: str, utf8: bool) -> Command:
    lx.sp()
    return UidExpunge(tag, name, lx.sequence_set())


def _search(lx: Lexer, tag: str, name: str, utf8: bool, uid: bool = False) -> Command:
    lx.sp()
    returns: tuple[str, ...] | None = None
    partial = None
    if lx.maybe(b"RETURN "):  # RFC 4731 §3
        returns, partial = _return_options(lx, ESEARCH_RETURN | CONTEXT_RETURN)
        lx.sp()
    charset = None
    if lx.maybe(b"CHARSET "):
        charset = lx.astring().decode("ascii", "replace").upper()
        lx.sp()
    key = parse_keys(lx, charset or "US-ASCII")
    return Search(tag, name, uid, key, charset, returns, partial)


def _return_options(lx: Lexer, known: frozenset[str]) -> tuple[tuple[str, ...], tuple[int, int] | None]:
    """``RETURN (...)`` of SEARCH (RFC 4731 §3) or SORT (RFC 5267 §3): the
    options, ALL when the list is empty, and PARTIAL's range (RFC 5267 §4.4:
    ``nz-number ":" nz-number``, either way round, no "*")."""
    partial: list[tuple[int, int]] = []

    def option() -> str:
        opt = lx.keyword()
        if opt not in known:
            raise lx.error(f"unknown return option {opt[:40]}")
        if opt == "PARTIAL":
            lx.sp()
            first = lx.number(nonzero=True)
            lx.expect(b":")
            partial.append((first, lx.number(nonzero=True)))
        return opt

    opts = lx.paren_list(option)
    # RFC 5267 §4.4: one PARTIAL, one ALL, or neither.
    if opts.count("PARTIAL") + opts.count("ALL") > 1:
        raise lx.error("at most one of PARTIAL and ALL")
    return tuple(opts) or ("ALL",), partial[0] if partial else None


def _sort_key(lx: Lexer) -> tuple[str, bool]:
    reverse = False
    key = lx.keyword()
    if key == "REVERSE":  # RFC 5256 §3: REVERSE modifies the key after it
        reverse = True
        lx.sp()
        key = lx.keyword()
    if key not in SORT_KEYS:
        raise lx.error(f"unknown SORT key {key[:40]}")
    return key, reverse


def _sort(lx: Lexer, tag: str, name: str, utf8: bool, uid: bool = False) -> Command:
    """RFC 5256 §3: ``SORT [RETURN (...)] (sort-criteria) charset search-key...``;
    the charset is mandatory; RETURN is ESORT's (RFC 5267 §3)."""
    lx.sp()
    returns: tuple[str, ...] | None = None
    partial = None
    if lx.maybe(b"RETURN "):
        returns, partial = _return_options(lx, ESORT_RETURN | CONTEXT_RETURN)
        lx.sp()
    keys: list[tuple[str, bool]] = []
    lx.expect(b"(")
    while True:
        keys.append(_sort_key(lx))
        if lx.maybe(b")"):
            break
        lx.sp()
    lx.sp()
    charset = lx.astring().decode("ascii", "replace").upper()
    lx.sp()
    key = parse_keys(lx, charset)
    return Sort(tag, name, uid, tuple(keys), charset, key, returns, partial)


NOTIFY_FILTERS = frozenset({"SELECTED", "SELECTED-DELAYED", "INBOXES", "PERSONAL", "SUBSCRIBED", "SUBTREE", "MAILBOXES"})
# RFC 5465 §5: every event name the RFC defines, case-insensitive on the wire.
NOTIFY_EVENTS = {
    name.upper(): name
    for name in ("MessageNew", "MessageExpunge", "FlagChange", "AnnotationChange", "MailboxName",
                 "SubscriptionChange", "MailboxMetadataChange", "ServerMetadataChange")
}


def _notify(lx: Lexer, tag: str, name: str, utf8: bool) -> Command:
    """RFC 5465 §3 and §8: ``NOTIFY NONE`` or ``NOTIFY SET [STATUS] 1*(SP
    "(" filter-mailboxes SP events ")")``. Unknown event names (event-ext)
    are kept as written, for the handler's NO [BADEVENT]."""
    lx.sp()
    word = lx.keyword()
    if word == "NONE":
        return Notify(tag, name, None)
    if word != "SET":
        raise lx.error("expected NOTIFY SET or NOTIFY NONE")
    lx.sp()
    status = lx.maybe(b"STATUS ")
    filters: list[NotifyFilter] = []
    while True:
        filters.append(_notify_filter(lx, utf8))
        if lx.at_end():
            return Notify(tag, name, tuple(filters), status)
        lx.sp()
        if len(filters) >= 50:
            raise lx.error("too many NOTIFY filters")


def _notify_filter(lx: Lexer, utf8: bool) -> NotifyFilter:
    lx.expect(b"(")
    kind = lx.keyword()
    if kind not in NOTIFY_FILTERS:
        raise lx.error(f"unknown NOTIFY filter {kind[:40]}")
    mailboxes: list[str] = []
    if kind in ("SUBTREE", "MAILBOXES"):
        lx.sp()
        if lx.peek() == b"(":
            mailboxes = lx.paren_list(lambda: _mailbox(lx, utf8), allow_empty=False)
        else:
            mailboxes = [_mailbox(lx, utf8)]
    lx.sp()
    events: list[str] = []
    fetch: list[FetchItem] = []
    if lx.maybe(b"NONE"):
        lx.expect(b")")
        return NotifyFilter(kind, tuple(mailboxes), ())

    def event() -> str:
        word = lx.atom()
        spelled = NOTIFY_EVENTS.get(word.upper(), word)
        if spelled == "MessageNew" and lx.peek(2) == b" (":
            lx.sp()
            fetch.extend(lx.paren_list(lambda: parse_item(lx), allow_empty=False))
        return spelled

    events = lx.paren_list(event, allow_empty=False)
    lx.expect(b")")
    return NotifyFilter(kind, tuple(mailboxes), tuple(events), tuple(fetch))


def _cancelupdate(lx: Lexer, tag: str, name: str, utf8: bool) -> Command:
    """RFC 5267 §4.3.5: ``CANCELUPDATE 1*(SP quoted)``, the searches' tags."""
    tags: list[str] = []
    while True:
        lx.sp()
        tags.append(lx.astring().decode("ascii", "replace"))
        if lx.at_end():
            return CancelUpdate(tag, name, tuple(tags))
        if len(tags) >= 100:
            raise lx.error("too many tags")


def _thread(lx: Lexer, tag: str, name: str, utf8: bool, uid: bool = False) -> Command:
    """RFC 5256 §4: ``THREAD algorithm charset search-key...``."""
    lx.sp()
    algorithm = lx.keyword()
    if algorithm not in THREAD_ALGORITHMS:
        raise lx.error(f"unknown THREAD algorithm {algorithm[:40]}")
    lx.sp()
    charset = lx.astring().decode("ascii", "replace").upper()
    lx.sp()
    return Thread(tag, name, uid, algorithm, charset, parse_keys(lx, charset))


def _fetch(lx: Lexer, tag: str, name: str, utf8: bool, uid: bool = False) -> Command:
    lx.sp()
    sequence = lx.sequence_set()
    lx.sp()
    items = parse_items(lx)
    changed_since = None
    vanished = False
    if not lx.at_end():
        lx.sp()

        def modifier() -> None:
            nonlocal changed_since, vanished
            word = lx.keyword()
            if word == "CHANGEDSINCE":  # RFC 7162 §3.1.4
                lx.sp()
                changed_since = lx.number(bits=64)
            elif word == "VANISHED":  # RFC 7162 §3.2.6
                vanished = True
            else:
                raise lx.error(f"unknown FETCH modifier {word[:40]}")

        lx.paren_list(modifier, allow_empty=False)
        if vanished and (not uid or changed_since is None):
            raise lx.error("VANISHED needs UID FETCH and CHANGEDSINCE")  # RFC 7162 §3.2.6
    return Fetch(tag, name, uid, sequence, tuple(items), changed_since, vanished)


def _store(lx: Lexer, tag: str, name: str, utf8: bool, uid: bool = False) -> Command:
    lx.sp()
    sequence = lx.sequence_set()
    lx.sp()
    unchanged_since = None
    if lx.peek() == b"(":
        def modifier() -> None:
            nonlocal unchanged_since
            if lx.keyword() != "UNCHANGEDSINCE":  # RFC 7162 §3.1.3
                raise lx.error("unknown STORE modifier")
            lx.sp()
            unchanged_since = lx.number(bits=64)

        lx.paren_list(modifier, allow_empty=False)
        lx.sp()
    item = lx.keyword()
    mode = {"FLAGS": "replace", "+FLAGS": "add", "-FLAGS": "remove"}
    if item.startswith(("+", "-")):
        pass
    base, _, silent = item.partition(".")
    if base not in mode or silent not in ("", "SILENT"):
        raise lx.error("expected FLAGS, +FLAGS or -FLAGS")
    lx.sp()
    if lx.peek() == b"(":
        flags = lx.paren_list(lx.flag)
    else:
        flags = [lx.flag()]
        while not lx.at_end():
            lx.sp()
            flags.append(lx.flag())
    return Store(tag, name, uid, sequence, mode[base], bool(silent), tuple(flags), unchanged_since)


def _copy(lx: Lexer, tag: str, name: str, utf8: bool, uid: bool = False) -> Command:
    lx.sp()
    sequence = lx.sequence_set()
    lx.sp()
    return Copy(tag, name, uid, sequence, _mailbox(lx, utf8), move=name == "MOVE")


def _mailbox_identifier(lx: Lexer, utf8: bool) -> tuple[str, str]:
    lx.sp()
    mailbox = _mailbox(lx, utf8)
    lx.sp()
    return mailbox, _text(lx.astring(), lx)


def _setacl(lx: Lexer, tag: str, name: str, utf8: bool) -> Command:
    mailbox, identifier = _mailbox_identifier(lx, utf8)
    lx.sp()
    rights = _text(lx.astring(), lx)
    mode = rights[:1] if rights[:1] in ("+", "-") else ""
    return SetAcl(tag, name, mailbox, identifier, mode, rights[len(mode):])


def _deleteacl(lx: Lexer, tag: str, name: str, utf8: bool) -> Command:
    return DeleteAcl(tag, name, *_mailbox_identifier(lx, utf8))


def _listrights(lx: Lexer, tag: str, name: str, utf8: bool) -> Command:
    return ListRights(tag, name, *_mailbox_identifier(lx, utf8))


_SIMPLE: dict[str, type[Simple]] = {
    "CAPABILITY": Capability, "NOOP": Noop, "LOGOUT": Logout, "STARTTLS": StartTLS, "CHECK": Check,
    "CLOSE": Close, "UNSELECT": Unselect, "EXPUNGE": Expunge, "NAMESPACE": Namespace, "IDLE": Idle,
}
assert frozenset(_SIMPLE) == SIMPLE_COMMANDS
_MAILBOX_COMMANDS: dict[str, type[MailboxCommand]] = {
    "CREATE": Create, "DELETE": Delete, "SUBSCRIBE": Subscribe, "UNSUBSCRIBE": Unsubscribe,
    "GETQUOTAROOT": GetQuotaRoot, "GETACL": GetAcl, "MYRIGHTS": MyRights,
}
_PARSERS = {
    "LOGIN": _login, "AUTHENTICATE": _authenticate, "ID": _id, "ENABLE": _enable,
    "SELECT": _select, "EXAMINE": _select, "CREATE": _one_mailbox, "DELETE": _one_mailbox,
    "SUBSCRIBE": _one_mailbox, "UNSUBSCRIBE": _one_mailbox, "GETQUOTAROOT": _one_mailbox,
    "GETQUOTA": _getquota, "RENAME": _rename, "LIST": _list, "LSUB": _list, "STATUS": _status,
    "APPEND": _append, "SEARCH": _search, "FETCH": _fetch, "STORE": _store, "COPY": _copy,
    "MOVE": _copy, "GETACL": _one_mailbox, "MYRIGHTS": _one_mailbox, "SETACL": _setacl,
    "DELETEACL": _deleteacl, "LISTRIGHTS": _listrights, "SORT": _sort,
    "THREAD": _thread, "COMPRESS": _compress, "CANCELUPDATE": _cancelupdate,
    "NOTIFY": _notify,
}
_UID_PARSERS = {"SEARCH": _search, "SORT": _sort, "THREAD": _thread, "FETCH": _fetch, "STORE": _store, "COPY": _copy, "MOVE": _copy}
KNOWN_COMMANDS = frozenset(_PARSERS) | SIMPLE_COMMANDS | {"UID"}


def read_tag(data: bytes) -> str | None:
    """The tag of a command line, if it has a valid one (for error replies)."""
    try:
        return Lexer(data).tag_token()
    except ParseError:
        return None


def parse_command(data: bytes, *, utf8: bool = False) -> Command:
    """Parse one whole command (without its final CRLF)."""
    lx = Lexer(data)
    tag = lx.tag_token()
    lx.tag = tag
    lx.sp()
    name = lx.keyword()
    command: Command
    if name in SIMPLE_COMMANDS:
        command = _SIMPLE[name](tag, name)
    elif name == "UID":
        lx.sp()
        sub = lx.keyword()
        if sub == "EXPUNGE":  # RFC 4315 §2.1
            command = _uid_expunge(lx, tag, "UID EXPUNGE", utf8)
        elif sub in _UID_PARSERS:
            command = _UID_PARSERS[sub](lx, tag, sub, utf8, True)
        else:
            raise lx.error(f"unknown UID command {sub[:40]}")
    elif name in _PARSERS:
        command = _PARSERS[name](lx, tag, name, utf8)
    else:
        raise lx.error(f"unknown command {name[:40]}")
    lx.end()
    return command
