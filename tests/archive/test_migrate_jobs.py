"""Migrations started from a page, against a real Dovecot (tests/dovecot.py):
the person's own ("Depuis l'ancienne messagerie") and the secretariat's or
an administrator's bulk one from a CSV with a master user. The old password
is stored only sealed, only for the job's life; every page checks who asks;
errors are plain French with the help article."""

from __future__ import annotations

import socket
import time
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from academail.accounts.models import JournalEntry
from academail.archive import migration_jobs
from academail.archive.imapsource import Source, SourceError, connect
from academail.archive.models import ImapMigration, MigrationCredential
from academail.jobs.models import Job
from academail.jobs.runner import run_pending
from academail.store.models import Message
from tests.archive.test_migrate_imap import seed
from tests.dovecot import MASTER, MASTER_PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)


def _signed_in(account) -> Client:
    client = Client()
    client.force_login(account)
    return client


def test_a_person_brings_their_old_mailbox_and_the_password_is_forgotten(old_platform, make_account):
    person = make_account("Julie", "Martin")
    seed(old_platform, "jmartin", "Ancien-secret-2019", inbox=5)
    web = _signed_in(person)
    page = reverse("archive:migrate")
    assert "Copier toute votre boîte depuis l'ancienne messagerie" in web.get(reverse("archive:imports")).content.decode()

    answer = web.post(page, {"host": "127.0.0.1", "port": str(old_platform.imaps), "tls": "implicit",
                             "login": "jmartin", "password": "Ancien-secret-2019"})
    assert answer.status_code == 302
    job = Job.objects.get(account=person, kind=migration_jobs.KIND)
    # Sealed, never in clear: not in the job's parameters, not in the stored token.
    assert "Ancien-secret-2019" not in str(job.params)
    credential = MigrationCredential.objects.get(job=job)
    assert "Ancien-secret-2019" not in credential.token
    assert migration_jobs.unseal(credential.token) == "Ancien-secret-2019"
    html = web.get(page).content.decode()
    assert "En attente de traitement" in html and f'data-status-url="{page}{job.pk}/etat/"' in html

    assert run_pending() == 1
    job.refresh_from_db()
    assert job.state == "done", job.result
    total = Message.objects.filter(mailbox__account=person).count()
    assert total == 5 + 1 + 2 + 3 * 8  # seed(): the INBOX, "Pièces jointes", Drafts, 3 in each other folder
    assert job.done == job.total == total
    assert f"{total} message(s) copié(s)" in job.result
    assert not MigrationCredential.objects.exists()  # forgotten with the job's end
    status = web.get(reverse("archive:migrate_status", args=[job.pk])).json()
    assert status["finished"] and status["percent"] == 100
    assert job.result in web.get(page).content.decode()
    journal = list(JournalEntry.objects.filter(account=person, kind="migration").values_list("detail", flat=True))
    assert len(journal) == 2 and "Migration demandée depuis 127.0.0.1/jmartin" in journal
    assert not any("Ancien-secret" in line for line in journal)

    # Another person never sees it.
    other = _signed_in(make_account("Yves", "Autre"))
    assert other.get(reverse("archive:migrate_status", args=[job.pk])).status_code == 404
    assert "127.0.0.1" not in other.get(page).content.decode()

    # A second run from the page copies nothing twice.
    web.post(page, {"host": "127.0.0.1", "port": str(old_platform.imaps), "tls": "implicit",
                    "login": "jmartin", "password": "Ancien-secret-2019"})
    assert run_pending() == 1
    assert Message.objects.filter(mailbox__account=person).count() == total
    assert ImapMigration.objects.get(account=person).runs == 2


def test_what_the_form_refuses_and_a_wrong_password(old_platform, make_account, settings):
    person = make_account("Paul", "Durand")
    web = _signed_in(person)
    page = reverse("archive:migrate")
    base = {"host": "127.0.0.1", "port": str(old_platform.imaps), "tls": "implicit", "login": "pdurand",
            "password": "faux"}

    def refused(**changes) -> str:
        answer = web.post(page, {**base, **changes})
        assert answer.status_code == 400
        return answer.content.decode()

    assert "n&#x27;est pas celui de l&#x27;ancienne messagerie" in refused(host="imap.ailleurs.example")
    assert "SSL/TLS ou STARTTLS" in refused(tls="none")  # never a password in clear
    assert "entre 1 et 65535" in refused(port="70000")
    assert "votre mot de passe" in refused(password="")
    settings.MIGRATION_ALLOWED_HOSTS = []
    assert "réseau privé" in refused()  # not a way into the private network
    assert not Job.objects.exists() and not MigrationCredential.objects.exists()

    settings.MIGRATION_ALLOWED_HOSTS = ["127.0.0.1"]
    assert web.post(page, base).status_code == 302
    assert "déjà en cours" in refused()  # one at a time
    assert run_pending() == 1
    job = Job.objects.get(account=person)
    assert job.state == "failed"
    assert "refuse l'identification" in job.result
    html = web.get(page).content.decode()
    assert f'href="{migration_jobs.help_url()}"' in html and "Que faire ? Voir l'aide" in html
    assert not MigrationCredential.objects.exists()


