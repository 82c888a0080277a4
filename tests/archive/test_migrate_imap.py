"""IMAP migration from a real Dovecot (tests/dovecot.py) the test fills with a
realistic mailbox: special folders, accented names (modified UTF-7 on the
wire), a "." hierarchy, flags and keywords, old INTERNALDATEs, a 12 MB
attachment. Checks that every message arrives with the same bytes, flags,
keywords and date, that a re-run copies nothing twice, that master users work
both ways (``owner*master`` and SASL PLAIN authzid), that a killed run
resumes without loss or duplicate, and that a cut connection is resumed.
"""

from __future__ import annotations

import hashlib
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from email.message import EmailMessage
from email.policy import SMTP

import pytest

from academail.archive.migration import (
    Options,
    Source,
    Task,
    migrate_account,
    migrate_many,
    tasks_from_csv,
)
from academail.archive.models import ImapMigration, MigrationFolder
from academail.store.messages import Criteria, read_raw, search_messages
from academail.store.models import Flag, Mailbox, Message, Usage
from tests.dovecot import MASTER, MASTER_PASSWORD
from tests.servers import child_env

PARIS = timezone(timedelta(hours=1))

# source folder (Dovecot, "." separator) -> academail folder
EXPECTED = {
    "INBOX": "INBOX",
    "Sent": "Envoyés",
    "Sent.2019": "Envoyés/2019",
    "Drafts": "Brouillons",
    "Trash": "Corbeille",
    "Junk": "Indésirables",
    "Archives": "Archives",
    "Réunions": "Réunions",
    "Réunions.Conseils 2024": "Réunions/Conseils 2024",
    "Projets.Élèves & parents": "Projets/Élèves & parents",
    "Pièces jointes": "Pièces jointes",
    "Vide": "Vide",
}


def message(n: int, subject: str, *, size: int = 0, rng: random.Random | None = None) -> bytes:
    mail = EmailMessage(policy=SMTP)
    mail["From"] = "Secrétariat <secretariat@ancien-rectorat.fr>"
    mail["To"] = "julie.martin@ancien-rectorat.fr"
    mail["Subject"] = f"{subject} n°{n}"
    mail["Date"] = "Mon, 02 Sep 2019 08:30:00 +0200"
    mail["Message-ID"] = f"<{n}.{subject.encode().hex()[:12]}@ancien-rectorat.fr>"
    mail.set_content(f"Bonjour,\n\nVoici le message {n} : {subject}, pour l'équipe pédagogique.\n")
    if size:
        mail.add_attachment((rng or random.Random(n)).randbytes(size), maintype="application", subtype="pdf",
                            filename="bulletins-trimestre.pdf")
    return mail.as_bytes()


def seed(server, login: str, password: str, *, inbox: int = 12) -> None:
    """A mailbox as the old platform has it."""
    server.add_user(login, password)
    client = server.client(login)
    for name in EXPECTED:
        if name != "INBOX" and not client.folder_exists(name):
            client.create_folder(name)
    flag_sets = [(b"\\Seen",), (b"\\Seen", b"\\Answered", b"$Forwarded"), (b"\\Flagged", b"Direction"), (),
                 (b"\\Seen", b"\\Deleted"), (b"$label1", b"\\Seen")]
    when = datetime(2019, 9, 2, 8, 30, tzinfo=PARIS)
    n = 0
    for name in EXPECTED:
        count = {"INBOX": inbox, "Vide": 0, "Pièces jointes": 1, "Drafts": 2}.get(name, 3)
        items = []
        for _ in range(count):
            n += 1
            flags = (b"\\Draft",) if name == "Drafts" else flag_sets[n % len(flag_sets)]
            body = message(n, name, size=12 * 1024 * 1024 if name == "Pièces jointes" else 0)
            items.append({"msg": body, "flags": flags, "date": when + timedelta(days=37 * n, minutes=n)})
        if items:
            client.multiappend(name, items)
    client.logout()


