"""The ``academail`` command: serve, migrate, import-accounts, deliver, demo,
and ``manage`` for any other Django management command."""

from __future__ import annotations

import argparse
import os
import sys


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "academail.config.settings")
    import django

    django.setup()


def cmd_serve(args: argparse.Namespace) -> int:
    import asyncio

    from academail.server.serve import SERVICES, serve

    services = [s.strip() for s in args.only.split(",")] if args.only else list(SERVICES)
    asyncio.run(serve(services))
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


def cmd_manage(args: argparse.Namespace) -> int:
    from django.core.management import execute_from_command_line

    execute_from_command_line(["academail manage", *args.rest])
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="academail", description="La messagerie de l'académie.")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run web, SMTP and the worker in one process")
    serve.add_argument("--only", help="comma-separated subset: web,smtp,worker")
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

    manage = sub.add_parser("manage", help="any Django management command")
    manage.add_argument("rest", nargs=argparse.REMAINDER)
    manage.set_defaults(func=cmd_manage)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _setup()
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
