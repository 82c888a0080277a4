"""NOTIFY (RFC 5465) as transcripts over real TLS, two sessions of one
account: ``watcher`` sets NOTIFY and is told, without sending a command, of
what a delivery or the other session (``actor``) does; per section of the RFC."""

from __future__ import annotations

import imaplib

import pytest

from academail.imap import notify
from tests.imap.conftest import PASSWORD, client_context
from tests.imap.helpers import deliver_to


@pytest.fixture
def watcher(session):
    return session


@pytest.fixture
def actor(connect, user):
    client = connect()
    client.login(user)
    return client


def told(client, count: int = 1) -> list[bytes]:
    """The next ``count`` untagged lines the server sends unasked."""
    return [client.readline() for _ in range(count)]


def set_notify(client, text: str):
    response = client.cmd(f"NOTIFY SET {text}")
    assert response.ok, response.tagged
    return response


def test_capability(watcher):
    assert b"NOTIFY" in watcher.cmd("CAPABILITY").untagged[0].split()


def test_message_events_of_other_mailboxes_as_status(watcher, actor, user):
    """§5.2, §5.3 and §5.1's FlagChange for mailboxes not selected: an
    untagged STATUS, between commands, with what changed."""
    set_notify(watcher, "(PERSONAL (MessageNew MessageExpunge FlagChange))")  # Archives is made with the account
    deliver_to(user)
    assert told(watcher) == [b'* STATUS "INBOX" (MESSAGES 1 UIDNEXT 2 UNSEEN 1)\r\n']
    assert actor.cmd("SELECT INBOX").ok and actor.cmd("STORE 1 +FLAGS (\\Seen)").ok
    assert told(watcher) == [b'* STATUS "INBOX" (MESSAGES 1 UNSEEN 0)\r\n']
    assert actor.cmd("COPY 1 Archives").ok
    assert told(watcher) == [b'* STATUS "Archives" (MESSAGES 1 UIDNEXT 2 UNSEEN 0)\r\n']
    assert actor.cmd("STORE 1 +FLAGS (\\Deleted)").ok
    assert told(watcher) == [b'* STATUS "INBOX" (MESSAGES 1 UNSEEN 0)\r\n']
    assert actor.cmd("EXPUNGE").ok
    assert told(watcher) == [b'* STATUS "INBOX" (MESSAGES 0 UNSEEN 0)\r\n']


def test_filters_choose_mailboxes(watcher, actor, user):
    """§6: MAILBOXES names exactly its mailboxes, SUBTREE a mailbox and its
    children; INBOXES is the INBOX; the first filter naming a mailbox decides."""
    for name in ("Archives/2025", "Projets"):
        assert actor.cmd(f"CREATE {name}").ok
    set_notify(
        watcher,
        "(MAILBOXES Projets NONE) (SUBTREE Archives (MessageNew MessageExpunge)) (INBOXES (MessageNew MessageExpunge))",
    )
    assert actor.cmd("APPEND Projets {5+}\r\nHi\r\n\r\n").ok
    assert actor.cmd("APPEND Archives/2025 {5+}\r\nHi\r\n\r\n").ok
    assert told(watcher) == [b'* STATUS "Archives/2025" (MESSAGES 1 UIDNEXT 2 UNSEEN 1)\r\n']
    deliver_to(user)
    assert told(watcher) == [b'* STATUS "INBOX" (MESSAGES 1 UIDNEXT 2 UNSEEN 1)\r\n']
    assert b"Projets" not in b"".join(watcher.cmd("NOOP").untagged)


def test_selected_gets_exists_fetch_and_expunge_between_commands(watcher, actor, user):
    """§5.1 SELECTED: the selected mailbox's new messages (EXISTS, then the
    FETCH of MessageNew's attributes) and expunges arrive between commands."""
    deliver_to(user)
    assert watcher.cmd("SELECT INBOX").ok
    set_notify(
        watcher, "(SELECTED (MessageNew (UID FLAGS) MessageExpunge FlagChange)) (PERSONAL (MessageNew MessageExpunge))",
    )
    deliver_to(user)
    assert told(watcher, 3) == [b"* 2 EXISTS\r\n", b"* 2 RECENT\r\n", b"* 2 FETCH (UID 2 FLAGS (\\Recent))\r\n"]
    assert actor.cmd("SELECT INBOX").ok and actor.cmd("STORE 1 +FLAGS.SILENT (\\Deleted)").ok
    assert told(watcher) == [b"* 1 FETCH (UID 1 FLAGS (\\Deleted \\Recent))\r\n"]
    assert actor.cmd("EXPUNGE").ok
    assert told(watcher) == [b"* 1 EXPUNGE\r\n"]


