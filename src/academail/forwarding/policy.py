"""The académie's forwarding policy: may mail of an account go to a target
address? One pure function, ``decide``, used by the forwarding page (before any
confirmation link is sent, with no message), at delivery for the person's
forward and for Sieve ``redirect`` (with the message).

Rules, in order:

1. a target in the académie's own domains (``MAIL_DOMAINS``) is allowed;
2. a message marked sensitive never leaves those domains: a subject tag
   (``SENSITIVE_SUBJECT_TAGS``, default ``[DIFFUSION RESTREINTE]``, compared
   without case or accents) or a header (``SENSITIVE_HEADERS``, default
   ``X-Academail-Sensitivity: restricted`` and Outlook's
   ``Sensitivity: Company-Confidential``, RFC 2156 §5.3.4). The public-education
   domains of rule 3 are outside the académie: sensitive mail does not go
   there either ("certaines informations sensibles ne doivent jamais quitter
   l'environnement académique");
3. a target in ``FORWARD_ALLOWED_DOMAINS`` (listed public-education domains,
   exact names) is allowed;
4. anywhere else: refused (``FORWARD_OUTSIDE=refuse``, the default) or held
   for an administrator's approval (``FORWARD_OUTSIDE=hold``).

Reasons are French: the person reads them on the page and in the journal.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.utils.translation import gettext as _

from academail.store.search import fold as fold_text

_ADDRESS = re.compile(r"^[^@\s<>()\[\],;:\"\\]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?)+$")


class Verdict(enum.Enum):
    ALLOW = "allow"
    HOLD = "hold"
    REFUSE = "refuse"


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    reason: str = ""  # French, for the page and the journal

    @property
    def allowed(self) -> bool:
        return self.verdict is Verdict.ALLOW


@dataclass(frozen=True)
class MessageMarks:
    """What the policy reads of a message: its decoded subject and header fields
    (lower-case name, unfolded value)."""

    subject: str
    headers: tuple[tuple[str, str], ...] = ()


def fold(text: str) -> str:
    """Case, accents and runs of spaces ignored: "[Diffusion  restreinte]" is
    "[DIFFUSION RESTREINTE]"."""
    return " ".join(fold_text(text).split())  # the one folding (store.search.fold), spaces collapsed


def is_valid_address(address: str) -> bool:
    return len(address) <= 254 and bool(_ADDRESS.match(address))


def domain_of(address: str) -> str:
    return address.rpartition("@")[2].lower().rstrip(".")


def is_academie(address: str) -> bool:
    return domain_of(address) in settings.MAIL_DOMAINS


def _sensitive_headers() -> list[tuple[str, str]]:
    rules = []
    for entry in settings.SENSITIVE_HEADERS:
        name, _sep, value = entry.partition(":")
        if name.strip():
            rules.append((name.strip().lower(), fold(value)))
    return rules


def sensitivity(marks: MessageMarks) -> str | None:
    """The French reason a message is sensitive, or None."""
    subject = fold(marks.subject)
    for tag in settings.SENSITIVE_SUBJECT_TAGS:
        if fold(tag) and fold(tag) in subject:
            return _("l'objet porte la mention « %(tag)s »") % {"tag": tag}
    rules = _sensitive_headers()
    for name, value in marks.headers:
        for rule_name, rule_value in rules:
            if name == rule_name and (not rule_value or fold(value) == rule_value):
                return _("le message porte l'en-tête « %(name)s: %(value)s »") % {"name": name, "value": value}
    return None


def allowed_domains() -> list[str]:
    """What the page lists: the académie's domains, then the other allowed ones."""
    return [*settings.MAIL_DOMAINS, *(d for d in settings.FORWARD_ALLOWED_DOMAINS if d not in settings.MAIL_DOMAINS)]


def decide(account_address: str, target: str, message: MessageMarks | None = None) -> Decision:
    """May mail for ``account_address`` go to ``target``? ``message`` None: the
    question asked when the person sets the target up (no sensitivity yet)."""
    target = target.strip()
    if not is_valid_address(target):
        return Decision(Verdict.REFUSE, _("« %(target)s » n'est pas une adresse électronique valide.") % {"target": target})
    if target.lower() == account_address.strip().lower():
        return Decision(Verdict.REFUSE, _("C'est l'adresse de cette boîte : le transfert tournerait en rond."))
    domain = domain_of(target)
    if domain in settings.MAIL_DOMAINS:
        return Decision(Verdict.ALLOW)
    if message is not None:
        why = sensitivity(message)
        if why is not None:
            return Decision(Verdict.REFUSE, _(
                "Message non transféré vers %(target)s : %(why)s. Les messages à diffusion restreinte "
                "ne quittent jamais les adresses de l'académie ; il reste dans votre boîte."
            ) % {"target": target, "why": why})
    if domain in settings.FORWARD_ALLOWED_DOMAINS:
        return Decision(Verdict.ALLOW)
    listed = ", ".join(allowed_domains())
    if settings.FORWARD_OUTSIDE == "hold":
        return Decision(Verdict.HOLD, _(
            "Le domaine %(domain)s est extérieur à l'Éducation nationale : chaque message transféré vers "
            "%(target)s attendra l'accord d'un administrateur (une copie reste dans votre boîte). "
            "Domaines transférés sans attente : %(listed)s."
        ) % {"domain": domain, "target": target, "listed": listed})
    return Decision(Verdict.REFUSE, _(
        "Le transfert vers %(target)s n'est pas autorisé : les règles de l'académie ne permettent de "
        "transférer le courrier professionnel que vers les domaines %(listed)s, car certaines informations "
        "ne doivent pas quitter l'environnement académique. Choisissez une adresse de l'un de ces domaines, "
        "ou consultez vos messages depuis la messagerie ou votre téléphone."
    ) % {"target": target, "listed": listed})


def marks_from(subject: str, fields: Iterable[tuple[str, str]]) -> MessageMarks:
    return MessageMarks(subject, tuple((n.lower(), v) for n, v in fields))