def test_an_allowed_name_is_resolved_once_and_tls_checks_the_name(old_platform, make_account, settings, monkeypatch):
    """The job connects to the address its own check resolved (the name is
    not asked again) and TLS checks the certificate against the name."""
    settings.MIGRATION_ALLOWED_HOSTS = ["localhost"]
    person = make_account("Rémi", "Rebond")
    seed(old_platform, "rrebond", "secret-remi", inbox=2)
    answer = _signed_in(person).post(reverse("archive:migrate"), {
        "host": "localhost", "port": str(old_platform.imaps), "tls": "implicit", "login": "rrebond",
        "password": "secret-remi"})
    assert answer.status_code == 302
    real, asked = socket.getaddrinfo, []

    def counted(host, *args, **kwargs):
        if host == "localhost":
            asked.append(host)
            host = "127.0.0.1"
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", counted)
    assert run_pending() == 1
    job = Job.objects.get(account=person)
    assert job.state == "done", job.result
    assert asked == ["localhost"]  # the job's check; the connection went to its answer
    assert not MigrationCredential.objects.exists()


def test_dns_rebinding_between_the_check_and_the_connection_reaches_nothing_private(
    make_account, settings, monkeypatch,
):
    """A name that answers a public address to the checks, then (a TTL of 0
    later) a private one: the connection goes to the checked public address.
    The DNS and the socket's connect are stand-ins (the attacker's resolver;
    no packet leaves the machine)."""
    settings.MIGRATION_ALLOWED_HOSTS = []
    person = make_account("Rita", "Rebind")
    real, answers, connected = socket.getaddrinfo, ["1.2.3.4", "1.2.3.4"], []

    def rebinding(host, port, *args, **kwargs):
        if host != "ancien.example":
            return real(host, port, *args, **kwargs)
        address = answers.pop(0) if answers else "127.0.0.1"  # the checks', then the attacker's
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    def refuse(address, *args, **kwargs):
        connected.append(address)
        raise ConnectionRefusedError(111, "refused")

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    monkeypatch.setattr(socket, "create_connection", refuse)
    answer = _signed_in(person).post(reverse("archive:migrate"), {
        "host": "ancien.example", "port": "993", "tls": "implicit", "login": "rita", "password": "secret"})
    assert answer.status_code == 302  # checked: public
    assert run_pending() == 1  # checked again, then connected
    assert connected == [("1.2.3.4", 993)]
    job = Job.objects.get(account=person)
    assert job.state == "failed" and "Impossible de joindre ancien.example:993" in job.result
    assert not MigrationCredential.objects.exists()


def test_each_resolved_address_is_checked_and_tried_in_turn_ipv6_first(settings, monkeypatch):
    """Every address the name resolves to is checked (one private among
    public ones refuses the server) and the connection tries each checked
    address, IPv6 first, then the IPv4 fallback. Stand-in DNS and connect."""
    settings.MIGRATION_ALLOWED_HOSTS = []
    answers = [(socket.AF_INET, "8.8.8.8"), (socket.AF_INET6, "2001:4860:4860::8888"), (socket.AF_INET, "8.8.4.4"),
               (socket.AF_INET6, "2001:4860:4860::8844")]
    monkeypatch.setattr(socket, "getaddrinfo", lambda host, port, *a, **k: [
        (family, socket.SOCK_STREAM, 6, "", (address, port)) for family, address in answers])
    server = migration_jobs.Server("ancien.example", 993, "implicit")
    addresses = migration_jobs.check_reachable(server)
    assert addresses == ("2001:4860:4860::8888", "2001:4860:4860::8844", "8.8.8.8", "8.8.4.4")
    connected = []

    def refuse(address, *args, **kwargs):
        connected.append(address[0])
        raise ConnectionRefusedError(111, "refused")

    monkeypatch.setattr(socket, "create_connection", refuse)
    with pytest.raises(SourceError, match="Impossible de joindre ancien.example:993"):
        connect(Source(host="ancien.example", port=993, tls="implicit", login="x", password="y", addresses=addresses))
    assert connected == list(addresses)
    answers.append((socket.AF_INET, "10.0.0.1"))  # last, and private: the whole server is refused
    with pytest.raises(migration_jobs.MigrationRequestError, match="réseau privé"):
        migration_jobs.check_reachable(server)


