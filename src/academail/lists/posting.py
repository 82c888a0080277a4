"""A message for a list: who may post, moderation, expansion and the bounces
coming back. ``do_receive`` is what ``delivery.door`` calls (registered in
``ListsConfig.ready``) inside the transaction that answers the ``250``, so a
post is distributed, held or refused together with its acceptance: a crash
never loses nor duplicates it.

- **Who may post** (``decide``): moderators always; then per ``posting``:
  members (of the list or a list it contains), the named senders only, or
  anyone after moderation. An unauthorised post is held for the moderators
  (``moderate_others``) or bounced with a French and English DSN (RFC 3464,
  status 5.7.2, RFC 3463 "mailing list expansion prohibited") to its
  envelope sender: never silently lost. The null sender and auto-submitted
  mail get no DSN (RFC 5321 §4.5.5, RFC 3834 §2). Through the MX, a message
  whose only recipients are lists is refused at DATA instead (``check_post``):
  no DSN to a sender that may be forged.
- **Headers** (``list_headers``): RFC 2919 ``List-Id``, RFC 2369
  ``List-Post`` (``NO`` when only named senders post, §3.4),
  ``List-Archive``, ``List-Help``, ``List-Unsubscribe`` where members may
  leave (each direct member's own one-click link and
  ``List-Unsubscribe-Post``, RFC 8058, ``lists.unsubscribe``; DKIM covers
  both, §4), and ``Precedence: list`` (out-of-office replies stay quiet,
  RFC 3834 §3.1.8). No ``Reply-To`` unless the list asks for it: replies go
  to the sender, so a reply-all to a directory list does not reach everyone.
  They go in the copies' per-delivery prefix: the stored content stays the
  sender's bytes (one blob, DKIM signatures intact).
- **Expansion** (``do_distribute``): members resolved now (``lists.members``);
  académie members through the one route in one call (one stored content for
  all, each person's filters), outside members queued one by one, DKIM-signed
  for the list's domain, with a bounce address that names the member and is
  signed and dated by SRS (``forwarding.srs``; RFC 5321 §3.9.2: a list's
  bounces go to the list, not to the poster).
- **Bounces** (``do_count_bounce``): a failed DSN to a member's bounce
  address counts for that member; past ``LISTS_BOUNCE_THRESHOLD`` the member
  is disabled. Out-of-office replies and delay notices count nothing
  (``flufl.bounce`` tells a permanent failure from the rest).
- **Digests**: members who chose "un résumé par jour" get no immediate copy
  (``lists.digests`` sends the day's posts together).
- **Loops**: a message already carrying this list's ``List-Id`` (a copy
  coming back through an outside member's forward) is not distributed again.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta
from email import message_from_bytes, policy
from email.header import Header
from email.message import Message as EmailMessage

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from flufl.bounce import scan_message

from academail.accounts.models import Account, Alias
from academail.delivery import dkim
from academail.delivery.door import DeliveryRefused, Recipient, check_recipients
from academail.delivery.dsn import RecipientStatus
from academail.delivery.queue import is_local, send_dsn
from academail.delivery.route import Route, do_route
from academail.forwarding import srs
from academail.lists import unsubscribe
from academail.lists.members import expand, is_member, reaches
from academail.lists.models import (
    Kind,
    MailingList,
    Member,
    Moderator,
    Post,
    Posting,
    PostStatus,
    Sender,
)
from academail.protection.spam import Screening
from academail.store.blobs import blob_store
from academail.store.messages import (
    PreparedContent,
    do_hold_content,
    do_release_content,
    prepare_content,
)

log = logging.getLogger(__name__)

BOUNCES = "-bounces"  # <list local part>-bounces[+<SRS local part>]@<domain>

# RFC 3463 X.7.2: mailing list expansion prohibited for this sender.
REFUSED_MEMBERS = (
    "550 5.7.2 Seuls les membres de la liste peuvent y écrire. "
    "/ Only members of this list may post to it."
)
REFUSED_SENDERS = (
    "550 5.7.2 Seuls les expéditeurs désignés peuvent écrire à cette liste. "
    "/ Only designated senders may post to this list."
)
REJECTED_BY_MODERATOR = "550 5.7.2 Message refusé par le modérateur de la liste. / Rejected by the list moderator."


# --- addresses ---------------------------------------------------------------------------


def bounce_address(mailing_list: MailingList, member: str | None = None) -> str:
    """The envelope sender of the list's copies: ``<list>-bounces@domain``,
    with, for an outside member, the member's address SRS-encoded (signed,
    dated: a forged or old bounce cannot disable anyone)."""
    local, _, domain = mailing_list.address.rpartition("@")
    if member is None:
        return f"{local}{BOUNCES}@{domain}"
    encoded = srs.forward(member, domain).rpartition("@")[0]
    return f"{local}{BOUNCES}+{encoded}@{domain}"


def _parse(address: str) -> tuple[str, str | None] | None:
    """(list address, member or None) for a list's bounce address; None for
    anything else, or a bounce address whose SRS part is forged or expired."""
    local, _, domain = address.strip().lower().rpartition("@")
    head, plus, encoded = local.partition("+")
    if not head.endswith(BOUNCES):
        return None
    list_address = f"{head[: -len(BOUNCES)]}@{domain}"
    if not plus:
        return list_address, None
    try:
        return list_address, srs.reverse(f"{encoded}@{domain}")
    except srs.SRSError:
        return None


def find_addresses(addresses: Sequence[str]) -> set[str]:
    """Those of ``addresses`` that are lists' addresses or valid bounce
    addresses of a list (one query)."""
    candidates: dict[str, str] = {}
    for address in addresses:
        parsed = _parse(address)
        candidates[address] = parsed[0] if parsed else address
    found = set(MailingList.objects.filter(address__in=set(candidates.values())).values_list("address", flat=True))
    return {address for address, target in candidates.items() if target in found}


# --- receiving -----------------------------------------------------------------------------


def do_receive(
    raw: bytes, addresses: Sequence[str], *, prepared: PreparedContent, mail_from: str = "", prefix: bytes = b"",
    account_id: int | None = None, screening: Screening | None = None,
) -> None:
    """A message for lists' addresses (``door.do_list_posts``): each post is
    distributed, held or refused; each bounce counted. Precondition: inside
    the delivery transaction (before the ``250``)."""
    for address in addresses:
        parsed = _parse(address)
        if parsed is not None:
            mailing_list = MailingList.objects.filter(address=parsed[0]).first()
            if mailing_list is not None:
                do_count_bounce(mailing_list, raw, member=parsed[1])
            continue
        mailing_list = MailingList.objects.filter(address=address).first()
        if mailing_list is not None:
            do_post(mailing_list, raw, prepared, mail_from=mail_from, prefix=prefix, account_id=account_id,
                    screening=screening)


def _headers(raw: bytes) -> EmailMessage:
    end = raw.find(b"\r\n\r\n")
    if end < 0:
        end = raw.find(b"\n\n")
    return message_from_bytes(raw[: end + 4] if end >= 0 else raw, policy=policy.compat32)


def list_id(mailing_list: MailingList) -> str:
    """RFC 2919 §2: the list's identifier, ``<local part>.<domain>``."""
    local, _, domain = mailing_list.address.rpartition("@")
    return f"{local}.{domain}"


