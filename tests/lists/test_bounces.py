"""What counts as a bounce for a list member: a failed DSN (ours, built by
``delivery.dsn``) counts; a delay notice and an out-of-office reply do not."""

from __future__ import annotations

from academail.delivery.dsn import RecipientStatus, build_dsn
from academail.lists.posting import failed_recipients
from tests.conftest import build_message


def test_failed_dsn_names_the_recipient():
    dsn = build_dsn(build_message(), sender="liste-bounces@ac-demo.fr",
                    statuses=[RecipientStatus("Parent@Exemple.org", "550 5.1.1 No such user")])
    assert failed_recipients(dsn) == ["parent@exemple.org"]


def test_delay_notice_and_vacation_reply_count_nothing():
    delayed = build_dsn(build_message(), sender="liste-bounces@ac-demo.fr", delayed=True,
                        statuses=[RecipientStatus("parent@exemple.org", "451 4.3.0 Try again later")])
    assert failed_recipients(delayed) == []
    vacation = build_message(subject="Absent jusqu'au 5 janvier", body="Je suis absent, je lirai votre message à mon retour.\n")
    assert failed_recipients(b"Auto-Submitted: auto-replied\r\n" + vacation) == []
