"""Signals the store sends for services above it (which the store must not
import): ``junk_verdict`` when a person says, through any protocol, that
messages are or are not junk — moved or copied into Indésirables, moved out
of it to another folder than Corbeille, or given the ``$Junk`` / ``$NotJunk``
keyword (the keywords Thunderbird and Apple Mail set, RFC 5788 registry).

Sent on commit, from the thread that made the change, with
``account_id``, ``spam`` (bool) and ``messages``: a list of
``(content sha256, per-delivery prefix)``, at most ``MAX_SIGNALLED`` of them
(learning from the first hundred of a large move is plenty, and bounded).
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import transaction
from django.dispatch import Signal

MAX_SIGNALLED = 100
JUNK_KEYWORD = "$Junk"
NOT_JUNK_KEYWORD = "$NotJunk"

junk_verdict = Signal()


def send_on_commit(account_id: int, spam: bool, messages: Sequence[tuple[str, bytes]]) -> None:
    """Announce a junk / not-junk verdict once the change commits.
    Precondition: inside the transaction that makes the change."""
    if not messages:
        return
    chosen = list(messages[:MAX_SIGNALLED])
    transaction.on_commit(
        lambda: junk_verdict.send(sender=None, account_id=account_id, spam=spam, messages=chosen)
    )


# ``shared_use``: someone acted in another account's mailbox (a functional
# mailbox's member, a delegate, a colleague in a shared folder). Sent on
# commit with ``actor_id``, ``owner_id``, ``mailbox_id``, ``action`` (one of
# SHARED_ACTIONS) and ``count`` (messages); ``sharing`` writes both journals.
shared_use = Signal()
SHARED_ACTIONS = ("read", "flag", "delete", "move", "copy", "append", "expunge")


def note_use(actor_id: int, owner_id: int, mailbox_id: int, action: str, count: int) -> None:
    """Announce ``actor_id``'s ``action`` in ``owner_id``'s mailbox once it
    commits; nothing for one's own mail. Precondition: inside the change's
    transaction."""
    if actor_id == owner_id or count <= 0:
        return
    assert action in SHARED_ACTIONS, action
    transaction.on_commit(
        lambda: shared_use.send(
            sender=None, actor_id=actor_id, owner_id=owner_id, mailbox_id=mailbox_id, action=action, count=count
        )
    )
