"""Administrators' pages: forwards (read only) and forwarded messages held for
approval (authorise = send, refuse = delete; the person keeps their copy)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from academail.forwarding.models import Forwarding, HeldForward
from academail.forwarding.sending import release_held


@admin.register(Forwarding)
class ForwardingAdmin(admin.ModelAdmin):
    list_display = ("account", "target", "keep_copy", "confirmed_at")
    search_fields = ("account__identifier", "account__address", "target")
    readonly_fields = ("account", "target", "keep_copy", "created_at", "confirmed_at")

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(HeldForward)
class HeldForwardAdmin(admin.ModelAdmin):
    list_display = ("created_at", "account", "target", "subject", "size")
    search_fields = ("account__identifier", "target", "subject")
    readonly_fields = ("created_at", "account", "target", "mail_from", "subject", "reason", "size", "source")
    exclude = ("raw",)
    actions = ["release", "discard"]

    @admin.display(description="source du message")
    def source(self, obj: HeldForward) -> str:
        text = bytes(obj.raw).decode("utf-8", "replace")
        return format_html('<pre style="white-space:pre-wrap">{}</pre>', text)

    @admin.action(description="Autoriser et transférer les messages choisis")
    def release(self, request: HttpRequest, queryset: QuerySet[HeldForward]) -> None:
        done = sum(1 for pk in list(queryset.values_list("pk", flat=True)) if release_held(pk))
        self.message_user(request, f"{done} transfert(s) autorisé(s) et envoyé(s).", messages.SUCCESS)

    @admin.action(description="Refuser (supprimer sans transférer ; la personne garde sa copie)")
    def discard(self, request: HttpRequest, queryset: QuerySet[HeldForward]) -> None:
        count, _ = queryset.delete()
        self.message_user(request, f"{count} transfert(s) refusé(s).", messages.SUCCESS)

    def get_actions(self, request: HttpRequest) -> dict:
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
