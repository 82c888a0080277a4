"""The full-text index, one document per Content (so a circular is indexed once).

SQLite: an FTS5 table with ``unicode61 remove_diacritics 2`` ("reunion" finds
"Réunion"); it keeps its own copy of the text, because SQLite before 3.43 has
no contentless table that supports deletes. PostgreSQL: a ``tsvector`` with a GIN index, built with the
``simple`` configuration from text whose accents ``store.search`` has already
folded (no ``unaccent`` extension, hence no superuser needed at install).
"""

from django.db import migrations


def create_index(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        schema_editor.execute(
            "CREATE VIRTUAL TABLE store_search USING fts5("
            "text, tokenize='unicode61 remove_diacritics 2')"
        )
    elif vendor == "postgresql":
        schema_editor.execute(
            "CREATE TABLE store_search ("
            " content_id bigint PRIMARY KEY,"
            " doc tsvector NOT NULL)"
        )
        # fastupdate off: entries go straight into the index instead of a pending
        # list the planner must scan, which made it prefer a sequential scan
        # right after bulk deliveries (bench/store.py).
        schema_editor.execute(
            "CREATE INDEX store_search_doc ON store_search USING GIN (doc) WITH (fastupdate = off)"
        )
    else:
        raise RuntimeError(f"academail supports SQLite and PostgreSQL, not {vendor}")


def drop_index(apps, schema_editor):
    schema_editor.execute("DROP TABLE IF EXISTS store_search")


class Migration(migrations.Migration):
    dependencies = [("store", "0001_initial")]
    operations = [migrations.RunPython(create_index, drop_index)]
