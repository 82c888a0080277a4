"""Pipelined RCPTs resolved together (RFC 2920): the MX reads the RCPT lines
waiting behind the current one and looks them all up at once
(``door.check_recipients``). The replies must be exactly those of one lookup
per RCPT, and nothing may be remembered from one transaction to the next."""

from __future__ import annotations

import socket

import pytest

from academail.accounts.models import Account, Status
from academail.delivery import door
from academail.delivery.door import DeliveryRefused, Recipient, check_recipient, check_recipients
from academail.forwarding import srs
from academail.smtp import codes
from academail.store.models import Mailbox, Message, Usage
from tests.conftest import build_message


class Client:
    """A raw-socket client that sends a whole batch of commands before reading
    any reply, as a pipelining MTA does."""

    def __init__(self, host: str, port: int) -> None:
        self.sock = socket.create_connection((host, port), timeout=30)
        self.reader = self.sock.makefile("rb")
        assert self.reply().startswith("220")
        self.sock.sendall(b"EHLO client.example\r\n")
        assert self.reply().startswith("250")

    def reply(self) -> str:
        lines = []
        while True:
            line = self.reader.readline().decode()
            assert line, "connection closed"
            lines.append(line)
            if line[3:4] != "-":
                return "".join(lines).rstrip("\r\n")

    def pipeline(self, *commands: str) -> list[str]:
        self.sock.sendall("".join(c + "\r\n" for c in commands).encode())
        return [self.reply() for _ in commands]

    def data(self, raw: bytes) -> str:
        assert self.pipeline("DATA") == ["354 End data with <CR><LF>.<CR><LF>"]
        self.sock.sendall(raw.replace(b"\r\n.", b"\r\n..") + b".\r\n")
        return self.reply()

    def close(self) -> None:
        self.sock.sendall(b"QUIT\r\n")
        self.reply()
        self.sock.close()


@pytest.fixture
def client(mx):
    opened = Client(mx.host, mx.port)
    yield opened
    opened.close()


@pytest.fixture
def batches(monkeypatch):
    """The address lists the MX looked up, one list per lookup."""
    seen: list[list[str]] = []
    real = check_recipients

    def recording(addresses, *, size_hint=0):
        seen.append(list(addresses))
        return real(addresses, size_hint=size_hint)

    monkeypatch.setattr("academail.smtp.mx.check_recipients", recording)
    return seen


def inbox_count(account) -> int:
    return Message.objects.filter(mailbox=Mailbox.objects.get(account=account, special_use="inbox")).count()


def rcpt(address: str) -> str:
    return f"RCPT TO:<{address}>"


def same(a: Recipient | DeliveryRefused, b: Recipient | DeliveryRefused) -> bool:
    if isinstance(a, DeliveryRefused) and isinstance(b, DeliveryRefused):
        return (a.refusal, a.message) == (b.refusal, b.message)
    return a == b


def test_check_recipients_answers_as_check_recipient_for_each(make_account, settings):
    """The batched lookup against the one-by-one lookup on every kind of address."""
    settings.QUOTA_GRACE_PERCENT = 0
    julie = make_account()
    julie.aliases.create(address="secretariat.3eb@ac-demo.fr")
    gone = make_account("Paul", "Durand")
    gone.aliases.create(address="ancien.poste@ac-demo.fr")
    Account.objects.filter(pk=gone.pk).update(status=Status.DISABLED)
    full = make_account("Anne", "Petit", quota_bytes=1000)
    Usage.objects.filter(account_id=full.pk).update(bytes=990)
    pending = make_account("Luc", "Moreau", status=Status.PENDING)
    addresses = [
        julie.address, julie.address.upper(), " Secretariat.3eB@ac-demo.fr ", gone.address,
        "ancien.poste@ac-demo.fr", full.address, pending.address, "personne@ac-demo.fr", "",
        srs.forward("julie.martin@ac-demo.fr", "ac-demo.fr"),  # a bounce to ourselves: Julie
        srs.forward("someone@example.org", "ac-demo.fr"),  # outside: not a local recipient
        "SRS0=XXXX=AA=example.org=forged@ac-demo.fr", julie.address,
    ]
    for size_hint in (0, 5, 20):
        batch = check_recipients(addresses, size_hint=size_hint)
        singles = []
        for address in addresses:
            try:
                singles.append(check_recipient(address, size_hint=size_hint))
            except DeliveryRefused as refused:
                singles.append(refused)
        assert len(batch) == len(singles)
        for address, got, expected in zip(addresses, batch, singles, strict=True):
            assert same(got, expected), (address, size_hint, got, expected)
    # And the answers are the ones the design asks for.
    answers = check_recipients(addresses, size_hint=20)
    assert [a.account_id if isinstance(a, Recipient) else a.refusal for a in answers] == [
        julie.pk, julie.pk, julie.pk, door.Refusal.UNKNOWN_RECIPIENT, door.Refusal.UNKNOWN_RECIPIENT,
        door.Refusal.MAILBOX_FULL, pending.pk, door.Refusal.UNKNOWN_RECIPIENT, door.Refusal.UNKNOWN_RECIPIENT,
        julie.pk, door.Refusal.UNKNOWN_RECIPIENT, door.Refusal.UNKNOWN_RECIPIENT, julie.pk,
    ]


