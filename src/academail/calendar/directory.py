"""The académie directory as a read-only CardDAV address book: one vCard per
active account (name, address, établissement; nothing else), generated into
the one shared collection that every home links as ``annuaire``
(``calendar.dav``).

Generated, not served live: phones sync an address book with ``sync-collection``
(RFC 6578) and expect stable ETags, which files give for free through Radicale.
A run renders every card in memory (one query, ``iterator``), compares each
card's digest with the manifest of the previous run and writes only the cards
that changed or appeared, and removes the cards of accounts that left; a quiet
run over 60,000 accounts writes nothing. The ``calendar.directory`` job runs it
hourly (worker), and ``academail manage calendar_directory`` on demand.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from academail.accounts.models import Account, Status
from academail.calendar.dav import ensure_directory_collection

MANIFEST = ".academail-manifest.json"
_FOLD_AT = 75  # RFC 6350 §3.2: lines of at most 75 octets, continued with a space


def _escape(value: str) -> str:
    # RFC 6350 §3.4: backslash, comma, semicolon and newline are escaped in text values.
    return (value.replace("\\", "\\\\").replace(",", "\\,").replace(";", "\\;")
            .replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", ""))


def _fold(line: str) -> str:
    encoded = line.encode("utf-8")
    if len(encoded) <= _FOLD_AT:
        return line
    pieces: list[str] = []
    current = ""
    size = 0
    limit = _FOLD_AT
    for char in line:
        width = len(char.encode("utf-8"))
        if size + width > limit:
            pieces.append(current)
            current, size, limit = "", 0, _FOLD_AT - 1
        current += char
        size += width
    pieces.append(current)
    return "\r\n ".join(pieces)


def render_card(identifier: str, first_name: str, last_name: str, address: str, establishment: str) -> str:
    """One vCard 3.0 (RFC 2426; what every phone reads) for a directory entry."""
    full_name = " ".join(part for part in (first_name, last_name) if part) or address
    lines = [
        "BEGIN:VCARD",
        "VERSION:3.0",
        f"UID:annuaire-{identifier}",
        f"FN:{_escape(full_name)}",
        f"N:{_escape(last_name)};{_escape(first_name)};;;",
        f"EMAIL;TYPE=INTERNET,WORK:{address}",
    ]
    if establishment:
        lines.append(f"ORG:{_escape(establishment)}")
    lines.append("END:VCARD")
    return "".join(_fold(line) + "\r\n" for line in lines)


@dataclass(frozen=True)
class DirectoryReport:
    cards: int
    written: int
    removed: int


def _write_atomically(path: Path, data: bytes) -> None:
    temporary = path.with_name("." + path.name + ".tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)


def do_generate_directory() -> DirectoryReport:
    """Bring the shared directory collection in line with the active accounts.

    Precondition: none (creates the collection if missing). Safe to run while
    Radicale serves it: each card is replaced atomically (rename), and Radicale
    recomputes ETags and sync tokens from the files."""
    folder = ensure_directory_collection()
    manifest_path = folder / MANIFEST
    try:
        previous: dict[str, str] = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        previous = {}
    current: dict[str, str] = {}
    written = 0
    rows = (Account.objects.filter(status=Status.ACTIVE)
            .values_list("identifier", "first_name", "last_name", "address", "establishment")
            .order_by())
    for identifier, first, last, address, establishment in rows.iterator(chunk_size=5000):
        href = f"{identifier}.vcf"
        data = render_card(identifier, first, last, address, establishment).encode("utf-8")
        digest = hashlib.sha256(data).hexdigest()
        current[href] = digest
        if previous.get(href) != digest or not (folder / href).exists():
            _write_atomically(folder / href, data)
            written += 1
    removed = 0
    for href in previous.keys() - current.keys():
        try:
            (folder / href).unlink()
            removed += 1
        except FileNotFoundError:
            pass
    _write_atomically(manifest_path, json.dumps(current, sort_keys=True).encode())
    return DirectoryReport(cards=len(current), written=written, removed=removed)
