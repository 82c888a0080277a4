"""The sign-in and account pages: sign in and out, first connection, forgotten
password, helpdesk request, and "Sécurité du compte" (journal, alerts,
sessions and devices, password and secondary address). Views parse the form,
call one service of ``accounts`` and render; what a page shows comes from the
``access_*`` functions, which only ever return the requester's own records.
Every page here is sent with ``no-store`` caching, a strict CSP and a
same-origin referrer policy (reset and "not me" links carry secrets in their
path).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout, update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from academail.accounts import apppasswords, devices, journal, lifecycle, slowdown, totp
from academail.accounts.forms import (
    AlertsForm,
    AppPasswordForm,
    ChangePasswordForm,
    CodeForm,
    NewPasswordForm,
    NumenChallengeForm,
    SecondaryAddressForm,
    SecondFactorForm,
    SignInForm,
    TotpCodeForm,
)
from academail.accounts.models import Account, Device, Status
from academail.accounts.passwords import SENTENCE_TIP, evaluate
from academail.accounts.services import AccountError, check_sign_in, normalize_identifier
from academail.web.helplinks import Articles

FLOW_MAX_AGE = 30 * 60
_BACKEND = "django.contrib.auth.backends.ModelBackend"
_SECOND_FACTOR = "second_factor"
_TOTP_PENDING = "totp_pending"


def secured(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        response = view(request, *args, **kwargs)
        # The Content-Security-Policy is every page's default (config.security);
        # a download sets its own, stricter one (sandbox).
        response["Cache-Control"] = "no-store"
        # Not "no-referrer": Chromium then sends "Origin: null" with our own
        # form posts and CSRF (rightly) refuses them. "same-origin" keeps the
        # secret paths of reset links from leaving the site all the same.
        response["Referrer-Policy"] = "same-origin"
        return response

    return wrapper


def client_addr(request: HttpRequest) -> str:
    # REMOTE_ADDR, as config.proxies.TrustedProxyMiddleware left it: the
    # client behind an ACADEMAIL_TRUSTED_PROXIES proxy, else the TCP peer
    # (X-Forwarded-For from anyone else would let them pick the throttled address).
    return str(request.META.get("REMOTE_ADDR", ""))


def base_url(request: HttpRequest) -> str:
    return f"{request.scheme}://{request.get_host()}"


def _user_agent(request: HttpRequest) -> str:
    return str(request.META.get("HTTP_USER_AGENT", ""))[:300]


def _wait_message(seconds: int) -> str:
    minutes = (seconds + 59) // 60
    if seconds < 60:
        return _("Trop de tentatives. Patientez %(n)s secondes avant de réessayer.") % {"n": seconds}
    return _("Trop de tentatives. Patientez %(n)s minute(s) avant de réessayer.") % {"n": minutes}


def _sign_in(request: HttpRequest, account: Account, device: Any) -> None:
    """Open the web session and remember the browser."""
    login(request, account, backend=_BACKEND)
    assert request.session.session_key is not None
    devices.do_link_session(
        account, request.session.session_key, device=device,
        label=devices.describe_client("web", _user_agent(request)), remote_addr=client_addr(request),
    )
    request.session["device_id"] = device.pk if device is not None else None


def _set_device_cookie(response: HttpResponse, browser_id: str) -> HttpResponse:
    response.set_cookie(settings.DEVICE_COOKIE_NAME, devices.sign_browser_id(browser_id),
                        **devices.cookie_settings())
    return response


def _browser_id(request: HttpRequest) -> str:
    return devices.read_browser_id(request.COOKIES.get(settings.DEVICE_COOKIE_NAME)) or devices.new_browser_id()


# --- sign in / out ----------------------------------------------------------------------


@secured
def login_view(request: HttpRequest) -> HttpResponse:
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if not url_has_allowed_host_and_scheme(next_url, {request.get_host()}, request.is_secure()):
        next_url = ""
    error = ""
    help_article = Articles.SIGN_IN  # the article the error box links to (web.helplinks)
    pause = 0.0  # the address ceiling's delay before a refusal (accounts.slowdown)
    form = SignInForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        browser_id = _browser_id(request)
        result = check_sign_in(
            form.cleaned_data["identifier"], form.cleaned_data["password"], protocol="web",
            remote_addr=client_addr(request), device=browser_id, client_name=_user_agent(request),
            base_url=base_url(request),
        )
        if result.account is not None:
            response = _after_password(request, result.account, result.device, next_url)
            return _set_device_cookie(response, browser_id)
        error = _wait_message(result.retry_after) if result.throttled else _(
            "Identifiant ou mot de passe incorrect."
        )
        help_article = Articles.THROTTLED if result.throttled else Articles.SIGN_IN
        pause = result.slow_down
    elif request.method == "POST":
        error = _("Identifiant ou mot de passe incorrect.")
    return slowdown.mark(render(request, "accounts/pages/login.html",
                                {"form": SignInForm(initial={"identifier": request.POST.get("identifier", "")})
                                 if error else form, "error": error, "next": next_url,
                                 "help_article": help_article}), pause)


def _after_password(request: HttpRequest, account: Account, device: Any, next_url: str) -> HttpResponse:
    """The password is right: sign in, or first ask for the second factor,
    or (administrator and support roles without one) first enrol it. Until
    then nobody is signed in, so nothing else (the admin included) is reachable."""
    device_id = device.pk if device is not None else None
    if totp.has_device(account):
        _set_flow(request, _SECOND_FACTOR, account, "code", device_id=device_id, next=next_url)
        return redirect("accounts:second_factor")
    if totp.is_required(account):
        _set_flow(request, _SECOND_FACTOR, account, "enrol", device_id=device_id, next=next_url)
        return redirect("accounts:totp_enrol")
    _sign_in(request, account, device)
    return redirect(next_url or settings.LOGIN_REDIRECT_URL)


def _finish_second_factor(request: HttpRequest, account: Account) -> str:
    """Sign in the person whose flow just passed its second step; returns
    where they were going."""
    data = request.session.pop(_SECOND_FACTOR, {})
    device = Device.objects.filter(account=account, pk=data.get("device_id") or 0).first()
    _sign_in(request, account, device)
    return str(data.get("next") or settings.LOGIN_REDIRECT_URL)


@secured
def second_factor(request: HttpRequest) -> HttpResponse:
    account = _flow_account(request, _SECOND_FACTOR, "code")
    if account is None or account.status != Status.ACTIVE:
        return _flow_expired(request, "accounts:login")
    form = SecondFactorForm(request.POST or None)
    error = ""
    if request.method == "POST" and form.is_valid():
        verdict = totp.check_second_factor(
            account, form.cleaned_data["code"], remote_addr=client_addr(request),
            device=devices.describe_client("web", _user_agent(request)),
        )
        if verdict.ok:
            target = _finish_second_factor(request, account)
            if verdict.recovery_used:
                left = totp.recovery_codes_left(account)
                messages.warning(request, _(
                    "Vous avez utilisé un code de secours ; il vous en reste %(n)s. "
                    "Pensez à en générer de nouveaux dans « Sécurité du compte »."
                ) % {"n": left})
            return redirect(target)
        error = _wait_message(verdict.retry_after) if verdict.retry_after else _("Code incorrect.")
    if error:
        form = SecondFactorForm()
    return render(request, "accounts/pages/second_factor.html", {"form": form, "error": error})


@require_POST
@secured
def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)
    messages.info(request, _("Vous êtes déconnecté."))
    return redirect("accounts:login")


# --- first connection --------------------------------------------------------------------


def _flow_account(request: HttpRequest, name: str, step: str | None = None) -> Account | None:
    """The account of a flow in progress in this session, if still fresh."""
    data = request.session.get(name)
    if not data or time.time() - data.get("at", 0) > FLOW_MAX_AGE:
        return None
    if step is not None and data.get("step") != step:
        return None
    return Account.objects.filter(pk=data.get("id")).first()


def _set_flow(request: HttpRequest, name: str, account: Account, step: str, **extra: Any) -> None:
    request.session[name] = {"id": account.pk, "at": time.time(), "step": step, **extra}


@secured
def activation_start(request: HttpRequest) -> HttpResponse:
    form = NumenChallengeForm(request.POST or None)
    error = ""
    help_article = Articles.NUMEN  # the article the error box links to (web.helplinks)
    pause = 0.0
    if request.method == "POST" and form.is_valid():
        result = lifecycle.check_numen_challenge(
            form.cleaned_data["identifier"], form.cleaned_data["numen"], remote_addr=client_addr(request)
        )
        account, pause = result.account, result.slow_down
        if result.throttled:
            error = _wait_message(result.retry_after)
            help_article = Articles.THROTTLED
        elif account is None:
            error = _("Identifiant ou NUMEN incorrect.")
        elif account.status == Status.ACTIVE:
            error = _("Ce compte est déjà activé. Connectez-vous, ou utilisez « Mot de passe oublié ».")
        elif account.status != Status.PENDING:
            error = _("Ce compte ne peut pas être activé en ligne : contactez l'assistance.")
        else:
            _set_flow(request, "activation", account, "password")
            return redirect("accounts:activation_password")
    return slowdown.mark(render(request, "accounts/pages/activation_start.html",
                                {"form": form, "error": error, "help_article": help_article}), pause)


@secured
def activation_password(request: HttpRequest) -> HttpResponse:
    account = _flow_account(request, "activation")
    if account is None or account.status != Status.PENDING:
        return _flow_expired(request, "accounts:activation_start")
    form = NewPasswordForm(request.POST or None, user=account)
    if request.method == "POST" and form.is_valid():
        lifecycle.check_set_password(account, form.cleaned_data["password1"])
        _set_flow(request, "activation", account, "secondary")
        return redirect("accounts:activation_secondary")
    return render(request, "accounts/pages/activation_password.html",
                  {"form": form, "account": account, "tip": SENTENCE_TIP, "step": 2,
                   "help_article": Articles.PASSWORD_RULES})


@secured
def activation_secondary(request: HttpRequest) -> HttpResponse:
    account = _flow_account(request, "activation")
    data = request.session.get("activation") or {}
    if account is None or account.status != Status.PENDING or data.get("step") == "password":
        return _flow_expired(request, "accounts:activation_start")
    form = SecondaryAddressForm(request.POST or None, initial={"address": account.secondary_address})
    if request.method == "POST" and form.is_valid():
        try:
            lifecycle.do_send_code(account, form.cleaned_data["address"], lifecycle.ACTIVATION)
        except AccountError as exc:
            form.add_error("address", str(exc))
        except lifecycle.CodeError as exc:
            form.add_error("address", str(exc))
        else:
            _set_flow(request, "activation", account, "code", sent_to=form.cleaned_data["address"])
            return redirect("accounts:activation_code")
    return render(request, "accounts/pages/activation_secondary.html", {"form": form, "step": 3})


@secured
def activation_code(request: HttpRequest) -> HttpResponse:
    account = _flow_account(request, "activation", "code")
    if account is None or account.status != Status.PENDING:
        return _flow_expired(request, "accounts:activation_start")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            address = lifecycle.check_code(account, lifecycle.ACTIVATION, form.cleaned_data["code"])
        except lifecycle.CodeError as exc:
            form.add_error("code", str(exc))
        else:
            lifecycle.do_activate(account, address, remote_addr=client_addr(request))
            del request.session["activation"]
            browser_id = _browser_id(request)
            key = devices.device_key("web", device=browser_id)
            label = devices.describe_client("web", _user_agent(request))
            seen = devices.do_note_device(account, key, protocol="web", label=label,
                                          remote_addr=client_addr(request))
            messages.success(request, _("Votre compte est activé. Bienvenue dans votre messagerie !"))
            # First sign-in after activation: the short guided tour (skippable), then the inbox.
            response = _after_password(request, account, seen.device, reverse("help:tour", args=[1]))
            return _set_device_cookie(response, browser_id)
    sent_to = str((request.session.get("activation") or {}).get("sent_to", ""))
    return render(request, "accounts/pages/activation_code.html", {"form": form, "step": 4, "sent_to": sent_to})


def _flow_expired(request: HttpRequest, restart: str) -> HttpResponse:
    messages.warning(request, _("Cette étape a expiré ou n'est pas disponible : recommencez depuis le début."))
    return redirect(restart)


# --- forgotten password ---------------------------------------------------------------------


@secured
def reset_request(request: HttpRequest) -> HttpResponse:
    form = NumenChallengeForm(request.POST or None)
    error = ""
    help_article = Articles.NUMEN  # the article the error box links to (web.helplinks)
    if request.method == "POST" and form.is_valid():
        identifier = form.cleaned_data["identifier"]
        result = lifecycle.check_numen_challenge(identifier, form.cleaned_data["numen"],
                                                 remote_addr=client_addr(request))
        if result.throttled:
            error = _wait_message(result.retry_after)
            help_article = Articles.THROTTLED
        else:
            if result.account is not None:
                lifecycle.do_request_reset(result.account, base_url=base_url(request),
                                           remote_addr=client_addr(request))
            # What the helpdesk form will be pre-filled with; the page itself
            # says the same thing whatever happened above.
            request.session["recovery"] = {
                "identifier": normalize_identifier(identifier) or "",
                "id": result.account.pk if result.account is not None else None,
                "at": time.time(),
            }
            return redirect("accounts:reset_sent")
    return render(request, "accounts/pages/reset_request.html",
                  {"form": form, "error": error, "help_article": help_article})


@secured
def reset_sent(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/pages/reset_sent.html")


@secured
def reset_confirm(request: HttpRequest, token: str) -> HttpResponse:
    try:
        reset = lifecycle.access_reset_token(token)
    except lifecycle.LinkError:
        return render(request, "accounts/pages/link_invalid.html", status=410)
    form = NewPasswordForm(request.POST or None, user=reset.account)
    if request.method == "POST" and form.is_valid():
        try:
            lifecycle.check_reset_password(token, form.cleaned_data["password1"],
                                           base_url=base_url(request), remote_addr=client_addr(request))
        except lifecycle.LinkError:
            return render(request, "accounts/pages/link_invalid.html", status=410)
        except ValidationError as exc:
            form.add_error("password1", exc)
        else:
            if request.user.is_authenticated:
                logout(request)
            messages.success(request, _("Votre mot de passe est changé. Connectez-vous avec le nouveau."))
            return redirect("accounts:login")
    request.session["reset_account"] = reset.account_id
    return render(request, "accounts/pages/reset_confirm.html",
                  {"form": form, "tip": SENTENCE_TIP, "help_article": Articles.PASSWORD_RULES})


# --- helpdesk -------------------------------------------------------------------------------------


def assistance(request: HttpRequest) -> HttpResponse:
    """The first helpdesk form's address (linked from mails and bookmarks):
    the helpdesk's own form, keeping the reason asked for."""
    target = reverse("assistance:new")
    reason = request.GET.get("motif", "")
    return redirect(f"{target}?{urlencode({'motif': reason})}" if reason else target)


