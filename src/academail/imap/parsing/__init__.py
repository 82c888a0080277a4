"""Pure parsing: bytes of one complete command (literals inline) to a typed
command object. No I/O, no Django, no state: every function here can be fuzzed."""

from academail.imap.parsing.commands import parse_command
from academail.imap.parsing.errors import ParseError

__all__ = ["ParseError", "parse_command"]
