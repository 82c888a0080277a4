"""MIME edge cases of issue 18 §3, as an IMAP client sees them: a UTF-8
byte-order mark before the header, 10,000 header fields before Content-Type,
and BODYSTRUCTURE parameters as they appear in the header (RFC 3501 §7.4.2)."""

from __future__ import annotations

import re

from imapclient import IMAPClient

from academail.mime.parse import parse_message
from tests.imap.conftest import PASSWORD, client_context
from tests.imap.helpers import deliver_to

BOM = (
    b"\xef\xbb\xbfFrom: Direction <direction@college-exemple.fr>\r\n"
    b"To: julie.martin@ac-demo.fr\r\nSubject: Avec BOM\r\n"
    b"Date: Thu, 26 Nov 2026 10:00:00 +0100\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
    b"Le corps seul.\r\n"
)


def many_fields(count: int) -> bytes:
    filler = b"".join(b"X-Filler-%d: %d\r\n" % (i, i) for i in range(count))
    return (
        b"From: direction@college-exemple.fr\r\nTo: julie.martin@ac-demo.fr\r\nSubject: Dix mille\r\n"
        + filler
        + b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
        b"Content-Transfer-Encoding: quoted-printable\r\n\r\nCaf=C3=A9 du matin=\r\n, d=C3=A9cod=C3=A9.\r\n"
    )


RAW_PARAMS = (
    b"From: direction@college-exemple.fr\r\nTo: julie.martin@ac-demo.fr\r\nSubject: Pieces\r\n"
    b'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n'
    b"--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nVoir les pieces.\r\n"
    b'--b\r\nContent-Type: application/pdf; name="=?utf-8?q?compte_rendu_=C3=A9t=C3=A9.pdf?="\r\n'
    b"Content-Disposition: attachment;\r\n filename*0*=utf-8''compte%20rendu;\r\n filename*1*=%0D%0Aetape.pdf\r\n"
    b"Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--b--\r\n"
)


def test_a_byte_order_mark_loses_no_header_field(session, user):
    deliver_to(user, BOM)
    assert session.cmd("SELECT INBOX").ok
    response = session.cmd("FETCH 1 (ENVELOPE BODY.PEEK[TEXT])")
    text = response.text()
    assert '"Avec BOM"' in text and '"direction" "college-exemple.fr"' in text
    assert text.rstrip().endswith("{16}\r\nLe corps seul.\r\n)")


def test_content_type_after_ten_thousand_fields_is_honoured(session, user):
    parsed = parse_message(many_fields(10_000))
    assert parsed.root.encoding == "quoted-printable" and parsed.root.charset == "utf-8"
    assert parsed.preview == "Café du matin, décodé."
    deliver_to(user, many_fields(10_000))
    assert session.cmd("SELECT INBOX").ok
    structure = session.cmd("FETCH 1 BODYSTRUCTURE").text()
    assert '("TEXT" "PLAIN" ("charset" "utf-8") NIL NIL "QUOTED-PRINTABLE"' in structure
    assert [int(n) for n in re.findall(r"\d+", session.cmd("SEARCH BODY cafe").untagged[0].decode())] == [1]


def test_bodystructure_parameters_are_sent_as_written(session, user):
    deliver_to(user, RAW_PARAMS)
    assert session.cmd("SELECT INBOX").ok
    response = session.cmd("FETCH 1 BODYSTRUCTURE")
    line = b"".join(response.untagged)
    assert b'("name" "=?utf-8?q?compte_rendu_=C3=A9t=C3=A9.pdf?=")' in line
    assert b"(\"attachment\" (\"filename*0*\" \"utf-8''compte%20rendu\" \"filename*1*\" \"%0D%0Aetape.pdf\"))" in line
    # The structure itself never carries a CR or LF inside a value.
    assert line.count(b"\r\n") == 1
    # Our own pages get the decoded name, controls removed.
    assert parse_message(RAW_PARAMS).attachments[0].filename == "compte renduetape.pdf"


def test_imapclient_reads_the_raw_parameters(imap, user):
    deliver_to(user, RAW_PARAMS)
    with IMAPClient(imap.host, port=imap.tls_port, ssl=True, ssl_context=client_context()) as client:
        client.login(user.identifier, PASSWORD)
        client.select_folder("INBOX")
        structure = client.fetch([1], ["BODYSTRUCTURE"])[1][b"BODYSTRUCTURE"]
        pdf = structure[0][1]
        assert pdf[2] == (b"name", b"=?utf-8?q?compte_rendu_=C3=A9t=C3=A9.pdf?=")

