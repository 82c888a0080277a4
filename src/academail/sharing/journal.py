"""Both journals of a shared action: the owner's (a functional mailbox's
journal says who read, moved, deleted or sent what) and the person's own
(their actions there). The store announces each action (``shared_use``);
sending and changes of rights are recorded by their services here too."""

from __future__ import annotations

from typing import Any

from academail.accounts import journal
from academail.accounts.models import EventKind
from academail.accounts.services import account_label as _who
from academail.store.acl import folder_label

# What each store action reads as in a journal line.
_VERBS = {
    "read": "a lu", "flag": "a marqué", "delete": "a mis à supprimer", "move": "a déplacé", "copy": "a copié",
    "append": "a ajouté", "expunge": "a supprimé définitivement",
}


def on_shared_use(sender: Any, *, actor_id: int, owner_id: int, mailbox_id: int, action: str, count: int,
                  **_: Any) -> None:
    """``store.signals.shared_use``: one line in each journal."""
    folder = folder_label(mailbox_id)
    verb = _VERBS.get(action, action)
    what = f"{count} message{'s' if count > 1 else ''} dans « {folder} »"
    actor, _actor_address = _who(actor_id)
    _owner, owner_address = _who(owner_id)
    journal.do_record(owner_id, EventKind.SHARED_USE, detail=f"{actor} {verb} {what}")
    journal.do_record(actor_id, EventKind.SHARED_USE, detail=f"{verb} {what} de {owner_address}")


def record_change(owner_id: int, grantee_id: int, by_id: int | None, text: str) -> None:
    """A grant given, changed or ended: the owner's and the grantee's journals."""
    by = _who(by_id)[0] if by_id else "le système"
    grantee, grantee_address = _who(grantee_id)
    _owner, owner_address = _who(owner_id)
    journal.do_record(owner_id, EventKind.SHARING_CHANGED, detail=f"{text} : {grantee} (par {by})")
    journal.do_record(grantee_id, EventKind.SHARING_CHANGED, detail=f"{text} : {owner_address} (par {by})")


def record_seen_mode(owner_id: int, by_id: int, per_person: bool) -> None:
    """The manager chose how \\Seen is kept: the owner's journal and theirs."""
    by, _address = _who(by_id)
    _owner, owner_address = _who(owner_id)
    text = "« lu » propre à chaque personne" if per_person else "« lu » partagé par l'équipe"
    journal.do_record(owner_id, EventKind.SHARING_CHANGED, detail=f"{text} (par {by})")
    journal.do_record(by_id, EventKind.SHARING_CHANGED, detail=f"{text} : {owner_address}")


def on_sent_for(sender: Any, *, actor_id: int, owner_id: int, subject: str, recipients: int, on_behalf: bool,
                **_: Any) -> None:
    """``delivery.submit.sent_for``: a message sent from ``owner_id``'s
    address by ``actor_id`` (as a member, or on the owner's behalf)."""
    actor = _who(actor_id)[0]
    _owner, owner_address = _who(owner_id)
    how = "de la part de" if on_behalf else "en tant que"
    subject = subject[:120]
    plural = "s" if recipients > 1 else ""
    journal.do_record(owner_id, EventKind.SENT_FOR,
                      detail=f"{actor} a envoyé « {subject} » à {recipients} destinataire{plural}")
    journal.do_record(actor_id, EventKind.SENT_FOR,
                      detail=f"envoyé {how} {owner_address} : « {subject} » à {recipients} destinataire{plural}")


def record_agenda_use(owner_id: int, actor_id: int, what: str) -> None:
    """A delegate changed the owner's agenda (``calendar.delegated``): one
    line in each journal. ``what`` starts with a verb ("a supprimé un événement")."""
    actor = _who(actor_id)[0]
    _owner, owner_address = _who(owner_id)
    journal.do_record(owner_id, EventKind.SHARED_USE, detail=f"{actor} {what} dans votre agenda"[:300])
    journal.do_record(actor_id, EventKind.SHARED_USE, detail=f"{what} dans l'agenda de {owner_address}"[:300])
