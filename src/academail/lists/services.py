"""Lists for the pages: who may see, moderate and manage which list
(``access_*``, the only way a view gets a list or a post), creating and
editing lists and their members (``check_*``: validate, then act), the
moderation decisions and the archive.

Rights:
- **manage** (create, edit, members, senders, moderators): administrators,
  every list; the secretariat, the lists of its own établissement
  (``owner_uai`` = the secretary's ``uai``), directory lists of that
  établissement only;
- **moderate**: the list's moderators and its managers;
- **read the archive**: members (resolved as for a post), moderators,
  managers.
Anyone else gets ``ListNotFound`` (a 404): a list's existence is not told.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, connection, transaction
from django.db.models import Q, QuerySet

from academail.accounts.models import Account, Function, Role
from academail.accounts.services import (
    AccountError,
    address_taken,
    clean_own_address,
    clean_uai,
    resolve_addresses,
)
from academail.delivery.queue import is_local
from academail.lists import posting
from academail.lists.members import LoopError, check_no_loop, is_member
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
from academail.mime.parse import ParsedMessage, parse_message
from academail.store import search
from academail.store.blobs import blob_store

PAGE_SIZE = 50


class ListError(ValueError):
    """Bad input for a list (French message, for the page)."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.field = field


class ListNotFound(LookupError):
    """No such list or post, or not for this person (never told apart)."""


# --- rights --------------------------------------------------------------------------------


def can_manage_lists(account: Account) -> bool:
    return account.role == Role.ADMIN or (account.role == Role.SECRETARIAT and bool(account.uai))


def _manages(account: Account, mailing_list: MailingList) -> bool:
    if account.role == Role.ADMIN:
        return True
    return account.role == Role.SECRETARIAT and bool(account.uai) and mailing_list.owner_uai == account.uai


def _moderates(account: Account, mailing_list: MailingList) -> bool:
    return _manages(account, mailing_list) or Moderator.objects.filter(
        mailing_list=mailing_list, account=account
    ).exists()


def _addresses_of(account: Account) -> set[str]:
    return {account.address, *account.aliases.values_list("address", flat=True)}


@dataclass(frozen=True)
class Access:
    mailing_list: MailingList
    manage: bool
    moderate: bool
    member: bool


def access_list(account: Account, list_id: int, *, need: str = "read") -> Access:
    """The list with what ``account`` may do there; ``need``: "read",
    "moderate" or "manage". Raises ListNotFound when the list does not exist
    or the right is missing."""
    mailing_list = MailingList.objects.filter(pk=list_id).first()
    if mailing_list is None:
        raise ListNotFound(list_id)
    manage = _manages(account, mailing_list)
    moderate = manage or _moderates(account, mailing_list)
    member = is_member(mailing_list, _addresses_of(account))
    allowed = {"read": manage or moderate or member, "moderate": moderate, "manage": manage}[need]
    if not allowed:
        raise ListNotFound(list_id)
    return Access(mailing_list, manage, moderate, member)


@dataclass(frozen=True)
class ListRow:
    mailing_list: MailingList
    held: int
    manage: bool


def lists_for(account: Account) -> list[ListRow]:
    """The lists ``account`` reads, moderates or manages, with the number of
    posts waiting for moderation where it moderates. A few queries (directory
    lists are matched on the account's own UAI and function)."""
    direct = Q(members__account=account) | Q(moderators__account=account)
    if account.uai:
        direct |= Q(kind=Kind.DIRECTORY, dir_uai=account.uai) & (Q(dir_function="") | Q(dir_function=account.function))
        direct |= Q(kind=Kind.DIRECTORY, dir_departement=account.uai[:3], dir_uai="") & (
            Q(dir_function="") | Q(dir_function=account.function)
        )
    if account.role == Role.ADMIN:
        direct = Q()
    elif account.role == Role.SECRETARIAT and account.uai:
        direct |= Q(owner_uai=account.uai)
    rows = list(MailingList.objects.filter(direct).distinct().order_by("name")[:500])
    moderated = set(Moderator.objects.filter(account=account).values_list("mailing_list_id", flat=True))
    result = []
    for mailing_list in rows:
        manage = _manages(account, mailing_list)
        held = 0
        if manage or mailing_list.pk in moderated:
            held = Post.objects.filter(mailing_list=mailing_list, status=PostStatus.HELD).count()
        result.append(ListRow(mailing_list, held, manage))
    return result


