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

