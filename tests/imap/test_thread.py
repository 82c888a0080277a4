"""THREAD (RFC 5256 §2, §4): the algorithms on rows, then transcripts over real
TLS and imapclient's ``thread()``."""

from __future__ import annotations

import random

import pytest
from imapclient import IMAPClient

from academail.imap import threadcache, threads
from academail.store import sortkeys
from academail.store.imap import ThreadRows
from tests.imap import thread_reference as reference
from tests.imap.conftest import PASSWORD, client_context
from tests.imap.helpers import deliver_to

Row = reference.Row

# (uid, subject, Message-ID, References): every message a day after the one before.
CASES = [
    (1, "Plan", "a", ""),
    (2, "Re: Plan", "b", "<a>"),
    (3, "Re: Plan", "c", "<a> <b>"),
    (4, "Re: Plan", "d", "<a>"),
    (5, "Sortie", "e", ""),
    (6, "Re: Sortie", "f", ""),  # no reference: joins "Sortie" by its subject (step 5)
    (7, "Jury", "g", "<zz>"),  # both answer a message not in the mailbox: a dummy root
    (8, "Jury", "h", "<zz>"),
]


def _rows() -> list[Row]:
    # (The store numbers the rows by sent date: here a day each, in UID order.)
    return [
        Row(uid, uid, subject.removeprefix("Re: ").lower(), subject, f"<{mid}>", "", refs)
        for uid, subject, mid, refs in CASES
    ]


def _columns(rows: list[Row]) -> ThreadRows:
    """What ``store.imap.thread_rows`` gives for these messages: columns in
    sent order, with the keys delivery computes (``sortkeys.thread_keys``)."""
    rows = sorted(rows, key=lambda row: row.sent_rank)
    keys = [sortkeys.thread_keys(row.subject, row.message_id, row.in_reply_to, row.references) for row in rows]
    return ThreadRows(
        [row.uid for row in rows], [row.base_subject for row in rows], [k.reply for k in keys],
        [k.message_id for k in keys], [sortkeys.unpack_keys(k.references) for k in keys],
    )


def _threaded(algorithm: str, rows: list[Row]) -> str:
    """The thread list of ``rows`` (UIDs), checked against the reference
    implementation on the same messages."""
    columns = _columns(rows)
    text = threads.render(threads.thread(algorithm, columns), columns.uids)
    by_uid = sorted(rows, key=lambda row: row.uid)
    assert text == reference.render(reference.thread(algorithm, by_uid), int)
    return text


def test_references_algorithm():
    """RFC 5256 §2.2: chains by References, the last reference as parent, an
    absent parent kept as a dummy root with its two children, a reply without
    references under the non-reply of the same base subject (step 5)."""
    assert _threaded("REFERENCES", _rows()) == "(1 (2 3)(4))(5 6)((7)(8))"


def test_references_without_ids_loops_and_duplicates():
    """§2.2 step (1)(A): no or a duplicate Message-ID gets a unique one; step (1)(B):
    no loop is ever made."""
    rows = [
        Row(1, 0, "a", "a", "<x>", "", "<y>"),
        Row(2, 1, "b", "b", "<y>", "", "<x>"),  # would loop
        Row(3, 2, "c", "c", "", "", ""),
        Row(4, 3, "d", "d", "<x>", "<x>", ""),  # duplicate id
    ]
    assert _threaded("REFERENCES", rows) == "(2 1 4)(3)"  # 4 answers "x" (its In-Reply-To)


def test_a_long_reply_chain_is_no_deeper_than_one_message():
    """A chain of 5,000 replies (each answering the one before) is one thread
    of 5,000 numbers: no step recurses, so Python's recursion limit does not
    bound a conversation."""
    rows = [Row(1, 0, "x", "x", "<m0>", "", "")] + [
        Row(i + 1, i, "x", "Re: x", f"<m{i}>", f"<m{i - 1}>", f"<m{i - 1}>") for i in range(1, 5000)
    ]
    columns = _columns(rows)
    expected = "(" + " ".join(str(uid) for uid in range(1, 5001)) + ")"
    assert threads.render(threads.thread("REFERENCES", columns), columns.uids) == expected


