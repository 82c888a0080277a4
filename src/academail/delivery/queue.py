"""The outbound queue: mail for recipients outside the académie, persisted in
the database until a remote server takes it, refuses it, or the queue gives up.

- ``do_enqueue`` stores the bytes once (``OutboundMessage``) and one
  ``QueueEntry`` per recipient, in the caller's transaction: submission answers
  ``250`` only after that commit (and the local copies' commit: the same one).
- ``run_queue_worker`` takes due entries (``claim_due``: PostgreSQL
  ``SELECT ... FOR UPDATE SKIP LOCKED``, so several workers share the queue;
  SQLite's IMMEDIATE transactions serialise them), pushes each forward by a
  lease, delivers the ones for the same message and domain in one SMTP
  transaction through a ``Transport``, then records the outcome
  (``record_results``): delivered entries go, temporary failures are retried
  on ``settings.QUEUE_RETRY_SCHEDULE`` with a "delayed" notice after
  ``QUEUE_DELAY_NOTICE``, permanent failures and entries older than
  ``QUEUE_MAX_LIFETIME`` produce a bounce (``delivery.dsn``) to the sender,
  never to the null sender (RFC 5321 §4.5.5, §6.1).
- Transports: ``SMTPTransport`` (MX lookup through an injectable resolver, or a
  relay host; STARTTLS when offered) and ``CaptureTransport`` (capture mode:
  the message lands in ``CapturedMessage`` and counts as delivered). Tests
  inject their own transport, resolver and clock (STYLE.md example 10).

A worker that dies mid-delivery leaves its entries leased; another takes them
when the lease ends, so a message is delivered at least once (a remote that
received the data but whose reply was lost may get it twice, as with every MTA,
RFC 5321 §6.1).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.utils import timezone

from academail.delivery import replies as synthetic
from academail.delivery.dns import DNSNotFound, DnsPythonResolver, DNSTemporaryError, Resolver
from academail.delivery.dsn import RecipientStatus, build_dsn
from academail.delivery.models import CapturedMessage, OutboundMessage, QueueEntry
from academail.mime.parse import parse_message

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
# An entry taken by a worker is not due again before this (the longest SMTP
# transaction we allow is well under it).
LEASE = timedelta(minutes=20)
CLAIM_BATCH = 100
POLL_SECONDS = 1.0
CONCURRENCY = 16


def _domain(address: str) -> str:
    return address.rpartition("@")[2].lower()


def is_local(address: str) -> bool:
    return _domain(address) in settings.MAIL_DOMAINS


def header_section(raw: bytes) -> bytes:
    """The header section of ``raw`` and its ending blank line (RFC 5322 §2.1):
    what reading the subject or the From needs, without parsing (and indexing
    for search) a whole 25 MB body."""
    for separator in (b"\r\n\r\n", b"\n\n"):
        end = raw.find(separator)
        if end >= 0:
            return raw[: end + len(separator)]
    return raw


def subject_of(raw: bytes) -> str:
    return parse_message(header_section(raw)).subject[:2000]


# --- enqueue -------------------------------------------------------------------


def do_enqueue(
    raw: bytes,
    *,
    mail_from: str,
    recipients: Sequence[str],
    account_id: int | None = None,
    now: datetime | None = None,
) -> OutboundMessage:
    """Queue ``raw`` (final bytes: trace and DKIM fields already prepended) for
    ``recipients``; due at once.

    Precondition: inside ``transaction.atomic()`` (durable when it commits)."""
    now = now or timezone.now()
    unique = list(dict.fromkeys(r.strip() for r in recipients if r.strip()))
    message = OutboundMessage.objects.create(
        created_at=now,
        mail_from=mail_from,
        subject=subject_of(raw),
        raw=raw,
        size=len(raw),
        account_id=account_id,
    )
    QueueEntry.objects.bulk_create(
        QueueEntry(message=message, recipient=r, domain=_domain(r), created_at=now, next_attempt_at=now)
        for r in unique
    )
    return message


def enqueue(raw: bytes, *, mail_from: str, recipients: Sequence[str], account_id: int | None = None) -> int:
    """``do_enqueue`` in its own transaction; returns the message id."""
    with transaction.atomic():
        return do_enqueue(raw, mail_from=mail_from, recipients=recipients, account_id=account_id).pk


# --- transports ------------------------------------------------------------------


class Transport(Protocol):
    async def send(self, mail_from: str, recipients: Sequence[str], data: bytes) -> dict[str, str]:
        """Deliver ``data`` to ``recipients`` (all of one domain); the reply
        ("250 2.0.0 ...", "450 ...", "550 5.1.1 ...") for each recipient."""
        ...


def _client_tls_context() -> ssl.SSLContext:
    # RFC 7435 opportunistic TLS, as MTAs do between domains: encrypt when the
    # peer offers STARTTLS, without refusing an unverifiable certificate
    # (MTA-STS / DANE would be the way to require it).
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def _needs_smtputf8(mail_from: str, recipients: Iterable[str]) -> bool:
    return not all(a.isascii() for a in (mail_from, *recipients))


class SMTPTransport:
    """Delivers over SMTP with aiosmtplib: to ``relay`` ("host[:port]") when
    set, else to the domain's MX hosts in preference order (RFC 5321 §5.1),
    each address in turn until one answers."""

    def __init__(
        self,
        resolver: Resolver | None = None,
        *,
        relay: str | None = None,
        port: int | None = None,
        timeout: float | None = None,
    ) -> None:
        self.resolver = resolver or DnsPythonResolver()
        self.relay = settings.RELAY_HOST if relay is None else relay
        self.port = settings.OUTBOUND_SMTP_PORT if port is None else port
        self.timeout = float(settings.QUEUE_CONNECT_TIMEOUT if timeout is None else timeout)

    async def _targets(self, domain: str) -> list[tuple[str, str, int]] | str:
        """(name, address, port) to try, or the reply that fails everyone."""
        if self.relay:
            host, _, port = self.relay.rpartition(":") if ":" in self.relay else (self.relay, "", "")
            return [(host, host, int(port) if port else 25)]
        try:
            records = sorted(await self.resolver.mx(domain))
        except DNSNotFound:
            records = [(0, domain)]  # RFC 5321 §5.1: no MX, the domain itself is the implicit MX
        except DNSTemporaryError:
            return synthetic.S451_DNS_TEMPORARY.format(domain=domain)
        if len(records) == 1 and records[0][1] in {".", ""}:
            return synthetic.S556_NULL_MX.format(domain=domain)  # RFC 7505 §3
        targets: list[tuple[str, str, int]] = []
        temporary = False
        for _, host in records:
            try:
                targets.extend((host, address, self.port) for address in await self.resolver.addresses(host))
            except DNSTemporaryError:
                temporary = True
            except DNSNotFound:
                continue
        if not targets:
            if temporary:
                return synthetic.S451_DNS_TEMPORARY.format(domain=domain)
            return synthetic.S550_DNS_NO_DOMAIN.format(domain=domain)
        return targets

    async def send(self, mail_from: str, recipients: Sequence[str], data: bytes) -> dict[str, str]:
        import aiosmtplib

        targets = await self._targets(_domain(recipients[0]))
        if isinstance(targets, str):
            return dict.fromkeys(recipients, targets)
        last = synthetic.S451_CONNECT_FAILED.format(host=_domain(recipients[0]), reason="no server")
        for name, address, port in targets:
            try:
                return await self._session(name, address, port, mail_from, recipients, data)
            except (OSError, aiosmtplib.SMTPException, TimeoutError) as error:
                reason = " ".join(str(error).split())[:200] or type(error).__name__
                last = synthetic.S451_CONNECT_FAILED.format(host=f"{name}[{address}]:{port}", reason=reason)
                log.info("outbound: %s", last)
        return dict.fromkeys(recipients, last)

    async def _session(
        self, name: str, address: str, port: int, mail_from: str, recipients: Sequence[str], data: bytes
    ) -> dict[str, str]:
        import aiosmtplib

        client = aiosmtplib.SMTP(
            hostname=address, port=port, timeout=self.timeout, local_hostname=settings.MAIL_HOSTNAME,
            start_tls=False, use_tls=False,
        )
        await client.connect()
        try:
            await client.ehlo()
            if client.supports_extension("starttls"):  # RFC 3207
                await client.starttls(tls_context=_client_tls_context(), server_hostname=name)
                await client.ehlo()  # RFC 3207 §4.2: forget what was said before TLS
            options: list[str] = []
            encoding = "ascii"
            if _needs_smtputf8(mail_from, recipients):  # RFC 6531 §3.4
                if not client.supports_extension("smtputf8"):
                    return dict.fromkeys(recipients, synthetic.S553_NO_SMTPUTF8)
                options.append("SMTPUTF8")
                encoding = "utf-8"
            if client.supports_extension("size"):  # RFC 1870
                options.append(f"SIZE={len(data)}")
            if client.supports_extension("8bitmime") and not data.isascii():  # RFC 6152
                options.append("BODY=8BITMIME")
            replies: dict[str, str] = {}
            try:
                await client.mail(mail_from, options=options, encoding=encoding)
            except aiosmtplib.SMTPResponseException as refused:
                return dict.fromkeys(recipients, f"{refused.code} {refused.message}")
            accepted: list[str] = []
            for recipient in recipients:
                try:
                    await client.rcpt(recipient, encoding=encoding)
                    accepted.append(recipient)
                except aiosmtplib.SMTPResponseException as refused:
                    replies[recipient] = f"{refused.code} {refused.message}"
            if not accepted:
                with contextlib.suppress(aiosmtplib.SMTPException):
                    await client.rset()
                return replies
            try:
                response = await client.data(data)
                reply = f"{response.code} {response.message}"
            except aiosmtplib.SMTPResponseException as refused:
                reply = f"{refused.code} {refused.message}"
            for recipient in accepted:
                replies[recipient] = reply
            return replies
        finally:
            try:
                await client.quit()
            except (aiosmtplib.SMTPException, OSError, TimeoutError):
                client.close()


class CaptureTransport:
    """Capture mode: nothing leaves the machine; the message is kept for the
    administrators' page ("Courrier sortant retenu") and counts as delivered."""

    async def send(self, mail_from: str, recipients: Sequence[str], data: bytes) -> dict[str, str]:
        await sync_to_async(_capture, thread_sensitive=False)(mail_from, list(recipients), data)
        return dict.fromkeys(recipients, "250 2.0.0 Captured (capture mode)")


