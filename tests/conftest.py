"""Shared fixtures: accounts made through the real account service, and raw messages."""

from __future__ import annotations

import itertools
from email.message import EmailMessage
from email.policy import SMTP

import pytest

_numbers = itertools.count(1)


@pytest.fixture(scope="session", autouse=True)
def _no_connection_left_at_the_end(django_db_setup):
    """Server threads of the tests (MX executors, the delivery writer, live
    servers) end with a database connection in their thread-local storage,
    freed only by the garbage collector: collect before pytest-django drops
    the test database, which PostgreSQL refuses while sessions remain."""
    yield
    import gc

    gc.collect()


@pytest.fixture(scope="session", autouse=True)
def _static_files_collected(django_db_setup):
    """Pages name static files by their hashed names (ServeStatic's manifest
    storage), as in production: collect them once into this run's data directory."""
    from django.contrib.staticfiles.handlers import StaticFilesHandler
    from django.core.management import call_command

    call_command("collectstatic", interactive=False, verbosity=0)
    # pytest-django's live server puts Django's development static handler in
    # front, which knows no hashed name: let ServeStatic answer, as in production.
    StaticFilesHandler._should_handle = lambda self, path: False


@pytest.fixture(autouse=True)
def _french_by_default():
    """Each test starts and ends in French: a request in English (language
    cookie) leaves English active in the test's thread, as LocaleMiddleware
    never deactivates it."""
    from django.utils import translation

    translation.activate("fr")
    yield
    translation.activate("fr")


@pytest.fixture(autouse=True)
def _fast_password_hashing(request):
    """Argon2 (production's hasher, memory-hard on purpose) is the point of
    tests/accounts; elsewhere it only slowed every account made and every
    sign-in. New hashes use MD5 there; Argon2 stays listed so hashes made by a
    subprocess (the demo seed, the command line) still verify."""
    if "/tests/accounts/" in request.node.path.as_posix():
        yield
        return
    from django.conf import settings
    from django.test import override_settings

    hashers = ["django.contrib.auth.hashers.MD5PasswordHasher", *settings.PASSWORD_HASHERS]
    with override_settings(PASSWORD_HASHERS=hashers):  # clears Django's hasher cache both ways
        yield


@pytest.fixture(autouse=True)
def _no_thread_answer_from_another_test():
    """THREAD answers and large mailboxes' threading rows are kept per mailbox
    state (``imap.threadcache``, ``store.threadindex``), which never goes back
    in one database; between tests it does (each test's data is emptied, and
    ids and a UIDVALIDITY of the same second come again), so every test
    starts with none kept, in memory or in the rows' files."""
    import shutil

    from academail.imap import threadcache
    from academail.store import threadindex

    threadcache.ANSWERS.clear()
    threadindex.ROWS.clear()
    shutil.rmtree(threadindex.path_of(0).parent, ignore_errors=True)


def make_numen() -> str:
    """A fresh well-formed NUMEN (académie 11, letter E, 10 digits), from
    11E5000000000 up, so that it never meets the small NUMENs tests write by
    hand (11E0000000001...), whatever the order the tests run in."""
    return f"11E{5_000_000_000 + next(_numbers):010d}"


@pytest.fixture
def make_account(db):
    from academail.accounts.models import Status
    from academail.accounts.services import check_create_account

    def factory(first: str = "Julie", last: str = "Martin", **fields):
        fields.setdefault("numen", make_numen())
        fields.setdefault("role", "staff")
        fields.setdefault("status", Status.ACTIVE)
        return check_create_account(first_name=first, last_name=last, **fields)

    return factory


def build_message(
    subject: str = "Conseil de classe",
    body: str = "Bonjour,\n\nLe conseil de classe de 3eB aura lieu jeudi.\n",
    sender: str = "direction@college-exemple.fr",
    to: str = "julie.martin@ac-demo.fr",
    attachment: bytes | None = None,
) -> bytes:
    message = EmailMessage(policy=SMTP)
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = "Thu, 26 Nov 2026 10:00:00 +0100"
    message["Message-ID"] = f"<{next(_numbers)}@college-exemple.fr>"
    message.set_content(body)
    if attachment is not None:
        message.add_attachment(attachment, maintype="application", subtype="pdf", filename="compte-rendu.pdf")
    return message.as_bytes()