def source_view(server, login: str) -> dict[str, Counter]:
    """folder -> multiset of (sha256, system flags, keywords, INTERNALDATE)."""
    client = server.client(login)
    found = {}
    for name in EXPECTED:
        client.select_folder(name, readonly=True)
        items = Counter()
        for data in client.fetch("1:*", ["BODY.PEEK[]", "FLAGS", "INTERNALDATE"]).values() if client.search() else ():
            flags = {f.decode() for f in data[b"FLAGS"]} - {"\\Recent"}
            system = frozenset(f for f in flags if f.startswith("\\"))
            keywords = frozenset(flags - system)
            items[(hashlib.sha256(data[b"BODY[]"]).hexdigest(), system, keywords,
                   data[b"INTERNALDATE"].astimezone(UTC))] += 1
        found[name] = items
    client.logout()
    return found


def target_view(account_id: int) -> dict[str, Counter]:
    found = {}
    for source, target in EXPECTED.items():
        box = Mailbox.objects.get(account_id=account_id, name=target)
        items = Counter()
        for stored in Message.objects.filter(mailbox=box).select_related("content"):
            system = frozenset(name for bit, name in Flag.NAMES.items() if stored.flags & bit)
            items[(hashlib.sha256(read_raw(stored)).hexdigest(), system, frozenset(stored.keywords.split()),
                   stored.internaldate.astimezone(UTC))] += 1
        found[source] = items
    return found


def own_source(server, login: str, password: str, **fields) -> Source:
    fields.setdefault("ca_file", str(server.cert))
    return Source(host="127.0.0.1", port=server.imaps, tls="implicit", login=login, password=password, **fields)


@pytest.mark.django_db(transaction=True)
def test_whole_mailbox_arrives_and_a_rerun_copies_nothing_twice(dovecot, make_account):
    account = make_account("Julie", "Martin")
    seed(dovecot, "jmartin", "ancien-mot-de-passe")
    source = own_source(dovecot, "jmartin", "ancien-mot-de-passe")
    seen: list = []

    report = migrate_account(account.pk, account.identifier, source, Options(batch_messages=5, progress=seen.append))

    assert report.state == "done", report.message
    assert (report.failed, report.already, report.reconnections) == (0, 0, 0)
    expected = source_view(dovecot, "jmartin")
    assert target_view(account.pk) == expected
    total = sum(sum(c.values()) for c in expected.values())
    assert report.copied == total
    # The special folders are academail's own (RFC 6154 use kept), no "Sent" twin created.
    specials = dict(Mailbox.objects.filter(account=account, special_use__isnull=False)
                    .values_list("special_use", "name"))
    assert specials["sent"] == "Envoyés" and specials["junk"] == "Indésirables"
    assert not Mailbox.objects.filter(account=account, name__in=["Sent", "Trash", "Junk", "Drafts"]).exists()
    # Through the store's normal path: quota, folder counters and the search index are right.
    stored = Message.objects.filter(mailbox__account=account)
    assert Usage.objects.get(account=account).bytes == sum(m.size for m in stored)
    inbox = Mailbox.objects.get(account=account, name="INBOX")
    assert inbox.messages == 12
    assert inbox.unseen == sum(1 for m in stored.filter(mailbox=inbox) if not m.flags & Flag.SEEN)
    assert search_messages(account.pk, Criteria(words="pédagogique", mailbox_id=inbox.pk), limit=100)
    assert any(p.folder == "Pièces jointes" and p.done == p.total == 1 for p in seen)

    again = migrate_account(account.pk, account.identifier, source, Options(batch_messages=5))
    assert (again.state, again.copied, again.already) == ("done", 0, total)
    assert target_view(account.pk) == expected

    # Mail that reached the old server since: only that is copied.
    client = dovecot.client("jmartin")
    client.append("INBOX", message(999, "Arrivé après"), flags=(b"\\Flagged",))
    client.create_folder("Nouveau")
    client.append("Nouveau", message(1000, "Nouveau dossier"))
    client.logout()
    third = migrate_account(account.pk, account.identifier, source, Options())
    assert (third.state, third.copied) == ("done", 2)
    assert Message.objects.filter(mailbox__account=account).count() == total + 2
    assert Message.objects.filter(mailbox__account=account, mailbox__name="Nouveau").count() == 1


