"""The fast paths of FETCH and the connection layer give the same bytes as the
slow ones: ENVELOPE/BODYSTRUCTURE/header caches per content (cold and warm,
one content under two per-delivery prefixes), sparse UID sets on the
(mailbox, uid) index, INTERNALDATE formatting, and the shared TLS read buffer."""

from __future__ import annotations

import asyncio
import bisect
import datetime as dt

from django.db import connection
from hypothesis import given, settings
from hypothesis import strategies as st

from academail.delivery.route import deliver
from academail.imap import render
from academail.imap.responses import imap_date_time
from academail.imap.server import share_tls_read_buffer
from academail.imap.view import UidRuns
from academail.server.tls import server_context
from academail.store import imap as store
from academail.store.messages import merge_ranges
from academail.store.models import Mailbox, Message
from tests.conftest import build_message
from tests.imap.conftest import client_context
from tests.imap.helpers import corpus, deliver_to

ITEMS = (
    "(UID FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODYSTRUCTURE BODY "
    "BODY.PEEK[HEADER.FIELDS (FROM SUBJECT DATE)] BODY.PEEK[HEADER] RFC822.HEADER BODY.PEEK[1] BODY.PEEK[TEXT])"
)


def clear_caches() -> None:
    for cache in (render.ENVELOPES, render.STRUCTURES, render.HEADERS):
        cache.clear()


def test_cached_fetch_is_byte_identical_to_the_first(session, user):
    deliver_to(user, corpus("nested_rfc822.eml"))
    deliver_to(user, subject="Réunion des équipes", body="Ordre du jour\n")
    assert session.cmd("SELECT INBOX").ok
    clear_caches()
    cold = session.cmd(f"FETCH 1:* {ITEMS}").untagged
    assert len(render.ENVELOPES) == 2 and len(render.HEADERS) == 2
    warm = session.cmd(f"FETCH 1:* {ITEMS}").untagged
    assert warm == cold
    assert b"ENVELOPE (" in cold[0] and b"BODYSTRUCTURE (" in cold[0] and b"BODY[HEADER.FIELDS (FROM SUBJECT DATE)]" in cold[1]
    # Only some items cached (e.g. ENVELOPE but not the header): still the same.
    render.HEADERS.clear()
    render.STRUCTURES.clear()
    assert session.cmd(f"FETCH 1:* {ITEMS}").untagged == cold


def test_one_content_two_prefixes_keep_their_own_header(session, user):
    raw = build_message(to=user.address, subject="Circulaire")
    (first,) = deliver(raw, [user.address], prefix=b"Received: from a.example by us\r\n")
    (second,) = deliver(raw, [user.address], prefix=b"Received: from b.example by us\r\n")
    assert first.delivered and second.delivered
    assert session.cmd("SELECT INBOX").ok
    clear_caches()
    for _ in range(2):  # cold, then from the cache
        lines = session.cmd("FETCH 1:2 (BODY.PEEK[HEADER.FIELDS (RECEIVED SUBJECT)] RFC822.HEADER ENVELOPE)").untagged
        assert b"a.example" in lines[0] and b"b.example" not in lines[0]
        assert b"b.example" in lines[1] and b"a.example" not in lines[1]
        assert lines[0].count(b"Subject: Circulaire") == 2 and lines[1].count(b"Subject: Circulaire") == 2


def test_sparse_uid_sets_fetch_and_store_exactly_those(session, user):
    for n in range(12):
        deliver_to(user, subject=f"Message {n + 1}")
    assert session.cmd("SELECT INBOX").ok
    fetched = session.cmd("UID FETCH 2,5,7:9,12 (FLAGS)").untagged
    assert [line.split(b"UID ")[1].split()[0] for line in fetched] == [b"2", b"5", b"7", b"8", b"9", b"12"]
    stored = session.cmd("UID STORE 2,5,7:9 +FLAGS.SILENT (\\Flagged)")
    assert stored.ok
    flagged = session.cmd("UID SEARCH FLAGGED").untagged[0]
    assert flagged.split()[2:] == [b"2", b"5", b"7", b"8", b"9"]
    box = Mailbox.objects.get(account=user, special_use="inbox")
    rows = store.flag_rows(box.pk, [(2, 2), (5, 5), (7, 9), (40, 50)])
    assert [r.uid for r in rows] == [2, 5, 7, 8, 9]
    assert [r.uid for r in store.fetch_rows(box.pk, [1, 3, 4, 10, 11])] == [1, 3, 4, 10, 11]