def _capture(mail_from: str, recipients: list[str], data: bytes) -> None:
    close_old_connections()
    CapturedMessage.objects.create(
        mail_from=mail_from, recipients=recipients, subject=subject_of(data), raw=data
    )


def default_transport() -> Transport:
    return CaptureTransport() if settings.OUTBOUND_CAPTURE else SMTPTransport()


# --- the worker ------------------------------------------------------------------


@dataclass(frozen=True)
class Claimed:
    entry_id: int
    message_id: int
    recipient: str
    domain: str


def claim_due(now: datetime, limit: int = CLAIM_BATCH) -> list[Claimed]:
    """Take up to ``limit`` due entries, oldest due first, and lease them.

    Precondition: none (own short transaction; no lock is held while delivering)."""
    close_old_connections()
    with transaction.atomic():
        due = QueueEntry.objects.filter(next_attempt_at__lte=now).order_by("next_attempt_at")
        if connection.features.has_select_for_update_skip_locked:
            # PostgreSQL: concurrent workers skip each other's rows instead of waiting.
            due = due.select_for_update(skip_locked=True)
        rows = list(due.values_list("pk", "message_id", "recipient", "domain")[:limit])
        if rows:
            QueueEntry.objects.filter(pk__in=[r[0] for r in rows]).update(next_attempt_at=now + LEASE)
    return [Claimed(*row) for row in rows]


