"""decide(): the account's script loaded and cached, errors never lose mail,
vacation per RFC 5230 / RFC 3834, bounded cost."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from django.utils import timezone

from academail.filters.engine import IMPLICIT_KEEP, decide, do_remember_vacation
from academail.mime.parse import parse_message
from tests.filters.conftest import raw_message

ME = "julie.martin@ac-demo.fr"


def _decide(account, raw=None, *, envelope_from="direction@college-exemple.fr", now=None):
    raw = raw if raw is not None else raw_message()
    return decide(account.pk, parse_message(raw), envelope_from=envelope_from, envelope_to=ME, size=len(raw),
                  raw=raw, now=now)


def test_no_script_is_implicit_keep(make_account):
    assert _decide(make_account()) == IMPLICIT_KEEP


def test_unicode_casemap_rule_files_reunion(make_account, with_script):
    person = make_account()
    with_script(person, 'require ["fileinto", "mailbox"];\n'
                'if header :contains :comparator "i;unicode-casemap" "subject" "réunion" { fileinto :create "Réunions"; }')
    assert _decide(person, raw_message("REUNION de rentrée")).mailbox == "Réunions"
    assert _decide(person, raw_message("Conseil")).mailbox is None


def test_broken_script_is_implicit_keep_with_error(make_account, with_script):
    person = make_account()
    with_script(person, 'if header :contains "subject" {\n discard;')
    decision = _decide(person)
    assert decision.local_mailboxes == [None] and not decision.discard
    assert decision.error and "Ligne" in decision.error


def test_cache_follows_updated_at(make_account, with_script):
    person = make_account()
    with_script(person, 'require "fileinto"; fileinto "A";')
    assert _decide(person).mailbox == "A"
    with_script(person, 'require "fileinto"; fileinto "B";')
    assert _decide(person).mailbox == "B"


def test_backtracking_regex_is_bounded(make_account, with_script):
    person = make_account()
    with_script(person, 'require ["regex", "fileinto"]; if header :regex "subject" "(x+x+)+y" { fileinto "A"; }')
    started = time.perf_counter()
    decision = _decide(person, raw_message("x" * 3000))
    elapsed = time.perf_counter() - started
    print(f"\nbacktracking regex: {elapsed * 1000:.0f} ms, outcome: {decision.error}")
    assert decision.local_mailboxes == [None]
    assert decision.error and "trop coûteuse" in decision.error


def test_thousand_rules_timing(make_account, with_script):
    person = make_account()
    rules = "\n".join(
        f'if header :contains :comparator "i;unicode-casemap" "subject" "sujet-{i}" {{ fileinto "F{i}"; stop; }}'
        for i in range(1000)
    )
    with_script(person, 'require ["fileinto", "comparator-i;unicode-casemap"];\n' + rules)
    raw = raw_message("Objet sans rapport")
    parsed = parse_message(raw)
    started = time.perf_counter()
    first = decide(person.pk, parsed, envelope_from="a@b.fr", envelope_to=ME, size=len(raw), raw=raw)
    compiled = time.perf_counter() - started
    runs = 50
    started = time.perf_counter()
    for _ in range(runs):
        decide(person.pk, parsed, envelope_from="a@b.fr", envelope_to=ME, size=len(raw), raw=raw)
    per = (time.perf_counter() - started) / runs
    print(f"\n1,000 rules: first decide (parse + compile) {compiled * 1000:.0f} ms, then {per * 1000:.2f} ms per message")
    assert first.error is None and first.mailbox is None


VACATION = 'require ["vacation"];\nvacation :days 3 :subject "Absente" "Je suis absente jusqu\'au 20.";'


def test_vacation_reply_once_per_days(make_account, with_script):
    person = make_account()
    with_script(person, VACATION)
    now = timezone.now()
    reply = _decide(person, now=now).vacation
    assert reply is not None
    assert reply.to == "direction@college-exemple.fr" and reply.subject == "Absente" and reply.days == 3
    assert reply.from_ == ME and reply.in_reply_to
    do_remember_vacation(person.pk, reply.remember, now, days=reply.days)
    assert _decide(person, now=now + timedelta(days=2)).vacation is None
    assert _decide(person, now=now + timedelta(days=3, minutes=1)).vacation is not None


def test_vacation_never_to_lists_robots_or_null_sender(make_account, with_script):
    person = make_account()
    with_script(person, VACATION)
    refused = [
        (raw_message(extra="List-Id: <profs.ac-demo.fr>\r\n"), "direction@college-exemple.fr"),
        (raw_message(extra="Precedence: bulk\r\n"), "direction@college-exemple.fr"),
        (raw_message(extra="Precedence: list\r\n"), "direction@college-exemple.fr"),
        (raw_message(extra="Precedence: junk\r\n"), "direction@college-exemple.fr"),
        (raw_message(extra="Auto-Submitted: auto-replied\r\n"), "direction@college-exemple.fr"),
        (raw_message(), ""),
        (raw_message(), "<>"),
        (raw_message(), "MAILER-DAEMON@college-exemple.fr"),
        (raw_message(), "owner-profs@ac-demo.fr"),
        (raw_message(), "profs-request@ac-demo.fr"),
        (raw_message(to="tous@ac-demo.fr"), "direction@college-exemple.fr"),  # not named (RFC 5230 §4.5)
    ]
    for raw, sender in refused:
        decision = _decide(person, raw, envelope_from=sender)
        assert decision.vacation is None, (raw[:200], sender)
        assert decision.local_mailboxes == [None]
    assert _decide(person, raw_message(extra="Auto-Submitted: no\r\n")).vacation is not None


def test_vacation_within_dates(make_account, with_script):
    person = make_account()
    with_script(person, 'require ["vacation", "date", "relational"];\n'
                'if allof (currentdate :value "ge" "date" "2026-07-01", currentdate :value "le" "date" "2026-07-31") {'
                ' vacation "Absente"; }')
    inside = timezone.make_aware(datetime(2026, 7, 15, 12))
    after = timezone.make_aware(datetime(2026, 8, 1, 12))
    assert _decide(person, now=inside).vacation is not None
    assert _decide(person, now=after).vacation is None