def test_selected_delayed_keeps_expunges_for_a_command(watcher, actor, user):
    """§5.1 SELECTED-DELAYED: EXPUNGE waits for a command that allows it;
    without FlagChange, flag changes wait for a command too."""
    deliver_to(user)
    deliver_to(user)
    assert watcher.cmd("SELECT INBOX").ok
    set_notify(watcher, "(SELECTED-DELAYED (MessageNew MessageExpunge))")
    assert actor.cmd("SELECT INBOX").ok and actor.cmd("STORE 1 +FLAGS.SILENT (\\Flagged)").ok
    assert actor.cmd("STORE 2 +FLAGS.SILENT (\\Deleted)").ok and actor.cmd("EXPUNGE").ok
    deliver_to(user)  # told at once, while the expunge and the flag wait
    assert told(watcher, 2) == [b"* 3 EXISTS\r\n", b"* 3 RECENT\r\n"]
    assert watcher.cmd("NOOP").untagged == [b"* 1 FETCH (UID 1 FLAGS (\\Flagged \\Recent))\r\n", b"* 2 EXPUNGE\r\n"]


def test_mailbox_name(watcher, actor):
    """§5.4 MailboxName: LIST for a created mailbox, LIST with OLDNAME for a
    renamed one, LIST (\\NonExistent) for a deleted one."""
    set_notify(watcher, "(PERSONAL (MailboxName))")
    assert actor.cmd("CREATE Projets").ok
    assert told(watcher) == [b'* LIST () "/" "Projets"\r\n']
    assert actor.cmd("RENAME Projets Classes").ok
    assert told(watcher) == [b'* LIST () "/" "Classes" ("OLDNAME" ("Projets"))\r\n']
    assert actor.cmd("DELETE Classes").ok
    assert told(watcher) == [b'* LIST (\\NonExistent) "/" "Classes"\r\n']


def test_subscription_change(watcher, actor):
    """§5.5 SubscriptionChange: LIST (\\Subscribed) when subscribed, LIST ()
    when unsubscribed."""
    assert actor.cmd("CREATE Projets").ok
    set_notify(watcher, "(PERSONAL (SubscriptionChange))")
    assert actor.cmd("UNSUBSCRIBE Projets").ok
    assert told(watcher) == [b'* LIST () "/" "Projets"\r\n']
    assert actor.cmd("SUBSCRIBE Projets").ok
    assert told(watcher) == [b'* LIST (\\Subscribed) "/" "Projets"\r\n']


def test_set_status_and_none(watcher, actor, user):
    """§3.1 NOTIFY SET STATUS: a STATUS now for each mailbox concerned (not
    the selected one); §3.2 NOTIFY NONE: no more notifications."""
    deliver_to(user)
    response = set_notify(watcher, "STATUS (MAILBOXES (INBOX Archives) (MessageNew MessageExpunge))")
    assert sorted(response.untagged) == [
        b'* STATUS "Archives" (MESSAGES 0 UIDNEXT 1 UNSEEN 0)\r\n',
        b'* STATUS "INBOX" (MESSAGES 1 UIDNEXT 2 UNSEEN 1)\r\n',
    ]
    assert watcher.cmd("SELECT INBOX").ok
    response = set_notify(watcher, "STATUS (MAILBOXES (INBOX Archives) (MessageNew MessageExpunge))")
    assert response.untagged == [b'* STATUS "Archives" (MESSAGES 0 UIDNEXT 1 UNSEEN 0)\r\n']
    assert watcher.cmd("NOTIFY NONE").ok
    assert actor.cmd("APPEND Archives {5+}\r\nHi\r\n\r\n").ok
    assert watcher.cmd("NOOP").untagged == []