def test_ordered_subject_algorithm():
    """RFC 5256 §2.1: by base subject; the first (by sent date) is the parent of
    the others, threads by their first message's date."""
    assert _threaded("ORDEREDSUBJECT", _rows()) == "(1 (2)(3)(4))(5 6)(7 8)"


def _random_mailbox(rng: random.Random) -> list[Row]:
    """Small mailboxes full of what breaks threading: ids shared, missing or
    absent, chains through absent messages, loops, self-references, replies
    without references, subjects shared by unrelated messages, UIDs in
    another order than the dates."""
    count = rng.randint(1, 40)
    pool = [f"<m{i}>" for i in range(count + 8)]
    subjects = ["Plan", "Re: Plan", "Sortie", "TR : Sortie", "Jury", "Re: Jury", "", "Fwd: Plan"]
    ranks = list(range(count))
    rng.shuffle(ranks)
    rows = []
    for uid in range(1, count + 1):
        own = rng.choice(pool) if rng.random() < 0.9 else ""
        chain = " ".join(rng.sample(pool, rng.randint(0, 4))) if rng.random() < 0.6 else ""
        reply_to = rng.choice(pool) if rng.random() < 0.3 else ""
        subject = rng.choice(subjects)
        base = sortkeys.base_subject(subject)
        rows.append(Row(uid * 3, ranks[uid - 1], base, subject, own, reply_to, chain))
    return rows


def test_same_threads_as_the_reference_on_random_mailboxes():
    """The int containers and 63-bit id keys give, mailbox for mailbox, the
    threads of the object-per-container implementation over the ids as text
    (tests/imap/thread_reference.py), for both algorithms."""
    rng = random.Random(5256)
    for _ in range(600):
        rows = _random_mailbox(rng)
        _threaded("REFERENCES", rows)
        _threaded("ORDEREDSUBJECT", rows)
        # Sent in UID order, as mail most often is (``threads.references``
        # then takes the ranks for the UID order).
        _threaded("REFERENCES", [row._replace(sent_rank=row.uid) for row in rows])


def _raw(subject: str, message_id: str, references: str, day: int) -> bytes:
    lines = [
        "From: direction@college-exemple.fr", "To: julie.martin@ac-demo.fr", f"Subject: {subject}",
        f"Message-ID: <{message_id}>", f"Date: {day:d} Dec 2026 10:00:00 +0100",
    ]
    if references:
        lines += [f"References: {references}", f"In-Reply-To: {references.split()[-1]}"]
    return "\r\n".join([*lines, "", "Texte.", ""]).encode()


@pytest.fixture
def mailbox(user):
    for uid, subject, mid, refs in CASES:
        deliver_to(user, _raw(subject, f"{mid}@x.fr", " ".join(f"<{r}@x.fr>" for r in refs.replace("<", "").replace(">", "").split()), uid))
    return user


def _thread(session, command: str) -> bytes:
    response = session.cmd(command)
    assert response.ok, response.tagged
    (line,) = [line for line in response.untagged if line.startswith(b"* THREAD")]
    return line.rstrip(b"\r\n")


def test_thread_transcript(mailbox, session):
    """RFC 5256 §4: ``* THREAD`` lists, sequence numbers or UIDs; the search
    criteria narrow the set; the capability is advertised."""
    assert b"THREAD=REFERENCES" in session.cmd("CAPABILITY").untagged[0]
    assert session.cmd("SELECT INBOX").ok
    assert _thread(session, "THREAD REFERENCES UTF-8 ALL") == b"* THREAD (1 (2 3)(4))(5 6)((7)(8))"
    assert _thread(session, "THREAD ORDEREDSUBJECT US-ASCII ALL") == b"* THREAD (1 (2)(3)(4))(5 6)(7 8)"
    assert _thread(session, 'THREAD REFERENCES UTF-8 SUBJECT "sortie"') == b"* THREAD (5 6)"
    assert _thread(session, 'THREAD REFERENCES UTF-8 SUBJECT "nulle part"') == b"* THREAD"
    assert session.cmd("STORE 1 +FLAGS (\\Deleted)").ok and session.cmd("EXPUNGE").ok
    # Without 1, 2 and 4 hang from the dummy "a" at the root (step 3 keeps it: two children).
    assert _thread(session, "THREAD REFERENCES UTF-8 ALL") == b"* THREAD ((1 2)(3))(4 5)((6)(7))"
    assert _thread(session, "UID THREAD REFERENCES UTF-8 ALL") == b"* THREAD ((2 3)(4))(5 6)((7)(8))"


