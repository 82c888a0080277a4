"""The health probe (``/healthz``) and the production start-up checks.

``check_health`` is what a load balancer and the monitoring ask: the database
answers, the blob store takes a write, and which mail domains would send
unsigned mail (no DKIM key). Only the first two take a node out of service
(503): a missing DKIM key is the same on every node, and taking them all out
would stop mail altogether; it is reported, and in production ``serve``
refuses to start without the key (``check_startup``).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import connection

from academail.delivery import dkim
from academail.env import ConfigurationError
from academail.store.blobs import blob_store


def domains_without_dkim() -> list[str]:
    """The platform's mail domains that have no DKIM key (their mail goes out unsigned)."""
    return [domain for domain in settings.MAIL_DOMAINS if not dkim.key_path(domain).exists()]


def check_health() -> tuple[bool, dict[str, Any]]:
    """(healthy, report). Healthy when the database and the blob store work."""
    report: dict[str, Any] = {}
    healthy = True
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        report["database"] = "ok"
    except Exception as error:  # noqa: BLE001 (any failure is the answer)
        healthy = False
        report["database"] = f"erreur : {type(error).__name__}"
    try:
        blob_store().check()
        report["blobs"] = "ok"
    except OSError as error:
        healthy = False
        report["blobs"] = f"erreur : {type(error).__name__}"
    missing = domains_without_dkim()
    report["dkim"] = {"sans_cle": missing} if missing else "ok"
    if missing and settings.PRODUCTION:
        report["dkim_commande"] = [f"academail dkim-keygen {domain}" for domain in missing]
    report["status"] = ("ok" if not missing else "degrade") if healthy else "erreur"
    return healthy, report


def check_startup() -> None:
    """In production, every mail domain has its DKIM key (RFC 6376): raise
    ``ConfigurationError`` naming the command to run otherwise."""
    if not settings.PRODUCTION:
        return
    missing = domains_without_dkim()
    if missing:
        commands = "; ".join(f"academail dkim-keygen {domain}" for domain in missing)
        raise ConfigurationError(
            f"no DKIM key for {', '.join(missing)}: its mail would go out unsigned and be refused "
            f"or classed as spam. Run: {commands} (then publish the printed DNS records)."
        )