# --- "Sécurité du compte" -----------------------------------------------------------------------


def _requester(request: HttpRequest) -> Account:
    user = request.user
    assert isinstance(user, Account)
    return user


@login_required
@secured
def security(request: HttpRequest) -> HttpResponse:
    account = _requester(request)
    before = request.GET.get("avant", "")
    page = journal.access_journal_page(account, before=int(before) if before.isdigit() else None)
    alerts = AlertsForm(initial={"alert_new_device": account.alert_new_device,
                                 "alert_copy_secondary": account.alert_copy_secondary})
    return render(request, "accounts/pages/security.html",
                  {"account": account, "page": page, "alerts": alerts, "first_page": not before})


@login_required
@require_POST
@secured
def alerts(request: HttpRequest) -> HttpResponse:
    account = _requester(request)
    form = AlertsForm(request.POST)
    if form.is_valid():
        lifecycle.do_set_alerts(account, new_device=form.cleaned_data["alert_new_device"],
                                copy_secondary=form.cleaned_data["alert_copy_secondary"],
                                remote_addr=client_addr(request))
        messages.success(request, _("Vos préférences d'alerte sont enregistrées."))
    return redirect("accounts:security")


@login_required
@secured
def sessions(request: HttpRequest) -> HttpResponse:
    account = _requester(request)
    return render(request, "accounts/pages/sessions.html", {
        "sessions": devices.access_sessions(account),
        "devices": devices.access_devices(account),
        "current_key": request.session.session_key,
        "current_device": request.session.get("device_id"),
    })