def _sender_addresses(raw: bytes, mail_from: str, account_id: int | None) -> tuple[str, str, set[str]]:
    """(From address, From display name, every address the sender is known by):
    the authenticated account's addresses when there is one (its From was
    checked at submission), else the From address."""
    from email.utils import getaddresses

    head = _headers(raw)
    pairs = getaddresses([str(v) for v in head.get_all("From", [])])
    name, author = (pairs[0][0], pairs[0][1].strip().lower()) if pairs else ("", "")
    known = {author} if author else set()
    if account_id is not None:
        account = Account.objects.filter(pk=account_id).values_list("address", flat=True).first()
        if account:
            known.add(account)
        known.update(Alias.objects.filter(account_id=account_id).values_list("address", flat=True))
    return author, name, known


def decide(mailing_list: MailingList, senders: set[str], account_id: int | None) -> tuple[str, str]:
    """("post" | "hold" | "refuse", the refusal reply or hold reason)."""
    if account_id is not None and Moderator.objects.filter(mailing_list=mailing_list, account_id=account_id).exists():
        return "post", ""
    if Moderator.objects.filter(mailing_list=mailing_list, account__address__in=senders).exists():
        return "post", ""
    if Sender.objects.filter(mailing_list=mailing_list, address__in=senders).exists():
        return "post", ""
    if mailing_list.posting == Posting.MODERATED:
        return "hold", "Liste modérée : chaque message attend l'accord d'un modérateur."
    if mailing_list.posting == Posting.MEMBERS and is_member(mailing_list, senders):
        return "post", ""
    refusal = REFUSED_MEMBERS if mailing_list.posting == Posting.MEMBERS else REFUSED_SENDERS
    if mailing_list.moderate_others:
        return "hold", "Expéditeur non autorisé : le message attend l'accord d'un modérateur."
    return "refuse", refusal


