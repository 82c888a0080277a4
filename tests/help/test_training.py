"""Training sessions: publishing (trainers only), sign-up, capacity and the
waiting list, cancellation and promotion, invitations whose .ics parses with
icalendar, reminders the day before, attendee lists and CSV, resources."""

from __future__ import annotations

import threading
from datetime import timedelta
from email import message_from_bytes
from email.policy import default

import icalendar
import pytest
from django.db import close_old_connections
from django.urls import reverse
from django.utils import timezone

from academail.help import training
from academail.help.models import Registration, Trainer, TrainingSession
from academail.store.messages import read_raw
from academail.store.models import Message


@pytest.fixture
def trainer(make_account):
    return make_account("Karim", "Benali", role="support")


@pytest.fixture
def newcomer(make_account):
    return make_account("Léa", "Roux")


def make_session(trainer, *, capacity=10, starts_in=timedelta(days=7), title="Prise en main de la messagerie"):
    starts = timezone.now() + starts_in
    return training.check_publish(trainer, training.SessionDraft(
        title, "Lire, écrire, ranger, configurer son téléphone.", "nouveaux personnels",
        "https://visio.exemple.fr/salle-42", "", starts, starts + timedelta(hours=2), capacity,
    ))


def inbox_mail(account, subject_part: str):
    rows = Message.objects.filter(mailbox__account=account, mailbox__special_use="inbox").select_related("content")
    found = [m for m in rows if subject_part in (m.content.subject or "")]
    assert found, f"no mail « {subject_part} » for {account.address}"
    return message_from_bytes(read_raw(found[-1]), policy=default)


def ics_of(mail) -> icalendar.Calendar:
    (part,) = [p for p in mail.walk() if p.get_content_type() == "text/calendar"]
    return icalendar.Calendar.from_ical(part.get_payload(decode=True))


@pytest.mark.django_db
def test_new_staff_member_signs_up_and_receives_the_invitation(client, trainer, newcomer):
    session = make_session(trainer)
    client.force_login(newcomer)
    listing = client.get(reverse("training:index")).content.decode()
    assert "Prise en main de la messagerie" in listing and "Places libres : 10" in listing
    response = client.post(reverse("training:sign_up", args=[session.pk]))
    page = client.get(response.url).content.decode()
    assert "Vous êtes inscrit" in page and "1 inscrits sur 10 places" in page
    mail = inbox_mail(newcomer, "Inscription confirmée")
    assert "Prise en main de la messagerie" in mail["Subject"]
    assert "https://visio.exemple.fr/salle-42" in mail.get_body(("plain",)).get_content()
    calendar = ics_of(mail)
    assert calendar["method"] == "REQUEST"
    (event,) = calendar.walk("VEVENT")
    assert str(event["summary"]) == "Prise en main de la messagerie"
    assert event.decoded("dtstart") == session.starts_at
    assert event.decoded("dtend") == session.ends_at
    assert str(event["attendee"]) == f"mailto:{newcomer.address}"
    assert str(event["uid"]) == training.event_uid(session)


@pytest.mark.django_db
def test_signing_up_twice_is_refused_with_a_clear_message(client, trainer, newcomer):
    session = make_session(trainer)
    client.force_login(newcomer)
    client.post(reverse("training:sign_up", args=[session.pk]))
    page = client.post(reverse("training:sign_up", args=[session.pk]), follow=True).content.decode()
    assert "Vous êtes déjà inscrit à cette session." in page
    assert Registration.objects.filter(session=session).count() == 1


