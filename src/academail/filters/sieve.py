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
vacation (RFC 5230, with :handle, :addresses, :mime, :from), reject/ereject
(RFC 5429); variables (RFC 5229: set and its modifiers, ${name}, the match
variables ${0}..${9} of :matches and :regex, the string test), hasflag and flag
variables (RFC 5232), encoded-character (RFC 5228 §2.4.2.4).

Variables cost nothing to scripts that do not require them: only a script with
``require "variables"`` compiles strings holding "${" into expanding closures,
and only its :matches/:regex tests capture match variables.

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
from academail.store.sizes import taille

MAX_SCRIPT_CHARS = 512 * 1024
MAX_REGEX_PATTERN = 512
MAX_REGEX_TEXT = 64 * 1024
REGEX_TIMEOUT = 0.05  # seconds per match
MAX_DAYS = 30
DEFAULT_DAYS = 7
# RFC 5229 §6: at least 128 variables and 4000-character values must be supported;
# we hold to those minimums so a script cannot grow a run's memory.
MAX_VARIABLES = 128
MAX_VARIABLE_VALUE = 4000
MAX_MATCH_VARIABLES = 10  # ${0}..${9}

# sievelib only knows i;octet and i;ascii-casemap; RFC 5051's i;unicode-casemap is
# what makes "réunion" match "REUNION" (the example), so we accept it.
_COMPARATOR_VALUES: list[str] = sieve_commands.comparator["extra_arg"]["values"]
if '"i;unicode-casemap"' not in _COMPARATOR_VALUES:
    _COMPARATOR_VALUES.append('"i;unicode-casemap"')


class ErejectCommand(sieve_commands.ActionCommand):
    """RFC 5429 ereject, which sievelib lacks."""

    extension = "ereject"
    args_definition = [{"name": "text", "type": ["string"], "required": True}]


class StringCommand(sieve_commands.TestCommand):
    """RFC 5229 §5 string test, which sievelib lacks."""

    extension = "variables"
    args_definition = [
        sieve_commands.comparator,
        sieve_commands.match_type,
        {"name": "source", "type": ["string", "stringlist"], "required": True},
        {"name": "key-list", "type": ["string", "stringlist"], "required": True},
    ]


class SpamtestCommand(sieve_commands.TestCommand):
    """RFC 5235 spamtest (and spamtestplus's ``:percent``), which sievelib lacks."""

    extension = "spamtest"
    args_definition = [
        {"name": "percent", "type": ["tag"], "values": [":percent"], "required": False},
        sieve_commands.comparator,
        sieve_commands.match_type,
        {"name": "value", "type": ["string"], "required": True},
    ]


sieve_commands.add_commands([ErejectCommand, StringCommand, SpamtestCommand])
# RFC 5235 §3: spamtest values compare as numbers (RFC 4790 §9.1 i;ascii-numeric).
if '"i;ascii-numeric"' not in _COMPARATOR_VALUES:
    _COMPARATOR_VALUES.append('"i;ascii-numeric"')

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
        raise ScriptError(f"Le script est trop long ({taille(MAX_SCRIPT_CHARS)} au plus).")
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
        if body.endswith("\n."):  # RFC 5228 §2.4.2: the last line's line end is part of the string
            body = body[:-1]
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
        # RFC 5235: the delivery's spam verdict (1..10, and 0..100), None untested.
        self.spam_value: int | None = None
        self.spam_percent: int | None = None
        self._folded: dict[tuple[str, str], list[str]] = {}
        # Run state of RFC 5229 variables and RFC 5232 hasflag, reset by Program.run.
        self.variables: dict[str, str] = {}
        self.match: list[str] = []
        self.outcome: Outcome | None = None

    def lookup(self, name: str) -> str:
        """The value of ``${name}``: a match variable (RFC 5229 §3.2) or a
        variable set earlier; unknown ones are the empty string (§3)."""
        if name[0].isdigit():
            number = int(name)
            return self.match[number] if number < len(self.match) else ""
        return self.variables.get(name.lower(), "")

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
    """Accents only, for :regex keys under i;unicode-casemap: case is left to
    the regex engine (casefolding a pattern would turn ``\\D`` into ``\\d``), so
    this differs on purpose from ``store.search.fold``."""
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


