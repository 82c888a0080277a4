"""PostgreSQL: the folded text SEARCH compares with (``store_searchtext``,
~42 KB a bench message) compressed with LZ4 instead of the default pglz.
TOAST compresses each new row inside the delivery's transaction, on the
database's CPU: pglz cost ~1.2 ms of backend CPU a message, LZ4 ~0.6 ms
(bench/README.md, issue 21), and LZ4 also reads back faster. Only new rows
are compressed so; old ones stay readable as they are. A server built
without LZ4 keeps pglz. SQLite: nothing to do."""

from django.db import migrations

COLUMNS = ("headers", "body")


def _lz4_available(cursor) -> bool:
    cursor.execute("SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'")
    row = cursor.fetchone()
    return bool(row and row[0])


def set_compression(method: str):
    def apply(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        with schema_editor.connection.cursor() as cursor:
            if method == "lz4" and not _lz4_available(cursor):
                return
            for column in COLUMNS:
                cursor.execute(f"ALTER TABLE store_searchtext ALTER COLUMN {column} SET COMPRESSION {method}")  # noqa: S608
    return apply


class Migration(migrations.Migration):
    dependencies = [("store", "0020_from_sort")]

    operations = [migrations.RunPython(set_compression("lz4"), set_compression("pglz"))]