# --- creating and editing ------------------------------------------------------------------


@dataclass
class ListData:
    address: str
    name: str
    description: str = ""
    kind: str = str(Kind.MANUAL)
    dir_function: str = ""
    dir_uai: str = ""
    dir_departement: str = ""
    posting: str = str(Posting.MEMBERS)
    moderate_others: bool = False
    allow_unsubscribe: bool = False
    reply_to_list: bool = False
    owner_uai: str = ""


def _clean(by: Account, data: ListData, instance: MailingList | None) -> ListData:
    try:
        address = clean_own_address(data.address)
    except AccountError as exc:
        raise ListError(str(exc), "address") from None
    local = address.rpartition("@")[0]
    if "+" in local or local.endswith(posting.BOUNCES):
        raise ListError("L'adresse d'une liste ne contient pas « + » et ne finit pas par « -bounces ».", "address")
    if (instance is None or instance.address != address) and (
        address_taken(address) or MailingList.objects.filter(address=address).exists()
    ):
        raise ListError(f"L'adresse « {address} » est déjà utilisée.", "address")
    name = " ".join(data.name.split())[:200]
    if not name:
        raise ListError("Donnez un nom à la liste.", "name")
    if data.kind not in Kind.values:
        raise ListError("Type de liste inconnu.", "kind")
    if data.posting not in Posting.values:
        raise ListError("Choisissez qui peut écrire à la liste.", "posting")
    if data.dir_function not in Function.values:
        raise ListError("Fonction inconnue.", "dir_function")
    try:
        dir_uai = clean_uai(data.dir_uai) if data.kind == Kind.DIRECTORY else ""
        owner_uai = clean_uai(data.owner_uai)
    except AccountError as exc:
        raise ListError(str(exc), "dir_uai") from None
    departement = data.dir_departement.strip().upper() if data.kind == Kind.DIRECTORY and not dir_uai else ""
    if departement and not (len(departement) == 3 and departement.isalnum()):
        raise ListError("Un département s'écrit sur trois caractères (ex. 034).", "dir_departement")
    if data.kind == Kind.DIRECTORY and not (dir_uai or departement):
        raise ListError("Une liste de l'annuaire vise un établissement (code UAI) ou un département.", "dir_uai")
    if by.role != Role.ADMIN:
        # The secretariat: its own établissement only, and its lists are its own.
        if departement:
            raise ListError("Seul un administrateur crée une liste à l'échelle d'un département.", "dir_departement")
        if dir_uai and dir_uai != by.uai:
            raise ListError("Vous ne gérez que les listes de votre établissement.", "dir_uai")
        owner_uai = by.uai
    return ListData(
        address=address, name=name, description=data.description.strip()[:2000], kind=data.kind,
        dir_function=data.dir_function if data.kind == Kind.DIRECTORY else "", dir_uai=dir_uai,
        dir_departement=departement, posting=data.posting, moderate_others=data.moderate_others,
        # Leaving a directory list is leaving the établissement: no unsubscribe.
        allow_unsubscribe=data.allow_unsubscribe and data.kind == Kind.MANUAL,
        reply_to_list=data.reply_to_list, owner_uai=owner_uai or dir_uai,
    )


def check_save_list(by: Account, data: ListData, instance: MailingList | None = None) -> MailingList:
    """Create a list (``instance`` None) or change one ``by`` manages; raises
    ListError (French, with the field). A hand-managed list turned into a
    directory one keeps its member rows unused; members cannot make it loop
    (directory lists contain no list)."""
    if not can_manage_lists(by) or (instance is not None and not _manages(by, instance)):
        raise ListNotFound(instance.pk if instance else 0)
    cleaned = _clean(by, data, instance)
    target = instance or MailingList(created_by=by)
    for name, value in vars(cleaned).items():
        setattr(target, name, value)
    try:
        with transaction.atomic():
            target.save()
    except IntegrityError:
        raise ListError(f"L'adresse « {cleaned.address} » est déjà utilisée.", "address") from None
    return target


