"""Daily digests ("un résumé par jour"): a member of a hand list who chose
it gets the day's posts in one message instead of each post.

- **Choosing:** on the list's page (``check_set_digest``), for the person's
  own membership rows of that list. Switching on starts after the newest
  post already received one by one (``Member.digest_after``), so nothing
  comes twice; switching off sends the next posts one by one again.
- **Expansion:** ``posting.do_distribute`` leaves digest members out of
  the immediate copies.
- **The round:** once a day, at the first housekeeping round after
  ``LISTS_DIGEST_HOUR`` (Europe/Paris), the worker queues one job
  (``lists.digest``, ``jobs.runner``); the job walks the digest members in
  batches. For each member, the list's distributed posts after
  ``digest_after`` become one MIME digest (RFC 2046 §5.1.5: a table of
  contents, then a ``multipart/digest`` of ``message/rfc822`` parts, the
  posts' own bytes), sent as the list (its bounce address, its List-*
  fields) through the platform's route; the member's ``digest_after``
  moves in the same transaction (``jobs.runner.step``), so a crash neither
  loses nor repeats a digest.
"""

from __future__ import annotations

import datetime as dt
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.mime.message import MIMEMessage
from email.mime.multipart import MIMEMultipart
from email.utils import format_datetime, formataddr, make_msgid
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Max

from academail.accounts.models import Account
from academail.delivery.route import do_send_platform_mail
from academail.jobs.models import ACTIVE_STATES, Job, JobState
from academail.jobs.runner import Clock, do_queue, step
from academail.lists.models import Kind, MailingList, Member, Post, PostStatus
from academail.lists.posting import bounce_address, list_headers
from academail.store.blobs import blob_store

KIND = "lists.digest"
BATCH = 50  # members per transaction
MAX_POSTS = 100  # posts in one digest; the rest wait for the next one
PARIS = ZoneInfo("Europe/Paris")


class DigestError(ValueError):
    """``str()`` is French, for the person."""


def check_set_digest(account: Account, mailing_list: MailingList, digest: bool, addresses: set[str]) -> int:
    """The person's own rows of a hand list (``addresses``: theirs) switch to
    a daily digest or back. Returns how many rows changed. Raises
    DigestError for a directory list (its members are the directory's, with
    no row to hold a choice)."""
    if mailing_list.kind != Kind.MANUAL:
        raise DigestError("Les listes tenues depuis l'annuaire arrivent message par message.")
    newest = Post.objects.filter(mailing_list=mailing_list, status=PostStatus.DISTRIBUTED).aggregate(
        newest=Max("pk"))["newest"] or 0
    rows = Member.objects.filter(mailing_list=mailing_list, address__in=addresses)
    if digest:
        return rows.filter(digest=False).update(digest=True, digest_after=newest)
    return rows.filter(digest=True).update(digest=False)


def do_queue_digests(now: dt.datetime) -> Job | None:
    """Queue today's round once, at or after ``LISTS_DIGEST_HOUR`` (Paris
    time); the worker's hourly housekeeping calls this. Returns the job."""
    local = now.astimezone(PARIS)
    if local.hour < settings.LISTS_DIGEST_HOUR:
        return None
    since = dt.datetime.combine(local.date(), dt.time(settings.LISTS_DIGEST_HOUR), PARIS)
    if Job.objects.filter(kind=KIND).filter(created_at__gte=since).exists() or Job.objects.filter(
            kind=KIND, state__in=ACTIVE_STATES).exists():
        return None
    return do_queue(KIND, None, params={"until": now.isoformat()})


def build_digest(mailing_list: MailingList, address: str, posts: list[Post], now: dt.datetime) -> bytes:
    """One digest for ``address``: French table of contents, then the posts
    as ``message/rfc822`` parts of a ``multipart/digest`` (RFC 2046 §5.1.5)."""
    day = now.astimezone(PARIS)
    plural = "s" if len(posts) > 1 else ""
    lines = [f"Résumé de la liste « {mailing_list.name} » ({mailing_list.address}) : "
             f"{len(posts)} message{plural}.", ""]
    for number, post in enumerate(posts, 1):
        when = post.received_at.astimezone(PARIS).strftime("%d/%m/%Y %H:%M")
        lines.append(f"{number}. {post.subject or '(sans objet)'} — {post.author_name or post.author}, {when}")
    lines += ["", "Les messages suivent, chacun en pièce jointe.",
              "Pour les recevoir un par un, choisissez « Chaque message » sur la page de la liste :",
              f"{settings.PUBLIC_URL}/courrier/listes/{mailing_list.pk}/"]
    message = EmailMessage(policy=policy.SMTP)
    message["From"] = formataddr((mailing_list.name, mailing_list.address))
    message["To"] = address
    message["Subject"] = f"[{mailing_list.name}] Résumé du {day:%d/%m/%Y} : {len(posts)} message{plural}"
    message["Date"] = format_datetime(now)
    message["Message-ID"] = make_msgid(domain=mailing_list.address.rpartition("@")[2])
    message.set_content("\n".join(lines) + "\n")
    digest = MIMEMultipart("digest", policy=policy.SMTP)
    for post in posts:
        digest.attach(MIMEMessage(message_from_bytes(blob_store().get(post.sha256), policy=policy.SMTP),
                                  policy=policy.SMTP))
    del digest["MIME-Version"]
    message.make_mixed()
    message.attach(digest)  # type: ignore[arg-type]  # a MIMEMultipart is a Message, as attach() needs
    return list_headers(mailing_list, b"") + message.as_bytes()


def run_digests(job: Job, *, clock: Clock | None = None) -> str:
    """The job handler (``jobs.runner.HANDLERS``): every digest member, in
    batches; each member's digest and its new ``digest_after`` commit with
    the job's checkpoint. Returns the summary (French)."""
    from django.utils import timezone

    clock = clock or timezone.now
    until = dt.datetime.fromisoformat(str(job.params["until"]))
    while True:
        point = dict(job.checkpoint)
        members = list(Member.objects.filter(digest=True, disabled_at__isnull=True, pk__gt=int(point.get("member", 0)))
                       .select_related("mailing_list").order_by("pk")[:BATCH])
        if not members:
            break
        with step(job, clock=clock):
            for member in members:
                posts = list(Post.objects.filter(
                    mailing_list=member.mailing_list, status=PostStatus.DISTRIBUTED, pk__gt=member.digest_after,
                    received_at__lte=until).order_by("pk")[:MAX_POSTS])
                if posts:
                    raw = build_digest(member.mailing_list, member.address, posts, until)
                    do_send_platform_mail(raw, mail_from=bounce_address(member.mailing_list),
                                          recipients=[member.address])
                    Member.objects.filter(pk=member.pk).update(digest_after=posts[-1].pk)
                    point["sent"] = int(point.get("sent", 0)) + 1
                point["member"] = member.pk
            job.checkpoint = dict(point)
            job.done = int(point.get("sent", 0))
    with step(job, clock=clock):
        job.state = JobState.DONE
        job.result = f"{int(job.checkpoint.get('sent', 0))} résumé(s) de liste envoyé(s)"
    return job.result


__all__ = ["BATCH", "KIND", "MAX_POSTS", "DigestError", "build_digest", "check_set_digest",
           "do_queue_digests", "run_digests"]
