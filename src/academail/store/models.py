"""Mail data, owned by the store alone: mailboxes, messages (one row per message
in a mailbox), contents (one row per distinct raw message, pointing at its blob,
with everything parsed once at delivery), expunge tombstones and quota usage.

Only modules of ``academail.store`` write these tables.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class SpecialUse(models.TextChoices):
    # RFC 6154 attributes; INBOX is not special-use in the RFC but is one here.
    INBOX = "inbox", "INBOX"
    SENT = "sent", "\\Sent"
    DRAFTS = "drafts", "\\Drafts"
    TRASH = "trash", "\\Trash"
    JUNK = "junk", "\\Junk"
    ARCHIVE = "archive", "\\Archive"


class Mailbox(models.Model):
    """A folder. ``name`` is the full path with "/" as the hierarchy separator.

    ``uidnext`` and ``highestmodseq`` are allocated under the row's write lock
    (RFC 3501 §2.3.1.1, RFC 7162 §3.1). ``messages``, ``unseen`` and ``size`` are
    counters kept in the same transaction as each change, so folder lists and
    STATUS never count rows.
    """

    account = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="mailboxes"
    )
    name = models.CharField(max_length=512)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.CASCADE, related_name="children")
    special_use = models.CharField(max_length=16, choices=SpecialUse.choices, null=True, blank=True)
    uidvalidity = models.BigIntegerField()
    uidnext = models.BigIntegerField(default=1)
    highestmodseq = models.BigIntegerField(default=1)
    # RFC 3501 §2.3.2 \Recent: UIDs from here on have not been seen by any
    # session yet; the first read-write session to see them claims them
    # (``store.imap.claim_recent``), as Dovecot's first_recent_uid.
    first_recent_uid = models.BigIntegerField(default=1)
    messages = models.BigIntegerField(default=0)
    unseen = models.BigIntegerField(default=0)
    size = models.BigIntegerField(default=0)
    # Tombstones (Expunged) with a MODSEQ up to this were purged (``store.tombstones``):
    # a QRESYNC from an older MODSEQ gets every missing UID as VANISHED (RFC 7162 §3.2.5.2).
    tombstones_purged_modseq = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "name"], name="mailbox_unique_name"),
            models.UniqueConstraint(
                fields=["account", "special_use"],
                condition=models.Q(special_use__isnull=False),
                name="mailbox_unique_special_use",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Subscription(models.Model):
    """A name in an account's subscription list (RFC 3501 §6.3.6, LSUB and LIST
    (SUBSCRIBED)). A list of names, not a flag on the mailbox: DELETE leaves the
    name subscribed (§6.3.4: the server "MUST NOT unilaterally remove" it), so a
    mailbox re-created under that name is subscribed again, as on Dovecot."""

    account = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=512)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "name"], name="subscription_unique_name")]


class Content(models.Model):
    """One distinct raw message (its SHA-256 names the blob), parsed once.

    ``refcount`` counts the Message rows pointing here; at zero the row and its
    blob are collected (``store.gc``). A circular to 40,000 staff is one Content.
    """

    sha256 = models.CharField(max_length=64, unique=True)
    size = models.BigIntegerField()
    refcount = models.BigIntegerField(default=0)
    released_at = models.DateTimeField(null=True, blank=True, db_index=True)
    subject = models.TextField(blank=True)
    from_name = models.CharField(max_length=256, blank=True)
    from_addr = models.CharField(max_length=320, blank=True)
    to_text = models.TextField(blank=True)
    cc_text = models.TextField(blank=True)
    date = models.DateTimeField(null=True, blank=True)
    # The Date header's own calendar day, in its own time zone: SENTON and
    # friends compare it (RFC 3501 §6.4.4 disregards time and time zone).
    sent_day = models.DateField(null=True, blank=True)
    message_id = models.CharField(max_length=998, blank=True)
    in_reply_to = models.CharField(max_length=998, blank=True)
    references = models.TextField(blank=True)
    preview = models.CharField(max_length=256, blank=True)
    has_attachments = models.BooleanField(default=False)
    thread_key = models.CharField(max_length=64, blank=True, db_index=True)
    # The part map, envelope and body structure (mime.ParsedMessage), as JSON.
    structure = models.JSONField(default=dict)
    parse_defects = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)


class SearchText(models.Model):
    """What IMAP SEARCH compares with, folded once at delivery (``store.search.fold``:
    lower case, accents removed), one row per Content, written by ``store.search``.

    RFC 3501 §6.4.4 asks for substrings, which no word index answers: the
    full-text index (``store_search``) narrows the candidates, and these columns
    give the exact answer. ``headers`` is every header field as "\\nname: value"
    lines; ``body`` is the body text the full-text index holds, without the
    header fields. The five fields SEARCH names have their own narrow table
    (``SearchFields``)."""

    content = models.OneToOneField(Content, on_delete=models.CASCADE, primary_key=True, related_name="+")
    headers = models.TextField(blank=True)
    body = models.TextField(blank=True)


class SearchFields(models.Model):
    """The folded Subject, From, To, Cc and Bcc of a Content (every occurrence,
    every address, display names and group names), for SEARCH SUBJECT/FROM/...
    A table of their own: a row is ~200 bytes, so a scan of 100,000 messages
    reads a few thousand pages, not one page per message as next to the
    header and body text (bench/imap_search.py)."""

    content = models.OneToOneField(Content, on_delete=models.CASCADE, primary_key=True, related_name="+")
    subject = models.TextField(blank=True)
    from_field = models.TextField(blank=True)
    to_field = models.TextField(blank=True)
    cc_field = models.TextField(blank=True)
    bcc_field = models.TextField(blank=True)


class SearchIds(models.Model):
    """The folded Message-ID, In-Reply-To and References fields of a Content
    (``store.search.id_columns``: the same text as their lines in
    ``SearchText.headers``), for SEARCH HEADER on them: a narrow table, so a
    substring is a scan of a few thousand pages at 100,000 messages.

    ``message_id_key`` is the Message-ID when the field is one "<id>" and
    nothing else (or empty: no field), else NULL: indexed, it answers the
    usual lookup of one message by its id, HEADER Message-ID "<id>", exactly
    (a field that is only "<t>" contains "<s>" if and only if s = t; the rare
    other fields are checked by substring)."""

    content = models.OneToOneField(Content, on_delete=models.CASCADE, primary_key=True, related_name="+")
    message_id = models.TextField(blank=True)
    message_id_key = models.CharField(max_length=998, null=True, blank=True, db_index=True)
    in_reply_to = models.TextField(blank=True)
    references = models.TextField(blank=True)


class Flag:
    """System flags as bits (RFC 3501 §2.3.2); keywords are kept as text."""

    SEEN = 1
    ANSWERED = 2
    FLAGGED = 4
    DELETED = 8
    DRAFT = 16

    NAMES = {SEEN: "\\Seen", ANSWERED: "\\Answered", FLAGGED: "\\Flagged", DELETED: "\\Deleted", DRAFT: "\\Draft"}


class Message(models.Model):
    """A message in a mailbox. The bytes a client reads are ``prefix`` (headers
    added at this delivery: Received, Authentication-Results...) followed by the
    content's blob, unchanged."""

    mailbox = models.ForeignKey(Mailbox, on_delete=models.CASCADE, related_name="+")
    uid = models.BigIntegerField()
    modseq = models.BigIntegerField()
    content = models.ForeignKey(Content, on_delete=models.PROTECT, related_name="+")
    prefix = models.BinaryField(default=b"")
    size = models.BigIntegerField()
    internaldate = models.DateTimeField()
    # When the message was put in this mailbox (delivery, append, copy or move):
    # the retention purge of Corbeille and Indésirables counts from it
    # (store.retention), as Dovecot's autoexpunge counts from the save date.
    saved_at = models.DateTimeField(default=timezone.now)
    flags = models.IntegerField(default=0)
    keywords = models.TextField(default="", blank=True)
    # Sort keys (store.sortkeys), copied from the content's parse so that the
    # list sorted by sender or subject is an index range like the UID order.
    sender_sort = models.CharField(max_length=100, default="", blank=True)
    subject_sort = models.CharField(max_length=100, default="", blank=True)
    # RFC 5256 §3 DATE (and the sent date of THREAD, §2.2): the Date header,
    # else INTERNALDATE. Here rather than read from the content so that SORT
    # (DATE) is an index range and THREAD joins nothing to order. Nullable only
    # so that adding it is instant on PostgreSQL; migration 0016 fills it and
    # every write sets it.
    date_sort = models.DateTimeField(null=True, blank=True)
    # RFC 5256 §2.2 THREAD=REFERENCES, per content (``store.sortkeys.thread_keys``):
    # the Message-ID's 63-bit key (0: none), whether the subject is a reply,
    # the References chain's keys packed. In the ``message_thread`` index
    # with the date and the base subject, so THREAD reads one index range
    # (bench/imap_sort.py) rather than a wide row per message.
    thread_msgid = models.BigIntegerField(default=0)
    thread_reply = models.BooleanField(default=False)
    thread_refs = models.BinaryField(default=b"", blank=True)
    # RFC 5256 §3 FROM (``store.sortkeys.from_key``): the first From address's
    # local part, ASCII-lowered, so SORT (FROM) is an index range like DATE.
    from_sort = models.CharField(max_length=320, default="", blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["mailbox", "uid"], name="message_unique_uid"),
        ]
        indexes = [
            models.Index(fields=["mailbox", "modseq"], name="message_modseq"),
            models.Index(fields=["content", "mailbox"], name="message_content"),
            # Keyset pagination of the sorted message list: (key, uid) per mailbox.
            models.Index(fields=["mailbox", "sender_sort", "uid"], name="message_sender_sort"),
            models.Index(fields=["mailbox", "subject_sort", "uid"], name="message_subject_sort"),
            models.Index(fields=["mailbox", "size", "uid"], name="message_size_sort"),
            models.Index(fields=["mailbox", "from_sort", "uid"], name="message_from_sort"),
            # SORT (DATE) reads its first three columns; THREAD ORDEREDSUBJECT
            # (§2.1) the first four, REFERENCES (§2.2) all: one index range each.
            models.Index(
                fields=["mailbox", "date_sort", "uid", "subject_sort", "thread_msgid", "thread_reply", "thread_refs"],
                name="message_thread",
            ),
            models.Index(fields=["mailbox", "saved_at"], name="message_saved_at"),
        ]


