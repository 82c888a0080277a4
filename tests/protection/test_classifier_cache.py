"""The classifier's token counts are cached per process (``classifier.read_counts``),
and learning still takes effect for the very next message: a person reports a
message ("Signaler comme indésirable", or an IMAP move into Indésirables from
Thunderbird or a phone), and the next mail with the same words, from another
sender (so that only the classifier can judge it), goes to Indésirables
through the real MX. Moving it back out teaches the opposite for the next one.
The MX read (and cached) those words' counts before the learning: only the
scope's generation, written with the counts in the learning's transaction and
read from the database at each delivery, tells it they changed. Each test
runs with the MX reading the counts in its own process
(``ACADEMAIL_DELIVERY_WORKERS=0``) and in its delivery worker process, over
the worker's read-only connection, with the worker's cache. Run on SQLite
and, with ``DATABASE_URL`` naming a PostgreSQL database, on PostgreSQL."""

from __future__ import annotations

import asyncio
import smtplib
from collections.abc import Iterator

import pytest
from imapclient import IMAPClient

from academail.delivery.dns import FakeResolver
from academail.protection import classifier
from academail.protection.models import ACADEMIE_SCOPE, TrainingTotals
from academail.store.messages import do_set_flags
from academail.store.models import Message
from academail.store.webmail import do_message_action
from tests.conftest import build_message
from tests.imap.conftest import PASSWORD, client_context, imap, user  # noqa: F401
from tests.protection.test_spam_at_delivery import HAMMY, SPAMMY
from tests.smtp.conftest import RunningMX, run_mx

pytestmark = pytest.mark.e2e

# Words the training never saw: the classifier has no opinion on them until
# the person reports the message.
LURE_SUBJECT = "Abonnement zeppelin quokka"
LURE_BODY = ("Votre abonnement zeppelin quokka arrive à échéance : renouvelez la formule tournesol "
             "pélican avant minuit, remise marmotte exceptionnelle sur le catalogue hippocampe.")


@pytest.fixture(params=[0, 1], ids=["in-process", "worker"])
def mx(transactional_db, request) -> Iterator[RunningMX]:
    """The MX with no delivery worker process, then with one."""
    with run_mx(FakeResolver(), processes=request.param) as running:
        yield running


def cached_generation(mx: RunningMX, scope: int) -> int | None:
    """The generation whose counts of ``scope`` the process that reads them
    holds: the MX's delivery worker, or the MX's own process without one."""
    workers = mx.batcher.workers
    if not workers.count:
        return classifier.cached_generation(scope)
    return asyncio.run(workers.run(classifier.cached_generation, scope))


def send(mx, account, sender: str, subject: str, body: str) -> Message:  # noqa: F811
    with smtplib.SMTP(mx.host, mx.port) as client:
        client.ehlo("mta.example")
        client.sendmail(sender, [account.address], build_message(subject=subject, body=body, sender=sender))
    return Message.objects.filter(mailbox__account=account).select_related("mailbox").latest("pk")


def train(mx, account) -> None:  # noqa: F811
    """Enough learning for the classifier to give opinions (5 of each kind)."""
    for index, (subject, body) in enumerate(SPAMMY[:5]):
        message = send(mx, account, f"s{index}@pub{index}.example", subject, body)
        do_message_action(account.pk, message.mailbox_id, [message.uid], "junk")
    for index, (subject, body) in enumerate(HAMMY[:5]):
        message = send(mx, account, f"h{index}@parents{index}.example", subject, body)
        do_set_flags(account.pk, message.mailbox_id, [(message.uid, message.uid)], mode="add", keywords=["$NotJunk"])
    assert classifier.Counts(*TrainingTotals.objects.values_list("spam", "ham").get(scope=account.pk), {}).trained


def lure(mx, account, number: int) -> Message:  # noqa: F811
    return send(mx, account, f"offres{number}@envoi{number}.example", LURE_SUBJECT, LURE_BODY)


def test_signaler_takes_effect_for_the_next_message_through_the_mx(mx, make_account):  # noqa: F811
    account = make_account()
    train(mx, account)
    first = lure(mx, account, 1)
    assert first.mailbox.special_use == "inbox"
    assert b"BAYES_9" not in bytes(first.prefix)
    # The MX process holds the lure's words' counts from before the report.
    generation = TrainingTotals.objects.get(scope=ACADEMIE_SCOPE).generation
    assert cached_generation(mx, ACADEMIE_SCOPE) == generation
    if mx.batcher.workers.count:  # the worker read them, not the serving process
        assert classifier.cached_generation(ACADEMIE_SCOPE) != generation
    # "Signaler comme indésirable" (the webmail's button: a move to Indésirables).
    do_message_action(account.pk, first.mailbox_id, [first.uid], "junk")
    assert TrainingTotals.objects.get(scope=ACADEMIE_SCOPE).generation != generation
    second = lure(mx, account, 2)
    assert second.mailbox.special_use == "junk"
    assert b"BAYES_9" in bytes(second.prefix)
    assert b"REPORTED_SENDER" not in bytes(second.prefix)


def test_imap_moves_into_and_out_of_junk_take_effect_for_the_next_message(mx, imap, user):  # noqa: F811
    train(mx, user)
    first = lure(mx, user, 1)
    assert first.mailbox.special_use == "inbox"
    assert cached_generation(mx, user.pk) == TrainingTotals.objects.get(scope=user.pk).generation
    with IMAPClient(imap.host, port=imap.tls_port, ssl=True, ssl_context=client_context()) as client:
        client.login(user.identifier, PASSWORD)
        client.select_folder("INBOX")
        client.move([first.uid], "Indésirables")  # Thunderbird's "Indésirable" button
    second = lure(mx, user, 2)
    assert second.mailbox.special_use == "junk"
    assert b"BAYES_9" in bytes(second.prefix)
    with IMAPClient(imap.host, port=imap.tls_port, ssl=True, ssl_context=client_context()) as client:
        client.login(user.identifier, PASSWORD)
        client.select_folder("Indésirables")
        lures = client.search(["SUBJECT", "zeppelin"])
        assert len(lures) == 2
        client.move(lures, "INBOX")  # "Ce n'est pas un indésirable" from a phone
    third = lure(mx, user, 3)
    assert third.mailbox.special_use == "inbox"
    assert b"BAYES_9" not in bytes(third.prefix)
