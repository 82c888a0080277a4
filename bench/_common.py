"""Shared helpers for the bench scripts: a throw-away ACADEMAIL_HOME (and, on
request, a throw-away PostgreSQL database), Django set-up, French text and
message generation, small statistics.

Import this module before anything from Django or academail, and call
``make_home()`` before ``setup_django()``: settings read ACADEMAIL_HOME and
DATABASE_URL once, at import.
"""

from __future__ import annotations

import contextlib
import os
import platform
import random
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from email.header import Header
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
VENV_BIN = Path(sys.executable).parent
ACADEMAIL = str(VENV_BIN / "academail")
DOMAIN = "ac-demo.fr"


# --- environment ----------------------------------------------------------------


@contextlib.contextmanager
def bench_home(database_url: str | None = None, *, keep: bool = False) -> Iterator[Path]:
    """A fresh ACADEMAIL_HOME (and a fresh PostgreSQL database when
    ``database_url`` is a postgres:// URL), exported in os.environ for this
    process and its children; everything is removed on exit."""
    home = Path(tempfile.mkdtemp(prefix="academail-bench-"))
    os.environ["ACADEMAIL_HOME"] = str(home)
    os.environ.pop("ACADEMAIL_BLOB_DIR", None)
    os.environ["ACADEMAIL_DOMAINS"] = DOMAIN
    pg_admin: str | None = None
    pg_name: str | None = None
    if database_url:
        parts = urlsplit(database_url)
        if parts.scheme not in {"postgres", "postgresql", "pgsql"}:
            raise SystemExit("--database-url: only postgres://user@host:port[/newdb] is supported")
        pg_name = parts.path.strip("/") or f"academail_bench_{secrets.token_hex(4)}"
        pg_admin = urlunsplit((parts.scheme, parts.netloc, "/postgres", "", ""))
        _psql(pg_admin, f'CREATE DATABASE "{pg_name}"')
        os.environ["DATABASE_URL"] = urlunsplit((parts.scheme, parts.netloc, f"/{pg_name}", "", ""))
    else:
        os.environ.pop("DATABASE_URL", None)
    try:
        yield home
    finally:
        with contextlib.suppress(Exception):
            from django.db import connections

            connections.close_all()
        if pg_admin and pg_name and not keep:
            _psql(pg_admin, f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')
        if keep:
            print(f"(kept {home}{' and ' + os.environ['DATABASE_URL'] if pg_name else ''})")
        else:
            shutil.rmtree(home, ignore_errors=True)


def _psql(admin_url: str, sql: str) -> None:
    subprocess.run(["psql", admin_url, "-q", "-v", "ON_ERROR_STOP=1", "-c", sql], check=True)


def migrate() -> float:
    """``academail migrate`` in the bench home (a subprocess); returns seconds."""
    started = time.perf_counter()
    subprocess.run([ACADEMAIL, "migrate", "-v", "0"], check=True, env=os.environ.copy())
    return time.perf_counter() - started


def setup_django() -> None:
    if "ACADEMAIL_HOME" not in os.environ:
        raise RuntimeError("bench_home() must come before setup_django()")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "academail.config.settings")
    import django

    django.setup()


@contextlib.contextmanager
def django_home(database_url: str | None = None, *, keep: bool = False) -> Iterator[tuple[Path, float]]:
    """The set-up every bench starts with: a fresh ``bench_home`` (and
    database), ``academail migrate`` in it, Django set up in this process.
    Yields (the home, the seconds the migrations took)."""
    with bench_home(database_url, keep=keep) as home:
        took = migrate()
        setup_django()
        yield home, took


def bench_account(first: str = "Hélène", last: str = "Châtelain", *, n: int = 1, unlimited: bool = False,
                  **fields: object) -> Any:
    """An active account made through the real account service (the bench's
    mailbox owner); ``unlimited``: a quota no bench reaches (it measures the
    work, not the quota). Call after ``setup_django``."""
    from academail.accounts.services import check_create_account

    account = check_create_account(first_name=first, last_name=last, numen=numen(n), status="active", **fields)
    if unlimited:
        account.quota_bytes = 10 * 1024**4
        account.save(update_fields=["quota_bytes"])
    return account


def db_label() -> str:
    from django.db import connection

    if connection.vendor == "sqlite":
        import sqlite3

        return f"SQLite {sqlite3.sqlite_version} (WAL, synchronous=FULL)"
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        return f"PostgreSQL {cursor.fetchone()[0]}"


