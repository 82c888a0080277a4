"""SEARCH string keys as RFC 3501 §6.4.4 and RFC 9051 §6.4.4 define them:
substrings, case-insensitive, over decoded fields (RFC 2047 words, charsets);
BODY on the body only, TEXT on every header field and the body, HEADER on one
field (the empty string: the field is present), every address and group name.
Cases follow the conformance groups of issue 18 §1; over real sockets."""

from __future__ import annotations

import pytest
from imapclient import IMAPClient

from academail.delivery.route import deliver
from tests.imap.conftest import PASSWORD, client_context
from tests.imap.helpers import deliver_to

# Small mailboxes and large ones take two paths to the same answer (store.search.probes).
pytestmark = pytest.mark.usefixtures("both_search_paths")


def raw(headers: str, body: str, charset: str = "utf-8") -> bytes:
    head = headers.strip().replace("\n", "\r\n")
    return (head + "\r\nDate: Thu, 26 Nov 2026 10:00:00 +0100\r\nMIME-Version: 1.0\r\n\r\n").encode() + body.encode(charset)


CONSEIL = raw(
    """From: Direction <direction@college-exemple.fr>
To: julie.martin@ac-demo.fr, "Paul Durand" <paul.durand@ac-demo.fr>
Subject: =?utf-8?q?R=C3=A9union_du_conseil?=
X-Priority: 1 (Highest)
Content-Type: text/plain; charset=utf-8""",
    "Le conseil de classe\r\naura lieu jeudi. Un chef-d'œuvre.\r\n",
)
CANTINE = raw(
    """From: =?iso-8859-1?q?J=E9r=F4me_Intendant?= <intendance@college-exemple.fr>
To: Parents 3eB: parent1@example.org, parent2@example.org;
Cc: vie.scolaire@college-exemple.fr, infirmerie@college-exemple.fr
Subject: Cantine
Content-Type: text/plain; charset=iso-8859-1
Content-Transfer-Encoding: quoted-printable""",
    "Menus de l'=E9t=E9.\r\n",
    charset="ascii",
)
BROUILLON = raw(
    """From: julie.martin@ac-demo.fr
To: direction@college-exemple.fr
Bcc: secret.copie@ac-demo.fr
Subject:
Content-Type: text/plain; charset=utf-8""",
    "Brouillon sans objet.\r\n",
)


def numbers(response):
    (line,) = [u for u in response.untagged if u.startswith(b"* SEARCH")]
    return [int(n) for n in line.split()[2:] if n.isdigit()]


def fill(session, user):
    for message in (CONSEIL, CANTINE, BROUILLON):
        deliver_to(user, message)
    assert session.cmd("SELECT INBOX").ok


def test_body_is_a_substring_of_the_body_only(session, user):
    # RFC 3501 §6.4.4 BODY: "contains the specified string in the body of the message".
    fill(session, user)
    assert numbers(session.cmd("UID SEARCH BODY onseil")) == [1]  # inside a word
    assert numbers(session.cmd('UID SEARCH BODY "CLASSE AURA LI"')) == [1]  # across a line break
    assert numbers(session.cmd("UID SEARCH BODY cantine")) == []  # the Subject is not the body
    assert numbers(session.cmd("UID SEARCH BODY union")) == []
    # Decoded: quoted-printable ISO-8859-1 "été", found with or without accents.
    assert numbers(session.cmd(b"UID SEARCH CHARSET UTF-8 BODY {5+}\r\n\xc3\xa9t\xc3\xa9")) == [2]
    assert numbers(session.cmd("UID SEARCH BODY ete.")) == [2]
    # Shorter than any word the index would look up: the scan decides.
    assert numbers(session.cmd("UID SEARCH BODY eu")) == [1]
    # "œ" folds to "oe" in the index and in the substring check alike.
    assert numbers(session.cmd('UID SEARCH BODY "d\'oeuv"')) == [1]
    assert numbers(session.cmd("UID SEARCH NOT BODY onseil")) == [2, 3]


def test_text_covers_every_header_field_and_the_body(session, user):
    # RFC 3501 §6.4.4 TEXT: "in the header or body of the message".
    fill(session, user)
    assert numbers(session.cmd("UID SEARCH TEXT highest")) == [1]  # X-Priority's comment
    assert numbers(session.cmd("UID SEARCH TEXT parent2@")) == [2]
    assert numbers(session.cmd("UID SEARCH TEXT brouillon")) == [3]  # body
    assert numbers(session.cmd("UID SEARCH TEXT union")) == [1]  # decoded Subject


def test_text_and_header_see_the_fields_added_at_delivery(session, user):
    # The Received field our MX adds is part of the message a client reads.
    (outcome,) = deliver(CONSEIL, [user.address], prefix=b"Received: from mx.lycee-voisin.fr\r\n\tby academail; Thu, 26 Nov 2026\r\n")
    assert outcome.delivered
    deliver_to(user, CANTINE)
    assert session.cmd("SELECT INBOX").ok
    assert numbers(session.cmd("UID SEARCH TEXT lycee-voisin")) == [1]
    assert numbers(session.cmd('UID SEARCH HEADER Received "by academail"')) == [1]
    assert numbers(session.cmd('UID SEARCH HEADER Received ""')) == [1]
    assert numbers(session.cmd('UID SEARCH HEADER Subject "lycee"')) == []


