"""Connection states (RFC 5804 §1.2, §2) and the one table saying which
command runs in which state; the server checks it before every command."""

from __future__ import annotations

import enum


class State(enum.Enum):
    NOT_AUTHENTICATED = "not authenticated"
    AUTHENTICATED = "authenticated"
    LOGOUT = "logout"


ANY = frozenset({State.NOT_AUTHENTICATED, State.AUTHENTICATED})
NOT_AUTH = frozenset({State.NOT_AUTHENTICATED})
AUTH = frozenset({State.AUTHENTICATED})

ALLOWED: dict[str, frozenset[State]] = {
    "CAPABILITY": ANY, "LOGOUT": ANY, "NOOP": ANY,  # §2.4, §2.3, §2.13
    "STARTTLS": NOT_AUTH, "AUTHENTICATE": NOT_AUTH,  # §2.2, §2.1
    "HAVESPACE": AUTH, "PUTSCRIPT": AUTH, "LISTSCRIPTS": AUTH, "SETACTIVE": AUTH,  # §2.5-2.8
    "GETSCRIPT": AUTH, "DELETESCRIPT": AUTH, "RENAMESCRIPT": AUTH, "CHECKSCRIPT": AUTH,  # §2.9-2.12
    "UNAUTHENTICATE": AUTH,  # §2.14
}


def allowed(command: str, state: State) -> bool:
    return state in ALLOWED.get(command, frozenset())
