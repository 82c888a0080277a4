"""The ``academail`` command: serve, migrate, import-accounts, deliver, demo,
queue, dkim-keygen, jobs, backup, restore, migrate-imap, blobs, and ``manage`` for any other Django management command."""

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


def _secret(path: str | None, env_name: str, prompt: str) -> str:
    """A password from a file (first line), the environment, or the terminal:
    never from the command line, which ``ps`` shows to every local user."""
    if path:
        return Path(path).read_text(encoding="utf-8").splitlines()[0] if Path(path).stat().st_size else ""
    if os.environ.get(env_name):
        return os.environ[env_name]
    if sys.stdin.isatty():
        import getpass

        return getpass.getpass(prompt)
    return ""


def cmd_migrate_imap(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from academail.archive.migration import (
        Options,
        Progress,
        Source,
        Task,
        TaskError,
        find_account,
        migrate_many,
        tasks_from_csv,
    )

    port = args.port or {"implicit": 993, "starttls": 143, "none": 143}[args.tls]
    template = Source(
        host=args.host, port=port, tls=args.tls, login="", password="", master_user=args.master_user or "",
        master_method=args.master_method, master_separator=args.master_separator, ca_file=args.ca_file or "",
        verify=not args.insecure, timeout=args.timeout,
    )
    if template.master_user:
        master_password = _secret(args.master_password_file, "ACADEMAIL_MIGRATION_MASTER_PASSWORD",
                                  f"Mot de passe de l'utilisateur maître {template.master_user} : ")
        template = replace(template, password=master_password)
    tasks: list[Task] = []
    if args.csv:
        with open(args.csv, encoding="utf-8-sig", newline="") as handle:
            tasks, refused = tasks_from_csv(handle, template)
        for line, reason in refused:
            print(f"{args.csv}, ligne {line} : {reason}", file=sys.stderr)  # noqa: T201
    elif args.account:
        try:
            account_id, identifier = find_account(args.account)
        except TaskError as error:
            print(f"academail migrate-imap : {error.message}", file=sys.stderr)  # noqa: T201
            return 1
        login = args.source_login or args.account
        if template.master_user:
            tasks = [Task(account_id, identifier, replace(template, login=login))]
        else:
            password = _secret(args.password_file, "ACADEMAIL_MIGRATION_PASSWORD",
                               f"Mot de passe de {login} sur {args.host} : ")
            tasks = [Task(account_id, identifier,
                          replace(template, login=login, password=password))]
    else:
        print("academail migrate-imap : donnez --account (un compte) ou --csv (plusieurs)", file=sys.stderr)  # noqa: T201
        return 64
    if not tasks:
        print("academail migrate-imap : aucun compte à migrer", file=sys.stderr)  # noqa: T201
        return 1

    def progress(step: Progress) -> None:
        if not args.quiet:
            print(f"  {step.account} · {step.folder} : {step.done}/{step.total}", file=sys.stderr, flush=True)  # noqa: T201

    options = Options(max_rate=args.max_rate, batch_messages=args.batch, progress=progress)
    failures = 0
    rows = []
    for report in migrate_many(tasks, options, parallel=args.parallel):
        print(  # noqa: T201
            f"{report.account} <- {report.source} : {report.state_label} ; {report.copied} copié(s) "
            f"({report.copied_bytes / 1048576:.1f} Mo) en {report.seconds:.1f} s, {report.already} déjà là, "
            f"{report.flags_updated} drapeaux mis à jour, {report.failed} en erreur, {report.folders} dossier(s)"
            + (f". {report.message}" if report.message and report.state != "done" else ""), flush=True,
        )
        for folder, uid, reason in report.failures:
            print(f"    {folder} UID {uid} : {reason}")  # noqa: T201
        for folder, reason in report.skipped_folders:
            print(f"    {folder} : {reason}")  # noqa: T201
        failures += report.state != "done" or report.failed > 0
        rows.append(report)
    print(f"{len(rows)} compte(s) : {len(rows) - failures} sans erreur, {failures} à reprendre")  # noqa: T201
    if args.report:
        import csv

        with open(args.report, "w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, delimiter=";")
            writer.writerow(["compte", "source", "etat", "copies", "octets", "deja_la", "erreurs", "dossiers",
                             "secondes", "message"])
            for r in rows:
                writer.writerow([r.account, r.source, r.state, r.copied, r.copied_bytes, r.already, r.failed,
                                 r.folders, f"{r.seconds:.1f}", r.message])
    return 1 if failures else 0


def cmd_blobs(args: argparse.Namespace) -> int:
    from django.conf import settings

    from academail.operations.blobmigration import MigrationReport, do_migrate_blobs
    from academail.store.blobs import open_blob_store

    try:
        source = open_blob_store(args.source or settings.BLOB_URL or str(settings.BLOB_DIR))
        dest = open_blob_store(args.dest)
    except ValueError as error:
        print(f"academail blobs : {error}", file=sys.stderr)  # noqa: T201
        return 2
    if source.describe() == dest.describe():
        print("academail blobs : la source et la destination sont le même stockage.", file=sys.stderr)  # noqa: T201
        return 2

    def progress(report: MigrationReport) -> None:
        sys.stderr.write(f"\rcopiés {report.copied}, déjà présents {report.present}")
        sys.stderr.flush()

    report = do_migrate_blobs(source, dest, threads=args.threads, progress=progress)
    sys.stderr.write("\n")
    print(  # noqa: T201
        f"{source.describe()} -> {dest.describe()} : {report.copied} blob(s) copié(s), "
        f"{report.present} déjà présent(s), {len(report.failed)} en échec, {len(report.damaged)} altéré(s)"
        + (f", interrompu : {report.unlisted}." if report.unlisted else ".")
    )
    for sha256 in report.damaged:
        print(f"altéré (SHA-256 différent, non copié) : {sha256}")  # noqa: T201
    if report.failed or report.unlisted:
        print("Relancez la même commande : elle reprend là où elle s'est arrêtée.")  # noqa: T201
    return 0 if report.complete else 1


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

    mig = sub.add_parser(
        "migrate-imap", help="copy mailboxes from the previous platform's IMAP server (resumable)",
        description="Copie les dossiers, messages, drapeaux et dates depuis l'ancien serveur IMAP. "
        "Relancer la commande ne copie que ce qui est nouveau. Mots de passe : fichier, variable "
        "d'environnement ou saisie, jamais sur la ligne de commande.",
    )
    mig.add_argument("--host", required=True, help="the old IMAP server")
    mig.add_argument("--port", type=int, default=0, help="default 993 (implicit TLS) or 143")
    mig.add_argument("--tls", choices=["implicit", "starttls", "none"], default="implicit")
    mig.add_argument("--ca-file", help="the CA that signed the old server's certificate")
    mig.add_argument("--insecure", action="store_true", help="do not verify the old server's certificate")
    mig.add_argument("--timeout", type=float, default=60.0, help="seconds without an answer before reconnecting")
    one = mig.add_mutually_exclusive_group()
    one.add_argument("--account", help="the academail account (identifier or address)")
    one.add_argument("--csv", help="accounts to migrate: compte;identifiant_source;mot_de_passe")
    mig.add_argument("--source-login", help="--account: its login on the old server (default: the same)")
    mig.add_argument("--password-file", help="--account: the old password (else $ACADEMAIL_MIGRATION_PASSWORD "
                     "or asked)")
    mig.add_argument("--master-user", help="sign in as this master user on each owner's behalf")
    mig.add_argument("--master-password-file", help="else $ACADEMAIL_MIGRATION_MASTER_PASSWORD or asked")
    mig.add_argument("--master-method", choices=["plain", "login"], default="plain",
                     help="plain: SASL PLAIN with authzid; login: LOGIN owner*master (Dovecot)")
    mig.add_argument("--master-separator", default="*", help="Dovecot's auth_master_user_separator")
    mig.add_argument("--parallel", type=int, default=2, help="accounts copied at once (connections to the old server)")
    mig.add_argument("--max-rate", type=float, default=0.0, help="messages per second per account (0: no limit)")
    mig.add_argument("--batch", type=int, default=200, help="messages per committed batch")
    mig.add_argument("--report", help="write the per-account report to this CSV file")
    mig.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    mig.set_defaults(func=cmd_migrate_imap)
    blobs = sub.add_parser("blobs", help="blob storage: migrate between files and S3-compatible object storage")
    blobs.add_argument("action", choices=["migrate"])
    blobs.add_argument("--to", dest="dest", required=True, help="s3://bucket/prefix or file:///path")
    blobs.add_argument("--from", dest="source", default="",
                       help="default: the configured store (ACADEMAIL_BLOB_URL, else ACADEMAIL_BLOB_DIR)")
    blobs.add_argument("--threads", type=int, default=8, help="copies at once")
    blobs.set_defaults(func=cmd_blobs)

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
