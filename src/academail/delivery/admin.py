"""Administrators' pages: outbound mail kept by the capture, messages held by
the sending limits (release or delete them), and forwarded copies held for
approval (``forwarding.HeldForward``: authorise = send, refuse = delete; the
person keeps their copy). Releasing sends, which is ``delivery.route``'s."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from academail.delivery.models import CapturedMessage, HeldMessage
from academail.delivery.route import release_held, release_held_forward
from academail.forwarding.models import HeldForward


@admin.register(CapturedMessage)
class CapturedMessageAdmin(admin.ModelAdmin):
    list_display = ("created_at", "subject", "recipients_text", "mail_from")
    search_fields = ("subject", "mail_from")
    readonly_fields = ("created_at", "mail_from", "recipients", "subject", "source")
    exclude = ("raw",)

    @admin.display(description=_("destinataires"))
    def recipients_text(self, obj: CapturedMessage) -> str:
        return ", ".join(obj.recipients)

    @admin.display(description=_("source du message"))
    def source(self, obj: CapturedMessage) -> str:
        text = bytes(obj.raw).decode("utf-8", "replace")
        return format_html('<pre style="white-space:pre-wrap">{}</pre>', text)

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(HeldMessage)
class HeldMessageAdmin(admin.ModelAdmin):
    list_display = ("created_at", "identifier", "origin", "subject", "recipient_count", "reason")
    list_filter = ("origin",)
    search_fields = ("identifier", "subject", "mail_from")
    readonly_fields = ("created_at", "identifier", "origin", "mail_from", "recipients_text", "subject", "reason", "size", "source")
    exclude = ("raw", "trace", "recipients", "event", "account_id")
    actions = ["release", "discard"]

    @admin.display(description=_("destinataires"))
    def recipient_count(self, obj: HeldMessage) -> int:
        return len(obj.recipients)

    @admin.display(description=_("destinataires"))
    def recipients_text(self, obj: HeldMessage) -> str:
        return ", ".join(obj.recipients)

    @admin.display(description=_("source du message"))
    def source(self, obj: HeldMessage) -> str:
        text = bytes(obj.raw).decode("utf-8", "replace")
        return format_html('<pre style="white-space:pre-wrap">{}</pre>', text)

    @admin.action(description=_("Libérer (envoyer) les messages choisis"))
    def release(self, request: HttpRequest, queryset: QuerySet[HeldMessage]) -> None:
        done = 0
        for held_id in list(queryset.values_list("pk", flat=True)):
            report = release_held(held_id)
            if report is None:
                continue
            done += 1
            for address, reason in report.refused.items():
                self.message_user(request, f"{address} : {reason}", messages.WARNING)
        self.message_user(request, ngettext("%(count)d message libéré.", "%(count)d messages libérés.", done)
                          % {"count": done}, messages.SUCCESS)

    @admin.action(description=_("Supprimer les messages choisis (sans les envoyer)"))
    def discard(self, request: HttpRequest, queryset: QuerySet[HeldMessage]) -> None:
        # Their held counts stay: the attempts still weigh on the hard limits.
        count = queryset.delete()[0]
        self.message_user(request, ngettext("%(count)d message supprimé.", "%(count)d messages supprimés.", count)
                          % {"count": count}, messages.SUCCESS)

    def get_actions(self, request: HttpRequest) -> dict:
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # "Supprimer" above says what it does
        return actions

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


# Forwarding's held copies: authorising one sends it, which is routing (delivery.route).
@admin.register(HeldForward)
class HeldForwardAdmin(admin.ModelAdmin):
    list_display = ("created_at", "account", "target", "subject", "size")
    search_fields = ("account__identifier", "target", "subject")
    readonly_fields = ("created_at", "account", "target", "mail_from", "subject", "reason", "size", "source")
    exclude = ("raw",)
    actions = ["release", "discard"]

    @admin.display(description=_("source du message"))
    def source(self, obj: HeldForward) -> str:
        text = bytes(obj.raw).decode("utf-8", "replace")
        return format_html('<pre style="white-space:pre-wrap">{}</pre>', text)

    @admin.action(description=_("Autoriser et transférer les messages choisis"))
    def release(self, request: HttpRequest, queryset: QuerySet[HeldForward]) -> None:
        done = sum(1 for pk in list(queryset.values_list("pk", flat=True)) if release_held_forward(pk))
        self.message_user(request, ngettext("%(count)d transfert autorisé et envoyé.",
                                            "%(count)d transferts autorisés et envoyés.", done)
                          % {"count": done}, messages.SUCCESS)

    @admin.action(description=_("Refuser (supprimer sans transférer ; la personne garde sa copie)"))
    def discard(self, request: HttpRequest, queryset: QuerySet[HeldForward]) -> None:
        count = queryset.delete()[0]
        self.message_user(request, ngettext("%(count)d transfert refusé.", "%(count)d transferts refusés.", count)
                          % {"count": count}, messages.SUCCESS)

    def get_actions(self, request: HttpRequest) -> dict:
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
