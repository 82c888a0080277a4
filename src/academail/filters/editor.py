"""The simple filter form, read and re-drawn: its rules and out-of-office as
``Settings`` (checked, to save or test), or as a draft kept exactly as typed
when a condition is added or removed ("Ajouter une condition", "Retirer cette
condition": a plain post that re-draws the form, so it works without
JavaScript). Each rule card says how many condition lines it shows in
``rule-<i>-conds``; a rule has 1 to ``MAX_CONDITIONS`` of them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.http import QueryDict

from academail.filters.queries import Match
from academail.filters.rules import (
    MAX_CONDITIONS,
    Condition,
    Rule,
    Settings,
    Vacation,
    check_rule,
    check_vacation,
)
from academail.filters.sieve import DEFAULT_DAYS, ScriptError

MAX_RULES = 1000
DEFAULT_SLOTS = 2  # a form posted without ``rule-<i>-conds`` (older page) had two lines
_ADD = re.compile(r"addcond-(\d+)")
_REMOVE = re.compile(r"delcond-(\d+)-(\d+)")

Results = tuple[int, list[Match]]


def _text(data: QueryDict, key: str, limit: int = 5000) -> str:
    return data.get(key, "").replace("\r\n", "\n").strip()[:limit]


def _date(data: QueryDict, key: str) -> date | None:
    try:
        return date.fromisoformat(data.get(key, "").strip()) if data.get(key, "").strip() else None
    except ValueError:
        raise ScriptError("Une date d'absence n'est pas valide (format attendu : AAAA-MM-JJ).") from None


def _int(data: QueryDict, key: str, default: int) -> int:
    try:
        return int(data.get(key, default))
    except ValueError:
        return default


def _rule_count(data: QueryDict) -> int:
    return max(0, min(_int(data, "rules", 0), MAX_RULES + 1))


def _slots(data: QueryDict, i: int) -> int:
    """How many condition lines rule ``i`` showed (one more than allowed is
    read, so that ``check_rule`` refuses it rather than dropping it)."""
    return max(1, min(_int(data, f"rule-{i}-conds", DEFAULT_SLOTS), MAX_CONDITIONS + 1))


def _conditions(data: QueryDict, i: int) -> list[Condition]:
    """Every condition line of rule ``i``, blank ones included."""
    p = f"rule-{i}-"
    return [Condition(data.get(f"{p}field{k}", "subject"), _text(data, f"{p}value{k}", 500))
            for k in range(_slots(data, i))]


def _unchecked_rule(data: QueryDict, i: int, conditions: tuple[Condition, ...]) -> Rule:
    p = f"rule-{i}-"
    return Rule(
        conditions, data.get(p + "match") == "all",
        _text(data, p + "newfolder", 600) or _text(data, p + "folder", 600), bool(data.get(p + "read")),
        _text(data, p + "forward", 320), bool(data.get(p + "stop")), bool(data.get(p + "enabled")),
    )


def parse_rule(data: QueryDict, i: int) -> Rule | None:
    """Rule ``i`` of the form, checked; None when it is blank or marked for deletion.
    The folder is the one chosen in the list, or the new one typed beside it."""
    if data.get(f"rule-{i}-delete"):
        return None
    rule = _unchecked_rule(data, i, tuple(c for c in _conditions(data, i) if c.value))
    if not rule.conditions and not rule.folder and not rule.forward_to:
        return None
    try:
        return check_rule(rule)
    except ScriptError as exc:
        raise ScriptError(f"Règle {i + 1} : {exc.message}") from None


def parse_form(data: QueryDict) -> Settings:
    """Rules and vacation from the form, in the order given; blank rules dropped."""
    ordered: list[tuple[float, int, Rule]] = []
    for i in range(_rule_count(data)):
        rule = parse_rule(data, i)
        if rule is None:
            continue
        try:
            order = float(data.get(f"rule-{i}-order", i + 1))
        except ValueError:
            order = i + 1
        ordered.append((order, i, rule))
    if len(ordered) > MAX_RULES:
        raise ScriptError(f"{MAX_RULES} règles au plus.")
    return Settings(tuple(r for _, _, r in sorted(ordered)), check_vacation(_vacation(data)))


def _vacation(data: QueryDict) -> Vacation:
    return Vacation(
        enabled=bool(data.get("vac-enabled")),
        start=_date(data, "vac-start"),
        end=_date(data, "vac-end"),
        subject=_text(data, "vac-subject", 200),
        text=_text(data, "vac-text"),
        days=_int(data, "vac-days", 0) if "vac-days" in data else DEFAULT_DAYS,
    )


# --- drawing the form -----------------------------------------------------------------


@dataclass(frozen=True)
class Card:
    """One rule card as drawn: its rule (unchecked in a draft), its condition
    lines, blank ones included, and the place it was typed in."""

    rule: Rule
    conditions: tuple[Condition, ...]
    order: int
    delete: bool = False
    focus: int | None = None  # the condition line to put the cursor in


@dataclass(frozen=True)
class Draft:
    cards: tuple[Card, ...]  # the last one is the blank "Nouvelle règle"
    vacation: Vacation
    error: str = ""


def is_condition_action(action: str) -> bool:
    return bool(_ADD.fullmatch(action) or _REMOVE.fullmatch(action))


def edit_conditions(data: QueryDict, action: str) -> Draft:
    """The form as typed, with one condition line added to a rule
    (``addcond-<i>``) or line ``k`` removed (``delcond-<i>-<k>``); nothing is
    checked or saved. A rule keeps at least one line (removing the last one
    blanks it) and at most ``MAX_CONDITIONS`` (``error`` says so)."""
    add, remove = _ADD.fullmatch(action), _REMOVE.fullmatch(action)
    error = ""
    cards = []
    for i in range(max(1, _rule_count(data))):
        lines = _conditions(data, i)[:MAX_CONDITIONS]
        focus = None
        if add and int(add[1]) == i:
            if len(lines) >= MAX_CONDITIONS:
                error = f"Règle {i + 1} : {MAX_CONDITIONS} conditions au plus."
            else:
                lines.append(Condition("subject", ""))
                focus = len(lines) - 1
        if remove and int(remove[1]) == i and int(remove[2]) < len(lines):
            del lines[int(remove[2])]
            lines = lines or [Condition("subject", "")]
            focus = min(int(remove[2]), len(lines) - 1)
        cards.append(Card(_unchecked_rule(data, i, tuple(c for c in lines if c.value)), tuple(lines),
                          _int(data, f"rule-{i}-order", i + 1), bool(data.get(f"rule-{i}-delete")), focus))
    try:
        vacation = _vacation(data)
    except ScriptError as exc:
        vacation, error = Vacation(), error or exc.message
    return Draft(tuple(cards), vacation, error)


def cards(settings: Settings) -> tuple[Card, ...]:
    """The saved rules, then a blank one to add a rule ("ne pas appliquer les
    règles suivantes" off, as the issue asks: stopping is the exception)."""
    blank = Rule((), stop=False, enabled=True)
    return tuple(Card(rule, rule.conditions or (Condition("subject", ""),), i + 1)
                 for i, rule in enumerate((*settings.rules, blank)))


def rows(cards: tuple[Card, ...], folders: set[str], tested: tuple[int, Results] | None = None) -> list[dict[str, Any]]:
    """The template's view of the cards. ``tested``: (position of a rule, its
    test results), shown in its card."""
    rows = []
    last = len(cards) - 1
    for i, card in enumerate(cards):
        rule = card.rule
        rows.append({"index": i, "number": i + 1, "order": card.order, "rule": rule, "new": i == last,
                     "delete": card.delete, "conditions": card.conditions, "focus": card.focus,
                     "more": len(card.conditions) < MAX_CONDITIONS,
                     "results": tested[1] if tested is not None and tested[0] == i else None,
                     "results_id": f"rule-{i}-results",
                     "folder_missing": bool(rule.folder) and rule.folder not in folders})
    return rows