def test_header_looks_in_the_named_field_and_empty_means_present(session, user):
    # RFC 3501 §6.4.4 HEADER; RFC 9051 §6.4.4: an empty string matches every
    # message that has the field, whatever its content.
    fill(session, user)
    assert numbers(session.cmd('UID SEARCH HEADER X-Priority ""')) == [1]
    assert numbers(session.cmd('UID SEARCH HEADER x-priority "HIGH"')) == [1]
    assert numbers(session.cmd('UID SEARCH HEADER X-Priority "cantine"')) == []
    assert numbers(session.cmd('UID SEARCH HEADER Subject ""')) == [1, 2, 3]  # 3 has an empty Subject
    assert numbers(session.cmd('UID SEARCH HEADER Bcc ""')) == [3]
    assert numbers(session.cmd('UID SEARCH HEADER Content-Transfer-Encoding "quoted"')) == [2]
    assert numbers(session.cmd('UID SEARCH HEADER X-Absent ""')) == []
    # The field name must be the whole name, not the end of a longer one.
    assert numbers(session.cmd('UID SEARCH HEADER Priority ""')) == []
    # Regular-expression characters in the string are literal.
    assert numbers(session.cmd('UID SEARCH HEADER X-Priority "(highest)"')) == [1]
    assert numbers(session.cmd('UID SEARCH HEADER X-Priority ".*"')) == []


def test_header_on_message_ids(session, user):
    """HEADER Message-ID, In-Reply-To and References (RFC 3501 §6.4.4): the
    whole "<id>" finds its message (an index lookup), case folded; a
    substring finds every message whose field holds it; a field with more
    than the id is still searched by substring."""
    deliver_to(user, raw("From: a@x.fr\nSubject: Plan\nMessage-ID: <Plan.1@College.fr>", "A\r\n"))
    deliver_to(user, raw(
        "From: b@x.fr\nSubject: Re: Plan\nMessage-ID: <plan.2@college.fr>\n"
        "In-Reply-To: <Plan.1@College.fr>\nReferences: <plan.0@ailleurs.fr> <Plan.1@College.fr>", "B\r\n",
    ))
    deliver_to(user, raw("From: c@x.fr\nSubject: Vieux\nMessage-ID: <vieux.3@college.fr> (ancien logiciel)", "C\r\n"))
    deliver_to(user, raw("From: d@x.fr\nSubject: Sans identifiant", "D\r\n"))
    assert session.cmd("SELECT INBOX").ok
    assert numbers(session.cmd('UID SEARCH HEADER Message-ID "<plan.1@college.fr>"')) == [1]
    assert numbers(session.cmd('UID SEARCH HEADER Message-ID "<PLAN.2@college.fr>"')) == [2]
    assert numbers(session.cmd('UID SEARCH HEADER Message-ID "<vieux.3@college.fr>"')) == [3]
    assert numbers(session.cmd('UID SEARCH HEADER Message-ID "<vieux.3@college.fr"')) == [3]
    assert numbers(session.cmd('UID SEARCH HEADER Message-ID "@college.fr"')) == [1, 2, 3]
    assert numbers(session.cmd('UID SEARCH HEADER Message-ID "ancien"')) == [3]
    assert numbers(session.cmd('UID SEARCH HEADER Message-ID "<plan.0@ailleurs.fr>"')) == []
    assert numbers(session.cmd('UID SEARCH HEADER Message-ID ""')) == [1, 2, 3]
    assert numbers(session.cmd('UID SEARCH HEADER In-Reply-To "<plan.1@college.fr>"')) == [2]
    assert numbers(session.cmd('UID SEARCH HEADER References "<plan.0@ailleurs.fr>"')) == [2]
    assert numbers(session.cmd('UID SEARCH HEADER References "fr> <plan"')) == [2]
    assert numbers(session.cmd('UID SEARCH NOT HEADER References "plan"')) == [1, 3, 4]


def test_address_keys_see_every_address_names_and_groups(session, user):
    # RFC 3501 §6.4.4 FROM/TO/CC/BCC: the string anywhere in the field.
    fill(session, user)
    assert numbers(session.cmd("UID SEARCH TO paul.durand")) == [1]  # second address
    assert numbers(session.cmd('UID SEARCH TO "paul durand"')) == [1]  # display name
    assert numbers(session.cmd('UID SEARCH TO "parents 3eb"')) == [2]  # group name
    assert numbers(session.cmd("UID SEARCH TO parent2")) == [2]  # inside the group
    assert numbers(session.cmd("UID SEARCH CC infirmerie")) == [2]
    assert numbers(session.cmd("UID SEARCH BCC secret.copie")) == [3]
    assert numbers(session.cmd("UID SEARCH BCC direction")) == []
    assert numbers(session.cmd(b"UID SEARCH CHARSET UTF-8 FROM {7+}\r\nj\xc3\xa9r\xc3\xb4m")) == [2]  # RFC 2047
    assert numbers(session.cmd("UID SEARCH FROM jerome")) == [2]
    assert numbers(session.cmd("UID SEARCH FROM ac-demo")) == [3]


def test_imapclient_search_criteria(imap, user):
    for message in (CONSEIL, CANTINE, BROUILLON):
        deliver_to(user, message)
    with IMAPClient(imap.host, port=imap.tls_port, ssl=True, ssl_context=client_context()) as client:
        client.login(user.identifier, PASSWORD)
        client.select_folder("INBOX")
        assert client.search(["BODY", "onseil"]) == [1]
        assert client.search(["TEXT", "Highest"]) == [1]
        assert client.search(["HEADER", "X-Priority", ""]) == [1]
        assert client.search(["OR", "TO", "parent1", "BCC", "secret"]) == [2, 3]
        assert client.search(["SUBJECT", "Réunion"], charset="UTF-8") == [1]