def test_condstore_adds_highestmodseq(watcher, actor, user):
    """RFC 5465 §5.2 with CONDSTORE (RFC 7162 §3.1.11): STATUS carries HIGHESTMODSEQ."""
    assert watcher.cmd("ENABLE CONDSTORE").ok
    set_notify(watcher, "(INBOXES (MessageNew MessageExpunge FlagChange))")
    deliver_to(user)
    (line,) = told(watcher)
    assert line.startswith(b'* STATUS "INBOX" (MESSAGES 1 UIDNEXT 2 UNSEEN 1 HIGHESTMODSEQ ')


def test_overflow(watcher, actor, user, monkeypatch):
    """§5.8: past what the session holds, ``OK [NOTIFICATIONOVERFLOW]`` and
    no more notifications, as after NOTIFY NONE."""
    set_notify(watcher, "(PERSONAL (MessageNew MessageExpunge))")
    monkeypatch.setattr(notify, "MAX_PENDING", 0)
    deliver_to(user)
    (line,) = told(watcher)
    assert line.startswith(b"* OK [NOTIFICATIONOVERFLOW]")
    deliver_to(user)
    assert watcher.cmd("NOOP").untagged == []


def test_in_idle(watcher, actor, user):
    """Notifications about other mailboxes reach a session in IDLE too."""
    assert watcher.cmd("SELECT INBOX").ok
    set_notify(watcher, "(PERSONAL (MessageNew MessageExpunge))")
    watcher.send(b"i IDLE\r\n")
    assert watcher.readline().startswith(b"+ ")
    assert actor.cmd("APPEND Archives {5+}\r\nHi\r\n\r\n").ok
    assert told(watcher) == [b'* STATUS "Archives" (MESSAGES 1 UIDNEXT 2 UNSEEN 1)\r\n']
    watcher.send(b"DONE\r\n")
    assert watcher.read_until("i").ok


@pytest.mark.parametrize(
    ("command", "status"),
    [
        ("NOTIFY SET (PERSONAL (MessageNew MessageExpunge AnnotationChange))", "NO"),  # §5: BADEVENT
        ("NOTIFY SET (PERSONAL (MailboxMetadataChange))", "NO"),
        ("NOTIFY SET (PERSONAL (MessageNew))", "BAD"),  # §5: with MessageExpunge
        ("NOTIFY SET (PERSONAL (FlagChange))", "BAD"),
        ("NOTIFY SET (PERSONAL (MessageNew (UID) MessageExpunge))", "BAD"),  # §5.1: SELECTED only
        ("NOTIFY SET (SELECTED NONE) (SELECTED-DELAYED NONE)", "BAD"),
        ("NOTIFY SET (EVERYWHERE (MessageNew MessageExpunge))", "BAD"),
        ("NOTIFY SET (SUBTREE (MessageNew MessageExpunge))", "BAD"),
        ("NOTIFY SET", "BAD"),
        ("NOTIFY MAYBE", "BAD"),
    ],
)
def test_bad_input(watcher, command, status):
    response = watcher.cmd(command)
    assert response.status == status
    if status == "NO":
        assert b"[BADEVENT (MessageNew MessageExpunge FlagChange MailboxName SubscriptionChange)]" in response.tagged
    assert watcher.cmd("NOOP").ok


@pytest.mark.e2e
def test_imaplib_notify(imap, user, actor):
    """A real client, Python's imaplib: NOTIFY SET (added to its command
    table, as for any extension), then the STATUS another session's APPEND
    causes is parsed among its untagged responses."""
    imaplib.Commands.setdefault("NOTIFY", ("AUTH", "SELECTED"))
    with imaplib.IMAP4_SSL(imap.host, imap.tls_port, ssl_context=client_context()) as client:
        client.login(user.identifier, PASSWORD)
        assert b"NOTIFY" in client.capability()[1][0].split()
        assert client._simple_command("NOTIFY", "SET", "(MAILBOXES Archives (MessageNew MessageExpunge))")[0] == "OK"
        assert actor.cmd("APPEND Archives {5+}\r\nHi\r\n\r\n").ok
        client.noop()
        assert client.untagged_responses.pop("STATUS") == [b'"Archives" (MESSAGES 1 UIDNEXT 2 UNSEEN 1)']
