"""Deterministic demo mailbox content for `academail demo`.

This module owns the people and the messages a demo académie is seeded with:
a cast of French staff (accents, compound and particle surnames, homonyms) and,
for each account, a few dozen to a few hundred realistic messages spread over
the special-use folders and a few user folders. It is pure Python (stdlib only,
no database, no clock, no network): the same owner, seed and `now` always give
the same bytes, so a demo can be rebuilt identically and tests can pin it.

Messages are built with `email.message.EmailMessage` under the explicit
`email.policy.SMTP` policy (CRLF line endings, RFC 2047 headers, RFC 2231
filenames). Attachments are small but real files generated here: a one-page
PDF, a PNG, a semicolon CSV of grades and an iCalendar invitation.
"""

from __future__ import annotations

import csv
import html
import io
import random
import struct
import unicodedata
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from email import policy, utils
from email.header import Header
from email.headerregistry import Address
from email.message import EmailMessage
from typing import TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = [
    "DEMO_PEOPLE_SPEC",
    "DemoMessage",
    "DemoPerson",
    "demo_people",
    "generate_mailbox",
    "make_ics",
    "make_pdf",
    "make_png",
]

# SMTP policy: CRLF on the wire, as the store receives messages (STYLE §12).
_POLICY = policy.SMTP

try:
    _PARIS: tzinfo = ZoneInfo("Europe/Paris")
except ZoneInfoNotFoundError:  # pragma: no cover - systems without tzdata
    _PARIS = UTC

DEFAULT_DOMAIN = "ac-demo.fr"

_T = TypeVar("_T")


# ---------------------------------------------------------------------------
# People
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoPerson:
    """One demo account holder; `address` is decided by the caller."""

    first_name: str
    last_name: str
    role: str  # "staff" | "secretariat" | "support" | "admin"
    establishment: str  # e.g. "Collège Jean Moulin, Montpellier"
    address: str  # e.g. "jean.dupont@ac-demo.fr"

    @property
    def display_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


# (first name, last name, role, establishment). Chosen to exercise what real
# directories contain: accents, a compound first name, particles and
# apostrophes in surnames, and one pair of homonyms (two "Julie Martin").
DEMO_PEOPLE_SPEC: list[tuple[str, str, str, str]] = [
    ("Jean", "Dupont", "staff", "Collège Jean Moulin, Montpellier"),
    ("Julie", "Martin", "staff", "Collège Jean Moulin, Montpellier"),
    ("Hélène", "Bérard", "secretariat", "Collège Jean Moulin, Montpellier"),
    ("François", "Lefèvre", "staff", "Collège Jean Moulin, Montpellier"),
    ("Inès", "Benali", "staff", "Collège Jean Moulin, Montpellier"),
    ("Aïssatou", "N'Diaye", "staff", "Lycée Joffre, Montpellier"),
    ("Julie", "Martin", "secretariat", "Lycée Joffre, Montpellier"),
    ("Loïc", "Côté", "staff", "Lycée Joffre, Montpellier"),
    ("Marie-Claire", "Rousseau", "staff", "Lycée professionnel Jules Ferry, Sète"),
    ("Yann", "Le Gall", "support", "Rectorat de l'académie, DANE, Montpellier"),
    ("Émilie", "Chevalier", "support", "DSDEN de l'Hérault, Montpellier"),
    ("Jean-Pierre", "De La Fontaine", "admin", "Rectorat de l'académie, DSI, Montpellier"),
]

ROLES = ("staff", "secretariat", "support", "admin")

_FEMININE_FIRST_NAMES = frozenset(
    {
        "Julie", "Hélène", "Inès", "Aïssatou", "Marie-Claire", "Émilie", "Sophie",
        "Camille", "Chloé", "Léa", "Manon", "Sarah", "Nathalie", "Isabelle", "Céline",
        "Sandrine", "Valérie", "Zoé", "Jade", "Lina", "Maëlys", "Louise", "Anaïs",
        "Agnès", "Laure", "Fatou", "Yasmine", "Amandine",
    }
)


def _ascii_fold(text: str) -> str:
    text = text.replace("œ", "oe").replace("Œ", "Oe").replace("æ", "ae").replace("Æ", "Ae")
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def address_local_part(first_name: str, last_name: str) -> str:
    """`prenom.nom`: accents folded, spaces and apostrophes dropped, lower case."""

    def clean(part: str) -> str:
        folded = _ascii_fold(part).lower()
        return "".join(c for c in folded if c.isascii() and (c.isalnum() or c == "-"))

    return f"{clean(first_name)}.{clean(last_name)}"


def demo_people(domain: str = DEFAULT_DOMAIN) -> list[DemoPerson]:
    """The demo cast with `prenom.nom@domain` addresses; homonyms get 1, 2, ..."""
    seen: dict[str, int] = {}
    people: list[DemoPerson] = []
    for first, last, role, establishment in DEMO_PEOPLE_SPEC:
        local = address_local_part(first, last)
        n = seen.get(local, 0)
        seen[local] = n + 1
        if n:
            local = f"{local}{n}"
        people.append(DemoPerson(first, last, role, establishment, f"{local}@{domain}"))
    return people


# ---------------------------------------------------------------------------
# Small real attachments
# ---------------------------------------------------------------------------


def _pdf_string(text: str) -> bytes:
    raw = text.encode("cp1252", errors="replace")
    return b"(" + raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)") + b")"


def _wrap(text: str, width: int) -> list[str]:
    lines: list[str] = []
    for paragraph in text.split("\n"):
        current = ""
        for word in paragraph.split(" "):
            if current and len(current) + 1 + len(word) > width:
                lines.append(current)
                current = word
            else:
                current = f"{current} {word}" if current else word
        lines.append(current)
    return lines


def make_pdf(title: str, body: str) -> bytes:
    """A valid one-page PDF 1.4 (Helvetica, WinAnsi) showing `title` and `body`."""
    ops = [b"BT", b"/F1 16 Tf", b"56 780 Td", _pdf_string(title) + b" Tj", b"/F1 11 Tf", b"0 -30 Td"]
    for line in _wrap(body, 90)[:50]:
        ops.append(_pdf_string(line) + b" Tj")
        ops.append(b"0 -15 Td")
    ops.append(b"ET")
    stream = b"\n".join(ops)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Title " + _pdf_string(title) + b" /Producer (academail demo) >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets: list[int] = []
    for number, obj in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + obj + b"\nendobj\n"
    xref_at = len(out)
    out += b"xref\n0 %d\n" % (len(objects) + 1)
    out += b"0000000000 65535 f \n"
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R /Info 6 0 R >>\n" % (len(objects) + 1)
    out += b"startxref\n%d\n%%%%EOF\n" % xref_at
    return bytes(out)


def make_png(width: int, height: int, pixel: Callable[[int, int], tuple[int, int, int]]) -> bytes:
    """An 8-bit RGB PNG whose colour at (x, y) is `pixel(x, y)`."""

    def chunk(tag: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(tag + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", crc)

    rows = bytearray()
    for y in range(height):
        rows.append(0)  # filter type None
        for x in range(width):
            rows.extend(bytes(pixel(x, y)))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(bytes(rows), 9))
        + chunk(b"IEND", b"")
    )