def test_check_recipients_reads_three_queries_whatever_the_number(make_account, django_assert_max_num_queries):
    accounts = [make_account("Agent", f"Numero{i}") for i in range(30)]
    addresses = [a.address for a in accounts] + [f"inconnu{i}@ac-demo.fr" for i in range(30)]
    with django_assert_max_num_queries(3):
        answers = check_recipients(addresses)
    assert sum(isinstance(a, Recipient) for a in answers) == 30


def test_mixed_batch_gets_exact_replies_in_one_lookup(client, make_account, settings, batches):
    settings.QUOTA_GRACE_PERCENT = 0
    julie = make_account()
    julie.aliases.create(address="secretariat.3eb@ac-demo.fr")
    gone = make_account("Paul", "Durand")
    Account.objects.filter(pk=gone.pk).update(status=Status.DISABLED)
    full = make_account("Anne", "Petit", quota_bytes=1000)
    Usage.objects.filter(account_id=full.pk).update(bytes=1000)
    raw = build_message(to=julie.address)
    replies = client.pipeline(
        f"MAIL FROM:<a@example.org> SIZE={len(raw)}",
        rcpt("personne@ac-demo.fr"),
        rcpt(julie.address.upper()),
        rcpt(gone.address),
        rcpt(full.address),
        rcpt("quelquun@gmail.com"),
        "rcpt to:<Secretariat.3eB@ac-demo.fr>",
        rcpt("inconnu2@ac-demo.fr"),
    )
    assert replies == [
        codes.S250_SENDER_OK,
        codes.S550_UNKNOWN_RECIPIENT,
        codes.S250_RECIPIENT_OK,
        codes.S550_UNKNOWN_RECIPIENT,
        codes.S452_MAILBOX_FULL,
        codes.S550_RELAY_DENIED,
        codes.S250_RECIPIENT_OK,
        codes.S550_UNKNOWN_RECIPIENT,
    ]
    # Loopback delivers the few hundred bytes at once: the first RCPT's lookup
    # took all six local addresses waiting behind it (not the outside one).
    assert batches == [
        ["personne@ac-demo.fr", julie.address.upper(), gone.address, full.address,
         "Secretariat.3eB@ac-demo.fr", "inconnu2@ac-demo.fr"],
    ]
    assert client.data(raw).startswith("250 2.0.0 OK")
    assert inbox_count(julie) == 1, "two addresses of one person, one copy"
    assert inbox_count(full) == 0 and inbox_count(gone) == 0


def test_recipient_limit_still_counts_in_a_batch(client, make_account, settings):
    settings.SMTP_MAX_RECIPIENTS = 2
    people = [make_account("Agent", f"Limite{i}") for i in range(3)]
    replies = client.pipeline("MAIL FROM:<a@example.org>", *(rcpt(p.address) for p in people))
    assert replies == [codes.S250_SENDER_OK, codes.S250_RECIPIENT_OK, codes.S250_RECIPIENT_OK,
                       codes.S452_TOO_MANY_RECIPIENTS]