class Expunged(models.Model):
    """Tombstone of an expunged UID, for QRESYNC's VANISHED (RFC 7162 §3.2.10)."""

    mailbox = models.ForeignKey(Mailbox, on_delete=models.CASCADE, related_name="+")
    uid = models.BigIntegerField()
    modseq = models.BigIntegerField()
    # When, for the daily purge (``store.tombstones``, ACADEMAIL_EXPUNGED_KEEP_DAYS).
    expunged_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["mailbox", "modseq"], name="expunged_modseq"),
            models.Index(fields=["expunged_at"], name="expunged_at"),
        ]


class Usage(models.Model):
    """Quota usage of an account, changed in the same transaction as the mail.

    ``notice_level`` is the highest threshold (80, 90, 95 %) the owner was
    told about and ``full_notice_at`` when the last "boîte pleine" notice
    left (``store.quota``): each threshold is announced once, the full
    mailbox once a day."""

    account = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="usage"
    )
    bytes = models.BigIntegerField(default=0)
    messages = models.BigIntegerField(default=0)
    notice_level = models.SmallIntegerField(default=0)
    full_notice_at = models.DateTimeField(null=True, blank=True)
    # Highest UIDVALIDITY the account ever handed out, deleted mailboxes included
    # (RFC 3501 §2.3.1.1: never reused for a name); see mailboxes._next_uidvalidity.
    uidvalidity_high = models.BigIntegerField(default=0)


