"""The event form: native date and time inputs (they work without JavaScript
and give phones their own pickers), read as Europe/Paris local times."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.utils.translation import gettext_lazy as _

from academail.calendar.events import PARIS, EventDraft

RECURRENCE_CHOICES = [
    ("", _("Ne se répète pas")),
    ("daily", _("Tous les jours")),
    ("schooldays", _("Chaque jour de classe (lundi au vendredi)")),
    ("weekly", _("Chaque semaine")),
    ("fortnightly", _("Toutes les deux semaines (semaine A / B)")),
    ("monthly", _("Chaque mois")),
]
REMINDER_CHOICES = [
    (0, _("Aucun rappel")),
    (10, _("10 minutes avant")),
    (30, _("30 minutes avant")),
    (60, _("1 heure avant")),
    (1440, _("La veille (24 heures avant)")),
]


class CalendarChoiceForm(forms.Form):
    """A form with a ``calendar`` field offering the person's own calendars."""

    calendar = forms.ChoiceField(label=_("Agenda"))

    def __init__(self, *args: object, calendars: list[tuple[str, str]], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.fields["calendar"].choices = calendars


class EventForm(CalendarChoiceForm):
    summary = forms.CharField(label=_("Titre"), max_length=200)
    calendar = forms.ChoiceField(label=_("Agenda"))
    start_date = forms.DateField(label=_("Date de début"), widget=forms.DateInput(attrs={"type": "date"}))
    start_time = forms.TimeField(label=_("Heure de début"), required=False,
                                 widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))
    end_date = forms.DateField(label=_("Date de fin"), widget=forms.DateInput(attrs={"type": "date"}))
    end_time = forms.TimeField(label=_("Heure de fin"), required=False,
                               widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))
    all_day = forms.BooleanField(label=_("Toute la journée"), required=False)
    location = forms.CharField(label=_("Lieu"), max_length=200, required=False)
    description = forms.CharField(label=_("Description"), max_length=4000, required=False,
                                  widget=forms.Textarea(attrs={"rows": 3}))
    guests = forms.CharField(label=_("Inviter"), max_length=4000, required=False,
                             help_text=_("Adresses e-mail séparées par des virgules : chaque invité reçoit une invitation par courriel."))
    recurrence = forms.ChoiceField(label=_("Répétition"), choices=RECURRENCE_CHOICES, required=False)
    until = forms.DateField(label=_("Jusqu'au (répétition)"), required=False,
                            help_text=_("Laissez vide pour une répétition sans fin."),
                            widget=forms.DateInput(attrs={"type": "date"}))
    reminder = forms.TypedChoiceField(label=_("Rappel"), choices=REMINDER_CHOICES, coerce=int, empty_value=0,
                                      required=False)

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        if not data.get("all_day"):
            for name in ("start_time", "end_time"):
                if data.get(name) is None and name not in self.errors:
                    self.add_error(name, _("Indiquez l'heure, ou cochez « Toute la journée »."))
        return data

    def draft(self, href: str = "") -> EventDraft:
        data = self.cleaned_data
        all_day = bool(data["all_day"])
        start_time = dt.time() if all_day else data["start_time"]
        end_time = dt.time() if all_day else data["end_time"]
        return EventDraft(
            calendar=data["calendar"], summary=data["summary"], location=data.get("location") or "",
            description=data.get("description") or "",
            start=dt.datetime.combine(data["start_date"], start_time, PARIS),
            end=dt.datetime.combine(data["end_date"], end_time, PARIS),
            all_day=all_day, recurrence=data.get("recurrence") or "", until=data.get("until"),
            reminder=int(data.get("reminder") or 0), href=href,
        )

    @staticmethod
    def initial_from(draft: EventDraft) -> dict[str, object]:
        assert draft.start is not None and draft.end is not None
        return {
            "summary": draft.summary, "calendar": draft.calendar, "location": draft.location,
            "description": draft.description, "all_day": draft.all_day,
            "start_date": draft.start.date(), "start_time": None if draft.all_day else draft.start.time(),
            "end_date": draft.end.date(), "end_time": None if draft.all_day else draft.end.time(),
            "recurrence": draft.recurrence, "until": draft.until, "reminder": draft.reminder,
        }


# --- appointment booking (calendar.appointments) ----------------------------------------

SLOT_CHOICES = [(m, _("%(minutes)s minutes") % {"minutes": m}) for m in (5, 10, 15, 20, 30, 45, 60)]


class AppointmentPageForm(CalendarChoiceForm):
    title = forms.CharField(label=_("Titre de la page"), max_length=200,
                            help_text=_("Par exemple : Rencontres parents-professeurs, 3e B."))
    host = forms.CharField(label=_("Votre nom tel que les parents le verront"), max_length=200, required=False,
                           help_text=_("Par exemple : Mme Martin, professeure principale. Aucune autre "
                                       "information de l'annuaire n'est montrée."))
    description = forms.CharField(label=_("Message aux parents"), max_length=2000, required=False,
                                  widget=forms.Textarea(attrs={"rows": 3}))
    place = forms.CharField(label=_("Lieu"), max_length=200, required=False,
                            help_text=_("Par exemple : Salle 12, bâtiment B."))
    video_url = forms.CharField(label=_("Lien de visioconférence"), max_length=500, required=False,
                                help_text=_("Facultatif ; commence par https://."))
    slot_minutes = forms.TypedChoiceField(label=_("Durée d'un rendez-vous"), choices=SLOT_CHOICES, coerce=int,
                                          initial=15)
    break_minutes = forms.IntegerField(label=_("Pause entre deux rendez-vous (minutes)"), min_value=0,
                                       max_value=60, initial=5)
    capacity = forms.IntegerField(label=_("Réservations par créneau"), min_value=1, max_value=20, initial=1)
    deadline_hours = forms.IntegerField(label=_("Clôture des réservations (heures avant le rendez-vous)"),
                                        min_value=0, max_value=336, initial=24)
    question = forms.CharField(label=_("Question posée aux parents"), max_length=200, required=False,
                               help_text=_("Facultative ; par exemple : Nom et classe de l'enfant."))
    calendar = forms.ChoiceField(label=_("Agenda où inscrire les rendez-vous"))
    active = forms.BooleanField(label=_("Page ouverte aux réservations"), required=False, initial=True)


class AppointmentRangeForm(forms.Form):
    first_day = forms.DateField(label=_("Premier jour"), widget=forms.DateInput(attrs={"type": "date"}))
    last_day = forms.DateField(label=_("Dernier jour"), required=False, widget=forms.DateInput(attrs={"type": "date"}),
                               help_text=_("Laissez vide pour un seul jour. Sur plusieurs jours, du lundi au vendredi."))
    start_time = forms.TimeField(label=_("De"), widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))
    end_time = forms.TimeField(label=_("À"), widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))


class BookingForm(forms.Form):
    """The parent's form: the slot (radio buttons, grouped by day in the
    template), their name and address, the teacher's question."""

    name = forms.CharField(label=_("Votre nom et prénom"), max_length=200,
                           widget=forms.TextInput(attrs={"autocomplete": "name"}))
    email = forms.EmailField(label=_("Votre adresse électronique"), max_length=254,
                             help_text=_("Vous y recevrez un lien pour confirmer le rendez-vous, puis la confirmation."),
                             widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    answer = forms.CharField(max_length=500, required=False)

    def __init__(self, *args: object, question: str, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        if question:
            self.fields["answer"].label = question
            self.fields["answer"].required = True
        else:
            del self.fields["answer"]
