"""MIME: parse a message once at delivery into a part map with exact byte offsets,
an IMAP envelope, decoded header fields, preview and search text
(see ``academail.mime.parse``)."""

from academail.mime.parse import (
    Address,
    AttachmentInfo,
    Envelope,
    MessageInfo,
    ParsedMessage,
    Part,
    body_bytes,
    decode_part_body,
    find_part,
    header_bytes,
    iter_parts,
    parse_message,
    part_text,
)

__all__ = [
    "Address",
    "AttachmentInfo",
    "Envelope",
    "MessageInfo",
    "ParsedMessage",
    "Part",
    "body_bytes",
    "decode_part_body",
    "find_part",
    "header_bytes",
    "iter_parts",
    "parse_message",
    "part_text",
]
