"""The /courrier/preferences/ page (signature, conversations, page size, the
trusted senders) and "forget this sender". ``urls.py`` wraps them in
``webmail_view``.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from academail.store import webmail as store
from academail.web.frame import render_page
from academail.webmail import preferences
from academail.webmail.models import SIGNATURE_MAX


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



@require_http_methods(["GET", "POST"])
def preferences_page(request: HttpRequest) -> HttpResponse:
    account_id = int(request.user.pk)
    current = preferences.access_preferences(account_id)
    if request.method == "POST":
        form = PreferencesForm(request.POST)
        if form.is_valid():
            preferences.do_save_preferences(account_id, **form.cleaned_data)
            messages.success(request, _("Préférences enregistrées."))
            return redirect("webmail:preferences")
    else:
        form = PreferencesForm(
            initial={"signature": current.signature, "conversations": current.conversations, "page_size": current.page_size}
        )
    return render_page(
        request,
        "preferences.html",
        {"form": form, "trusted": preferences.trusted_senders(account_id), "title": _("Préférences")},
    )


@require_POST
def forget_sender(request: HttpRequest, sender_id: int) -> HttpResponse:
    if preferences.do_forget_sender(int(request.user.pk), sender_id):
        messages.success(request, _("Cet expéditeur a été retiré : ses images distantes seront de nouveau bloquées."))
    else:
        messages.error(request, _("Cet expéditeur n'est plus dans votre liste."))
    return redirect("webmail:preferences")
