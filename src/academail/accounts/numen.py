"""The NUMEN (NUMéro d'Identification de l'Éducation Nationale): its normal form
and its validation, with messages that tell a person exactly which typo they made.

A NUMEN has 13 characters: a two-digit académie code, one letter, then ten digits
or letters (``11E9501234ABC``). People copy it from payslips and letters with
spaces, dashes or dots between groups, so those are removed before checking. This
module is pure: no database, no key material (see ``accounts.secrets`` for the
encryption and the lookup hash of a validated NUMEN).
"""

from __future__ import annotations

import string

NUMEN_LENGTH = 13

# Characters people put between groups when they copy a NUMEN: spaces of every
# kind (NBSP and the narrow NBSP come from word processors), ASCII and Unicode
# dashes, dots, underscores.
_SEPARATORS = frozenset("-._\u2010\u2011\u2012\u2013\u2014\u2212")
_DIGITS = frozenset(string.digits)
_LETTERS = frozenset(string.ascii_uppercase)
# Checked on the text as typed, before upper-casing: "ß".upper() is "SS" and the
# dotless "ı".upper() is "I", so only plain ASCII letters and digits may pass.
_ALLOWED_AS_TYPED = _DIGITS | _LETTERS | frozenset(string.ascii_lowercase)


class NumenError(ValueError):
    """A NUMEN that cannot be right. ``str()`` is a French sentence for the user;
    ``code`` is a stable name for programs and tests; ``position`` is the
    1-based position of the faulty character, when there is one."""

    def __init__(self, message: str, *, code: str, position: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.position = position

    def __str__(self) -> str:
        return self.message


def _is_separator(char: str) -> bool:
    return char.isspace() or char in _SEPARATORS


def _strip_separators(text: str) -> str:
    return "".join(char for char in text if not _is_separator(char))


def normalize_numen(text: str) -> str:
    """Remove separators (spaces including NBSP, dashes, dots, underscores) and
    upper-case. Does not validate."""
    return _strip_separators(text).upper()


def _ordinal(position: int) -> str:
    return "1er" if position == 1 else f"{position}e"


def _describe(char: str) -> str:
    """Name a character in a message, making invisible ones visible."""
    if not char.isprintable():
        return f"« U+{ord(char):04X} »"
    return f"« {char} »"


def validate_numen(text: str) -> str:
    """Return the normalised NUMEN, or raise :class:`NumenError` naming the first
    problem found.

    Checks run in the order that gives the most useful advice: empty input,
    forbidden characters (a stray « / » or « é » also makes the length wrong, and
    removing it is the fix), length, then the three positional rules.
    """
    compact = _strip_separators(text)
    if not compact:
        raise NumenError(
            "Le NUMEN est vide : saisissez les 13 caractères de votre NUMEN "
            "(par exemple 11E9501234ABC).",
            code="empty",
        )

    for index, char in enumerate(compact):
        if char not in _ALLOWED_AS_TYPED:
            raise NumenError(
                f"Le caractère {_describe(char)} n'est pas autorisé dans un NUMEN : "
                "seuls les chiffres et les lettres sans accent sont acceptés.",
                code="forbidden_character",
                position=index + 1,
            )

    numen = compact.upper()
    if len(numen) != NUMEN_LENGTH:
        raise NumenError(
            f"Le NUMEN comporte {NUMEN_LENGTH} caractères ; vous en avez saisi {len(numen)}.",
            code="length",
        )

    for index in (0, 1):
        char = numen[index]
        if char in _DIGITS:
            continue
        position = index + 1
        if char == "O":
            raise NumenError(
                f"Le {_ordinal(position)} caractère doit être un chiffre : "
                "avez-vous tapé la lettre O au lieu du zéro ?",
                code="letter_o_for_zero",
                position=position,
            )
        if char in {"I", "L"}:
            raise NumenError(
                f"Le {_ordinal(position)} caractère doit être un chiffre : "
                f"avez-vous tapé la lettre {char} au lieu du chiffre 1 ?",
                code="letter_for_one",
                position=position,
            )
        raise NumenError(
            f"Le {_ordinal(position)} caractère doit être un chiffre "
            f"(code de l'académie), et non la lettre « {char} ».",
            code="digit_expected",
            position=position,
        )

    if numen[2] not in _LETTERS:
        raise NumenError(
            f"Le 3e caractère doit être une lettre, et non le chiffre « {numen[2]} ».",
            code="letter_expected",
            position=3,
        )
    return numen


def is_numen(text: str) -> bool:
    """True if ``text`` is a valid NUMEN (after normalisation)."""
    try:
        validate_numen(text)
    except NumenError:
        return False
    return True
