"""How a person's names become a login identifier and the local part of their
address, and how homonyms are numbered. Pure functions, no database.

Rules (decided here, keep the docs in step):

- Folding: accents removed (``é`` -> ``e``), ligatures and letters without a
  decomposition spelled out (``œ`` -> ``oe``, ``æ`` -> ``ae``, ``ß`` -> ``ss``,
  ``ø`` -> ``o``...), lower-case, and only ``[a-z0-9]`` kept.
- Identifier (``jdupont``): the first letter of the folded first name, then the
  folded surname with spaces, apostrophes and hyphens removed. ``Jean-Pierre De
  La Fontaine`` -> ``jdelafontaine``.
- Local part (``jean-pierre.delafontaine``): the first name keeps the hyphens of
  a compound first name, and a space inside a first name counts as a hyphen
  (``Marie Claire`` is written ``marie-claire``, as the civil registry does); the
  surname loses spaces and apostrophes (``De La Fontaine`` -> ``delafontaine``,
  ``N'Diaye`` -> ``ndiaye``) but keeps hyphens (``Martin-Dupont`` ->
  ``martin-dupont``), because a double-barrelled surname is one name.
- Both are at most 64 characters (the unique column and the RFC 5321 §4.5.3.1.1
  local-part limit); homonyms get 1, 2, ... appended, and the base is shortened
  when needed so that the number still fits.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterator

MAX_LENGTH = 64

# Letters that NFKD does not decompose into a base letter plus accents.
_SPELLED_OUT = str.maketrans(
    {
        "æ": "ae", "Æ": "AE",
        "œ": "oe", "Œ": "OE",
        "ß": "ss", "ẞ": "SS",
        "ø": "o", "Ø": "O",
        "đ": "d", "Đ": "D",
        "ð": "d", "Ð": "D",
        "ł": "l", "Ł": "L",
        "þ": "th", "Þ": "TH",
        "ı": "i",
        "ħ": "h", "Ħ": "H",
        "ŀ": "l", "Ŀ": "L",
    }
)

_NOT_KEPT = re.compile(r"[^a-z0-9]+")
_NOT_KEPT_WITH_HYPHENS = re.compile(r"[^a-z0-9-]+")
_HYPHEN_RUNS = re.compile(r"-{2,}")
# Dashes people type or paste inside compound names.
_DASHES = str.maketrans(dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2212", "-"))


def _to_ascii_lower(name: str) -> str:
    # Identifiers: differs on purpose from store.search.fold (spelled-out letters
    # such as ß -> ss and Ø -> o, dashes unified, ASCII only).
    if name.isascii():  # NFKC, NFKD, the tables and the accents leave ASCII as it is
        return name.lower()
    text = unicodedata.normalize("NFKC", name).translate(_SPELLED_OUT).translate(_DASHES)
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def ascii_fold(name: str) -> str:
    """Lower-case ASCII letters and digits only: ``"N'Diaye"`` -> ``"ndiaye"``,
    ``"Müller-Lüdenscheidt"`` -> ``"mullerludenscheidt"``, ``"Ærø"`` -> ``"aero"``."""
    return _NOT_KEPT.sub("", _to_ascii_lower(name))


def name_key(first_name: str, last_name: str) -> str:
    """A person's names as compared when an outside sender borrows them
    (``Account.name_key``): each name ``ascii_fold``ed, so "Helene MARTIN",
    "hélène martin" and "Hélène Martin" are one key, as are "Anne-Marie" and
    "Anne Marie"."""
    return f"{ascii_fold(first_name)} {ascii_fold(last_name)}"


def _fold_keeping_hyphens(name: str, *, space_is_hyphen: bool) -> str:
    text = _to_ascii_lower(name)
    if space_is_hyphen:
        text = re.sub(r"\s+", "-", text.strip())
    text = _NOT_KEPT_WITH_HYPHENS.sub("", text)
    return _HYPHEN_RUNS.sub("-", text).strip("-")


def _require(folded: str, name: str, what: str) -> str:
    if not folded:
        raise ValueError(
            f"Le {what} « {name} » ne contient aucune lettre ni aucun chiffre utilisable "
            "pour former l'identifiant et l'adresse : saisissez-le en caractères latins."
        )
    return folded


def _shorten(text: str, length: int) -> str:
    return text[:length].rstrip("-.")


def base_identifier(first_name: str, last_name: str) -> str:
    """``("Jean-Pierre", "De La Fontaine")`` -> ``"jdelafontaine"``.

    Raises ``ValueError`` (French message) when a name folds to nothing.
    """
    first = _require(ascii_fold(first_name), first_name, "prénom")
    last = _require(ascii_fold(last_name), last_name, "nom")
    return _shorten(first[0] + last, MAX_LENGTH)


def base_local_part(first_name: str, last_name: str) -> str:
    """``("Jean-Pierre", "De La Fontaine")`` -> ``"jean-pierre.delafontaine"``;
    ``("Anne", "Martin-Dupont")`` -> ``"anne.martin-dupont"``.

    Raises ``ValueError`` (French message) when a name folds to nothing.
    """
    first = _require(_fold_keeping_hyphens(first_name, space_is_hyphen=True), first_name, "prénom")
    last = _require(_fold_keeping_hyphens(last_name, space_is_hyphen=False), last_name, "nom")
    return _shorten(f"{first}.{last}", MAX_LENGTH)


def candidates(base: str, *, max_length: int = MAX_LENGTH) -> Iterator[str]:
    """``base``, ``base1``, ``base2``, ... each at most ``max_length`` long."""
    yield _shorten(base, max_length)
    number = 1
    while True:
        suffix = str(number)
        yield _shorten(base, max_length - len(suffix)) + suffix
        number += 1


def next_free(base: str, taken: Callable[[str], bool], *, max_length: int = MAX_LENGTH) -> str:
    """The first of ``base``, ``base1``, ``base2``, ... for which ``taken`` is false.

    ``taken`` is asked one name at a time, in that order; it decides what
    "taken" means (the services check identifiers, addresses and aliases,
    case-insensitively)."""
    if not base:
        raise ValueError("base must not be empty")
    for candidate in candidates(base, max_length=max_length):
        if not taken(candidate):
            return candidate
    raise AssertionError("unreachable: candidates() is infinite")
