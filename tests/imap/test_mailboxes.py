"""LIST (LIST-EXTENDED, LIST-STATUS, SPECIAL-USE), LSUB, CREATE, RENAME, DELETE,
SUBSCRIBE, STATUS, GETQUOTAROOT; names in modified UTF-7 or UTF-8."""

from __future__ import annotations

from tests.imap.helpers import deliver_to


def test_list_special_folders_in_modified_utf7(session):
    lines = session.cmd('LIST "" "*"').untagged
    assert b'* LIST (\\HasNoChildren \\Sent) "/" "Envoy&AOk-s"\r\n' in lines
    assert b'* LIST (\\HasNoChildren \\Junk) "/" "Ind&AOk-sirables"\r\n' in lines
    for attribute in (b"\\Drafts", b"\\Trash", b"\\Archive"):
        assert any(attribute in line for line in lines)
    assert lines[0] == b'* LIST (\\HasNoChildren) "/" "INBOX"\r\n'
    assert session.cmd('LIST "" ""').untagged == [b'* LIST (\\Noselect) "/" ""\r\n']


def test_utf8_accept_uses_utf8_names(session):
    session.cmd("ENABLE UTF8=ACCEPT")
    lines = session.cmd('LIST "" "Env*"').untagged
    assert lines == ['* LIST (\\HasNoChildren \\Sent) "/" "Envoyés"\r\n'.encode()]


def test_create_rename_delete_with_hierarchy(session):
    assert session.cmd('CREATE "&AMk-l&AOg-ves/3eB"').ok  # Élèves/3eB
    assert session.cmd('CREATE "&AMk-l&AOg-ves/3eB"').status == "NO"
    lines = session.cmd('LIST "" "&AMk-l&AOg-ves%"').untagged
    assert lines == [b'* LIST (\\HasChildren) "/" "&AMk-l&AOg-ves"\r\n']
    assert len(session.cmd('LIST "" "&AMk-l&AOg-ves/%"').untagged) == 1
    assert session.cmd('RENAME "&AMk-l&AOg-ves" "Classes"').ok
    assert session.cmd('LIST "" "Classes/*"').untagged == [b'* LIST (\\HasNoChildren) "/" "Classes/3eB"\r\n']
    assert session.cmd('RENAME "Envoy&AOk-s" "Autre"').status == "NO"
    assert session.cmd('DELETE "Corbeille"').status == "NO"
    assert session.cmd("DELETE Classes").ok
    assert session.cmd('LIST "" "Classes*"').untagged == []
    assert b"[NONEXISTENT]" in session.cmd("DELETE Classes").tagged


def test_bad_mailbox_names(session):
    assert session.cmd('CREATE "a/../b"').status == "NO"
    assert session.cmd('CREATE "a%b"').status in ("NO", "BAD")
    assert session.cmd('CREATE "&AOk"').status == "BAD"  # unterminated shift
    assert session.cmd('CREATE "&AGE-"').status == "BAD"  # shifted ASCII "a"
    assert session.cmd(b'CREATE {3+}\r\na\x00b').status == "BAD"
    assert session.cmd('SELECT "Nulle part"').status == "NO"


def test_subscribe_lsub_and_list_extended(session):
    assert session.cmd("CREATE Projets").ok
    assert session.cmd("UNSUBSCRIBE Projets").ok
    lsub = session.text() if False else session.cmd('LSUB "" "*"').text()
    assert "Projets" not in lsub and "INBOX" in lsub
    subscribed = session.cmd('LIST (SUBSCRIBED) "" "*"').text()
    assert "Projets" not in subscribed and "\\Subscribed" in subscribed
    special = session.cmd('LIST (SPECIAL-USE) "" "*"').untagged
    assert len(special) == 5 and not any(b"INBOX" in line for line in special)
    assert session.cmd("SUBSCRIBE Projets").ok
    assert "Projets" in session.cmd('LSUB "" "*"').text()


def test_list_status_and_status(session, user):
    deliver_to(user)
    deliver_to(user)
    response = session.cmd('LIST "" "INBOX" RETURN (STATUS (MESSAGES UNSEEN SIZE))')
    assert response.untagged[0].startswith(b"* LIST (")
    status = response.find(rb"\* STATUS \"INBOX\" \(MESSAGES 2 UNSEEN 2 SIZE (\d+)\)")
    assert status and int(status[0].group(1)) > 0
    plain = session.cmd("STATUS INBOX (MESSAGES UIDNEXT UIDVALIDITY UNSEEN HIGHESTMODSEQ)")
    assert plain.find(rb"MESSAGES 2 UIDNEXT 3 UIDVALIDITY \d+ UNSEEN 2 HIGHESTMODSEQ \d+")
    assert session.cmd("STATUS INBOX (BOGUS)").status == "BAD"


def test_quota_in_kib(session, user):
    deliver_to(user)
    response = session.cmd("GETQUOTAROOT INBOX")
    assert response.untagged[0] == b'* QUOTAROOT "INBOX" ""\r\n'
    used, limit = response.find(rb'QUOTA "" \(STORAGE (\d+) (\d+)\)')[0].groups()
    assert int(used) >= 1 and int(limit) == user.quota_bytes // 1024
    assert session.cmd('GETQUOTA ""').ok