def check_post(raw: bytes, addresses: Sequence[str], *, mail_from: str = "") -> str | None:
    """Why one of these lists would refuse ``raw`` (its refusal reply), or
    None: accepted, held, or not a post (a bounce address). Asked by the MX
    before it accepts a message whose only recipients are lists. Reads only."""
    _author, _name, senders = _sender_addresses(raw, mail_from, None)
    for mailing_list in MailingList.objects.filter(address__in=[a.strip().lower() for a in addresses]):
        verdict, reason = decide(mailing_list, senders, None)
        if verdict == "refuse":
            return reason
    return None


def do_post(
    mailing_list: MailingList, raw: bytes, prepared: PreparedContent, *, mail_from: str, prefix: bytes,
    account_id: int | None, screening: Screening | None = None,
) -> Post | None:
    """One post to ``mailing_list``: distributed now, held for moderation, or
    refused with a DSN after the commit. None when refused or looping.
    Precondition: inside the delivery transaction."""
    head = _headers(raw)
    if any(f"<{list_id(mailing_list)}>" in str(v).lower() for v in head.get_all("List-Id", [])):
        log.warning("list %s: a post carrying its own List-Id came back (loop); not distributed", mailing_list.address)
        return None
    author, author_name, senders = _sender_addresses(raw, mail_from, account_id)
    verdict, reason = decide(mailing_list, senders, account_id)
    sender = mail_from.strip().strip("<>")
    if verdict == "refuse":
        auto = str(head.get("Auto-Submitted", "no")).strip().lower()
        if sender and auto.startswith("no"):
            transaction.on_commit(
                lambda: send_dsn(raw, sender, [RecipientStatus(mailing_list.address, reason)])
            )
        log.info("list %s: post from %s refused (%s)", mailing_list.address, author or sender, reason)
        return None
    post = Post.objects.create(
        mailing_list=mailing_list, status=PostStatus.HELD, content_id=do_hold_content(prepared),
        sha256=prepared.sha256, prefix=prefix, mail_from=sender[:320], author=author[:320],
        author_name=author_name[:256], subject=prepared.parsed.subject[:10000], reason=reason[:500],
    )
    if verdict == "hold":
        transaction.on_commit(lambda: notify_moderators(mailing_list, post))
        return post
    do_distribute(post, mailing_list, prepared, raw=raw, screening=screening)
    return post


def list_headers(mailing_list: MailingList, raw: bytes) -> bytes:
    """The list's fields for its copies, on top of each (RFC 2369, RFC 2919)."""
    page = f"{settings.PUBLIC_URL}/courrier/listes/{mailing_list.pk}/"
    name = Header(mailing_list.name, "utf-8").encode() if not mailing_list.name.isascii() else f'"{mailing_list.name}"'
    fields = [f"List-Id: {name} <{list_id(mailing_list)}>"]
    # RFC 2369 §3.4: "NO" when the list does not take posts from its members.
    post = "NO" if mailing_list.posting == Posting.SENDERS else f"<mailto:{mailing_list.address}>"
    fields += [f"List-Post: {post}", f"List-Archive: <{page}>", f"List-Help: <{page}>"]
    # A directory list cannot be left (``lists.unsubscribe.DIRECTORY``).
    if mailing_list.allow_unsubscribe and mailing_list.kind == Kind.MANUAL and not unsubscribe.one_click(mailing_list):
        fields.append(f"List-Unsubscribe: <{page}>")  # per member otherwise (``_own_fields``)
    fields.append("Precedence: list")
    if mailing_list.reply_to_list and _headers(raw).get("Reply-To") is None:
        fields.append(f"Reply-To: <{mailing_list.address}>")  # only when none: RFC 5322 §3.6 allows one
    return "".join(f"{f}\r\n" for f in fields).encode()