@login_required
@require_POST
@secured
def session_end(request: HttpRequest, link_id: int) -> HttpResponse:
    account = _requester(request)
    try:
        link = devices.access_session(account, link_id)
    except devices.NotFound:
        return render(request, "accounts/pages/not_found.html", status=404)
    current = link.session_key == request.session.session_key
    devices.do_end_session(account, link_id)
    journal.do_record(account, "session_revoked", protocol="web", remote_addr=client_addr(request),
                      device=link.label)
    if current:
        return redirect("accounts:login")
    messages.success(request, _("La session est fermée."))
    return redirect("accounts:sessions")


@login_required
@require_POST
@secured
def sessions_end_all(request: HttpRequest) -> HttpResponse:
    account = _requester(request)
    closed = devices.do_end_all(account, keep_session_key=request.session.session_key,
                                keep_device_id=request.session.get("device_id"))
    journal.do_record(account, "all_sessions_revoked", protocol="web", remote_addr=client_addr(request),
                      detail=f"{closed} session(s) fermée(s)")
    messages.success(request, _("Toutes vos autres sessions sont fermées et les autres appareils oubliés."))
    return redirect("accounts:sessions")


@login_required
@require_POST
@secured
def device_forget(request: HttpRequest, device_id: int) -> HttpResponse:
    account = _requester(request)
    try:
        device = devices.do_forget_device(account, device_id)
    except devices.NotFound:
        return render(request, "accounts/pages/not_found.html", status=404)
    journal.do_record(account, "device_forgotten", protocol="web", remote_addr=client_addr(request),
                      device=device.label)
    if not request.user.is_authenticated or device.pk == request.session.get("device_id"):
        return redirect("accounts:login")
    messages.success(request, _("L'appareil est oublié : une nouvelle connexion depuis celui-ci vous sera signalée."))
    return redirect("accounts:sessions")