def test_thread_bad_input(mailbox, session):
    assert session.cmd("SELECT INBOX").ok
    assert session.cmd("THREAD JWZ UTF-8 ALL").status == "BAD"
    assert session.cmd("THREAD REFERENCES").status == "BAD"
    refused = session.cmd("THREAD REFERENCES KOI8-R ALL")
    assert refused.status == "NO" and b"[BADCHARSET" in refused.tagged


@pytest.mark.e2e
def test_imapclient_thread(imap, mailbox):
    with IMAPClient(imap.host, port=imap.tls_port, ssl=True, ssl_context=client_context()) as client:
        client.login(mailbox.identifier, PASSWORD)
        assert client.has_capability("THREAD=REFERENCES")
        client.select_folder("INBOX")
        assert client.thread("REFERENCES") == ((1, (2, 3), (4,)), (5, 6), ((7,), (8,)))
        assert client.thread("ORDEREDSUBJECT", ["SUBJECT", "jury"]) == ((7, 8),)


def test_thread_reads_a_chain_too_long_for_the_row(user, session):
    """A References chain longer than ``sortkeys.MAX_THREAD_REFS`` ids is not
    kept in the message's index entry: THREAD reads it from the content, and
    §2.2 step (1)(B) still links it whole (the absent ids before "a" become
    dummies that step (3) prunes, leaving 2 under 1)."""
    absent = " ".join(f"<absent{i}@x.fr>" for i in range(sortkeys.MAX_THREAD_REFS + 50))
    deliver_to(user, _raw("Plan", "a@x.fr", "", 1))
    deliver_to(user, _raw("Autre chose", "b@x.fr", f"{absent} <a@x.fr>", 2))
    assert session.cmd("SELECT INBOX").ok
    assert _thread(session, "THREAD REFERENCES UTF-8 ALL") == b"* THREAD (1 2)"


def test_copied_messages_keep_their_thread_keys(mailbox, session):
    """COPY gives the copies the keys delivery gave (``store.messages.do_copy``):
    the same threads in the other mailbox."""
    assert session.cmd('CREATE "Projets"').ok
    assert session.cmd("SELECT INBOX").ok
    assert session.cmd('COPY 1:* "Projets"').ok
    assert session.cmd('SELECT "Projets"').ok
    assert _thread(session, "THREAD REFERENCES UTF-8 ALL") == b"* THREAD (1 (2 3)(4))(5 6)((7)(8))"