def machine_label() -> str:
    return f"{os.cpu_count()} CPU, {platform.python_implementation()} {platform.python_version()}, {platform.machine()}"


def pg_backend_cpu() -> dict[int, float]:
    """CPU seconds so far of each PostgreSQL backend serving the bench's
    database (same machine: /proc), this process's own connection apart;
    {} on SQLite."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return {}
    with connection.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")
        pids = [int(row[0]) for row in cursor.fetchall()]
    connection.close()
    return {pid: process_cpu_seconds(pid) for pid in pids}


def pg_server_cpu() -> float:
    """CPU seconds so far of the whole PostgreSQL server on this machine,
    every database: the postmaster, its living processes, and those that
    ended (the postmaster's reaped children). Backends that live for one
    connection are counted too, which ``pg_backend_cpu`` cannot see; other
    databases' work is in it as well (NaN on SQLite)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return float("nan")
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = int(cursor.fetchone()[0])
        # Read while the connection is open: once closed, the backend may be gone.
        postmaster = int(Path(f"/proc/{backend}/stat").read_text().rsplit(")", 1)[1].split()[1])
    connection.close()
    fields = Path(f"/proc/{postmaster}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    own_and_reaped = sum(int(f) for f in fields[11:15]) / ticks
    return own_and_reaped + tree_cpu_seconds(postmaster) - process_cpu_seconds(postmaster)


def db_size_bytes() -> int:
    """The database's size: SQLite file (after a WAL checkpoint) or pg_database_size."""
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            cursor.execute("PRAGMA page_count")
            pages = cursor.fetchone()[0]
            cursor.execute("PRAGMA freelist_count")
            free = cursor.fetchone()[0]
            cursor.execute("PRAGMA page_size")
            return (pages - free) * cursor.fetchone()[0]
        cursor.execute("SELECT pg_database_size(current_database())")
        return int(cursor.fetchone()[0])


def dir_usage(path: Path) -> tuple[int, int, int, int]:
    """(files, apparent bytes of files, allocated bytes of files, allocated bytes
    including the directories themselves, like ``du -s``)."""
    files = apparent = allocated = total = 0
    for root, dirs, names in os.walk(path):
        total += os.lstat(root).st_blocks * 512
        for name in names:
            st = os.lstat(os.path.join(root, name))
            files += 1
            apparent += st.st_size
            allocated += st.st_blocks * 512
        del dirs  # os.walk descends by itself
    return files, apparent, allocated, total + allocated


# --- network --------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_port(port: int, process: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with code {process.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.05)
    raise RuntimeError(f"port {port} not open after {timeout:.0f} s")


@contextlib.contextmanager
def smtp_server(
    port: int, *, profile: str | None = None, env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """``academail serve --only smtp`` on 127.0.0.1:port, stopped with SIGTERM;
    with ``profile``, under cProfile in every thread, writing to that file; ``env``: more
    variables for this server (its own metrics port)."""
    env = {**os.environ, **(env or {})}
    env["ACADEMAIL_SMTP_PORT"] = str(port)
    env["ACADEMAIL_BIND"] = "127.0.0.1"
    log = open(Path(env["ACADEMAIL_HOME"]) / "serve.log", "ab")
    command = [ACADEMAIL, "serve", "--only", "smtp"]
    if profile:  # every thread's profile (the MX's work runs in its executor and writer threads)
        command = [sys.executable, str(BENCH_DIR / "_profile_threads.py"), profile, *command]
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_port(port, process, timeout=180)
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        log.close()


@contextlib.contextmanager
def s3_blobs() -> Iterator[subprocess.Popen[bytes]]:
    """moto's S3 server (``moto[server]``, a dev dependency) in its own process
    on a free port, and a fresh bucket; exports ACADEMAIL_BLOB_URL and the S3
    settings for this process and its children. Yields the server process."""
    import boto3

    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],  # noqa: S603
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(port, server)
        endpoint = f"http://127.0.0.1:{port}"
        keys = {"aws_access_key_id": "bench", "aws_secret_access_key": secrets.token_hex(16)}
        boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", **keys).create_bucket(Bucket="academail")
        os.environ.update({
            "ACADEMAIL_BLOB_URL": "s3://academail/mail", "ACADEMAIL_S3_ENDPOINT_URL": endpoint,
            "ACADEMAIL_S3_ACCESS_KEY_ID": keys["aws_access_key_id"],
            "ACADEMAIL_S3_SECRET_ACCESS_KEY": keys["aws_secret_access_key"],
        })
        yield server
    finally:
        for name in ("ACADEMAIL_BLOB_URL", "ACADEMAIL_S3_ENDPOINT_URL", "ACADEMAIL_S3_ACCESS_KEY_ID",
                     "ACADEMAIL_S3_SECRET_ACCESS_KEY"):
            os.environ.pop(name, None)
        server.terminate()
        server.wait(timeout=10)


def s3_object_count() -> int:
    """Blobs in the configured store (after ``setup_django``)."""
    from academail.store.blobs import blob_store

    return sum(1 for _ in blob_store().iter_shas())


def server_log_tail(lines: int = 20) -> str:
    path = Path(os.environ["ACADEMAIL_HOME"]) / "serve.log"
    if not path.exists():
        return ""
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def tree_cpu_seconds(pid: int) -> float:
    """``process_cpu_seconds`` of a process and of its living descendants
    (a server's delivery worker processes). A descendant that ends while it
    is read counts nothing (Dovecot's per-session processes come and go)."""
    total = process_cpu_seconds(pid)
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return total
    for task in tasks:
        try:
            children = (task / "children").read_text().split()
        except OSError:
            continue
        for child in children:
            seconds = tree_cpu_seconds(int(child))
            if seconds == seconds:  # not NaN: the child was still there
                total += seconds
    return total


def tree_run_ns(pids: Sequence[int]) -> int:
    """Nanoseconds on a CPU so far of every thread of ``pids`` and of their
    living descendants (``/proc/<pid>/task/<tid>/schedstat``, the scheduler's
    own count: exact, where ``process_cpu_seconds`` moves by 10 ms ticks).
    A thread that ends between two readings takes its time with it: use it
    around one command of a server whose threads live on (a store pool, an
    imap process), not across a whole run."""
    total = 0
    todo = list(pids)
    while todo:
        pid = todo.pop()
        try:
            tasks = list(Path(f"/proc/{pid}/task").iterdir())
        except OSError:
            continue
        for task in tasks:
            with contextlib.suppress(OSError, ValueError, IndexError):
                total += int((task / "schedstat").read_text().split()[0])
            with contextlib.suppress(OSError):
                todo.extend(int(child) for child in (task / "children").read_text().split())
    return total


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


# --- French text ----------------------------------------------------------------

FIRST_NAMES = [
    "Jean", "Marie", "Sophie", "Nicolas", "Isabelle", "Pierre", "Nathalie", "Thomas",
    "Céline", "François", "Hélène", "Stéphane", "Amélie", "Jérôme", "Élodie", "Sébastien",
    "Valérie", "Frédéric", "Chloé", "Benoît", "Émilie", "Grégoire", "Aurélie", "Théo",
    "Léa", "Raphaël", "Anaïs", "Noël", "Maëlle", "Joël",
]
LAST_NAMES = [
    "Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand",
    "Leroy", "Moreau", "Simon", "Laurent", "Lefèvre", "Michel", "Garcia", "David",
    "Bertrand", "Roux", "Vincent", "Fournier", "Morel", "Girard", "André", "Lefebvre",
    "Mercier", "Dupont", "Lambert", "Bonnet", "François", "Martinez", "Légaré", "Châtelain",
]
_COMMON = (
    "le la les un une des du de au aux et ou mais donc car ni que qui quoi dont où "
    "ce cette ces son sa ses leur leurs notre nos votre vos il elle nous vous ils elles "
    "est sont sera seront était avons avez ont a pour par avec sans sous sur dans entre "
    "vers chez après avant pendant depuis très plus moins bien aussi encore déjà toujours"
).split()
_SCHOOL = (
    "réunion conseil élèves parents professeurs classe collège lycée établissement "
    "principal proviseur adjoint secrétariat intendance emploi temps trimestre bulletin "
    "notes évaluation devoirs cantine sortie scolaire voyage autorisation inscription "
    "rentrée vacances examen brevet baccalauréat orientation projet pédagogique "
    "équipe enseignante vie scolaire surveillant infirmerie absence retard convocation "
    "compte rendu ordre jour délégués représentants association sportive gymnase "
    "bibliothèque documentation numérique tablette informatique formation académique "
    "inspection rectorat circulaire calendrier budget dotation heures supplémentaires "
    "remplacement harcèlement sécurité exercice incendie confinement accompagnement "
    "personnalisé stage observation entreprise mathématiques français histoire géographie "
    "anglais espagnol allemand physique chimie biologie technologie musique arts plastiques "
    "éducation physique sportive mercredi jeudi vendredi lundi mardi matin après-midi "
    "salle réfectoire préau portail navette transport famille responsable légal "
    "signature document pièce jointe formulaire dossier demande réponse rappel urgent "
    "important merci cordialement bonne journée semaine prochaine prévue décidé proposé"
).split()
_VERBS = (
    "rappelle informe précise propose demande souhaite confirme signale prévoit organise "
    "transmet envoie prépare présente valide annonce invite remercie accompagne"
).split()
VOCABULARY = _COMMON * 3 + _SCHOOL + _VERBS * 2
SUBJECT_TEMPLATES = [
    "Réunion du conseil de classe de {c}",
    "Conseil pédagogique du {d}",
    "Convocation : réunion parents-professeurs ({c})",
    "Sortie scolaire des élèves de {c} — autorisation",
    "Compte rendu du conseil d'administration",
    "Rappel : bulletins du {t} trimestre",
    "Emploi du temps modifié à partir du {d}",
    "Absence de M. {n} : remplacement en {c}",
    "Exercice incendie prévu le {d}",
    "Inscriptions au brevet : pièces à fournir",
    "Voyage en Espagne : réunion d'information des familles",
    "Orientation des élèves de {c} : vœux et calendrier",
    "Formation académique « numérique éducatif »",
    "Projet pédagogique interdisciplinaire ({c})",
    "Circulaire de rentrée : points importants",
]
CLASSES = ["6eA", "6eB", "5eC", "5eD", "4eA", "4eB", "3eA", "3eC", "2nde 3", "1re G2", "Tle STMG"]
DAYS = ["lundi 12 janvier", "mardi 3 février", "jeudi 5 mars", "vendredi 10 avril", "lundi 18 mai"]


def subject(rng: random.Random) -> str:
    template = rng.choice(SUBJECT_TEMPLATES)
    return template.format(
        c=rng.choice(CLASSES), d=rng.choice(DAYS), t=rng.choice(["1er", "2e", "3e"]), n=rng.choice(LAST_NAMES)
    )


def french_lines(rng: random.Random, size: int, *, extra_words: Sequence[str] = ()) -> list[str]:
    """Lines (≤ ~80 characters) of French-looking prose totalling about ``size``
    UTF-8 bytes; ``extra_words`` are sprinkled in once each."""
    lines: list[str] = []
    total = 0
    pending = list(extra_words)
    capital = True
    while total < size:
        if rng.random() < 0.12:
            lines.append("")
            total += 1
            capital = True
            continue
        words = rng.choices(VOCABULARY, k=rng.randint(9, 13))
        if pending:
            words.insert(rng.randrange(len(words)), pending.pop())
        if capital:
            words[0] = words[0][:1].upper() + words[0][1:]
            capital = False
        line = " ".join(words)
        if rng.random() < 0.3:
            line += "."
            capital = True
        elif rng.random() < 0.1:
            line += ","
        lines.append(line)
        total += len(line.encode()) + 2
    return lines


def encoded_header(text: str) -> str:
    """RFC 2047 when needed (what real mailers send for accented subjects)."""
    if text.isascii():
        return text
    return Header(text, "utf-8").encode(maxlinelen=76)


def person(rng: random.Random) -> tuple[str, str]:
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    local = f"{ascii_fold(first)}.{ascii_fold(last)}".lower()
    return f"{first} {last}", f"{local}@exemple-ecole.fr"


def ascii_fold(text: str) -> str:
    import unicodedata

    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if ch.isascii() and (ch.isalnum() or ch in "-")).replace("-", "")


def make_message(
    rng: random.Random,
    *,
    to: Sequence[str],
    size: int,
    attachment: int = 0,
    subject_text: str | None = None,
    extra_words: Sequence[str] = (),
    when: datetime | None = None,
    message_id: str | None = None,
    extra_headers: Sequence[str] = (),
) -> bytes:
    """A realistic message of about ``size`` bytes: UTF-8 text (8bit), or
    multipart/mixed with a base64 attachment of ``attachment`` bytes (decoded).
    ``extra_headers`` are whole field lines ("In-Reply-To: <...>")."""
    name, addr = person(rng)
    when = when or datetime.now(UTC) - timedelta(minutes=rng.randint(0, 60 * 24 * 30))
    headers = [
        f"From: {encoded_header(name)} <{addr}>",
        f"To: {', '.join(to)}",
        f"Subject: {encoded_header(subject_text or subject(rng))}",
        f"Date: {format_datetime(when)}",
        f"Message-ID: {message_id or f'<{secrets.token_hex(12)}@exemple-ecole.fr>'}",
        *extra_headers,
        "MIME-Version: 1.0",
        "User-Agent: Mozilla Thunderbird",
    ]
    text_size = max(200, size - (attachment * 4 // 3 if attachment else 0) - 600)
    body = "\r\n".join(french_lines(rng, text_size, extra_words=extra_words)) + "\r\n"
    body += f"\r\n-- \r\n{name}\r\nCollège Jean Moulin\r\n"
    if not attachment:
        headers += ["Content-Type: text/plain; charset=utf-8; format=flowed", "Content-Transfer-Encoding: 8bit"]
        return ("\r\n".join(headers) + "\r\n\r\n" + body).encode()
    import base64

    boundary = f"=_{secrets.token_hex(10)}"
    blob = rng.randbytes(attachment)
    encoded = base64.encodebytes(blob).decode().replace("\n", "\r\n")
    filename = rng.choice(["compte-rendu.pdf", "convocation.pdf", "emploi-du-temps.pdf", "autorisation-sortie.pdf"])
    headers += [f'Content-Type: multipart/mixed; boundary="{boundary}"']
    parts = [
        f"--{boundary}\r\nContent-Type: text/plain; charset=utf-8; format=flowed\r\n"
        f"Content-Transfer-Encoding: 8bit\r\n\r\n{body}",
        f"--{boundary}\r\nContent-Type: application/pdf; name=\"{filename}\"\r\n"
        f"Content-Disposition: attachment; filename=\"{filename}\"\r\n"
        f"Content-Transfer-Encoding: base64\r\n\r\n{encoded}",
        f"--{boundary}--\r\n",
    ]
    return ("\r\n".join(headers) + "\r\n\r\n" + "\r\n".join(parts)).encode()


# --- accounts -------------------------------------------------------------------


def numen(i: int) -> str:
    return f"11E{i:010d}"


def create_accounts_checked(count: int, start: int = 0) -> list[str]:
    """``count`` active accounts through the real service, one transaction each;
    returns their addresses."""
    from academail.accounts.services import check_create_account

    rng = random.Random(start)
    addresses = []
    for i in range(start, start + count):
        account = check_create_account(
            first_name=rng.choice(FIRST_NAMES), last_name=rng.choice(LAST_NAMES), numen=numen(i), status="active"
        )
        addresses.append(account.address)
    return addresses


def create_accounts_bulk(count: int, start: int = 0) -> list[str]:
    """``count`` active accounts in one transaction: Account rows by
    bulk_create (valid, distinct NUMEN hashes and ciphertexts), then
    ``do_provision_account`` for each; returns their addresses."""
    from django.conf import settings
    from django.contrib.auth.hashers import make_password
    from django.db import transaction

    from academail.accounts.models import Account
    from academail.accounts.naming import name_key
    from academail.accounts.secrets import encrypt_numen, numen_hash
    from academail.store.mailboxes import do_provision_account

    rng = random.Random(start)
    unusable = make_password(None)
    rows = []
    for i in range(start, start + count):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        f, la = ascii_fold(first).lower(), ascii_fold(last).lower()
        value = numen(i)
        rows.append(
            Account(
                identifier=f"{f[0]}{la}{i}",
                address=f"{f}.{la}{i}@{DOMAIN}",
                first_name=first,
                last_name=last,
                name_key=name_key(first, last),  # bulk_create skips save(), which keeps it
                numen_ciphertext=encrypt_numen(value),
                numen_hash=numen_hash(value),
                status="active",
                quota_bytes=settings.DEFAULT_QUOTA,
                password=unusable,
            )
        )
    with transaction.atomic():
        created = Account.objects.bulk_create(rows, batch_size=1000)
        for account in created:
            do_provision_account(account)
    return [a.address for a in created]


# --- statistics -----------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def median_ms(fn: object, runs: int) -> tuple[float, float, float]:
    """(median, min, max) in ms of ``runs`` calls of ``fn`` (after one warm-up)."""
    assert callable(fn)
    fn()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), min(times), max(times)


def human_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"


def banner(title: str) -> None:
    print(f"== {title} — {datetime.now().astimezone():%Y-%m-%d %H:%M %Z} — {machine_label()}")
