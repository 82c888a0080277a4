"""Forwarding at the one door: after the filters, only once confirmed, keep a
copy or not, the policy for each message (sensitive mail stays, outside
refused or held), Sieve redirect through the same policy, and loops (between
two accounts, and through an outside address) that keep the message."""

from __future__ import annotations

import pytest

from academail.accounts.models import JournalEntry
from academail.delivery.models import OutboundMessage, QueueEntry
from academail.delivery.route import deliver
from academail.delivery.route import release_held_forward as release_held
from academail.filters.services import check_and_save_script
from academail.forwarding.models import HeldForward
from academail.forwarding.sending import MARKER
from academail.store.messages import read_raw
from academail.store.models import Mailbox, Message
from tests.conftest import build_message

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _policy(policy_settings):
    return policy_settings


def inbox(account) -> list[Message]:
    box = Mailbox.objects.get(account=account, special_use="inbox")
    return list(Message.objects.filter(mailbox=box).order_by("uid"))


def queued() -> list[tuple[str, list[str], bytes]]:
    return [
        (m.mail_from, sorted(m.entries.values_list("recipient", flat=True)), bytes(m.raw))
        for m in OutboundMessage.objects.order_by("pk")
    ]


def errors(account) -> list[str]:
    return list(JournalEntry.objects.filter(account=account, kind="filter_error").values_list("detail", flat=True))


def test_unconfirmed_forward_forwards_nothing(make_account, forward):
    julie = make_account()
    forward(julie, "julie@exemple.org", confirmed=False)
    deliver(build_message(), [julie.address], envelope_from="direction@college-exemple.fr")
    assert len(inbox(julie)) == 1 and queued() == []


def test_allowed_outside_forward_is_queued_with_srs_and_marker_and_a_copy_kept(make_account, forward):
    julie = make_account()
    forward(julie, "julie@exemple.org")
    deliver(build_message(subject="Conseil"), [julie.address], prefix=b"Received: from x by y; now\r\n",
            envelope_from="direction@college-exemple.fr")
    assert len(inbox(julie)) == 1
    ((mail_from, recipients, raw),) = queued()
    assert recipients == ["julie@exemple.org"]
    assert mail_from.startswith("SRS0=") and mail_from.endswith("=college-exemple.fr=direction@ac-demo.fr")
    assert raw.index(f"{MARKER}: julie.martin@ac-demo.fr\r\n".encode()) < raw.index(b"Received: from x by y")
    assert OutboundMessage.objects.get().account_id == julie.pk


def test_without_keep_copy_nothing_stays_and_the_delivery_still_counts(make_account, forward):
    julie = make_account()
    forward(julie, "julie@exemple.org", keep_copy=False)
    (outcome,) = deliver(build_message(), [julie.address], envelope_from="direction@college-exemple.fr")
    assert outcome.delivered and inbox(julie) == []
    assert len(queued()) == 1


def test_forward_applies_after_the_filters(make_account, forward):
    julie = make_account()
    forward(julie, "julie@exemple.org", keep_copy=False)
    check_and_save_script(julie.pk, 'require ["fileinto"];\n'
                          'if header :contains "subject" "pub" { discard; stop; }\n'
                          'if header :contains "subject" "Réunion" { fileinto "Réunions"; }\n')
    deliver(build_message(subject="pub du jour"), [julie.address])
    assert queued() == [], "a discarded message is not forwarded"
    deliver(build_message(subject="Réunion"), [julie.address], envelope_from="a@college-exemple.fr")
    assert len(queued()) == 1
    assert Message.objects.filter(mailbox__account=julie).count() == 0


def test_outside_refused_by_default_keeps_the_message_and_journals(make_account, forward):
    julie = make_account()
    forward(julie, "julie@gmail.example", keep_copy=False)  # allowed then; the rules changed since
    (outcome,) = deliver(build_message(), [julie.address])
    assert outcome.delivered and len(inbox(julie)) == 1 and queued() == []
    (why,) = errors(julie)
    assert "n'est pas autorisé" in why


@pytest.mark.parametrize("marking", [
    {"subject": "[Diffusion restreinte] Sujets du brevet"},
    {"subject": "Tr : [DIFFUSION RESTREÏNTE] sujets"},
])
def test_sensitive_subject_not_forwarded_even_to_an_allowed_domain(make_account, forward, marking):
    julie = make_account()
    forward(julie, "julie@exemple.org", keep_copy=False)
    deliver(build_message(**marking), [julie.address])
    assert queued() == [] and len(inbox(julie)) == 1
    assert "diffusion restreinte" in errors(julie)[0].lower()


def test_sensitive_header_not_forwarded_outside_but_forwarded_inside(make_account, forward):
    julie, paul = make_account(), make_account("Paul", "Durand")
    raw = build_message().replace(b"Subject:", b"Sensitivity: Company-Confidential\r\nSubject:")
    forward(julie, "julie@exemple.org")
    forward(paul, "julie.martin@ac-demo.fr", keep_copy=False)
    deliver(raw, [julie.address, paul.address])
    assert queued() == []
    assert len(inbox(julie)) == 2, "her own copy, and Paul's forward inside the académie"
    assert inbox(paul) == []