def ascii_numeric(text: str) -> float:
    """RFC 4790 §9.1 i;ascii-numeric: the leading digits as a number; a string
    that does not start with a digit is positive infinity."""
    digits = re.match(r"[0-9]+", text)
    return float(int(digits.group())) if digits else float("inf")


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
    if comparator == "i;ascii-numeric" and match_type in (":value", ":is"):
        op = _RELATIONS[relation or "eq"] if match_type == ":value" else _RELATIONS["eq"]
        bounds = [ascii_numeric(k) for k in keys]
        return lambda values: any(op(ascii_numeric(v), n) for v in values for n in bounds)
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
        view.outcome = outcome
        if view.variables:
            view.variables = {}
        if view.match:
            view.match = []
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
     "relational", "date", "reject", "ereject", "variables", "encoded-character",
     "comparator-i;unicode-casemap", "comparator-i;ascii-casemap", "comparator-i;octet",
     "spamtest", "spamtestplus", "comparator-i;ascii-numeric"}
)
SUPPORTED_EXTENSIONS = _SUPPORTED_REQUIRES  # what ManageSieve announces (RFC 5804 §1.7 "SIEVE")


# --- strings with variables (RFC 5229) and encoded characters (RFC 5228 §2.4.2.4) ---

# RFC 5229 §3: variable-ref = "${" [namespace] variable-name "}", or a number.
_VARIABLE_REF = re.compile(r"\$\{([0-9]+|[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)\}")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ENCODED = re.compile(r"\$\{(hex|unicode):([^}]*)\}", re.I)
_HEX_PAIRS = re.compile(r"[ \t\r\n]*[0-9A-Fa-f]{1,2}(?:[ \t\r\n]+[0-9A-Fa-f]{1,2})*[ \t\r\n]*")
_UNICODE_HEX = re.compile(r"[ \t\r\n]*[0-9A-Fa-f]+(?:[ \t\r\n]+[0-9A-Fa-f]+)*[ \t\r\n]*")

# A string argument: a constant, or (in a script that requires "variables" and
# whose string holds a reference) a function of the run.
Str = str | Callable[[MessageView], str]


def decode_encoded_characters(text: str) -> str:
    """RFC 5228 §2.4.2.4: ${hex:...} and ${unicode:...}; a sequence that does not
    follow the grammar stays as written, one that encodes no valid character is
    an error (§2.4.2.4: "MUST be treated as an error")."""

    def one(found: re.Match[str]) -> str:
        kind, body = found.group(1).lower(), found.group(2)
        if kind == "hex":
            if not _HEX_PAIRS.fullmatch(body):
                return found.group(0)
            try:
                return bytes(int(h, 16) for h in body.split()).decode("utf-8")
            except UnicodeDecodeError:
                raise ScriptError(f"« {found.group(0)[:60]} » ne code pas un texte UTF-8 valide.") from None
        if not _UNICODE_HEX.fullmatch(body):
            return found.group(0)
        chars = []
        for h in body.split():
            point = int(h, 16)
            if point > 0x10FFFF or 0xD800 <= point <= 0xDFFF:
                raise ScriptError(f"« {found.group(0)[:60]} » n'est pas un caractère Unicode valide.")
            chars.append(chr(point))
        return "".join(chars)

    return _ENCODED.sub(one, text)


def resolve(view: MessageView, value: Str) -> str:
    return value if isinstance(value, str) else value(view)


def _expander(template: str) -> Callable[[MessageView], str]:
    # One pass (RFC 5229 §3): a substituted value is never expanded again.
    def expand(view: MessageView) -> str:
        return _VARIABLE_REF.sub(lambda found: view.lookup(found.group(1)), template)

    return expand


