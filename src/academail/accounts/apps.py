from typing import Any

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "academail.accounts"
    label = "accounts"
    verbose_name = "Comptes"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from academail import redaction

        user_logged_in.connect(_link_session, dispatch_uid="academail.accounts.link_session")
        # Token links this app sends: never in a log line.
        redaction.register_token_url("accounts:reset_confirm")
        redaction.register_token_url("accounts:not_me")


def _link_session(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    """Every web session is listed in "Sessions et appareils", however it was
    opened (the sign-in page adds the device right after)."""
    from academail.accounts.devices import do_link_session
    from academail.accounts.models import WebSession

    session = getattr(request, "session", None)
    key = getattr(session, "session_key", None)
    if not key or WebSession.objects.filter(session_key=key).exists():
        return
    do_link_session(user, key, device=None, label="Navigateur",
                    remote_addr=str(request.META.get("REMOTE_ADDR", "")))
