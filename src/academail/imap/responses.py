"""What the server says: named response texts and codes (RFC 3501 §7.1, RFC 5530),
and the encoders for strings, flags and mailbox names on the wire."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Iterable

from academail.imap.parsing import utf7

# Response codes (RFC 3501 §7.1, RFC 4315, RFC 5530, RFC 7162, RFC 7889, RFC 9208).
CODE_ALERT = "ALERT"
CODE_AUTHENTICATIONFAILED = "AUTHENTICATIONFAILED"
CODE_PRIVACYREQUIRED = "PRIVACYREQUIRED"
CODE_TRYCREATE = "TRYCREATE"
CODE_NONEXISTENT = "NONEXISTENT"
CODE_ALREADYEXISTS = "ALREADYEXISTS"
CODE_CANNOT = "CANNOT"
CODE_OVERQUOTA = "OVERQUOTA"
CODE_TOOBIG = "TOOBIG"
CODE_LIMIT = "LIMIT"
CODE_READ_ONLY = "READ-ONLY"
CODE_READ_WRITE = "READ-WRITE"
CODE_CLIENTBUG = "CLIENTBUG"
CODE_BADCHARSET = "BADCHARSET (UTF-8 US-ASCII)"
CODE_UNAVAILABLE = "UNAVAILABLE"
CODE_SERVERBUG = "SERVERBUG"
CODE_CLOSED = "CLOSED"
CODE_EXPUNGEISSUED = "EXPUNGEISSUED"
CODE_NOPERM = "NOPERM"  # RFC 5530 §3: the ACL does not allow it (RFC 4314)
CODE_NOTIFICATIONOVERFLOW = "NOTIFICATIONOVERFLOW"  # RFC 5465 §5.8
CODE_NOUPDATE = "NOUPDATE"  # RFC 5267 §4.3.1: followed by the search's tag, quoted

# Texts. Protocol replies are in English; what a person may read is also French.
GREETING = "academail IMAP ready / serveur IMAP academail prêt"
BYE_LOGOUT = "Logging out / déconnexion"
BYE_AUTOLOGOUT = "Autologout: idle for too long / déconnexion après 30 minutes d'inactivité"
BYE_TOO_LONG = "Command line too long / ligne de commande trop longue"
BYE_SLOW_READER = "Client does not read its responses"
BYE_SHUTDOWN = "Server shutting down / arrêt du serveur"
BYE_MAILBOX_GONE = "Selected mailbox was deleted / le dossier ouvert a été supprimé"
OK_DONE = "completed"
OK_STARTTLS = "Begin TLS negotiation now"
OK_IDLE = "idling"
NO_LOGIN_DISABLED = "Use STARTTLS or port 993 first / connexion chiffrée requise"
NO_AUTH_FAILED = "Authentication failed / identifiant ou mot de passe incorrect"
NO_AUTH_THROTTLED = (
    "Too many failed sign-ins, try again in {seconds} seconds / trop de tentatives de connexion "
    "échouées : réessayez dans {seconds} secondes"
)
NO_MECHANISM = "Unsupported authentication mechanism"
NO_NOT_ALLOWED = "Command not allowed in this state"
# RFC 5530 §3 [LIMIT]: refused because of a per-address or per-account cap.
BYE_TOO_MANY_FROM_ADDRESS = "Too many connections from your address / trop de connexions depuis votre adresse"
NO_TOO_MANY_FOR_ACCOUNT = "Too many connections to this account / trop de connexions ouvertes sur ce compte"
BAD_LINE_TOO_LONG = "Command line too long (64 KiB at most)"
BAD_LITERAL_TOO_BIG = "Literal too big"
BAD_AUTH_CANCELLED = "Authentication cancelled"
BAD_TLS_ACTIVE = "TLS already active"
NO_READ_ONLY = "Mailbox is read-only (EXAMINE)"
NO_ACCESS_ENDED = (
    "Access to this shared mailbox has ended / votre accès à cette boîte partagée a pris fin"
)
NO_UNKNOWN_IDENTIFIER = "No such identifier / identifiant inconnu"
NO_SERVER_ERROR = "Internal error, try again / erreur interne, réessayez"
# RFC 5267 §4.3.1 and §4.3.5: live (UPDATE) searches.
NO_TOO_MANY_CONTEXTS = "Too many updating searches, results not updated / trop de recherches suivies"
NO_CONTEXT_DROPPED = "Search no longer updated / la recherche n'est plus suivie"
NO_UNKNOWN_CONTEXT = "No updating search with that tag"
BAD_TAG_REUSE = "Tag reuse: an updating search already has this tag"
OK_NO_MORE_UPDATES = "No further updates"
OK_NOTIFICATION_OVERFLOW = "Too many changes: notifications stopped, resynchronise / trop de changements"

# Spellings NFKD does not reduce to ASCII; French quotes lose the spaces inside them.
_ASCII_SPELLINGS = str.maketrans({
    "«": '"', "»": '"', "’": "'", "‘": "'", "“": '"', "”": '"', "œ": "oe", "Œ": "OE", "æ": "ae",
    "Æ": "AE", "…": "...", "–": "-", "—": "-", "\u00a0": " ", "\u202f": " ",
})


def seven_bit(text: str) -> str:
    """Response text in 7-bit ASCII: RFC 3501 §9 ``text`` is TEXT-CHAR (7-bit);
    only after ENABLE UTF8=ACCEPT may it carry UTF-8 (RFC 6855 §3). French
    accents are transliterated ("é" -> "e") and « » become plain quotes."""
    if text.isascii():
        return text
    spaced = text.replace("« ", "«").replace("«\u00a0", "«").replace("«\u202f", "«")
    spaced = spaced.replace(" »", "»").replace("\u00a0»", "»").replace("\u202f»", "»")
    plain = unicodedata.normalize("NFKD", spaced.translate(_ASCII_SPELLINGS))
    return "".join(c for c in plain if not unicodedata.combining(c)).encode("ascii", "replace").decode("ascii")


SYSTEM_FLAGS = ("\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft")


def quoted(value: str | bytes) -> bytes:
    data = value.encode("utf-8") if isinstance(value, str) else value
    return b'"' + data.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'


# One regex scan instead of a Python loop per byte: string() runs about ten
# times per message in an ENVELOPE, so this is on the initial sync's hot path.
_NOT_QUOTABLE = re.compile(rb"[^\x20-\x7e]")
_NOT_ATOM = re.compile(rb'[^\x21-\x7e]|[(){%*"\\\]]')


_PLAIN_STR = re.compile(r'[\x20-\x21\x23-\x5b\x5d-\x7e]*')


def string(value: str | bytes) -> bytes:
    """A quoted string when safe, else a literal (8-bit, CR, LF, long values)."""
    if isinstance(value, str):
        # The common case (printable ASCII, no quote or backslash) in one C scan.
        if len(value) < 1000 and _PLAIN_STR.fullmatch(value) is not None:
            return b'"' + value.encode("ascii") + b'"'
        data = value.encode("utf-8", "surrogateescape")
    else:
        data = value
    if len(data) < 1000 and _NOT_QUOTABLE.search(data) is None:
        return quoted(data)
    return b"{%d}\r\n" % len(data) + data


def nstring(value: str | bytes | None) -> bytes:
    return b"NIL" if value is None else string(value)


def astring(value: str) -> bytes:
    data = value.encode("utf-8")
    if data and _NOT_ATOM.search(data) is None and data.upper() != b"NIL":
        return data
    return string(data)


def mailbox(name: str, *, utf8: bool) -> bytes:
    """A mailbox name on the wire: modified UTF-7 (RFC 3501 §5.1.3), or UTF-8 in
    a quoted string once UTF8=ACCEPT is enabled (RFC 6855 §3)."""
    if utf8:
        return quoted(name) if "\r" not in name and "\n" not in name else string(name)
    encoded = utf7.encode(name)
    return quoted(encoded)


def flag_list(names: Iterable[str]) -> bytes:
    return b"(" + " ".join(names).encode("utf-8") + b")"


_MONTHS = (b"", b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec")


def imap_date_time(value: dt.datetime) -> bytes:
    """INTERNALDATE (RFC 3501 §9 date-time) in the server's time zone.

    Formatted by hand: English month names whatever the locale (``%b`` is
    not), and no per-call lookup of the active time zone (a FETCH of a whole
    mailbox calls this once per message; the IMAP server never activates one)."""
    from django.utils import timezone

    local = value.astimezone(timezone.get_default_timezone()) if value.tzinfo else value
    offset = local.utcoffset()
    minutes = int(offset.total_seconds()) // 60 if offset is not None else 0
    sign = b"+" if minutes >= 0 else b"-"
    minutes = abs(minutes)
    return b'"%02d-%s-%04d %02d:%02d:%02d %s%02d%02d"' % (
        local.day, _MONTHS[local.month], local.year, local.hour, local.minute, local.second,
        sign, minutes // 60, minutes % 60,
    )


def number_set(numbers: Iterable[int]) -> str:
    """1,2,3,5 -> "1:3,5" (sorted input)."""
    out: list[str] = []
    start = prev = -2
    for n in numbers:
        if n == prev + 1:
            prev = n
            continue
        if start > 0:
            out.append(str(start) if start == prev else f"{start}:{prev}")
        start = prev = n
    if start > 0:
        out.append(str(start) if start == prev else f"{start}:{prev}")
    return ",".join(out)