def test_a_kept_answer_follows_every_change(mailbox, session, make_account):
    """The THREAD answer is kept per mailbox state (``imap.threadcache``, as
    Dovecot's thread index): asked again, the same text comes from the cache;
    after a flag change, an EXPUNGE, a new message or another session's
    numbering, the answer is computed again and is the new one."""
    assert session.cmd("SELECT INBOX").ok
    first = _thread(session, "UID THREAD REFERENCES UTF-8 UNDELETED")
    assert first == b"* THREAD (1 (2 3)(4))(5 6)((7)(8))"
    assert len(threadcache.ANSWERS) == 1
    assert _thread(session, "UID THREAD REFERENCES UTF-8 UNDELETED") == first
    assert len(threadcache.ANSWERS) == 1  # the same entry answered
    assert _thread(session, "THREAD REFERENCES UTF-8 UNDELETED") == first  # sequence numbers: 1-8 are UIDs 1-8
    assert len(threadcache.ANSWERS) == 2
    # A flag change moves HIGHESTMODSEQ: UNDELETED no longer finds 1.
    assert session.cmd("UID STORE 1 +FLAGS.SILENT (\\Deleted)").ok
    assert _thread(session, "UID THREAD REFERENCES UTF-8 UNDELETED") == b"* THREAD ((2 3)(4))(5 6)((7)(8))"
    assert len(threadcache.ANSWERS) == 1  # the entries of the older state are gone
    assert session.cmd("UID STORE 1 -FLAGS.SILENT (\\Deleted)").ok
    assert _thread(session, "UID THREAD REFERENCES UTF-8 UNDELETED") == first
    # EXPUNGE, then sequence numbers shift.
    assert session.cmd("UID STORE 5 +FLAGS.SILENT (\\Deleted)").ok and session.cmd("EXPUNGE").ok
    assert _thread(session, "THREAD REFERENCES UTF-8 ALL") == b"* THREAD (1 (2 3)(4))(5)((6)(7))"
    # A new message delivered while selected: seen after the NOOP that announces it.
    deliver_to(mailbox, _raw("Re: Sortie", "i@x.fr", "<f@x.fr>", 9))
    assert session.cmd("NOOP").ok
    assert _thread(session, "UID THREAD REFERENCES UTF-8 ALL") == b"* THREAD (1 (2 3)(4))(6 9)((7)(8))"
    assert _thread(session, "THREAD ORDEREDSUBJECT UTF-8 ALL") == b"* THREAD (1 (2)(3)(4))(5 8)(6 7)"


def test_a_flag_change_keeps_the_answer_of_a_criterion_without_flags(mailbox, session, monkeypatch):
    """A criterion that reads no flag (ALL, as webmails send it) is kept
    across flag changes: reading a message (\\Seen) does not throw the thread
    list away. The one reading flags (UNDELETED) is computed again; an
    EXPUNGE or a new message changes both."""
    from academail.store import imap as store_imap

    assert session.cmd("SELECT INBOX").ok
    everything = _thread(session, "UID THREAD REFERENCES UTF-8 ALL")
    undeleted = _thread(session, "UID THREAD REFERENCES UTF-8 UNDELETED")
    assert len(threadcache.ANSWERS) == 2
    assert session.cmd("UID STORE 1:3 +FLAGS.SILENT (\\Seen)").ok
    computed = store_imap.thread_rows
    with monkeypatch.context() as patched:
        def refused(*args, **kwargs):
            raise AssertionError("computed again")
        patched.setattr(store_imap, "thread_rows", refused)
        assert _thread(session, "UID THREAD REFERENCES UTF-8 ALL") == everything  # the kept answer
    assert len(threadcache.ANSWERS) == 1  # UNDELETED's, of the older MODSEQ, is gone
    assert store_imap.thread_rows is computed
    assert _thread(session, "UID THREAD REFERENCES UTF-8 UNDELETED") == undeleted
    assert session.cmd("UID STORE 8 +FLAGS.SILENT (\\Deleted)").ok
    assert _thread(session, "UID THREAD REFERENCES UTF-8 ALL") == everything
    assert _thread(session, "UID THREAD REFERENCES UTF-8 UNDELETED") == b"* THREAD (1 (2 3)(4))(5 6)(7)"
    assert session.cmd("EXPUNGE").ok
    assert _thread(session, "UID THREAD REFERENCES UTF-8 ALL") == b"* THREAD (1 (2 3)(4))(5 6)(7)"
    deliver_to(mailbox, _raw("Re: Jury", "i@x.fr", "<g@x.fr>", 9))
    assert session.cmd("NOOP").ok
    assert _thread(session, "UID THREAD REFERENCES UTF-8 ALL") == b"* THREAD (1 (2 3)(4))(5 6)(7 9)"


