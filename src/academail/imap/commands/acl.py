"""The ACL extension (RFC 4314 §3): GETACL, SETACL, DELETEACL, LISTRIGHTS
and MYRIGHTS. Identifiers are sign-in identifiers. The rights themselves are
the store's (``store.acl``): a mailbox the session may not see is answered
``NO [NONEXISTENT]`` whatever the command (§6: no information leak), one it
sees without "a" gets ``NO [NOPERM]`` (the server turns ``NoPermission``
into that)."""

from __future__ import annotations

import re

from academail.accounts.services import active_account_id
from academail.imap import responses as R
from academail.imap.parsing import commands as C
from academail.imap.session import Session
from academail.store import imap as store
from academail.store.acl import ALL_RIGHTS, OWNER_RIGHTS, InvalidRights
from academail.store.errors import MailboxNotFound


def _astring(text: str) -> bytes:
    """An identifier as an atom when it is one (sign-in identifiers are),
    else quoted (RFC 3501 §9 astring)."""
    if re.fullmatch(r"[A-Za-z0-9._@-]+", text):
        return text.encode()
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'.encode()


async def do_getacl(session: Session, command: C.GetAcl) -> None:
    try:
        rows = await session.run(store.acl_of, session.account, command.mailbox)
    except MailboxNotFound as exc:
        await session.no(command, exc.message, R.CODE_NONEXISTENT)
        return
    line = b"ACL " + session.wire_name(command.mailbox)
    for identifier, rights in rows:
        line += b" " + _astring(identifier) + b" " + rights.encode()
    await session.untagged(line)  # RFC 4314 §3.6
    await session.ok(command)


async def do_myrights(session: Session, command: C.MyRights) -> None:
    try:
        rights = await session.run(store.my_rights, session.account, command.mailbox)
    except MailboxNotFound as exc:
        await session.no(command, exc.message, R.CODE_NONEXISTENT)
        return
    await session.untagged(b"MYRIGHTS " + session.wire_name(command.mailbox) + b" " + rights.encode())  # §3.8
    await session.ok(command)


async def do_listrights(session: Session, command: C.ListRights) -> None:
    try:
        await session.run(store.check_administer, session.account, command.mailbox)
    except MailboxNotFound as exc:
        await session.no(command, exc.message, R.CODE_NONEXISTENT)
        return
    # RFC 4314 §3.7: the owner always holds every right; anyone else may be
    # given each right alone.
    owner = await session.run(store.acl_of, session.account, command.mailbox)
    line = b"LISTRIGHTS " + session.wire_name(command.mailbox) + b" " + _astring(command.identifier)
    if owner and owner[0][0] == command.identifier.lower():
        line += b" " + OWNER_RIGHTS.encode()
    else:
        line += b' "" ' + " ".join(ALL_RIGHTS).encode()
    await session.untagged(line)
    await session.ok(command)


async def do_setacl(session: Session, command: C.SetAcl | C.DeleteAcl) -> None:
    grantee = await session.run(active_account_id, command.identifier)
    try:
        # The mailbox first: whatever the identifier, a mailbox the session may
        # not see answers NONEXISTENT (RFC 4314 §6).
        await session.run(store.check_administer, session.account, command.mailbox)
        if grantee is None:
            await session.no(command, R.NO_UNKNOWN_IDENTIFIER, R.CODE_CANNOT)
            return
        if grantee == session.account:
            await session.no(command, "The owner's own rights cannot change / vos propres droits ne changent pas",
                             R.CODE_CANNOT)
            return
        if isinstance(command, C.SetAcl):
            await session.run(store.set_acl, session.account, command.mailbox, grantee, command.mode, command.rights)
        else:
            await session.run(store.delete_acl, session.account, command.mailbox, grantee)
    except MailboxNotFound as exc:
        await session.no(command, exc.message, R.CODE_NONEXISTENT)
        return
    except InvalidRights as exc:
        await session.bad(command, exc.message)  # RFC 4314 §3.1: an unknown right is BAD
        return
    await session.ok(command)
