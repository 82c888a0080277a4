"""Pages of the help centre: index and search, articles (signed out too),
feedback, and editing for the helpdesk and administrators. Views parse, call
one service of ``help.articles`` and render."""

from __future__ import annotations

import hashlib
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from academail.accounts.models import Account
from academail.accounts.views import secured
from academail.autoconfig.clientconfig import public_endpoints
from academail.help import articles
from academail.help.models import Article
from academail.web import helplinks as links

MAX_QUERY = 200


def _reader_values(request: HttpRequest) -> dict[str, str]:
    """The settings a reader types into a phone, their own when signed in."""
    endpoints = public_endpoints()
    values = {
        "serveur_imap": endpoints.imap_host, "port_imap": str(endpoints.imap_port),
        "serveur_smtp": endpoints.smtp_host, "port_smtp": str(endpoints.smtp_port),
        "identifiant": _("votre identifiant (par exemple jdupont)"),
        "adresse": _("votre adresse (prénom.nom@…)"),
    }
    user = request.user
    if isinstance(user, Account) and user.is_authenticated:
        values["identifiant"], values["adresse"] = user.identifier, user.address
    return values


@secured
def index(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()[:MAX_QUERY]
    context: dict[str, Any] = {"query": query, "can_edit": articles.can_edit(request.user)}
    if query:
        context["results"] = articles.search(query, reader=request.user)
        return render(request, "help/pages/search.html", context)
    topic = request.GET.get("rubrique", "")
    context["topics"] = articles.index(reader=request.user, topic=topic if topic in articles.TOPIC_KEYS else "")
    return render(request, "help/pages/index.html", context)


def _not_found(request: HttpRequest, slug: str) -> HttpResponse:
    words = slug.replace("-", " ")
    return render(request, "help/pages/not_found.html", {
        "query": words, "suggestions": articles.search(words, reader=request.user, limit=5),
    }, status=404)


def _voter(request: HttpRequest) -> str:
    user = request.user
    if isinstance(user, Account) and user.is_authenticated:
        return f"account:{user.pk}"
    if request.session.session_key is None:
        request.session.save()
    key = request.session.session_key or ""
    return "session:" + hashlib.sha256(key.encode()).hexdigest()[:40]


@secured
def article(request: HttpRequest, slug: str) -> HttpResponse:
    try:
        item = articles.access_article(slug, reader=request.user)
    except articles.ArticleNotFound:
        return _not_found(request, slug)
    voted = request.session.get("help_voted", {}).get(item.slug)
    return render(request, "help/pages/article.html", {
        "article": item,
        "body": mark_safe(articles.personalised_html(item, _reader_values(request))),  # noqa: S308 - nh3-cleaned, values escaped
        "can_edit": articles.can_edit(request.user),
        "assistance_url": links.assistance_url(item.category),
        "voted": voted,
        "comments": articles.access_feedback_comments(request.user, item),
    })


@require_POST
@secured
def feedback(request: HttpRequest, slug: str) -> HttpResponse:
    try:
        item = articles.access_article(slug, reader=request.user)
    except articles.ArticleNotFound:
        return _not_found(request, slug)
    answer = request.POST.get("helpful")
    if answer not in ("yes", "no"):
        messages.error(request, _("Choisissez « Oui » ou « Non »."))
        return redirect("help:article", slug=item.slug)
    articles.do_record_feedback(item, voter=_voter(request), helpful=answer == "yes",
                                comment=request.POST.get("comment", ""))
    voted = request.session.get("help_voted", {})
    voted[item.slug] = answer
    request.session["help_voted"] = voted
    return redirect(f"{links.article_url(item.slug)}#avis")


# --- the guided tour after activation ---------------------------------------------------

TOUR_STEPS = 4


@login_required
@secured
def tour(request: HttpRequest, step: int) -> HttpResponse:
    """A short page sequence (no script needed): inbox, filters, phone, security.
    Every step offers "Passer la visite", which goes to the inbox."""
    if not 1 <= step <= TOUR_STEPS:
        raise Http404
    return render(request, "help/pages/tour.html", {
        "step": step, "steps": TOUR_STEPS, "previous": step - 1, "next": step + 1 if step < TOUR_STEPS else 0,
    })


# --- editing -------------------------------------------------------------------------------


class ArticleForm(forms.Form):
    title = forms.CharField(label=gettext_lazy("Titre"), max_length=200)
    slug = forms.CharField(label=gettext_lazy("Adresse de l'article"), max_length=80, required=False,
                           help_text=gettext_lazy("Minuscules sans accent et tirets, par exemple « boite-pleine »."))
    summary = forms.CharField(label=gettext_lazy("Résumé"), max_length=300, required=False)
    topic = forms.ChoiceField(label=gettext_lazy("Rubrique"), choices=articles.TOPICS)
    category = forms.ChoiceField(label=gettext_lazy("Catégorie d'assistance proposée"),
                                 choices=[(c, c) for c in links.CATEGORIES])
    body = forms.CharField(label=gettext_lazy("Texte (Markdown)"), widget=forms.Textarea(attrs={"rows": 24}),
                           max_length=articles.MAX_BODY,
                           help_text=gettext_lazy("## Titre de section, **gras**, *italique*, - liste, "
                                                  "[texte du lien](adresse). Le HTML n'est pas interprété."))
    published = forms.BooleanField(label=gettext_lazy("Publié"), required=False, initial=True)
    note = forms.CharField(label=gettext_lazy("Motif de la modification"), max_length=200, required=False)

    def draft(self) -> articles.Draft:
        data = self.cleaned_data
        return articles.Draft(data["title"], data["summary"], data["topic"], data["category"], data["body"],
                              data["published"], data["note"])


def _editor(request: HttpRequest) -> Account:
    if not articles.can_edit(request.user):
        raise Http404
    assert isinstance(request.user, Account)
    return request.user


@secured
def edit(request: HttpRequest, slug: str | None = None) -> HttpResponse:
    editor = _editor(request)
    current: Article | None = None
    if slug is not None:
        try:
            current = articles.access_article(slug, reader=editor)
        except articles.ArticleNotFound:
            return _not_found(request, slug)
    initial = ({"title": current.title, "summary": current.summary, "topic": current.topic,
                "category": current.category, "body": current.body, "published": current.published}
               if current else {"published": True, "category": "autre"})
    form = ArticleForm(request.POST or None, initial=initial)
    preview = ""
    if request.method == "POST" and form.is_valid():
        try:
            draft = articles.check_draft(form.draft())
            if request.POST.get("action") == "save":
                saved = articles.check_save_article(editor, draft, slug=slug,
                                                    new_slug=form.cleaned_data["slug"].strip())
                messages.success(request, _("Article enregistré."))
                return redirect("help:article", slug=saved.slug)
            preview = articles.preview(draft)
        except articles.ArticleError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
    return render(request, "help/pages/edit.html", {
        "form": form, "article": current, "preview": mark_safe(preview),  # noqa: S308 - nh3-cleaned
    })


@secured
def history(request: HttpRequest, slug: str) -> HttpResponse:
    editor = _editor(request)
    try:
        item, revisions = articles.access_revisions(editor, slug)
    except articles.ArticleNotFound:
        return _not_found(request, slug)
    return render(request, "help/pages/history.html", {"article": item, "revisions": revisions})