class SpaceSummary(models.Model):
    """What takes the space, by year and by sender ("Espace utilisé"), as a
    background job last counted it (``store.space.do_count_space``): those two
    views need every message, so no page request scans for them. ``messages_at``
    and ``bytes_at`` are the account's usage when counted; the page asks for a
    new count when the usage has moved since, or the count is a day old."""

    account = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    computed_at = models.DateTimeField()
    messages_at = models.BigIntegerField(default=0)
    bytes_at = models.BigIntegerField(default=0)
    # [[year, messages, bytes], ...], newest year first
    years = models.JSONField(default=list)
    # [[address, display name, messages, bytes], ...], the most space first
    senders = models.JSONField(default=list)


class Grant(models.Model):
    """Rights of one account (``grantee``) on another's mail (RFC 4314 §2.1):
    on one folder (``mailbox``) or, with ``mailbox`` empty, on every folder of
    ``owner``, present and future (a functional mailbox's member, a delegate).

    ``rights`` holds RFC 4314 letters plus two of the implementation-defined
    digits (§2.1): "0" send as the owner's address, "1" send on the owner's
    behalf (``Sender:`` the grantee, RFC 5322 §3.6.2). ``store.acl`` is the one
    place reading this table. ``ends_at`` closes a delegation; a grant whose
    grantee or owner is not active gives nothing (a departure ends access at
    once, whatever else happens)."""

    class Kind(models.TextChoices):
        MEMBER = "member", "member"  # of a functional mailbox
        SHARE = "share", "share"  # one folder shared with a colleague
        DELEGATION = "delegation", "delegation"  # a whole mailbox, for a period

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    mailbox = models.ForeignKey(Mailbox, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    grantee = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    rights = models.CharField(max_length=24)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.MEMBER)
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    starts_at = models.DateTimeField(default=timezone.now)
    ends_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "grantee"], condition=models.Q(mailbox__isnull=True), name="grant_unique_whole",
            ),
            models.UniqueConstraint(
                fields=["mailbox", "grantee"], condition=models.Q(mailbox__isnull=False), name="grant_unique_folder",
            ),
        ]
        indexes = [
            # The rule (grantee, owner) and a grantee's shared namespace (grantee).
            models.Index(fields=["grantee", "owner"], name="grant_grantee_owner"),
            # An owner's members and shares (the ACL of a mailbox, GETACL).
            models.Index(fields=["owner", "mailbox"], name="grant_owner_mailbox"),
            # Delegations whose period ended (the hourly round closes them).
            models.Index(fields=["ends_at"], name="grant_ends_at"),
        ]