@pytest.mark.django_db
def test_full_session_refuses_then_waiting_list_then_promotion(client, trainer, newcomer, make_account):
    session = make_session(trainer, capacity=1)
    first = make_account("Anne", "Petit")
    training.check_sign_up(first, session.pk)
    client.force_login(newcomer)
    page = client.post(reverse("training:sign_up", args=[session.pk]), follow=True).content.decode()
    assert "Cette session est complète." in page
    assert "M'inscrire sur la liste d'attente" in page
    assert not Registration.objects.filter(account=newcomer).exists()
    page = client.post(reverse("training:sign_up", args=[session.pk]), {"liste": "1"}, follow=True).content.decode()
    assert "liste d'attente (position 1)" in page
    assert inbox_mail(newcomer, "Liste d'attente")
    promoted = training.check_cancel(first, session.pk)
    assert promoted is not None and promoted.account == newcomer
    assert Registration.objects.get(account=newcomer).state == "confirmed"
    assert ics_of(inbox_mail(newcomer, "Une place s'est libérée"))["method"] == "REQUEST"
    cancel = ics_of(inbox_mail(first, "Désinscription"))
    assert cancel["method"] == "CANCEL"
    assert str(cancel.walk("VEVENT")[0]["status"]) == "CANCELLED"


@pytest.mark.django_db
def test_signing_up_again_after_cancelling_reuses_the_registration(trainer, newcomer):
    session = make_session(trainer)
    training.check_sign_up(newcomer, session.pk)
    training.check_cancel(newcomer, session.pk)
    with pytest.raises(training.TrainingError, match="pas inscrit"):
        training.check_cancel(newcomer, session.pk)
    assert training.check_sign_up(newcomer, session.pk).state == "confirmed"


@pytest.mark.django_db(transaction=True)
def test_two_sign_ups_for_the_last_place_do_not_both_succeed(trainer, make_account):
    session = make_session(trainer, capacity=1)
    people = [make_account("Anne", "Petit"), make_account("Marc", "Blanc")]
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def sign_up(account):
        try:
            barrier.wait(5)
            training.check_sign_up(account, session.pk)
            outcomes.append("confirmed")
        except training.TrainingError as exc:
            outcomes.append(exc.message)
        finally:
            close_old_connections()

    threads = [threading.Thread(target=sign_up, args=(person,)) for person in people]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(outcomes) == 2
    assert outcomes.count("confirmed") == 1
    assert any("Cette session est complète." in outcome for outcome in outcomes)
    assert Registration.objects.filter(session=session, state="confirmed").count() == 1


@pytest.mark.django_db
def test_reminder_the_day_before_is_sent_once(trainer, newcomer):
    soon = make_session(trainer, starts_in=timedelta(hours=20))
    later = make_session(trainer, starts_in=timedelta(days=3), title="Filtres avancés")
    training.check_sign_up(newcomer, soon.pk)
    training.check_sign_up(newcomer, later.pk)
    assert training.do_send_reminders() == 1
    assert training.do_send_reminders() == 0
    assert ics_of(inbox_mail(newcomer, "Rappel"))["method"] == "REQUEST"


@pytest.mark.django_db
def test_only_trainers_publish_and_see_attendees(client, trainer, newcomer, make_account):
    client.force_login(newcomer)
    assert client.get(reverse("training:new")).status_code == 404
    session = make_session(trainer)
    assert client.get(reverse("training:attendees", args=[session.pk])).status_code == 404
    assert client.get(reverse("training:attendees_csv", args=[session.pk])).status_code == 404
    Trainer.objects.create(account=newcomer)  # appointed in the admin
    assert client.get(reverse("training:new")).status_code == 200


