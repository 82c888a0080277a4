"""Migration 0010 fills SearchText for the mail already stored (re-parsing each
blob) and rebuilds its full-text entry from folded text, so old mail answers
IMAP SEARCH substrings like new mail does."""

from __future__ import annotations

from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from academail.store.blobs import blob_store

OLD = [("store", "0009_space_summary")]
NEW = [("store", "0010_search_text")]

RAW = (
    b"From: =?utf-8?q?J=C3=A9r=C3=B4me?= <intendance@college-exemple.fr>\r\n"
    b"To: Parents: p1@example.org, p2@example.org;\r\n"
    b"Subject: Cantine\r\nX-Priority: 1\r\n\r\n"
    b"Un chef-d'\xc5\x93uvre au menu.\r\n"
)


def test_existing_contents_get_their_search_text(migrator):
    executor = MigrationExecutor(connection)
    executor.migrate(OLD)
    old_apps = executor.loader.project_state(OLD).apps
    Content = old_apps.get_model("store", "Content")
    sha256 = blob_store().put(RAW)
    content = Content.objects.create(sha256=sha256, size=len(RAW), refcount=1, subject="Cantine")
    lost = Content.objects.create(sha256="0" * 64, size=10, refcount=1, subject="Sans blob", preview="Aperçu gardé")
    sqlite = connection.vendor == "sqlite"
    with connection.cursor() as cursor:  # the index as 0002 wrote it: raw text
        if sqlite:
            cursor.execute("INSERT INTO store_search(rowid, text) VALUES (%s, %s)", [content.pk, "Cantine chef-d'œuvre"])
        else:
            cursor.execute(
                "INSERT INTO store_search(content_id, doc) VALUES (%s, to_tsvector('simple', %s))",
                [content.pk, "cantine chef-d'œuvre"],
            )
    executor = MigrationExecutor(connection)
    executor.migrate(NEW)
    with connection.cursor() as cursor:
        cursor.execute("SELECT from_field, to_field, headers, body FROM store_searchtext WHERE content_id = %s", [content.pk])
        from_field, to_field, headers, body = cursor.fetchone()
        assert from_field == "jerome <intendance@college-exemple.fr>"
        assert "parents:" in to_field and "p2@example.org" in to_field
        assert "\nx-priority: 1" in headers
        assert body == "un chef-d'oeuvre au menu."
        # (The index is no model table: a flush between tests leaves other rows.)
        if sqlite:
            cursor.execute("SELECT rowid FROM store_search WHERE store_search MATCH 'oeuvre' AND rowid = %s", [content.pk])
        else:
            cursor.execute(
                "SELECT content_id FROM store_search WHERE doc @@ to_tsquery('simple', 'oeuvre') AND content_id = %s",
                [content.pk],
            )
        assert [row[0] for row in cursor.fetchall()] == [content.pk]  # rebuilt folded, once
        cursor.execute("SELECT subject, body FROM store_searchtext WHERE content_id = %s", [lost.pk])
        assert cursor.fetchone() == ("sans blob", "apercu garde")


def test_the_five_fields_move_to_their_narrow_table(migrator):
    before, after = [("store", "0014_recent")], [("store", "0015_search_fields")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    Content = executor.loader.project_state(before).apps.get_model("store", "Content")
    content = Content.objects.create(sha256="1" * 64, size=10, refcount=1, subject="Cantine")
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO store_searchtext (content_id, subject, from_field, to_field, cc_field, bcc_field, headers, body)"
            " VALUES (%s, 'cantine', 'jerome <i@c.fr>', 'parents: p1@e.org;', '', 'secret@a.fr', '\nsubject: cantine', 'menus')",
            [content.pk],
        )
    executor = MigrationExecutor(connection)
    executor.migrate(after)
    with connection.cursor() as cursor:
        cursor.execute("SELECT subject, from_field, to_field, bcc_field FROM store_searchfields WHERE content_id = %s", [content.pk])
        assert cursor.fetchone() == ("cantine", "jerome <i@c.fr>", "parents: p1@e.org;", "secret@a.fr")
        cursor.execute("SELECT headers, body FROM store_searchtext WHERE content_id = %s", [content.pk])
        assert cursor.fetchone() == ("\nsubject: cantine", "menus")
