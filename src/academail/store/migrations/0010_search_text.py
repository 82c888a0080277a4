"""SearchText: the folded header fields and body IMAP SEARCH compares substrings
with (RFC 3501 §6.4.4), one row per Content; and the full-text index rebuilt from
folded text on SQLite too, so that it finds every candidate the substring rule
accepts ("oeuvre" for "œuvre").

Existing contents are re-parsed from their blobs with the current parser
(``mime.parse_message``) and indexed by ``store.search.do_index``, the one rule
new deliveries follow: a frozen copy would index old and new mail differently. A
content whose blob cannot be read keeps what its row caches (subject, people,
preview)."""

from __future__ import annotations

import django.db.models.deletion
from django.db import migrations, models

BATCH = 500


def fill_search_text(apps, schema_editor):  # type: ignore[no-untyped-def]
    # The pure rules of store.search (what is indexed, how it is folded) and
    # this migration's own table layout: later migrations move columns.
    from academail.mime.parse import parse_message
    from academail.store import search
    from academail.store.blobs import blob_store

    Content = apps.get_model("store", "Content")
    connection = schema_editor.connection
    store = blob_store()
    columns = ("id", "sha256", "subject", "from_name", "from_addr", "to_text", "cc_text", "preview")
    rows = Content.objects.order_by("id").values_list(*columns).iterator(chunk_size=BATCH)
    batch: list[tuple] = []
    key = "rowid" if connection.vendor == "sqlite" else "content_id"

    def flush() -> None:
        with connection.cursor() as cursor:
            marks = ",".join(["%s"] * len(batch))
            cursor.execute(f"DELETE FROM store_search WHERE {key} IN ({marks})", [row[0] for row in batch])  # noqa: S608
            for pk, sha256, subject, from_name, from_addr, to_text, cc_text, preview in batch:
                try:
                    parsed = parse_message(store.get(sha256))
                except OSError:
                    people = f"{from_name} {from_addr} {to_text} {cc_text}"
                    text = f"{subject}\n{people}\n{preview}"
                    header_text = f"subject: {subject}\nfrom: {from_name} <{from_addr}>\nto: {to_text}\ncc: {cc_text}"
                    body_text = preview
                else:
                    text, header_text, body_text = search.index_text(parsed), parsed.header_text, parsed.search_text
                search.do_index_words(pk, text)
                values = search.search_columns(header_text, body_text)
                cursor.execute(
                    f"INSERT INTO store_searchtext (content_id, {', '.join(values)})"  # noqa: S608 (fixed names)
                    f" VALUES (%s{', %s' * len(values)})",
                    [pk, *values.values()],
                )
        batch.clear()

    for row in rows:
        batch.append(row)
        if len(batch) >= BATCH:
            flush()
    if batch:
        flush()


class Migration(migrations.Migration):
    dependencies = [("store", "0009_space_summary")]

    operations = [
        migrations.CreateModel(
            name="SearchText",
            fields=[
                (
                    "content",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name="+",
                        serialize=False, to="store.content",
                    ),
                ),
                ("subject", models.TextField(blank=True)),
                ("from_field", models.TextField(blank=True)),
                ("to_field", models.TextField(blank=True)),
                ("cc_field", models.TextField(blank=True)),
                ("bcc_field", models.TextField(blank=True)),
                ("headers", models.TextField(blank=True)),
                ("body", models.TextField(blank=True)),
            ],
        ),
        migrations.RunPython(fill_search_text, migrations.RunPython.noop),
    ]
