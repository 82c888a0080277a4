"""The IMAP command handlers, one module per family, and ``HANDLERS``: the one
table from a parsed command's class to its handler, so each handler receives
its command as its real type. The server checks the state table
(``imap.state.ALLOWED``) before dispatching through this one."""

from __future__ import annotations

from academail.imap.commands import (
    acl,
    append,
    auth,
    copy,
    fetch,
    flags,
    general,
    idle,
    mailbox,
    notify,
    search,
    select,
)
from academail.imap.parsing import commands as C
from academail.imap.session import Session
from academail.server.lineserver import CommandTable

HANDLERS: CommandTable[Session] = CommandTable()
# Any state (RFC 3501 §6.1, RFC 2971, RFC 5161, RFC 2342).
HANDLERS.add(C.Capability, general.do_capability)
HANDLERS.add(C.Noop, general.do_noop)
HANDLERS.add(C.Logout, general.do_logout)
HANDLERS.add(C.Id, general.do_id)
HANDLERS.add(C.Enable, general.do_enable)
HANDLERS.add(C.Namespace, general.do_namespace)
HANDLERS.add(C.Compress, general.do_compress)  # RFC 4978
# Not authenticated (RFC 3501 §6.2).
HANDLERS.add(C.StartTLS, auth.do_starttls)
HANDLERS.add(C.Login, auth.do_login)
HANDLERS.add(C.Authenticate, auth.do_authenticate)
# Authenticated (RFC 3501 §6.3, RFC 9208).
HANDLERS.add(C.Select, select.do_select)  # and EXAMINE
HANDLERS.add(C.Create, mailbox.do_create)
HANDLERS.add(C.Delete, mailbox.do_delete)
HANDLERS.add(C.Rename, mailbox.do_rename)
HANDLERS.add(C.Subscribe, mailbox.do_subscribe)
HANDLERS.add(C.Unsubscribe, mailbox.do_unsubscribe)
HANDLERS.add(C.ListCommand, mailbox.do_list)  # and LSUB
HANDLERS.add(C.Status, mailbox.do_status)
HANDLERS.add(C.GetQuotaRoot, mailbox.do_getquotaroot)
HANDLERS.add(C.GetQuota, mailbox.do_getquota)
HANDLERS.add(C.Append, append.do_append)
HANDLERS.add(C.Idle, idle.do_idle)
HANDLERS.add(C.Notify, notify.do_notify)  # RFC 5465
# RFC 4314 §3: access control lists.
HANDLERS.add(C.GetAcl, acl.do_getacl)
HANDLERS.add(C.SetAcl, acl.do_setacl)
HANDLERS.add(C.DeleteAcl, acl.do_setacl)
HANDLERS.add(C.ListRights, acl.do_listrights)
HANDLERS.add(C.MyRights, acl.do_myrights)
# Selected (RFC 3501 §6.4).
HANDLERS.add(C.Check, select.do_check)
HANDLERS.add(C.Close, select.do_close)
HANDLERS.add(C.Unselect, select.do_unselect)
HANDLERS.add(C.Expunge, select.do_expunge)
HANDLERS.add(C.UidExpunge, select.do_expunge)
HANDLERS.add(C.Search, search.do_search)
HANDLERS.add(C.Sort, search.do_sort)  # RFC 5256 §3
HANDLERS.add(C.Thread, search.do_thread)  # RFC 5256 §4
HANDLERS.add(C.CancelUpdate, search.do_cancelupdate)  # RFC 5267 §4.3.5
HANDLERS.add(C.Fetch, fetch.do_fetch)
HANDLERS.add(C.Store, flags.do_store)
HANDLERS.add(C.Copy, copy.do_copy)  # and MOVE

__all__ = ["HANDLERS"]
