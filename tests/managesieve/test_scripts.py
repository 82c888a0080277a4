"""The script commands (RFC 5804 §2.5-2.12): PUTSCRIPT, LISTSCRIPTS,
SETACTIVE, GETSCRIPT, DELETESCRIPT, RENAMESCRIPT, CHECKSCRIPT, HAVESPACE,
NOOP; their response codes, limits, journal, and one account never reaching
another's scripts."""

from __future__ import annotations

import pytest

from academail.accounts.models import JournalEntry
from academail.filters import scripts
from academail.filters.models import SieveScript
from academail.managesieve import responses as R
from tests.managesieve.conftest import PASSWORD, literal

SORT = 'require ["fileinto"];\r\nif header :contains "subject" "réunion" {\r\n  fileinto "Réunions";\r\n}\r\n'
OTHER = 'if size :over 1M {\r\n  discard;\r\n}\r\n'


def put(client, name: str, script: str):
    return client.cmd(b"PUTSCRIPT " + R.quote(name) + b" " + literal(script))


def listing(client) -> list[bytes]:
    reply = client.cmd("LISTSCRIPTS")
    assert reply.ok
    return [line.rstrip(b"\r\n") for line in reply.lines]


def test_put_list_get_round_trip(session, user):
    assert put(session, "tri", SORT).ok
    assert listing(session) == [b'"tri"']
    reply = session.cmd('GETSCRIPT "tri"')
    assert reply.ok
    body = SORT.encode()
    assert reply.lines == [b"{%d}\r\n" % len(body) + body + b"\r\n"]
    row = SieveScript.objects.get(account=user, name="tri")
    assert not row.active and "\r" not in row.content
    entry = JournalEntry.objects.filter(account=user, kind="filter_changed").latest("id")
    assert entry.protocol == "sieve" and "tri" in entry.detail


def test_putscript_replaces_and_invalid_script_is_refused_with_its_line(session, user):
    assert put(session, "tri", SORT).ok
    broken = 'require ["fileinto"];\r\nif header :contains "subject" "x" {\r\n  fileinto "A"\r\n}\r\n'
    reply = put(session, "tri", broken)
    assert reply.status == "NO" and "Ligne" in reply.text
    assert SieveScript.objects.get(account=user, name="tri").content == SORT.replace("\r\n", "\n")
    unsupported = put(session, "autre", 'require ["enotify"];\r\nkeep;\r\n')
    assert unsupported.status == "NO" and "enotify" in unsupported.text
    assert put(session, "tri", OTHER).ok
    assert session.cmd('GETSCRIPT "tri"').lines[0].endswith(OTHER.encode() + b"\r\n")


def test_checkscript(session, user):
    assert session.cmd(b"CHECKSCRIPT " + literal(SORT)).ok
    reply = session.cmd(b"CHECKSCRIPT " + literal("if true { fileinto; }"))
    assert reply.status == "NO" and "Ligne 1" in reply.text
    assert not SieveScript.objects.filter(account=user).exists()  # checks store nothing


def test_setactive_switches_and_empty_name_deactivates(session, user):
    assert put(session, "a", SORT).ok and put(session, "b", OTHER).ok
    assert session.cmd('SETACTIVE "a"').ok
    assert listing(session) == [b'"a" ACTIVE', b'"b"']
    assert session.cmd('SETACTIVE "b"').ok
    assert listing(session) == [b'"a"', b'"b" ACTIVE']
    assert SieveScript.objects.filter(account=user, active=True).count() == 1
    missing = session.cmd('SETACTIVE "inconnu"')
    assert missing.status == "NO" and missing.code == R.CODE_NONEXISTENT
    assert session.cmd('SETACTIVE ""').ok
    assert listing(session) == [b'"a"', b'"b"']
    details = list(JournalEntry.objects.filter(account=user, kind="filter_changed").values_list("detail", flat=True))
    assert any("activé" in d for d in details) and any("désactivés" in d for d in details)


