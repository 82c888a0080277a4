"""The one exception of the parsing layer: the server answers it with BAD."""

from __future__ import annotations


class ParseError(Exception):
    """A command that does not follow the grammar (RFC 3501 §9).

    ``tag`` is the command's tag when it could be read (else the reply is
    untagged), ``code`` an optional response code such as ``TOOBIG``."""

    def __init__(self, text: str, *, tag: str | None = None, code: str | None = None) -> None:
        super().__init__(text)
        self.text = text
        self.tag = tag
        self.code = code