def check_add_member(by: Account, mailing_list: MailingList, address: str) -> Member:
    """Add an académie account, another list of ours or an outside address to
    a hand-managed list. Refuses (ListError) a bad address, an unknown
    académie address, a member already there, and a list that would contain
    itself (``members.check_no_loop``)."""
    if not _manages(by, mailing_list):
        raise ListNotFound(mailing_list.pk)
    if mailing_list.kind != Kind.MANUAL:
        raise ListError("Les membres d'une liste de l'annuaire viennent de l'annuaire : rien à ajouter à la main.")
    cleaned = _clean_address(address)
    try:
        check_no_loop(mailing_list, cleaned)
    except LoopError as exc:
        raise ListError(str(exc), "address") from None
    account_id = None
    if is_local(cleaned) and not MailingList.objects.filter(address=cleaned).exists():
        account_id = resolve_addresses([cleaned]).get(cleaned)
        if account_id is None:
            raise ListError(f"Aucun compte de l'académie n'a l'adresse « {cleaned} ».", "address")
    try:
        with transaction.atomic():
            return Member.objects.create(mailing_list=mailing_list, address=cleaned, account_id=account_id)
    except IntegrityError:
        raise ListError(f"« {cleaned} » est déjà membre de la liste.", "address") from None


def _clean_address(address: str) -> str:
    cleaned = address.strip().lower()
    try:
        validate_email(cleaned)
    except ValidationError:
        raise ListError(f"« {address.strip()} » n'est pas une adresse électronique valide.", "address") from None
    return cleaned


def check_add_sender(by: Account, mailing_list: MailingList, address: str) -> Sender:
    if not _manages(by, mailing_list):
        raise ListNotFound(mailing_list.pk)
    cleaned = _clean_address(address)
    sender, _created = Sender.objects.get_or_create(mailing_list=mailing_list, address=cleaned)
    return sender


def check_add_moderator(by: Account, mailing_list: MailingList, address: str) -> Moderator:
    if not _manages(by, mailing_list):
        raise ListNotFound(mailing_list.pk)
    cleaned = _clean_address(address)
    account_id = resolve_addresses([cleaned]).get(cleaned)
    if account_id is None:
        raise ListError(f"Un modérateur est un compte de l'académie : « {cleaned} » n'en est pas un.", "address")
    moderator, _created = Moderator.objects.get_or_create(mailing_list=mailing_list, account_id=account_id)
    return moderator


def do_remove(by: Account, mailing_list: MailingList, what: str, row_id: int) -> bool:
    """Remove a member, sender or moderator row of a list ``by`` manages."""
    if not _manages(by, mailing_list):
        raise ListNotFound(mailing_list.pk)
    rows: dict[str, QuerySet[Member] | QuerySet[Sender] | QuerySet[Moderator]] = {
        "member": Member.objects.all(), "sender": Sender.objects.all(), "moderator": Moderator.objects.all(),
    }
    if what not in rows:
        return False
    deleted, _ = rows[what].filter(mailing_list=mailing_list, pk=row_id).delete()
    return deleted > 0


def do_enable_member(by: Account, mailing_list: MailingList, member_id: int) -> bool:
    """Turn back on a member disabled after bounces (its count starts over)."""
    if not _manages(by, mailing_list):
        raise ListNotFound(mailing_list.pk)
    return bool(
        Member.objects.filter(mailing_list=mailing_list, pk=member_id).update(
            disabled_at=None, bounces=0, last_bounce_at=None
        )
    )


def do_delete_list(by: Account, mailing_list: MailingList) -> None:
    """Delete a list, its members and its archive (contents released)."""
    if not _manages(by, mailing_list):
        raise ListNotFound(mailing_list.pk)
    with transaction.atomic():
        mailing_list.delete()


def do_unsubscribe(account: Account, mailing_list: MailingList) -> bool:
    """``account`` leaves a hand-managed list that allows it; False when it
    was not a member there or the list does not allow it."""
    if not mailing_list.allow_unsubscribe:
        return False
    deleted, _ = Member.objects.filter(mailing_list=mailing_list, address__in=_addresses_of(account)).delete()
    return deleted > 0


def digest_choice(account: Account, mailing_list: MailingList) -> bool | None:
    """Whether the person takes this hand list as a daily digest; None when
    they are not one of its direct members (nothing to choose)."""
    if mailing_list.kind != Kind.MANUAL:
        return None
    rows = list(Member.objects.filter(mailing_list=mailing_list, address__in=_addresses_of(account))
                .values_list("digest", flat=True))
    return any(rows) if rows else None


