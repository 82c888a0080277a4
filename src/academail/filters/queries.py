"""The filters' read side over stored mail: "Tester sur les messages existants"
runs a script over the newest INBOX messages. Reads only, through the store's
read functions; each message is parsed from at most ``HEAD_BYTES`` of its blob,
so a page of 200 messages with large attachments stays cheap.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils import timezone

from academail.filters.engine import ParsedView
from academail.filters.sieve import Program
from academail.mime.parse import parse_message
from academail.store.blobs import blob_store
from academail.store.messages import Message, page_messages
from academail.store.webmail import inbox

TEST_LIMIT = 200
HEAD_BYTES = 256 * 1024


@dataclass(frozen=True)
class Match:
    message: Message
    folder: str | None  # None = stays in INBOX
    flags: frozenset[str]
    redirects: tuple[str, ...]
    discard: bool

    @property
    def marks_read(self) -> bool:
        return "\\Seen" in self.flags


def newest_inbox(account_id: int, limit: int = TEST_LIMIT) -> list[Message]:
    return page_messages(inbox(account_id), limit=limit)


def match_existing(account_id: int, program: Program) -> tuple[int, list[Match]]:
    """(messages examined, those a rule acts on) among the newest INBOX messages."""
    rows = newest_inbox(account_id)
    now = timezone.localtime()
    blobs = blob_store()
    found = []
    for message in rows:
        content = message.content
        head = bytes(message.prefix) + blobs.read_range(content.sha256, 0, min(content.size, HEAD_BYTES))
        parsed = parse_message(head)
        view = ParsedView(
            parsed, raw=head, envelope_from=content.from_addr, envelope_to="", size=message.size, now=now
        )
        outcome = program.run(view)
        if outcome.fileinto or outcome.flags or outcome.redirects or outcome.discard or outcome.rejected:
            found.append(
                Match(
                    message, outcome.fileinto[0] if outcome.fileinto else None,
                    frozenset(outcome.flags), tuple(outcome.redirects), outcome.discard,
                )
            )
    return len(rows), found