@login_required
@secured
def change_password(request: HttpRequest) -> HttpResponse:
    account = _requester(request)
    form = ChangePasswordForm(request.POST or None, user=account)
    if request.method == "POST" and form.is_valid():
        try:
            lifecycle.check_change_password(
                account, form.cleaned_data["current"], form.cleaned_data["password1"],
                keep_session_key=request.session.session_key,
                keep_device_id=request.session.get("device_id"),
                base_url=base_url(request), remote_addr=client_addr(request),
            )
        except ValueError as exc:
            if isinstance(exc, ValidationError):
                form.add_error("password1", exc)
            else:
                form.add_error("current", str(exc))
        else:
            # Changing the password changes the session hash: keep this session.
            update_session_auth_hash(request, account)
            messages.success(request, _("Votre mot de passe est changé. Vos autres sessions sont fermées."))
            return redirect("accounts:security")
    return render(request, "accounts/pages/change_password.html",
                  {"form": form, "tip": SENTENCE_TIP, "help_article": Articles.PASSWORD_RULES})


_SECONDARY_SENT_TO = "secondary_code_sent_to"


@login_required
@secured
def change_secondary(request: HttpRequest) -> HttpResponse:
    account = _requester(request)
    form = SecondaryAddressForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            lifecycle.do_send_code(account, form.cleaned_data["address"], lifecycle.SECONDARY)
        except (AccountError, lifecycle.CodeError) as exc:
            form.add_error("address", str(exc))
        else:
            # The code page says where to look (the address as typed).
            request.session[_SECONDARY_SENT_TO] = form.cleaned_data["address"]
            return redirect("accounts:change_secondary_code")
    return render(request, "accounts/pages/change_secondary.html", {"form": form, "account": account})


