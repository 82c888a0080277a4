"""Phishing warnings, computed once at delivery from the parsed message, its
bytes and our own authentication results, then stored (``warnings.py``) and
shown in the reading pane with a plain-French explanation each.

What is looked at: the sender (outside the académie, look-alike domains,
display names claiming a service, a staff member's name or an académie
address), authentication,
links (text naming another host, IP literals, ``user@host``, shorteners,
look-alike hosts) and forms posting outside, credential lures (password,
NUMEN, "boîte pleine", "compte désactivé", urgency) with an outside link or
form, dangerous attachments (executables, double extensions, right-to-left
override, Office macros, HTML with forms, encrypted archives or archives
holding executables), and a Reply-To elsewhere than the From.

Bounded on hostile input: at most ``MAX_HTML`` characters of HTML and
``MAX_LINKS`` links are read, URLs are cut to ``MAX_URL`` characters,
attachments above ``MAX_ATTACHMENT`` bytes are judged by name only, archives
are read from their central directory alone (never decompressed: a zip bomb
costs nothing) and only ``MAX_ARCHIVE_ENTRIES`` names are read. Any error in
one check leaves the others' warnings.
"""

from __future__ import annotations

import io
import ipaddress
import logging
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings

from academail.accounts.services import staff_named
from academail.mime.parse import ParsedMessage, Part, decode_part_body, iter_parts, part_text
from academail.protection.authresults import Auth
from academail.protection.lookalike import decode_idn, imitated
from academail.protection.texts import describe
from academail.store.search import fold

log = logging.getLogger(__name__)

MAX_HTML = 1_000_000
MAX_LINKS = 500
MAX_URL = 2048
MAX_FLAGGED = 50
MAX_ATTACHMENT = 10 * 1024 * 1024
MAX_ARCHIVE_ENTRIES = 1000

DANGER, WARNING, INFO = "danger", "warning", "info"
_ORDER = {INFO: 0, WARNING: 1, DANGER: 2}

SERVICE_WORDS = ("rectorat", "assistance", "service informatique", "dsden", "support", "helpdesk",
                 "administrateur", "dsi", "ministere", "academie", "messagerie", "webmaster", "securite")
# Any of them as a whole word: one compiled search instead of one per word.
_SERVICE_WORD = re.compile(r"\b(?:" + "|".join(map(re.escape, SERVICE_WORDS)) + r")\b")
SHORTENERS = frozenset({"bit.ly", "tinyurl.com", "t.co", "goo.gl", "ow.ly", "is.gd", "buff.ly", "cutt.ly",
                        "rebrand.ly", "shorturl.at", "tiny.cc", "rb.gy", "s.id", "v.gd", "t.ly", "lnkd.in"})
EXECUTABLE = frozenset({"exe", "scr", "com", "bat", "cmd", "pif", "vbs", "vbe", "js", "jse", "wsf", "wsh",
                        "msi", "msp", "hta", "cpl", "jar", "ps1", "psm1", "lnk", "iso", "img", "reg", "dll",
                        "application", "gadget", "msc", "scf", "vhd", "vhdx", "appx", "appxbundle", "apk"})
MACRO_OFFICE = frozenset({"docm", "dotm", "xlsm", "xltm", "xlam", "pptm", "potm", "ppsm", "sldm"})
OLE_OFFICE = frozenset({"doc", "dot", "xls", "xlt", "ppt", "pps"})
OOXML = frozenset({"docx", "xlsx", "pptx"})
DOCUMENT_DISGUISES = frozenset({"pdf", "doc", "docx", "xls", "xlsx", "jpg", "png", "txt", "zip"})
ARCHIVES = frozenset({"zip", "7z", "rar", "gz", "tgz", "cab", "ace"})
CREDENTIAL_TERMS = ("mot de passe", "numen", "identifiant", "code d'acces", "vos identifiants",
                    "verifier votre compte", "valider votre compte", "confirmer votre compte",
                    "boite pleine", "boite aux lettres est pleine", "quota", "espace de stockage",
                    "compte desactive", "compte sera desactive", "compte suspendu", "compte sera suspendu",
                    "compte bloque", "mettre a jour vos informations")
# Words most CREDENTIAL_TERMS contain: a term is looked for only where its
# word is (one scan of the text instead of eight when "compte" is absent).
_TERM_WORDS = ("compte", "identifiant", "boite")
_TERM_WORD = {term: next((w for w in _TERM_WORDS if w in term), None) for term in CREDENTIAL_TERMS}
URGENCY_TERMS = ("urgent", "immediatement", "sans delai", "24 heures", "24h", "48 heures", "48h",
                 "dernier avertissement", "derniere relance", "sous peine")
