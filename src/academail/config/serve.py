"""``academail serve``: web (uvicorn), SMTP (MX and submission) and the worker
(housekeeping, outbound queue) and IMAP in one asyncio loop. It lives in
``config/`` (the composition root, beside the command and the URLs) rather
than in ``server/``: the protocols import ``server/``'s line-protocol library,
so starting them from there would make a package cycle. ``--only`` runs a subset, so the same code scales out over several
processes or machines sharing one database and one blob store.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import resource
import signal
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.management import call_command
from django.db import close_old_connections, connection
from django.utils import timezone

from academail.accounts.helpdesk import do_purge_departed
from academail.accounts.journal import do_purge_journal
from academail.archive.export import do_purge_exports
from academail.archive.uploads import do_purge_uploads
from academail.calendar import appointments
from academail.calendar.directory import do_generate_directory
from academail.delivery.batcher import DeliveryBatcher
from academail.delivery.queue import run_queue_worker
from academail.help.training import do_send_reminders
from academail.imap.server import start_imap, stop_store_threads
from academail.jobs.runner import run_jobs_worker
from academail.lists.digests import do_queue_digests
from academail.managesieve.server import start_managesieve
from academail.managesieve.server import stop_store_threads as stop_sieve_threads
from academail.operations.health import check_startup
from academail.operations.metrics import start_metrics_listener
from academail.server.instance import release, take_service_locks
from academail.server.tls import server_context
from academail.sharing.delegation import do_close_expired
from academail.smtp.mx import start_mx
from academail.smtp.submission import start_submission
from academail.store.events import listen_forever
from academail.store.gc import do_clean_blob_tmp, do_collect
from academail.store.quota import do_quota_notices
from academail.store.retention import do_queue_retention
from academail.store.tombstones import do_purge_tombstones

log = logging.getLogger("academail.serve")

SERVICES = ("web", "smtp", "imap", "worker")
GC_INTERVAL_SECONDS = 3600


def _housekeeping(hour: int) -> None:
    """One round: the CardDAV directory, training and appointment reminders
    (within 24 hours), agenda writes of bookings that failed, waiting-list offers past their time, and blob and
    content collection every hour; once a day, the journal purge (12 months, CNIL), spent codes, idle throttles and expired
    web sessions, expunge tombstones (ACADEMAIL_EXPUNGED_KEEP_DAYS), the
    retention purge of Corbeille and Indésirables (a job, ACADEMAIL_RETENTION_DAYS)
    and the orphan-blob sweep."""
    close_old_connections()
    directory = do_generate_directory()
    if directory.written or directory.removed:
        log.info("directory address book: %d cards written, %d removed", directory.written, directory.removed)
    report = do_collect(sweep_orphans=hour == 0)
    if report.contents or report.blobs or report.orphans or report.tmp:
        log.info("gc: %d contents, %d blobs, %d orphans, %d interrupted writes removed",
                 report.contents, report.blobs, report.orphans, report.tmp)
    do_queue_digests(timezone.now())  # the day's list digests, once, after ACADEMAIL_LISTS_DIGEST_HOUR
    closed = do_close_expired(timezone.now())  # delegations whose period is over (issue 19)
    if closed:
        log.info("sharing: %d delegation(s) or share(s) ended", closed)
    reminded = do_send_reminders(timezone.now())
    if reminded:
        log.info("training reminders sent: %d", reminded)
    booked = appointments.do_send_reminders(timezone.now())
    written = appointments.do_write_missing_events()
    passed = appointments.do_pass_expired_offers(timezone.now())  # waiting list: unanswered offers move on
    if booked or written or passed:
        log.info("appointments: %d reminders sent, %d agenda writes retried, %d expired offers passed on",
                 booked, written, passed)
    if hour == 0:
        purged = do_purge_journal(timezone.now())
        call_command("clearsessions")
        do_queue_retention(timezone.now())  # Corbeille and Indésirables, as a resumable job
        do_purge_exports(timezone.now())  # export files are kept ACADEMAIL_EXPORT_KEEP_DAYS days
        do_purge_uploads(timezone.now())  # import uploads left unfinished for a day
        tombstones = do_purge_tombstones(timezone.now())
        departed = do_purge_departed(timezone.now())
        if departed:
            log.info("departures: %d account(s) deleted after their delay", departed)
        log.info("daily purge: %d journal entries, %d expunge tombstones", purged, tombstones)


async def _worker(stop: asyncio.Event) -> None:
    """Periodic housekeeping, hourly; the first round of a run is a daily one."""
    hour = 0
    while not stop.is_set():
        try:
            await sync_to_async(_housekeeping, thread_sensitive=False)(hour)
        except Exception:
            log.exception("housekeeping failed")
        hour = (hour + 1) % 24
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stop.wait(), GC_INTERVAL_SECONDS)


def _quota_round() -> None:
    close_old_connections()
    from academail.delivery.route import send_notice

    report = do_quota_notices(timezone.now(), send_notice)
    if report.thresholds or report.full:
        log.info("quota notices: %d thresholds, %d full mailboxes", report.thresholds, report.full)


async def _quota_worker(stop: asyncio.Event) -> None:
    """Quota notices (``store.quota``), every ``QUOTA_NOTICE_INTERVAL`` seconds."""
    while not stop.is_set():
        try:
            await sync_to_async(_quota_round, thread_sensitive=False)()
        except Exception:
            log.exception("quota notices failed")
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stop.wait(), settings.QUOTA_NOTICE_INTERVAL)


def _ensure_static_files() -> None:
    """ServeStatic serves STATIC_ROOT under hashed names: collect the files on a
    first start (``make run`` and deployments run ``collectstatic`` on upgrade)."""
    if not (Path(settings.STATIC_ROOT) / "staticfiles.json").exists():
        log.info("collecting static files into %s", settings.STATIC_ROOT)
        call_command("collectstatic", interactive=False, verbosity=0)


async def serve(services: Iterable[str] = SERVICES) -> None:
    wanted = set(services)
    unknown = wanted - set(SERVICES)
    if unknown:
        raise SystemExit(f"unknown service(s): {', '.join(sorted(unknown))}; choose among {', '.join(SERVICES)}")
    check_startup()  # production: every mail domain has its DKIM key
    # Before binding anything: a second instance on the same SQLite data directory stops here.
    locks = take_service_locks(wanted, vendor=connection.vendor)
    try:
        await _serve(wanted)
    finally:
        release(locks)


def raise_open_files_limit() -> int:
    """Raise this process's open-files soft limit to its hard limit; returns it.

    Each IMAP IDLE session holds a socket for hours: an académie's 5,000 over
    two processes is 2,500 a process, beyond the soft limit of 1,024 that
    systemd and most shells give (the hard limit is 524,288 under systemd).
    Past the soft limit ``accept()`` fails with EMFILE and clients see refused
    connections, so the process takes what the administrator allowed, as
    Dovecot and nginx (``worker_rlimit_nofile``) do."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        wanted = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


