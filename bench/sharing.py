"""Sharing (issue 19): a secretary who is a member of 10 functional mailboxes
of 20 folders each, among N other accounts holding grants of their own.

- IMAP ``LIST "" "Partagés/*"`` and ``LIST "" "*"`` over real TLS against
  ``academail serve --only imap`` (goal: the shared namespace < 50 ms);
- the webmail's folder page of the secretary's INBOX (the switcher with 10
  functional mailboxes) beside the same page of a colleague with nothing
  shared (today's folder list), server time through Django's test client, and
  ``store.webmail.folder_pane`` alone for both;
- the query plan of the rights query (``store.acl.rights_of``) on the
  database, to show it is an index lookup at 60,000 accounts.

Peer: /work/shared/BENCHMARKS.md has no Dovecot figure for a shared
namespace or a mailbox switcher, so the "peer" column says so.

    .venv/bin/python bench/sharing.py                      # 5,000 other accounts (~1 min)
    .venv/bin/python bench/sharing.py --accounts 60000     # the académie's size (~8 min of account creation)
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import time

import _common as c
import imap_sync as sync

PASSWORD = "Bench-Partage-2026!"


def setup(accounts: int, functional: int, folders: int) -> tuple[str, str, int, int]:
    """(secretary identifier, colleague identifier, secretary INBOX id, colleague INBOX id)."""
    from django.db import transaction

    from academail.accounts.models import Account
    from academail.accounts.services import check_create_account, check_create_functional_account
    from academail.store import acl
    from academail.store.mailboxes import do_create_mailbox, special_mailbox

    started = time.perf_counter()
    others = []
    for start in range(0, accounts, 5000):
        others += c.create_accounts_bulk(min(5000, accounts - start), start)
    print(f"{accounts} accounts in {time.perf_counter() - started:.0f} s", flush=True)
    people = []
    for first, last in (("Hélène", "Bérard"), ("Jean", "Dupont")):
        person = check_create_account(first_name=first, last_name=last, numen=c.numen(900000 + len(people)),
                                      status="active")
        person.set_password(PASSWORD)
        person.save()
        people.append(person)
    secretary, colleague = people
    ids = list(Account.objects.filter(address__in=others[:2000]).values_list("pk", flat=True))
    with transaction.atomic():
        for n in range(functional):
            box = check_create_functional_account(name=f"Collège n°{n}", address=f"ce.03412{n:02d}x@{c.DOMAIN}")
            for f in range(folders - 6):  # the 6 special folders are there already
                do_create_mailbox(box.pk, f"Classe {f:02d}")
            acl.do_grant(box.pk, secretary.pk, "lrswikxte0")
            # Other members, so the grant table is not the secretary's alone.
            for other in ids[n * 100 : n * 100 + 100]:
                acl.do_grant(box.pk, other, "lrs")
        # Folder shares among the other accounts: grants the secretary never sees.
        for a, b in zip(ids[::2], ids[1::2], strict=False):
            acl.do_grant(a, b, "lr", mailbox_id=special_mailbox(a, "inbox").pk, kind="share")
    return (secretary.identifier, colleague.identifier, special_mailbox(secretary.pk, "inbox").pk,
            special_mailbox(colleague.pk, "inbox").pk)


def imap_list(port: int, user: str, runs: int) -> dict[str, tuple[float, int]]:
    client = sync.Client(port)
    client.cmd(f'LOGIN "{user}" "{PASSWORD}"')
    out = {}
    for label, command in (('LIST "" "Partag&AOk-s/*"', b'LIST "" "Partag&AOk-s/*"'), ('LIST "" "*"', b'LIST "" "*"'),
                           ('LIST "" "%" (own top level)', b'LIST "" "%"')):
        times = []
        lines = 0
        for _ in range(runs + 1):
            response, took = client.cmd(command)
            times.append(took)
            lines = len(re.findall(rb"^\* LIST ", response, re.M))
        out[label] = (statistics.median(times[1:]) * 1000, lines)
    client.cmd("LOGOUT")
    return out


def webmail(secretary: str, colleague: str, inbox: int, other_inbox: int, runs: int) -> dict[str, float]:
    from django.conf import settings
    from django.core.management import call_command
    from django.test import Client

    from academail.accounts.models import Account
    from academail.store.webmail import folder_pane

    # The test client's host name (not setup_test_environment(): see bench/webmail.py),
    # and the static files' manifest the pages name their assets from.
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    call_command("collectstatic", interactive=False, verbosity=0)
    out: dict[str, float] = {}
    for label, identifier, box in (("switcher, 10 functional mailboxes", secretary, inbox),
                                   ("today's folder list (nothing shared)", colleague, other_inbox)):
        account = Account.objects.get(identifier=identifier)
        client = Client()
        client.force_login(account)
        url = f"/courrier/dossier/{box}/"

        def page(client: Client = client, url: str = url) -> None:
            response = client.get(url)
            assert response.status_code == 200, response.status_code

        out[f"folder page: {label} (ms)"] = c.median_ms(page, runs)[0]
        out[f"folder_pane(): {label} (ms)"] = c.median_ms(lambda a=account.pk: folder_pane(a), runs)[0]
    return out


def rights_plan() -> str:
    """EXPLAIN of the rights query, as the database runs it."""
    from django.db import connection

    from academail.store.models import Grant, Mailbox

    box = Mailbox.objects.filter(account__kind="functional").first()
    assert box is not None
    from academail.store import acl

    query = (Grant.objects.filter(acl._active(), grantee_id=1, owner_id=box.account_id)  # noqa: SLF001 - bench
             .values_list("rights", flat=True))
    sql, params = query.query.sql_with_params()
    with connection.cursor() as cursor:
        prefix = "EXPLAIN QUERY PLAN " if connection.vendor == "sqlite" else "EXPLAIN "
        cursor.execute(prefix + sql, params)
        return "\n".join(" ".join(str(x) for x in row) for row in cursor.fetchall())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", type=int, default=5000, help="other accounts (60000: the académie)")
    parser.add_argument("--functional", type=int, default=10)
    parser.add_argument("--folders", type=int, default=20)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--database-url")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    c.banner(f"bench/sharing.py: {args.functional} functional mailboxes x {args.folders} folders, "
             f"{args.accounts} other accounts")
    with c.django_home(args.database_url, keep=args.keep) as (home, _took):
        os.environ.setdefault("ACADEMAIL_BIND", "127.0.0.1")
        secretary, colleague, inbox, other_inbox = setup(args.accounts, args.functional, args.folders)
        print(f"database: {c.db_label()}; machine: {c.machine_label()}", flush=True)
        ports = {name: c.free_port() for name in ("imaps", "imap", "smtp", "sub", "subs")}
        with sync.academail_server(ports):
            listed = imap_list(ports["imaps"], secretary, args.runs)
        pages = webmail(secretary, colleague, inbox, other_inbox, args.runs)
        print()
        print(f"{'measure':58} {'academail':>12} {'peer (BENCHMARKS.md)':>22}")
        for label, (ms, lines) in listed.items():
            goal = " (goal < 50 ms)" if "Partag" in label else ""
            print(f"IMAP {label + ', ' + str(lines) + ' lines' + goal:53} {ms:9.1f} ms {'no Dovecot figure':>22}")
        for label, ms in pages.items():
            print(f"{label:58} {ms:9.1f} ms {'no Roundcube figure':>22}")
        print()
        print("rights query plan (store.acl.rights_of):")
        print(rights_plan())
        del home
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

