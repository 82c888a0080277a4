"""One-click unsubscribe (RFC 8058) from hand-managed lists that let their
members leave.

Each member's copy carries its own ``List-Unsubscribe`` with an HTTPS link
and ``List-Unsubscribe-Post: List-Unsubscribe=One-Click`` (§3.1). The link's
token names the list and the member's row, signed with the site's key
(Django's ``TimestampSigner``, a salt of its own) and dated:

- **expiring:** refused after ``LISTS_UNSUBSCRIBE_DAYS`` (60 days by default);
  the page then says how to leave from the webmail;
- **single use:** it names the member's row, which leaving deletes. A second
  use finds nothing to do, and a later re-subscription is a new row the old
  link cannot touch (primary keys are never reused: SQLite AUTOINCREMENT,
  PostgreSQL sequences);
- **no enumeration:** a token names no address; a forged or altered one is
  refused before any query.

The POST needs no session and no CSRF token (§3.2: the mail client posts it
without cookies; the token is the authority). A GET only shows a
confirmation page whose button makes the same POST, since link scanners and
previews follow GETs (§3.2, §6).

Directory lists issue no link: leaving one is leaving the établissement or
the function. A link to a list that became one says so, in French.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from academail.lists.models import Kind, MailingList, Member

_SALT = "academail.lists.unsubscribe"
ONE_CLICK = "List-Unsubscribe=One-Click"
FIELDS = (b"List-Unsubscribe", b"List-Unsubscribe-Post")
DIRECTORY = gettext_lazy("Cette liste est tenue à jour depuis l'annuaire : on ne peut pas s'en désabonner. "
             "Vous la recevez tant que votre fonction ou votre établissement y correspond ; "
             "en cas d'erreur, adressez-vous au secrétariat de votre établissement.")


class LinkInvalid(ValueError):
    """The link cannot be used; ``str()`` is French, for the person."""


def one_click(mailing_list: MailingList) -> bool:
    """Whether copies of ``mailing_list`` carry per-member one-click links:
    a hand list its members may leave, served over HTTPS (§3.1: the URI
    MUST be HTTPS; a local run over HTTP keeps the list page's link)."""
    return (mailing_list.kind == Kind.MANUAL and mailing_list.allow_unsubscribe
            and settings.PUBLIC_URL.startswith("https://"))


def token_for(mailing_list_id: int, member_id: int) -> str:
    return signing.TimestampSigner(salt=_SALT).sign(f"{mailing_list_id}.{member_id}")


def fields_for(mailing_list_id: int, member_id: int) -> bytes:
    """The two RFC 8058 fields of one member's copy (CRLF-terminated)."""
    url = settings.PUBLIC_URL + reverse("lists:unsubscribe", args=[token_for(mailing_list_id, member_id)])
    return f"List-Unsubscribe: <{url}>\r\nList-Unsubscribe-Post: {ONE_CLICK}\r\n".encode()


@dataclass(frozen=True)
class Link:
    mailing_list: MailingList
    member: Member | None  # None: already left (the link was used)


def access_link(token: str) -> Link:
    """What a link names; LinkInvalid when forged, expired, or the list is gone."""
    try:
        value = signing.TimestampSigner(salt=_SALT).unsign(
            token[:200], max_age=timedelta(days=settings.LISTS_UNSUBSCRIBE_DAYS))
    except signing.SignatureExpired:
        raise LinkInvalid(_("Ce lien de désabonnement a expiré. Connectez-vous à la messagerie : la page de la "
                            "liste (Courrier, Listes) permet de la quitter.")) from None
    except signing.BadSignature:
        raise LinkInvalid(_("Ce lien de désabonnement n'est pas valide. Copiez-le en entier depuis le message, "
                            "ou quittez la liste depuis sa page dans la messagerie.")) from None
    list_id, _dot, member_id = value.partition(".")
    mailing_list = MailingList.objects.filter(pk=int(list_id)).first()
    if mailing_list is None:
        raise LinkInvalid(_("Cette liste n'existe plus : vous n'en recevrez plus de messages."))
    member = Member.objects.filter(pk=int(member_id), mailing_list=mailing_list).first()
    return Link(mailing_list, member)


def check_unsubscribe(token: str) -> Link:
    """Leave the list the link names (§3.2). Returns the link as it was
    (``member`` None when it had already been used). Raises LinkInvalid,
    or LinkInvalid with ``DIRECTORY`` for a directory list, and when the
    list no longer lets members leave."""
    link = access_link(token)
    if link.mailing_list.kind == Kind.DIRECTORY:
        raise LinkInvalid(str(DIRECTORY))
    if not link.mailing_list.allow_unsubscribe:
        raise LinkInvalid(_("Cette liste ne permet plus de se désabonner soi-même : adressez-vous à ses "
                            "gestionnaires."))
    if link.member is not None:
        with transaction.atomic():
            Member.objects.filter(pk=link.member.pk).delete()
    return link


__all__ = ["DIRECTORY", "FIELDS", "ONE_CLICK", "Link", "LinkInvalid", "access_link", "check_unsubscribe",
           "fields_for", "one_click", "token_for"]
