"""The forms of the sign-in and account pages: fields, labels, French
messages and the ``autocomplete`` attributes password managers rely on.
Password fields are checked by the one policy (``validate_password``) with the
person as context; nothing else decides what a good password is."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.password_validation import validate_password
from django.utils.translation import gettext_lazy as _

from academail.accounts.numen import NumenError, validate_numen
from academail.accounts.passwords import MAX_LENGTH


def _identifier_field() -> forms.CharField:
    return forms.CharField(
        label=_("Identifiant"), max_length=200,
        help_text=_("Initiale du prénom suivie du nom, par exemple jdupont."),
        widget=forms.TextInput(attrs={
            "autocomplete": "username", "autocapitalize": "none", "spellcheck": "false",
        }),
    )


def _numen_field() -> forms.CharField:
    return forms.CharField(
        label=_("NUMEN"), max_length=40,
        help_text=_("13 caractères, par exemple 11E9501234ABC (espaces et minuscules acceptés)."),
        widget=forms.TextInput(attrs={
            "autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false",
        }),
    )


class SignInForm(forms.Form):
    identifier = _identifier_field()
    password = forms.CharField(
        label=_("Mot de passe"), max_length=MAX_LENGTH, strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class NumenChallengeForm(forms.Form):
    identifier = _identifier_field()
    numen = _numen_field()

    def clean_numen(self) -> str:
        try:
            return validate_numen(self.cleaned_data["numen"])
        except NumenError as exc:
            raise forms.ValidationError(str(exc), code=exc.code) from None


class NewPasswordForm(forms.Form):
    """A new password typed twice, checked by the policy for ``user``."""

    password1 = forms.CharField(
        label=_("Nouveau mot de passe"), max_length=MAX_LENGTH, strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password", "data-strength": "1"}),
    )
    password2 = forms.CharField(
        label=_("Confirmez le nouveau mot de passe"), max_length=MAX_LENGTH, strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_password1(self) -> str:
        password: str = self.cleaned_data["password1"]
        validate_password(password, self.user)
        return password

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean() or {}
        one, two = cleaned.get("password1"), cleaned.get("password2")
        if one and two and one != two:
            self.add_error("password2", _("Les deux mots de passe ne sont pas identiques."))
        return cleaned


class ChangePasswordForm(NewPasswordForm):
    current = forms.CharField(
        label=_("Mot de passe actuel"), max_length=MAX_LENGTH, strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    field_order = ["current", "password1", "password2"]


class SecondaryAddressForm(forms.Form):
    address = forms.EmailField(
        label=_("Adresse de secours"), max_length=254,
        help_text=_("Une adresse personnelle, extérieure à la messagerie académique : "
                  "elle sert à récupérer votre accès si vous oubliez votre mot de passe."),
        widget=forms.EmailInput(attrs={"autocomplete": "email", "spellcheck": "false"}),
        error_messages={"invalid": _("Saisissez une adresse électronique valide, par exemple prenom.nom@exemple.fr.")},
    )


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("Code reçu par courriel"), max_length=12,
        help_text=_("6 chiffres."),
        widget=forms.TextInput(attrs={
            "autocomplete": "one-time-code", "inputmode": "numeric", "pattern": "[0-9 ]*",
        }),
    )


class AlertsForm(forms.Form):
    alert_new_device = forms.BooleanField(
        label=_("M'avertir par courriel d'une connexion depuis un nouvel appareil"), required=False,
    )
    alert_copy_secondary = forms.BooleanField(
        label=_("Envoyer aussi ces alertes à mon adresse de secours"), required=False,
    )


class SecondFactorForm(forms.Form):
    code = forms.CharField(
        label=_("Code de vérification"), max_length=20,
        help_text=_("Les 6 chiffres affichés par votre application d'authentification, "
                  "ou l'un de vos codes de secours."),
        widget=forms.TextInput(attrs={
            "autocomplete": "one-time-code", "autocapitalize": "none", "spellcheck": "false",
        }),
    )


class TotpCodeForm(forms.Form):
    code = forms.CharField(
        label=_("Code à 6 chiffres affiché par l'application"), max_length=12,
        widget=forms.TextInput(attrs={
            "autocomplete": "one-time-code", "inputmode": "numeric", "pattern": "[0-9 ]*",
        }),
    )


class AppPasswordForm(forms.Form):
    name = forms.CharField(
        label=_("Nom de l'appareil ou du logiciel"), max_length=80,
        help_text=_("Pour le reconnaître dans la liste, par exemple « Téléphone » ou « Thunderbird au bureau »."),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
