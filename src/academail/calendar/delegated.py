"""Someone else's agenda, through a delegation (issue 19 §2: "this also
covers the agenda"). A delegation (``sharing.delegation``) may carry the
agenda digits of ``store.acl``: "2" sees the owner's calendars, "3" also
changes them and answers the owner's invitations on their behalf (RFC 5545
§3.2.18 SENT-BY, with ``Sender:`` the delegate). The grant is read afresh at
every page and every DAV request (``acl.agenda_rights``), so access ends the
instant the delegation ends or is withdrawn: there is nothing to expire.

The webmail's agenda pages name the agenda with ``?de=<owner's address>``;
CalDAV clients open ``/dav/<owner's identifier>/agenda/`` with the
delegate's own credentials (``dav.Rights`` asks ``dav_rights``). Every change
(an event written or deleted, an invitation answered) goes to both journals;
reads do not, as a phone polls the agenda every few minutes and would drown
them."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext as _

from academail.accounts.models import Account, Status
from academail.calendar.events import AgendaError
from academail.sharing import journal
from academail.store import acl


class NotDelegated(AgendaError):
    """The agenda asked for is unknown or not delegated to the person: one
    refusal for both (no enumeration); the pages answer it with a 404."""


@dataclass(frozen=True)
class Agenda:
    """Whose agenda a page shows, and what the person may do with it."""

    owner: Account
    rights: str  # "" for one's own; else acl's agenda digits
    own: bool

    @property
    def may_write(self) -> bool:
        return self.own or acl.AGENDA_WRITE in self.rights

    @property
    def query(self) -> str:
        """What the agenda's links carry to stay on this agenda ("" for one's own)."""
        from urllib.parse import quote

        return "" if self.own else "de=" + quote(self.owner.address)

    @property
    def amp(self) -> str:
        """``query`` to append to a link that already has one."""
        return "&" + self.query if self.query else ""


def own(actor: Account) -> Agenda:
    return Agenda(actor, "", True)


def access_agenda(actor: Account, address: str | None, *, write: bool = False) -> Agenda:
    """The agenda of ``address`` if ``actor`` may see it (or, with ``write``,
    change it) now; one's own when ``address`` is empty or one's own. Raises
    AgendaError (in the person's language) with the same words whether the address is unknown
    or simply not delegated (no enumeration): ``NotDelegated``."""
    address = (address or "").strip().lower()
    if not address or address == actor.address.lower():
        return own(actor)
    owner = Account.objects.filter(address=address, status=Status.ACTIVE).first()
    found = acl.agenda_rights(actor.identifier, owner.identifier) if owner is not None else None
    if owner is None or found is None:
        raise NotDelegated(_("Cet agenda n'existe pas ou ne vous est pas délégué : revenez à votre agenda, "
                             "ou demandez à son propriétaire de vous le déléguer."))
    agenda = Agenda(owner, found[1], False)
    if write and not agenda.may_write:
        raise AgendaError(_("Cet agenda vous est délégué en lecture seule : demandez à %(address)s "
                            "de vous le déléguer en écriture.") % {"address": owner.address})
    return agenda


def agendas_of(actor: Account) -> list[Agenda]:
    """The agendas delegated to ``actor`` now (the agenda page's switcher)."""
    granted = dict(acl.agenda_owners(actor.pk))
    owners = Account.objects.filter(pk__in=list(granted), status=Status.ACTIVE).order_by("last_name", "first_name")
    return [Agenda(owner, granted[owner.pk], False) for owner in owners]


def access_owner_of_mailbox(actor: Account, owner_id: int) -> Agenda | None:
    """The agenda of the owner of a mailbox ``actor`` reads (an invitation
    in a delegated INBOX), or None when it is not delegated to them."""
    if owner_id == actor.pk:
        return own(actor)
    owner = Account.objects.filter(pk=owner_id, status=Status.ACTIVE).first()
    if owner is None:
        return None
    found = acl.agenda_rights(actor.identifier, owner.identifier)
    return Agenda(owner, found[1], False) if found is not None else None


def dav_rights(user: str, owner: str) -> str:
    """Radicale's letters for ``user`` on a calendar of ``owner`` (both
    identifiers): "rw" with "3", "r" with "2", "" otherwise."""
    found = acl.agenda_rights(user, owner)
    if found is None:
        return ""
    return "rw" if acl.AGENDA_WRITE in found[1] else "r"


def record_use(agenda: Agenda, actor: Account, what: str) -> None:
    """A change a delegate made to the owner's agenda: both journals."""
    if agenda.own:
        return
    journal.record_agenda_use(agenda.owner.pk, actor.pk, what)


def access_invitation_in(actor: Account, owner_id: int, raw: bytes, *, authenticated: bool) -> object:
    """The invitation card of a message in a mailbox of ``owner_id`` that
    ``actor`` reads: for the owner's agenda when it is delegated to them in
    writing (the buttons answer on the owner's behalf); without buttons, and
    without the owner's events, when it is not. None when no invitation."""
    from dataclasses import replace

    from academail.calendar import imip

    agenda = access_owner_of_mailbox(actor, owner_id)
    if agenda is not None and agenda.own:
        return imip.access_invitation(actor, raw, authenticated=authenticated)
    owner = agenda.owner if agenda is not None else Account.objects.filter(pk=owner_id).first()
    if owner is None:
        return None
    found = imip.access_invitation(owner, raw, authenticated=authenticated)
    if found is None:
        return None
    if agenda is None:
        return replace(found, conflicts=[], mine="", stored=False, on_behalf_of=owner.address,
                       problem=found.problem or _(
                           "%(address)s ne vous a pas délégué son agenda : vous ne pouvez pas répondre à sa "
                           "place. Transférez-lui le message, ou demandez-lui de vous déléguer son agenda."
                       ) % {"address": owner.address})
    if not agenda.may_write:
        return replace(found, on_behalf_of=owner.address, problem=found.problem or _(
            "L'agenda de %(address)s vous est délégué en lecture seule : vous ne pouvez pas répondre à sa "
            "place. Demandez-lui de vous le déléguer en écriture.") % {"address": owner.address})
    return replace(found, on_behalf_of=owner.address)


def do_answer_in(actor: Account, owner_id: int, raw: bytes, *, partstat: str, apply: bool,
                 authenticated: bool) -> str:
    """The card's buttons for a message in ``owner_id``'s mailbox: answer
    (or apply) for the owner when ``actor`` may change their agenda, with
    SENT-BY and ``Sender:`` the actor; both journals (in French, as every
    journal line). Returns the confirmation in the person's language; raises
    AgendaError."""
    from academail.calendar import imip

    agenda = access_owner_of_mailbox(actor, owner_id)
    if agenda is None:
        raise AgendaError(_("Cette boîte ne vous délègue pas son agenda : vous ne pouvez pas répondre à sa "
                            "place. Transférez le message à son titulaire."))
    if not agenda.may_write:
        raise AgendaError(_("Cet agenda vous est délégué en lecture seule : vous ne pouvez pas répondre à sa "
                            "place. Demandez à son titulaire de vous le déléguer en écriture."))
    if apply:
        done = imip.do_apply_invitation(agenda.owner, raw, authenticated=authenticated)
        record_use(agenda, actor, "a appliqué une réponse ou une annulation reçue")
        return done
    imip.do_answer_invitation(agenda.owner, raw, partstat, authenticated=authenticated,
                              sent_by=None if agenda.own else actor)
    record_use(agenda, actor, f"a répondu « {imip.ANSWERS[partstat]} » à une invitation")
    return _("Réponse envoyée à l'organisateur de la part de %(address)s, et son agenda mis à jour.") % {
        "address": agenda.owner.address}


# Methods that change a collection (RFC 4918, RFC 4791 §5.3.1); the others only read.
_DAV_WRITES = {"PUT": "a enregistré un événement", "DELETE": "a supprimé un événement",
               "MOVE": "a déplacé un événement", "PROPPATCH": "a modifié les propriétés",
               "MKCALENDAR": "a créé un agenda", "MKCOL": "a créé un agenda"}


def record_dav_use(actor: Account, path: str, method: str, status: int) -> None:
    """After a DAV request: a successful change by a delegate in another
    account's home goes to both journals (the client names the owner by
    identifier in the path, ``/<identifier>/<calendar>/...``)."""
    what = _DAV_WRITES.get(method.upper())
    owner_identifier = path.strip("/").split("/", 1)[0]
    if what is None or not 200 <= status < 300 or not owner_identifier or owner_identifier == actor.identifier:
        return
    owner_id = Account.objects.filter(identifier=owner_identifier).values_list("pk", flat=True).first()
    if owner_id is not None:
        journal.record_agenda_use(owner_id, actor.pk, f"{what} (CalDAV)")


__all__ = ["Agenda", "NotDelegated", "access_agenda", "access_invitation_in", "access_owner_of_mailbox", "do_answer_in", "agendas_of", "dav_rights", "own",
           "record_dav_use", "record_use"]