def test_account_disabled_between_two_transactions(client, make_account):
    julie, paul = make_account(), make_account("Paul", "Durand")
    replies = client.pipeline("MAIL FROM:<a@example.org>", rcpt(julie.address), rcpt(paul.address))
    assert replies == [codes.S250_SENDER_OK, codes.S250_RECIPIENT_OK, codes.S250_RECIPIENT_OK]
    assert client.data(build_message()).startswith("250 ")
    Account.objects.filter(pk=paul.pk).update(status=Status.DISABLED)
    replies = client.pipeline("MAIL FROM:<a@example.org>", rcpt(julie.address), rcpt(paul.address))
    assert replies == [codes.S250_SENDER_OK, codes.S250_RECIPIENT_OK, codes.S550_UNKNOWN_RECIPIENT]
    assert client.data(build_message()).startswith("250 ")
    assert (inbox_count(julie), inbox_count(paul)) == (2, 1)


def test_address_added_after_a_refusal_on_the_same_connection(client, make_account):
    julie = make_account()
    newcomer = "nouvelle.arrivee@ac-demo.fr"
    replies = client.pipeline("MAIL FROM:<a@example.org>", rcpt(julie.address), rcpt(newcomer))
    assert replies == [codes.S250_SENDER_OK, codes.S250_RECIPIENT_OK, codes.S550_UNKNOWN_RECIPIENT]
    assert client.pipeline("RSET") == ["250 OK"]
    julie.aliases.create(address=newcomer)
    replies = client.pipeline("MAIL FROM:<a@example.org>", rcpt(newcomer), rcpt(julie.address))
    assert replies == [codes.S250_SENDER_OK, codes.S250_RECIPIENT_OK, codes.S250_RECIPIENT_OK]
    assert client.data(build_message()).startswith("250 ")
    assert inbox_count(julie) == 1


def test_mailbox_filled_after_rcpt_is_caught_at_data(client, make_account, settings):
    """An answer read ahead may be stale by the time DATA comes: the store
    checks the quota again and the design's rule applies (stored for nobody,
    452 for all)."""
    settings.QUOTA_GRACE_PERCENT = 0
    julie = make_account()
    anne = make_account("Anne", "Petit", quota_bytes=100_000)
    raw = build_message(body="z" * 3000)
    replies = client.pipeline(f"MAIL FROM:<a@example.org> SIZE={len(raw)}", rcpt(julie.address), rcpt(anne.address))
    assert replies == [codes.S250_SENDER_OK, codes.S250_RECIPIENT_OK, codes.S250_RECIPIENT_OK]
    Usage.objects.filter(account_id=anne.pk).update(bytes=99_000)
    assert client.data(raw) == codes.S452_MAILBOX_FULL
    assert (inbox_count(julie), inbox_count(anne)) == (0, 0)
    # The next transaction sees the full mailbox at RCPT.
    replies = client.pipeline(f"MAIL FROM:<a@example.org> SIZE={len(raw)}", rcpt(julie.address), rcpt(anne.address))
    assert replies == [codes.S250_SENDER_OK, codes.S250_RECIPIENT_OK, codes.S452_MAILBOX_FULL]


def test_one_by_one_client_still_gets_a_lookup_per_rcpt(client, make_account, batches):
    julie = make_account()
    assert client.pipeline("MAIL FROM:<a@example.org>") == [codes.S250_SENDER_OK]
    assert client.pipeline(rcpt("personne@ac-demo.fr")) == [codes.S550_UNKNOWN_RECIPIENT]
    assert client.pipeline(rcpt(julie.address)) == [codes.S250_RECIPIENT_OK]
    assert batches == [["personne@ac-demo.fr"], [julie.address]]


def test_repeated_rcpt_is_answered_from_the_transaction_table(client, make_account, batches):
    """Outside review, 2026-12: 10,000 RCPTs of one address took 75 s (each
    one looked the same address up again, with the 499 copies pipelined
    behind it). Now one lookup, every repetition answered alike, one copy."""
    person = make_account("Julie", "Martin")
    replies = client.pipeline("MAIL FROM:<parent@exemple.fr>", *["RCPT TO:<Julie.Martin@ac-demo.fr>"] * 2000,
                              *["RCPT TO:<personne@ac-demo.fr>"] * 3)
    assert replies[1:2001] == [codes.S250_RECIPIENT_OK] * 2000
    assert replies[2001:] == [codes.S550_UNKNOWN_RECIPIENT] * 3
    assert [sorted({a.lower() for a in batch}) for batch in batches] == [
        ["julie.martin@ac-demo.fr"], ["personne@ac-demo.fr"]
    ]
    assert all(len(batch) == len(set(batch)) for batch in batches)
    assert client.data(build_message()).startswith("250")
    assert inbox_count(person) == 1
