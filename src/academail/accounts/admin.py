"""Django admin for accounts (administrators only: ``Account.is_staff``).

The NUMEN never appears in clear here: the list and the form only say whether
one is on file. A search term that is a valid NUMEN is also looked up by its
keyed hash, so an administrator can find a person from their NUMEN without the
admin ever decrypting anything. Accounts are created through
``services.check_create_account`` (identifier, address, encrypted NUMEN,
mailboxes); the identifier and the main address are read-only afterwards.
An administrator sets a password with Django's admin form, so the one policy
applies. Throttles, the journal, devices and helpdesk requests are listed too.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from academail.accounts.models import (
    Account,
    Alias,
    AppPassword,
    Device,
    JournalEntry,
    Throttle,
    TotpDevice,
)
from academail.accounts.naming import base_identifier, base_local_part
from academail.accounts.numen import NumenError, validate_numen
from academail.accounts.secrets import numen_hash
from academail.accounts.services import (
    AccountError,
    address_taken,
    check_create_account,
    clean_own_address,
    clean_secondary_address,
)
from academail.accounts.throttle import do_clear
from academail.accounts.totp import do_admin_reset, do_check_role_change


class AliasForm(forms.ModelForm):
    class Meta:
        model = Alias
        fields = ("address",)

    def clean_address(self) -> str:
        try:
            address = clean_own_address(self.cleaned_data["address"])
        except AccountError as exc:
            raise forms.ValidationError(str(exc)) from None
        unchanged = self.instance.pk is not None and self.instance.address == address
        if not unchanged and address_taken(address):
            raise forms.ValidationError(_("L'adresse « %(address)s » est déjà utilisée.") % {"address": address})
        return address


class AliasInline(admin.TabularInline):
    model = Alias
    form = AliasForm
    extra = 0


class AccountCreationForm(forms.ModelForm):
    """The admin's "add" form: the service picks identifier and address."""

    numen = forms.CharField(
        label=_("NUMEN"), required=False, max_length=40,
        help_text=_("13 caractères ; enregistré chiffré, jamais affiché."),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )

    class Meta:
        model = Account
        fields = (
            "first_name", "last_name", "role", "status", "establishment",
            "secondary_address", "quota_bytes",
        )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["quota_bytes"].required = False

    def clean_numen(self) -> str:
        value: str = self.cleaned_data.get("numen") or ""
        if not value.strip():
            return ""
        try:
            numen = validate_numen(value)
        except NumenError as exc:
            raise forms.ValidationError(str(exc)) from None
        if Account.objects.filter(numen_hash=numen_hash(numen)).exists():
            raise forms.ValidationError(_("Ce NUMEN est déjà attribué à un autre compte."))
        return numen

    def clean_secondary_address(self) -> str:
        try:
            return clean_secondary_address(self.cleaned_data.get("secondary_address") or "")
        except AccountError as exc:
            raise forms.ValidationError(str(exc)) from None

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean() or {}
        first, last = cleaned.get("first_name"), cleaned.get("last_name")
        if first and last:
            try:
                base_identifier(first, last)
                base_local_part(first, last)
            except ValueError as exc:
                raise forms.ValidationError(str(exc)) from None
        return cleaned

    def save(self, commit: bool = True) -> Account:
        data = self.cleaned_data
        account = check_create_account(
            first_name=data["first_name"],
            last_name=data["last_name"],
            numen=data.get("numen") or None,
            role=data["role"],
            status=data["status"],
            establishment=data.get("establishment") or "",
            secondary_address=data.get("secondary_address") or "",
            quota_bytes=data.get("quota_bytes"),
        )
        self.instance = account
        self.save_m2m = lambda: None
        return account


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ("identifier", "full_name", "address", "role", "status", "establishment")
    list_filter = ("role", "status", "function")
    search_fields = ("identifier", "first_name", "last_name", "address")
    ordering = ("last_name", "first_name", "identifier")
    inlines = [AliasInline]
    actions = ["reset_second_factor"]
    readonly_fields = (
        "identifier", "address", "numen_on_file", "second_factor", "app_password_count", "is_superuser",
        "last_login", "created_at", "updated_at",
    )
    fieldsets = (
        (_("Identité"), {"fields": ("identifier", "first_name", "last_name", "establishment")}),
        (_("Annuaire (listes de diffusion)"), {"fields": ("uai", "function")}),
        (_("Messagerie"), {"fields": ("address", "quota_bytes")}),
        (_("Récupération"), {"fields": ("numen_on_file", "secondary_address", "secondary_verified")}),
        (_("Rôle et statut"), {"fields": ("role", "status", "is_superuser")}),
        (_("Accès"), {"fields": ("second_factor", "app_password_count")}),
        (_("Dates"), {"fields": ("last_login", "created_at", "updated_at")}),
    )
    add_fieldsets = (
        (None, {"fields": ("first_name", "last_name", "numen", "role", "status")}),
        (_("Facultatif"), {"fields": ("establishment", "secondary_address", "quota_bytes")}),
    )

    @admin.display(description=_("nom complet"), ordering="last_name")
    def full_name(self, obj: Account) -> str:
        return obj.full_name

    @admin.display(description=_("NUMEN"))
    def numen_on_file(self, obj: Account) -> str:
        return _("renseigné") if obj.numen_hash else _("non renseigné")

    @admin.display(description=_("double authentification"))
    def second_factor(self, obj: Account) -> str:
        return _("activée") if TotpDevice.objects.filter(account=obj).exists() else _("non activée")

    @admin.display(description=_("mots de passe d'application"))
    def app_password_count(self, obj: Account) -> int:
        return AppPassword.objects.filter(account=obj).count()

    @admin.action(description=_("Réinitialiser la double authentification (téléphone perdu)"))
    def reset_second_factor(self, request: HttpRequest, queryset: QuerySet[Account]) -> None:
        by = request.user
        assert isinstance(by, Account)
        count = 0
        for account in queryset:
            do_admin_reset(account, by=by, remote_addr=str(request.META.get("REMOTE_ADDR", "")))
            count += 1
        self.message_user(request, ngettext(
            "Double authentification réinitialisée pour %(count)d compte ; sa session web est fermée.",
            "Double authentification réinitialisée pour %(count)d comptes ; leurs sessions web sont fermées.",
            count) % {"count": count})

    def get_fieldsets(self, request: HttpRequest, obj: Account | None = None) -> Any:
        return self.add_fieldsets if obj is None else self.fieldsets

    def get_readonly_fields(self, request: HttpRequest, obj: Account | None = None) -> Any:
        return () if obj is None else self.readonly_fields

    def get_form(
        self, request: HttpRequest, obj: Account | None = None, change: bool = False, **kwargs: Any
    ) -> Any:
        if obj is None:
            kwargs["form"] = AccountCreationForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_inline_instances(self, request: HttpRequest, obj: Account | None = None) -> Any:
        # Aliases are added once the account exists (and has its address).
        return [] if obj is None else super().get_inline_instances(request, obj)

    def save_model(self, request: HttpRequest, obj: Account, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            if "role" in form.changed_data:
                do_check_role_change(obj)
        # On add, AccountCreationForm.save() already created it through the service.

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Account], search_term: str
    ) -> tuple[QuerySet[Account], bool]:
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        try:
            numen = validate_numen(search_term)
        except NumenError:
            return results, may_have_duplicates
        return results | queryset.filter(numen_hash=numen_hash(numen)), may_have_duplicates


