"""ManageSieve commands from bytes, without I/O (RFC 5804 §4): a command is a
case-insensitive name followed by arguments separated by spaces, each a quoted
string, a literal (``{n+}`` or ``{n}``, CRLF, n octets) or a number. The server
hands over one whole command with its literals inline and gets a typed command
or a ``ParseError``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_NUMBER = 4294967295  # RFC 5804 §4: number = 1*DIGIT, 0 to 4294967295

_LITERAL = re.compile(rb"\{(\d{1,10})\+?\}\r\n")
_ATOM = re.compile(rb"[A-Za-z][A-Za-z0-9_-]*")
_NUMBER = re.compile(rb"\d{1,10}")


class ParseError(Exception):
    """A command that cannot be read; ``unknown`` when its name is not a command."""

    def __init__(self, text: str, *, unknown: bool = False) -> None:
        super().__init__(text)
        self.text = text
        self.unknown = unknown


@dataclass(frozen=True)
class Atom:
    value: str


@dataclass(frozen=True)
class String:
    value: bytes

    def text(self) -> str:
        try:
            return self.value.decode("utf-8")
        except UnicodeDecodeError:
            raise ParseError("string is not UTF-8") from None


@dataclass(frozen=True)
class Number:
    value: int


Token = Atom | String | Number


def tokenize(data: bytes) -> list[Token]:
    """Split one command (without its final CRLF) into tokens."""
    tokens: list[Token] = []
    pos, end = 0, len(data)
    while pos < end:
        char = data[pos : pos + 1]
        if char == b" ":
            pos += 1
            continue
        if char == b'"':
            pos, value = _quoted(data, pos + 1)
            tokens.append(String(value))
        elif char == b"{":
            m = _LITERAL.match(data, pos)
            if m is None:
                raise ParseError("bad literal, expected {n+} then CRLF")
            size = int(m.group(1))
            start = m.end()
            if start + size > end:
                raise ParseError("literal shorter than announced")
            tokens.append(String(data[start : start + size]))
            pos = start + size
        elif (m := _NUMBER.match(data, pos)) is not None:
            number = int(m.group(0))
            if number > MAX_NUMBER:
                raise ParseError("number too large")
            tokens.append(Number(number))
            pos = m.end()
        elif (m := _ATOM.match(data, pos)) is not None:
            tokens.append(Atom(m.group(0).decode("ascii")))
            pos = m.end()
        else:
            raise ParseError(f"unexpected character {char!r}")
        if pos < end and data[pos : pos + 1] != b" ":
            raise ParseError("arguments must be separated by a space")
    return tokens


def _quoted(data: bytes, pos: int) -> tuple[int, bytes]:
    # RFC 5804 §4: QUOTED-CHAR excludes CR and LF; "\" escapes only '"' and "\".
    out = bytearray()
    while pos < len(data):
        byte = data[pos]
        if byte == 0x22:
            return pos + 1, bytes(out)
        if byte == 0x5C:
            if pos + 1 >= len(data) or data[pos + 1] not in (0x22, 0x5C):
                raise ParseError('in a quoted string, "\\" only escapes \\ and "')
            out.append(data[pos + 1])
            pos += 2
            continue
        if byte in (0x0D, 0x0A, 0x00):
            raise ParseError("quoted strings cannot hold CR, LF or NUL; send a literal {n+}")
        out.append(byte)
        pos += 1
    raise ParseError("unterminated quoted string")


# --- typed commands ------------------------------------------------------------------


@dataclass(frozen=True)
class Command:
    name: str


@dataclass(frozen=True)
class Authenticate(Command):
    mechanism: str
    initial: bytes | None  # the SASL initial response, base64 (RFC 5804 §2.1)


@dataclass(frozen=True)
class HaveSpace(Command):
    script: str
    size: int


@dataclass(frozen=True)
class PutScript(Command):
    script: str
    content: bytes


@dataclass(frozen=True)
class ScriptName(Command):
    """SETACTIVE, GETSCRIPT, DELETESCRIPT: one script name."""

    script: str


@dataclass(frozen=True)
class RenameScript(Command):
    old: str
    new: str


@dataclass(frozen=True)
class CheckScript(Command):
    content: bytes


@dataclass(frozen=True)
class Capability(Command):
    pass


@dataclass(frozen=True)
class Logout(Command):
    pass


@dataclass(frozen=True)
class StartTLS(Command):
    pass


@dataclass(frozen=True)
class ListScripts(Command):
    pass


@dataclass(frozen=True)
class Unauthenticate(Command):
    pass


@dataclass(frozen=True)
class Noop(Command):
    tag: str | None


# One class per command without arguments, so the session's dispatch table
# (``managesieve.session.HANDLERS``) is keyed by class.
_WITHOUT_ARGUMENTS: dict[str, type[Command]] = {
    "CAPABILITY": Capability, "LOGOUT": Logout, "STARTTLS": StartTLS, "LISTSCRIPTS": ListScripts,
    "UNAUTHENTICATE": Unauthenticate,
}

# Arguments per command: "s" string, "n" number; those after "|" are optional.
_SIGNATURES: dict[str, str] = {
    "AUTHENTICATE": "s|s", "STARTTLS": "", "LOGOUT": "", "CAPABILITY": "", "HAVESPACE": "sn",
    "PUTSCRIPT": "ss", "LISTSCRIPTS": "", "SETACTIVE": "s", "GETSCRIPT": "s", "DELETESCRIPT": "s",
    "RENAMESCRIPT": "ss", "CHECKSCRIPT": "s", "NOOP": "|s", "UNAUTHENTICATE": "",
}
KNOWN_COMMANDS = frozenset(_SIGNATURES)


def parse_command(data: bytes) -> Command:
    tokens = tokenize(data)
    if not tokens or not isinstance(tokens[0], Atom):
        raise ParseError("a command starts with its name", unknown=True)
    name = tokens[0].value.upper()
    signature = _SIGNATURES.get(name)
    if signature is None:
        raise ParseError(f"unknown command {name}", unknown=True)
    required, _, optional = signature.partition("|")
    args = tokens[1:]
    if not len(required) <= len(args) <= len(required) + len(optional):
        raise ParseError(f"{name} takes {len(required)} argument(s)" + (f" (+{len(optional)} optional)" if optional else ""))
    for kind, arg in zip(required + optional, args, strict=False):
        if kind == "s" and not isinstance(arg, String):
            raise ParseError(f"{name}: expected a string (quoted or literal)")
        if kind == "n" and not isinstance(arg, Number):
            raise ParseError(f"{name}: expected a number")
    strings = [a for a in args if isinstance(a, String)]
    if name == "AUTHENTICATE":
        return Authenticate(name, strings[0].text().upper(), strings[1].value if len(strings) > 1 else None)
    if name == "HAVESPACE":
        assert isinstance(args[1], Number)
        return HaveSpace(name, strings[0].text(), args[1].value)
    if name == "PUTSCRIPT":
        return PutScript(name, strings[0].text(), strings[1].value)
    if name in ("SETACTIVE", "GETSCRIPT", "DELETESCRIPT"):
        return ScriptName(name, strings[0].text())
    if name == "RENAMESCRIPT":
        return RenameScript(name, strings[0].text(), strings[1].text())
    if name == "CHECKSCRIPT":
        return CheckScript(name, strings[0].value)
    if name == "NOOP":
        return Noop(name, strings[0].text() if strings else None)
    return _WITHOUT_ARGUMENTS[name](name)


def parse_sasl_response(data: bytes) -> bytes:
    """A client's answer to a SASL challenge: one string (RFC 5804 §2.1)."""
    tokens = tokenize(data)
    if len(tokens) != 1 or not isinstance(tokens[0], String):
        raise ParseError("expected one string")
    return tokens[0].value