def test_an_address_that_does_not_answer_falls_back_to_the_next_one(old_platform, make_account, settings, monkeypatch):
    """Against the real Dovecot (it listens on 127.0.0.1 only): the name
    resolves to ::1 and 127.0.0.1, ::1 is tried first and refuses, the job
    goes on over 127.0.0.1."""
    settings.MIGRATION_ALLOWED_HOSTS = ["localhost"]
    person = make_account("Yves", "Repli")
    seed(old_platform, "yrepli", "secret-yves", inbox=2)
    real_connect, real_resolve, tried = socket.create_connection, socket.getaddrinfo, []

    def resolve(host, port, *args, **kwargs):
        if host != "localhost":  # create_connection resolves the address it is given
            return real_resolve(host, port, *args, **kwargs)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port)),
                (socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("::1", port, 0, 0))]

    def counted(address, *args, **kwargs):
        tried.append(address[0])
        return real_connect(address, *args, **kwargs)

    answer = _signed_in(person).post(reverse("archive:migrate"), {
        "host": "localhost", "port": str(old_platform.imaps), "tls": "implicit", "login": "yrepli",
        "password": "secret-yves"})
    assert answer.status_code == 302
    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    monkeypatch.setattr(socket, "create_connection", counted)
    assert run_pending() == 1
    job = Job.objects.get(account=person)
    assert job.state == "done", job.result
    assert tried == ["::1", "127.0.0.1"]


@pytest.mark.parametrize(("address", "public"), [
    ("8.8.8.8", True), ("2001:4860:4860::8888", True), ("64:ff9b::808:808", True), ("2002:808:808::1", True),
    ("10.0.0.1", False), ("169.254.169.254", False), ("100.64.0.1", False), ("::1", False), ("fe80::1%2", False),
    ("::ffff:127.0.0.1", False),  # IPv4-mapped
    ("64:ff9b::a00:1", False),  # NAT64 to 10.0.0.1
    ("64:ff9b:1::a00:1", False),  # an operator's NAT64
    ("2002:a9fe:a9fe::1", False),  # 6to4 of 169.254.169.254
    ("::127.0.0.1", False),  # IPv4-compatible
])
def test_only_public_addresses_are_connected_to_without_the_allow_list(address, public, settings, monkeypatch):
    settings.MIGRATION_ALLOWED_HOSTS = []
    monkeypatch.setattr(socket, "getaddrinfo", lambda host, port, *a, **k: [
        (socket.AF_INET6 if ":" in address else socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))])
    server = migration_jobs.Server("ancien.example", 993, "implicit")
    assert migration_jobs.is_public(address) is public
    if public:
        assert migration_jobs.check_reachable(server) == (address,)
    else:
        with pytest.raises(migration_jobs.MigrationRequestError, match="réseau privé"):
            migration_jobs.check_reachable(server)


@pytest.mark.parametrize("tls", ["implicit", "starttls"])
def test_a_connection_to_a_checked_address_still_checks_the_name(dovecot, tls):
    dovecot.add_user("nom", "secret-nom")
    port = dovecot.imaps if tls == "implicit" else dovecot.imap
    good = Source(host="localhost", port=port, tls=tls, login="nom", password="secret-nom",
                  ca_file=str(dovecot.cert), addresses=("127.0.0.1",))
    connect(good).logout()
    # The certificate names localhost and 127.0.0.1: had the address been
    # handed to TLS as the server's name, this one would pass.
    with pytest.raises(SourceError, match="certificat de imap.ailleurs.example n'est pas reconnu"):
        connect(Source(host="imap.ailleurs.example", port=port, tls=tls, login="nom", password="secret-nom",
                       ca_file=str(dovecot.cert), addresses=("127.0.0.1",)))


def test_a_credential_past_its_time_is_neither_readable_nor_kept(old_platform, make_account, settings):
    person = make_account("Anne", "Leroy")
    web = _signed_in(person)
    web.post(reverse("archive:migrate"), {"host": "127.0.0.1", "port": str(old_platform.imaps), "tls": "implicit",
                                          "login": "aleroy", "password": "secret"})
    token = MigrationCredential.objects.get().token
    assert migration_jobs.unseal(token, now=time.time() + 23 * 3600) == "secret"
    assert migration_jobs.unseal(token, now=time.time() + 25 * 3600) is None  # the seal's own limit
    settings.MIGRATION_CREDENTIAL_HOURS = 0
    time.sleep(1.1)  # Fernet counts whole seconds
    assert run_pending() == 1
    job = Job.objects.get(account=person)
    assert job.state == "failed" and "n'est plus conservé" in job.result
    MigrationCredential.objects.create(job=job, token="x", expires_at=timezone.now() - timedelta(hours=1))
    assert migration_jobs.do_forget_credentials() == 1