# --- access life cycle -------------------------------------------------------------------


@admin.register(Throttle)
class ThrottleAdmin(admin.ModelAdmin):
    """Who is being slowed down, and the button to lift it (a person locked
    out of a shared school network, a helpdesk call)."""

    list_display = ("key", "failures", "window_failures", "refused", "last_failure_at", "blocked_until")
    search_fields = ("key",)
    ordering = ("-last_failure_at",)
    readonly_fields = list_display + ("window_start",)
    actions = ["clear"]

    @admin.action(description=_("Lever la limitation (remettre les compteurs à zéro)"))
    def clear(self, request: HttpRequest, queryset: QuerySet[Throttle]) -> None:
        count = do_clear(queryset.values_list("key", flat=True))
        self.message_user(request, ngettext("%(count)d limitation levée.", "%(count)d limitations levées.", count)
                          % {"count": count})

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(JournalEntry)
class JournalEntryAdmin(admin.ModelAdmin):
    list_display = ("at", "account", "kind", "protocol", "remote_addr", "device")
    list_filter = ("kind", "protocol")
    search_fields = ("account__identifier", "remote_addr")
    list_select_related = ("account",)
    show_full_result_count = False  # a COUNT(*) over a year of sign-ins per page view is waste

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Device)
class DeviceAdmin(admin.ModelAdmin):
    list_display = ("account", "label", "protocol", "first_seen", "last_seen", "last_addr")
    search_fields = ("account__identifier",)
    list_select_related = ("account",)
    readonly_fields = ("account", "key", "protocol", "label", "first_seen", "last_seen", "last_addr")
