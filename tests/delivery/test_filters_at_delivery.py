"""Filters applied by the one door: folders and flags, discard, redirects within
the académie's rules, out-of-office replies, and a broken script keeping mail."""

from __future__ import annotations

import pytest

from academail.accounts.models import JournalEntry
from academail.delivery.route import deliver
from academail.filters.models import SieveScript
from academail.filters.services import check_and_save_script
from academail.store.models import Flag, Mailbox, Message
from tests.conftest import build_message

pytestmark = pytest.mark.django_db


def box(account, name: str) -> Mailbox:
    if name == "INBOX":
        return Mailbox.objects.get(account=account, special_use="inbox")
    return Mailbox.objects.get(account=account, name=name)


def messages(account, name: str = "INBOX") -> list[Message]:
    return list(Message.objects.filter(mailbox=box(account, name)).order_by("uid"))


def test_fileinto_with_flags_and_accent_insensitive_match(make_account):
    account = make_account()
    check_and_save_script(account.pk, 'require ["fileinto", "imap4flags", "comparator-i;unicode-casemap"];\n'
                          'if header :comparator "i;unicode-casemap" :contains "subject" "reunion" {\n'
                          '  fileinto :flags "\\\\Flagged" "Réunions"; stop;\n}\n')
    deliver(build_message(subject="RÉUNION des professeurs principaux"), [account.address])
    deliver(build_message(subject="Sortie scolaire"), [account.address])
    filed = messages(account, "Réunions")
    assert len(filed) == 1 and filed[0].flags & Flag.FLAGGED
    assert len(messages(account)) == 1


def test_discard_counts_as_delivered_and_stores_nothing(make_account):
    account = make_account()
    check_and_save_script(account.pk, 'if address :is "from" "pub@annonces.example" { discard; }\n')
    (outcome,) = deliver(build_message(sender="pub@annonces.example"), [account.address])
    assert outcome.delivered and outcome.uid is None
    assert Message.objects.filter(mailbox__account=account).count() == 0


def test_redirect_inside_the_academie_and_refused_outside(make_account):
    alice, bob = make_account(), make_account("Paul", "Durand")
    check_and_save_script(alice.pk, 'require ["copy"];\nredirect :copy "paul.durand@ac-demo.fr";\n'
                          'redirect :copy "alice.perso@gmail.example";\n')
    deliver(build_message(subject="Conseil pédagogique"), [alice.address])
    assert len(messages(alice)) == 1
    assert [m.content.subject for m in messages(bob)] == ["Conseil pédagogique"]
    refused = JournalEntry.objects.get(account=alice, kind="filter_error")
    assert "gmail.example" in refused.detail


def test_vacation_replies_once_per_sender(make_account):
    absent, colleague = make_account(), make_account("Paul", "Durand")
    check_and_save_script(absent.pk, 'require ["vacation"];\n'
                          'vacation :days 7 :subject "Absente" "Je suis absente jusqu\'au 4 janvier.";\n')
    for _ in range(2):
        deliver(build_message(sender=colleague.address, to=absent.address), [absent.address],
                envelope_from=colleague.address)
    replies = messages(colleague)
    assert len(replies) == 1
    assert replies[0].content.subject == "Absente"
    from academail.store.messages import read_raw

    assert b"Auto-Submitted: auto-replied" in read_raw(replies[0])
    assert len(messages(absent)) == 2


def test_broken_script_keeps_mail_and_journals(make_account):
    account = make_account()
    check_and_save_script(account.pk, 'if header :contains "subject" "x" { keep; }\n')
    SieveScript.objects.filter(account=account).update(content="if header :contains { fileinto ; ")
    (outcome,) = deliver(build_message(), [account.address])
    assert outcome.delivered and len(messages(account)) == 1
    assert JournalEntry.objects.filter(account=account, kind="filter_error").exists()


def test_vacation_mime_reason_is_sent_as_written(make_account):
    absent, colleague = make_account(), make_account("Paul", "Durand")
    check_and_save_script(absent.pk, 'require ["vacation"];\n'
                          'vacation :mime :subject "Absente" text:\n'
                          'Content-Type: multipart/alternative; boundary=frontiere\n'
                          '\n'
                          '--frontiere\n'
                          'Content-Type: text/plain; charset=utf-8\n'
                          '\n'
                          'Je suis absente.\n'
                          '--frontiere\n'
                          'Content-Type: text/html; charset=utf-8\n'
                          '\n'
                          '<p>Je suis <b>absente</b>.</p>\n'
                          '--frontiere--\n'
                          '.\n;\n')
    deliver(build_message(sender=colleague.address, to=absent.address), [absent.address],
            envelope_from=colleague.address)
    (reply,) = messages(colleague)
    from email import message_from_bytes
    from email.policy import default

    from academail.store.messages import read_raw

    sent = message_from_bytes(read_raw(reply), policy=default)
    assert sent.get_content_type() == "multipart/alternative"
    assert sent["Auto-Submitted"] == "auto-replied" and sent["Subject"] == "Absente"
    assert sent["From"] == absent.address and sent["MIME-Version"] == "1.0"
    assert sent.get_body(("html",)).get_content().strip() == "<p>Je suis <b>absente</b>.</p>"


def test_header_tests_read_only_the_header_section(make_account, monkeypatch):
    from academail.store.blobs import BlobStore

    account = make_account()
    check_and_save_script(account.pk, 'require ["fileinto"];\n'
                          'if header :contains "list-id" "parents" { fileinto "Parents"; }\n')
    reads = []
    original_get = BlobStore.get

    def counting_get(self, sha256):
        reads.append(sha256)
        return original_get(self, sha256)

    monkeypatch.setattr(BlobStore, "get", counting_get)
    raw = build_message(subject="Liste").replace(b"Subject:", b"List-Id: <parents.college>\r\nSubject:", 1)
    deliver(raw, [account.address])
    assert len(messages(account, "Parents")) == 1
    assert reads == []  # the whole message was never read back from its blob