def test_hold_setting_holds_for_an_administrator_who_releases(
    make_account, forward, settings, mailoutbox, django_capture_on_commit_callbacks
):
    settings.FORWARD_OUTSIDE = "hold"
    admin = make_account("Ada", "Admin", role="admin")
    julie = make_account()
    forward(julie, "julie@gmail.example", keep_copy=False)
    with django_capture_on_commit_callbacks(execute=True):
        deliver(build_message(subject="Sortie"), [julie.address], envelope_from="direction@college-exemple.fr")
    assert len(inbox(julie)) == 1, "held: the person keeps the message meanwhile"
    held = HeldForward.objects.get()
    assert held.target == "julie@gmail.example" and held.subject == "Sortie"
    assert queued() == []
    assert "administrateur" in errors(julie)[0]
    (notice,) = mailoutbox
    assert notice.to == [admin.address] and "julie@gmail.example" in notice.subject
    assert release_held(held.pk) and not release_held(held.pk)
    ((mail_from, recipients, raw),) = queued()
    assert recipients == ["julie@gmail.example"] and mail_from.startswith("SRS0=")
    assert raw.startswith(f"{MARKER}: julie.martin@ac-demo.fr".encode())  # no DKIM key in this test
    assert HeldForward.objects.count() == 0


def test_sieve_redirect_goes_through_the_policy_and_a_refused_move_keeps_the_message(make_account):
    julie = make_account()
    check_and_save_script(julie.pk, 'redirect "julie.perso@gmail.example";\n')  # no :copy: a move
    (outcome,) = deliver(build_message(), [julie.address])
    assert outcome.delivered and len(inbox(julie)) == 1, "refused: the message stays"
    assert "gmail.example" in errors(julie)[0]
    check_and_save_script(julie.pk, 'redirect "julie@exemple.org";\n')
    deliver(build_message(subject="[DIFFUSION RESTREINTE] notes"), [julie.address])
    assert len(inbox(julie)) == 2 and queued() == []
    deliver(build_message(subject="ordinaire"), [julie.address], envelope_from="a@college-exemple.fr")
    assert len(inbox(julie)) == 2
    ((mail_from, recipients, _),) = queued()
    assert recipients == ["julie@exemple.org"] and mail_from.startswith("SRS0=")


def test_two_accounts_forwarding_to_each_other_do_not_loop(make_account, forward):
    julie, paul = make_account(), make_account("Paul", "Durand")
    forward(julie, paul.address, keep_copy=False)
    forward(paul, julie.address, keep_copy=False)
    deliver(build_message(), [julie.address])
    assert inbox(julie) == [] and len(inbox(paul)) == 1
    assert f"{MARKER}: julie.martin@ac-demo.fr".encode() in read_raw(inbox(paul)[0])


def test_loop_through_an_outside_address_is_kept_not_forwarded_again(make_account, forward):
    """A forwards to X outside, X forwards back to A: the marker says it went
    through A's forward already; A keeps it, nothing is sent again."""
    julie = make_account()
    forward(julie, "julie@exemple.org", keep_copy=False)
    deliver(build_message(subject="Aller"), [julie.address], envelope_from="direction@college-exemple.fr")
    ((_, _, sent),) = queued()
    QueueEntry.objects.all().delete()
    OutboundMessage.objects.all().delete()
    back = b"Received: from mx.exemple.org by x; now\r\n" + sent  # X's forward sends it back, headers kept
    (outcome,) = deliver(back, [julie.address], envelope_from="SRS0=abcd=AA=exemple.org=julie@exemple.org")
    assert outcome.delivered and len(inbox(julie)) == 1
    assert queued() == []
    assert "boucle" in errors(julie)[0]


def test_forward_to_an_unknown_local_target_keeps_the_message(make_account, forward):
    julie = make_account()
    forward(julie, "parti@ac-demo.fr", keep_copy=False)  # the colleague's account was removed since
    (outcome,) = deliver(build_message(), [julie.address])
    assert outcome.delivered and len(inbox(julie)) == 1
    assert "parti@ac-demo.fr impossible" in errors(julie)[0]


def test_admin_lists_authorises_and_refuses_held_forwards(make_account, forward, settings, client):
    settings.FORWARD_OUTSIDE = "hold"
    admin = make_account("Ada", "Admin", role="admin")
    admin.is_superuser = True
    admin.save()
    julie = make_account()
    forward(julie, "julie@gmail.example")
    deliver(build_message(subject="Premier"), [julie.address], envelope_from="direction@college-exemple.fr")
    deliver(build_message(subject="Second"), [julie.address], envelope_from="direction@college-exemple.fr")
    first, second = HeldForward.objects.order_by("created_at", "pk")
    client.force_login(admin)
    listing = client.get("/admin/forwarding/heldforward/").content.decode()
    assert "Premier" in listing and "julie@gmail.example" in listing and "Autoriser et transférer" in listing
    detail = client.get(f"/admin/forwarding/heldforward/{first.pk}/change/").content.decode()
    assert "Le conseil de classe de 3eB" in detail and "X-Academail-Forwarded-For" in detail
    response = client.post("/admin/forwarding/heldforward/", {"action": "release", "_selected_action": [first.pk]},
                           follow=True)
    assert "1 transfert autorisé et envoyé." in response.content.decode()
    ((_, recipients, raw),) = queued()
    assert recipients == ["julie@gmail.example"] and b"Subject: Premier" in raw
    client.post("/admin/forwarding/heldforward/", {"action": "discard", "_selected_action": [second.pk]})
    assert HeldForward.objects.count() == 0 and len(queued()) == 1
    assert len(inbox(julie)) == 2, "her copies stay whatever the administrator decides"
