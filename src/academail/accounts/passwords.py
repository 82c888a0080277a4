"""The password policy, in one place: ``PasswordPolicyValidator`` is the only
entry of ``AUTH_PASSWORD_VALIDATORS``, so every form (first connection, reset,
change) and the admin apply the same rules, and ``evaluate`` gives the live
strength meter the same verdict as the server will.

Rules (CNIL deliberation 2022-100, first case, and the staff guide): at least
``PASSWORD_MIN_LENGTH`` (12) characters with upper case, lower case, digit and
symbol; none of the person's names, identifier, address or NUMEN inside; no
date (19xx/20xx years, dd/mm/yyyy, ddmmyy, ddmmyyyy); not a common password
(Django's list of 20,000, plus a French list compared on the letters once
digits and symbols are stripped from the ends); a zxcvbn score of at least
``PASSWORD_MIN_SCORE`` (3) with the person's data as inputs; none of the last
``PASSWORD_HISTORY`` (5) passwords. The validator also records each new hash in
``PasswordHistory`` (Django calls ``password_changed`` after a save).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import check_password
from django.contrib.auth.password_validation import CommonPasswordValidator
from django.core.exceptions import ValidationError
from zxcvbn import zxcvbn

from academail.accounts.naming import ascii_fold
from academail.store.search import fold

# zxcvbn's cost grows with length; beyond this the length alone makes it strong.
_ZXCVBN_MAX_INPUT = 72
# Argon2 accepts anything, but a megabyte "password" is a denial of service.
MAX_LENGTH = 256
_FRENCH_LIST = Path(__file__).resolve().parent / "data" / "mots-de-passe-courants-fr.txt"

_YEAR = re.compile(r"(?<!\d)(?:19|20)\d\d(?!\d)")
_SEPARATED_DATE = re.compile(r"(?<!\d)(\d{1,2})[/.\- ](\d{1,2})[/.\- ](\d{2}|\d{4})(?!\d)")
_DIGIT_RUN = re.compile(r"\d{6,8}")
_EDGES = re.compile(r"^[^a-z]+|[^a-z]+$")
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s", "€": "e"})

LABELS = ("Très faible", "Faible", "Moyen", "Fort", "Très fort")
SENTENCE_TIP = (
    "Astuce : prenez les premières lettres d'une phrase facile à retenir, avec ses "
    "chiffres et sa ponctuation : « Le 14 juillet, je pars à la mer avec Paul ! » "
    "devient « L14j,jpàlmaP! ». N'utilisez pas cet exemple."
)


@lru_cache(maxsize=1)
def _french_words() -> frozenset[str]:
    lines = _FRENCH_LIST.read_text(encoding="utf-8").splitlines()
    return frozenset(ascii_fold(line) for line in lines if line.strip() and not line.startswith("#"))


@lru_cache(maxsize=1)
def _django_common() -> CommonPasswordValidator:
    return CommonPasswordValidator()


def _fold(text: str) -> str:
    """Lower-case ASCII letters and digits: what "contains your name" compares."""
    return ascii_fold(unicodedata.normalize("NFKC", text))


def _fold_keep_symbols(text: str) -> str:
    return fold(unicodedata.normalize("NFKC", text))


def _looks_like_date(day: int, month: int) -> bool:
    return 1 <= day <= 31 and 1 <= month <= 12


def contains_date(password: str) -> bool:
    if _YEAR.search(password):
        return True
    for match in _SEPARATED_DATE.finditer(password):
        if _looks_like_date(int(match.group(1)), int(match.group(2))):
            return True
    for match in _DIGIT_RUN.finditer(password):
        run = match.group()
        # ddmmyy / ddmmyyyy anywhere in a run of digits.
        for width in (8, 6):
            for start in range(len(run) - width + 1):
                chunk = run[start:start + width]
                if _looks_like_date(int(chunk[:2]), int(chunk[2:4])):
                    return True
    return False


def personal_words(user: Any) -> list[str]:
    """The folded words of a person a password must not contain: first and last
    names (each part of at least 3 letters), identifier, local part of the
    address, NUMEN. ``user`` may be None or any object with those attributes."""
    if user is None:
        return []
    words: list[str] = []
    for attr in ("first_name", "last_name"):
        for part in re.split(r"[\s'\-’]+", getattr(user, attr, "") or ""):
            words.append(_fold(part))
    words.append(_fold(getattr(user, "identifier", "") or ""))
    words.append(_fold((getattr(user, "address", "") or "").partition("@")[0]))
    numen = numen_of(user)
    if numen:
        words.append(numen.lower())
    return sorted({w for w in words if len(w) >= 3}, key=len, reverse=True)


def numen_of(user: Any) -> str:
    """The person's NUMEN in clear, for the check only (never kept)."""
    clear = getattr(user, "_numen_clear", None)
    if clear:
        return str(clear)
    blob = getattr(user, "numen_ciphertext", None)
    if not blob:
        return ""
    from academail.accounts.secrets import decrypt_numen

    try:
        return decrypt_numen(blob)
    except ValueError:
        return ""