def test_kept_answers_are_bounded():
    """At most ``entries`` answers and ``chars`` characters, least recently
    used first out; an answer over a quarter of the budget is not kept; a
    mailbox's answers of an older state go at its next look-up."""
    answers = threadcache.ThreadAnswers(entries=3, chars=40)
    state = (7, 1, 1, 0)
    for box in (1, 2, 3):
        answers.put(box, state, "q", "(1)", flags=True)
    assert answers.get(1, state, "q", flags=True) == "(1)"  # 1 is now the most recent
    answers.put(4, state, "q", "(2)", flags=True)
    assert len(answers) == 3 and answers.get(2, state, "q", flags=True) is None  # 2 was the oldest
    answers.put(5, state, "q", "(1 2 3 4 5 6 7)", flags=True)  # 15 characters: over 40 / 4
    assert answers.get(5, state, "q", flags=True) is None
    for box in (6, 7, 8, 9):
        answers.put(box, state, "q", "(1 2 3 4)", flags=True)
    assert len(answers) == 3  # 27 characters, and 3 entries
    assert answers.get(9, (7, 2, 1, 0), "q", flags=True) is None and len(answers) == 2  # 9 moved on: its answer went
    # Without flags, only UIDVALIDITY, UIDNEXT and the count outdate an answer.
    answers.put(9, (7, 2, 1, 0), "all", "(1)", flags=False)
    assert answers.get(9, (7, 5, 1, 0), "all", flags=False) == "(1)"
    assert answers.get(9, (7, 5, 2, 0), "all", flags=False) is None and len(answers) == 2


# What breaks threading, delivered for real: (subject, Message-ID, References,
# In-Reply-To, day of December). Delivered in this order (UIDs 1, 2...).
TRICKY = [
    ("Conseil de classe", "cc1", "", "", 3),
    ("Re: Conseil de classe", "cc2", "<cc1@x.fr>", "", 4),
    ("Re: Conseil de classe", "cc3", "<absent1@x.fr> <cc2@x.fr>", "", 5),  # an absent id first
    ("Fwd: Conseil de classe", "cc4", "", "", 6),  # a forward without references: merged by subject
    ("Sortie", "s1", "<s2@x.fr>", "", 7),  # a loop: s1 answers s2, s2 answers s1
    ("Re: Sortie", "s2", "<s1@x.fr>", "", 8),
    ("Jury", "dup", "", "", 9),
    ("Re: Jury", "dup", "<dup@x.fr>", "", 10),  # a duplicate Message-ID, referencing itself
    ("Voyage", "v1", "<gone1@x.fr> <gone2@x.fr>", "", 11),  # dummy parents
    ("Re: Voyage", "v2", "<gone1@x.fr> <gone2@x.fr>", "", 12),
    ("Re: Voyage", "v3", "<gone1@x.fr>", "", 2),  # sent before the others
    ("TR : Réunion", "r1", "", "", 13),
    ("Réunion", "r2", "", "", 14),
    ("[Fwd: Réunion]", "r3", "", "", 15),
    ("Re: Réunion", "r4", "", "<r2@x.fr> <autre@x.fr>", 16),  # In-Reply-To only: its first id
    ("Moi", "self", "<self@x.fr>", "", 17),  # its own parent
    ("", "vide1", "", "", 18),  # empty subjects are never merged
    ("", "vide2", "", "", 19),
    ("Sans identifiant", None, "<cc1@x.fr>", "", 20),
]


def _tricky_raw(subject: str, message_id: str | None, references: str, in_reply_to: str, day: int) -> bytes:
    lines = ["From: direction@college-exemple.fr", "To: julie.martin@ac-demo.fr", f"Subject: {subject}"]
    lines += [f"Message-ID: <{message_id}@x.fr>"] if message_id else []
    lines += [f"References: {references}"] if references else []
    lines += [f"In-Reply-To: {in_reply_to}"] if in_reply_to else []
    lines += [f"Date: {day:d} Dec 2026 10:00:00 +0100", "", "Texte.", ""]
    return "\r\n".join(lines).encode()


