"""The Sieve language: parse a script with sievelib (RFC 5228 grammar, errors in
French with their line), compile its tree once into closures, and run the
compiled program over one message. Nothing here touches the database; the
engine (``filters.engine``) loads, caches and decides.

Supported: tests header, address, envelope, size, exists, body (text of the
index, RFC 5173), currentdate (RFC 5260, for the out-of-office dates), allof,
anyof, not, true, false; match types :is :contains :matches :regex (draft
"regex"), :value and :count (RFC 5231); comparators i;octet, i;ascii-casemap and
i;unicode-casemap (RFC 5051: here accent- and case-insensitive through
``store.search.fold``); actions keep, fileinto (:create, :copy, :flags),
discard, redirect (:copy), addflag/setflag/removeflag (RFC 5232), stop,
vacation (RFC 5230), reject/ereject (RFC 5429).

:regex runs on the ``regex`` module with a timeout, a pattern of at most
``MAX_REGEX_PATTERN`` characters and a subject text cut at ``MAX_REGEX_TEXT``: a
pattern built to backtrack forever costs at most the timeout, then the script
fails (implicit keep). :matches is our own two-pointer wildcard matcher
(O(len(text) × len(pattern)), no backtracking blow-up).
"""

from __future__ import annotations

import re
import threading
import unicodedata
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import regex
from sievelib import commands as sieve_commands
from sievelib.parser import Parser

from academail.store.errors import StoreError
from academail.store.mailboxes import check_mailbox_name
from academail.store.search import fold

MAX_SCRIPT_CHARS = 512 * 1024
MAX_REGEX_PATTERN = 512
MAX_REGEX_TEXT = 64 * 1024
REGEX_TIMEOUT = 0.05  # seconds per match
MAX_DAYS = 30
DEFAULT_DAYS = 7

# sievelib only knows i;octet and i;ascii-casemap; RFC 5051's i;unicode-casemap is
# what makes "réunion" match "REUNION" (the example), so we accept it.
_COMPARATOR_VALUES: list[str] = sieve_commands.comparator["extra_arg"]["values"]
if '"i;unicode-casemap"' not in _COMPARATOR_VALUES:
    _COMPARATOR_VALUES.append('"i;unicode-casemap"')


class ErejectCommand(sieve_commands.ActionCommand):
    """RFC 5429 ereject, which sievelib lacks."""

    extension = "ereject"
    args_definition = [{"name": "text", "type": ["string"], "required": True}]


sieve_commands.add_commands(ErejectCommand)

# sievelib keeps its parser state in a module global: one parse at a time.
_PARSE_LOCK = threading.Lock()


class ScriptError(Exception):
    """A script that cannot run; ``message`` is French, for the person."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


_ERRORS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"unknown command '(.+)'"), "commande inconnue « {0} »"),
    (re.compile(r"extension '(.+)' not loaded"), "l'extension « {0} » doit être déclarée par require"),
    (re.compile(r"bad value (.+) for argument (.+)"), "valeur {0} invalide pour l'argument {1}"),
    (re.compile(r"parsing error: (.+) unexpected after an? (.+)"), "« {0} » inattendu après {1}"),
    (re.compile(r"parsing error: end of script reached"), "fin du script inattendue (accolade ou point-virgule manquant)"),
    (re.compile(r"parsing error: unexpected token '(.+)' found"), "symbole « {0} » inattendu"),
    (re.compile(r"(.+) is not a valid extension"), "extension {0} inconnue"),
    (re.compile(r"missing argument|argument .* missing", re.I), "argument manquant"),
]


def french_error(text: str) -> str:
    """sievelib's English error ("line 2: ...") as a French sentence with the line."""
    line, detail = "", text.strip()
    found = re.match(r"line (\d+): (.*)", detail, re.S)
    if found:
        line, detail = found.group(1), found.group(2)
    for pattern, french in _ERRORS:
        hit = pattern.search(detail)
        if hit:
            detail = french.format(*hit.groups())
            break
    else:
        detail = f"erreur de syntaxe ({detail})"
    return f"Ligne {line} : {detail}" if line else detail[:1].upper() + detail[1:]