def _load(message_id: int) -> tuple[str, bytes] | None:
    close_old_connections()
    row = OutboundMessage.objects.filter(pk=message_id).values_list("mail_from", "raw").first()
    return None if row is None else (row[0], bytes(row[1]))


def _retry_delay(attempts: int) -> timedelta:
    schedule = settings.QUEUE_RETRY_SCHEDULE or [3600]
    return timedelta(seconds=schedule[min(attempts - 1, len(schedule) - 1)])


@dataclass
class Outcome:
    delivered: int = 0
    deferred: int = 0
    failed: int = 0


def record_results(message_id: int, replies: dict[int, tuple[str, str]], now: datetime) -> Outcome:
    """Apply the replies ({entry id: (recipient, reply)}) of one attempt.

    Precondition: none (own transaction). Locks the OutboundMessage row, so two
    workers finishing entries of one message do not both leave it behind.
    Sends bounces and delay notices after the commit."""
    close_old_connections()
    outcome = Outcome()
    failed: list[RecipientStatus] = []
    delayed: list[RecipientStatus] = []
    with transaction.atomic():
        message = OutboundMessage.objects.select_for_update().filter(pk=message_id).first()
        if message is None:
            return outcome
        entries = {e.pk: e for e in QueueEntry.objects.filter(pk__in=list(replies))}
        done: list[int] = []
        for entry_id, (recipient, reply) in replies.items():
            entry = entries.get(entry_id)
            if entry is None:  # deleted by an administrator meanwhile
                continue
            entry.attempts += 1
            entry.last_attempt_at = now
            entry.last_reply = reply[:2000]
            if reply.startswith("2"):
                outcome.delivered += 1
                done.append(entry_id)
            elif reply.startswith("4") and now < entry.created_at + timedelta(seconds=settings.QUEUE_MAX_LIFETIME):
                outcome.deferred += 1
                entry.next_attempt_at = now + _retry_delay(entry.attempts)
                if not entry.delay_notified and now >= entry.created_at + timedelta(seconds=settings.QUEUE_DELAY_NOTICE):
                    entry.delay_notified = True
                    delayed.append(RecipientStatus(recipient, reply))
                entry.save(update_fields=["attempts", "last_attempt_at", "last_reply", "next_attempt_at", "delay_notified"])
            else:
                # 5xx, or a 4xx past the queue lifetime (RFC 5321 §4.5.4.1: give up after 4-5 days).
                outcome.failed += 1
                if reply.startswith("4"):
                    reply = f"{reply} (expired after {settings.QUEUE_MAX_LIFETIME // 3600} h)"
                failed.append(RecipientStatus(recipient, reply))
                done.append(entry_id)
        QueueEntry.objects.filter(pk__in=done).delete()
        mail_from, created, raw = message.mail_from, message.created_at, bytes(message.raw)
        if not message.entries.exists():
            message.delete()
    for statuses, is_delay in ((failed, False), (delayed, True)):
        if statuses and mail_from:  # never a DSN to the null sender (RFC 5321 §4.5.5)
            until = created + timedelta(seconds=settings.QUEUE_MAX_LIFETIME)
            send_dsn(raw, mail_from, statuses, delayed=is_delay, arrival=created, until=until, now=now)
    return outcome