RTL_OVERRIDE = ("\u202e", "\u202d", "\u2066", "\u2067", "\u2068")

_ANCHOR = re.compile(r"<a\b([^>]{0,4000})>(.{0,2000}?)</a\s*>", re.I | re.S)
_HREF = re.compile(r"""\bhref\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", re.I)
_FORM = re.compile(r"""<form\b[^>]{0,4000}?\baction\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", re.I)
_FORM_ANY = re.compile(r"<form\b", re.I)
_TAG = re.compile(r"<[^>]{0,4000}>")
# Case-insensitive by character classes: sre then scans for the literal
# start quickly, where re.I tests every position (2x on 50 KB of text).
_TEXT_URL = re.compile(r"\b[hH][tT][tT][pP][sS]?://[^\s<>\"'`]{1,2048}")
_NAME_WORD = re.compile(r"[^\W\d_][\w'’-]{0,60}")
_HOSTLIKE = re.compile(r"(?:https?://)?((?:[\w-]{1,63}\.)+[a-z]{2,24})\b", re.I)


@dataclass(frozen=True)
class Warning:
    """One warning: its ``code``, ``level`` and the ``params`` its texts
    need (addresses, hosts, file names, already cut to size). What it says
    to the person, in their language, is ``texts.describe``'s."""

    code: str
    level: str
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def title(self) -> str:
        return describe(self.code, self.params)[0]

    @property
    def detail(self) -> str:
        return describe(self.code, self.params)[1]


@dataclass
class Findings:
    warnings: list[Warning]
    flagged_links: list[str]

    @property
    def level(self) -> str:
        return max((w.level for w in self.warnings), key=_ORDER.__getitem__, default="")

    def to_json(self) -> dict[str, object]:
        """What ``warnings.do_remember`` stores: codes and parameters, no text."""
        # Built here rather than by ``dataclasses.asdict``, whose deep copy of
        # each warning's parameters was a third of storing them (bench/protection.py).
        return {"warnings": [{"code": w.code, "level": w.level, "params": w.params} for w in self.warnings],
                "links": self.flagged_links}


def _fold(text: str) -> str:
    return fold(text)


def _domain_of(address: str) -> str:
    return address.rpartition("@")[2].strip().lower().rstrip(".")


def is_academie(domain: str) -> bool:
    return any(domain == d or domain.endswith("." + d) for d in settings.MAIL_DOMAINS)


def _base(domain: str) -> str:
    """The last two labels (a cheap organisational domain, enough to compare)."""
    return ".".join(domain.split(".")[-2:])


def _host(url: str) -> tuple[str, str]:
    """(host, userinfo) of an http(s) URL; ("", "") when it has none."""
    try:
        parts = urlsplit(url[:MAX_URL].strip())
    except ValueError:
        return "", ""
    if parts.scheme.lower() not in ("http", "https"):
        return "", ""
    netloc = parts.netloc
    userinfo = netloc.rpartition("@")[0] if "@" in netloc else ""
    host = (parts.hostname or "").lower().rstrip(".")
    return host, userinfo


def _is_ip(host: str) -> bool:
    if ":" not in host and host[-1:].isalpha() and not host.startswith("0x"):
        return False  # a name ends with its top-level domain's letter; IPv4 literals never do
    try:
        ipaddress.ip_address(host.strip("[]"))
        return True
    except ValueError:
        return bool(re.fullmatch(r"\d{8,10}|0x[0-9a-f]{6,8}", host))  # decimal / hex IPv4 tricks


# What ``later`` answers in place of a staff member's name: the serving process
# asks the directory afterwards (``pending_staff``, ``settled``): a delivery worker
# process reads no database.
PENDING_STAFF = "\x00pending"


def later(pairs: list[tuple[str, str]]) -> str | None:
    """A stand-in for ``staff_named`` where no database is at hand: a
    DISPLAY_NAME_STAFF warning that ``settled`` confirms or removes."""
    return PENDING_STAFF if pairs else None


def pending_staff(findings: Findings | None, parsed: ParsedMessage) -> list[tuple[str, str]] | None:
    """The (first, last) splits of the display name that a pending
    staff-name warning (``later``) asks about, or None when none is pending:
    what the caller looks up in the directory (``staff_named``) before
    ``settled``. ``spam.screen`` sends that lookup with its other reads."""
    if findings is not None and any(_pending(w) for w in findings.warnings):
        return name_splits(parsed.from_[0].name if parsed.from_ else "")
    return None


def settled(findings: Findings, staff: str | None) -> Findings:
    """``findings`` with its pending staff-name warning (``later``) filled in
    with the colleague's name ``staff`` (the directory's answer for
    ``pending_staff``), or removed when nobody has that name (None)."""
    for index, warning in enumerate(findings.warnings):
        if _pending(warning):
            rest = findings.warnings[:index] + findings.warnings[index + 1:]
            if staff is not None:
                rest.insert(index, Warning(warning.code, warning.level, {**warning.params, "name": staff}))
            return Findings(rest, findings.flagged_links)
    return findings


def _pending(warning: Warning) -> bool:
    return warning.code == "DISPLAY_NAME_STAFF" and warning.params.get("name") == PENDING_STAFF


def analyse(
    parsed: ParsedMessage, raw: bytes, auth: Auth, *, spoofed: bool = False,
    staff: Callable[[list[tuple[str, str]]], str | None] = staff_named,
) -> Findings:
    """The warnings of one message from outside. ``spoofed``: the spam rules
    found an académie From arriving from outside without authentication.
    ``staff``: the directory lookup of a display name (``later`` in a
    process without a database)."""
    out: list[Warning] = []
    flagged: list[str] = []
    sender = parsed.from_[0] if parsed.from_ else None
    address = sender.addr.lower() if sender and sender.host else ""
    domain = _domain_of(address)
    external = bool(domain) and not is_academie(domain)
    for name, check in (("sender", partial(_sender_checks, staff=staff)), ("auth", _auth_checks)):
        try:
            out.extend(check(parsed, address, domain, external, auth, spoofed))
        except Exception:  # noqa: BLE001 - one check failing must not hide the others
            log.exception("phishing check %s failed", name)
    outside_link = False
    try:
        link_warnings, flagged, outside_link = _link_checks(parsed, raw)
        out.extend(link_warnings)
    except Exception:  # noqa: BLE001
        log.exception("link checks failed")
    try:
        out.extend(_lure_checks(parsed, external or spoofed, outside_link))
    except Exception:  # noqa: BLE001
        log.exception("lure checks failed")
    try:
        out.extend(_attachment_checks(parsed, raw))
    except Exception:  # noqa: BLE001
        log.exception("attachment checks failed")
    # One warning per code: the first says it.
    seen: dict[str, Warning] = {}
    for warning in out:
        seen.setdefault(warning.code, warning)
    return Findings(list(seen.values()), flagged[:MAX_FLAGGED])


def _sender_checks(
    parsed: ParsedMessage, address: str, domain: str, external: bool, auth: Auth, spoofed: bool, *,
    staff: Callable[[list[tuple[str, str]]], str | None] = staff_named,
) -> list[Warning]:
    out: list[Warning] = []
    if external:
        out.append(Warning("EXTERNAL", INFO, {"address": address}))
        real = imitated(domain)
        if real is not None:
            out.append(Warning("LOOKALIKE_DOMAIN", DANGER,
                               {"real": real, "address": address, "domain": decode_idn(domain)}))
        name = parsed.from_[0].name if parsed.from_ else ""
        folded = _fold(name)
        if _SERVICE_WORD.search(folded):
            out.append(Warning("DISPLAY_NAME_SERVICE", DANGER, {"name": name[:80], "address": address}))
        else:
            named_staff = staff(name_splits(name))
            if named_staff is not None:
                out.append(Warning("DISPLAY_NAME_STAFF", WARNING, {"name": named_staff, "address": address}))
        named = re.findall(r"[\w.+-]+@([\w-]+(?:\.[\w-]+)+)", name)
        if any(is_academie(d.lower()) for d in named):
            out.append(Warning("DISPLAY_NAME_ADDRESS", DANGER, {"address": address}))
    if parsed.reply_to and domain:
        reply = parsed.reply_to[0].addr.lower()
        reply_domain = _domain_of(reply)
        if reply_domain and _base(reply_domain) != _base(domain):
            out.append(Warning("REPLY_TO", WARNING, {"address": address, "reply": reply[:320]}))
    return out


def name_splits(name: str) -> list[tuple[str, str]]:
    """The (first, last) readings of a display name of two to four words:
    "Julie Martin", "MARTIN Julie", "Martin, Julie", "Anne Marie Dupont"
    (each split point, both orders); none for other shapes."""
    words = _NAME_WORD.findall(name[:200])
    if not 2 <= len(words) <= 4:
        return []
    splits: list[tuple[str, str]] = []
    for cut in range(1, len(words)):
        head, tail = " ".join(words[:cut]), " ".join(words[cut:])
        splits += [(head, tail), (tail, head)]
    return splits


def _auth_checks(
    parsed: ParsedMessage, address: str, domain: str, external: bool, auth: Auth, spoofed: bool
) -> list[Warning]:
    if spoofed:
        return [Warning("AUTH_ACADEMIE", DANGER, {"address": address})]
    if auth.dmarc == "fail":
        return [Warning("AUTH_FAILED", DANGER, {"domain": domain})]
    return []


def _html_parts(parsed: ParsedMessage) -> list[Part]:
    return [p for _, p in iter_parts(parsed.root) if p.content_type == "text/html" and not p.filename][:5]


def _collect_links(parsed: ParsedMessage, raw: bytes) -> tuple[list[tuple[str, str]], list[str]]:
    """The message's distinct (href, visible text) pairs, at most
    ``MAX_LINKS``, then the URLs written in its text that no anchor already
    gave; and its forms' actions ("" for a form without one)."""
    links: dict[tuple[str, str], None] = {}
    forms: list[str] = []
    for part in _html_parts(parsed):
        html = part_text(raw, part)[:MAX_HTML]
        for match in _ANCHOR.finditer(html):
            if len(links) >= MAX_LINKS:
                break
            href = _HREF.search(match.group(1))
            if href:
                url = next(g for g in href.groups() if g is not None)
                links.setdefault((url[:MAX_URL].strip(), _TAG.sub("", match.group(2))[:300]))
        forms.extend(next(g for g in m.groups() if g is not None) for m in _FORM.finditer(html))
        if _FORM_ANY.search(html) and not forms:
            forms.append("")
    text = parsed.search_text[:MAX_HTML]
    if "://" in text:  # most mail has no written URL: skip the scan
        hrefs = {url for url, _ in links}
        for m in _TEXT_URL.finditer(text):
            if len(links) >= MAX_LINKS:
                break
            url = m.group(0)[:MAX_URL]
            if url not in hrefs:
                links.setdefault((url, ""))
    return list(links)[:MAX_LINKS], forms


def _host_warning(host: str, userinfo: str) -> Warning | None:
    """What a link's host alone says (user@host, IP literal, look-alike,
    shortener), or None."""
    if userinfo:
        return Warning("LINK_USERINFO", DANGER, {"userinfo": userinfo[:60], "host": host[:253]})
    if _is_ip(host):
        return Warning("LINK_IP", WARNING, {"host": host[:253]})
    real = imitated(host)
    if real is not None:
        return Warning("LINK_LOOKALIKE", DANGER, {"real": real, "host": decode_idn(host)})
    if host in SHORTENERS:
        return Warning("LINK_SHORTENER", WARNING, {"host": host})
    return None


def _link_checks(parsed: ParsedMessage, raw: bytes) -> tuple[list[Warning], list[str], bool]:
    out: list[Warning] = []
    flagged: list[str] = []
    outside = False
    links, forms = _collect_links(parsed, raw)
    by_host: dict[tuple[str, str], Warning | None] = {}  # a newsletter links to a few hosts many times
    for url, text in links:
        host, userinfo = _host(url)
        if not host:
            continue
        if not is_academie(host):
            outside = True
        if (host, userinfo) not in by_host:
            by_host[host, userinfo] = _host_warning(host, userinfo)
        reason = by_host[host, userinfo]
        if reason is None and text:
            shown = _HOSTLIKE.search(text)
            if shown:
                named = shown.group(1).lower()
                if _base(named) != _base(host) and "." in named:
                    reason = Warning("LINK_TEXT_MISMATCH", DANGER, {"shown": named[:80], "host": decode_idn(host)})
        if reason is not None:
            out.append(reason)
            if url not in flagged and len(flagged) < MAX_FLAGGED:
                flagged.append(url)
    for action in forms[:20]:
        host, _ = _host(action)
        if host and not is_academie(host):
            outside = True
            out.append(Warning("FORM_OUTSIDE", DANGER, {"host": decode_idn(host)}))
    return out, flagged, outside


def _lure_checks(parsed: ParsedMessage, external: bool, outside_link: bool) -> list[Warning]:
    if not external:
        return []
    text = _fold(f"{parsed.subject}\n{parsed.search_text[:20_000]}")
    present: dict[str | None, bool] = {None: True, **{w: w in text for w in _TERM_WORDS}}
    asks = [t for t in CREDENTIAL_TERMS if present[_TERM_WORD[t]] and t in text]
    if not asks:
        return []
    urgent = [t for t in URGENCY_TERMS if t in text]
    if outside_link:
        return [Warning("CREDENTIAL_LURE", DANGER, {"terms": asks[:3], "urgent": bool(urgent)})]
    return [Warning("CREDENTIAL_MENTION", WARNING, {"terms": asks[:3]})]


def _extension(name: str) -> tuple[str, list[str]]:
    pieces = name.lower().rsplit("/", 1)[-1].split(".")
    return (pieces[-1] if len(pieces) > 1 else ""), pieces[1:-1]


def _attachment_checks(parsed: ParsedMessage, raw: bytes) -> list[Warning]:
    out: list[Warning] = []
    parts = {p.section: p for _, p in iter_parts(parsed.root)}
    for info in parsed.attachments[:100]:
        part = parts.get(info.section)
        if part is None:
            continue
        out.extend(attachment_warnings(part, partial(decode_part_body, raw, part)))
    return out


def attachment_warnings(part: Part, data: Callable[[], bytes]) -> list[Warning]:
    """What one attachment's name (``name_warnings``) and, for Office
    files, archives and web pages, its content say (``data``, read only then
    and only below ``MAX_ATTACHMENT`` bytes)."""
    out = name_warnings(part)
    name = (part.filename or "").strip()
    ext, _ = _extension(name)
    if out or not name or ext in EXECUTABLE | MACRO_OFFICE:
        return out
    encoded = part.end - part.body_start
    if (encoded * 3 // 4 if part.encoding.lower() == "base64" else encoded) > MAX_ATTACHMENT:
        return out  # judged by name only
    if ext in OOXML or ext in OLE_OFFICE or ext in ARCHIVES or ext in ("html", "htm", "shtml"):
        out.extend(_content_checks(name, ext, data()[:MAX_ATTACHMENT]))
    return out


def name_warnings(part: Part) -> list[Warning]:
    """What an attachment's name alone says: a direction override hiding
    its extension, a program or script (behind a document's extension or
    not), an Office format with macros. Costs nothing: the webmail asks it
    again before a download."""
    name = (part.filename or "").strip()
    if not name:
        return []
    out: list[Warning] = []
    # The parser strips direction overrides from the name it shows; the
    # name as sent is in the header parameters.
    sent = part.disposition_params.get("filename") or part.params.get("name") or ""
    if any(c in sent for c in RTL_OVERRIDE):
        out.append(Warning("ATTACHMENT_RTL", DANGER, {"name": sent.encode("unicode_escape").decode()[:80]}))
    ext, inner = _extension(name)
    if ext in EXECUTABLE:
        if inner and inner[-1] in DOCUMENT_DISGUISES:
            out.append(Warning("ATTACHMENT_DOUBLE_EXTENSION", DANGER, {"name": name[:80], "shown": inner[-1], "ext": ext}))
        out.append(Warning("ATTACHMENT_EXECUTABLE", DANGER, {"name": name[:80], "ext": ext}))
    elif ext in MACRO_OFFICE:
        out.append(_macro_warning(name))
    return out


def _macro_warning(name: str) -> Warning:
    return Warning("ATTACHMENT_MACRO", DANGER, {"name": name[:80]})


def _content_checks(name: str, ext: str, data: bytes) -> list[Warning]:
    if ext in ("html", "htm", "shtml"):
        if _FORM_ANY.search(data[:MAX_HTML].decode("utf-8", "replace")):
            return [Warning("ATTACHMENT_HTML_FORM", DANGER, {"name": name[:80]})]
        return []
    if ext in OLE_OFFICE:
        return [_macro_warning(name)] if _ole_has_macros(data) else []
    if data[:4] != b"PK\x03\x04":
        return []
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))  # reads the central directory only
        entries = archive.infolist()[:MAX_ARCHIVE_ENTRIES]
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return []
    if ext in OOXML:
        if any(e.filename.lower().endswith("vbaproject.bin") for e in entries):
            return [_macro_warning(name)]
        return []
    out: list[Warning] = []
    if any(e.flag_bits & 0x1 for e in entries):
        out.append(Warning("ARCHIVE_ENCRYPTED", WARNING, {"name": name[:80]}))
    inside = [e.filename for e in entries if _extension(e.filename)[0] in EXECUTABLE | MACRO_OFFICE]
    if inside:
        out.append(Warning("ARCHIVE_EXECUTABLE", DANGER, {"name": name[:80], "inner": inside[0][:80]}))
    return out


def _ole_has_macros(data: bytes) -> bool:
    """OLE2 Office file holding a VBA project (olefile, which oletools is built on)."""
    import olefile

    if not olefile.isOleFile(io.BytesIO(data)):
        return False
    try:
        with olefile.OleFileIO(io.BytesIO(data)) as ole:
            return any("vba" in "/".join(entry).lower() for entry in ole.listdir(streams=True, storages=True))
    except Exception:  # noqa: BLE001 - a broken OLE file is judged by name only
        return False