def _own_fields(mailing_list: MailingList) -> tuple[dict[int, bytes], dict[str, bytes]]:
    """Each direct member's RFC 8058 fields, by account (académie members)
    and by address (outside ones); empty when the list has no one-click
    link. Members reached through a list it contains get none from this one
    (they are that list's members). One query."""
    if not unsubscribe.one_click(mailing_list):
        return {}, {}
    by_account: dict[int, bytes] = {}
    by_address: dict[str, bytes] = {}
    rows = Member.objects.filter(mailing_list=mailing_list, disabled_at__isnull=True).values_list(
        "pk", "address", "account_id")
    for member_id, address, account_id in rows:
        fields = unsubscribe.fields_for(mailing_list.pk, member_id)
        if account_id is not None:
            by_account.setdefault(account_id, fields)
        by_address.setdefault(address, fields)
    return by_account, by_address


def do_distribute(
    post: Post, mailing_list: MailingList, prepared: PreparedContent, *, raw: bytes,
    screening: Screening | None = None,
) -> None:
    """Send ``post`` to every member, now: one route call for the académie
    members (one stored content, their filters run), one queue entry per
    outside member. Marks the post distributed (the archive).
    Precondition: inside a transaction; ``post`` held (locked when approved)."""
    expansion = expand(mailing_list, is_local=is_local)
    head = list_headers(mailing_list, raw) + bytes(post.prefix)
    addresses = list(expansion.local)
    local: list[Recipient] = []
    for address, result in zip(addresses, check_recipients(addresses), strict=True):
        if isinstance(result, DeliveryRefused):
            log.info("list %s: member %s not reached: %s", mailing_list.address, address, result.message)
        else:
            local.append(result)
    own_by_account, own_by_address = _own_fields(mailing_list)
    # Members who chose "un résumé par jour" get it in the day's digest (``lists.digests``).
    digest = set(Member.objects.filter(mailing_list=mailing_list, digest=True, account__isnull=False)
                 .values_list("account_id", flat=True))
    local = [r for r in local if r.account_id not in digest]
    if local:
        route = Route(bounce_address(mailing_list), local, [], prepared, b"", head, screening=screening,
                      own_prefix={r.account_id: own_by_account[r.account_id] for r in local
                                  if r.account_id in own_by_account})
        do_route(route, all_or_nothing=False)
    domain = mailing_list.address.rpartition("@")[2]
    for member in expansion.remote:
        queued = own_by_address.get(member, b"") + head + raw
        queued = dkim.signature_for(queued, domain, also=unsubscribe.FIELDS) + queued
        do_route(Route(bounce_address(mailing_list, member), [], [member], None, queued), all_or_nothing=False)
    post.status = PostStatus.DISTRIBUTED
    post.local_count, post.remote_count = len(local), len(expansion.remote)
    post.save(update_fields=["status", "local_count", "remote_count", "decided_at", "decided_by"])
    log.info("list %s: post %s distributed to %d local and %d outside members",
             mailing_list.address, post.pk, len(local), len(expansion.remote))


# --- moderation ----------------------------------------------------------------------------


