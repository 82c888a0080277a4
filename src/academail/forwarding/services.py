"""What the forwarding page does: read one's own forward, set a target (the
policy answers first, in French; only then is a single-use confirmation link
sent to the target), confirm from that link, resend it, turn forwarding off
(at once). Every change goes into the person's activity journal
(``FORWARDING_CHANGED``). Link secrets are stored as SHA-256 only.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from academail.accounts.journal import do_record
from academail.accounts.models import Account, EventKind
from academail.accounts.services import resolve_address
from academail.forwarding.models import ConfirmationToken, Forwarding
from academail.forwarding.policy import Decision, Verdict, decide, is_academie

LINKS_PER_HOUR = 5


class ForwardingError(ValueError):
    """A change that cannot be made; ``str()`` is the French explanation."""


@dataclass(frozen=True)
class Confirmation:
    """What the confirmation page shows about a live link."""

    account_address: str
    target: str


def _hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def access_forwarding(requester: Account) -> Forwarding | None:
    """The requester's own forward (nobody reads another's here)."""
    return Forwarding.objects.filter(account_id=requester.pk).first()


def check_target(requester: Account, target: str) -> Decision:
    """The policy's answer for ``target``, plus what only the database knows:
    an académie address must exist and not be the requester's own (alias included)."""
    decision = decide(requester.address, target)
    if decision.verdict is Verdict.REFUSE:
        return decision
    if is_academie(target):
        owner = resolve_address(target)
        if owner is None:
            return Decision(Verdict.REFUSE, _(
                "L'adresse %(target)s n'existe pas dans l'académie : vérifiez son orthographe."
            ) % {"target": target})
        if owner.pk == requester.pk:
            return Decision(Verdict.REFUSE, _("C'est l'une de vos propres adresses : le transfert tournerait en rond."))
    return decision


def check_set_forwarding(
    requester: Account, target: str, keep_copy: bool, *, base_url: str, remote_addr: str
) -> tuple[Forwarding, Decision, bool]:
    """Set the requester's forward. Raises ForwardingError (the policy's or the
    link limit's French reason) before anything is sent. Returns the forward,
    the policy decision (HOLD: each message will wait for an administrator)
    and whether a confirmation link was sent."""
    target = target.strip().lower()
    decision = check_target(requester, target)
    if decision.verdict is Verdict.REFUSE:
        raise ForwardingError(decision.reason)
    with transaction.atomic():
        current = Forwarding.objects.select_for_update().filter(account_id=requester.pk).first()
        if current is not None and current.target == target:
            if current.keep_copy != keep_copy:
                current.keep_copy = keep_copy
                current.save(update_fields=["keep_copy"])
                do_record(requester, EventKind.FORWARDING_CHANGED, protocol="web", remote_addr=remote_addr,
                          detail=_("Copie conservée : %(yes)s") % {"yes": _("oui") if keep_copy else _("non")})
            if current.confirmed_at is not None:
                return current, decision, False
            forwarding = current
        elif current is not None:
            # The old target stops at once; its links no longer match the target.
            current.target, current.keep_copy, current.confirmed_at = target, keep_copy, None
            current.save(update_fields=["target", "keep_copy", "confirmed_at"])
            ConfirmationToken.objects.filter(forwarding=current, used_at__isnull=True).update(used_at=timezone.now())
            forwarding = current
            do_record(requester, EventKind.FORWARDING_CHANGED, protocol="web", remote_addr=remote_addr,
                      detail=_("Transfert vers %(target)s demandé (en attente de confirmation)") % {"target": target})
        else:
            forwarding = Forwarding.objects.create(account=requester, target=target, keep_copy=keep_copy)
            do_record(requester, EventKind.FORWARDING_CHANGED, protocol="web", remote_addr=remote_addr,
                      detail=_("Transfert vers %(target)s demandé (en attente de confirmation)") % {"target": target})
        sent = _do_send_link(requester, forwarding, base_url=base_url)
    return forwarding, decision, sent


