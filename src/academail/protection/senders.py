"""Each person's "Toujours accepter / toujours refuser cet expéditeur" lists
(``SenderRule``): an address, or a whole domain written ``@domaine.fr``.
Read at delivery by ``spam.verdicts``."""

from __future__ import annotations

import re

from django.db import transaction

from academail.protection.models import SenderRule

MAX_RULES = 500
_ADDRESS = re.compile(r"^(?:[^@\s<>\"]+)?@[a-z0-9.-]+\.[a-z]{2,}$")


class BadSender(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def sender_rules(account_id: int) -> list[SenderRule]:
    return list(SenderRule.objects.filter(account_id=account_id).order_by("kind", "sender")[:MAX_RULES])


def check_set_rule(account_id: int, sender: str, kind: str) -> SenderRule:
    """Add or change an entry (``kind``: "accept" or "refuse"). Raises BadSender
    with a French message for a malformed address or a full list."""
    cleaned = sender.strip().lower()
    if kind not in SenderRule.Kind.values:
        raise BadSender("Choisissez « toujours accepter » ou « toujours refuser ».")
    if not _ADDRESS.match(cleaned) or len(cleaned) > 320:
        raise BadSender(
            f"« {sender[:80]} » n'est pas une adresse : écrivez prenom.nom@domaine.fr, ou @domaine.fr pour tout un domaine."
        )
    with transaction.atomic():
        if SenderRule.objects.filter(account_id=account_id).exclude(sender=cleaned).count() >= MAX_RULES:
            raise BadSender(f"Votre liste est pleine ({MAX_RULES} expéditeurs) : retirez-en d'abord.")
        rule, _ = SenderRule.objects.update_or_create(account_id=account_id, sender=cleaned, defaults={"kind": kind})
    return rule


def do_forget_rule(account_id: int, rule_id: int) -> bool:
    return SenderRule.objects.filter(account_id=account_id, pk=rule_id).delete()[0] > 0