def notify_moderators(mailing_list: MailingList, post: Post) -> int:
    """Tell the list's moderators a post waits (platform mail; never raises)."""
    from django.core.mail import send_mail

    addresses = list(
        Moderator.objects.filter(mailing_list=mailing_list).values_list("account__address", flat=True)
    )
    if not addresses:
        log.warning("list %s: a post waits but the list has no moderator", mailing_list.address)
        return 0
    body = (
        f"Un message de {post.author or post.mail_from or 'expéditeur inconnu'} attend votre accord "
        f"sur la liste « {mailing_list.name} » ({mailing_list.address}).\n"
        f"Objet : {post.subject or '(sans objet)'}\n"
        f"Motif : {post.reason}\n\n"
        "Acceptez-le ou refusez-le dans la messagerie, page « Listes de diffusion » :\n"
        f"{settings.PUBLIC_URL}/courrier/listes/{mailing_list.pk}/\n\n"
        "-- \n"
        f"A message from {post.author or post.mail_from or 'an unknown sender'} awaits your approval on the list "
        f"{mailing_list.address}: {settings.PUBLIC_URL}/courrier/listes/{mailing_list.pk}/\n"
    )
    try:
        send_mail(f"Message à modérer : {mailing_list.name}", body, None, addresses)
    except Exception:  # noqa: BLE001 - a notice must not break delivery
        log.exception("list %s: could not notify the moderators", mailing_list.address)
        return 0
    return len(addresses)


def do_approve(post: Post, by: Account) -> None:
    """A moderator accepted a held post: distribute it now.
    Precondition: inside a transaction, ``post`` locked and held."""
    raw = blob_store().get(post.sha256)
    prepared = prepare_content(raw)  # the blob is there: rewriting it is a no-op, the parse is needed
    post.decided_at, post.decided_by = timezone.now(), by
    do_distribute(post, post.mailing_list, prepared, raw=raw)


def do_reject(post: Post, by: Account) -> None:
    """A moderator refused a held post: its sender gets a DSN saying so; the
    content is released. Precondition: inside a transaction, ``post`` locked
    and held."""
    raw = blob_store().get(post.sha256)
    sender, address = post.mail_from, post.mailing_list.address
    if sender:
        transaction.on_commit(lambda: send_dsn(raw, sender, [RecipientStatus(address, REJECTED_BY_MODERATOR)]))
    do_release_content(post.content_id)
    post.status, post.decided_at, post.decided_by = PostStatus.REJECTED, timezone.now(), by
    post.save(update_fields=["status", "decided_at", "decided_by"])


# --- bounces -------------------------------------------------------------------------------


def failed_recipients(raw: bytes) -> list[str]:
    """The recipients a bounce reports as failed for good: RFC 3464 DSNs and
    the many non-standard bounce formats (Mailman's detectors,
    ``flufl.bounce``); [] for anything else (an out-of-office reply, a delay
    notice)."""
    found = scan_message(message_from_bytes(raw, policy=policy.compat32))
    return sorted(a.decode("utf-8", "replace").strip().strip("<>").lower() for a in found)


def do_count_bounce(mailing_list: MailingList, raw: bytes, *, member: str | None) -> list[str]:
    """Count a bounce for the member it names (the SRS-signed bounce address;
    without one, the DSN's failed Final-Recipients among the list's outside
    members). Past ``LISTS_BOUNCE_THRESHOLD`` bounces, no more than
    ``LISTS_BOUNCE_RESET_DAYS`` apart, the member is disabled. Returns the
    addresses disabled now. Precondition: inside a transaction."""
    failed = failed_recipients(raw)
    if not failed:
        return []
    targets = [member] if member else failed
    now = timezone.now()
    reset_before = now - timedelta(days=settings.LISTS_BOUNCE_RESET_DAYS)
    disabled: list[str] = []
    rows = Member.objects.select_for_update().filter(
        mailing_list_id__in=reaches(mailing_list), address__in=targets, disabled_at__isnull=True
    )
    for row in rows:
        if row.last_bounce_at is not None and row.last_bounce_at < reset_before:
            row.bounces = 0
        row.bounces += 1
        row.last_bounce_at = now
        if row.bounces >= settings.LISTS_BOUNCE_THRESHOLD:
            row.disabled_at = now
            disabled.append(row.address)
        row.save(update_fields=["bounces", "last_bounce_at", "disabled_at"])
    if disabled:
        log.warning("list %s: members disabled after repeated bounces: %s", mailing_list.address, ", ".join(disabled))
    return disabled


def release_post_content(post: Post) -> None:
    """A post row going away (a list deleted, an archive purged) releases its
    content, unless already released (rejected). Precondition: inside a
    transaction."""
    if post.status != PostStatus.REJECTED:
        do_release_content(post.content_id)