def send_dsn(
    original: bytes, sender: str, statuses: list[RecipientStatus], *, delayed: bool = False,
    arrival: datetime | None = None, until: datetime | None = None, now: datetime | None = None,
) -> None:
    """Send the DSN (``delivery.dsn``) for ``statuses`` of ``original`` to
    ``sender`` (not null): through the one door for an académie address,
    queued with a null sender otherwise. Never raises (logged).
    Precondition: none (its own transaction, or the caller's)."""
    # The route imports this module (it queues): imported here, inside delivery/.
    from academail.delivery.door import DeliveryRefused
    from academail.delivery.route import deliver

    dsn = build_dsn(original, sender=sender, statuses=statuses, delayed=delayed, arrival=arrival, until=until, now=now)
    try:
        if is_local(sender):
            # The one door, like any other mail for the académie.
            result = deliver(dsn, [sender])[0]
            if isinstance(result, DeliveryRefused) or not result.delivered:
                log.warning("DSN for %s not delivered: %s", sender, result)
        else:
            with transaction.atomic():
                do_enqueue(dsn, mail_from="", recipients=[sender], now=now)
    except Exception:
        log.exception("could not send a DSN to %s", sender)


async def process_due(transport: Transport, *, now: datetime | None = None, limit: int = CLAIM_BATCH) -> Outcome:
    """One pass: claim due entries, deliver them (grouped per message and
    domain, ``CONCURRENCY`` SMTP transactions at a time), record the outcomes."""
    now = now or timezone.now()
    claimed = await sync_to_async(claim_due, thread_sensitive=False)(now, limit)
    groups: dict[tuple[int, str], list[Claimed]] = defaultdict(list)
    for item in claimed:
        groups[(item.message_id, item.domain)].append(item)
    total = Outcome()
    semaphore = asyncio.Semaphore(CONCURRENCY)

    async def attempt(items: list[Claimed]) -> None:
        async with semaphore:
            loaded = await sync_to_async(_load, thread_sensitive=False)(items[0].message_id)
            if loaded is None:
                return
            mail_from, data = loaded
            recipients = [i.recipient for i in items]
            try:
                replies = await transport.send(mail_from, recipients, data)
            except Exception as error:  # a transport bug must not lose the entry: retry later
                log.exception("outbound transport failed")
                replies = {}
                fallback = synthetic.S451_CONNECT_FAILED.format(host=items[0].domain, reason=type(error).__name__)
            else:
                fallback = synthetic.S451_CONNECT_FAILED.format(host=items[0].domain, reason="no reply for recipient")
            by_entry = {i.entry_id: (i.recipient, replies.get(i.recipient, fallback)) for i in items}
            outcome = await sync_to_async(record_results, thread_sensitive=False)(items[0].message_id, by_entry, now)
            total.delivered += outcome.delivered
            total.deferred += outcome.deferred
            total.failed += outcome.failed

    await asyncio.gather(*(attempt(items) for items in groups.values()))
    if claimed:
        log.info("queue: %d delivered, %d deferred, %d failed", total.delivered, total.deferred, total.failed)
    return total


