"""Agents' canned answers and their placeholders, filled in from the ticket:
{prenom}, {nom}, {identifiant}, {numero}, {adresse}, {lien_assistance}.
An unknown placeholder is left as written (the agent sees it and fixes it)."""

from __future__ import annotations

import re

from django.conf import settings
from django.db.models import Q
from django.urls import reverse

from academail.assistance.models import CannedAnswer, Ticket

_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


def for_category(category: str) -> list[CannedAnswer]:
    return list(CannedAnswer.objects.filter(Q(category=category) | Q(category="")))


def values(ticket: Ticket) -> dict[str, str]:
    first, _, last = ticket.name.partition(" ")
    account = ticket.account
    return {
        "prenom": account.first_name if account else first,
        "nom": account.last_name if account else last,
        "identifiant": account.identifier if account else ticket.identifier_given,
        "numero": str(ticket.pk),
        "adresse": account.address if account else "",
        "lien_assistance": str(settings.PUBLIC_URL).rstrip("/") + reverse("assistance:new"),
    }


def fill(text: str, ticket: Ticket) -> str:
    known = values(ticket)
    return _PLACEHOLDER.sub(lambda m: known.get(m.group(1), m.group(0)), text)


def all_answers() -> list[CannedAnswer]:
    return list(CannedAnswer.objects.all()[:500])


def do_save(answer_id: int | None, *, category: str, title: str, body: str) -> CannedAnswer:
    """Create (``answer_id`` None) or change a canned answer. Raises
    ``CannedAnswer.DoesNotExist`` for an unknown id."""
    answer = CannedAnswer() if answer_id is None else CannedAnswer.objects.get(pk=answer_id)
    answer.category, answer.title, answer.body = category, title.strip()[:120], body.strip()[:5000]
    answer.save()
    return answer


def do_delete(answer_id: int) -> None:
    CannedAnswer.objects.filter(pk=answer_id).delete()


def render(template_id: int, ticket: Ticket) -> str:
    found = CannedAnswer.objects.filter(pk=template_id).first()
    return fill(found.body, ticket) if found is not None else ""
