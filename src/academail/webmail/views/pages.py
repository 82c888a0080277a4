"""The webmail's list pages: a folder's list
(sorted, by message or by conversation, keyset pages), the list's actions
(read, flag, move, delete, junk, not junk) and search.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from academail.protection import warnings as protection
from academail.store import webmail as store
from academail.store.errors import NoPermission, QuotaExceeded
from academail.web.frame import parse_int, render_page, signed_in_id, webmail_view
from academail.web.helplinks import Articles, message_tag
from academail.webmail import preferences, rows, searching


@webmail_view
@require_GET
def index(request: HttpRequest) -> HttpResponse:
    return redirect("webmail:folder", mailbox_id=store.inbox(signed_in_id(request)).pk)


@webmail_view
@require_GET
def folder(request: HttpRequest, mailbox_id: int) -> HttpResponse:
    """A folder's list, sorted (``tri``, ``sens``), by message or by
    conversation (``vue``); keyset pages (``apres`` + ``cle``, or ``avant``)."""
    account_id = signed_in_id(request)
    settings_ = preferences.access_preferences(account_id)
    view = request.GET.get("vue", "")
    if view in ("conversations", "messages"):
        if (view == "conversations") != settings_.conversations:
            preferences.do_set_conversations(account_id, view == "conversations")
        conversations = view == "conversations"
    else:
        conversations = settings_.conversations
    page_size = settings_.page_size if settings_.page_size in store.PAGE_SIZES else store.PAGE_SIZE
    sort = request.GET.get("tri", "date")
    if sort not in store.SORTS:
        sort = "date"
    direction = request.GET.get("sens", store.DEFAULT_DIRECTION[sort])
    descending = direction != "asc"
    if conversations:
        threads = store.conversation_page(account_id, mailbox_id, before_uid=parse_int(request.GET.get("avant")), page_size=page_size)
        newest = reverse("webmail:folder", args=[mailbox_id])
        paging = Paging.of(
            first_url=newest if request.GET.get("avant") else "",
            next_url=f"{newest}?avant={threads.older}" if threads.older else "",
            first_label=_("Conversations les plus récentes"),
            next_label=_("Conversations plus anciennes"),
        )
        return render_page(
            request,
            "folder.html",
            {"threads": threads, "page": threads, "title": store.display_name(threads.mailbox), "rows": threads.conversations,
             "conversations": True, "paging": paging},
            current=mailbox_id,
        )
    after_uid = parse_int(request.GET.get("apres"))
    key = request.GET.get("cle", "")[:100]
    if sort == "taille" and not key.isdigit():
        after_uid = None
    page = store.folder_page(
        account_id,
        mailbox_id,
        before_uid=parse_int(request.GET.get("avant")),
        sort=sort,
        descending=descending,
        after=(key, after_uid) if after_uid is not None else None,
        page_size=page_size,
    )
    return render_page(
        request,
        "folder.html",
        {"page": page, "title": store.display_name(page.mailbox), "sort_links": _sort_links(page),
         "rows": rows.message_rows(page.messages, phishing=protection.flagged_ids(page.messages)),
         "paging": _folder_paging(request, page)},
        current=mailbox_id,
    )


@dataclass(frozen=True)
class Paging:
    """The DSFR pagination of a keyset list (``partials/pagination.html``): the
    first page ("" on the first page itself) and the next one ("" at the end)."""

    first_url: str
    next_url: str
    first_label: str
    next_label: str

    @classmethod
    def of(cls, *, first_url: str, next_url: str, first_label: str, next_label: str) -> Paging | None:
        """None when the list fits on one page (no navigation at all)."""
        if not first_url and not next_url:
            return None
        return cls(first_url, next_url, first_label, next_label)


def _folder_paging(request: HttpRequest, page: store.Page) -> Paging | None:
    """Newest first by date: pages before a UID (``avant``). Any other order:
    pages after a sort key and UID (``apres`` + ``cle``), the order in the address."""
    newest = reverse("webmail:folder", args=[page.mailbox.pk])
    if page.sort == "date" and page.descending:
        return Paging.of(
            first_url=newest if request.GET.get("avant") or request.GET.get("apres") else "",
            next_url=f"{newest}?avant={page.older}" if page.older else "",
            first_label=_("Messages les plus récents"),
            next_label=_("Messages plus anciens"),
        )
    start = f"{newest}?" + urlencode({"tri": page.sort, "sens": "desc" if page.descending else "asc"})
    return Paging.of(
        first_url=start if request.GET.get("apres") else "",
        next_url=f"{start}&" + urlencode({"apres": page.older, "cle": page.next_key}) if page.older else "",
        first_label=_("Début de la liste"),
        next_label=_("Page suivante"),
    )


_SORT_LABELS = {"date": "Date", "expediteur": "De", "objet": "Objet", "taille": "Taille"}


def _sort_links(page: store.Page) -> dict[str, dict[str, str]]:
    """For each sortable column: the link that sorts by it (the other direction
    when it is the current sort) and its aria-sort value."""
    links: dict[str, dict[str, str]] = {}
    for sort in store.SORTS:
        current = sort == page.sort
        if current:
            direction = "asc" if page.descending else "desc"
            aria = "descending" if page.descending else "ascending"
        else:
            direction, aria = store.DEFAULT_DIRECTION[sort], "none"
        links[sort] = {"href": f"?tri={sort}&sens={direction}", "aria": aria, "current": "1" if current else ""}
    return links


@webmail_view
@require_POST
def actions(request: HttpRequest, mailbox_id: int) -> HttpResponse:
    action = request.POST.get("action", "")
    uids = [u for u in (parse_int(v) for v in request.POST.getlist("uid")) if u is not None]
    next_url = reverse("webmail:folder", args=[mailbox_id])
    if action not in store.ACTIONS:
        messages.error(request, _("Action inconnue."))
        return redirect(next_url)
    if not uids:
        messages.error(request, _("Sélectionnez au moins un message."))
        return redirect(next_url)
    target = parse_int(request.POST.get("target"))
    if action == "move" and target is None:
        messages.error(request, _("Choisissez le dossier de destination."))
        return redirect(next_url)
    try:
        # Another account's folder, as source or target, is a 404 (webmail_view).
        count = store.do_message_action(signed_in_id(request), mailbox_id, uids, action, target_id=target)
    except QuotaExceeded as error:
        messages.error(request, error.message)
        return redirect(next_url)
    except NoPermission as refused:
        # A shared mailbox where the person lacks this right (store.acl).
        messages.error(request, refused.message, extra_tags=message_tag(Articles.SHARING))
        return redirect(next_url)
    done = {
        "seen": _("Marqué comme lu."),
        "unseen": _("Marqué comme non lu."),
        "flag": _("Suivi activé."),
        "unflag": _("Suivi retiré."),
        "move": moved_to(signed_in_id(request), target) if action == "move" else "",
        "delete": _("Supprimé."),
        "junk": _("Signalé comme indésirable et déplacé dans Indésirables."),
        "notjunk": _("Ce n'est pas un indésirable : remis dans la boîte de réception. Les prochains messages de cet expéditeur y arriveront."),
    }[action]
    messages.success(request, done if count else _("Aucun message n'a changé."))
    # Stay on a message whose flags changed; leave one that is gone.
    if len(uids) == 1 and action in ("seen", "flag", "unflag") and request.POST.get("from") == "message":
        return redirect("webmail:message", mailbox_id=mailbox_id, uid=uids[0])
    return redirect(next_url)


def moved_to(account_id: int, target: int | None) -> str:
    """ "Déplacé dans « Projets »." — the person sees where the message went."""
    label = next((f.label for f in store.folder_pane(account_id, target).folders if f.mailbox.pk == target), "")
    return _("Déplacé dans « %(folder)s ».") % {"folder": label} if label else _("Déplacé.")


@webmail_view
@require_GET
def search(request: HttpRequest) -> HttpResponse:
    account_id = signed_in_id(request)
    # "boite": a shared mailbox the person is viewing (its owner's id); the
    # folders offered and searched are those they may read there.
    owner = parse_int(request.GET.get("boite"))
    entry = store.shared_entry(account_id, owner) if owner is not None else None
    pane = store.folder_pane(account_id, entry)
    form = searching.SearchForm(request.GET, pane.folders)
    criteria = form.criteria()
    found = (
        store.search_page(account_id, criteria, before_id=parse_int(request.GET.get("avant")), owner_id=pane.owner_id)
        if criteria else None
    )
    query_string = form.query_string()
    terms = form.highlight_terms()
    context = {
        "paging": Paging.of(
            first_url=f"?{query_string}" if found and request.GET.get("avant") else "",
            next_url=f"?{query_string}&avant={found.older}" if found and found.older else "",
            first_label=_("Premiers résultats"),
            next_label=_("Résultats plus anciens"),
        ),
        "query": request.GET.get("q", "").strip()[:200],
        "form": form,
        "found": found,
        "rows": rows.message_rows(found.messages, terms=terms, show_folder=True) if found else [],
        "title": _("Recherche"),
    }
    return render_page(request, "search.html", context, current=entry, pane=pane)