@pytest.mark.django_db(transaction=True)
def test_bulk_with_master_credentials_both_ways(dovecot, make_account, tmp_path):
    accounts = [make_account("Paul", f"Durand{i}") for i in range(3)]
    for i, account in enumerate(accounts):
        seed(dovecot, f"ancien{i}", f"secret-{i}", inbox=4 + i)
    rows = ["compte;identifiant_source"]
    rows += [f"{a.identifier};ancien{i}" for i, a in enumerate(accounts)]
    rows += ["inconnu.personne;ancien9", f"{accounts[0].address};absent-sur-l-ancien"]
    for method in ("plain", "login"):
        template = Source(host="127.0.0.1", port=dovecot.imap, tls="starttls", login="", password=MASTER_PASSWORD,
                          master_user=MASTER, master_method=method, ca_file=str(dovecot.cert))
        tasks, refused = tasks_from_csv(rows, template)
        assert [line for line, _ in refused] == [5]
        assert "introuvable" in refused[0][1]
        reports = {r.source.rsplit("/", 1)[1]: r for r in migrate_many(tasks, Options(), parallel=2)}
        assert reports["absent-sur-l-ancien"].state == "failed"
        assert "refuse l'identification" in reports["absent-sur-l-ancien"].message
        for i, account in enumerate(accounts):
            assert reports[f"ancien{i}"].state == "done", reports[f"ancien{i}"].message
            assert reports[f"ancien{i}"].copied == (sum(sum(c.values()) for c in source_view(
                dovecot, f"ancien{i}").values()) if method == "plain" else 0)
            assert target_view(account.pk) == source_view(dovecot, f"ancien{i}")
    # An unexpected fault in one account (here: no such academail account) is that account's report only.
    ghost = Task(999_999, "fantome", replace(tasks[0].source, login="ancien1"))
    alone = {r.account: r for r in migrate_many([ghost, tasks[0]], Options(), parallel=2)}
    assert alone["fantome"].state == "failed" and "Erreur interne" in alone["fantome"].message
    assert alone[tasks[0].label].state == "done"
    wrong = Source(host="127.0.0.1", port=dovecot.imaps, tls="implicit", login="ancien0", password="faux",
                   master_user=MASTER, ca_file=str(dovecot.cert))
    refused_report = migrate_account(accounts[0].pk, accounts[0].identifier, wrong, Options())
    assert refused_report.state == "failed" and "mot de passe" in refused_report.message
    untrusted = own_source(dovecot, "ancien0", "secret-0", ca_file="")
    assert "certificat" in migrate_account(accounts[0].pk, "x", untrusted, Options()).message


@pytest.mark.django_db(transaction=True)
def test_a_killed_run_resumes_without_loss_or_duplicate(dovecot, make_account, tmp_path):
    account = make_account("Anne", "Leroy")
    dovecot.add_user("aleroy", "vieux-secret")
    client = dovecot.client("aleroy")
    for start in range(0, 300, 100):
        client.multiappend("INBOX", [{"msg": message(5000 + n, "Circulaire"), "flags": (b"\\Seen",)}
                                     for n in range(start, start + 100)])
    client.logout()
    secret = tmp_path / "old-password"
    secret.write_text("vieux-secret\n")
    command = [sys.executable, "-m", "academail", "migrate-imap", "--host", "127.0.0.1", "--port", str(dovecot.imaps),
               "--ca-file", str(dovecot.cert), "--account", account.identifier, "--source-login", "aleroy",
               "--password-file", str(secret), "--batch", "10", "--max-rate", "60"]
    env = child_env()
    running = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not MigrationFolder.objects.filter(migration__account=account, source_name="INBOX", last_uid__gt=20).exists():
        assert running.poll() is None and time.monotonic() < deadline, running.communicate()
        time.sleep(0.2)
    running.send_signal(signal.SIGKILL)
    running.wait(30)
    inbox = Message.objects.filter(mailbox__account=account, mailbox__name="INBOX")
    checkpoint = MigrationFolder.objects.get(migration__account=account, source_name="INBOX").last_uid
    assert 0 < inbox.count() < 300
    assert inbox.count() == checkpoint, "the messages stored and the checkpoint commit together"

    finished = subprocess.run(command[:-2], env=env, capture_output=True, text=True, timeout=300)
    assert finished.returncode == 0, finished.stderr + finished.stdout
    assert "Terminée" in finished.stdout
    assert inbox.count() == 300
    assert len({m.content.message_id for m in inbox.select_related("content")}) == 300
    assert ImapMigration.objects.get(account=account).copied == 300
    assert "déjà là" in finished.stdout and f"{checkpoint} déjà là" in finished.stdout
    assert "vieux-secret" not in finished.stdout + finished.stderr


