"""Core behaviour RFC 3501/9051 requires (issue 18 §1), as transcripts citing
the section each behaviour comes from."""

from __future__ import annotations

from academail.imap.parsing import commands as C
from academail.imap.parsing import parse_command


def test_tilde_is_an_atom_char_unless_it_starts_a_literal8(session):
    """RFC 3501 §9: "~" is an ATOM-CHAR; only "~{" starts a literal8 (RFC 3516 §4.2)."""
    command = parse_command(b"a SELECT ~notes")
    assert isinstance(command, C.Select) and command.mailbox == "~notes"
    assert session.cmd("CREATE ~notes").ok
    assert session.cmd('LIST "" ~*').untagged == [b'* LIST (\\HasNoChildren) "/" "~notes"\r\n']
    assert session.cmd("SELECT ~notes").ok
    assert session.cmd(b"SELECT ~{6+}\r\n~notes").ok


def test_response_text_is_seven_bit_until_utf8_accept(connect, user):
    """RFC 3501 §9: resp-text is TEXT-CHAR, 7-bit; RFC 6855 §3: UTF-8 only after
    ENABLE UTF8=ACCEPT. French texts are transliterated, « » become plain quotes."""
    client = connect()
    assert client.greeting.isascii() and b"serveur IMAP academail pret" in client.greeting
    refused = client.cmd(f'LOGIN {user.identifier} "faux"')
    assert refused.status == "NO" and refused.tagged.isascii() and b"identifiant" in refused.tagged
    client.login(user)
    bye = client.cmd("LOGOUT")
    assert bye.untagged == [b"* BYE Logging out / deconnexion\r\n"]

    client = connect()
    client.login(user)
    assert client.cmd("ENABLE UTF8=ACCEPT").ok
    assert client.cmd("LOGOUT").untagged == ["* BYE Logging out / déconnexion\r\n".encode()]


def test_seven_bit_transliteration():
    from academail.imap.responses import seven_bit

    assert seven_bit("Dossier « Projets » supprimé, réessayez dans l’heure") == (
        'Dossier "Projets" supprime, reessayez dans l\'heure'
    )
    assert seven_bit("plain") == "plain"


def test_uidvalidity_is_not_reused_on_quick_delete_and_recreate(session):
    """RFC 3501 §2.3.1.1: a mailbox deleted and re-created under the same name,
    even within the same second, gets a different (greater) UIDVALIDITY."""
    seen = []
    for _ in range(3):
        assert session.cmd("CREATE Brouillon-rapide").ok
        status = session.cmd("STATUS Brouillon-rapide (UIDVALIDITY)")
        (match,) = status.find(rb"UIDVALIDITY (\d+)")
        seen.append(int(match.group(1)))
        assert session.cmd("DELETE Brouillon-rapide").ok
    assert seen == sorted(set(seen)) and len(seen) == 3


def test_keywords_in_select_flags_and_untagged_flags_update(connect, user):
    """RFC 3501 §7.2.6 and §6.3.1: FLAGS lists the flags in use, keywords included;
    a new keyword is announced with an untagged FLAGS before the FETCH showing it."""
    from tests.imap.helpers import deliver_to

    deliver_to(user, subject="un")
    deliver_to(user, subject="deux")
    first = connect()
    first.login(user)
    assert b"* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n" in first.cmd("SELECT INBOX").untagged
    stored = first.cmd("STORE 1 +FLAGS ($Important)")
    assert stored.untagged[0] == b"* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Important)\r\n"
    assert stored.untagged[1].startswith(b"* 1 FETCH (FLAGS ($Important")
    again = first.cmd("STORE 2 +FLAGS ($Important)")
    assert not any(line.startswith(b"* FLAGS") for line in again.untagged)

    second = connect()
    second.login(user)
    selected = second.cmd("SELECT INBOX")
    assert b"* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Important)\r\n" in selected.untagged
    first.cmd("STORE 2 +FLAGS (Projet)")
    noop = second.cmd("NOOP")
    assert noop.untagged[0] == b"* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Important Projet)\r\n"
    assert noop.untagged[1].startswith(b"* 2 FETCH (")