def parse_tree(script: str) -> list[Any]:
    """The sievelib command tree of ``script``; ScriptError (French) if invalid."""
    if len(script) > MAX_SCRIPT_CHARS:
        raise ScriptError("Le script est trop long (512 Kio au plus).")
    with _PARSE_LOCK:
        parser = Parser()
        try:
            ok = parser.parse(script)
        except Exception as exc:  # noqa: BLE001 - a parser bug is a script error, never a crash
            raise ScriptError(f"Script illisible : {exc}") from None
        if not ok:
            raise ScriptError(french_error(str(getattr(parser, "error", "erreur de syntaxe"))))
        return list(parser.result)


# --- strings -------------------------------------------------------------------


def unquote(value: str) -> str:
    """A Sieve string token (quoted, RFC 5228 §2.4.2, or multi-line ``text:``)."""
    if value.startswith('"'):
        return re.sub(r"\\(.)", r"\1", value[1:-1], flags=re.S)
    if value.startswith("text:"):
        body = value.split("\n", 1)[1] if "\n" in value else ""
        body = body.replace("\r\n", "\n")
        if body.endswith("\n."):
            body = body[:-2]
        elif body == ".":
            body = ""
        lines = [line[1:] if line.startswith("..") else line for line in body.split("\n")]
        return "\n".join(lines)
    return value


