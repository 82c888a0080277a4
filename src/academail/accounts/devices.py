"""Recognised devices and web sessions of an account.

A browser is recognised by a long-lived signed cookie holding a random id
(the same cookie serves every account signed in from that browser); an IMAP or
SMTP client by its name and its network (``throttle.network_of``). Only a hash
of either key is stored. The first sign-in from a device that is not yet known
creates it and, unless the account has no device at all yet (its first
connection) or its owner turned alerts off, sends an alert.

Web sessions are Django's database sessions; ``WebSession`` links each to its
account so that its owner can list them and close one or all. Closing all also
forgets every device, so the next sign-in from any of them alerts again.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.sessions.models import Session
from django.core import signing
from django.db import IntegrityError, transaction
from django.utils import timezone

from academail.accounts.models import Account, Device, WebSession
from academail.accounts.throttle import network_of

_COOKIE_SALT = "academail.accounts.device"


class NotFound(LookupError):
    """No such session or device among the requester's own."""


# --- keys -----------------------------------------------------------------------


def new_browser_id() -> str:
    return secrets.token_urlsafe(18)


def sign_browser_id(browser_id: str) -> str:
    return signing.get_cookie_signer(salt=_COOKIE_SALT).sign(browser_id)


def read_browser_id(cookie: str | None) -> str:
    """The browser id of a valid cookie, or ``""`` (absent, forged, tampered)."""
    if not cookie:
        return ""
    try:
        return signing.get_cookie_signer(salt=_COOKIE_SALT).unsign(cookie)
    except signing.BadSignature:
        return ""


def device_key(protocol: str, *, device: str = "", client_name: str = "", remote_addr: str = "") -> str:
    """The stored key of a device: the browser id (web), or the client name and
    network (IMAP, SMTP; a phone moving between networks is a new device, as
    it is for the big providers). ``""`` when a browser sent no id."""
    if protocol == "web":
        if not device:
            return ""
        material = f"web|{device}"
    else:
        material = f"{protocol}|{client_name.strip().lower()}|{network_of(remote_addr)}"
    return f"{protocol}:" + hashlib.sha256(material.encode()).hexdigest()[:40]


_BROWSERS = (("Edg/", "Edge"), ("OPR/", "Opera"), ("Firefox/", "Firefox"), ("Chrome/", "Chrome"),
             ("Chromium/", "Chromium"), ("Safari/", "Safari"))
_SYSTEMS = (("Android", "Android"), ("iPhone", "iPhone"), ("iPad", "iPad"), ("Windows", "Windows"),
            ("Mac OS X", "macOS"), ("CrOS", "ChromeOS"), ("Linux", "Linux"))


def describe_client(protocol: str, client_name: str) -> str:
    """A short French label: « Firefox sous Windows », « Thunderbird (IMAP) »."""
    name = re.sub(r"[\x00-\x1f\x7f]", "", client_name).strip()
    if protocol != "web":
        return f"{name[:80] or 'Logiciel de messagerie'} ({protocol.upper()})"
    browser = next((label for token, label in _BROWSERS if token in name), "Navigateur")
    system = next((label for token, label in _SYSTEMS if token in name), "")
    return f"{browser} sous {system}" if system else browser


# --- devices --------------------------------------------------------------------------


@dataclass(frozen=True)
class Seen:
    device: Device
    is_new: bool  # first sign-in from it
    had_devices: bool  # the account already knew another device


# A known device's ``last_seen`` / ``last_addr`` are written at most once per
# this interval (or when its address changes): a phone reconnecting every few
# minutes would otherwise write its row at every LOGIN. The journal keeps
# every sign-in's exact time; a new device is still created, and alerted
# about, at its first sign-in (docs/design.md, "Cheap logins").
SEEN_INTERVAL = timedelta(minutes=5)


def known_device(account: Account, key: str) -> Device | None:
    """The account's device ``key``, if it signed in before."""
    if not key:
        return None
    return next(iter(Device.objects.filter(account=account, key=key)[:1]), None)


