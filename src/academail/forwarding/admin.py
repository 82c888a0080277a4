"""Administrators' pages: forwards (read only). The forwarded messages held for
approval are in ``delivery.admin`` (authorising one sends it: routing)."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from academail.forwarding.models import Forwarding


@admin.register(Forwarding)
class ForwardingAdmin(admin.ModelAdmin):
    list_display = ("account", "target", "keep_copy", "confirmed_at")
    search_fields = ("account__identifier", "account__address", "target")
    readonly_fields = ("account", "target", "keep_copy", "created_at", "confirmed_at")

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