class CuttingProxy:
    """Forwards a loopback port to Dovecot's plain IMAP port and cuts the
    first ``cuts`` connections once the server has sent ``after`` bytes: the
    old server going away in the middle of a FETCH."""

    def __init__(self, backend: int, *, after: int, cuts: int) -> None:
        self.backend, self.after, self.cuts = backend, after, cuts
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                front, _ = self.listener.accept()
            except OSError:
                return
            cut = self.cuts > 0
            self.cuts -= 1
            back = socket.create_connection(("127.0.0.1", self.backend))
            threading.Thread(target=self._pipe, args=(front, back, None), daemon=True).start()
            threading.Thread(target=self._pipe, args=(back, front, self.after if cut else None), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket, limit: int | None) -> None:
        sent = 0
        try:
            while data := source.recv(65536):
                sink.sendall(data)
                sent += len(data)
                if limit is not None and sent > limit:
                    break
        except OSError:
            pass
        for end in (source, sink):
            try:
                end.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            end.close()

    def close(self) -> None:
        self.listener.close()


@pytest.mark.django_db(transaction=True)
def test_a_cut_connection_is_resumed_and_a_garbled_server_fails_cleanly(dovecot, make_account):
    account = make_account("Marc", "Petit")
    dovecot.add_user("mpetit", "ancien")
    client = dovecot.client("mpetit")
    client.multiappend("INBOX", [message(7000 + n, "Sortie scolaire", size=40_000) for n in range(60)])
    client.logout()
    proxy = CuttingProxy(dovecot.imap, after=700_000, cuts=2)
    try:
        source = Source(host="127.0.0.1", port=proxy.port, tls="none", login="mpetit", password="ancien")
        report = migrate_account(account.pk, account.identifier, source, Options(batch_messages=10, pause=0.1))
    finally:
        proxy.close()
    assert report.state == "done", report.message
    assert report.reconnections == 2
    inbox = Message.objects.filter(mailbox__account=account, mailbox__name="INBOX")
    assert inbox.count() == 60
    assert len({m.content_id for m in inbox}) == 60

    garbled = socket.create_server(("127.0.0.1", 0))

    def answer_garbage() -> None:
        while True:
            try:
                peer, _ = garbled.accept()
            except OSError:
                return
            peer.sendall(b"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] ancien serveur\r\n")
            peer.recv(1000)
            peer.sendall(b"\x00\xff)))( n'importe quoi\r\n")
            peer.close()

    threading.Thread(target=answer_garbage, daemon=True).start()
    try:
        bad = Source(host="127.0.0.1", port=garbled.getsockname()[1], tls="none", login="mpetit", password="x")
        failed = migrate_account(account.pk, account.identifier, bad, Options(reconnects=2, pause=0.05))
    finally:
        garbled.close()
    assert failed.state == "failed"
    assert "relancez" in failed.message or "coupé" in failed.message
    assert Message.objects.filter(mailbox__account=account).count() == 60


@pytest.mark.django_db(transaction=True)
def test_a_full_mailbox_stops_then_resumes_and_a_new_uidvalidity_copies_nothing_twice(dovecot, make_account):
    account = make_account("Lucie", "Bernard")
    dovecot.add_user("lbernard", "ancien")
    client = dovecot.client("lbernard")
    client.create_folder("Réunions")
    raws = [message(8000 + n, "Réunion parents", size=30_000) for n in range(20)]
    client.multiappend("Réunions", raws)
    client.logout()
    account.quota_bytes = 300_000  # about 8 of the 20 (grace included)
    account.save(update_fields=["quota_bytes"])
    source = own_source(dovecot, "lbernard", "ancien")

    stopped = migrate_account(account.pk, account.identifier, source, Options(batch_messages=6))
    assert stopped.state == "stopped"
    assert "quota" in stopped.message and "relancez" in stopped.message
    folder = Message.objects.filter(mailbox__account=account, mailbox__name="Réunions")
    kept = folder.count()
    assert 0 < kept < 20
    assert MigrationFolder.objects.get(migration__account=account, source_name="Réunions").last_uid == kept

    account.quota_bytes = 50 * 1024 * 1024
    account.save(update_fields=["quota_bytes"])
    resumed = migrate_account(account.pk, account.identifier, source, Options(batch_messages=6))
    assert (resumed.state, resumed.copied, resumed.already) == ("done", 20 - kept, kept)
    assert folder.count() == 20

    # The old server rebuilt the folder (new UIDVALIDITY, RFC 3501 §2.3.1.1): same mail plus one.
    client = dovecot.client("lbernard")
    client.delete_folder("Réunions")
    client.create_folder("Réunions")
    client.multiappend("Réunions", [*raws, message(8100, "Réunion parents")])
    client.logout()
    rebuilt = migrate_account(account.pk, account.identifier, source, Options(batch_messages=6))
    assert (rebuilt.state, rebuilt.copied) == ("done", 1)
    assert folder.count() == 21
    assert len({m.content_id for m in folder}) == 21