# --- the two test loops: `make unit` (-m "not e2e") and `make e2e` (-m e2e) ---------
# A test is end-to-end (marker ``e2e``) when it needs a browser or a third-party
# program (swaks, mbsync, sieve-connect, vdirsyncer...), or says so itself
# (``pytest.mark.e2e``: tests that run the whole platform in a subprocess or
# drive it over real sockets from outside). Browser tests are found by their
# directory, their file name (``*_browser.py``) or the Selenium fixture; the
# modules driving a third-party program are listed here, next to the rule.
THIRD_PARTY_PROGRAMS = {
    "tests/smtp/test_swaks.py": "swaks",
    "tests/smtp/test_submission_swaks.py": "swaks",
    "tests/imap/test_mbsync.py": "mbsync",
    "tests/managesieve/test_clients.py": "sieve-connect",
    "tests/calendar/test_vdirsyncer.py": "vdirsyncer",
    "tests/archive/test_migrate_imap.py": "dovecot",
}
SELENIUM_FIXTURES = ("browser", "page")


def _is_end_to_end(item: pytest.Item) -> bool:
    path = item.path.as_posix()
    relative = path[path.rfind("/tests/") + 1 :] if "/tests/" in path else path
    if relative.startswith("tests/e2e/") or relative.endswith("_browser.py") or relative in THIRD_PARTY_PROGRAMS:
        return True
    fixtures = getattr(item, "_fixtureinfo", None)
    for name in SELENIUM_FIXTURES:
        definitions = fixtures.name2fixturedefs.get(name, ()) if fixtures is not None else ()
        if any(d.func.__module__ == "tests.e2e.conftest" for d in definitions):
            return True
    return False


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if item.get_closest_marker("e2e") is None and _is_end_to_end(item):
            item.add_marker(pytest.mark.e2e)


# --- blobs in object storage: moto's S3 server (tests/s3.py) ------------------------
from tests.s3 import s3_blobs, s3_endpoint, s3_faulty  # noqa: E402, F401 (fixtures for every test directory)


@pytest.fixture(autouse=True)
def _blobs_in_object_storage(request):
    """``ACADEMAIL_TEST_BLOBS=s3`` runs the tests with their blobs in moto's S3
    server instead of files (``make test-s3``: delivery, IMAP FETCH, the store)."""
    import os

    if os.environ.get("ACADEMAIL_TEST_BLOBS") == "s3":
        request.getfixturevalue("s3_blobs")


class Migrator:
    """Move the test database to a migration state and back (``migrator``)."""

    def migrate(self, targets):
        """Migrate to ``targets`` ([(app, migration name)]); return that state's apps."""
        from django.db import connection
        from django.db.migrations.executor import MigrationExecutor

        executor = MigrationExecutor(connection)
        executor.migrate(targets)
        return executor.loader.project_state(targets).apps

    def latest(self) -> None:
        from django.db import connection
        from django.db.migrations.executor import MigrationExecutor

        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.fixture
def migrator(transactional_db):
    """For data-migration tests: the schema is always brought back to the
    latest migrations afterwards, even when the test fails half-way (else
    every later test would run on an old schema and fail for nothing)."""
    helper = Migrator()
    yield helper
    helper.latest()


@pytest.fixture(params=["probe", "index"])
def both_search_paths(request, monkeypatch):
    """Runs a search test twice: with each message's own document tested (the
    form small mailboxes get) and through the shared full-text index (the form
    large ones get, forced here by a limit no scope is under). Both must find
    the same messages (store.search.probes)."""
    if request.param == "index":
        from academail.store import search

        monkeypatch.setattr(search, "PROBE_LIMIT", -1)
    return request.param


@pytest.fixture(scope="module")
def dovecot():
    """A real Dovecot (tests/dovecot.py) for the migration tests of one
    module: the "old server" they copy from."""
    from tests.dovecot import running_dovecot

    with running_dovecot() as server:
        yield server


@pytest.fixture
def old_platform(settings, dovecot):
    """The académie names its old server (``dovecot``, on a loopback
    address) in the migration allow-list, with its CA."""
    settings.MIGRATION_ALLOWED_HOSTS = ["127.0.0.1"]
    settings.MIGRATION_CA_FILE = str(dovecot.cert)
    return dovecot