@login_required
@secured
def change_secondary_code(request: HttpRequest) -> HttpResponse:
    account = _requester(request)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            address = lifecycle.check_code(account, lifecycle.SECONDARY, form.cleaned_data["code"])
        except lifecycle.CodeError as exc:
            form.add_error("code", str(exc))
        else:
            lifecycle.do_change_secondary(account, address, remote_addr=client_addr(request))
            request.session.pop(_SECONDARY_SENT_TO, None)
            messages.success(request, _("Votre nouvelle adresse de secours est vérifiée et enregistrée."))
            return redirect("accounts:security")
    sent_to = str(request.session.get(_SECONDARY_SENT_TO, ""))
    return render(request, "accounts/pages/change_secondary_code.html", {"form": form, "sent_to": sent_to})


# --- second factor ------------------------------------------------------------------------------


@login_required
@secured
def totp_settings(request: HttpRequest) -> HttpResponse:
    account = _requester(request)
    return render(request, "accounts/pages/totp.html", {
        "enabled": totp.has_device(account), "required": totp.is_required(account),
        "codes_left": totp.recovery_codes_left(account), "form": TotpCodeForm(),
    })


def _pending_secret(request: HttpRequest, account: Account) -> bytes:
    """The secret being enrolled, kept in the (server-side) session until the
    app shows a right code; a fresh one for a new enrolment."""
    data = request.session.get(_TOTP_PENDING) or {}
    if data.get("id") == account.pk and data.get("secret"):
        return totp.from_b32(data["secret"])
    secret = totp.new_secret()
    request.session[_TOTP_PENDING] = {"id": account.pk, "secret": totp.b32(secret)}
    return secret