@pytest.mark.django_db(transaction=True)
def test_a_second_run_brings_flags_changed_on_the_old_server_and_keeps_ours(dovecot, make_account):
    from academail.store.messages import do_set_flags

    account = make_account("Marc", "Petit")
    dovecot.add_user("marc.drapeaux", "ancien")
    client = dovecot.client("marc.drapeaux")
    client.multiappend("INBOX", [{"msg": message(9000 + n, "Conseil"), "flags": (b"\\Seen",)} for n in range(6)])
    client.logout()
    source = own_source(dovecot, "marc.drapeaux", "ancien")
    first = migrate_account(account.pk, account.identifier, source, Options(batch_messages=4))
    assert (first.state, first.copied, first.flags_updated) == ("done", 6, 0)
    inbox = Mailbox.objects.get(account=account, name="INBOX")
    by_subject = {m.content.subject: m for m in Message.objects.filter(mailbox=inbox).select_related("content")}
    assert inbox.unseen == 0

    # On the old server, since: one flagged, one marked unread, one given a keyword and answered.
    client = dovecot.client("marc.drapeaux")
    client.select_folder("INBOX")
    uids = sorted(client.search())
    client.add_flags([uids[0]], [b"\\Flagged"])
    client.remove_flags([uids[1]], [b"\\Seen"])
    client.add_flags([uids[2]], [b"\\Answered", b"Direction"])
    client.logout()
    # Here, meanwhile: the person flagged the fourth and marked the first unread.
    do_set_flags(account.pk, inbox.pk, [(by_subject["Conseil n°9003"].uid,) * 2], mode="add", flags=Flag.FLAGGED)
    do_set_flags(account.pk, inbox.pk, [(by_subject["Conseil n°9000"].uid,) * 2], mode="remove", flags=Flag.SEEN)
    modseq = Mailbox.objects.get(pk=inbox.pk).highestmodseq

    second = migrate_account(account.pk, account.identifier, source, Options(batch_messages=4))
    assert (second.state, second.copied, second.flags_updated) == ("done", 0, 3)
    assert "3 dont les drapeaux ont changé sur l'ancien serveur" in second.message
    now = {m.content.subject: (m.flags, m.keywords)
           for m in Message.objects.filter(mailbox=inbox).select_related("content")}
    assert len(now) == 6 and Message.objects.filter(mailbox=inbox).count() == 6  # nothing copied twice
    assert now["Conseil n°9000"] == (Flag.FLAGGED, "")  # flagged there; unread here stays unread
    assert now["Conseil n°9001"] == (0, "")  # unread there
    assert now["Conseil n°9002"] == (Flag.SEEN | Flag.ANSWERED, "Direction")
    assert now["Conseil n°9003"] == (Flag.SEEN | Flag.FLAGGED, "")  # ours, untouched
    assert now["Conseil n°9004"] == (Flag.SEEN, "")
    box = Mailbox.objects.get(pk=inbox.pk)
    assert box.unseen == 2 and box.highestmodseq > modseq  # through the store: counters and MODSEQ

    third = migrate_account(account.pk, account.identifier, source, Options(batch_messages=4))
    assert (third.copied, third.flags_updated) == (0, 0)
    assert Mailbox.objects.get(pk=inbox.pk).highestmodseq == box.highestmodseq