def test_first_condstore_fetch_reports_highestmodseq_and_esearch_min_modseq(session, user):
    """RFC 7162 §3.1: the first CONDSTORE-enabling command with a mailbox selected
    sends OK [HIGHESTMODSEQ]; RFC 4731 §3.2: RETURN (MIN) gives MIN's own MODSEQ."""
    from tests.imap.helpers import deliver_to

    for _ in range(3):
        deliver_to(user)
    selected = session.cmd("SELECT INBOX")
    (highest,) = selected.find(rb"HIGHESTMODSEQ (\d+)")
    session.cmd("STORE 3 +FLAGS (\\Flagged)")
    first = session.cmd("FETCH 1 (MODSEQ)")
    (code,) = first.find(rb"^\* OK \[HIGHESTMODSEQ (\d+)\]")
    assert int(code.group(1)) >= int(highest.group(1))
    assert session.cmd("FETCH 1 (MODSEQ)").find(rb"HIGHESTMODSEQ") == []

    modseqs = {
        int(m.group(1)): int(m.group(2)) for m in session.cmd("FETCH 1:3 (MODSEQ)").find(rb"\* (\d+) FETCH \(MODSEQ \((\d+)\)")
    }
    assert modseqs[3] > modseqs[1]
    line = session.cmd("SEARCH RETURN (MIN) MODSEQ 1").untagged[0]
    assert line.endswith(f"MIN 1 MODSEQ {modseqs[1]}\r\n".encode()), line
    line = session.cmd("SEARCH RETURN (MIN COUNT) MODSEQ 1").untagged[0]
    assert line.endswith(f"COUNT 3 MODSEQ {max(modseqs.values())}\r\n".encode()), line


def test_lsub_noselect_parent_childinfo_and_bad_selection(session):
    """RFC 3501 §6.3.9: LSUB "%" returns an unsubscribed parent of a subscribed
    mailbox as \\Noselect; RFC 5258 §3.5: RECURSIVEMATCH gives CHILDINFO;
    RFC 5258 §3.1: RECURSIVEMATCH alone (or with REMOTE only) is a BAD."""
    assert session.cmd("CREATE Classes/3eB").ok
    assert session.cmd("UNSUBSCRIBE Classes").ok
    lsub = session.cmd('LSUB "" "%"').untagged
    assert b'* LSUB (\\Noselect) "/" "Classes"\r\n' in lsub
    assert not any(b"3eB" in line for line in lsub)
    assert b'* LSUB () "/" "Classes/3eB"\r\n' in session.cmd('LSUB "" "Classes/*"').untagged
    listed = session.cmd('LIST (SUBSCRIBED RECURSIVEMATCH) "" "%"').untagged
    assert b'* LIST (\\HasChildren) "/" "Classes" ("CHILDINFO" ("SUBSCRIBED"))\r\n' in listed
    assert session.cmd('LIST (RECURSIVEMATCH) "" "%"').status == "BAD"
    assert session.cmd('LIST (REMOTE RECURSIVEMATCH) "" "%"').status == "BAD"


def test_enable_condstore_while_selected_reports_highestmodseq(session):
    """RFC 7162 §3.1: ENABLE CONDSTORE is CONDSTORE-enabling; with a mailbox selected
    it reports HIGHESTMODSEQ, once."""
    assert session.cmd("SELECT INBOX").ok
    enabled = session.cmd("ENABLE CONDSTORE").untagged
    assert enabled[0] == b"* ENABLED CONDSTORE\r\n" and enabled[1].startswith(b"* OK [HIGHESTMODSEQ ")
    assert session.cmd("FETCH 1:* (MODSEQ)").find(rb"HIGHESTMODSEQ") == []


def test_silent_store_still_announces_a_new_keyword(session, user):
    """RFC 3501 §7.2.6: FLAGS is sent for a new keyword even with STORE .SILENT."""
    from tests.imap.helpers import deliver_to

    deliver_to(user)
    assert session.cmd("SELECT INBOX").ok
    silent = session.cmd("STORE 1 +FLAGS.SILENT (Relu-par-chef)").untagged
    assert silent == [b"* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft Relu-par-chef)\r\n"]
    assert session.cmd("STORE 1 +FLAGS.SILENT (Relu-par-chef)").untagged == []