async def run_queue_worker(
    stop: asyncio.Event,
    *,
    transport: Transport | None = None,
    clock: Clock = timezone.now,
    poll_seconds: float = POLL_SECONDS,
) -> None:
    """Deliver due entries until ``stop`` is set. Safe to run in several
    processes at once (see ``claim_due``)."""
    transport = transport or default_transport()
    while not stop.is_set():
        try:
            outcome = await process_due(transport, now=clock())
            busy = outcome.delivered + outcome.deferred + outcome.failed > 0
        except Exception:
            log.exception("queue pass failed")
            busy = False
        if busy:
            await asyncio.sleep(0)
            continue
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stop.wait(), poll_seconds)


# --- administration (``academail queue``) ------------------------------------------


def list_entries(limit: int = 1000) -> list[QueueEntry]:
    return list(QueueEntry.objects.select_related("message").order_by("next_attempt_at", "pk")[:limit])


def get_entry(entry_id: int) -> QueueEntry | None:
    return QueueEntry.objects.select_related("message").filter(pk=entry_id).first()


def do_retry(entry_ids: Sequence[int] | None = None, *, now: datetime | None = None) -> int:
    """Make entries (all when ``entry_ids`` is None) due now."""
    entries = QueueEntry.objects.all() if entry_ids is None else QueueEntry.objects.filter(pk__in=entry_ids)
    return entries.update(next_attempt_at=now or timezone.now())


def do_delete(entry_ids: Sequence[int]) -> int:
    """Drop entries without a bounce (an administrator's decision)."""
    with transaction.atomic():
        message_ids = set(QueueEntry.objects.filter(pk__in=entry_ids).values_list("message_id", flat=True))
        deleted, _ = QueueEntry.objects.filter(pk__in=entry_ids).delete()
        OutboundMessage.objects.filter(pk__in=message_ids, entries__isnull=True).delete()
    return deleted


def queue_stats() -> tuple[int, datetime | None]:
    """(recipients waiting in the outbound queue, when the oldest was queued):
    one aggregate query over the queue's index, for the metrics."""
    from django.db.models import Count, Min

    row = QueueEntry.objects.aggregate(depth=Count("id"), oldest=Min("created_at"))
    return int(row["depth"]), row["oldest"]