def _logo_png() -> bytes:
    """Blue-white-red band and a grey name plate, like a ministry letterhead."""

    def pixel(x: int, y: int) -> tuple[int, int, int]:
        if x < 12:
            return (0, 0, 145)
        if x < 24:
            return (255, 255, 255)
        if x < 36:
            return (225, 0, 15)
        if 8 <= y < 32 and 44 <= x < 112 and (y // 4) % 2 == 0:
            return (60, 60, 60)
        return (255, 255, 255)

    return make_png(120, 40, pixel)


def _photo_png(tint: int) -> bytes:
    """A tiny landscape: sky gradient, a sun and a meadow."""

    def pixel(x: int, y: int) -> tuple[int, int, int]:
        if (x - 120) ** 2 + (y - 22) ** 2 < 140:
            return (255, 214, 64)
        if y < 70:
            return (90 + y, 150 + y, 235)
        return (40 + (x * 7 + tint) % 30, 140 + (y % 11) * 3, 50)

    return make_png(160, 110, pixel)


def _ics_escape(text: str) -> str:
    return (
        text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")
    )


def _ics_fold(line: str) -> str:
    # RFC 5545 §3.1: lines longer than 75 octets are folded, never inside a UTF-8 sequence.
    out: list[str] = []
    current = ""
    limit = 75
    for char in line:
        if len((current + char).encode("utf-8")) > limit:
            out.append(current)
            current = " " + char
            limit = 75
        else:
            current += char
    out.append(current)
    return "\r\n".join(out)


def make_ics(
    *,
    uid: str,
    summary: str,
    location: str,
    description: str,
    start: datetime,
    end: datetime,
    stamp: datetime,
    organizer: tuple[str, str],
    attendees: Sequence[tuple[str, str]],
) -> bytes:
    """An iTIP REQUEST (RFC 5546) with one event in Europe/Paris time."""
    fmt_local = "%Y%m%dT%H%M%S"
    lines = [
        "BEGIN:VCALENDAR",
        "PRODID:-//Académie de démonstration//academail//FR",
        "VERSION:2.0",
        "CALSCALE:GREGORIAN",
        "METHOD:REQUEST",
        "BEGIN:VTIMEZONE",
        "TZID:Europe/Paris",
        "BEGIN:DAYLIGHT",
        "TZOFFSETFROM:+0100",
        "TZOFFSETTO:+0200",
        "TZNAME:CEST",
        "DTSTART:19700329T020000",
        "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU",
        "END:DAYLIGHT",
        "BEGIN:STANDARD",
        "TZOFFSETFROM:+0200",
        "TZOFFSETTO:+0100",
        "TZNAME:CET",
        "DTSTART:19701025T030000",
        "RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU",
        "END:STANDARD",
        "END:VTIMEZONE",
        "BEGIN:VEVENT",
        f"UID:{uid}",
        f"DTSTAMP:{stamp.astimezone(UTC):%Y%m%dT%H%M%SZ}",
        f"DTSTART;TZID=Europe/Paris:{start.astimezone(_PARIS).strftime(fmt_local)}",
        f"DTEND;TZID=Europe/Paris:{end.astimezone(_PARIS).strftime(fmt_local)}",
        f"SUMMARY:{_ics_escape(summary)}",
        f"LOCATION:{_ics_escape(location)}",
        f"DESCRIPTION:{_ics_escape(description)}",
        f'ORGANIZER;CN="{organizer[0]}":mailto:{organizer[1]}',
    ]
    for name, email in attendees:
        lines.append(
            f'ATTENDEE;CN="{name}";ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:{email}'
        )
    lines += ["STATUS:CONFIRMED", "SEQUENCE:0", "END:VEVENT", "END:VCALENDAR"]
    return ("\r\n".join(_ics_fold(line) for line in lines) + "\r\n").encode("utf-8")


# ---------------------------------------------------------------------------
# French vocabulary
# ---------------------------------------------------------------------------

_DAYS = ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"]
_MONTHS = [
    "janvier", "février", "mars", "avril", "mai", "juin",
    "juillet", "août", "septembre", "octobre", "novembre", "décembre",
]

_CHILD_FIRST = [
    ("Lucas", "M"), ("Emma", "F"), ("Hugo", "M"), ("Chloé", "F"), ("Nathan", "M"),
    ("Léa", "F"), ("Mathéo", "M"), ("Manon", "F"), ("Noah", "M"), ("Zoé", "F"),
    ("Adam", "M"), ("Jade", "F"), ("Rayan", "M"), ("Lina", "F"), ("Timéo", "M"),
    ("Maëlys", "F"), ("Enzo", "M"), ("Louise", "F"), ("Yanis", "M"), ("Anaïs", "F"),
    ("Théo", "M"), ("Inaya", "F"), ("Gabriel", "M"), ("Camille", "F"),
]
_FAMILY_NAMES = [
    "Moreau", "Garcia", "Fournier", "Girard", "Bonnet", "Mercier", "Faure", "Blanc",
    "Guérin", "Muller", "Roux", "Benhamou", "Nguyen", "Da Silva", "Lefebvre", "Dubois",
    "Boyer", "Chauvin", "Perrin", "Haddad", "Gauthier", "Le Bihan", "Mallet", "Ferreira",
    "Aubert", "Brunet", "Lemaître", "Traoré",
]
_ADULT_FIRST = [
    ("Nathalie", "F"), ("Stéphane", "M"), ("Isabelle", "F"), ("Christophe", "M"),
    ("Céline", "F"), ("Frédéric", "M"), ("Sandrine", "F"), ("Sébastien", "M"),
    ("Valérie", "F"), ("Karim", "M"), ("Amandine", "F"), ("Jérôme", "M"),
    ("Fatou", "F"), ("Grégory", "M"), ("Agnès", "F"), ("Rémi", "M"),
]
_ISPS = [
    "gmail.com", "orange.fr", "free.fr", "laposte.net", "sfr.fr", "hotmail.fr",
    "wanadoo.fr", "yahoo.fr", "outlook.fr",
]
_ISP_MX = {
    "gmail.com": "mail-wr1-f54.google.com",
    "orange.fr": "smtp-out.orange.fr",
    "wanadoo.fr": "smtp-out.orange.fr",
    "free.fr": "smtp5-g21.free.fr",
    "laposte.net": "smtp.laposte.net",
    "sfr.fr": "smtp-out.sfr.fr",
    "hotmail.fr": "mail-eur05.outbound.protection.outlook.com",
    "outlook.fr": "mail-eur05.outbound.protection.outlook.com",
    "yahoo.fr": "sonic.mail.ir2.yahoo.com",
}
_SUBJECTS = [
    "mathématiques", "français", "histoire-géographie", "anglais", "SVT",
    "physique-chimie", "technologie", "EPS", "éducation musicale", "arts plastiques",
]
_ROOMS = ["salle 104", "salle 108", "salle 204", "salle 212", "le CDI", "la salle polyvalente"]
_CLASSES = ["6eA", "6eC", "5eB", "5eD", "4eA", "4eC", "3eA", "3eB", "3eD"]
_MAILERS = [
    "Mozilla Thunderbird 115.8",
    "Microsoft Outlook 16.0",
    "Roundcube Webmail/1.6.6",
    "Apple Mail (2.3774)",
    "K-9 Mail for Android",
]


def _upper_first(text: str) -> str:
    return text[:1].upper() + text[1:]


def _fr_day(d: datetime) -> str:
    """'jeudi 14 mars'"""
    day = "1er" if d.day == 1 else str(d.day)
    return f"{_DAYS[d.weekday()]} {day} {_MONTHS[d.month - 1]}"


def _fr_numeric(d: datetime) -> str:
    return f"{d:%d/%m/%Y} à {d:%H:%M}"


def _trimester(d: datetime) -> str:
    if d.month in (9, 10, 11, 12):
        return "1er"
    if d.month in (1, 2, 3):
        return "2e"
    return "3e"


def _school_year(d: datetime) -> str:
    start = d.year if d.month >= 8 else d.year - 1
    return f"{start}-{start + 1}"


# ---------------------------------------------------------------------------
# Messages
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoMessage:
    """One message to append: folder key or user folder path, bytes and flags."""

    folder: str  # "inbox" | "sent" | "drafts" | "trash" | "junk" | "archive" | "Réunions" ...
    raw: bytes  # RFC 5322, CRLF line endings
    seen: bool
    flagged: bool
    answered: bool
    draft: bool
    internaldate: datetime  # aware


@dataclass(frozen=True)
class _Contact:
    name: str
    email: str
    feminine: bool = False

    @property
    def address(self) -> Address:
        return Address(display_name=self.name, addr_spec=self.email)

    @property
    def first(self) -> str:
        return self.name.split(" ")[0]

    @property
    def last(self) -> str:
        return self.name.split(" ", 1)[-1]

    @property
    def civility(self) -> str:
        return "Madame" if self.feminine else "Monsieur"

    @property
    def title(self) -> str:
        return "Mme" if self.feminine else "M."


@dataclass(frozen=True)
class _Family:
    child_first: str
    child_last: str
    girl: bool
    parent: _Contact

    @property
    def child(self) -> str:
        return f"{self.child_first} {self.child_last}"


@dataclass(frozen=True)
class _Attachment:
    filename: str
    data: bytes | EmailMessage
    maintype: str = "application"
    subtype: str = "octet-stream"
    params: Mapping[str, str] = field(default_factory=dict)


@dataclass
class _Item:
    folder: str
    msg: EmailMessage
    date: datetime
    text: str
    sender: _Contact
    subject: str
    internaldate: datetime
    seen: bool | None = None
    flagged: bool | None = None
    answered: bool = False
    draft: bool = False


def _address_list(name: str, contacts: Sequence[_Contact]) -> str:
    """An address-list field body, RFC 2047-encoded and folded at 78 columns.

    Written by hand because CPython 3.11's refolding can swallow the comma between
    two addresses into an encoded word when a non-ASCII display name starts a new
    line (gh-100884), which makes readers see one invalid address.
    """
    words: list[str] = []
    for index, contact in enumerate(contacts):
        if contact.name.isascii():
            formatted = utils.formataddr((contact.name, contact.email))
        else:
            encoded = Header(contact.name, "utf-8", maxlinelen=76).encode()
            formatted = f"{' '.join(encoded.split())} <{contact.email}>"
        if index < len(contacts) - 1:
            formatted += ","
        words.extend(formatted.split(" "))
    lines: list[str] = []
    current = f"{name}:"
    for word in words:
        if len(current) + 1 + len(word) > 78 and current.strip() != f"{name}:":
            lines.append(current)
            current = " " + word
        else:
            current += " " + word
    lines.append(current)
    return "\n".join(lines)[len(name) + 2:]


def _strip_prefix(subject: str) -> str:
    while True:
        low = subject.lower()
        for prefix in ("re:", "re :", "tr:", "tr :", "fwd:", "fw:"):
            if low.startswith(prefix):
                subject = subject[len(prefix):].lstrip()
                break
        else:
            return subject


def _html_page(title: str, paragraphs: Sequence[str], *, logo_cid: str | None = None,
               button: tuple[str, str] | None = None, footer: str = "") -> str:
    parts = [
        "<!DOCTYPE html>",
        '<html lang="fr"><head><meta charset="utf-8"><title>' + html.escape(title) + "</title></head>",
        '<body style="margin:0;background:#f5f5fe;font-family:Marianne,Arial,sans-serif;'
        'font-size:15px;color:#161616">',
        '<div style="max-width:600px;margin:0 auto;background:#ffffff;padding:24px">',
    ]
    if logo_cid:
        parts.append(
            f'<img src="cid:{logo_cid}" alt="Académie de démonstration" width="120" height="40"'
            ' style="display:block;margin-bottom:16px">'
        )
    parts.append(
        '<h1 style="font-size:20px;color:#000091;margin:0 0 16px">' + html.escape(title) + "</h1>"
    )
    for paragraph in paragraphs:
        escaped = html.escape(paragraph).replace("\n", "<br>")
        parts.append(f'<p style="line-height:1.5;margin:0 0 12px">{escaped}</p>')
    if button:
        label, href = button
        parts.append(
            f'<p style="text-align:center;margin:24px 0"><a href="{html.escape(href)}" '
            'style="background:#000091;color:#ffffff;padding:12px 24px;text-decoration:none;'
            f'border-radius:4px;font-weight:bold">{html.escape(label)}</a></p>'
        )
    if footer:
        parts.append(
            '<p style="font-size:12px;color:#666666;border-top:1px solid #dddddd;padding-top:12px">'
            + html.escape(footer).replace("\n", "<br>")
            + "</p>"
        )
    parts.append("</div></body></html>")
    return "\n".join(parts)


class _MailboxBuilder:
    """Writes one account's mailbox; every random choice goes through `self.rng`."""

    def __init__(self, owner: DemoPerson, others: Sequence[DemoPerson], seed: int, now: datetime):
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        self.rng = random.Random(f"academail-demo:{seed}:{owner.address}")
        self.owner = owner
        self.me = self._contact(owner)
        self.domain = owner.address.rpartition("@")[2] or DEFAULT_DOMAIN
        self.now = now.astimezone(_PARIS)
        self.items: list[_Item] = []

        pieces = [p.strip() for p in owner.establishment.split(",")]
        self.school = pieces[0] or "Établissement"
        self.city = pieces[-1] if len(pieces) > 1 else "Montpellier"
        uai_digits = zlib.crc32(self.school.encode("utf-8")) % 10000
        self.uai = f"034{uai_digits:04d}{'abcdefghjklmnprstuvwxyz'[uai_digits % 23]}"

        colleagues = [self._contact(p) for p in others if p.address != owner.address]
        if not colleagues:
            colleagues = [
                _Contact("Sophie Garnier", f"sophie.garnier@{self.domain}", True),
                _Contact("Marc Olivier", f"marc.olivier@{self.domain}"),
            ]
        near = [
            self._contact(p) for p in others
            if p.address != owner.address and p.establishment == owner.establishment
        ]
        self.colleagues = colleagues
        self.near = near or colleagues

        d = self.domain
        if self.school.startswith("Collège"):
            self.head_title = "Le principal"
        elif self.school.startswith("Lycée"):
            self.head_title = "Le proviseur"
        else:
            self.head_title = "La direction"
        head = self.head_title.split(" ", 1)[1].capitalize()
        self.direction = _Contact(f"{head} – {self.school}", f"ce.{self.uai}@{d}")
        self.teaches = owner.role == "staff"
        self.secretariat = _Contact(f"Secrétariat – {self.school}", f"secretariat.{self.uai}@{d}", True)
        self.staff_list = _Contact(f"Personnels – {self.school}", f"personnels.{self.uai}@{d}")
        self.rectorat = _Contact("Rectorat – Secrétariat général", f"sg@{d}")
        self.dsden = _Contact("DSDEN de l'Hérault – Division des élèves", f"ce.dsden34-de@{d}")
        self.drh = _Contact("Rectorat – DRH, gestion des personnels", f"drh@{d}")
        self.dane = _Contact("DANE – Délégation au numérique éducatif", f"dane@{d}")
        self.eafc = _Contact("EAFC – École académique de la formation continue", f"eafc@{d}")
        self.postmaster = _Contact("Messagerie académique", f"postmaster@{d}")
        self.ent = _Contact("ENT – Mon espace numérique", f"ne-pas-repondre@ent.{d}")
        self.pronote = _Contact("PRONOTE", f"ne-pas-repondre@pronote.{d}")

        self.families = self._families(10)
        self.roster = self._roster()

    # -- helpers ---------------------------------------------------------------

    @staticmethod
    def _contact(person: DemoPerson) -> _Contact:
        return _Contact(person.display_name, person.address, person.first_name in _FEMININE_FIRST_NAMES)

    def _pick(self, options: Sequence[_T]) -> _T:
        return options[self.rng.randrange(len(options))]

    def _families(self, n: int) -> list[_Family]:
        names = self.rng.sample(_FAMILY_NAMES, n)
        children = self.rng.sample(_CHILD_FIRST, n)
        families: list[_Family] = []
        for last, (child, gender) in zip(names, children, strict=True):
            first, pgender = self._pick(_ADULT_FIRST)
            isp = self._pick(_ISPS)
            local = self._pick([
                address_local_part(first, last),
                address_local_part(first[0], last) + str(self.rng.randint(30, 99)),
                "famille." + address_local_part("", last).lstrip("."),
                address_local_part(last, first).replace(".", "_"),
            ])
            parent = _Contact(f"{first} {last}", f"{local}@{isp}", pgender == "F")
            families.append(_Family(child, last, gender == "F", parent))
        return families

    def _roster(self) -> list[tuple[str, str]]:
        students = [(f.child_last.upper(), f.child_first) for f in self.families]
        extra_last = [n for n in _FAMILY_NAMES if n not in {f.child_last for f in self.families}]
        extra_first = [c for c, _ in _CHILD_FIRST if c not in {f.child_first for f in self.families}]
        for last, first in zip(
            self.rng.sample(extra_last, 14), self.rng.sample(extra_first, 14), strict=True
        ):
            students.append((last.upper(), first))
        return sorted(students)

    def _when(self, *, min_days: float = 0.0, max_days: float = 180.0, human: bool = True,
              recent_bias: bool = True) -> datetime:
        """A date between `max_days` ago and `min_days` ago, in office hours if `human`."""
        rng = self.rng
        if recent_bias and min_days < 3 and rng.random() < 0.12:
            age = rng.uniform(min_days, min(3.0, max_days))
        else:
            age = min_days + (max_days - min_days) * rng.random() ** 1.2
        latest = self.now - timedelta(days=min_days, minutes=3)
        t = (self.now.astimezone(UTC) - timedelta(days=age)).astimezone(_PARIS)
        if human:
            t = t.replace(hour=rng.randint(7, 19), minute=rng.randrange(60), second=rng.randrange(60))
            if t.weekday() >= 5 and rng.random() < 0.85:
                t -= timedelta(days=t.weekday() - 4)
        else:
            t = t.replace(second=rng.randrange(60))
        if t > latest:
            t = (latest.astimezone(UTC) - timedelta(minutes=rng.randint(1, 90))).astimezone(_PARIS)
        return t.replace(microsecond=0)

    def _after(self, t: datetime, lo_minutes: int, hi_minutes: int) -> datetime:
        """A reply time after `t`: people answer between 7 h and 22 h, never after `now`."""
        later = (t.astimezone(UTC) + timedelta(minutes=self.rng.randint(lo_minutes, hi_minutes),
                                               seconds=self.rng.randrange(60))).astimezone(_PARIS)
        if later.hour >= 22:
            later = (later + timedelta(days=1)).replace(hour=7)
        if later.hour < 7:
            later = later.replace(hour=7 + self.rng.randrange(2), minute=self.rng.randrange(60))
        return max(min(later, self.now), t).replace(microsecond=0)

    def _future(self, t: datetime, lo_days: int, hi_days: int, hour: int) -> datetime:
        d = t + timedelta(days=self.rng.randint(lo_days, hi_days))
        while d.weekday() >= 5:
            d += timedelta(days=1)
        return d.replace(hour=hour, minute=0, second=0, microsecond=0)

    def _message_id(self, sender: _Contact, date: datetime) -> str:
        host = sender.email.rpartition("@")[2]
        return f"<{date.astimezone(UTC):%Y%m%d%H%M%S}.{self.rng.getrandbits(48):012x}@{host}>"

    def _signature(self) -> str:
        label = {
            "staff": f"Professeur – {self.school}",
            "secretariat": f"Secrétariat de direction – {self.school}",
            "support": "Assistance informatique académique",
            "admin": "Administration de la messagerie académique",
        }.get(self.owner.role, self.school)
        return f"-- \n{self.me.name}\n{label}\n{self.city}"

    def _cid(self, stem: str) -> str:
        return f"{stem}.{self.rng.getrandbits(32):08x}@{self.domain}"

    # -- building -----------------------------------------------------------------

    def _compose(
        self,
        *,
        sender: _Contact,
        to: Sequence[_Contact],
        subject: str,
        date: datetime,
        text: str,
        cc: Sequence[_Contact] = (),
        html_body: str | None = None,
        inline: Sequence[tuple[str, bytes, str]] = (),
        attachments: Sequence[_Attachment] = (),
        parent: _Item | None = None,
        headers: Mapping[str, str] | None = None,
        received_at: datetime | None = None,
    ) -> EmailMessage:
        """The message as `sender` wrote it; `received_at` adds our MX's Received line."""
        msg = EmailMessage(policy=_POLICY)
        sender_domain = sender.email.rpartition("@")[2]
        if received_at is not None:
            if sender_domain == self.domain:
                relay = f"submission.{self.domain}"
                ip = f"10.34.{self.rng.randint(0, 9)}.{self.rng.randint(2, 250)}"
            else:
                relay = _ISP_MX.get(sender_domain, f"smtp.{sender_domain}")
                ip = f"{self._pick(['192.0.2', '198.51.100', '203.0.113'])}.{self.rng.randint(2, 250)}"
            msg["Received"] = (
                f"from {relay} ({relay} [{ip}]) by mx.{self.domain} (academail) with ESMTPS "
                f"id {self.rng.getrandbits(40):010X} for <{self.owner.address}>; "
                f"{utils.format_datetime(received_at)}"
            )
        msg["From"] = str(sender.address)
        msg.set_raw("To", _address_list("To", to))
        if cc:
            msg.set_raw("Cc", _address_list("Cc", cc))
        msg["Subject"] = subject
        msg["Date"] = utils.format_datetime(date)
        msg["Message-ID"] = self._message_id(sender, date)
        if parent is not None:
            # RFC 5322 §3.6.4: References is the parent's References plus its Message-ID.
            parent_id = str(parent.msg["Message-ID"])
            refs = str(parent.msg.get("References", "")).split()
            msg["In-Reply-To"] = parent_id
            msg["References"] = " ".join([*refs, parent_id])
        for name, value in (headers or {}).items():
            msg[name] = value
        if not headers and self.rng.random() < 0.5:
            msg["User-Agent"] = self._pick(_MAILERS)

        text = text.rstrip("\n") + "\n"
        msg.set_content(text, cte="7bit" if text.isascii() else "quoted-printable")
        if html_body is not None:
            msg.add_alternative(html_body, subtype="html", cte="quoted-printable")
            if inline:
                html_part = msg.get_body(("html",))
                assert html_part is not None
                for cid, data, filename in inline:
                    html_part.add_related(
                        data, maintype="image", subtype="png", cid=f"<{cid}>",
                        disposition="inline", filename=filename,
                    )
        for att in attachments:
            if isinstance(att.data, EmailMessage):
                msg.add_attachment(att.data, filename=att.filename)
            else:
                msg.add_attachment(
                    att.data, maintype=att.maintype, subtype=att.subtype,
                    filename=att.filename, params=dict(att.params),
                )
        # The generator would draw boundaries from the global `random`; fix them here.
        for part in msg.walk():
            if part.get_content_maintype() == "multipart":
                part.set_boundary(f"=_demo_{self.rng.getrandbits(64):016x}")
        return msg

    def _send(
        self,
        folder: str,
        *,
        sender: _Contact,
        to: Sequence[_Contact],
        subject: str,
        date: datetime,
        text: str,
        cc: Sequence[_Contact] = (),
        html_body: str | None = None,
        inline: Sequence[tuple[str, bytes, str]] = (),
        attachments: Sequence[_Attachment] = (),
        parent: _Item | None = None,
        headers: Mapping[str, str] | None = None,
        seen: bool | None = None,
        flagged: bool | None = None,
        draft: bool = False,
    ) -> _Item:
        """Compose a message and file it in `folder`; returns the item for threading."""
        received_at = None
        if sender != self.me:
            received_at = min(date + timedelta(seconds=self.rng.randint(1, 40)), self.now)
        msg = self._compose(
            sender=sender, to=to, subject=subject, date=date, text=text, cc=cc,
            html_body=html_body, inline=inline, attachments=attachments, parent=parent,
            headers=headers, received_at=received_at,
        )
        item = _Item(folder=folder, msg=msg, date=date, text=text, sender=sender, subject=subject,
                     internaldate=received_at or date, seen=seen, flagged=flagged, draft=draft)
        if folder:
            self.items.append(item)
        return item

    def _reply(self, parent: _Item, *, sender: _Contact, text: str, date: datetime, folder: str,
               to: Sequence[_Contact] | None = None, cc: Sequence[_Contact] = (),
               outlook: bool = False, attachments: Sequence[_Attachment] = ()) -> _Item:
        subject = "Re: " + _strip_prefix(parent.subject)
        quoted = "\n".join(("> " + line) if line else ">" for line in parent.text.rstrip("\n").split("\n"))
        if outlook:
            body = (
                f"{text}\n\n"
                f"De : {parent.sender.name} <{parent.sender.email}>\n"
                f"Envoyé : {_fr_day(parent.date)} {parent.date:%Y %H:%M}\n"
                f"Objet : {parent.subject}\n\n{parent.text}"
            )
            subject = "RE: " + _strip_prefix(parent.subject)
        else:
            body = f"{text}\n\nLe {_fr_numeric(parent.date)}, {parent.sender.name} a écrit :\n{quoted}"
        recipients = list(to) if to is not None else [parent.sender]
        item = self._send(folder, sender=sender, to=recipients, cc=cc, subject=subject, date=date,
                          text=body, parent=parent, attachments=attachments)
        if sender == self.me:
            parent.answered = True
            parent.seen = True
        return item

    def _forward_inline(self, original: _Item, *, sender: _Contact, to: Sequence[_Contact],
                        note: str, date: datetime, folder: str) -> _Item:
        o = original.msg
        body = (
            f"{note}\n\n-------- Message transféré --------\n"
            f"Sujet : {original.subject}\n"
            f"Date : {_fr_day(original.date)} {original.date:%Y %H:%M}\n"
            f"De : {original.sender.name} <{original.sender.email}>\n"
            f"Pour : {o['To']}\n\n{original.text}"
        )
        return self._send(folder, sender=sender, to=to, subject="TR: " + _strip_prefix(original.subject),
                          date=date, text=body)

    def _detached(self, *, sender: _Contact, to: Sequence[_Contact], subject: str, date: datetime,
                  text: str) -> _Item:
        """A message that is not itself in the mailbox (forwarded as message/rfc822)."""
        return self._send("", sender=sender, to=to, subject=subject, date=date, text=text)

    # -- attachment factories ------------------------------------------------------

    def _pdf(self, filename: str, title: str, body: str) -> _Attachment:
        return _Attachment(filename, make_pdf(title, body), "application", "pdf")

    def _grades_csv(self, cls: str) -> _Attachment:
        buf = io.StringIO()
        writer = csv.writer(buf, delimiter=";", lineterminator="\r\n")
        columns = ["Français", "Mathématiques", "Histoire-géographie", "Anglais", "SVT"]
        writer.writerow(["Nom", "Prénom", *columns, "Moyenne", "Appréciation"])
        remarks = [
            "Très bon trimestre, continuez ainsi.",
            "Ensemble satisfaisant ; la participation orale doit progresser.",
            "Des efforts, mais un travail personnel encore irrégulier.",
            "Résultats fragiles : il faut s'investir davantage.",
            "Excellent trimestre. Félicitations.",
            "Bon travail dans l'ensemble.",
        ]
        for last, first in self.roster:
            marks = [round(self.rng.uniform(6, 19.5) * 2) / 2 for _ in columns]
            mean = sum(marks) / len(marks)
            writer.writerow([
                last, first, *(f"{m:.1f}".replace(".", ",") for m in marks),
                f"{mean:.2f}".replace(".", ","), self._pick(remarks),
            ])
        data = buf.getvalue().encode("utf-8-sig")
        return _Attachment(f"Notes_{cls}_élèves.csv", data, "text", "csv", {"charset": "utf-8"})

    def _ics(self, *, summary: str, location: str, description: str, start: datetime,
             minutes: int, stamp: datetime, organizer: _Contact,
             attendees: Sequence[_Contact]) -> _Attachment:
        data = make_ics(
            uid=f"{self.rng.getrandbits(64):016x}@{self.domain}",
            summary=summary, location=location, description=description,
            start=start, end=start + timedelta(minutes=minutes), stamp=stamp,
            organizer=(organizer.name, organizer.email),
            attendees=[(a.name, a.email) for a in attendees],
        )
        return _Attachment("invitation.ics", data, "text", "calendar",
                           {"method": "REQUEST", "charset": "utf-8"})

    # -- scenarios: each produces between 1 and `room` messages -----------------------

    def sc_circular(self, room: int, folder: str = "inbox", restricted: bool = False) -> None:
        t = self._when()
        year = _school_year(t)
        circulars = [
            ("Mouvement intra-académique {year} : ouverture du serveur SIAM",
             "Le serveur SIAM sera ouvert du {d1} au {d2} inclus. Les personnels concernés "
             "trouveront ci-joint la circulaire académique et le calendrier des opérations.",
             "Circulaire mouvement intra-académique.pdf"),
            ("Campagne des rendez-vous de carrière – année scolaire {year}",
             "La campagne des rendez-vous de carrière débute le {d1}. Les agents concernés "
             "recevront leur convocation via l'application SIAE au moins quinze jours avant l'entretien.",
             "Rendez-vous de carrière – calendrier.pdf"),
            ("Diplôme national du brevet : inscriptions des candidats",
             "Les inscriptions au DNB seront ouvertes du {d1} au {d2}. Les chefs d'établissement "
             "veilleront à la vérification des épreuves choisies et des aménagements d'épreuves.",
             "DNB – note de cadrage académique.pdf"),
            ("Journée de solidarité : modalités pour les personnels",
             "Conformément à la réglementation, la journée de solidarité est fixée le {d1}. "
             "Les modalités d'organisation sont précisées dans la note jointe.",
             "Note – journée de solidarité.pdf"),
            ("Campagne de vaccination contre les papillomavirus en classe de 5e",
             "En lien avec l'agence régionale de santé, une campagne de vaccination se déroulera "
             "dans les collèges à partir du {d1}. Les autorisations parentales sont à collecter.",
             "Vaccination HPV – information aux familles.pdf"),
        ]
        restricted_ones = [
            ("Protocole de sécurité : exercice PPMS « attentat-intrusion »",
             "Un exercice PPMS attentat-intrusion devra être réalisé avant le {d2}. Le scénario "
             "ne doit pas être communiqué aux élèves ni aux familles.",
             "PPMS – consignes académiques.pdf"),
            ("Plan Vigipirate : mesures applicables dans les établissements",
             "Le niveau « urgence attentat » est maintenu. Les mesures ci-jointes s'appliquent "
             "dès réception, notamment le contrôle visuel des sacs aux entrées.",
             "Vigipirate – mesures établissements.pdf"),
        ]
        subject, body, filename = self._pick(restricted_ones if restricted else circulars)
        d1 = self._future(t, 5, 15, 8)
        d2 = self._future(d1, 10, 20, 8)
        fill = {"year": year, "d1": _fr_day(d1), "d2": _fr_day(d2)}
        subject = subject.format(**fill)
        body = body.format(**fill)
        sender = self._pick([self.rectorat, self.dsden, self.drh])
        ref = f"{t.year}-{self.rng.randint(10, 250):03d}"
        if restricted:
            subject = "DIFFUSION RESTREINTE – " + subject
            body = ("DIFFUSION RESTREINTE – Ce message ne doit pas être transféré en dehors des "
                    "personnels destinataires.\n\n" + body)
        text = (
            f"Mesdames et Messieurs les chefs d'établissement,\nMesdames et Messieurs les personnels,\n\n"
            f"{body}\n\nRéférence : circulaire n° {ref}\n\n"
            f"Pour le recteur et par délégation,\nLa secrétaire générale de l'académie\n\n"
            f"-- \n{sender.name}\nRectorat de l'académie de démonstration"
        )
        headers = {"Sensitivity": "Company-Confidential"} if restricted else {}
        self._send(folder, sender=sender, to=[self.staff_list], subject=subject, date=t, text=text,
                   attachments=[self._pdf(filename, subject, body + f"\n\nRéférence : {ref}")],
                   headers=headers, flagged=restricted or self.rng.random() < 0.15)

    def sc_parent_thread(self, room: int, folder: str = "Parents") -> None:
        fam = self._pick(self.families)
        me = self.me
        t0 = self._when(min_days=0.5)
        absence_day = self._future(t0, 1, 4, 8)
        child = fam.child_first
        e = "e" if fam.girl else ""
        my_child = "ma fille" if fam.girl else "mon fils"
        if self.owner.role == "secretariat":
            templates = [
                (f"Demande de certificat de scolarité pour {fam.child}",
                 f"Bonjour,\n\nPourriez-vous me faire parvenir un certificat de scolarité pour {my_child} "
                 f"{fam.child}, en classe de 3eB ? Il m'est demandé par la CAF.\n\nMerci d'avance,\n{fam.parent.name}",
                 "Bonjour,\n\nVous trouverez ci-joint le certificat de scolarité demandé.\n\nBien cordialement,",
                 "Merci beaucoup, c'est parfait.\n\nBonne journée,"),
                ("Dossier de bourse de collège",
                 f"Bonjour,\n\nJ'ai déposé le dossier de bourse de {my_child} la semaine dernière mais "
                 f"je n'ai pas eu de confirmation. Pouvez-vous me dire s'il est complet ?\n\nCordialement,\n{fam.parent.name}",
                 "Bonjour,\n\nLe dossier est bien arrivé. Il manque l'avis d'imposition : vous pouvez le "
                 "déposer au secrétariat ou le téléverser sur le portail Scolarité services.\n\nCordialement,",
                 "Merci, je le dépose demain matin."),
                (f"Changement d'adresse – {fam.child}",
                 f"Madame, Monsieur,\n\nNous avons déménagé. Pouvez-vous mettre à jour l'adresse de {fam.child} "
                 f"dans le dossier scolaire ? Nouvelle adresse : 12, rue des Tilleuls, 34000 {self.city}.\n\n"
                 f"Bien cordialement,\n{fam.parent.name}",
                 "Bonjour,\n\nLa modification est faite. Pensez aussi à mettre à jour vos coordonnées "
                 "dans EduConnect.\n\nCordialement,",
                 "Merci pour votre aide."),
            ]
        elif self.owner.role in ("support", "admin"):
            templates = [
                ("Impossible de me connecter à l'ENT avec EduConnect",
                 f"Bonjour,\n\nDepuis lundi, je n'arrive plus à me connecter à l'ENT pour suivre la scolarité "
                 f"de {my_child} {child} : message « identifiant ou mot de passe incorrect ».\n\nMerci,\n{fam.parent.name}",
                 "Bonjour,\n\nVotre compte EduConnect était bloqué après plusieurs essais. Il est débloqué ; "
                 "utilisez « Mot de passe oublié » pour en choisir un nouveau.\n\nCordialement,",
                 "Ça fonctionne de nouveau, merci !"),
                ("Code d'activation du compte parent",
                 f"Bonjour,\n\nJe n'ai jamais reçu le code d'activation de mon compte parent pour {child}. "
                 f"Pouvez-vous me le renvoyer ?\n\n{fam.parent.name}",
                 "Bonjour,\n\nLe code d'activation est envoyé par l'établissement. Je transmets votre "
                 "demande au secrétariat, qui vous recontactera.\n\nCordialement,",
                 "D'accord, merci."),
            ]
        else:
            templates = [
                (f"Absence de {child} le {_fr_day(absence_day)}",
                 f"Bonjour {me.civility} {me.last},\n\nJe vous informe que {my_child} {child} sera absent{e} "
                 f"pour un rendez-vous médical. Pourriez-vous m'indiquer le travail à rattraper ?\n\n"
                 f"Cordialement,\n{fam.parent.name}",
                 f"Bonjour {fam.parent.title} {fam.parent.last},\n\nMerci pour l'information. {child} pourra "
                 "rattraper le cours auprès de ses camarades ; les exercices 4 à 7 page 112 sont à faire "
                 "pour la semaine prochaine. Tout est aussi indiqué dans le cahier de textes de Pronote.\n\n"
                 "Bien cordialement,",
                 "Merci beaucoup pour votre réponse rapide.\n\nBonne journée,"),
                (f"Demande de rendez-vous – {fam.child}, 3eB",
                 f"Bonjour {me.civility},\n\nNous souhaiterions vous rencontrer au sujet des résultats de "
                 f"{child} en {self._pick(_SUBJECTS)}, qui ont baissé ce trimestre. Seriez-vous disponible "
                 f"un soir après 17 h ?\n\nBien à vous,\n{fam.parent.name}",
                 f"Bonjour {fam.parent.title} {fam.parent.last},\n\nJe vous propose mardi à 17 h 15, "
                 f"{self._pick(_ROOMS)}. Si cet horaire ne vous convient pas, indiquez-moi vos disponibilités "
                 "via le carnet de liaison ou par retour de message.\n\nCordialement,",
                 "C'est noté pour mardi 17 h 15. Merci.\n\nCordialement,"),
                (f"Devoir maison de {child}",
                 f"Bonjour,\n\n{child} a oublié son devoir maison à la maison ce matin, il est pourtant "
                 f"terminé. Peut-{'elle' if fam.girl else 'il'} vous le rendre demain ?\n\nMerci de votre "
                 f"compréhension,\n{fam.parent.name}",
                 f"Bonjour,\n\nPas de problème pour cette fois, {child} pourra me le rendre demain en début "
                 "de cours.\n\nCordialement,",
                 ""),
                ("Orientation après la 3e",
                 f"Bonjour {me.civility} {me.last},\n\n{child} hésite entre la seconde générale et un bac "
                 "professionnel. En tant que professeur principal, pourriez-vous nous conseiller avant le "
                 f"conseil de classe ?\n\nCordialement,\n{fam.parent.name}",
                 f"Bonjour {fam.parent.title} {fam.parent.last},\n\nLes deux voies sont envisageables au vu "
                 f"des résultats de {child}. Je vous conseille de prendre rendez-vous avec la psychologue de "
                 "l'Éducation nationale (permanence le jeudi) et de visiter les lycées lors des journées "
                 "portes ouvertes.\n\nBien cordialement,",
                 "Merci pour ces conseils, nous allons prendre rendez-vous."),
            ]
        subject, first, reply, thanks = self._pick(templates)
        original = self._send(folder, sender=fam.parent, to=[me], subject=subject, date=t0, text=first)
        if room < 2:
            return
        t1 = self._after(t0, 30, 60 * 20)
        attachments: list[_Attachment] = []
        if "certificat" in subject:
            attachments.append(self._pdf(
                f"Certificat de scolarité – {fam.child}.pdf", "Certificat de scolarité",
                f"Le chef d'établissement du {self.school} certifie que l'élève {fam.child} est inscrit{e} "
                f"en classe de 3eB pour l'année scolaire {_school_year(t0)}.",
            ))
        mine = self._reply(original, sender=me, text=f"{reply}\n\n{self._signature()}", date=t1,
                           folder="sent", attachments=attachments)
        if room >= 3 and thanks:
            t2 = self._after(t1, 20, 60 * 8)
            self._reply(mine, sender=fam.parent, text=f"{thanks}\n{fam.parent.name}", date=t2,
                        folder=folder)

    def sc_newsletter(self, room: int, folder: str = "inbox", logo: bool = True) -> None:
        t = self._when(human=False)
        issue = self.rng.randint(12, 140)
        month = f"{_MONTHS[t.month - 1]} {t.year}"
        sender, title = self._pick([
            (self.dane, f"La lettre du numérique éducatif – n° {issue}"),
            (self.eafc, f"Lettre d'information de l'EAFC – {month}"),
            (_Contact("Réseau Canopé – Occitanie", "lettre@canope-occitanie.fr"),
             f"Canopé : les ressources du mois de {_MONTHS[t.month - 1]}"),
        ])
        paragraphs = [
            "Au sommaire ce mois-ci : l'intelligence artificielle en classe, les nouvelles "
            "ressources Éduthèque et le calendrier des webinaires.",
            "Webinaire « Premiers pas avec Capytale » : mercredi à 14 h, inscription sur la plateforme.",
            "Rappel : les demandes de matériel pour le projet « Collège numérique » sont à déposer "
            "avant la fin du mois.",
        ]
        footer = ("Vous recevez cette lettre car vous êtes abonné(e) à la liste de diffusion.\n"
                  "Se désabonner : https://listes." + self.domain + "/desabonnement")
        cid = self._cid("logo") if logo else None
        text = "\n\n".join([title, *paragraphs, footer])
        html_body = _html_page(title, paragraphs, logo_cid=cid, footer=footer,
                               button=("Lire la lettre en ligne", f"https://www.{self.domain}/lettre/{issue}"))
        list_id = sender.email.split("@")[0]
        self._send(
            folder, sender=sender, to=[self.me], subject=title, date=t, text=text, html_body=html_body,
            inline=[(cid, _logo_png(), "logo-academie.png")] if cid else [],
            headers={
                "List-Id": f"<{list_id}.listes.{self.domain}>",
                "List-Unsubscribe": f"<https://listes.{self.domain}/desabonnement?l={list_id}>",
                "Precedence": "bulk",
            },
        )

    def sc_draft(self, room: int, folder: str = "drafts") -> None:
        t = self._when(max_days=20)
        colleague = self._pick(self.near)
        drafts = [
            ("Compte rendu de la réunion d'équipe",
             "Bonjour à tous,\n\nVoici le compte rendu de notre réunion :\n\n- progression commune "
             "de 4e : validée\n- sujet du brevet blanc : à finaliser\n- \n\n[à compléter]", [colleague]),
            ("Demande d'autorisation d'absence",
             f"Madame, Monsieur,\n\nJ'ai l'honneur de solliciter une autorisation d'absence le "
             f"{_fr_day(self._future(t, 7, 20, 8))} afin de ", [self.direction]),
            ("Sortie au musée Fabre – liste des accompagnateurs",
             "Bonjour,\n\nPour la sortie, les accompagnateurs seraient :\n- \n- \n\nIl reste à "
             "confirmer le car.", [self.secretariat]),
        ]
        subject, text, to = self._pick(drafts)
        self._send(folder, sender=self.me, to=to, subject=subject, date=t, text=text,
                   seen=True, draft=True)

    def sc_phishing(self, room: int, folder: str = "junk") -> None:
        t = self._when(human=False)
        stem = self.domain.split(".")[0]
        scams = [
            ("Service Messagerie Académique", f"no-reply@{stem}-webmail-support.com",
             "Votre boîte mail est pleine (98 %)",
             ["Votre boîte aux lettres a atteint 98 % de sa capacité. Vous ne pourrez bientôt plus "
              "envoyer ni recevoir de messages.",
              "Cliquez ici pour augmenter gratuitement votre quota avant 24 heures, faute de quoi "
              "votre compte sera désactivé."],
             ("Cliquez ici pour augmenter votre quota", f"http://quota-{stem}.webmail-update.info/login")),
            ("Administrateur Système", "admin@securite-comptes-education.net",
             "Alerte de sécurité : vérifiez votre compte immédiatement",
             ["Une connexion inhabituelle a été détectée sur votre compte de messagerie.",
              "Pour éviter la suspension, confirmez votre identifiant et votre mot de passe "
              "sur notre portail sécurisé."],
             ("Vérifier mon compte", "http://verification-arena.educ-login.top/")),
            ("Trésor Public", "remboursement@impots-gouv-fr.com",
             "Remboursement de frais de formation en attente : 284,50 €",
             ["Vous êtes éligible à un remboursement de 284,50 €.",
              "Merci de renseigner vos coordonnées bancaires pour recevoir le virement."],
             ("Recevoir mon remboursement", "http://rembourse.paiement-securise.xyz/")),
        ]
        name, addr, subject, paragraphs, button = self._pick(scams)
        sender = _Contact(name, addr)
        text = "\n\n".join([*paragraphs, f"{button[0]} : {button[1]}", "L'équipe technique"])
        self._send(folder, sender=sender, to=[self.me], subject=subject, date=t, text=text,
                   html_body=_html_page(subject, paragraphs, button=button, footer="© Service Messagerie"),
                   headers={"X-Spam-Flag": "YES", "X-Spam-Score": f"{self.rng.uniform(7, 15):.1f}",
                            "X-Mailer": "PHPMailer 5.2.22"})

    def sc_spam(self, room: int, folder: str = "junk") -> None:
        t = self._when(human=False)
        spams = [
            ("Formation CPF", "contact@formation-cpf-eligible.fr",
             "Dernier rappel : vos droits CPF expirent bientôt !",
             "Vos 1 500 € de droits à la formation vont être perdus. Réservez une formation 100 % "
             "financée en 2 minutes."),
            ("Bureau Vallée Promo", "promo@fournitures-discount.shop",
             "-70 % sur les fournitures scolaires, aujourd'hui seulement",
             "Cahiers, stylos, classeurs : profitez de nos prix imbattables avant la rentrée."),
            ("Votre cadeau", "gagnant@jeux-concours-fr.club",
             "Félicitations ! Vous avez gagné un bon d'achat de 500 €",
             "Vous avez été tiré au sort. Pour recevoir votre bon d'achat, répondez à 3 questions."),
        ]
        name, addr, subject, body = self._pick(spams)
        self._send(folder, sender=_Contact(name, addr), to=[self.me], subject=subject, date=t,
                   text=body + "\n\nPour vous désinscrire, répondez STOP.",
                   headers={"X-Spam-Flag": "YES", "X-Spam-Score": f"{self.rng.uniform(6, 12):.1f}"})

    def sc_meeting(self, room: int, folder: str = "Réunions") -> None:
        t0 = self._when(min_days=1)
        organizer = self._pick([self.direction, *self.near[:2]])
        kind = self._pick([
            ("Réunion parents-professeurs des 3e", "la salle polyvalente", 120,
             "Rencontres individuelles avec les familles des élèves de 3e. Prévoir les bulletins."),
            ("Conseil pédagogique", "la salle de réunion", 90,
             "Ordre du jour : projet d'établissement, dotation horaire, sorties du 3e trimestre."),
            ("Réunion d'équipe de 3eB", "la salle 204", 60,
             "Bilan de mi-trimestre et préparation du conseil de classe."),
        ])
        title, place, minutes, agenda = kind
        start = self._future(t0, 5, 14, 17)
        subject = f"{title} – {_fr_day(start)}"
        attendees = [self.me, *self.rng.sample(self.colleagues, min(3, len(self.colleagues)))]
        text = (
            f"Bonjour à toutes et à tous,\n\nVous êtes convié(e)s à la réunion « {title} » le "
            f"{_fr_day(start)} à {start:%H} h, {place} ({self.school}).\n\n{agenda}\n\n"
            f"L'invitation est jointe pour votre agenda.\n\nCordialement,\n{organizer.name}"
        )
        ics = self._ics(summary=title, location=f"{place}, {self.school}", description=agenda,
                        start=start, minutes=minutes, stamp=t0, organizer=organizer,
                        attendees=attendees)
        invite = self._send(folder, sender=organizer, to=attendees, subject=subject, date=t0, text=text,
                            attachments=[ics])
        if room < 2:
            return
        t1 = self._after(t0, 30, 60 * 24)
        replier = self._pick([a for a in attendees if a != self.me] or [organizer])
        reply_to = [organizer] if replier != organizer else [self.me]
        first = self._reply(invite, sender=replier, to=reply_to, cc=[a for a in attendees if a not in (replier, *reply_to)][:2],
                            text="Bonjour,\n\nJe serai présent" + ("e" if replier.feminine else "")
                            + ", mais j'arriverai avec un quart d'heure de retard (cours jusqu'à 17 h).\n\n"
                            + replier.first, date=t1, folder=folder, outlook=self.rng.random() < 0.4)
        if room >= 3:
            t2 = self._after(t1, 20, 60 * 6)
            self._reply(first, sender=self.me, to=[replier], text="Bonjour,\n\nMerci, je te garde une "
                        "place. Peux-tu apporter les relevés de notes de la 3eB ?\n\n" + self.me.first,
                        date=t2, folder="sent")

    def sc_meeting_minutes(self, room: int, folder: str = "Réunions") -> None:
        t = self._when(min_days=1)
        sender = self._pick([self.direction, *self.near[:2]])
        body = ("Présents : équipe de direction, coordonnateurs de discipline, CPE.\n"
                "1. Dotation horaire globale : maintien des heures de soutien en 6e.\n"
                "2. Sorties scolaires : validation des projets du 3e trimestre.\n"
                "3. Brevet blanc : épreuves écrites la semaine du 17.")
        self._send(folder, sender=sender, to=[self.staff_list], subject="Compte rendu du conseil pédagogique",
                   date=t, text=f"Bonjour,\n\nVeuillez trouver ci-joint le compte rendu de la dernière "
                   f"réunion.\n\n{body}\n\nBonne lecture,\n{sender.name}",
                   attachments=[self._pdf("Compte rendu – conseil pédagogique.pdf",
                                          "Compte rendu du conseil pédagogique", body)])

    def sc_direction_note(self, room: int, folder: str = "Direction") -> None:
        t = self._when()
        d = self._future(t, 3, 12, 8)
        notes = [
            (f"Note de service : organisation du brevet blanc du {_fr_day(d)}",
             "Les cours sont suspendus pour les classes de 3e pendant les épreuves. Les surveillances "
             "sont affichées en salle des professeurs ; merci de vérifier vos créneaux."),
            ("Rappel : saisie des notes avant les conseils de classe",
             f"La saisie des notes et appréciations dans Pronote doit être terminée le {_fr_day(d)} à 18 h, "
             "les bulletins étant édités le lendemain."),
            ("Sécurité : fermeture du portail à 8 h 10",
             "À compter de lundi, le portail sera fermé à 8 h 10. Les élèves retardataires passeront "
             "par la vie scolaire."),
            ("Remplacement de courte durée : appel aux volontaires",
             f"Suite à l'absence d'un collègue jusqu'au {_fr_day(d)}, des heures de remplacement de "
             "courte durée sont proposées. Merci de vous signaler auprès du secrétariat."),
        ]
        subject, body = self._pick(notes)
        self._send(folder, sender=self.direction, to=[self.staff_list], subject=subject, date=t,
                   text=f"Mesdames, Messieurs,\n\n{body}\n\nBien cordialement,\n\n{self.head_title}\n{self.school}",
                   flagged=self.rng.random() < 0.25)

    def sc_class_council(self, room: int, folder: str = "Élèves/3eB") -> None:
        t = self._when(min_days=1)
        sender = self._pick([self.direction, self.secretariat, *self.near[:1]])
        tri = _trimester(t)
        d = self._future(t, 4, 12, 17)
        text = (
            f"Bonjour,\n\nLe conseil de classe de la 3eB du {tri} trimestre aura lieu le {_fr_day(d)} "
            f"à 17 h 30 en salle de réunion.\n\nVous trouverez ci-joint l'export des moyennes. Merci de "
            f"compléter vos appréciations dans Pronote avant le conseil.\n\nDélégués élèves : "
            f"{self.roster[2][1]} {self.roster[2][0].title()} et {self.roster[7][1]} {self.roster[7][0].title()}."
            f"\n\nCordialement,\n{sender.name}"
        )
        self._send(folder, sender=sender, to=[self.me, *self.near[:3]],
                   subject=f"Conseil de classe 3eB – {tri} trimestre", date=t, text=text,
                   attachments=[self._grades_csv("3eB")])

    def sc_class_note(self, room: int, folder: str = "Élèves/3eB") -> None:
        colleague = self._pick(self.near)
        stud = self._pick(self.roster)
        name = f"{stud[1]} {stud[0].title()}"
        t0 = self._when(min_days=1)
        topics = [
            (f"3eB : comportement de {name}",
             f"Bonjour,\n\n{name} a de nouveau perturbé le cours ce matin. Je propose d'en parler "
             "avec la CPE et de prévenir la famille. As-tu constaté la même chose ?\n\n" + colleague.first,
             "Bonjour,\n\nOui, même constat en ce moment. D'accord pour en parler à la CPE ; je peux "
             "appeler la famille jeudi.\n\n" + self.me.first),
            ("Stage d'observation des 3e : conventions",
             "Bonjour,\n\nIl manque encore 6 conventions de stage pour la 3eB. Peux-tu le rappeler "
             "aux élèves en heure de vie de classe ?\n\n" + colleague.first,
             "Bonjour,\n\nC'est fait ce matin, ils ont jusqu'à vendredi.\n\n" + self.me.first),
        ]
        subject, text, answer = self._pick(topics)
        first = self._send(folder, sender=colleague, to=[self.me], subject=subject, date=t0, text=text)
        if room >= 2:
            self._reply(first, sender=self.me, text=answer, date=self._after(t0, 20, 60 * 30),
                        folder="sent")

    def sc_sent_grades(self, room: int, folder: str = "sent") -> None:
        t = self._when(min_days=1)
        to = self._pick([self.secretariat, self.direction, *self.near[:1]])
        self._send(folder, sender=self.me, to=[to], subject="Notes de la 3eB pour le conseil de classe",
                   date=t, text=f"Bonjour,\n\nCi-joint les notes de la 3eB exportées depuis Pronote, "
                   f"pour préparer le conseil de classe.\n\nBien cordialement,\n\n{self._signature()}",
                   attachments=[self._grades_csv("3eB")])

    def sc_sent_awareness(self, room: int, folder: str = "sent") -> None:
        """Support and admin owners warn staff about phishing, with an annotated capture."""
        t = self._when(min_days=1)
        self._send(folder, sender=self.me, to=[self.staff_list],
                   subject="Vigilance : campagne d'hameçonnage en cours", date=t,
                   text="Bonjour à toutes et à tous,\n\nUne campagne de faux messages « Votre boîte "
                   "mail est pleine » circule actuellement. La capture jointe montre le message "
                   "frauduleux : ne cliquez pas sur le lien et ne saisissez jamais votre mot de passe.\n\n"
                   "En cas de doute, contactez l'assistance.\n\n" + self._signature(),
                   attachments=[_Attachment("Capture – faux message.png", _photo_png(7), "image", "png")])

    def sc_forward_rfc822(self, room: int, folder: str = "sent") -> None:
        t0 = self._when(min_days=2)
        original = self._detached(
            sender=self.dsden, to=[self.staff_list],
            subject="Calendrier des épreuves du DNB – session " + str(t0.year + (t0.month >= 8)),
            date=t0,
            text="Mesdames et Messieurs,\n\nVous trouverez ci-dessous le calendrier des épreuves "
                 "écrites du diplôme national du brevet : français et mathématiques le premier jour, "
                 "histoire-géographie et sciences le second.\n\nLa division des examens",
        )
        t1 = self._after(t0, 60, 60 * 48)
        to = self.rng.sample(self.colleagues, min(2, len(self.colleagues)))
        self._send(folder, sender=self.me, to=to, subject="TR: " + original.subject, date=t1,
                   text=f"Bonjour,\n\nJe vous transfère la note de la DSDEN (message d'origine en pièce "
                   f"jointe), pour information.\n\n{self._signature()}",
                   attachments=[_Attachment("Message d'origine – calendrier DNB.eml", original.msg)])

    def sc_forward_inline(self, room: int, folder: str = "inbox") -> None:
        t0 = self._when(min_days=2)
        colleague = self._pick(self.near)
        original = self._detached(
            sender=self.eafc, to=[colleague],
            subject="Inscriptions ouvertes : formation « Évaluer par compétences »",
            date=t0,
            text="Bonjour,\n\nIl reste des places pour la formation « Évaluer par compétences » "
                 "(2 journées, au lycée Joffre). Inscriptions sur la plateforme de l'EAFC.\n\n"
                 "L'équipe de l'EAFC",
        )
        self._forward_inline(original, sender=colleague, to=[self.me],
                             note=f"Salut,\n\nÇa pourrait t'intéresser pour l'équipe de {self._pick(_SUBJECTS)} ?\n\n"
                                  + colleague.first,
                             date=self._after(t0, 30, 60 * 30), folder=folder)

    def sc_training(self, room: int, folder: str = "inbox") -> None:
        t = self._when(min_days=1)
        course = self._pick([
            "Enseigner avec le numérique : premiers pas avec l'ENT",
            "Différencier en classe hétérogène",
            "Éduquer aux médias et à l'information",
            "Gestes professionnels : prévenir le harcèlement",
            "Sécurité informatique : reconnaître l'hameçonnage",
        ])
        start = self._future(t, 10, 30, 9)
        place = self._pick(["Lycée Joffre, Montpellier", "Rectorat, salle 3.12", "classe virtuelle"])
        code = f"{t.year % 100}A03{self.rng.randint(10000, 99999)}"
        text = (
            f"Madame, Monsieur,\n\nVous êtes convoqué(e) à la formation « {course} » (module {code}, "
            f"plan académique de formation {_school_year(t)}), le {_fr_day(start)} de 9 h à 16 h 30, "
            f"{place}.\n\nCette convocation vaut ordre de mission. Les frais de déplacement seront "
            "remboursés via l'application DT Chorus.\n\nL'École académique de la formation continue"
        )
        ics = self._ics(summary=f"Formation PAF – {course}", location=place,
                        description=f"Module {code}", start=start, minutes=450, stamp=t,
                        organizer=self.eafc, attendees=[self.me])
        self._send(folder, sender=self.eafc, to=[self.me],
                   subject=f"Convocation – formation « {course} »", date=t, text=text,
                   attachments=[ics, self._pdf(f"Convocation_{code}.pdf", "Convocation", text)],
                   flagged=self.rng.random() < 0.3)

    def sc_outing(self, room: int, folder: str = "inbox") -> None:
        t = self._when(min_days=1)
        colleague = self._pick(self.near)
        place = self._pick(["au musée Fabre", "au pic Saint-Loup", "à l'Assemblée nationale",
                            "au planétarium Galilée", "à l'abbaye de Valmagne"])
        day = self._future(t, 7, 30, 8)
        photo = self.rng.random() < 0.6
        text = (
            f"Bonjour,\n\nLa sortie {place} avec la 3eB est prévue le {_fr_day(day)}. Départ du car "
            f"à 8 h 15 devant le collège, retour vers 17 h. Il nous faut encore un accompagnateur : "
            f"serais-tu disponible ?\n\n"
            + ("Je joins une photo du repérage de la semaine dernière.\n\n" if photo else
               "Je joins l'autorisation parentale à distribuer aux élèves.\n\n")
            + colleague.first
        )
        attachment = (
            _Attachment("Repérage sortie – vue générale.png", _photo_png(self.rng.randrange(30)), "image", "png")
            if photo else
            self._pdf("Autorisation de sortie – 3eB.pdf", "Autorisation de sortie scolaire",
                      f"Je soussigné(e) ........ autorise mon enfant ........ à participer à la sortie "
                      f"{place} le {_fr_day(day)}.\n\nSignature du responsable légal :")
        )
        first = self._send(folder, sender=colleague, to=[self.me], subject=f"Sortie {place} – {_fr_day(day)}",
                           date=t, text=text, attachments=[attachment])
        if room >= 2 and self.rng.random() < 0.6:
            self._reply(first, sender=self.me, text="Bonjour,\n\nOui, je peux accompagner. Je préviens "
                        "le secrétariat pour mes cours de l'après-midi.\n\n" + self.me.first,
                        date=self._after(t, 30, 60 * 20), folder="sent")

    def sc_timetable(self, room: int, folder: str = "inbox") -> None:
        t = self._when()
        monday = self._future(t, 2, 9, 8)
        monday -= timedelta(days=monday.weekday())
        sender = self._pick([self.direction, self.secretariat])
        cls = self._pick(_CLASSES)
        changes = (
            f"- {cls} : le cours de {self._pick(_SUBJECTS)} du mardi 10 h est déplacé au jeudi 14 h\n"
            f"- {_upper_first(self._pick(_ROOMS))} indisponible mercredi matin (travaux)\n"
            f"- Réunion de l'équipe de {self._pick(_SUBJECTS)} vendredi 12 h 30"
        )
        self._send(folder, sender=sender, to=[self.staff_list],
                   subject=f"Emploi du temps modifié – semaine du {_fr_day(monday)}", date=t,
                   text=f"Bonjour,\n\nVoici les modifications d'emploi du temps pour la semaine du "
                   f"{_fr_day(monday)} :\n\n{changes}\n\nL'emploi du temps à jour est publié dans Pronote "
                   f"et joint en PDF.\n\n{sender.name}",
                   attachments=[self._pdf(f"EDT semaine du {monday:%d-%m}.pdf", "Emploi du temps modifié",
                                          changes)])

    def sc_replacement(self, room: int, folder: str = "inbox") -> None:
        t = self._when()
        absent = self._pick(self.near)
        cls = self._pick(_CLASSES)
        until = self._future(t, 5, 20, 8)
        self._send(folder, sender=self.direction, to=[self.me], cc=[self.secretariat],
                   subject=f"Remplacement de {absent.title} {absent.last} – {cls}", date=t,
                   text=f"Bonjour,\n\n{absent.title} {absent.last} étant absent{'e' if absent.feminine else ''} "
                   f"jusqu'au {_fr_day(until)}, pourriez-vous assurer deux heures de remplacement en {cls} "
                   f"(mardi 10 h – 11 h et jeudi 15 h – 16 h) ? Ces heures seront rémunérées en HSE.\n\n"
                   f"Merci de me confirmer votre accord.\n\n{self.head_title}")

    def sc_ent_notice(self, room: int, folder: str = "inbox") -> None:
        t = self._when(human=False)
        d = self._future(t, 1, 6, 18)
        notices = [
            (self.pronote, f"PRONOTE – {self.rng.randint(2, 9)} nouvelles discussions",
             ["Vous avez reçu de nouveaux messages dans la messagerie de PRONOTE.",
              "Connectez-vous à votre espace pour les consulter. Ne répondez pas à ce message."]),
            (self.pronote, "PRONOTE – Rappel : saisie des appréciations",
             [f"La période de saisie des appréciations se termine le {_fr_day(d)}.",
              "Il vous reste des appréciations à saisir pour certaines classes."]),
            (self.ent, f"Maintenance de l'ENT le {_fr_day(d)} de 18 h à 22 h",
             ["Une opération de maintenance rendra l'ENT indisponible pendant quelques heures.",
              "La messagerie académique et Pronote restent accessibles pendant l'intervention."]),
            (self.ent, "ENT : un document a été partagé avec vous",
             [f"{self._pick(self.near).name} a partagé le document « Progression 3e.odt » dans l'espace "
              "« Équipe pédagogique ».", "Ouvrez l'ENT pour le consulter."]),
        ]
        sender, subject, paragraphs = self._pick(notices)
        text = "\n\n".join([*paragraphs, "Message automatique, merci de ne pas y répondre."])
        self._send(folder, sender=sender, to=[self.me], subject=subject, date=t, text=text,
                   html_body=_html_page(subject, paragraphs, footer="Message automatique, merci de ne pas y répondre."),
                   headers={"Auto-Submitted": "auto-generated"})

    def sc_colleague_thread(self, room: int, folder: str = "inbox") -> None:
        colleague = self._pick(self.near)
        room_name = self._pick([r for r in _ROOMS if r.startswith("salle")])
        topics = [
            (f"{_upper_first(room_name)} indisponible jeudi",
             f"Bonjour,\n\n{_upper_first(room_name)} sera occupée jeudi après-midi pour les épreuves "
             "orales. Est-ce que tu peux échanger de salle avec moi ?\n\nMerci !\n" + colleague.first,
             "Bonjour,\n\nPas de souci, je prends ta salle jeudi.\n\n" + self.me.first,
             "Super, merci beaucoup !"),
            ("Échange de créneau mardi",
             "Bonjour,\n\nJ'ai une formation mardi matin. Pourrais-tu prendre mes 4eA de 10 h et je "
             "prends tes 5eB vendredi ?\n\n" + colleague.first,
             "Bonjour,\n\nD'accord pour l'échange. Je préviens la vie scolaire.\n\n" + self.me.first,
             "Merci, c'est noté de mon côté aussi."),
            ("Copies du brevet blanc – répartition",
             "Bonjour,\n\nJe propose qu'on se répartisse les copies du brevet blanc : 3eA et 3eB pour "
             "toi, 3eC et 3eD pour moi. Correction commune mercredi à 13 h ?\n\n" + colleague.first,
             "Ça me va. Mercredi 13 h en salle des profs.\n\n" + self.me.first, ""),
            ("Pot de départ vendredi",
             "Bonjour à tous,\n\nNous organisons un pot de départ vendredi à 16 h 30 en salle des "
             "professeurs. Participation libre pour le cadeau (enveloppe au secrétariat).\n\n"
             + colleague.first,
             "Je serai là, merci pour l'organisation !\n\n" + self.me.first, ""),
        ]
        subject, first, reply, thanks = self._pick(topics)
        t0 = self._when(min_days=0.5)
        cc = [c for c in self.near if c not in (colleague,)][:1] if self.rng.random() < 0.3 else []
        original = self._send(folder, sender=colleague, to=[self.me], cc=cc, subject=subject, date=t0,
                              text=first)
        if room >= 2:
            t1 = self._after(t0, 10, 60 * 10)
            mine = self._reply(original, sender=self.me, text=reply, date=t1, folder="sent")
            if room >= 3 and thanks:
                self._reply(mine, sender=colleague, text=thanks + "\n" + colleague.first,
                            date=self._after(t1, 5, 60 * 4), folder=folder,
                            outlook=self.rng.random() < 0.3)

    def sc_owner_thread(self, room: int, folder: str = "sent") -> None:
        colleague = self._pick(self.near)
        t0 = self._when(min_days=1)
        subjects = [
            ("Sujet du contrôle commun de 4e",
             "Bonjour,\n\nVoici ma proposition de sujet pour le contrôle commun de 4e. N'hésite pas "
             "à me faire tes remarques avant vendredi.",
             "Merci ! Le sujet me convient, juste une coquille à l'exercice 3 (« calculer » au lieu "
             "de « calculez »)."),
            ("Progression commune de 3e",
             "Bonjour,\n\nJe joins la progression commune que nous avions évoquée, avec les dates "
             "des évaluations.",
             "Parfait, je la dépose dans l'espace de l'équipe sur l'ENT."),
        ] if self.teaches else [
            ("Planning des inscriptions au DNB",
             "Bonjour,\n\nVoici le planning de vérification des inscriptions au DNB par classe. "
             "Peux-tu me confirmer les créneaux pour les 3e ?",
             "C'est bon pour moi, je préviens les professeurs principaux."),
        ] if self.owner.role == "secretariat" else [
            ("Fiche pratique : configurer la messagerie sur smartphone",
             "Bonjour,\n\nComme convenu, voici la fiche pratique pour configurer la messagerie "
             "académique sur un téléphone (IMAP et envoi authentifié). Peux-tu la relire avant diffusion ?",
             "Relue, c'est clair. J'ajouterais seulement une capture de l'écran de connexion."),
            ("Procédure de réinitialisation des mots de passe",
             "Bonjour,\n\nJe joins la procédure mise à jour pour la réinitialisation des mots de "
             "passe par l'assistance. Merci de me dire si quelque chose manque.",
             "Parfait, je la dépose dans l'espace documentaire de l'assistance."),
        ]
        subject, text, answer = self._pick(subjects)
        content = (
            "Exercice 1 – Calcul littéral\nExercice 2 – Théorème de Pythagore\n"
            "Exercice 3 – Statistiques"
            if self.teaches else
            "3eA : mardi 9 h\n3eB : mardi 14 h\n3eD : jeudi 10 h"
            if self.owner.role == "secretariat" else
            "1. Vérifier l'identité de l'agent (NUMEN ou rappel téléphonique).\n"
            "2. Générer un mot de passe provisoire.\n3. Demander le changement à la première connexion."
        )
        mine = self._send(folder, sender=self.me, to=[colleague], subject=subject, date=t0,
                          text=f"{text}\n\n{self._signature()}",
                          attachments=[self._pdf(f"{subject}.pdf", subject, content)])
        if room >= 2:
            self._reply(mine, sender=colleague, text=f"Bonjour,\n\n{answer}\n\n{colleague.first}",
                        date=self._after(t0, 30, 60 * 30), folder="inbox",
                        outlook=self.rng.random() < 0.3)

    def sc_ticket_thread(self, room: int, folder: str = "inbox") -> None:
        user = self._pick(self.colleagues)
        number = self.rng.randint(120000, 189999)
        problems = [
            ("Impossible d'envoyer des messages depuis mon téléphone",
             "Depuis hier, mon téléphone affiche « échec d'envoi » alors que la réception fonctionne.",
             "Le serveur d'envoi doit être smtp." + self.domain + ", port 465, avec votre identifiant "
             "complet. Pouvez-vous vérifier ce réglage ?",
             "C'était bien le port, tout fonctionne. Merci !"),
            ("Boîte aux lettres pleine",
             "Je reçois un avertissement : ma boîte est pleine à 95 %. Que dois-je faire ?",
             "Vous pouvez vider la corbeille et archiver les messages anciens avec pièces jointes. "
             "Ce message officiel ne vous demandera jamais votre mot de passe.",
             "Merci, je suis redescendu à 60 %."),
            ("Message suspect reçu ce matin",
             "J'ai reçu un message me demandant de « valider mon compte ». Est-ce normal ?",
             "Il s'agit d'une tentative d'hameçonnage : ne cliquez pas et supprimez-le. Si vous avez "
             "saisi votre mot de passe, changez-le immédiatement.",
             "Je n'avais pas cliqué, merci pour la confirmation."),
        ]
        subject, question, answer, thanks = self._pick(problems)
        subject = f"[Assistance n° {number}] {subject}"
        t0 = self._when(min_days=0.5)
        original = self._send(folder, sender=user, to=[self.me], subject=subject, date=t0,
                              text=f"Bonjour,\n\n{question}\n\nCordialement,\n{user.name}")
        if room >= 2:
            t1 = self._after(t0, 15, 60 * 6)
            mine = self._reply(original, sender=self.me, text=f"Bonjour,\n\n{answer}\n\n{self._signature()}",
                               date=t1, folder="sent")
            if room >= 3:
                self._reply(mine, sender=user, text=thanks, date=self._after(t1, 10, 60 * 24),
                            folder=folder)

    def sc_admin_report(self, room: int, folder: str = "inbox") -> None:
        t = self._when(human=False)
        reports = [
            ("Rapport quotidien : boîtes proches du quota",
             "Boîtes au-delà de 90 % de leur quota :\n"
             + "\n".join(f"- {c.email} : {self.rng.randint(90, 99)} %" for c in self.colleagues[:4])),
            ("Alerte : envoi massif détecté",
             f"Le compte {self._pick(self.colleagues).email} a émis {self.rng.randint(400, 900)} messages "
             "en une heure. L'envoi a été suspendu par précaution ; vérifiez une éventuelle compromission."),
            ("Demande de création d'une boîte fonctionnelle",
             f"Le {self.school} demande la création de la boîte « vie-scolaire.{self.uai}@{self.domain} » "
             "partagée entre les CPE et les assistants d'éducation."),
        ]
        subject, body = self._pick(reports)
        self._send(folder, sender=self.postmaster, to=[self.me], subject=subject, date=t,
                   text=f"{body}\n\n-- \nMessagerie académique (message automatique)",
                   headers={"Auto-Submitted": "auto-generated"}, flagged=self.rng.random() < 0.3)

    def sc_trash_misc(self, room: int, folder: str = "trash") -> None:
        t = self._when(min_days=7)
        colleague = self._pick(self.colleagues)
        misc = [
            ("Vente de gâteaux au profit du FSE",
             "Bonjour,\n\nVente de gâteaux vendredi à la récréation de 10 h au profit du foyer "
             "socio-éducatif. Les dons de gâteaux sont les bienvenus !"),
            ("Objet trouvé : écharpe bleue en salle des profs",
             "Une écharpe bleue attend son propriétaire sur la table de la salle des professeurs."),
            ("Photocopieuse du 1er étage en panne",
             "La photocopieuse du 1er étage est en panne, le technicien passe jeudi. Utilisez celle "
             "du CDI en attendant."),
            ("Rappel : photo de classe mardi",
             "Le photographe sera présent mardi toute la journée ; le planning est affiché en salle des "
             "professeurs."),
        ]
        subject, text = self._pick(misc)
        self._send(folder, sender=colleague, to=[self.staff_list], subject=subject, date=t,
                   text=f"{text}\n\n{colleague.first}")

    def sc_archive(self, room: int, folder: str = "archive") -> None:
        kind = self.rng.random()
        if kind < 0.4:
            self.sc_circular(room, folder)
        elif kind < 0.7:
            self.sc_timetable(room, folder)
        else:
            self.sc_direction_note(room, folder)

    # -- driver ---------------------------------------------------------------------------

    def build(self, count: int) -> list[DemoMessage]:
        role = self.owner.role
        junk = max(3, count // 25)
        trash = max(2, count // 30)
        plan: list[tuple[Callable[[int], None], int]] = [
            (lambda r: self.sc_circular(r), 1),
            (lambda r: self.sc_parent_thread(r), 1),
            (lambda r: self.sc_newsletter(r, logo=True), 1),
            (lambda r: self.sc_draft(r), 1),
            (lambda r: self.sc_phishing(r), 1),
            (lambda r: self.sc_meeting(r), 1),
            (lambda r: self.sc_direction_note(r), 1),
            (lambda r: self.sc_class_council(r), 1),
            (lambda r: self.sc_forward_rfc822(r), 1),
            (lambda r: self.sc_forward_inline(r), 1),
            (lambda r: self.sc_circular(r, restricted=True), 1),
            (lambda r: self.sc_training(r), 1),
            (lambda r: self.sc_outing(r) if role in ("staff", "secretariat")
             else self.sc_sent_awareness(r), 1),
            (lambda r: self.sc_sent_grades(r) if role in ("staff", "secretariat")
             else self.sc_owner_thread(r), 1),
            *[(lambda r: self.sc_trash_misc(r), 1) for _ in range(trash - 1)],
            (lambda r: self.sc_newsletter(r, "trash", logo=False), 1),
            (lambda r: self.sc_spam(r), 1),
            *[(lambda r: self._pick([self.sc_spam, self.sc_phishing])(r), 1) for _ in range(junk - 2)],
            *[(lambda r: self.sc_draft(r), 1) for _ in range(self.rng.randint(0, 2))],
            *[(lambda r: self.sc_archive(r), 1) for _ in range(max(2, count // 40))],
            (lambda r: self.sc_parent_thread(r), 1),
            (lambda r: self.sc_direction_note(r), 1),
            (lambda r: self.sc_class_note(r), 1),
            (lambda r: self.sc_meeting_minutes(r), 1),
            (lambda r: self.sc_owner_thread(r), 1),
        ]
        if role == "support":
            plan.append((lambda r: self.sc_ticket_thread(r), 1))
        if role == "admin":
            plan.append((lambda r: self.sc_admin_report(r), 1))

        weights: dict[str, list[tuple[Callable[[int], None], int]]] = {
            "staff": [
                (lambda r: self.sc_parent_thread(r, self._pick(["Parents", "inbox"])), 4),
                (lambda r: self.sc_colleague_thread(r), 4),
                (lambda r: self.sc_owner_thread(r), 2),
                (lambda r: self.sc_circular(r), 2),
                (lambda r: self.sc_timetable(r), 2),
                (lambda r: self.sc_outing(r), 1),
                (lambda r: self.sc_replacement(r), 2),
                (lambda r: self.sc_training(r), 1),
                (lambda r: self.sc_ent_notice(r), 3),
                (lambda r: self.sc_newsletter(r, logo=self.rng.random() < 0.5), 2),
                (lambda r: self.sc_direction_note(r, self._pick(["Direction", "inbox"])), 1),
                (lambda r: self.sc_class_note(r), 1),
                (lambda r: self.sc_meeting(r, self._pick(["Réunions", "inbox"])), 1),
            ],
            "secretariat": [
                (lambda r: self.sc_parent_thread(r, self._pick(["Parents", "inbox"])), 6),
                (lambda r: self.sc_colleague_thread(r), 2),
                (lambda r: self.sc_circular(r), 3),
                (lambda r: self.sc_timetable(r), 2),
                (lambda r: self.sc_ent_notice(r), 2),
                (lambda r: self.sc_newsletter(r, logo=self.rng.random() < 0.5), 1),
                (lambda r: self.sc_direction_note(r, self._pick(["Direction", "inbox"])), 2),
                (lambda r: self.sc_meeting(r, self._pick(["Réunions", "inbox"])), 1),
            ],
            "support": [
                (lambda r: self.sc_ticket_thread(r), 7),
                (lambda r: self.sc_parent_thread(r, self._pick(["Parents", "inbox"])), 2),
                (lambda r: self.sc_colleague_thread(r), 2),
                (lambda r: self.sc_circular(r), 1),
                (lambda r: self.sc_ent_notice(r), 2),
                (lambda r: self.sc_newsletter(r, logo=self.rng.random() < 0.5), 2),
                (lambda r: self.sc_admin_report(r), 1),
            ],
            "admin": [
                (lambda r: self.sc_admin_report(r), 5),
                (lambda r: self.sc_ticket_thread(r), 4),
                (lambda r: self.sc_circular(r), 2),
                (lambda r: self.sc_colleague_thread(r), 2),
                (lambda r: self.sc_newsletter(r, logo=self.rng.random() < 0.5), 1),
                (lambda r: self.sc_meeting(r, self._pick(["Réunions", "inbox"])), 1),
            ],
        }
        filler = weights.get(role, weights["staff"])

        for scenario, need in plan:
            room = count - len(self.items)
            if room >= need:
                scenario(room)
        stalls = 0
        while len(self.items) < count and stalls < 100:
            before = len(self.items)
            scenario = self.rng.choices([s for s, _ in filler], weights=[w for _, w in filler])[0]
            scenario(count - before)
            stalls = stalls + 1 if len(self.items) == before else 0
        return self._finish(count)

    def _finish(self, count: int) -> list[DemoMessage]:
        out: list[DemoMessage] = []
        for item in self.items[:count]:
            age = self.now - item.date
            rng = self.rng
            if item.seen is not None:
                seen = item.seen
            elif item.folder in ("sent", "drafts", "archive"):
                seen = True
            elif item.folder == "trash":
                seen = rng.random() < 0.9
            elif item.folder == "junk":
                seen = rng.random() < 0.2
            elif age < timedelta(days=2):
                seen = rng.random() < 0.2
            elif age < timedelta(days=10):
                seen = rng.random() < 0.7
            else:
                seen = rng.random() < 0.97
            if item.flagged is not None:
                flagged = item.flagged
            else:
                flagged = item.folder not in ("junk", "trash", "drafts") and rng.random() < 0.06
            if item.folder in ("junk", "trash", "drafts"):
                flagged = False
            out.append(DemoMessage(
                folder=item.folder, raw=item.msg.as_bytes(policy=_POLICY), seen=seen,
                flagged=flagged, answered=item.answered, draft=item.draft, internaldate=item.internaldate,
            ))
        out.sort(key=lambda m: m.internaldate)
        return out


def generate_mailbox(owner: DemoPerson, others: list[DemoPerson], count: int, seed: int,
                     now: datetime) -> list[DemoMessage]:
    """`count` messages for `owner`'s mailbox, the same for the same arguments.

    `others` are the colleagues who write to and receive mail from the owner
    (the owner may be among them; it is skipped). Dates fall within the six
    months before `now` (which must be timezone-aware); internaldates are in
    Europe/Paris. The list is sorted by internaldate, oldest first, so that
    appending in order gives UIDs in date order. Sent and Drafts hold the
    owner's own messages; every In-Reply-To refers to a message that is in
    the returned list.
    """
    if count <= 0:
        return []
    return _MailboxBuilder(owner, others, seed, now).build(count)
