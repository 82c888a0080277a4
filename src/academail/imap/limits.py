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


by_address = ConnectionCounter()
by_account = ConnectionCounter()

__all__ = ["MAX_CONNECTIONS_PER_ACCOUNT", "MAX_CONNECTIONS_PER_IP", "ConnectionCounter", "by_account", "by_address"]