def _wildcard_capture_pattern(key: str, comparator: str) -> regex.Pattern[str]:
    """:matches key as a regular expression with one group per wildcard. RFC 5229
    §3.2: each "?" and "*" is a match variable, "*" as short as possible; "**"
    is two variables (the first always empty)."""
    parts = []
    escaped = False
    for ch in key:
        if escaped:
            parts.append(regex.escape(ch))
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == "*":
            parts.append("(.*?)")
        elif ch == "?":
            parts.append("(.)")
        else:
            parts.append(regex.escape(ch))
    flags = regex.S | (0 if comparator == "i;octet" else regex.I)
    return regex.compile("".join(parts), flags)


Capturer = Callable[[list[str], list[str]], list[str] | None]


def make_capturer(match_type: str, comparator: str, keys: list[str]) -> Capturer | None:
    """For :matches and :regex in a script with variables: the match variables
    of the first value and key that match (RFC 5229 §3.2), tried on the value as
    written, then on its normalised form (accent-insensitive comparators)."""
    if match_type == ":matches":
        patterns = [_wildcard_capture_pattern(k, comparator) for k in keys]
        full = True
    elif match_type == ":regex":
        flags = regex.S | (0 if comparator == "i;octet" else regex.I)
        source = [_strip_accents(k) for k in keys] if comparator == "i;unicode-casemap" else keys
        patterns = [regex.compile(k, flags) for k in source]
        full = False
    else:
        return None

    def capture(originals: list[str], folded: list[str]) -> list[str] | None:
        for candidates in (originals, folded):
            for value in candidates:
                subject = value[:MAX_REGEX_TEXT]
                for pattern in patterns:
                    try:
                        hit = (pattern.fullmatch if full else pattern.search)(subject, timeout=REGEX_TIMEOUT)
                    except TimeoutError:
                        raise ScriptError("Motif trop coûteux, abandonné.") from None
                    if hit:
                        groups = [hit.group(0), *(g or "" for g in hit.groups())]
                        return groups[:MAX_MATCH_VARIABLES]
        return None

    return capture


def _split_flags(values: list[str]) -> list[str]:
    # RFC 5232 §3: each string is a space-separated list of flags; duplicates
    # (case-insensitive, as IMAP flags are) count once.
    seen: dict[str, str] = {}
    for item in values:
        for flag in item.split():
            seen.setdefault(flag.lower(), flag)
    return list(seen.values())


def _flag_edit(current: list[str], flags: list[str], name: str) -> list[str]:
    if name == "setflag":
        return _split_flags(flags)
    if name == "addflag":
        return _split_flags([*current, *flags])
    gone = {f.lower() for f in _split_flags(flags)}
    return [f for f in current if f.lower() not in gone]