def _qr_svg(uri: str) -> str:
    svg = segno.make(uri, error="m").svg_inline(
        scale=4, border=4, dark="#000", light="#fff", svgclass="academail-qr",
        title="Code QR à scanner avec votre application d'authentification",
    )
    return svg.replace("<svg ", '<svg role="img" ', 1)


@secured
def totp_enrol(request: HttpRequest) -> HttpResponse:
    """Enrol an authenticator app: signed in (optional for staff), or right
    after the password step for a role that requires it (not signed in yet)."""
    in_flow = not request.user.is_authenticated
    if in_flow:
        flow_account = _flow_account(request, _SECOND_FACTOR, "enrol")
        if flow_account is None or flow_account.status != Status.ACTIVE:
            return _flow_expired(request, "accounts:login")
        account = flow_account
    else:
        account = _requester(request)
        if totp.has_device(account):
            return redirect("accounts:totp_settings")
    secret = _pending_secret(request, account)
    form = TotpCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        codes = totp.check_enrol(account, secret, form.cleaned_data["code"], remote_addr=client_addr(request))
        if codes is None:
            form.add_error("code", _("Code incorrect. Vérifiez l'heure de votre téléphone et saisissez le code affiché."))
        else:
            del request.session[_TOTP_PENDING]
            target = _finish_second_factor(request, account) if in_flow else reverse("accounts:totp_settings")
            return render(request, "accounts/pages/recovery_codes.html", {"codes": codes, "next": target})
    return render(request, "accounts/pages/totp_enrol.html", {
        "form": form, "in_flow": in_flow, "secret": " ".join(
            totp.b32(secret)[i:i + 4] for i in range(0, len(totp.b32(secret)), 4)),
        "qr_svg": mark_safe(_qr_svg(totp.otpauth_uri(secret, account))),  # noqa: S308 - segno output, escaped title
    })


