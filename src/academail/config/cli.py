"""The ``academail`` command: serve, migrate, import-accounts, deliver, demo,
queue, dkim-keygen, jobs, backup, restore, and ``manage`` for any other Django management command."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "academail.config.settings")
    import django

    django.setup()


def cmd_serve(args: argparse.Namespace) -> int:
    import asyncio

    from academail.config.serve import SERVICES, serve
    from academail.env import ConfigurationError

    services = [s.strip() for s in args.only.split(",")] if args.only else list(SERVICES)
    try:
        asyncio.run(serve(services))
    except ConfigurationError as error:
        print(f"academail serve : {error}", file=sys.stderr)  # noqa: T201
        return 1
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=args.verbosity)
    return 0


def cmd_import_accounts(args: argparse.Namespace) -> int:
    from academail.accounts.importer import format_report, import_accounts

    def progress(done: int, total: int) -> None:
        width = 30
        filled = width * done // max(total, 1)
        sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
        if done == total:
            sys.stderr.write("\n")
        sys.stderr.flush()

    report = import_accounts(args.file, dry_run=args.dry_run, progress=progress)
    print(format_report(report))  # noqa: T201
    return 1 if report.rejected else 0


def cmd_deliver(args: argparse.Namespace) -> int:
    from academail.delivery.lda import run_lda

    return run_lda(sys.stdin.buffer, args.recipients, sender=args.sender)


def cmd_demo(args: argparse.Namespace) -> int:
    from academail.demo.seed import seed_demo

    seed_demo(messages_per_account=args.messages, force=args.force, out=sys.stdout)
    return 0


def cmd_queue(args: argparse.Namespace) -> int:
    from django.utils import timezone

    from academail.delivery import queue

    if args.action == "list":
        entries = queue.list_entries(args.limit)
        for entry in entries:
            due = timezone.localtime(entry.next_attempt_at).strftime("%Y-%m-%d %H:%M:%S")
            reply = " ".join(entry.last_reply.split())[:60]
            print(  # noqa: T201
                f"{entry.pk:>8}  {due}  essais={entry.attempts:<3} <{entry.message.mail_from}> -> "
                f"<{entry.recipient}>  {reply}"
            )
        print(f"{len(entries)} destinataire(s) en file d'attente")  # noqa: T201
        return 0
    if args.action == "show":
        found = 0
        for entry_id in args.ids:
            shown = queue.get_entry(entry_id)
            if shown is None:
                print(f"{entry_id}: introuvable", file=sys.stderr)  # noqa: T201
                continue
            found += 1
            message = shown.message
            raw = bytes(message.raw)
            end = raw.find(b"\r\n\r\n")
            print(  # noqa: T201
                f"entrée {shown.pk} (message {message.pk})\n"
                f"  expéditeur   <{message.mail_from}>\n  destinataire <{shown.recipient}>\n"
                f"  créée        {timezone.localtime(shown.created_at):%Y-%m-%d %H:%M:%S}\n"
                f"  prochain essai {timezone.localtime(shown.next_attempt_at):%Y-%m-%d %H:%M:%S}\n"
                f"  essais       {shown.attempts}\n  dernière réponse {shown.last_reply or '-'}\n"
                f"  taille       {message.size} octets\n"
            )
            print(raw[: end if end >= 0 else 4096].decode("utf-8", "replace"))  # noqa: T201
        return 0 if found == len(args.ids) else 1
    if args.action == "retry":
        count = queue.do_retry(args.ids or None)
        print(f"{count} destinataire(s) à réessayer maintenant")  # noqa: T201
        return 0
    if not args.ids:
        print("academail queue delete: donnez les numéros des entrées", file=sys.stderr)  # noqa: T201
        return 64
    count = queue.do_delete(args.ids)
    print(f"{count} destinataire(s) retiré(s) de la file, sans avis de non-remise")  # noqa: T201
    return 0


def cmd_dkim_keygen(args: argparse.Namespace) -> int:
    from academail.delivery import dkim

    path = dkim.generate_key(args.domain, selector=args.selector, force=args.force)
    print(f"; clé privée / private key: {path}")  # noqa: T201
    print("; enregistrements DNS à publier / DNS records to publish:")  # noqa: T201
    for name, value in dkim.dns_records(args.domain, args.selector):
        chunks = " ".join(f'"{value[i:i + 250]}"' for i in range(0, len(value), 250))
        print(f"{name} IN TXT {chunks}")  # noqa: T201
    return 0


def cmd_jobs(args: argparse.Namespace) -> int:
    from academail.jobs.models import Job
    from academail.jobs.runner import run_pending

    if args.action == "run":
        count = run_pending()
        print(f"{count} traitement(s) exécuté(s)")  # noqa: T201
        return 0
    for job in Job.objects.order_by("-created_at")[: args.limit]:
        print(f"{job.pk:>8}  {job.kind:<16} compte={job.account_id}  {job.state:<8} {job.done}/{job.total}  {job.result}")  # noqa: T201
    return 0


def cmd_backup(args: argparse.Namespace) -> int:
    from academail.operations.backup import BackupError, do_backup

    try:
        report = do_backup(args.dest)
    except BackupError as error:
        print(f"academail backup : {error}", file=sys.stderr)  # noqa: T201
        return 1
    print(  # noqa: T201
        f"sauvegarde {report.path} : base {report.engine}, {report.blobs} blob(s) "
        f"({report.linked} en lien physique), {report.seconds:.1f} s. "
        "Elle contient les secrets de la plateforme : protégez-la."
    )
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    from academail.operations.backup import BackupError, do_restore

    try:
        manifest = do_restore(args.src)
    except BackupError as error:
        print(f"academail restore : {error}", file=sys.stderr)  # noqa: T201
        return 1
    print(f"restauré : sauvegarde du {manifest['created']} ({manifest['blobs']} blob(s))")  # noqa: T201
    return 0


def cmd_manage(args: argparse.Namespace) -> int:
    from django.core.management import execute_from_command_line

    execute_from_command_line(["academail manage", *args.rest])
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="academail", description="La messagerie de l'académie.")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run web, SMTP, IMAP and the worker in one process")
    serve.add_argument("--only", help="comma-separated subset: web,smtp,imap,worker")
    serve.set_defaults(func=cmd_serve)

    migrate = sub.add_parser("migrate", help="create or update the database schema")
    migrate.add_argument("-v", "--verbosity", type=int, default=1)
    migrate.set_defaults(func=cmd_migrate)

    imp = sub.add_parser("import-accounts", help="create or update accounts from the secretariat's CSV")
    imp.add_argument("file")
    imp.add_argument("--dry-run", action="store_true", help="check and report, change nothing")
    imp.set_defaults(func=cmd_import_accounts)

    deliver = sub.add_parser("deliver", help="local delivery agent: one message on stdin")
    deliver.add_argument("-f", "--sender", default="", help="envelope sender (for the Return-Path)")
    deliver.add_argument("recipients", nargs="+")
    deliver.set_defaults(func=cmd_deliver)

    demo = sub.add_parser("demo", help="seed a demo académie and print its credentials")
    demo.add_argument("--messages", type=int, default=60, help="messages per account")
    demo.add_argument("--force", action="store_true", help="seed again even if demo accounts exist")
    demo.set_defaults(func=cmd_demo)

    q = sub.add_parser("queue", help="the outbound queue: list, show, retry, delete")
    q.add_argument("action", choices=["list", "show", "retry", "delete"])
    q.add_argument("ids", nargs="*", type=int, help="entry numbers (retry without any: all)")
    q.add_argument("--limit", type=int, default=1000, help="list: at most this many entries")
    q.set_defaults(func=cmd_queue)

    keygen = sub.add_parser("dkim-keygen", help="create a domain's DKIM key and print the DNS records")
    keygen.add_argument("domain")
    keygen.add_argument("--selector", default=None, help="default: ACADEMAIL_DKIM_SELECTOR")
    keygen.add_argument("--force", action="store_true", help="replace an existing key")
    keygen.set_defaults(func=cmd_dkim_keygen)

    jobs = sub.add_parser("jobs", help="background jobs: run those due now and exit (cron, tests), or list")
    jobs.add_argument("action", choices=["run", "list"])
    jobs.add_argument("--limit", type=int, default=50, help="list: the newest this many")
    jobs.set_defaults(func=cmd_jobs)

    backup = sub.add_parser("backup", help="a consistent backup while serving (database, blobs, keys)")
    backup.add_argument("dest", type=Path, help="a new or empty directory (created 0700: it holds secrets)")
    backup.set_defaults(func=cmd_backup)

    restore = sub.add_parser("restore", help="bring a backup back into an empty ACADEMAIL_HOME")
    restore.add_argument("src", type=Path)
    restore.set_defaults(func=cmd_restore)

    manage = sub.add_parser("manage", help="any Django management command")
    manage.add_argument("rest", nargs=argparse.REMAINDER)
    manage.set_defaults(func=cmd_manage)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "restore":
        # Before Django starts: starting it creates fresh secrets in ACADEMAIL_HOME.
        from academail.env import var_dir
        from academail.operations.backup import BackupError, check_empty_home

        try:
            check_empty_home(var_dir())
        except BackupError as error:
            print(f"academail restore : {error}", file=sys.stderr)  # noqa: T201
            return 1
    _setup()
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