def _reference_text(algorithm: str, messages: dict[int, tuple]) -> str:
    """The reference implementation's thread list (UIDs) of the messages,
    from their header fields as delivery stores them (ids as "<id>")."""
    by_date = sorted(messages, key=lambda uid: (messages[uid][4], uid))
    rows = [
        Row(uid, by_date.index(uid), sortkeys.base_subject(subject), subject, f"<{mid}@x.fr>" if mid else "",
            in_reply_to, references)
        for uid, (subject, mid, references, in_reply_to, _day) in sorted(messages.items())
    ]
    return reference.render(reference.thread(algorithm, rows), int)


def test_kept_rows_give_the_reference_threads_through_every_change(user, session, monkeypatch):
    """THREAD REFERENCES over the wire, from the kept rows of the mailbox
    (``store.threadindex``, brought up to date with the new messages and the
    expunged UIDs), is byte for byte the reference implementation's answer
    (tests/imap/thread_reference.py) on messages with absent parents, loops
    in References, a duplicate Message-ID, Re:/Fwd:/TR: subjects merged,
    dummy parents and dates out of UID order; and so after each change: an
    EXPUNGE, new messages, one dated before the others (the rows read again)."""
    from academail.store import imap as store_imap
    from academail.store import threadindex

    monkeypatch.setattr(threadindex.ROWS, "smallest", 0)
    since = []
    original = store_imap._thread_rows_since
    monkeypatch.setattr(store_imap, "_thread_rows_since", lambda *args: since.append(1) or original(*args))
    messages = {}
    for uid, fields in enumerate(TRICKY, 1):
        deliver_to(user, _tricky_raw(*fields))
        messages[uid] = fields
    assert session.cmd("SELECT INBOX").ok

    def check() -> None:
        for algorithm in ("REFERENCES", "ORDEREDSUBJECT"):
            expected = _reference_text(algorithm, messages)
            assert _thread(session, f"UID THREAD {algorithm} UTF-8 ALL") == f"* THREAD {expected}".encode()
        # The same rows read in full by the criterion give the same answer.
        threadcache.ANSWERS.clear()
        with monkeypatch.context() as patched:
            patched.setattr(threadindex.ROWS, "smallest", 10**9)
            expected = _reference_text("REFERENCES", messages)
            assert _thread(session, "UID THREAD REFERENCES UTF-8 ALL") == f"* THREAD {expected}".encode()

    check()
    assert len(threadindex.ROWS) == 1 and not since
    # EXPUNGE a parent (cc1), one of the duplicates (the first "dup") and a loop member.
    for uid in (1, 7, 5):
        assert session.cmd(f"UID STORE {uid} +FLAGS.SILENT (\\Deleted)").ok
        del messages[uid]
    assert session.cmd("EXPUNGE").ok
    check()
    assert since
    # New messages dated after every other one: appended to the kept rows.
    more = [
        ("Re: Conseil de classe", "cc5", "<cc1@x.fr> <cc2@x.fr>", "", 21),
        ("Re: Sortie", "s3", "<s1@x.fr> <s2@x.fr>", "", 22),
        ("Fwd: Voyage", "v4", "", "", 23),
        ("Jury", "dup", "", "", 24),
    ]
    known = dict(messages)
    for fields in more:
        deliver_to(user, _tricky_raw(*fields))
        messages[max(messages) + 1] = fields
    # Not announced yet: not in this session's answer (RFC 3501 §7.4.1).
    expected = _reference_text("REFERENCES", known)
    since.clear()
    assert _thread(session, "UID THREAD REFERENCES UTF-8 ALL") == f"* THREAD {expected}".encode()
    assert since  # the kept rows were brought up to date, and not given to this session
    assert session.cmd("NOOP").ok
    check()
    # A message sent before the last kept one: the rows are read again, in order.
    deliver_to(user, _tricky_raw("Re: Réunion", "r5", "<r1@x.fr>", "", 1))
    messages[max(messages) + 1] = ("Re: Réunion", "r5", "<r1@x.fr>", "", 1)
    assert session.cmd("NOOP").ok
    check()


