"""Pages of training sessions (``/formations/``): the list, a session with
sign-up, cancellation and resources, and for trainers publishing, attendee
lists and their CSV export. Views parse, call one service of
``help.training`` and render."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from academail.accounts.models import Account
from academail.accounts.views import secured
from academail.help import training


def _me(request: HttpRequest) -> Account:
    assert isinstance(request.user, Account)
    return request.user


@login_required
@secured
def index(request: HttpRequest) -> HttpResponse:
    me = _me(request)
    sessions = training.upcoming()
    mine = training.my_states(me, sessions)
    return render(request, "help/pages/training_index.html", {
        "sessions": [(s, mine.get(s.pk), training.free_places(s)) for s in sessions],
        "can_train": training.can_train(me),
    })


@login_required
@secured
def session(request: HttpRequest, session_id: int) -> HttpResponse:
    me = _me(request)
    try:
        item = training.access_session(session_id)
    except training.SessionNotFound:
        raise Http404 from None
    registration = training.my_registration(me, item)
    return render(request, "help/pages/training_session.html", {
        "session": item, "registration": registration,
        "position": training.waiting_position(registration) if registration and registration.state == "waiting" else 0,
        "free": training.free_places(item), "open": not item.cancelled and item.starts_at > timezone.now(),
        "resources": list(item.resources.order_by("position").defer("document")),
        "can_train": training.can_train(me),
    })


@require_POST
@login_required
@secured
def sign_up(request: HttpRequest, session_id: int) -> HttpResponse:
    try:
        row = training.check_sign_up(_me(request), session_id, waiting_list=request.POST.get("liste") == "1")
    except training.SessionNotFound:
        raise Http404 from None
    except training.TrainingError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Vous êtes inscrit : l'invitation vous a été envoyée par courriel.")
                         if row.state == "confirmed" else
                         _("Vous êtes sur la liste d'attente : vous serez inscrit automatiquement si une place se libère."))
    return redirect("training:session", session_id=session_id)


@require_POST
@login_required
@secured
def cancel(request: HttpRequest, session_id: int) -> HttpResponse:
    try:
        training.check_cancel(_me(request), session_id)
    except training.SessionNotFound:
        raise Http404 from None
    except training.TrainingError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Votre désinscription est enregistrée."))
    return redirect("training:session", session_id=session_id)


@login_required
@secured
def document(request: HttpRequest, session_id: int, resource_id: int) -> HttpResponse:
    try:
        row = training.access_resource_document(_me(request), session_id, resource_id)
    except training.SessionNotFound:
        raise Http404 from None
    response = HttpResponse(bytes(row.document or b""), content_type="application/octet-stream")
    response["Content-Disposition"] = content_disposition_header(True, row.document_name or "document")
    response["X-Content-Type-Options"] = "nosniff"
    return response


@require_POST
@login_required
@secured
def cancel_session(request: HttpRequest, session_id: int) -> HttpResponse:
    if request.POST.get("confirmer") != "1":
        messages.error(request, _("Cochez la case de confirmation pour annuler la session."))
        return redirect("training:session", session_id=session_id)
    try:
        told = training.check_cancel_session(_me(request), session_id)
    except training.SessionNotFound:
        raise Http404 from None
    except training.TrainingError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Session annulée : %(n)s personne(s) prévenue(s) par courriel.") % {"n": told})
    return redirect("training:session", session_id=session_id)


# --- trainers ------------------------------------------------------------------------------


class SessionForm(forms.Form):
    title = forms.CharField(label=gettext_lazy("Titre"), max_length=200)
    description = forms.CharField(label=gettext_lazy("Description"), widget=forms.Textarea(attrs={"rows": 6}))
    audience = forms.CharField(label=gettext_lazy("Public"), max_length=200, required=False,
                               help_text=gettext_lazy("Par exemple : nouveaux personnels, secrétariats."))
    online_url = forms.URLField(label=gettext_lazy("Lien de la visioconférence"), required=False,
                                assume_scheme="https")
    place = forms.CharField(label=gettext_lazy("Lieu"), max_length=300, required=False)
    starts_at = forms.DateTimeField(label=gettext_lazy("Début"),
                                    widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"))
    ends_at = forms.DateTimeField(label=gettext_lazy("Fin"),
                                  widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"))
    capacity = forms.IntegerField(label=gettext_lazy("Nombre de places"), min_value=1, max_value=training.MAX_CAPACITY)

    def draft(self) -> training.SessionDraft:
        data = self.cleaned_data
        return training.SessionDraft(data["title"], data["description"], data["audience"], data["online_url"],
                                     data["place"], data["starts_at"], data["ends_at"], data["capacity"])


def _trainer(request: HttpRequest) -> Account:
    me = _me(request)
    if not training.can_train(me):
        raise Http404
    return me


def _local(value: datetime) -> datetime:
    return timezone.localtime(value)


@login_required
@secured
def publish(request: HttpRequest, session_id: int | None = None) -> HttpResponse:
    me = _trainer(request)
    initial: dict[str, Any] = {}
    if session_id is not None:
        try:
            item = training.access_managed_session(me, session_id)
        except training.SessionNotFound:
            raise Http404 from None
        initial = {"title": item.title, "description": item.description, "audience": item.audience,
                   "online_url": item.online_url, "place": item.place, "starts_at": _local(item.starts_at),
                   "ends_at": _local(item.ends_at), "capacity": item.capacity}
    form = SessionForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            saved = training.check_publish(me, form.draft(), session_id=session_id)
        except training.TrainingError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(request, _("Session enregistrée."))
            return redirect("training:session", session_id=saved.pk)
    return render(request, "help/pages/training_form.html", {"form": form, "session_id": session_id})


@login_required
@secured
def attendee_list(request: HttpRequest, session_id: int) -> HttpResponse:
    try:
        item, rows = training.attendees(_me(request), session_id)
    except training.SessionNotFound:
        raise Http404 from None
    return render(request, "help/pages/training_attendees.html", {"session": item, "rows": rows})


@login_required
@secured
def attendee_csv(request: HttpRequest, session_id: int) -> HttpResponse:
    try:
        item, text = training.attendees_csv(_me(request), session_id)
    except training.SessionNotFound:
        raise Http404 from None
    response = HttpResponse(text, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = content_disposition_header(True, f"inscrits-formation-{item.pk}.csv")
    return response


class ResourceForm(forms.Form):
    title = forms.CharField(label=gettext_lazy("Titre"), max_length=200)
    url = forms.URLField(label=gettext_lazy("Lien"), required=False, assume_scheme="https")
    document = forms.FileField(label=gettext_lazy("Ou un document (10 Mo au plus)"), required=False)


@login_required
@secured
def add_resource(request: HttpRequest, session_id: int) -> HttpResponse:
    me = _trainer(request)
    form = ResourceForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["document"]
        try:
            training.check_add_resource(
                me, session_id, title=form.cleaned_data["title"], url=form.cleaned_data["url"] or "",
                document=upload.read(training.MAX_DOCUMENT + 1) if upload else None,
                document_name=upload.name if upload else "", document_type=upload.content_type if upload else "",
            )
        except training.SessionNotFound:
            raise Http404 from None
        except training.TrainingError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(request, _("Ressource ajoutée."))
            return redirect("training:session", session_id=session_id)
    return render(request, "help/pages/training_resource.html", {"form": form, "session_id": session_id})