def strings(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        return [unquote(v) for v in value]
    return [unquote(value)]


def quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


# --- the message as a script sees it ----------------------------------------------


@dataclass(frozen=True, slots=True)
class Addr:
    local: str
    domain: str

    @property
    def all(self) -> str:
        return f"{self.local}@{self.domain}" if self.domain else self.local


def split_address(text: str) -> Addr:
    text = text.strip().strip("<>")
    local, at, domain = text.rpartition("@")
    return Addr(local, domain) if at else Addr(text, "")


class MessageView(ABC):
    """What tests read. Subclasses supply headers; values are cached per comparator."""

    def __init__(self, *, envelope_from: str, envelope_to: str, size: int, body: str, now: datetime) -> None:
        self.envelope_from = envelope_from
        self.envelope_to = envelope_to
        self.size = size
        self.body = body
        self.now = now
        self._folded: dict[tuple[str, str], list[str]] = {}

    @abstractmethod
    def header(self, name: str) -> list[str]: ...

    @abstractmethod
    def addresses(self, name: str) -> list[Addr]: ...

    def folded_body(self, comparator: str) -> str:
        """The body text normalised once per message, however many body tests."""
        key = ("\0body", comparator)
        cached = self._folded.get(key)
        if cached is None:
            cached = [normalize(self.body, comparator)]
            self._folded[key] = cached
        return cached[0]

    def folded(self, name: str, comparator: str) -> list[str]:
        key = (name, comparator)
        cached = self._folded.get(key)
        if cached is None:
            cached = [normalize(v, comparator) for v in self.header(name)]
            self._folded[key] = cached
        return cached


def _ascii_lower(text: str) -> str:
    return text.translate(_ASCII_LOWER)


_ASCII_LOWER = {c: c + 32 for c in range(ord("A"), ord("Z") + 1)}


def normalize(text: str, comparator: str) -> str:
    if comparator == "i;octet":
        return text
    if comparator == "i;unicode-casemap":
        return fold(text)
    return _ascii_lower(text)


def _strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


# --- matching --------------------------------------------------------------------


def wildcard_match(pattern: Sequence[tuple[str, str]], text: str) -> bool:
    """RFC 5228 §2.7.1 :matches over tokens ("lit", c) / ("?", "") / ("*", "");
    the classic two-pointer algorithm with one resume point: O(n × m)."""
    p = t = 0
    star_p, star_t = -1, 0
    n, m = len(text), len(pattern)
    while t < n:
        if p < m and (pattern[p][0] == "?" or (pattern[p][0] == "lit" and pattern[p][1] == text[t])):
            p += 1
            t += 1
        elif p < m and pattern[p][0] == "*":
            star_p, star_t = p, t
            p += 1
        elif star_p >= 0:
            p = star_p + 1
            star_t += 1
            t = star_t
        else:
            return False
    while p < m and pattern[p][0] == "*":
        p += 1
    return p == m


def wildcard_tokens(key: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    escaped = False
    for ch in key:
        if escaped:
            tokens.append(("lit", ch))
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == "*":
            if not tokens or tokens[-1][0] != "*":
                tokens.append(("*", ""))
        elif ch == "?":
            tokens.append(("?", ""))
        else:
            tokens.append(("lit", ch))
    return tokens


_RELATIONS: dict[str, Callable[[Any, Any], bool]] = {
    "gt": lambda a, b: a > b,
    "ge": lambda a, b: a >= b,
    "lt": lambda a, b: a < b,
    "le": lambda a, b: a <= b,
    "eq": lambda a, b: a == b,
    "ne": lambda a, b: a != b,
}

Matcher = Callable[[list[str]], bool]


def make_matcher(match_type: str, relation: str | None, comparator: str, keys: list[str]) -> Matcher:
    """Compile once: a function of the (already normalised) values."""
    if match_type == ":regex":
        if comparator == "i;unicode-casemap":
            keys = [_strip_accents(k) for k in keys]
        flags = regex.S | (0 if comparator == "i;octet" else regex.I)
        patterns = []
        for key in keys:
            if len(key) > MAX_REGEX_PATTERN:
                raise ScriptError(f"Expression régulière trop longue ({MAX_REGEX_PATTERN} caractères au plus).")
            try:
                patterns.append(regex.compile(key, flags))
            except regex.error as exc:
                raise ScriptError(f"Expression régulière invalide « {key[:60]} » : {exc}") from None

        def match_regex(values: list[str]) -> bool:
            for value in values:
                subject = value[:MAX_REGEX_TEXT]
                for pattern in patterns:
                    try:
                        if pattern.search(subject, timeout=REGEX_TIMEOUT):
                            return True
                    except TimeoutError:
                        raise ScriptError(
                            "Expression régulière trop coûteuse, abandonnée après "
                            f"{int(REGEX_TIMEOUT * 1000)} ms."
                        ) from None
            return False

        return match_regex
    folded_keys = [normalize(k, comparator) for k in keys]
    if match_type == ":contains":
        if len(folded_keys) == 1:  # the common case, kept cheap for 1,000-rule scripts
            key = folded_keys[0]
            return lambda values: any(key in v for v in values)
        return lambda values: any(k in v for v in values for k in folded_keys)
    if match_type == ":matches":
        token_lists = [wildcard_tokens(k) for k in folded_keys]
        return lambda values: any(wildcard_match(t, v) for v in values for t in token_lists)
    if match_type == ":count":
        op = _RELATIONS[relation or "eq"]
        numbers = [int(k) for k in keys if k.isdigit()]
        return lambda values: any(op(len(values), n) for n in numbers)
    if match_type == ":value":
        op = _RELATIONS[relation or "eq"]
        return lambda values: any(op(v, k) for v in values for k in folded_keys)
    key_set = frozenset(folded_keys)
    return lambda values: any(v in key_set for v in values)


# --- compiled program -------------------------------------------------------------


Test = Callable[[MessageView], bool]


@dataclass
class Outcome:
    """What a run decided, before the engine turns it into a FilterDecision."""

    keep: bool = False
    fileinto: list[str] = field(default_factory=list)
    discard: bool = False
    redirects: list[str] = field(default_factory=list)
    redirect_moves: bool = False  # a redirect without :copy cancels the implicit keep
    flags: set[str] = field(default_factory=set)
    vacation: dict[str, Any] | None = None
    rejected: str | None = None
    stopped: bool = False


class _Stop(Exception):
    pass


Action = Callable[[MessageView, Outcome], None]


@dataclass(frozen=True)
class Block:
    steps: tuple[Any, ...]  # Action | Conditional


@dataclass(frozen=True)
class Conditional:
    branches: tuple[tuple[Test | None, Block], ...]


@dataclass(frozen=True)
class Program:
    block: Block
    needs_headers: bool  # reads header fields beyond the parsed ones
    rules: int

    def run(self, view: MessageView) -> Outcome:
        outcome = Outcome()
        try:
            _run_block(self.block, view, outcome)
        except _Stop:
            outcome.stopped = True
        return outcome


def _run_block(block: Block, view: MessageView, outcome: Outcome) -> None:
    for step in block.steps:
        if isinstance(step, Conditional):
            for test, body in step.branches:
                if test is None or test(view):
                    _run_block(body, view, outcome)
                    break
        else:
            step(view, outcome)


PARSED_HEADERS = frozenset({"subject", "from", "to", "cc", "bcc", "reply-to", "message-id", "in-reply-to", "date"})
_SUPPORTED_REQUIRES = frozenset(
    {"fileinto", "envelope", "imap4flags", "copy", "mailbox", "vacation", "regex", "body",
     "relational", "date", "reject", "ereject", "comparator-i;unicode-casemap",
     "comparator-i;ascii-casemap", "comparator-i;octet"}
)
SUPPORTED_EXTENSIONS = _SUPPORTED_REQUIRES  # what ManageSieve announces (RFC 5804 §1.7 "SIEVE")


class _Compiler:
    def __init__(self) -> None:
        self.needs_headers = False
        self.rules = 0

    def block(self, nodes: Sequence[Any]) -> Block:
        steps: list[Any] = []
        pending: list[tuple[Test | None, Block]] | None = None
        for node in nodes:
            name = node.name
            if name in ("elsif", "else"):
                if pending is None:
                    raise ScriptError(f"« {name} » sans « if » avant.")
                pending.append((self.test(node.arguments["test"]) if name == "elsif" else None, self.block(node.children)))
                continue
            if pending is not None:
                steps.append(Conditional(tuple(pending)))
                pending = None
            if name == "if":
                self.rules += 1
                pending = [(self.test(node.arguments["test"]), self.block(node.children))]
            elif name == "require":
                for ext in strings(node.arguments.get("capabilities")):
                    if ext not in _SUPPORTED_REQUIRES:
                        raise ScriptError(f"L'extension « {ext} » n'est pas prise en charge.")
            else:
                steps.append(self.action(node))
        if pending is not None:
            steps.append(Conditional(tuple(pending)))
        return Block(tuple(steps))

    # tests ----------------------------------------------------------------
    def _comparator(self, node: Any) -> str:
        comparator = strings(node.extra_arguments.get("comparator"))
        return comparator[0] if comparator else "i;ascii-casemap"

    def _matcher(self, node: Any, comparator: str) -> Matcher:
        match_type = str(node.arguments.get("match-type") or ":is").lower()
        relation = strings(node.extra_arguments.get("match-type"))
        return make_matcher(match_type, relation[0] if relation else None, comparator, strings(node.arguments.get("key-list")))

    def _note(self, names: list[str]) -> None:
        if any(n not in PARSED_HEADERS for n in names):
            self.needs_headers = True

    def test(self, node: Any) -> Test:
        name = node.name
        if name == "true":
            return lambda view: True
        if name == "false":
            return lambda view: False
        if name == "not":
            inner = self.test(node.arguments["test"])
            return lambda view: not inner(view)
        if name in ("allof", "anyof"):
            tests = tuple(self.test(t) for t in node.arguments["tests"])
            if name == "allof":
                return lambda view: all(t(view) for t in tests)
            return lambda view: any(t(view) for t in tests)
        if name == "exists":
            names = [n.lower() for n in strings(node.arguments.get("header-names"))]
            self._note(names)
            return lambda view: all(view.header(n) for n in names)
        if name == "size":
            limit = _size(str(node.arguments["limit"]))
            if node.arguments.get("comparator") == ":over":
                return lambda view: view.size > limit
            return lambda view: view.size < limit
        comparator = self._comparator(node)
        matcher = self._matcher(node, comparator)
        if name == "header":
            names = [n.lower() for n in strings(node.arguments.get("header-names"))]
            self._note(names)
            if len(names) == 1:
                only = names[0]
                return lambda view: matcher(view.folded(only, comparator))
            return lambda view: matcher([v for n in names for v in view.folded(n, comparator)])
        if name in ("address", "envelope"):
            names = [n.lower() for n in strings(node.arguments.get("header-list"))]
            part = str(node.arguments.get("address-part") or ":all").lower()
            if name == "address":
                self._note(names)

                def addresses(view: MessageView) -> list[Addr]:
                    return [a for n in names for a in view.addresses(n)]
            else:

                def addresses(view: MessageView) -> list[Addr]:
                    found = []
                    for n in names:
                        value = view.envelope_from if n == "from" else view.envelope_to if n == "to" else None
                        if value is not None:
                            found.append(split_address(value))
                    return found

            def address_test(view: MessageView) -> bool:
                values = [
                    a.local if part == ":localpart" else a.domain if part == ":domain" else a.all
                    for a in addresses(view)
                ]
                return matcher([normalize(v, comparator) for v in values])

            return address_test
        if name == "body":
            return lambda view: matcher([view.folded_body(comparator)])
        if name == "currentdate":
            date_part = strings(node.arguments.get("date-part"))
            if date_part != ["date"]:
                raise ScriptError("Seule la partie « date » de currentdate est prise en charge.")
            return lambda view: matcher([view.now.date().isoformat()])
        raise ScriptError(f"Le test « {name} » n'est pas pris en charge.")

    # actions --------------------------------------------------------------
    def action(self, node: Any) -> Action:
        name = node.name
        args = node.arguments
        if name == "keep":
            flags = _flags(node.extra_arguments.get("flags")) if "flags" in args else None

            def keep(view: MessageView, out: Outcome) -> None:
                out.keep = True
                if flags is not None:
                    out.flags = set(flags)

            return keep
        if name == "fileinto":
            try:
                folder = check_mailbox_name(strings(args.get("mailbox"))[0])
            except StoreError as exc:
                raise ScriptError(f"fileinto : {exc}") from None
            copy = "copy" in args
            flags = _flags(node.extra_arguments.get("flags")) if "flags" in args else None

            def fileinto(view: MessageView, out: Outcome) -> None:
                if folder.upper() == "INBOX":
                    out.keep = True
                elif folder not in out.fileinto:
                    out.fileinto.append(folder)
                if copy:
                    out.keep = True
                if flags is not None:
                    out.flags = set(flags)

            return fileinto
        if name == "discard":

            def discard(view: MessageView, out: Outcome) -> None:
                out.discard = True

            return discard
        if name == "redirect":
            address = strings(args.get("address"))[0].strip()
            if "@" not in address or any(c in address for c in " \r\n<>,"):
                raise ScriptError(f"redirect : adresse invalide « {address[:80]} ».")
            copy = "copy" in args

            def redirect(view: MessageView, out: Outcome) -> None:
                if address.lower() not in (a.lower() for a in out.redirects):
                    out.redirects.append(address)
                if not copy:
                    out.redirect_moves = True

            return redirect
        if name in ("addflag", "setflag", "removeflag"):
            flags = _flags(args.get("list-of-flags"))
            if "variablename" in args:
                raise ScriptError("Les variables de drapeaux (imap4flags) ne sont pas prises en charge.")

            def flag_action(view: MessageView, out: Outcome) -> None:
                if name == "setflag":
                    out.flags = set(flags)
                elif name == "addflag":
                    out.flags |= flags
                else:
                    out.flags -= flags

            return flag_action
        if name == "stop":

            def stop(view: MessageView, out: Outcome) -> None:
                raise _Stop

            return stop
        if name in ("reject", "ereject"):
            text = strings(args.get("text"))[0] if args.get("text") else ""

            def reject(view: MessageView, out: Outcome) -> None:
                out.rejected = text or name

            return reject
        if name == "vacation":
            self.needs_headers = True  # RFC 3834 checks read List-Id, Precedence...
            extra = node.extra_arguments
            days = int(extra.get("days") or DEFAULT_DAYS)
            params = {
                "days": min(max(days, 1), MAX_DAYS),
                "subject": next(iter(strings(extra.get("subject"))), None),
                "from": next(iter(strings(extra.get("from"))), None),
                "addresses": strings(extra.get("addresses")),
                "reason": strings(args.get("reason"))[0] if args.get("reason") else "",
            }

            def vacation(view: MessageView, out: Outcome) -> None:
                if out.vacation is None:  # RFC 5230 §4: at most one vacation action
                    out.vacation = params

            return vacation
        raise ScriptError(f"L'action « {name} » n'est pas prise en charge.")


def _size(limit: str) -> int:
    units = {"K": 1024, "M": 1024**2, "G": 1024**3}
    limit = limit.strip().upper()
    if limit and limit[-1] in units:
        return int(limit[:-1]) * units[limit[-1]]
    return int(limit)


def _flags(value: Any) -> frozenset[str]:
    # RFC 5232 §3: each string is a space-separated list of flags.
    flags: set[str] = set()
    for item in strings(value):
        for flag in item.split():
            flags.add(flag)
    return frozenset(flags)


def compile_script(script: str) -> Program:
    """Parse and compile; ScriptError (French) if the script is invalid or uses
    something the interpreter does not support."""
    tree = parse_tree(script)
    compiler = _Compiler()
    try:
        block = compiler.block(tree)
    except ScriptError:
        raise
    except (KeyError, ValueError, IndexError, TypeError) as exc:
        raise ScriptError(f"Script non pris en charge : {exc!r}") from None
    return Program(block=block, needs_headers=compiler.needs_headers, rules=compiler.rules)