def test_sparse_uid_condition_uses_the_mailbox_uid_index(user):
    box = Mailbox.objects.get(account=user, special_use="inbox")
    query = Message.objects.filter(store._uid_condition(box.pk, merge_ranges([(2, 2), (5, 5), (7, 9), (20, 30)])))
    sql, params = query.query.sql_with_params()
    # Every OR arm names the mailbox: each is a range of the (mailbox, uid) index.
    assert sql.count('"mailbox_id" = %s') == 3, sql
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
            plan = " | ".join(str(row[-1]) for row in cursor.fetchall())
            assert "MULTI-INDEX OR" in plan, plan
            assert plan.count("(mailbox_id=? AND uid") == 3, plan
        else:
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("EXPLAIN " + sql, params)
            plan = " | ".join(row[0] for row in cursor.fetchall())
            # PostgreSQL factors the common mailbox out of the OR arms itself;
            # on an empty table any (mailbox, ...) index may serve: no full scan.
            assert "Seq Scan" not in plan and "mailbox_id = " in plan, plan


def test_internaldate_is_english_and_in_the_server_zone(settings):
    settings.TIME_ZONE = "Europe/Paris"
    assert imap_date_time(dt.datetime(2024, 9, 5, 9, 0, 0, tzinfo=dt.UTC)) == b'"05-Sep-2024 11:00:00 +0200"'
    assert imap_date_time(dt.datetime(2024, 12, 25, 23, 30, 5, tzinfo=dt.UTC)) == b'"26-Dec-2024 00:30:05 +0100"'
    settings.TIME_ZONE = "America/St_Johns"
    assert imap_date_time(dt.datetime(2024, 1, 2, 12, 0, 0, tzinfo=dt.UTC)) == b'"02-Jan-2024 08:30:00 -0330"'


def test_tls_connections_share_one_read_buffer():
    async def main() -> list[object]:
        buffers: list[object] = []
        done = asyncio.Event()

        async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            assert share_tls_read_buffer(writer.transport)
            buffers.append(writer.transport._ssl_protocol._ssl_buffer)  # type: ignore[attr-defined]
            line = await reader.readline()  # reading goes through the shared buffer
            writer.write(line.upper())
            await writer.drain()
            writer.close()
            if len(buffers) == 2:
                done.set()

        server = await asyncio.start_server(handler, "127.0.0.1", 0, ssl=server_context())
        port = server.sockets[0].getsockname()[1]
        for word in (b"un\n", b"deux\n"):
            reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=client_context())
            writer.write(word)
            assert await reader.readline() == word.upper()
            writer.close()
        await asyncio.wait_for(done.wait(), 10)
        plain = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0)
        reader, writer = await asyncio.open_connection("127.0.0.1", plain.sockets[0].getsockname()[1])
        assert not share_tls_read_buffer(writer.transport)  # a plain transport is left alone
        writer.close()
        server.close()
        plain.close()
        return buffers

    buffers = asyncio.run(main())
    assert len(buffers) == 2 and buffers[0] is buffers[1]


@given(st.sets(st.integers(min_value=1, max_value=300), max_size=120), st.sets(st.integers(min_value=1, max_value=400)))
@settings(max_examples=300, deadline=None)
def test_uid_runs_behave_like_a_sorted_list(uids, probes):
    ordered = sorted(uids)
    runs = UidRuns(ordered)
    assert len(runs) == len(ordered) and bool(runs) == bool(ordered) and list(runs) == ordered
    for i in range(len(ordered)):
        assert runs[i] == ordered[i] and runs[i - len(ordered)] == ordered[i - len(ordered)]
    for probe in probes:
        assert runs.index_left(probe) == bisect.bisect_left(ordered, probe)
        assert runs.index_right(probe) == bisect.bisect_right(ordered, probe)
    for start in range(0, len(ordered) + 2, 7):
        for stop in range(start, len(ordered) + 3, 11):
            assert runs.slice(start, stop) == ordered[start:stop]
    more = [u for u in sorted(probes) if u > (ordered[-1] if ordered else 0)]
    runs.extend(more)
    assert list(runs) == ordered + more


def test_a_selected_contiguous_mailbox_holds_one_run(session, user):
    for n in range(30):
        deliver_to(user, subject=f"Message {n + 1}")
    assert session.cmd("SELECT INBOX").ok
    assert session.cmd("UID STORE 5,9:11 +FLAGS.SILENT (\\Deleted)").ok
    assert session.cmd("EXPUNGE").untagged == [b"* 11 EXPUNGE\r\n", b"* 10 EXPUNGE\r\n", b"* 9 EXPUNGE\r\n", b"* 5 EXPUNGE\r\n"]
    fetched = session.cmd("FETCH 4:6,25:* (UID)").untagged
    assert [line.split(b"UID ")[1].rstrip(b")\r\n") for line in fetched] == [b"4", b"6", b"7", b"29", b"30"]
    view = UidRuns(range(1, 50_001))
    assert len(view._firsts) == 1 and view[-1] == 50_000 and view.index_left(25_000) == 24_999
