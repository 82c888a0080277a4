from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest
from django.utils.html import format_html

from academail.delivery.models import CapturedMessage


@admin.register(CapturedMessage)
class CapturedMessageAdmin(admin.ModelAdmin):
    list_display = ("created_at", "subject", "recipients_text", "mail_from")
    search_fields = ("subject", "mail_from")
    readonly_fields = ("created_at", "mail_from", "recipients", "subject", "source")
    exclude = ("raw",)

    @admin.display(description="destinataires")
    def recipients_text(self, obj: CapturedMessage) -> str:
        return ", ".join(obj.recipients)

    @admin.display(description="source du message")
    def source(self, obj: CapturedMessage) -> str:
        text = bytes(obj.raw).decode("utf-8", "replace")
        return format_html('<pre style="white-space:pre-wrap">{}</pre>', text)

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