def test_the_secretariat_migrates_its_accounts_from_a_csv_with_a_master_user(
    old_platform, make_account, secretary, claire,
):
    paul = make_account("Paul", "Morel", establishment=claire.establishment)
    elsewhere = make_account("Yves", "Ailleurs", establishment="Collège Voltaire")
    seed(old_platform, "cmoreau", "secret-claire", inbox=3)
    seed(old_platform, "pmorel", "secret-paul", inbox=4)
    seed(old_platform, "yailleurs", "secret-yves", inbox=2)
    csv = (f"compte;identifiant_source;mot_de_passe\n"
           f"{claire.identifier};cmoreau;\n"  # the master user, Dovecot's owner*master
           f"{paul.identifier};pmorel;faux-mot-de-passe\n"  # the owner's own password: wrong
           f"{elsewhere.identifier};yailleurs;\n"  # another établissement: as if it did not exist
           f"inconnu.personne;x;\n")
    from django.core.files.uploadedfile import SimpleUploadedFile

    web = _signed_in(secretary)
    page = reverse("assistance:secretariat_migration")
    answer = web.post(page, {
        "host": "127.0.0.1", "port": str(old_platform.imaps), "tls": "implicit", "master_user": MASTER,
        "master_password": MASTER_PASSWORD, "master_method": "login",
        "csv": SimpleUploadedFile("comptes.csv", csv.encode()),
    })
    html = answer.content.decode()
    assert "2 migration(s) lancée(s)" in html
    assert f"<td>4</td><td>compte academail « {elsewhere.identifier} » introuvable" in html
    assert "<td>5</td><td>compte academail « inconnu.personne » introuvable" in html
    assert not Job.objects.filter(account=elsewhere).exists()
    assert MASTER_PASSWORD not in str(list(Job.objects.values_list("params", flat=True)))

    assert run_pending() == 2
    claire_job, paul_job = Job.objects.get(account=claire), Job.objects.get(account=paul)
    assert claire_job.state == "done" and Message.objects.filter(mailbox__account=claire).count() == 3 + 1 + 2 + 24
    assert paul_job.state == "failed" and "refuse l'identification (pmorel)" in paul_job.result
    assert not MigrationCredential.objects.exists()
    html = web.get(page).content.decode()
    assert f'<tr id="mig-job-{paul_job.pk}"><td>{paul.identifier}</td>' in html
    assert "refuse l&#x27;identification (pmorel)" in html and f'href="{migration_jobs.help_url()}"' in html
    status = web.get(reverse("assistance:secretariat_migration_status", args=[claire_job.pk])).json()
    assert status["finished"] and status["percent"] == 100
    # The person sees it on their own page, and in their journal.
    assert claire_job.result in _signed_in(claire).get(reverse("archive:migrate")).content.decode()
    assert JournalEntry.objects.filter(account=claire, kind="migration").count() == 2

    # Who may: a secretary of another établissement sees none of it; a teacher nothing at all.
    voltaire = make_account("Eve", "Voltaire", role="secretariat", establishment="Collège Voltaire")
    assert _signed_in(voltaire).get(
        reverse("assistance:secretariat_migration_status", args=[claire_job.pk])).status_code == 404
    assert paul.identifier not in _signed_in(voltaire).get(page).content.decode()
    assert _signed_in(paul).get(page).status_code == 404
    assert Client().get(page).status_code == 302  # to the sign-in

    # The secretary who started them moves to another établissement: the jobs
    # of the accounts they left go from their page and their polling.
    secretary.establishment = "Collège Voltaire"
    secretary.save()
    assert paul.identifier not in _signed_in(secretary).get(page).content.decode()
    assert _signed_in(secretary).get(
        reverse("assistance:secretariat_migration_status", args=[claire_job.pk])).status_code == 404


def test_an_administrator_may_name_any_account(old_platform, make_account):
    admin = make_account("Ada", "Admin", role="admin")
    assert reverse("assistance:secretariat_migration") in _signed_in(admin).get(
        reverse("assistance:console")).content.decode()  # from the console's menu
    teacher = make_account("Léa", "Partout", establishment="Lycée Condorcet")
    from django.core.files.uploadedfile import SimpleUploadedFile

    answer = _signed_in(admin).post(reverse("assistance:secretariat_migration"), {
        "host": "127.0.0.1", "port": str(old_platform.imaps), "tls": "implicit", "master_user": MASTER,
        "master_password": MASTER_PASSWORD, "master_method": "plain",
        "csv": SimpleUploadedFile("comptes.csv", f"compte\n{teacher.identifier}\n".encode()),
    })
    assert answer.status_code == 302
    job = Job.objects.get(account=teacher)
    assert job.params["login"] == teacher.identifier  # no identifiant_source: the same login
