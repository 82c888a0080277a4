"""Subscriptions are a list of names of their own (RFC 3501 §6.3.6): DELETE keeps
them (§6.3.4), LSUB and LIST (SUBSCRIBED) still show a deleted name (RFC 5258
§3.4 \\NonExistent), UNSUBSCRIBE removes it, RENAME carries them along."""

from __future__ import annotations

from imapclient import IMAPClient

from tests.imap.conftest import PASSWORD, client_context


def test_delete_keeps_the_subscription(session):
    assert session.cmd("CREATE Projets/2026").ok  # CREATE subscribes (docs/design.md)
    assert session.cmd("DELETE Projets/2026").ok
    assert b'* LSUB () "/" "Projets/2026"\r\n' in session.cmd('LSUB "" "*"').untagged
    listed = session.cmd('LIST (SUBSCRIBED) "" "Projets/*"').untagged
    assert listed == [b'* LIST (\\NonExistent \\Subscribed) "/" "Projets/2026"\r\n']
    assert not session.cmd('LIST "" "Projets/*"').untagged  # the mailbox itself is gone
    # Re-created, it is subscribed again without a SUBSCRIBE.
    assert session.cmd("CREATE Projets/2026").ok
    listed = session.cmd('LIST "" "Projets/*" RETURN (SUBSCRIBED)').untagged
    assert listed == [b'* LIST (\\HasNoChildren \\Subscribed) "/" "Projets/2026"\r\n']


def test_unsubscribe_a_deleted_name_and_an_unknown_one(session):
    assert session.cmd("CREATE Ancien").ok
    assert session.cmd("DELETE Ancien").ok
    # RFC 3501 §6.3.7: the name left behind can be removed.
    assert session.cmd("UNSUBSCRIBE Ancien").ok
    assert b"Ancien" not in b"".join(session.cmd('LSUB "" "*"').untagged)
    assert session.cmd("UNSUBSCRIBE Jamais").ok  # nothing to remove: still OK
    # SUBSCRIBE checks that the mailbox exists (§6.3.6 allows it).
    assert session.cmd("SUBSCRIBE Jamais").status == "NO"


def test_rename_carries_the_subscriptions(session):
    assert session.cmd("CREATE Classes/3eB").ok
    assert session.cmd("RENAME Classes Niveaux").ok
    lsub = b"".join(session.cmd('LSUB "" "*"').untagged)
    assert b'"Niveaux"' in lsub and b'"Niveaux/3eB"' in lsub and b"Classes" not in lsub


def test_imapclient_sees_a_deleted_subscribed_folder(imap, user):
    with IMAPClient(imap.host, port=imap.tls_port, ssl=True, ssl_context=client_context()) as client:
        client.login(user.identifier, PASSWORD)
        client.create_folder("Sorties")
        client.delete_folder("Sorties")
        assert "Sorties" in [name for _, _, name in client.list_sub_folders()]
        assert "Sorties" not in [name for _, _, name in client.list_folders()]
        client.unsubscribe_folder("Sorties")
        assert "Sorties" not in [name for _, _, name in client.list_sub_folders()]