def check_set_digest(account: Account, mailing_list: MailingList, digest: bool) -> int:
    """"Un résumé par jour" or "Chaque message" (``lists.digests``)."""
    from academail.lists.digests import check_set_digest as set_digest

    return set_digest(account, mailing_list, digest, _addresses_of(account))


def members_page(mailing_list: MailingList, *, limit: int = 500) -> QuerySet[Member]:
    return Member.objects.filter(mailing_list=mailing_list).order_by("address")[:limit]


def directory_count(mailing_list: MailingList) -> int:
    from academail.lists.members import directory_accounts

    return directory_accounts(mailing_list).count() if mailing_list.kind == Kind.DIRECTORY else 0


# --- moderation and archive ----------------------------------------------------------------


def held_posts(mailing_list: MailingList) -> list[Post]:
    return list(Post.objects.filter(mailing_list=mailing_list, status=PostStatus.HELD).order_by("id")[:200])


def archive_page(mailing_list: MailingList, *, before_id: int | None = None) -> list[Post]:
    """Distributed posts, newest first, ``PAGE_SIZE`` at a time (index
    (list, status, -id)); ``before_id``: the last id of the previous page."""
    rows = Post.objects.filter(mailing_list=mailing_list, status=PostStatus.DISTRIBUTED)
    if before_id is not None:
        rows = rows.filter(pk__lt=before_id)
    return list(rows.order_by("-id")[:PAGE_SIZE])


MAX_QUERY = 200


def archive_search(mailing_list: MailingList, query: str, *, before_id: int | None = None) -> list[Post] | None:
    """The list's distributed posts matching ``query`` (every word, as a word
    prefix, in the subject, the people or the text; accents and case
    ignored: the store's full-text index, where each post is a Content),
    newest first, ``PAGE_SIZE`` at a time after ``before_id``. None when the
    query has no searchable word. The caller checked the right to read the
    archive (``access_list``). The archive's own posts are tested one by one
    (``search.match_sql``'s probe form) up to ``search.PROBE_LIMIT`` posts,
    so the cost follows the list, not the académie's index."""
    rows = Post.objects.filter(mailing_list=mailing_list, status=PostStatus.DISTRIBUTED)
    size = rows.count()
    condition = search.match_sql(query[:MAX_QUERY], scope_messages=size, column="lists_post.content_id")
    if condition is None:
        return None
    if search.probes(size) and connection.vendor == "sqlite":
        search.register_functions()
    sql, params = condition
    rows = rows.extra(where=[sql], params=params)  # noqa: S610 (fixed SQL from store.search, values as params)
    if before_id is not None:
        rows = rows.filter(pk__lt=before_id)
    return list(rows.order_by("-id")[:PAGE_SIZE])


def check_moderate(by: Account, list_id: int, post_id: int, *, approve: bool) -> Post | None:
    """Approve (distribute now) or reject (DSN to the sender) a held post of
    a list ``by`` moderates. None when it was already decided (by another
    moderator meanwhile): it is distributed once. Raises ListNotFound."""
    access_list(by, list_id, need="moderate")
    with transaction.atomic():
        post = (
            Post.objects.select_for_update().select_related("mailing_list")
            .filter(pk=post_id, mailing_list_id=list_id).first()
        )
        if post is None:
            raise ListNotFound(post_id)
        if post.status != PostStatus.HELD:
            return None
        if approve:
            posting.do_approve(post, by)
        else:
            posting.do_reject(post, by)
    return post


@dataclass(frozen=True)
class ReadPost:
    post: Post
    parsed: ParsedMessage
    raw: bytes


def access_post(account: Account, list_id: int, post_id: int) -> ReadPost:
    """A post of the archive (distributed) for a reader of the list, or a held
    one for its moderators. Raises ListNotFound."""
    access = access_list(account, list_id)
    statuses = [PostStatus.DISTRIBUTED] + ([PostStatus.HELD] if access.moderate else [])
    post = Post.objects.filter(pk=post_id, mailing_list_id=list_id, status__in=statuses).first()
    if post is None:
        raise ListNotFound(post_id)
    raw = blob_store().get(post.sha256)
    return ReadPost(post, parse_message(raw), raw)