def test_the_rows_file_gives_the_reference_threads_after_a_restart(user, session, monkeypatch, settings, tmp_path):
    """The first THREAD after a restart (this process's memory emptied, as a
    new server process over the same data has it) starts from the rows
    file (``store.threadindex.save``/``load``) and answers byte for byte as
    the reference implementation, whatever the file: present and current,
    stale (mail delivered and expunged since it was written, by this server
    before its restart or by another process), truncated, altered, of
    another version, or of another UIDVALIDITY (a mailbox re-created, whose
    file would otherwise give the old messages' threads)."""
    from academail.store import imap as store_imap
    from academail.store import threadindex

    settings.VAR_DIR = tmp_path
    monkeypatch.setattr(threadindex.ROWS, "smallest", 0)
    monkeypatch.setattr(threadindex.ROWS, "every", 0)  # written after every change
    calls = {"since": 0, "full": 0}
    since, last_sent = store_imap._thread_rows_since, store_imap._last_sent
    monkeypatch.setattr(store_imap, "_thread_rows_since", lambda *a: calls.__setitem__("since", calls["since"] + 1) or since(*a))
    monkeypatch.setattr(store_imap, "_last_sent", lambda *a: calls.__setitem__("full", calls["full"] + 1) or last_sent(*a))
    messages = {}
    for uid, fields in enumerate(TRICKY, 1):
        deliver_to(user, _tricky_raw(*fields))
        messages[uid] = fields
    assert session.cmd("SELECT INBOX").ok

    def restart_and_check(read: str) -> None:
        threadindex.ROWS.clear()
        threadcache.ANSWERS.clear()
        calls.update(since=0, full=0)
        expected = _reference_text("REFERENCES", messages)
        assert _thread(session, "UID THREAD REFERENCES UTF-8 ALL") == f"* THREAD {expected}".encode()
        # "file": taken as is; "delta": taken and brought up to date; "full": ignored.
        assert (calls["since"] > 0, calls["full"] > 0) == {"file": (False, False), "delta": (True, False), "full": (False, True)}[read]

    restart_and_check("full")  # no file yet: read in full, then written
    (path,) = (tmp_path / "cache" / "thread").iterdir()
    assert path == threadindex.path_of(int(path.name))
    restart_and_check("file")
    old = path.read_bytes()

    # Stale: mail expunged and delivered after the file was written.
    for uid in (1, 7):
        assert session.cmd(f"UID STORE {uid} +FLAGS.SILENT (\\Deleted)").ok
        del messages[uid]
    assert session.cmd("EXPUNGE").ok
    for fields in [("Re: Sortie", "s3", "<s1@x.fr> <s2@x.fr>", "", 22), ("Jury", "dup", "", "", 24)]:
        deliver_to(user, _tricky_raw(*fields))
        messages[max(messages) + 1] = fields
    assert session.cmd("NOOP").ok
    path.write_bytes(old)
    restart_and_check("delta")
    # Written again once brought up to date.
    assert path.read_bytes() != old
    current = path.read_bytes()
    restart_and_check("file")

    # Truncated, altered, empty, another version: ignored, the rows read in full.
    middle = len(current) // 2
    altered = current[:middle] + bytes([current[middle] ^ 1]) + current[middle + 1 :]
    for broken in (current[:middle], current[:-1], b"", current[:-5] + bytes(5), altered, current + b"\0"):
        path.write_bytes(broken)
        restart_and_check("full")
    good = threadindex.load(int(path.name), ThreadRows)
    assert good is not None
    with monkeypatch.context() as patched:
        patched.setattr(threadindex, "VERSION", threadindex.VERSION + 1)
        threadindex.save(int(path.name), good)
    restart_and_check("full")

    # Another UIDVALIDITY, the rest of the state the mailbox's: the old rows
    # (before the expunge) would answer wrongly if it were not compared.
    path.write_bytes(old)
    stale = threadindex.load(int(path.name), ThreadRows)
    state = store_imap.mailbox_state(int(path.name))
    threadindex.save(int(path.name), stale._replace(state=(state[0] - 1, *state[1:])))
    assert threadindex.load(int(path.name), ThreadRows).state[1:] == state[1:]
    restart_and_check("full")