@dataclass
class Verdict:
    """What the policy says about a candidate password."""

    problems: list[str] = field(default_factory=list)
    score: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def label(self) -> str:
        return LABELS[self.score]


def evaluate(password: str, user: Any = None, *, check_history: bool = True) -> Verdict:
    """Every rule of the policy, in the order a person fixes them; French
    messages. ``user`` brings the personal data and the password history."""
    verdict = Verdict()
    problems = verdict.problems
    min_length = int(settings.PASSWORD_MIN_LENGTH)
    if len(password) < min_length:
        problems.append(f"Au moins {min_length} caractères (vous en avez saisi {len(password)}).")
    if len(password) > MAX_LENGTH:
        problems.append(f"Au plus {MAX_LENGTH} caractères.")
    missing = []
    if not any(c.islower() for c in password):
        missing.append("une minuscule")
    if not any(c.isupper() for c in password):
        missing.append("une majuscule")
    if not any(c.isdigit() for c in password):
        missing.append("un chiffre")
    if not any(not c.isalnum() for c in password):
        missing.append("un symbole (par exemple ! ? , ; : % #)")
    if missing:
        problems.append("Il manque " + ", ".join(missing) + ".")

    folded = _fold(password)
    words = personal_words(user)
    if any(word in folded for word in words):
        problems.append(
            "Le mot de passe ne doit contenir ni votre nom, ni votre prénom, ni votre "
            "identifiant, ni votre NUMEN."
        )
    if contains_date(password):
        problems.append("Le mot de passe ne doit pas contenir de date ni d'année (19xx, 20xx).")
    if _is_common(password):
        problems.append("Ce mot de passe fait partie des mots de passe les plus courants.")

    sample = password[:_ZXCVBN_MAX_INPUT]
    verdict.score = int(zxcvbn(sample, user_inputs=words)["score"]) if sample else 0
    if verdict.score < int(settings.PASSWORD_MIN_SCORE):
        problems.append(
            "Ce mot de passe serait trop facile à deviner : allongez-le ou évitez les "
            "mots, suites et répétitions prévisibles."
        )
    if check_history and user is not None and getattr(user, "pk", None) and is_reused(password, user):
        count = int(settings.PASSWORD_HISTORY)
        problems.append(f"Vous avez déjà utilisé ce mot de passe : choisissez-en un différent de vos {count} derniers.")
    if problems:
        verdict.score = min(verdict.score, 2)
    return verdict


def _is_common(password: str) -> bool:
    try:
        _django_common().validate(password)
    except ValidationError:
        return True
    # "Azerty123456!" and "M0tdepasse!!" are still "azerty" and "motdepasse".
    core = _EDGES.sub("", _fold_keep_symbols(password))
    letters = ascii_fold(core.translate(_LEET))
    return letters in _french_words()


def is_reused(password: str, user: Any) -> bool:
    from academail.accounts.models import PasswordHistory

    recent = PasswordHistory.objects.filter(account_id=user.pk).order_by("-id")
    hashes = list(recent.values_list("password", flat=True)[: int(settings.PASSWORD_HISTORY)])
    return any(check_password(password, encoded) for encoded in hashes)


class PasswordPolicyValidator:
    """The Django validator of the policy (see the module docstring)."""

    def validate(self, password: str, user: Any = None) -> None:
        verdict = evaluate(password, user)
        if not verdict.ok:
            raise ValidationError(
                [ValidationError(message, code="password_policy") for message in verdict.problems]
            )

    def password_changed(self, password: str, user: Any = None) -> None:
        if user is None or not getattr(user, "pk", None):
            return
        from academail.accounts.models import PasswordHistory

        PasswordHistory.objects.create(account_id=user.pk, password=user.password)
        keep = max(int(settings.PASSWORD_HISTORY), 1)
        old = PasswordHistory.objects.filter(account_id=user.pk).order_by("-id")[keep:]
        PasswordHistory.objects.filter(pk__in=list(old.values_list("pk", flat=True))).delete()

    def get_help_text(self) -> str:
        return (
            f"Au moins {settings.PASSWORD_MIN_LENGTH} caractères, avec majuscules, minuscules, "
            "chiffres et symboles ; ni votre nom, ni votre identifiant, ni votre NUMEN, ni une "
            "date ; différent de vos derniers mots de passe. " + SENTENCE_TIP
        )