async def _serve(wanted: set[str]) -> None:
    stop = asyncio.Event()
    log.info("open files limit %d", raise_open_files_limit())
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    tls = server_context()
    # What a crash left in blobs/tmp/ (an interrupted write): older than the grace period.
    cleaned = await asyncio.to_thread(do_clean_blob_tmp)
    if cleaned:
        log.info("removed %d temporary blob files left by an interrupted write", cleaned)
    host = settings.BIND_ADDRESS
    tasks: list[asyncio.Task[None]] = []
    servers: list[asyncio.base_events.Server] = []
    batcher: DeliveryBatcher | None = None

    if "smtp" in wanted:
        batcher = DeliveryBatcher()
        await batcher.workers.start()
        log.info("%d delivery worker processes", batcher.workers.count)
        servers.append(await start_mx(batcher, host=host, port=settings.SMTP_PORT, tls_context=tls))
        log.info("SMTP MX listening on %s:%d (STARTTLS)", host, settings.SMTP_PORT)
        for port, implicit in ((settings.SUBMISSION_PORT, False), (settings.SUBMISSIONS_PORT, True)):
            servers.append(
                await start_submission(batcher, host=host, port=port, tls_context=tls, implicit_tls=implicit)
            )
            log.info("submission listening on %s:%d (%s)", host, port, "TLS" if implicit else "STARTTLS")
    if "imap" in wanted:
        for port, implicit in ((settings.IMAPS_PORT, True), (settings.IMAP_PORT, False)):
            servers.append(await start_imap(host=host, port=port, tls_context=tls, implicit_tls=implicit))
            log.info("IMAP listening on %s:%d (%s)", host, port, "TLS" if implicit else "STARTTLS")
        # ManageSieve (RFC 5804) edits the filters of the same mail clients.
        servers.append(await start_managesieve(host=host, port=settings.MANAGESIEVE_PORT, tls_context=tls))
        log.info("ManageSieve listening on %s:%d (STARTTLS)", host, settings.MANAGESIEVE_PORT)
    if "web" in wanted:
        import uvicorn

        await asyncio.to_thread(_ensure_static_files)

        from academail.config.asgi import application

        class EmbeddedServer(uvicorn.Server):
            # The process's signals are ours (they stop every service), not uvicorn's.
            @contextlib.contextmanager
            def capture_signals(self) -> Iterator[None]:
                yield

        # log_config=None: uvicorn's access and error lines go through our
        # handlers (settings.LOGGING), whose filter masks token links.
        config = uvicorn.Config(application, host=host, port=settings.WEB_PORT, log_level="info", lifespan="off",
                                log_config=None, proxy_headers=False)  # config.proxies decides
        web = EmbeddedServer(config)
        tasks.append(asyncio.create_task(web.serve()))
        log.info("web listening on http://%s:%d/", host, settings.WEB_PORT)
    if settings.METRICS_PORT and "web" not in wanted:
        servers.append(await start_metrics_listener(host, settings.METRICS_PORT))
        log.info("metrics listening on http://%s:%d/metrics", host, settings.METRICS_PORT)
    listener_stop = threading.Event()
    listener: threading.Thread | None = None
    if connection.vendor == "postgresql" and wanted & {"imap", "web"}:
        # Other processes' store events reach this one's IDLE sessions and
        # live pages. Only those subscribe: an MX or worker process would
        # decode every other process's notifications for nobody.
        listener = threading.Thread(target=listen_forever, args=(listener_stop,), name="academail-events", daemon=True)
        listener.start()
    if "worker" in wanted:
        tasks.append(asyncio.create_task(_worker(stop)))
        tasks.append(asyncio.create_task(run_queue_worker(stop)))
        tasks.append(asyncio.create_task(run_jobs_worker(stop)))
        tasks.append(asyncio.create_task(_quota_worker(stop)))
    print(f"academail ready: {', '.join(sorted(wanted))}", flush=True)  # noqa: T201

    await stop.wait()
    log.info("stopping")
    for server in servers:
        server.close()
    if "web" in wanted:
        web.should_exit = True
    for server in servers:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(server.wait_closed(), 5)
    await asyncio.gather(*tasks, return_exceptions=True)
    listener_stop.set()
    if listener is not None:
        await asyncio.to_thread(listener.join, 5)
    if batcher is not None:
        await asyncio.to_thread(batcher.close)
    if "imap" in wanted:
        await asyncio.to_thread(stop_store_threads)
        await asyncio.to_thread(stop_sieve_threads)
