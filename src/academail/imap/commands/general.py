"""Commands of any state: CAPABILITY, NOOP, LOGOUT (RFC 3501 §6.1), ID
(RFC 2971), ENABLE (RFC 5161), NAMESPACE (RFC 2342) and COMPRESS (RFC 4978)."""

from __future__ import annotations

from academail.imap import responses as R
from academail.imap.parsing import commands as C
from academail.imap.session import Session
from academail.imap.state import State
from academail.store.acl import SHARED_PREFIX

ENABLEABLE = ("CONDSTORE", "QRESYNC", "UTF8=ACCEPT")


async def do_capability(session: Session, command: C.Capability) -> None:
    await session.untagged(f"CAPABILITY {session.capability_line()}")
    await session.ok(command)


async def do_noop(session: Session, command: C.Noop) -> None:
    await session.announce(expunge_ok=True)  # RFC 3501 §6.1.2: the polling command
    await session.ok(command)


async def do_logout(session: Session, command: C.Logout) -> None:
    await session.untagged(f"BYE {R.BYE_LOGOUT}")
    await session.ok(command)
    session.state = State.LOGOUT


async def do_id(session: Session, command: C.Id) -> None:
    # RFC 2971: answer with our own identification. The client's name names
    # the device in the sign-in journal when it comes before LOGIN.
    if session.state is State.NOT_AUTHENTICATED:
        for key, value in command.params or ():
            if key.lower() == "name" and value:
                session.client_name = value[:100]
    await session.untagged('ID ("name" "academail" "vendor" "academail")')
    await session.ok(command)


async def do_enable(session: Session, command: C.Enable) -> None:
    newly: list[str] = []
    had_condstore = session.condstore
    for cap in command.capabilities:
        if cap in ENABLEABLE and cap not in session.enabled:
            session.enabled.add(cap)
            newly.append(cap)
            if cap == "QRESYNC":
                session.enabled.add("CONDSTORE")  # RFC 7162 §3.2.3
    await session.untagged("ENABLED" + "".join(" " + c for c in newly))  # RFC 5161 §3.2
    if session.condstore and not had_condstore and session.view is not None:
        # RFC 7162 §3.1: the first CONDSTORE-enabling command while a mailbox is selected.
        await session.untagged(f"OK [HIGHESTMODSEQ {session.view.modseq}] Highest")
    await session.ok(command)


async def do_namespace(session: Session, command: C.Namespace) -> None:
    # RFC 2342 §5: the personal namespace, no other users', and the shared
    # one holding functional mailboxes, shared folders and delegations.
    shared = session.wire_name(SHARED_PREFIX + "/")
    await session.untagged(b'NAMESPACE (("" "/")) NIL ((' + shared + b' "/"))')
    await session.ok(command)


async def do_compress(session: Session, command: C.Compress) -> None:
    """RFC 4978 §3: DEFLATE from the byte after the OK; a second COMPRESS is
    NO [COMPRESSIONACTIVE]; another algorithm is BAD."""
    if command.algorithm != "DEFLATE":
        await session.bad(command, "Unknown compression algorithm")
        return
    if session.conn.compressed:
        await session.no(command, "Compression already active", "COMPRESSIONACTIVE")
        return
    await session.conn.start_compress(f"{command.tag} OK DEFLATE active\r\n".encode())