def do_note_device(account: Account, key: str, *, protocol: str, label: str, remote_addr: str,
                   now: datetime | None = None, known: Device | None = None) -> Seen:
    """Record a successful sign-in from the device ``key`` (created if new).
    ``known``: that device as ``known_device`` read it before the password
    check (saves reading it again: one LOGIN of a phone is a few queries)."""
    now = now or timezone.now()
    addr = remote_addr if network_of(remote_addr) != "unknown" else None
    if (known is not None and known.key == key and known.account_id == account.pk
            and known.last_addr == addr and now - known.last_seen < SEEN_INTERVAL):
        return Seen(known, False, True)  # seen here less than SEEN_INTERVAL ago: nothing to write
    updated = Device.objects.filter(account=account, key=key).update(last_seen=now, last_addr=addr)
    if updated:
        if known is None or known.key != key or known.account_id != account.pk:
            known = Device.objects.get(account=account, key=key)
        else:
            known.last_seen, known.last_addr = now, addr
        return Seen(known, False, True)
    had = Device.objects.filter(account=account).exists()
    try:
        with transaction.atomic():
            device = Device.objects.create(
                account=account, key=key, protocol=protocol, label=label[:200],
                first_seen=now, last_seen=now, last_addr=addr,
            )
    except IntegrityError:  # the same device signed in twice at once
        return Seen(Device.objects.get(account=account, key=key), False, True)
    return Seen(device, True, had)


def access_devices(requester: Account) -> list[Device]:
    return list(Device.objects.filter(account=requester).order_by("-last_seen"))


def do_forget_device(requester: Account, device_id: int) -> Device:
    """Forget one of the requester's devices and close its web sessions."""
    device = Device.objects.filter(account=requester, pk=device_id).first()
    if device is None:
        raise NotFound(device_id)
    keys = list(WebSession.objects.filter(account=requester, device=device).values_list("session_key", flat=True))
    _end_sessions(requester, keys)
    device.delete()
    return device


# --- web sessions ------------------------------------------------------------------------


def do_link_session(account: Account, session_key: str, *, device: Device | None, label: str,
                    remote_addr: str) -> WebSession:
    addr = remote_addr if network_of(remote_addr) != "unknown" else None
    link, _ = WebSession.objects.update_or_create(
        session_key=session_key,
        defaults={"account": account, "device": device, "label": label[:200], "remote_addr": addr},
    )
    return link


def access_sessions(requester: Account) -> list[WebSession]:
    """The requester's live web sessions, newest first (links to sessions that
    expired or were deleted are dropped on the way)."""
    links = list(WebSession.objects.filter(account=requester).select_related("device").order_by("-created_at"))
    live = set(
        Session.objects.filter(
            session_key__in=[link.session_key for link in links], expire_date__gt=timezone.now()
        ).values_list("session_key", flat=True)
    )
    dead = [link.pk for link in links if link.session_key not in live]
    if dead:
        WebSession.objects.filter(pk__in=dead).delete()
    return [link for link in links if link.session_key in live]


def access_session(requester: Account, link_id: int) -> WebSession:
    link = WebSession.objects.filter(account=requester, pk=link_id).first()
    if link is None:
        raise NotFound(link_id)
    return link


def do_end_session(requester: Account, link_id: int) -> None:
    link = access_session(requester, link_id)
    _end_sessions(requester, [link.session_key])


def do_end_all(account: Account, *, keep_session_key: str | None = None,
               keep_device_id: int | None = None, forget_devices: bool = True) -> int:
    """Close every web session of the account (but ``keep_session_key``) and,
    by default, forget every device (but ``keep_device_id``) and revoke every
    app password (phones and mail programs must be given a new one: signing
    out everywhere must reach them too). Returns the number of sessions closed."""
    from academail.accounts.apppasswords import do_revoke_all

    keys = list(WebSession.objects.filter(account=account).values_list("session_key", flat=True))
    keys = [key for key in keys if key != keep_session_key]
    _end_sessions(account, keys)
    if forget_devices:
        Device.objects.filter(account=account).exclude(pk=keep_device_id or 0).delete()
        do_revoke_all(account)
    return len(keys)


def _end_sessions(account: Account, keys: list[str]) -> None:
    Session.objects.filter(session_key__in=keys).delete()
    WebSession.objects.filter(account=account, session_key__in=keys).delete()


def cookie_settings() -> dict[str, object]:
    return {
        "max_age": int(settings.DEVICE_COOKIE_AGE),
        "httponly": True,
        "secure": bool(settings.SESSION_COOKIE_SECURE),
        "samesite": "Lax",
    }
