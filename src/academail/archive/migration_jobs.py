"""Migrations from the previous platform started from a page, as background
jobs (``jobs.runner``, kind ``archive.migrate``, one per target account):

- by the person, with the old server (host, port, TLS) and their old login
  and password ("Importer" → "Depuis l'ancienne messagerie");
- by the secretariat (its établissement's accounts) or an administrator (any
  account), from a CSV ``compte;identifiant_source;mot_de_passe`` and/or a
  master user (Dovecot's ``owner*master`` or SASL PLAIN authzid), one job
  per account so each shows its own progress and errors.

The copy itself is ``archive.migration.migrate_account`` (the command's).

**The old password.** The worker that runs a job is often another process
than the web page that queued it (``serve --only worker``), and a job whose
worker died is resumed by another: a password kept only in the page's memory
could be used by neither. So it is stored *sealed* for the job's life only
(``MigrationCredential``): Fernet (AES-128-CBC + HMAC-SHA256, from the
maintained ``cryptography`` package) under a key derived by HKDF from
``SECRET_KEY``, which is not in the database, so a database dump or backup
does not reveal it. The row is deleted when the job ends, whatever the
outcome; a token is refused past ``MIGRATION_CREDENTIAL_HOURS`` and a
leftover row (a worker killed for good) is deleted by the next queue or run.
The password is never logged, never in ``Job.params``, never shown again.

**Where the server may be.** The server connects where the form says: to keep
that from being a way into the private network (SSRF), a host must be in
``MIGRATION_ALLOWED_HOSTS``, or, when that list is empty, resolve to public
addresses only. Checked when queued and again just before connecting, and
the connection goes to the addresses that check resolved and checked
(``Source.addresses``, each tried in turn, IPv6 first) rather than to the
name, which DNS rebinding could point at a private address between the
check and the connection; TLS still checks the name.
"""

from __future__ import annotations

import base64
import ipaddress
import re
import secrets
import socket
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from academail.accounts.journal import do_record
from academail.accounts.models import EventKind
from academail.archive.imapsource import Source
from academail.archive.migration import (
    Options,
    Progress,
    migrate_account,
    not_found,
    tasks_from_csv,
)
from academail.archive.models import MigrationCredential, MigrationState
from academail.jobs.models import ACTIVE_STATES, Job, JobState
from academail.jobs.runner import JobError, JobNotFound, access_job, do_queue, step

KIND = "archive.migrate"
HELP_SLUG = "migrer-depuis-l-ancienne-messagerie"
TLS_MODES = ("implicit", "starttls")  # never in clear from a page: the password would cross the network as is
DEFAULT_PORTS = {"implicit": 993, "starttls": 143}
TLS_LABELS = (("implicit", "SSL/TLS (port 993)"), ("starttls", "STARTTLS (port 143)"))
MAX_CSV_BYTES = 2 * 1024 * 1024
MAX_CSV_ROWS = 5000
FAILURES_KEPT = 20
_HOST = re.compile(r"[a-z0-9]([a-z0-9.-]*[a-z0-9])?|[0-9a-f:]+")  # a DNS name, an IPv4 or IPv6 address