def _do_send_link(requester: Account, forwarding: Forwarding, *, base_url: str) -> bool:
    now = timezone.now()
    recent = ConfirmationToken.objects.filter(account_id=requester.pk, created_at__gt=now - timedelta(hours=1)).count()
    if recent >= LINKS_PER_HOUR:
        return False
    raw = secrets.token_urlsafe(32)
    ttl = int(settings.FORWARD_CONFIRM_TTL)
    ConfirmationToken.objects.create(
        account_id=requester.pk, forwarding=forwarding, target=forwarding.target, token_hash=_hash(raw), created_at=now,
        expires_at=now + timedelta(seconds=ttl),
    )
    url = base_url + reverse("forwarding:confirm", args=[raw])
    # In French whatever language the requester reads: the target is someone else.
    with translation.override("fr"):
        body = render_to_string("forwarding/email/confirm.txt", {
            "account": requester, "target": forwarding.target, "url": url, "hours": ttl // 3600,
        })
        subject = _("Confirmez le transfert du courrier de %(address)s") % {"address": requester.address}
    message = EmailMessage(subject=subject, body=body, from_email=settings.DEFAULT_FROM_EMAIL, to=[forwarding.target])
    message.extra_headers["Auto-Submitted"] = "auto-generated"  # RFC 3834 §5
    # Sent when the transaction commits: a rolled-back change sends no link.
    transaction.on_commit(lambda: message.send())
    return True


def check_resend_link(requester: Account, *, base_url: str) -> bool:
    """A new link for a forward still waiting; False over the hourly limit.
    Raises ForwardingError when there is nothing to confirm."""
    with transaction.atomic():
        forwarding = Forwarding.objects.select_for_update().filter(account_id=requester.pk).first()
        if forwarding is None or forwarding.confirmed_at is not None:
            raise ForwardingError(_("Aucun transfert n'attend de confirmation."))
        return _do_send_link(requester, forwarding, base_url=base_url)


def do_disable_forwarding(requester: Account, *, remote_addr: str) -> bool:
    """Turn the requester's forward off, at once (the next delivery forwards
    nothing). False when there was none."""
    with transaction.atomic():
        forwarding = Forwarding.objects.select_for_update().filter(account_id=requester.pk).first()
        if forwarding is None:
            return False
        target = forwarding.target
        forwarding.delete()
        do_record(requester, EventKind.FORWARDING_CHANGED, protocol="web", remote_addr=remote_addr,
                  detail=_("Transfert vers %(target)s désactivé") % {"target": target})
    return True


def _live_token(raw: str, *, lock: bool = False) -> ConfirmationToken:
    rows = ConfirmationToken.objects.select_related("forwarding", "forwarding__account")
    if lock:
        rows = rows.select_for_update(of=("self",))  # the forward may be gone: an outer join
    token = rows.filter(token_hash=_hash(raw)).first()
    if (
        token is None or token.forwarding is None or token.used_at is not None
        or token.expires_at <= timezone.now() or token.forwarding.target != token.target
        or token.forwarding.confirmed_at is not None
    ):
        raise ForwardingError(_(
            "Ce lien de confirmation n'est plus valable (déjà utilisé, expiré après 48 heures, ou le transfert "
            "a été modifié). Demandez à la personne de renvoyer un lien depuis sa page « Transfert »."
        ))
    return token


def access_confirmation(raw: str) -> Confirmation:
    """What a live link confirms; the link's secret is the only authority
    (the target's owner need not have an account). Raises ForwardingError."""
    token = _live_token(raw)
    return Confirmation(token.forwarding.account.address, token.target)


def check_confirm(raw: str, *, remote_addr: str) -> Confirmation:
    """Spend the link: the forward it was sent for starts now, if the policy
    still allows its target. Raises ForwardingError."""
    with transaction.atomic():
        token = _live_token(raw, lock=True)
        forwarding = token.forwarding
        decision = decide(forwarding.account.address, token.target)
        if decision.verdict is Verdict.REFUSE:
            raise ForwardingError(decision.reason)
        now = timezone.now()
        ConfirmationToken.objects.filter(forwarding=forwarding, used_at__isnull=True).update(used_at=now)
        forwarding.confirmed_at = now
        forwarding.save(update_fields=["confirmed_at"])
        do_record(forwarding.account_id, EventKind.FORWARDING_CHANGED, protocol="web", remote_addr=remote_addr,
                  detail=_("Transfert vers %(target)s confirmé par le destinataire") % {"target": token.target})
    return Confirmation(forwarding.account.address, token.target)
