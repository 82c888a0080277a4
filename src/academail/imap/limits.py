"""How many IMAP connections one address and one account may hold at once
(issue 6, item 4). Phones open several connections per account (one per IDLE
folder), so the defaults are generous; a loop of reconnections or a scan from
one address is what they stop. Counted in the event loop's thread only.

The limits are module constants read at each connection, overridable from the
environment (``ACADEMAIL_IMAP_MAX_CONNECTIONS_PER_ACCOUNT``,
``ACADEMAIL_IMAP_MAX_CONNECTIONS_PER_IP``); 0 means no limit.
"""

from __future__ import annotations

from academail.env import env_int
from academail.server.lineserver import ConnectionCounter

MAX_CONNECTIONS_PER_ACCOUNT = env_int("ACADEMAIL_IMAP_MAX_CONNECTIONS_PER_ACCOUNT", 50)
MAX_CONNECTIONS_PER_IP = env_int("ACADEMAIL_IMAP_MAX_CONNECTIONS_PER_IP", 100)
# RFC 5267 §4.3.1: live (UPDATE) searches one session may keep, at least one;
# and the UIDs they may hold together (4 bytes each: 1 MB at most per session).
MAX_UPDATE_CONTEXTS = max(1, env_int("ACADEMAIL_IMAP_MAX_UPDATE_CONTEXTS", 5))
MAX_CONTEXT_UIDS = env_int("ACADEMAIL_IMAP_MAX_CONTEXT_UIDS", 250_000)


by_address = ConnectionCounter()
by_account = ConnectionCounter()

__all__ = ["MAX_CONNECTIONS_PER_ACCOUNT", "MAX_CONNECTIONS_PER_IP", "MAX_CONTEXT_UIDS", "MAX_UPDATE_CONTEXTS", "ConnectionCounter", "by_account", "by_address"]