class MigrationRequestError(Exception):
    """The form cannot be acted on as filled; ``message`` is French."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def help_url() -> str:
    return reverse("help:article", args=[HELP_SLUG])


# --- sealing the password ----------------------------------------------------------------


def _fernet() -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
               info=b"academail archive.migration_jobs credential").derive(settings.SECRET_KEY.encode())
    return Fernet(base64.urlsafe_b64encode(key))


def seal(password: str) -> str:
    return _fernet().encrypt(password.encode("utf-8")).decode("ascii")


def unseal(token: str, *, now: float | None = None) -> str | None:
    """The password, or None once the token is older than
    MIGRATION_CREDENTIAL_HOURS (at ``now``, a Unix time) or was not sealed
    with this SECRET_KEY."""
    ttl = settings.MIGRATION_CREDENTIAL_HOURS * 3600
    try:
        return _fernet().decrypt_at_time(token.encode("ascii"), ttl, int(time.time() if now is None else now)).decode()
    except (InvalidToken, ValueError):
        return None


def do_forget_credentials() -> int:
    """Delete the sealed passwords of jobs that are over or out of time."""
    now = timezone.now()
    stale = MigrationCredential.objects.exclude(job__state__in=ACTIVE_STATES) | \
        MigrationCredential.objects.filter(expires_at__lt=now)
    return int(stale.delete()[0])


# --- where ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Server:
    host: str
    port: int
    tls: str


def check_server(host: str, port: str | int, tls: str) -> Server:
    """The old server as the form gives it, or MigrationRequestError (French)."""
    host = host.strip().lower().rstrip(".").removeprefix("[").removesuffix("]")
    if not _HOST.fullmatch(host) or len(host) > 253:
        raise MigrationRequestError(_("Donnez le nom de l'ancien serveur IMAP, par exemple imap.ancienne-messagerie.fr."))
    if tls not in TLS_MODES:
        raise MigrationRequestError(_("Choisissez la sécurité de la connexion : SSL/TLS ou STARTTLS."))
    text = str(port).strip()
    number = int(text) if text.isdigit() and len(text) < 6 else (DEFAULT_PORTS[tls] if not text else 0)
    if not 0 < number < 65536:
        raise MigrationRequestError(_("Le port doit être un nombre entre 1 et 65535 (souvent 993)."))
    server = Server(host, number, tls)
    check_reachable(server)
    return server


_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # RFC 6052 §2.1: the IPv4 address in the last 32 bits
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")  # RFC 8215: an operator's own translators


def is_public(text: str) -> bool:
    """Whether an address is global, and so is any IPv4 address an IPv6 one
    carries: a translator or relay on the way would take the connection to
    it (IPv4-mapped and -compatible, RFC 4291 §2.5.5; 6to4, RFC 3056; NAT64,
    RFC 6052; Python's ``is_global`` passes all but the first)."""
    address = ipaddress.ip_address(text.split("%")[0])
    if not address.is_global:
        return False
    if isinstance(address, ipaddress.IPv6Address):
        if address in _NAT64_LOCAL:
            return False
        carried = [address.ipv4_mapped, address.sixtofour]
        if address in _NAT64 or int(address) >> 32 == 0:
            carried.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
        return all(inner is None or inner.is_global for inner in carried)
    return True


def check_reachable(server: Server) -> tuple[str, ...]:
    """The addresses to connect to, to be tried in this order: every address
    the host resolves to, each one checked, IPv6 ones first then IPv4 (the
    fallback), each family in the resolver's order (RFC 6724); connect to
    these, not to the name (module docstring). MigrationRequestError unless
    the host may be connected to."""
    allowed = settings.MIGRATION_ALLOWED_HOSTS
    if allowed and server.host not in allowed:
        raise MigrationRequestError(
            _("Ce serveur n'est pas celui de l'ancienne messagerie de l'académie : vérifiez son nom (%(hosts)s).")
            % {"hosts": ", ".join(allowed)})
    try:
        found = socket.getaddrinfo(server.host, server.port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        found = []
    resolved = [(family, str(info[0])) for family, _type, _proto, _name, info in found]
    addresses = list(dict.fromkeys(
        [a for family, a in resolved if family == socket.AF_INET6] + [a for family, a in resolved if family != socket.AF_INET6]
    ))
    if not addresses:
        raise MigrationRequestError(_("Le serveur %(host)s est introuvable : vérifiez son nom.")
                                    % {"host": server.host})
    if not allowed:
        for address in addresses:
            if not is_public(address):
                raise MigrationRequestError(
                    _("Le serveur %(host)s est sur un réseau privé : l'administrateur doit l'autoriser.")
                    % {"host": server.host})
    return tuple(addresses)


def _source(params: dict[str, Any], password: str, addresses: tuple[str, ...]) -> Source:
    return Source(
        host=params["host"], port=int(params["port"]), tls=params["tls"], login=params["login"], password=password,
        master_user=params.get("master_user", ""), master_method=params.get("master_method", "plain"),
        ca_file=settings.MIGRATION_CA_FILE, addresses=addresses,
    )


# --- queue ---------------------------------------------------------------------------------


def _queue(account_id: int, label: str, server: Server, login: str, password: str, *,
           master_user: str = "", master_method: str = "plain", by: int | None = None, batch: str = "") -> Job:
    """One job and its sealed password, together. Raises JobAlreadyActive."""
    params = {"host": server.host, "port": server.port, "tls": server.tls, "login": login, "label": label,
              "master_user": master_user, "master_method": master_method, "by": by, "batch": batch}
    with transaction.atomic():
        job = do_queue(KIND, account_id, params=params)
        MigrationCredential.objects.create(
            job=job, token=seal(password),
            expires_at=timezone.now() + timedelta(hours=settings.MIGRATION_CREDENTIAL_HOURS))
    return job


def check_and_queue_own_migration(
    account_id: int, *, host: str, port: str, tls: str, login: str, password: str, remote_addr: str = "",
) -> Job:
    """The person's own migration from the old server. Raises
    MigrationRequestError or JobAlreadyActive (French)."""
    do_forget_credentials()
    server = check_server(host, port, tls)
    login = login.strip()
    if not login or len(login) > 200:
        raise MigrationRequestError(_("Donnez votre identifiant sur l'ancienne messagerie."))
    if not password or len(password) > 1000:
        raise MigrationRequestError(_("Donnez votre mot de passe de l'ancienne messagerie."))
    from academail.accounts.models import Account

    identifier = Account.objects.values_list("identifier", flat=True).get(pk=account_id)
    job = _queue(account_id, identifier, server, login, password)
    do_record(account_id, EventKind.MIGRATION, protocol="web", remote_addr=remote_addr,
              detail=_("Migration demandée depuis %(source)s") % {"source": f"{server.host}/{login}"})
    return job


@dataclass
class BulkResult:
    queued: list[Job]
    refused: list[tuple[int, str]]  # (CSV line, French reason)
    batch: str


def check_and_queue_bulk(
    operator_id: int, in_scope: Iterable[int] | None, *, host: str, port: str, tls: str, csv_text: str,
    master_user: str = "", master_password: str = "", master_method: str = "plain", remote_addr: str = "",
) -> BulkResult:
    """One job per CSV row (columns ``compte``, ``identifiant_source``,
    ``mot_de_passe``; a row without a password uses the master user).
    ``in_scope``: the account ids the operator may act on (None: any); an
    account outside it is refused as "introuvable", like one that does not
    exist. Raises MigrationRequestError for the form as a whole."""
    do_forget_credentials()
    server = check_server(host, port, tls)
    if master_method not in ("plain", "login"):
        raise MigrationRequestError(_("Choisissez la façon de s'identifier comme utilisateur maître."))
    if master_user and not master_password:
        raise MigrationRequestError(_("Donnez le mot de passe de l'utilisateur maître."))
    lines = csv_text.splitlines()
    if len(lines) > MAX_CSV_ROWS + 1:
        raise MigrationRequestError(_("Le fichier a plus de %(n)d lignes : découpez-le.") % {"n": MAX_CSV_ROWS})
    template = Source(host=server.host, port=server.port, tls=server.tls, login="", password=master_password,
                      master_user=master_user.strip(), master_method=master_method)
    tasks, refused = tasks_from_csv(lines, template)
    scope = set(in_scope) if in_scope is not None else None
    batch = secrets.token_hex(8)
    queued: list[Job] = []
    for task in tasks:
        line = task.line
        if scope is not None and task.account_id not in scope:
            refused.append((line, not_found(task.given)))
            continue
        try:
            queued.append(_queue(
                task.account_id, task.label, server, task.source.login, task.source.password,
                master_user=task.source.master_user, master_method=master_method, by=operator_id, batch=batch,
            ))
        except JobError as error:
            refused.append((line, error.message))
            continue
        do_record(task.account_id, EventKind.MIGRATION, protocol="web", remote_addr=remote_addr,
                  detail=_("Migration lancée par le secrétariat ou l'administration depuis %(source)s")
                  % {"source": task.source.key})
    refused.sort()
    return BulkResult(queued, refused, batch)


# --- the job -------------------------------------------------------------------------------


def run_migration(job: Job) -> str:
    """The job handler (``jobs.runner.HANDLERS``). The copy's own batches
    commit with their checkpoints (``archive.migration``), so a job taken over
    after a dead worker resumes there; the job's progress and lease are
    renewed after each batch. The sealed password is deleted at the end,
    whatever happened."""
    account_id = int(job.account_id)
    do_forget_credentials()  # others' leftovers: a job given up after killing its workers keeps its row
    try:
        credential = MigrationCredential.objects.filter(job=job).first()
        password = unseal(credential.token) if credential else None
        if password is None:
            return _end(job, account_id, MigrationState.FAILED, _(
                "Le mot de passe de l'ancienne messagerie n'est plus conservé (il ne l'est que pendant la "
                "migration, au plus %(hours)d heures) : relancez la migration.")
                % {"hours": settings.MIGRATION_CREDENTIAL_HOURS}, {})
        params = job.params
        try:
            addresses = check_reachable(Server(params["host"], int(params["port"]), params["tls"]))
        except MigrationRequestError as refused:
            return _end(job, account_id, MigrationState.FAILED, refused.message, {})

        def progress(moment: Progress) -> None:
            with step(job):
                job.total = max(moment.overall_total, moment.overall_done)
                job.done = moment.overall_done
                job.checkpoint = {**(job.checkpoint or {}), "folder": moment.folder}

        report = migrate_account(account_id, str(params.get("label", "")), _source(params, password, addresses),
                                 Options(progress=progress))
        details = {"copied": report.copied, "already": report.already, "failed": report.failed,
                   "folders": report.folders, "failures": report.failures[:FAILURES_KEPT],
                   "skipped_folders": report.skipped_folders}
        return _end(job, account_id, report.state, report.message, details)
    finally:
        MigrationCredential.objects.filter(job_id=job.pk).delete()


def _end(job: Job, account_id: int, state: Any, message: str, details: dict[str, Any]) -> str:
    with step(job):
        job.state = JobState.DONE if state == MigrationState.DONE else JobState.FAILED
        job.result = message
        job.checkpoint = {**details, "outcome": str(state)}
        if job.state == JobState.DONE:
            job.done = job.total = max(job.total, job.done)
    do_record(account_id, EventKind.MIGRATION, protocol="web",
              detail=(_("Migration depuis %(source)s : %(result)s")
                      % {"source": f"{job.params['host']}/{job.params['login']}", "result": message})[:300])
    return message


# --- what the pages show -----------------------------------------------------------------


def status(job: Job) -> dict[str, Any]:
    """What progress.js reads (JSON)."""
    return {"state": job.state, "done": job.done, "total": job.total, "percent": job.percent,
            "finished": job.state in (JobState.DONE, JobState.FAILED), "text": progress_text(job)}


def progress_text(job: Job) -> str:
    if job.state == JobState.QUEUED:
        return _("En attente de traitement…")
    if job.state == JobState.RUNNING:
        folder = (job.checkpoint or {}).get("folder", "")
        if not job.total:
            return _("Connexion à l'ancien serveur…")
        return _("%(done)s / %(total)s messages (dossier %(folder)s)") % {
            "done": job.done, "total": job.total, "folder": folder}
    return job.result


def access_own_migration(account_id: int, job_id: int) -> Job:
    job = access_job(account_id, job_id)
    if job.kind != KIND:
        raise JobNotFound(_("Ce traitement n'existe pas."))
    return job


def own_migrations(account_id: int, *, limit: int = 10) -> list[Job]:
    return list(Job.objects.filter(account_id=account_id, kind=KIND).order_by("-created_at", "-pk")[:limit])


def _operator_jobs(operator_id: int, in_scope: Iterable[int] | None) -> QuerySet[Job]:
    """The jobs this operator started, on accounts still within their scope:
    a secretary moved to another établissement no longer sees (or polls) the
    migrations of the accounts they left. ``in_scope`` as in check_and_queue_bulk."""
    jobs = Job.objects.filter(kind=KIND, params__by=operator_id)
    return jobs if in_scope is None else jobs.filter(account_id__in=list(in_scope))


def access_operator_migration(operator_id: int, in_scope: Iterable[int] | None, job_id: int) -> Job:
    """A job this operator started on an account within their scope (the bulk
    page's polling); else JobNotFound."""
    job = _operator_jobs(operator_id, in_scope).filter(pk=job_id).first()
    if job is None:
        raise JobNotFound(_("Ce traitement n'existe pas."))
    return job


def operator_migrations(operator_id: int, in_scope: Iterable[int] | None, *, limit: int = 200) -> list[Job]:
    """The jobs this operator started on accounts within their scope, newest first."""
    return list(_operator_jobs(operator_id, in_scope).order_by("-created_at", "-pk")[:limit])


__all__ = [
    "HELP_SLUG", "KIND", "TLS_LABELS", "TLS_MODES", "BulkResult", "MigrationRequestError", "Server",
    "access_operator_migration", "access_own_migration", "check_and_queue_bulk", "check_and_queue_own_migration",
    "check_reachable", "check_server", "do_forget_credentials", "help_url", "is_public", "operator_migrations",
    "own_migrations", "progress_text", "run_migration", "seal", "status", "unseal",
]
