"""Connection states (RFC 3501 §3) and the one table saying which command is
allowed in which state. The server checks it before running any command."""

from __future__ import annotations

import enum


class State(enum.Enum):
    NOT_AUTHENTICATED = "not authenticated"
    AUTHENTICATED = "authenticated"
    SELECTED = "selected"
    LOGOUT = "logout"


ANY = frozenset({State.NOT_AUTHENTICATED, State.AUTHENTICATED, State.SELECTED})
NOT_AUTH = frozenset({State.NOT_AUTHENTICATED})
AUTH = frozenset({State.AUTHENTICATED, State.SELECTED})
SELECTED = frozenset({State.SELECTED})

# RFC 3501 §6.1-6.4 (and each extension's RFC for its commands).
ALLOWED: dict[str, frozenset[State]] = {
    "CAPABILITY": ANY, "NOOP": ANY, "LOGOUT": ANY, "ID": ANY,  # ID: RFC 2971 §3.1
    "STARTTLS": NOT_AUTH, "LOGIN": NOT_AUTH, "AUTHENTICATE": NOT_AUTH,
    "ENABLE": AUTH,  # RFC 5161 §3.1: only before SELECT is useful; we accept in both
    "SELECT": AUTH, "EXAMINE": AUTH, "CREATE": AUTH, "DELETE": AUTH, "RENAME": AUTH,
    "SUBSCRIBE": AUTH, "UNSUBSCRIBE": AUTH, "LIST": AUTH, "LSUB": AUTH, "STATUS": AUTH,
    "APPEND": AUTH, "NAMESPACE": AUTH, "IDLE": AUTH, "GETQUOTAROOT": AUTH, "GETQUOTA": AUTH,
    # RFC 4314 §3: the ACL commands, in the authenticated and selected states.
    "GETACL": AUTH, "SETACL": AUTH, "DELETEACL": AUTH, "LISTRIGHTS": AUTH, "MYRIGHTS": AUTH,
    "CHECK": SELECTED, "CLOSE": SELECTED, "UNSELECT": SELECTED, "EXPUNGE": SELECTED,
    "UID EXPUNGE": SELECTED, "SEARCH": SELECTED, "FETCH": SELECTED, "STORE": SELECTED,
    "COPY": SELECTED, "MOVE": SELECTED,
    "SORT": SELECTED, "THREAD": SELECTED,  # RFC 5256 §3, §4
    "CANCELUPDATE": SELECTED,  # RFC 5267 §4.3.5 (command-select)
    "COMPRESS": AUTH,  # RFC 4978 §3: after authentication
    "NOTIFY": AUTH,  # RFC 5465 §3: authenticated and selected states
}


def allowed(command: str, state: State) -> bool:
    return state in ALLOWED.get(command, frozenset())