def test_deletescript_refuses_the_active_one(session, user):
    assert put(session, "a", SORT).ok and put(session, "b", OTHER).ok
    assert session.cmd('SETACTIVE "a"').ok
    refused = session.cmd('DELETESCRIPT "a"')
    assert refused.status == "NO" and refused.code == R.CODE_ACTIVE
    assert session.cmd('DELETESCRIPT "b"').ok
    missing = session.cmd('DELETESCRIPT "b"')
    assert missing.code == R.CODE_NONEXISTENT
    assert session.cmd('GETSCRIPT "b"').code == R.CODE_NONEXISTENT
    assert listing(session) == [b'"a" ACTIVE']


def test_renamescript(session, user):
    assert put(session, "a", SORT).ok and put(session, "b", OTHER).ok
    assert session.cmd('SETACTIVE "a"').ok
    assert session.cmd('RENAMESCRIPT "a" "réunions"').ok
    assert listing(session) == [b'"b"', '"réunions" ACTIVE'.encode()]  # still active
    taken = session.cmd('RENAMESCRIPT "b" "réunions"')
    assert taken.code == R.CODE_ALREADYEXISTS
    assert session.cmd('RENAMESCRIPT "absent" "c"').code == R.CODE_NONEXISTENT
    assert session.cmd('RENAMESCRIPT "b" ""').status == "NO"


def test_script_names_with_control_characters_are_refused(session):
    assert put(session, "", SORT).status == "NO"
    assert session.cmd(b"PUTSCRIPT " + literal("a\x07b") + b" " + literal(SORT)).status == "NO"
    assert session.cmd(b"PUTSCRIPT " + literal("a\u2028b") + b" " + literal(SORT)).status == "NO"


def test_havespace_and_limits(session, user, monkeypatch):
    assert session.cmd('HAVESPACE "tri" 1000').ok
    too_big = session.cmd(f'HAVESPACE "tri" {scripts.MAX_SCRIPT_BYTES + 1}')
    assert too_big.status == "NO" and too_big.code == R.CODE_QUOTA_MAXSIZE
    assert "64,0\xa0Ko au plus" in too_big.text and "Kio" not in too_big.text  # the platform's one size format
    monkeypatch.setattr(scripts, "MAX_SCRIPTS", 2)
    assert put(session, "a", SORT).ok and put(session, "b", OTHER).ok
    assert session.cmd('HAVESPACE "a" 100').ok  # replacing one does not add one
    full = session.cmd('HAVESPACE "c" 100')
    assert full.code == R.CODE_QUOTA_MAXSCRIPTS
    refused = put(session, "c", OTHER)
    assert refused.code == R.CODE_QUOTA_MAXSCRIPTS and "supprimez" in refused.text
    assert put(session, "a", OTHER).ok


def test_putscript_over_the_size_limit(session, user):
    big = "# " + "x" * scripts.MAX_SCRIPT_BYTES + "\r\nkeep;\r\n"
    reply = put(session, "gros", big)
    assert reply.status == "NO" and reply.code == R.CODE_QUOTA_MAXSIZE
    assert session.cmd("NOOP").ok  # the literal was read and dropped, the session goes on
    assert not SieveScript.objects.filter(account=user).exists()


def test_noop_echoes_its_tag(session):
    reply = session.cmd('NOOP "etiquette-42"')
    assert reply.ok and reply.code == 'TAG "etiquette-42"'


@pytest.mark.parametrize("command", ['GETSCRIPT "a"', 'DELETESCRIPT "a"', 'SETACTIVE "a"'])
def test_another_accounts_scripts_are_out_of_reach(connect, user, make_account, command):
    other = make_account("Paul", "Durand")
    other.set_password(PASSWORD)
    other.save()
    SieveScript.objects.create(account=other, name="a", content="keep;\n", active=False)
    client = connect()
    client.starttls()
    assert client.login(user).ok
    reply = client.cmd(command)
    assert reply.status == "NO" and reply.code == R.CODE_NONEXISTENT
    assert listing(client) == []
    assert SieveScript.objects.get(account=other, name="a").active is False
