"""The person's webmail preferences: the signature, the conversation view by
default, how many messages a page shows, and the senders whose remote images
are always shown. The service functions (``access_*``, ``do_*``) are the only
writers of ``webmail.models``; the views below are the /courrier/preferences/
page and the "Toujours afficher les images de cet expéditeur" button.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from academail.store import webmail as store
from academail.webmail.models import SIGNATURE_MAX, Preferences, TrustedSender

MAX_TRUSTED = 1000  # a bound, so that the list stays a list


# --- services -----------------------------------------------------------------


def access_preferences(account_id: int) -> Preferences:
    """The account's preferences; the defaults (unsaved) if it never saved any."""
    found = Preferences.objects.filter(account_id=account_id).first()
    return found if found is not None else Preferences(account_id=account_id)


def do_save_preferences(account_id: int, *, signature: str, conversations: bool, page_size: int) -> Preferences:
    """Save the account's preferences (inputs already checked by the form)."""
    preferences, _created = Preferences.objects.update_or_create(
        account_id=account_id,
        defaults={"signature": signature, "conversations": conversations, "page_size": page_size},
    )
    return preferences


def do_set_conversations(account_id: int, conversations: bool) -> None:
    """The list's "Conversations" toggle, remembered as the default."""
    Preferences.objects.update_or_create(account_id=account_id, defaults={"conversations": conversations})


def trusted_senders(account_id: int) -> list[TrustedSender]:
    return list(TrustedSender.objects.filter(account_id=account_id).order_by("address")[:MAX_TRUSTED])


def is_trusted_sender(account_id: int, address: str) -> bool:
    """Whether the account trusts this exact From address (case-insensitive)."""
    return bool(address) and TrustedSender.objects.filter(account_id=account_id, address=address.lower()).exists()


def do_trust_sender(account_id: int, address: str) -> bool:
    """Add ``address`` to the account's trusted senders; False if it already was
    there, the address is empty, or the list is full."""
    address = address.strip().lower()[:320]
    if not address or "@" not in address:
        return False
    if TrustedSender.objects.filter(account_id=account_id).count() >= MAX_TRUSTED:
        return False
    try:
        with transaction.atomic():
            TrustedSender.objects.create(account_id=account_id, address=address)
    except IntegrityError:
        return False
    return True


def do_forget_sender(account_id: int, sender_id: int) -> bool:
    """Remove one of the account's trusted senders (another account's id: False)."""
    deleted, _details = TrustedSender.objects.filter(account_id=account_id, pk=sender_id).delete()
    return bool(deleted)


# --- the page -------------------------------------------------------------------


class PreferencesForm(forms.Form):
    signature = forms.CharField(
        label=gettext_lazy("Signature"),
        help_text=gettext_lazy(
            "Texte simple, ajouté sous vos nouveaux messages et au-dessus du message cité dans vos réponses "
            "(2 000 caractères au plus)."
        ),
        required=False,
        max_length=SIGNATURE_MAX,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 5, "class": "fr-input"}),
        error_messages={
            "max_length": gettext_lazy(
                "La signature est trop longue : raccourcissez-la à 2 000 caractères au plus "
                "(elle en compte %(show_value)d)."
            ),
        },
    )
    conversations = forms.BooleanField(
        label=gettext_lazy("Regrouper les messages par conversation"),
        required=False,
    )
    page_size = forms.TypedChoiceField(
        label=gettext_lazy("Messages par page"),
        choices=[(n, str(n)) for n in store.PAGE_SIZES],
        coerce=int,
        widget=forms.Select(attrs={"class": "fr-select"}),
        error_messages={"invalid_choice": gettext_lazy("Choisissez 25, 50 ou 100 messages par page.")},
    )

    def clean_signature(self) -> str:
        text: str = self.cleaned_data["signature"].replace("\r\n", "\n").rstrip()
        if "\x00" in text:
            raise forms.ValidationError(_("La signature contient un caractère invalide : retirez-le."))
        return text


def signature_block(signature: str) -> str:
    """The signature as inserted in a message: the "-- " separator line
    (RFC 3676 §4.3, which mail clients recognise), then the text."""
    return f"-- \n{signature}" if signature.strip() else ""


# The views below get ``views.webmail_view`` (sign-in, strict headers) in urls.py:
# views.py imports this module for the signature, so this one imports it lazily.


@require_http_methods(["GET", "POST"])
def preferences_page(request: HttpRequest) -> HttpResponse:
    from academail.webmail.views import _page

    account_id = int(request.user.pk)
    current = access_preferences(account_id)
    if request.method == "POST":
        form = PreferencesForm(request.POST)
        if form.is_valid():
            do_save_preferences(account_id, **form.cleaned_data)
            messages.success(request, _("Préférences enregistrées."))
            return redirect("webmail:preferences")
    else:
        form = PreferencesForm(
            initial={"signature": current.signature, "conversations": current.conversations, "page_size": current.page_size}
        )
    return _page(
        request,
        "preferences.html",
        {"form": form, "trusted": trusted_senders(account_id), "title": _("Préférences")},
    )


@require_POST
def forget_sender(request: HttpRequest, sender_id: int) -> HttpResponse:
    if do_forget_sender(int(request.user.pk), sender_id):
        messages.success(request, _("Cet expéditeur a été retiré : ses images distantes seront de nouveau bloquées."))
    else:
        messages.error(request, _("Cet expéditeur n'est plus dans votre liste."))
    return redirect("webmail:preferences")


__all__ = [
    "MAX_TRUSTED", "PreferencesForm", "access_preferences", "do_forget_sender", "do_save_preferences",
    "do_set_conversations", "do_trust_sender", "forget_sender", "is_trusted_sender", "preferences_page",
    "signature_block", "trusted_senders",
]
