"""The webmail's plain-French rules and out-of-office settings, and their
two-way conversion with Sieve. The script stays the one source of truth:
``to_sieve`` writes a standard script (portable to ManageSieve clients), and
``from_sieve`` reads back any script of the shape it writes; anything else is
"advanced" and only the raw editor shows it.

Shape written (RFC 5228, 5229-free): one top-level ``if`` per rule, its test an
``anyof``/``allof`` of ``header``/``body`` tests with ``:contains`` and
``i;unicode-casemap``; a disabled rule is ``allof (false, <test>)`` so it keeps
its content; the out-of-office is a ``vacation`` guarded by ``currentdate``
(RFC 5260) for its dates, or by ``false`` when it is switched off. The
vacation comes first, so a rule's ``stop`` never hides it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from academail.filters.sieve import DEFAULT_DAYS, MAX_DAYS, ScriptError, parse_tree, quote, strings

FIELDS = {
    "from": "l'expéditeur",
    "to": "le destinataire",
    "subject": "le sujet",
    "body": "le message",
}
_HEADERS = {"from": ["from"], "to": ["to", "cc"], "subject": ["subject"]}
_COMPARATOR = "i;unicode-casemap"
MAX_VALUE = 200
MAX_CONDITIONS = 10  # per rule: the editor adds them one by one
HEADER_COMMENT = "# Filtres de la messagerie (page « Filtres »). Modifiable en mode expert."


@dataclass(frozen=True)
class Condition:
    field: str  # a key of FIELDS
    value: str


@dataclass(frozen=True)
class Rule:
    conditions: tuple[Condition, ...]
    match_all: bool = False
    folder: str = ""
    mark_read: bool = False
    forward_to: str = ""
    stop: bool = True
    enabled: bool = True


@dataclass(frozen=True)
class Vacation:
    enabled: bool = False
    start: date | None = None
    end: date | None = None
    subject: str = ""
    text: str = ""
    days: int = DEFAULT_DAYS


@dataclass(frozen=True)
class Settings:
    rules: tuple[Rule, ...] = ()
    vacation: Vacation = field(default_factory=Vacation)


# --- to Sieve -------------------------------------------------------------------------


def _test(condition: Condition) -> str:
    value = quote(condition.value)
    if condition.field == "body":
        return f'body :text :contains :comparator "{_COMPARATOR}" {value}'
    names = _HEADERS[condition.field]
    header = quote(names[0]) if len(names) == 1 else "[" + ", ".join(quote(n) for n in names) + "]"
    return f'header :contains :comparator "{_COMPARATOR}" {header} {value}'


def _rule(rule: Rule) -> str:
    tests = ", ".join(_test(c) for c in rule.conditions)
    test = f"{'allof' if rule.match_all else 'anyof'} ({tests})"
    if not rule.enabled:
        test = f"allof (false, {test})"
    actions = []
    if rule.folder:
        actions.append(f"fileinto :create {quote(rule.folder)};")
    if rule.mark_read:
        actions.append('addflag "\\\\Seen";')
    if rule.forward_to:
        actions.append(f"redirect :copy {quote(rule.forward_to)};")
    if rule.stop:
        actions.append("stop;")
    return f"if {test} {{\n" + "".join(f"    {a}\n" for a in actions) + "}\n"


def _vacation(vacation: Vacation) -> str:
    action = f"vacation :days {vacation.days} :subject {quote(vacation.subject)} {quote(vacation.text)};"
    guards = []
    if not vacation.enabled:
        guards.append("false")
    if vacation.start:
        guards.append(f'currentdate :value "ge" "date" "{vacation.start.isoformat()}"')
    if vacation.end:
        guards.append(f'currentdate :value "le" "date" "{vacation.end.isoformat()}"')
    if not guards:
        return action + "\n"
    return f"if allof ({', '.join(guards)}) {{\n    {action}\n}}\n"


def to_sieve(settings: Settings) -> str:
    vacation = settings.vacation
    has_vacation = vacation.enabled or bool(vacation.text or vacation.subject)
    requires = ["fileinto", "mailbox", "imap4flags", "copy", "body", f"comparator-{_COMPARATOR}"]
    if has_vacation:
        requires += ["vacation", "date", "relational"]
    parts = [HEADER_COMMENT, "require [" + ", ".join(quote(r) for r in requires) + "];"]
    if has_vacation:
        parts.append(_vacation(vacation).rstrip("\n"))
    parts.extend(_rule(r).rstrip("\n") for r in settings.rules)
    return "\n".join(parts) + "\n"


# --- from Sieve -----------------------------------------------------------------------


class NotSimple(Exception):
    """The script has a shape the plain-French page cannot show."""


def from_sieve(script: str) -> Settings | None:
    """The rules of a script, or None when it is not of the shape ``to_sieve``
    writes (then only the advanced mode edits it). ScriptError if invalid."""
    if not script.strip():
        return Settings()
    tree = parse_tree(script)
    try:
        return _read(tree)
    except (NotSimple, KeyError, IndexError, ValueError, TypeError):
        return None


def _read(tree: list[Any]) -> Settings:
    rules: list[Rule] = []
    vacation = Vacation()
    for node in tree:
        if node.name == "require":
            continue
        if node.name == "vacation" and not rules:
            vacation = _read_vacation(node, enabled=True, start=None, end=None)
            continue
        if node.name != "if":
            raise NotSimple(node.name)
        test = node.arguments["test"]
        children = list(node.children)
        if len(children) == 1 and children[0].name == "vacation" and not rules:
            vacation = _read_vacation_guard(test, children[0])
            continue
        rules.append(_read_rule(test, children))
    return Settings(tuple(rules), vacation)


def _read_vacation_guard(test: Any, action: Any) -> Vacation:
    guards = test.arguments["tests"] if test.name == "allof" else [test]
    enabled, start, end = True, None, None
    for guard in guards:
        if guard.name == "false":
            enabled = False
        elif guard.name == "currentdate":
            relation = strings(guard.extra_arguments.get("match-type"))
            day = date.fromisoformat(strings(guard.arguments["key-list"])[0])
            if relation == ["ge"]:
                start = day
            elif relation == ["le"]:
                end = day
            else:
                raise NotSimple("currentdate")
        else:
            raise NotSimple(guard.name)
    return _read_vacation(action, enabled=enabled, start=start, end=end)


def _read_vacation(node: Any, *, enabled: bool, start: date | None, end: date | None) -> Vacation:
    extra = node.extra_arguments
    if extra.get("from") or extra.get("addresses") or "handle" in node.arguments or "mime" in node.arguments:
        raise NotSimple("vacation")
    return Vacation(
        enabled=enabled,
        start=start,
        end=end,
        subject=(strings(extra.get("subject")) or [""])[0],
        text=strings(node.arguments["reason"])[0],
        days=int(extra.get("days") or DEFAULT_DAYS),
    )


def _read_rule(test: Any, children: list[Any]) -> Rule:
    enabled = True
    if test.name == "allof" and len(test.arguments["tests"]) == 2 and test.arguments["tests"][0].name == "false":
        enabled = False
        test = test.arguments["tests"][1]
    if test.name not in ("allof", "anyof"):
        raise NotSimple(test.name)
    conditions = tuple(_read_condition(t) for t in test.arguments["tests"])
    if not conditions:
        raise NotSimple("empty")
    folder, mark_read, forward_to, stop = "", False, "", False
    for action in children:
        if action.name == "fileinto" and not folder and "copy" not in action.arguments and "flags" not in action.arguments:
            folder = strings(action.arguments["mailbox"])[0]
        elif action.name == "addflag" and strings(action.arguments["list-of-flags"]) == ["\\Seen"]:
            mark_read = True
        elif action.name == "redirect" and not forward_to and "copy" in action.arguments:
            forward_to = strings(action.arguments["address"])[0]
        elif action.name == "stop":
            stop = True
        else:
            raise NotSimple(action.name)
    return Rule(conditions, test.name == "allof", folder, mark_read, forward_to, stop, enabled)


def _read_condition(test: Any) -> Condition:
    comparator = strings(test.extra_arguments.get("comparator"))
    if comparator != [_COMPARATOR] or str(test.arguments.get("match-type")).lower() != ":contains":
        raise NotSimple("match")
    keys = strings(test.arguments["key-list"])
    if len(keys) != 1:
        raise NotSimple("keys")
    if test.name == "body":
        if test.arguments.get("body-transform") not in (None, ":text"):
            raise NotSimple("body")
        return Condition("body", keys[0])
    if test.name != "header":
        raise NotSimple(test.name)
    names = [n.lower() for n in strings(test.arguments["header-names"])]
    for key, headers in _HEADERS.items():
        if names == headers:
            return Condition(key, keys[0])
    raise NotSimple("header")


def describe(rule: Rule) -> str:
    """The rule in plain French, for the page and the journal."""
    link = " et " if rule.match_all else " ou "
    parts = [f"{FIELDS[c.field]} contient « {c.value} »" for c in rule.conditions]
    actions = []
    if rule.folder:
        actions.append(f"déplacer dans « {rule.folder} »")
    if rule.mark_read:
        actions.append("marquer comme lu")
    if rule.forward_to:
        actions.append(f"transférer à {rule.forward_to}")
    return f"Si {link.join(parts)}, alors {', '.join(actions) or 'ne rien faire'}"


def check_rule(rule: Rule) -> Rule:
    """Validate a rule from the form; ScriptError (French) otherwise."""
    from django.core.exceptions import ValidationError
    from django.core.validators import validate_email

    from academail.store.errors import StoreError
    from academail.store.mailboxes import check_mailbox_name

    if not rule.conditions:
        raise ScriptError("Chaque règle a besoin d'au moins une condition.")
    if len(rule.conditions) > MAX_CONDITIONS:
        raise ScriptError(f"Une règle a au plus {MAX_CONDITIONS} conditions.")
    for condition in rule.conditions:
        if condition.field not in FIELDS:
            raise ScriptError("Condition inconnue.")
        if not condition.value.strip() or len(condition.value) > MAX_VALUE:
            raise ScriptError(f"Le texte d'une condition doit compter de 1 à {MAX_VALUE} caractères.")
    if not (rule.folder or rule.mark_read or rule.forward_to):
        raise ScriptError("Chaque règle a besoin d'une action : déplacer, marquer comme lu ou transférer.")
    folder = rule.folder
    if folder:
        try:
            folder = check_mailbox_name(folder)
        except StoreError as exc:
            raise ScriptError(str(exc)) from None
    if rule.forward_to:
        try:
            validate_email(rule.forward_to)
        except ValidationError:
            raise ScriptError(f"« {rule.forward_to} » n'est pas une adresse électronique valide.") from None
    return Rule(rule.conditions, rule.match_all, folder, rule.mark_read, rule.forward_to.strip(), rule.stop, rule.enabled)


def check_vacation(vacation: Vacation) -> Vacation:
    if vacation.enabled and not vacation.text.strip():
        raise ScriptError("Écrivez le texte de la réponse d'absence.")
    if vacation.start and vacation.end and vacation.end < vacation.start:
        raise ScriptError("La date de fin de l'absence précède la date de début.")
    if not 1 <= vacation.days <= MAX_DAYS:
        raise ScriptError(f"Le délai entre deux réponses va de 1 à {MAX_DAYS} jours.")
    if len(vacation.subject) > 200 or len(vacation.text) > 5000:
        raise ScriptError("Le sujet (200 caractères) ou le texte (5 000 caractères) de l'absence est trop long.")
    return vacation