@login_required
@require_POST
@secured
def totp_recovery(request: HttpRequest) -> HttpResponse:
    account = _requester(request)
    if not totp.has_device(account):
        return redirect("accounts:totp_settings")
    codes = totp.do_regenerate_recovery_codes(account, remote_addr=client_addr(request))
    return render(request, "accounts/pages/recovery_codes.html",
                  {"codes": codes, "next": reverse("accounts:totp_settings")})


@login_required
@require_POST
@secured
def totp_disable(request: HttpRequest) -> HttpResponse:
    account = _requester(request)
    if totp.is_required(account):
        messages.error(request, _("Votre rôle impose la double authentification : elle ne peut pas être désactivée."))
        return redirect("accounts:totp_settings")
    form = TotpCodeForm(request.POST)
    verdict = totp.check_second_factor(account, form.data.get("code", ""), remote_addr=client_addr(request))
    if not verdict.ok:
        messages.error(request, _wait_message(verdict.retry_after) if verdict.retry_after else _("Code incorrect."))
        return redirect("accounts:totp_settings")
    totp.do_disable(account, remote_addr=client_addr(request))
    messages.success(request, _("La double authentification est désactivée."))
    return redirect("accounts:totp_settings")


# --- app passwords --------------------------------------------------------------------------------


@login_required
@secured
def app_passwords(request: HttpRequest) -> HttpResponse:
    account = _requester(request)
    form = AppPasswordForm(request.POST or None)
    created = None
    if request.method == "POST" and form.is_valid():
        try:
            created = apppasswords.check_create(account, form.cleaned_data["name"],
                                                remote_addr=client_addr(request))
        except apppasswords.AppPasswordError as exc:
            form.add_error("name", str(exc))
        else:
            form = AppPasswordForm()
    return render(request, "accounts/pages/app_passwords.html", {
        "form": form, "created": created, "items": apppasswords.access_app_passwords(account),
        "required": apppasswords.required(),
    })


@login_required
@require_POST
@secured
def app_password_revoke(request: HttpRequest, app_password_id: int) -> HttpResponse:
    account = _requester(request)
    try:
        row = apppasswords.do_revoke(account, app_password_id, remote_addr=client_addr(request))
    except apppasswords.NotFound:
        return render(request, "accounts/pages/not_found.html", status=404)
    messages.success(request, _("Le mot de passe d'application « %(name)s » est révoqué.") % {"name": row.name})
    return redirect("accounts:app_passwords")


@secured
def not_me(request: HttpRequest, token: str) -> HttpResponse:
    try:
        account = lifecycle.access_not_me(token)
    except lifecycle.LinkError:
        return render(request, "accounts/pages/link_invalid.html", status=410)
    if request.method == "POST":
        lifecycle.do_secure_account(account, remote_addr=client_addr(request))
        if request.user.is_authenticated:
            logout(request)
        return render(request, "accounts/pages/not_me_done.html")
    return render(request, "accounts/pages/not_me.html", {"account": account})


@require_POST
@secured
def password_strength(request: HttpRequest) -> JsonResponse:
    """The live meter asks the policy itself (same rules as on submit), with
    the data of the person whose password it is when the session knows them."""
    user: Any = request.user if request.user.is_authenticated else None
    if user is None:
        user = _flow_account(request, "activation")
    if user is None and request.session.get("reset_account"):
        user = Account.objects.filter(pk=request.session["reset_account"]).first()
    verdict = evaluate(request.POST.get("password", "")[:300], user)
    return JsonResponse({"score": verdict.score, "label": verdict.label, "ok": verdict.ok,
                         "problems": verdict.problems})


def admin_login_redirect(request: HttpRequest) -> HttpResponse:
    """The admin signs in through the one sign-in page (throttling, journal)."""
    target = request.GET.get("next") or reverse("admin:index")
    return redirect(f"{reverse('accounts:login')}?{urlencode({'next': target})}")
