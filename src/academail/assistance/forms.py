"""Forms of the helpdesk pages: the ticket form (with each category's own
questions), replies, answers and notes, the identity check, the phone
ticket, and the secretariat's forms."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from academail.assistance import categories
from academail.assistance.models import Category, TicketStatus
from academail.assistance.tickets import Upload


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files under one name (Django's documented pattern)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput())
        kwargs.setdefault("required", False)
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        single = super().clean
        if isinstance(data, (list, tuple)):
            return [single(item, initial) for item in data if item]
        return [single(data, initial)] if data else []


def uploads_of(files: list[Any]) -> list[Upload]:
    return [Upload(f.name or "fichier", f.content_type or "application/octet-stream", f.read()) for f in files]


def _attachments_field() -> MultipleFileField:
    return MultipleFileField(
        label=_("Fichiers joints (facultatif)"),
        help_text=_("Une capture d'écran aide souvent. Jusqu'à 5 fichiers de 10 Mo."),
    )


class TicketForm(forms.Form):
    category = forms.ChoiceField(label=_("Votre demande concerne"), choices=Category.choices)
    subject = forms.CharField(label=_("Objet"), max_length=200, required=False,
                              help_text=_("En quelques mots (facultatif)."))
    message = forms.CharField(label=_("Décrivez votre difficulté"), max_length=8000,
                              widget=forms.Textarea(attrs={"rows": 6}))
    identifier = forms.CharField(
        label=_("Identifiant (si vous le connaissez)"), max_length=64, required=False,
        help_text=_("Initiale du prénom suivie du nom, par exemple jdupont."),
        widget=forms.TextInput(attrs={"autocomplete": "username", "spellcheck": "false",
                                      "autocapitalize": "none"}),
    )
    name = forms.CharField(label=_("Nom et prénom"), max_length=200, required=False,
                           widget=forms.TextInput(attrs={"autocomplete": "name"}))
    establishment = forms.CharField(label=_("Établissement"), max_length=200, required=False,
                                    widget=forms.TextInput(attrs={"autocomplete": "organization"}))
    numen = forms.CharField(
        label=_("NUMEN (facultatif)"), max_length=40, required=False,
        help_text=_("S'il correspond à votre identifiant, votre demande sera traitée plus vite."),
        widget=forms.PasswordInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    contact_email = forms.EmailField(
        label=_("Adresse électronique pour vous répondre"), max_length=254, required=False,
        help_text=_("Une adresse que vous consultez (personnelle si vous n'accédez plus à votre messagerie)."),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    contact_phone = forms.CharField(label=_("Téléphone (facultatif)"), max_length=40, required=False,
                                    widget=forms.TextInput(attrs={"autocomplete": "tel", "type": "tel"}))
    attachments = _attachments_field()

    def __init__(self, *args: Any, signed_in: bool, category: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.signed_in = signed_in
        if signed_in:
            for name in ("identifier", "name", "establishment", "numen"):
                del self.fields[name]
            self.fields["contact_email"].help_text = _("Par défaut, votre adresse académique.")
        else:
            self.fields["name"].required = True
            self.fields["contact_email"].required = True
        for question in categories.questions(category):
            key = f"q_{question.key}"
            if question.choices:
                self.fields[key] = forms.ChoiceField(
                    label=question.label, required=False,
                    choices=[("", _("— choisir —")), *question.choices])
            else:
                self.fields[key] = forms.CharField(label=question.label, max_length=300, required=False)

    def answers(self) -> dict[str, str]:
        return {name[2:]: str(value) for name, value in self.cleaned_data.items()
                if name.startswith("q_") and value}


class ReplyForm(forms.Form):
    message = forms.CharField(label=_("Votre message"), max_length=8000, required=False,
                              widget=forms.Textarea(attrs={"rows": 4}))
    attachments = _attachments_field()


class RatingForm(forms.Form):
    rating = forms.TypedChoiceField(coerce=int, choices=[(i, str(i)) for i in range(1, 6)])


class AnswerForm(forms.Form):
    body = forms.CharField(label=_("Message"), max_length=20000, widget=forms.Textarea(attrs={"rows": 8}))
    kind = forms.ChoiceField(label=_("Type"), initial="answer", widget=forms.RadioSelect, choices=[
        ("answer", _("Réponse au demandeur (envoyée par courriel)")),
        ("note", _("Note interne (jamais montrée au demandeur)")),
    ])
    close = forms.BooleanField(label=_("Marquer la demande comme résolue"), required=False)
    attachments = _attachments_field()


class AssignForm(forms.Form):
    assignee = forms.ChoiceField(label=_("Attribuer à"), required=False)

    def __init__(self, *args: Any, agents: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assignee"].choices = [("", _("Personne"))] + [(str(a.pk), a.full_name) for a in agents]


class CategoryForm(forms.Form):
    category = forms.ChoiceField(label=_("Catégorie"), choices=Category.choices)


class MergeForm(forms.Form):
    into = forms.IntegerField(label=_("Numéro de la demande à conserver"), min_value=1)


class LinkAccountForm(forms.Form):
    identifier = forms.CharField(label=_("Identifiant du compte"), max_length=64)


class IdentityForm(forms.Form):
    numen = forms.CharField(
        label=_("NUMEN lu par la personne"), max_length=40, required=False,
        help_text=_("Demandez-le à la personne ; il est comparé sans être affiché."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    establishment_ok = forms.BooleanField(
        label=_("La personne a cité son établissement et il correspond au compte"), required=False)
    callback_ok = forms.BooleanField(
        label=_("Je l'ai rappelée à un numéro déjà connu (établissement, annuaire)"), required=False)


class SecondaryForm(forms.Form):
    address = forms.EmailField(label=_("Nouvelle adresse de secours"), max_length=254,
                               widget=forms.EmailInput(attrs={"autocomplete": "off"}))


class QuotaForm(forms.Form):
    megabytes = forms.IntegerField(label=_("Nouveau quota (Mo)"), min_value=1)


class CannedForm(forms.Form):
    category = forms.ChoiceField(label=_("Catégorie"), required=False,
                                 choices=[("", _("Toutes")), *Category.choices])
    title = forms.CharField(label=_("Titre"), max_length=120)
    body = forms.CharField(
        label=_("Texte"), max_length=5000, widget=forms.Textarea(attrs={"rows": 8}),
        help_text=_("Repères remplacés à l'insertion : {prenom}, {nom}, {identifiant}, {numero}, {adresse}, "
                    "{lien_assistance}."),
    )


class QueueForm(forms.Form):
    categorie = forms.ChoiceField(label=_("Catégorie"), required=False,
                                  choices=[("", _("Toutes")), *Category.choices])
    statut = forms.ChoiceField(label=_("Statut"), required=False,
                               choices=[("", _("Ouvertes")), *TicketStatus.choices])
    agent = forms.ChoiceField(label=_("Agent"), required=False)
    etablissement = forms.CharField(label=_("Établissement"), required=False, max_length=200)

    def __init__(self, *args: Any, agents: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["agent"].choices = [("", _("Tous")), ("moi", _("Moi")), ("aucun", _("Non attribuées"))] + [
            (str(a.pk), a.full_name) for a in agents]


class PhoneTicketForm(forms.Form):
    identifier = forms.CharField(label=_("Identifiant de la personne (si elle le connaît)"), max_length=64,
                                 required=False)
    name = forms.CharField(label=_("Nom et prénom"), max_length=200, required=False)
    establishment = forms.CharField(label=_("Établissement"), max_length=200, required=False)
    contact_email = forms.EmailField(label=_("Adresse pour lui répondre"), required=False)
    contact_phone = forms.CharField(label=_("Téléphone"), max_length=40, required=False)
    category = forms.ChoiceField(label=_("Catégorie"), choices=Category.choices)
    subject = forms.CharField(label=_("Objet"), max_length=200, required=False)
    message = forms.CharField(label=_("Ce que dit la personne"), max_length=8000,
                              widget=forms.Textarea(attrs={"rows": 5}))


# --- the secretariat -----------------------------------------------------------------------------


class ImportForm(forms.Form):
    file = forms.FileField(label=_("Fichier CSV des personnels"),
                           help_text=_("Colonnes : nom, prénom, NUMEN, et si vous les avez : rôle, "
                                       "établissement, adresse de secours, quota en Mo."))


class NumenForm(forms.Form):
    reason = forms.CharField(label=_("Motif (obligatoire, gardé dans le journal de la personne)"),
                             max_length=150, min_length=5)


class RenameForm(forms.Form):
    first_name = forms.CharField(label=_("Nouveau prénom"), max_length=150)
    last_name = forms.CharField(label=_("Nouveau nom"), max_length=150)


class DepartureForm(forms.Form):
    confirm = forms.BooleanField(label=_("Je confirme le départ de cette personne"))


class LetterForm(forms.Form):
    include_numen = forms.BooleanField(label=_("Imprimer aussi le NUMEN sur la lettre"), required=False)
    reason = forms.CharField(label=_("Motif si le NUMEN est imprimé"), max_length=150, required=False)
