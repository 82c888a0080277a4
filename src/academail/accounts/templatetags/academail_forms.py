"""``{% field_widget field %}``: a form widget with the accessibility
attributes its label, hint and error need (``aria-describedby`` pointing at
the hint and the error text, ``aria-invalid`` when in error)."""

from __future__ import annotations

from django import template
from django.forms import BoundField
from django.utils.safestring import SafeString

register = template.Library()


@register.simple_tag
def field_widget(field: BoundField, extra_describedby: str = "") -> SafeString:
    ids = []
    if field.help_text:
        ids.append(f"{field.auto_id}-hint")
    if field.errors:
        ids.append(f"{field.auto_id}-error")
    if extra_describedby:
        ids.append(extra_describedby)
    attrs: dict[str, str] = {}
    if ids:
        attrs["aria-describedby"] = " ".join(ids)
    if field.errors or extra_describedby.endswith("global-error"):
        attrs["aria-invalid"] = "true"
    if field.field.required:
        attrs["required"] = "required"
    return field.as_widget(attrs=attrs)