class _Compiler:
    def __init__(self) -> None:
        self.needs_headers = False
        self.rules = 0
        self.variables = False  # require "variables": strings expand ${...}
        self.encoded = False  # require "encoded-character"
        self.names: set[str] = set()

    # strings --------------------------------------------------------------
    def text(self, token: str) -> Str:
        value = unquote(token)
        if self.encoded and "${" in value:
            value = decode_encoded_characters(value)
        if not self.variables or "${" not in value:
            return value
        for found in _VARIABLE_REF.finditer(value):
            if "." in found.group(1):  # RFC 5229 §3: an unknown namespace is an error
                raise ScriptError(
                    f"« ${{{found.group(1)}}} » : l'espace de noms « {found.group(1).split('.')[0]} » "
                    "n'est pas pris en charge (seules les variables simples le sont)."
                )
        return _expander(value)

    def texts(self, value: Any) -> list[Str]:
        if value is None:
            return []
        return [self.text(v) for v in (value if isinstance(value, list) else [value])]

    def first(self, value: Any, default: str = "") -> Str:
        found = self.texts(value)
        return found[0] if found else default

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
                    self.variables = self.variables or ext == "variables"
                    self.encoded = self.encoded or ext == "encoded-character"
            else:
                steps.append(self.action(node))
        if pending is not None:
            steps.append(Conditional(tuple(pending)))
        return Block(tuple(steps))

    # tests ----------------------------------------------------------------
    def _comparator(self, node: Any) -> str:
        comparator = strings(node.extra_arguments.get("comparator"))
        return comparator[0] if comparator else "i;ascii-casemap"

    def _note(self, names: list[str]) -> None:
        if any(n not in PARSED_HEADERS for n in names):
            self.needs_headers = True

    def _names(self, value: Any) -> list[Str]:
        names = [n.lower() if isinstance(n, str) else n for n in self.texts(value)]
        if all(isinstance(n, str) for n in names):
            self._note([n for n in names if isinstance(n, str)])
        else:
            self.needs_headers = True  # a computed name may be any field
        return names

    def _keyed(
        self,
        node: Any,
        comparator: str,
        originals: Callable[[MessageView], list[str]],
        folded: Callable[[MessageView], list[str]] | None = None,
        keys: list[Str] | None = None,
        split_keys: bool = False,
    ) -> Test:
        """A test matching values against the key-list: the compiled matcher
        alone when the keys are constants and no match variable is wanted,
        else keys expanded at run time (matcher compiled once per distinct
        expansion) and match variables set on success (RFC 5229 §3.2)."""
        match_type = str(node.arguments.get("match-type") or ":is").lower()
        relation_args = strings(node.extra_arguments.get("match-type"))
        relation = relation_args[0] if relation_args else None
        keys = keys if keys is not None else self.texts(node.arguments.get("key-list"))

        def fold_all(view: MessageView) -> list[str]:
            return [normalize(v, comparator) for v in originals(view)]

        get_folded = folded or fold_all
        constant = all(isinstance(k, str) for k in keys)
        capturing = self.variables and match_type in (":matches", ":regex")
        if constant and not capturing:
            matcher = make_matcher(match_type, relation, comparator, [k for k in keys if isinstance(k, str)])
            return lambda view: matcher(get_folded(view))
        compiled: dict[tuple[str, ...], tuple[Matcher, Capturer | None]] = {}
        if constant:
            static = tuple(k for k in keys if isinstance(k, str))
            compiled[static] = (make_matcher(match_type, relation, comparator, list(static)),
                                make_capturer(match_type, comparator, list(static)))

        def keyed_test(view: MessageView) -> bool:
            expanded = tuple(resolve(view, k) for k in keys)
            if split_keys:  # hasflag: each key string is a list of flags
                expanded = tuple(_split_flags(list(expanded)))
            entry = compiled.get(expanded)
            if entry is None:
                if len(compiled) >= 64:
                    compiled.clear()
                entry = (make_matcher(match_type, relation, comparator, list(expanded)),
                         make_capturer(match_type, comparator, list(expanded)) if capturing else None)
                compiled[expanded] = entry
            matcher, capturer = entry
            values = get_folded(view)
            if not matcher(values):
                return False
            if capturer is not None:
                groups = capturer(originals(view), values)
                if groups is not None:
                    view.match = groups
            return True

        return keyed_test

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
            names = self._names(node.arguments.get("header-names"))
            return lambda view: all(view.header(resolve(view, n).lower()) for n in names)
        if name == "size":
            limit = _size(str(node.arguments["limit"]))
            if node.arguments.get("comparator") == ":over":
                return lambda view: view.size > limit
            return lambda view: view.size < limit
        if name == "spamtest":
            return self._spamtest(node)
        comparator = self._comparator(node)
        if name == "header":
            names = self._names(node.arguments.get("header-names"))
            fixed = [n for n in names if isinstance(n, str)]
            if len(fixed) == len(names):
                if len(fixed) == 1:
                    only = fixed[0]
                    return self._keyed(node, comparator, lambda view: view.header(only),
                                       lambda view: view.folded(only, comparator))
                return self._keyed(node, comparator, lambda view: [v for n in fixed for v in view.header(n)],
                                   lambda view: [v for n in fixed for v in view.folded(n, comparator)])
            return self._keyed(
                node, comparator, lambda view: [v for n in names for v in view.header(resolve(view, n).lower())]
            )
        if name in ("address", "envelope"):
            names = self._names(node.arguments.get("header-list")) if name == "address" else [
                n.lower() if isinstance(n, str) else n for n in self.texts(node.arguments.get("header-list"))
            ]
            part = str(node.arguments.get("address-part") or ":all").lower()
            if name == "address":

                def addresses(view: MessageView) -> list[Addr]:
                    return [a for n in names for a in view.addresses(resolve(view, n).lower())]
            else:

                def addresses(view: MessageView) -> list[Addr]:
                    found = []
                    for n in names:
                        field_name = resolve(view, n).lower()
                        value = (view.envelope_from if field_name == "from"
                                 else view.envelope_to if field_name == "to" else None)
                        if value is not None:
                            found.append(split_address(value))
                    return found

            def parts(view: MessageView) -> list[str]:
                return [
                    a.local if part == ":localpart" else a.domain if part == ":domain" else a.all
                    for a in addresses(view)
                ]

            return self._keyed(node, comparator, parts)
        if name == "body":
            return self._keyed(node, comparator, lambda view: [view.body],
                               lambda view: [view.folded_body(comparator)])
        if name == "currentdate":
            date_part = strings(node.arguments.get("date-part"))
            if date_part != ["date"]:
                raise ScriptError("Seule la partie « date » de currentdate est prise en charge.")
            return self._keyed(node, comparator, lambda view: [view.now.date().isoformat()])
        if name == "string":  # RFC 5229 §5
            sources = self.texts(node.arguments.get("source"))
            count = str(node.arguments.get("match-type") or "").lower() == ":count"

            def source_values(view: MessageView) -> list[str]:
                values = [resolve(view, s) for s in sources]
                return [v for v in values if v] if count else values  # §5: "" counts 0

            return self._keyed(node, comparator, source_values)
        if name == "hasflag":  # RFC 5232 §4
            variables = self.texts(node.arguments.get("variable-list"))
            flag_keys = self.texts(node.arguments.get("list-of-flags"))

            def current_flags(view: MessageView) -> list[str]:
                if variables:
                    return _split_flags([view.lookup(resolve(view, v)) for v in variables])
                return sorted(view.outcome.flags) if view.outcome is not None else []

            if all(isinstance(k, str) for k in flag_keys):
                flag_keys = list(_split_flags([k for k in flag_keys if isinstance(k, str)]))
                return self._keyed(node, comparator, current_flags, keys=flag_keys)
            return self._keyed(node, comparator, current_flags, keys=flag_keys, split_keys=True)
        raise ScriptError(f"Le test « {name} » n'est pas pris en charge.")

    # actions --------------------------------------------------------------
    def _spamtest(self, node: Any) -> Test:
        """RFC 5235 §3.2: the message's spam value, "0" (not tested) or 1..10;
        with ``:percent`` (§3.3) 0..100. Numbers compare as numbers under
        i;ascii-numeric (the usual choice); under other comparators as text."""
        percent = node.arguments.get("percent") is not None
        comparator = self._comparator(node)
        match_type = str(node.arguments.get("match-type") or ":is").lower()
        relation_args = strings(node.extra_arguments.get("match-type"))
        key = unquote(str(node.arguments["value"]))

        def value_of(view: MessageView) -> str:
            tested = view.spam_percent if percent else view.spam_value
            return "0" if tested is None else str(tested)

        matcher = make_matcher(match_type, relation_args[0] if relation_args else None, comparator, [key])
        return lambda view: matcher([value_of(view)])

    def _flag_list(self, value: Any) -> Callable[[MessageView], frozenset[str]]:
        items = self.texts(value)
        if all(isinstance(i, str) for i in items):
            fixed = frozenset(_split_flags([i for i in items if isinstance(i, str)]))
            return lambda view: fixed
        return lambda view: frozenset(_split_flags([resolve(view, i) for i in items]))

    def action(self, node: Any) -> Action:
        name = node.name
        args = node.arguments
        if name == "set":  # RFC 5229 §4
            return self._set(node)
        if name == "keep":
            keep_flags = self._flag_list(node.extra_arguments.get("flags")) if "flags" in args else None

            def keep(view: MessageView, out: Outcome) -> None:
                out.keep = True
                if keep_flags is not None:
                    out.flags = set(keep_flags(view))

            return keep
        if name == "fileinto":
            mailbox = self.first(args.get("mailbox"))
            folder_fixed = None
            if isinstance(mailbox, str):
                folder_fixed = _check_folder(mailbox)
            copy = "copy" in args
            into_flags = self._flag_list(node.extra_arguments.get("flags")) if "flags" in args else None

            def fileinto(view: MessageView, out: Outcome) -> None:
                folder = folder_fixed if folder_fixed is not None else _check_folder(resolve(view, mailbox))
                if folder.upper() == "INBOX":
                    out.keep = True
                elif folder not in out.fileinto:
                    out.fileinto.append(folder)
                if copy:
                    out.keep = True
                if into_flags is not None:
                    out.flags = set(into_flags(view))

            return fileinto
        if name == "discard":

            def discard(view: MessageView, out: Outcome) -> None:
                out.discard = True

            return discard
        if name == "redirect":
            target = self.first(args.get("address"))
            fixed_address = _check_redirect(target) if isinstance(target, str) else None
            copy = "copy" in args

            def redirect(view: MessageView, out: Outcome) -> None:
                address = fixed_address or _check_redirect(resolve(view, target))
                if address.lower() not in (a.lower() for a in out.redirects):
                    out.redirects.append(address)
                if not copy:
                    out.redirect_moves = True

            return redirect
        if name in ("addflag", "setflag", "removeflag"):
            flag_list = self._flag_list(args.get("list-of-flags"))
            variable = self.first(args.get("variable-name")) if "variable-name" in args else None
            if isinstance(variable, str):
                self._declare(variable)

            def flag_action(view: MessageView, out: Outcome) -> None:
                flags = sorted(flag_list(view))
                if variable is not None:  # RFC 5232 §3: a flag variable instead of the internal one
                    key = resolve(view, variable).lower()
                    current = _split_flags([view.variables.get(key, "")])
                    self_set(view, key, " ".join(_flag_edit(current, flags, name)))
                elif name == "setflag":
                    out.flags = set(flags)
                elif name == "addflag":
                    out.flags |= set(flags)
                else:
                    out.flags -= set(flags)

            return flag_action
        if name == "stop":

            def stop(view: MessageView, out: Outcome) -> None:
                raise _Stop

            return stop
        if name in ("reject", "ereject"):
            reject_text = self.first(args.get("text")) if args.get("text") else ""

            def reject(view: MessageView, out: Outcome) -> None:
                out.rejected = resolve(view, reject_text) or name

            return reject
        if name == "vacation":
            return self._vacation(node)
        raise ScriptError(f"L'action « {name} » n'est pas prise en charge.")

    def _declare(self, name: str) -> None:
        if not _IDENTIFIER.fullmatch(name):
            raise ScriptError(
                f"set : « {name[:60]} » n'est pas un nom de variable (lettres, chiffres et _, "
                "sans point ni chiffre au début)."
            )
        self.names.add(name.lower())
        if len(self.names) > MAX_VARIABLES:
            raise ScriptError(f"Trop de variables ({MAX_VARIABLES} au plus).")

    def _set(self, node: Any) -> Action:
        args = node.arguments
        name = unquote(args["name"])
        if self.encoded:
            name = decode_encoded_characters(name)
        self._declare(name)
        key = name.lower()
        value = self.first(args.get("value"))
        # RFC 5229 §4.1: modifiers apply by decreasing precedence: :lower/:upper
        # (40), :lowerfirst/:upperfirst (30), :quotewildcard and :quoteregex (20),
        # :length (10).
        case = str(args.get("case") or "").lower()
        first_case = str(args.get("first-case") or "").lower()
        quotewildcard = "quotewildcard" in args
        quoteregex = str(args.get("encoding") or "").lower() == ":quoteregex"
        length = "length" in args

        def set_variable(view: MessageView, out: Outcome) -> None:
            text = resolve(view, value)
            if case == ":lower":
                text = text.lower()
            elif case == ":upper":
                text = text.upper()
            if first_case == ":lowerfirst":
                text = text[:1].lower() + text[1:]
            elif first_case == ":upperfirst":
                text = text[:1].upper() + text[1:]
            if quotewildcard:
                text = re.sub(r"([\\*?])", r"\\\1", text)
            if quoteregex:
                text = re.sub(r"([\\^$.|?*+()\[\]{}])", r"\\\1", text)
            if length:
                text = str(len(text))
            self_set(view, key, text)

        return set_variable

    def _vacation(self, node: Any) -> Action:
        self.needs_headers = True  # RFC 3834 checks read List-Id, Precedence...
        extra = node.extra_arguments
        args = node.arguments
        days = int(extra.get("days") or DEFAULT_DAYS)
        fields: dict[str, Str | None] = {
            "subject": self.first(extra.get("subject")) if "subject" in extra else None,
            "from": self.first(extra.get("from")) if "from" in extra else None,
            "handle": self.first(extra.get("handle")) if "handle" in extra else None,
            "reason": self.first(args.get("reason")) if args.get("reason") else "",
        }
        addresses = self.texts(extra.get("addresses"))
        fixed = {
            "days": min(max(days, 1), MAX_DAYS),  # RFC 5230 §4.1: at least 1; our ceiling
            "mime": "mime" in args,
        }

        def vacation(view: MessageView, out: Outcome) -> None:
            if out.vacation is None:  # RFC 5230 §4: at most one vacation action
                params: dict[str, Any] = dict(fixed)
                for key, value in fields.items():
                    params[key] = None if value is None else resolve(view, value)
                params["addresses"] = [resolve(view, a) for a in addresses]
                out.vacation = params

        return vacation


