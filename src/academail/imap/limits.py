"""How many IMAP connections one address and one account may hold at once
(issue 6, item 4). Phones open several connections per account (one per IDLE
folder), so the defaults are generous; a loop of reconnections or a scan from
one address is what they stop. Counted in the event loop's thread only.

The limits are module constants read at each connection, overridable from the
environment (``ACADEMAIL_IMAP_MAX_CONNECTIONS_PER_ACCOUNT``,
``ACADEMAIL_IMAP_MAX_CONNECTIONS_PER_IP``); 0 means no limit.
"""

from __future__ import annotations

from academail.config.env import env_int

MAX_CONNECTIONS_PER_ACCOUNT = env_int("ACADEMAIL_IMAP_MAX_CONNECTIONS_PER_ACCOUNT", 50)
MAX_CONNECTIONS_PER_IP = env_int("ACADEMAIL_IMAP_MAX_CONNECTIONS_PER_IP", 100)


class ConnectionCounter:
    """Live connections by key (an address or an account id)."""

    def __init__(self) -> None:
        self._counts: dict[object, int] = {}

    def acquire(self, key: object, limit: int) -> bool:
        """Count one more connection for ``key`` unless ``limit`` (> 0) is reached."""
        count = self._counts.get(key, 0)
        if limit > 0 and count >= limit:
            return False
        self._counts[key] = count + 1
        return True

    def release(self, key: object) -> None:
        count = self._counts.get(key, 0) - 1
        if count > 0:
            self._counts[key] = count
        else:
            self._counts.pop(key, None)

    def count(self, key: object) -> int:
        return self._counts.get(key, 0)


by_address = ConnectionCounter()
by_account = ConnectionCounter()