@pytest.mark.django_db
def test_trainer_publishes_through_the_form(client, trainer):
    client.force_login(trainer)
    starts = (timezone.localtime() + timedelta(days=10)).replace(second=0, microsecond=0)
    data = {"title": "Atelier secrétariats", "description": "Les listes de diffusion.", "audience": "secrétariats",
            "online_url": "", "place": "Rectorat, salle 3", "capacity": "12",
            "starts_at": starts.strftime("%Y-%m-%dT%H:%M"),
            "ends_at": (starts - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")}
    page = client.post(reverse("training:new"), data).content.decode()
    assert "La fin doit être après le début." in page
    data["ends_at"] = (starts + timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(reverse("training:new"), data)
    assert response.status_code == 302
    session = TrainingSession.objects.get(title="Atelier secrétariats")
    assert session.place == "Rectorat, salle 3" and session.trainer == trainer


@pytest.mark.django_db
def test_attendee_list_and_csv_export(client, trainer, make_account):
    session = make_session(trainer, capacity=1)
    training.check_sign_up(make_account("Anne", "=Petit"), session.pk)
    training.check_sign_up(make_account("Marc", "Blanc"), session.pk, waiting_list=True)
    client.force_login(trainer)
    page = client.get(reverse("training:attendees", args=[session.pk])).content.decode()
    assert "Blanc Marc" in page and "En liste d&#x27;attente" in page
    response = client.get(reverse("training:attendees_csv", args=[session.pk]))
    assert response["Content-Type"].startswith("text/csv")
    text = response.content.decode("utf-8-sig")
    lines = text.strip().splitlines()
    assert lines[0].startswith("Nom;Prénom;Identifiant")
    assert lines[1].startswith("'=Petit;Anne;") and "Inscrit" in lines[1]
    assert lines[2].startswith("Blanc;Marc;") and "En liste d'attente" in lines[2]


@pytest.mark.django_db
def test_resources_links_and_documents(client, trainer, newcomer):
    from django.core.files.uploadedfile import SimpleUploadedFile

    session = make_session(trainer)
    client.force_login(trainer)
    url = reverse("training:add_resource", args=[session.pk])
    assert client.post(url, {"title": "Guide", "url": "https://exemple.fr/guide.pdf"}).status_code == 302
    upload = SimpleUploadedFile("support.pdf", b"%PDF-1.4 support", content_type="application/pdf")
    assert client.post(url, {"title": "Diaporama", "document": upload}).status_code == 302
    both = client.post(url, {"title": "Rien"}).content.decode()
    assert "Indiquez un lien ou joignez un document" in both
    client.force_login(newcomer)
    page = client.get(reverse("training:session", args=[session.pk])).content.decode()
    assert "https://exemple.fr/guide.pdf" in page and "Diaporama" in page
    resource = session.resources.get(title="Diaporama")
    download = client.get(reverse("training:document", args=[session.pk, resource.pk]))
    assert download.content == b"%PDF-1.4 support"
    assert "attachment" in download["Content-Disposition"]


@pytest.mark.django_db
def test_training_pages_need_to_be_signed_in(client, trainer):
    session = make_session(trainer)
    for url in (reverse("training:index"), reverse("training:session", args=[session.pk])):
        response = client.get(url)
        assert response.status_code == 302 and reverse("accounts:login") in response.url


@pytest.mark.django_db
def test_trainer_cancels_a_session_and_everyone_is_told(client, trainer, newcomer, make_account):
    session = make_session(trainer, capacity=1)
    training.check_sign_up(newcomer, session.pk)
    waiting = make_account("Marc", "Blanc")
    training.check_sign_up(waiting, session.pk, waiting_list=True)
    client.force_login(trainer)
    url = reverse("training:cancel_session", args=[session.pk])
    page = client.post(url, follow=True).content.decode()
    assert "Cochez la case de confirmation" in page
    page = client.post(url, {"confirmer": "1"}, follow=True).content.decode()
    assert "2 personne(s) prévenue(s)" in page and "Cette session est annulée." in page
    assert ics_of(inbox_mail(newcomer, "Session annulée"))["method"] == "CANCEL"
    assert inbox_mail(waiting, "Session annulée")
    with pytest.raises(training.TrainingError, match="closes"):
        training.check_sign_up(make_account("Paul", "Durand"), session.pk)
    client.force_login(newcomer)
    assert client.post(url, {"confirmer": "1"}).status_code == 404  # staff cannot cancel a session