def self_set(view: MessageView, key: str, text: str) -> None:
    if key not in view.variables and len(view.variables) >= MAX_VARIABLES:  # names computed at run time
        raise ScriptError(f"Trop de variables ({MAX_VARIABLES} au plus).")
    view.variables[key] = text[:MAX_VARIABLE_VALUE]  # RFC 5229 §6: values may be truncated


def _check_folder(name: str) -> str:
    try:
        return check_mailbox_name(name)
    except StoreError as exc:
        raise ScriptError(f"fileinto : {exc}") from None


def _check_redirect(address: str) -> str:
    address = address.strip()
    if "@" not in address or any(c in address for c in " \r\n<>,"):
        raise ScriptError(f"redirect : adresse invalide « {address[:80]} ».")
    return address


def _size(limit: str) -> int:
    units = {"K": 1024, "M": 1024**2, "G": 1024**3}
    limit = limit.strip().upper()
    if limit and limit[-1] in units:
        return int(limit[:-1]) * units[limit[-1]]
    return int(limit)


def compile_script(script: str) -> Program:
    """Parse and compile; ScriptError (French) if the script is invalid or uses
    something the interpreter does not support."""
    tree = parse_tree(script)
    compiler = _Compiler()
    try:
        block = compiler.block(tree)
    except ScriptError:
        raise
    except (KeyError, ValueError, IndexError, TypeError, regex.error) as exc:
        raise ScriptError(f"Script non pris en charge : {exc!r}") from None
    return Program(block=block, needs_headers=compiler.needs_headers, rules=compiler.rules)
