"""The administration shows French column names (issue 20, walk-through): a
list column without its own label falls back to the field's English name
("created at", "account")."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.utils import label_for_field
from django.forms.utils import pretty_name
from django.utils import translation


def test_every_admin_column_has_a_french_label():
    untitled = []
    with translation.override("fr"):
        for model, model_admin in admin.site._registry.items():
            for name in model_admin.list_display:
                if callable(name) or name == "__str__":
                    continue
                label = str(label_for_field(name, model, model_admin))
                if label.lower() == pretty_name(name).lower():
                    untitled.append(f"{model._meta.label}.{name}")
    assert untitled == []