class SeenMode(models.Model):
    """An owner whose mail keeps \\Seen per person (issue 19): a row here means
    each member of the functional mailbox (or anyone the owner shares with)
    has their own "lu / non lu", kept in ``PersonalSeen``; no row, the team
    shares the message's own \\Seen (the default). The idea of Dovecot's
    private indexes (INDEXPVT) and of RFC 4314 §4's note that \\Seen may be
    per user. The owner's own view is always the message's flag."""

    owner = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    changed_at = models.DateTimeField(default=timezone.now)


class PersonalSeen(models.Model):
    """Message ``uid`` of ``mailbox`` is \\Seen for ``account`` (per-person
    \\Seen, ``SeenMode``). Keyed by UID, which is never reused in a mailbox
    (RFC 3501 §2.3.1.1), rather than by the message row, so that expunging
    stays plain DELETEs: ``store.messages`` removes these rows with the
    messages, and a member's unseen count is the mailbox's ``messages`` minus
    their rows."""

    mailbox = models.ForeignKey(Mailbox, on_delete=models.CASCADE, related_name="+")
    account = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    uid = models.BigIntegerField()

    class Meta:
        constraints = [
            # A member's seen messages in a folder (counts, FETCH, SEARCH SEEN): one index range.
            models.UniqueConstraint(fields=["mailbox", "account", "uid"], name="personal_seen_unique"),
        ]
        indexes = [
            # Expunging UIDs for every member at once.
            models.Index(fields=["mailbox", "uid"], name="personal_seen_uid"),
        ]
