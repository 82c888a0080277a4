"""The e-mails the identity life cycle sends: verification codes, reset links,
password-change notices and new-device alerts, in French, plain text, from
``DEFAULT_FROM_EMAIL``, through ``django.core.mail`` (the platform backend
delivers académie addresses through the one door and keeps outside addresses
in the outbound capture).

A notice that cannot be sent is logged, never raised: a sign-in must not fail
because an alert could not leave. Codes and links are the exception: their
senders report failure so the page can say so.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.utils import translation

from academail.accounts.models import Account, Device

log = logging.getLogger(__name__)


def _send(template: str, to: list[str], subject: str, context: dict[str, object]) -> bool:
    # French whatever language the person chose for the web pages (dates included).
    with translation.override(settings.LANGUAGE_CODE):
        body = render_to_string(f"accounts/email/{template}.txt", context)
    message = EmailMessage(subject=subject, body=body, from_email=settings.DEFAULT_FROM_EMAIL, to=to)
    message.extra_headers["Auto-Submitted"] = "auto-generated"  # RFC 3834 §5
    try:
        message.send()
    except Exception:  # noqa: BLE001 - whatever the backend raises, the caller must go on
        log.exception("could not send %s to %d recipient(s)", template, len(to))
        return False
    return True


def send_code(account: Account, address: str, code: str, *, minutes: int) -> bool:
    return _send(
        "code", [address], f"Votre code de vérification : {code}",
        {"account": account, "code": code, "minutes": minutes},
    )


def send_activation_reminder(account: Account, url: str) -> bool:
    return _send(
        "activation_reminder", [account.secondary_address],
        "Activez votre messagerie académique",
        {"account": account, "url": url},
    )


def send_reset_link(account: Account, url: str, *, minutes: int) -> bool:
    return _send(
        "reset_link", [account.secondary_address],
        "Réinitialisation de votre mot de passe de messagerie",
        {"account": account, "url": url, "minutes": minutes},
    )


def send_password_changed(account: Account, *, how: str, secure_url: str) -> None:
    """To the inbox and to the verified secondary address."""
    to = [account.address]
    if account.secondary_address and account.secondary_verified:
        to.append(account.secondary_address)
    for address in to:
        _send(
            "password_changed", [address], "Le mot de passe de votre messagerie a été modifié",
            {"account": account, "how": how, "secure_url": secure_url},
        )


def send_secondary_changed(account: Account, old_address: str) -> None:
    for address in [account.address, old_address]:
        if address:
            _send(
                "secondary_changed", [address], "Votre adresse de secours a été modifiée",
                {"account": account, "old": old_address},
            )


def send_new_device_alert(account: Account, device: Device, *, remote_addr: str, secure_url: str) -> None:
    to = [account.address]
    if account.alert_copy_secondary and account.secondary_address and account.secondary_verified:
        to.append(account.secondary_address)
    for address in to:
        _send(
            "new_device", [address], "Nouvelle connexion à votre messagerie",
            {"account": account, "device": device, "remote_addr": remote_addr, "secure_url": secure_url},
        )
