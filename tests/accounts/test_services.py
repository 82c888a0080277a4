"""Account creation, NUMEN handling, address resolution and authentication."""

from __future__ import annotations

import pytest
from django.db import connection

from academail.accounts.models import Account, Alias, Role, Status
from academail.accounts.numen import NumenError
from academail.accounts.secrets import decrypt_numen, numen_hash
from academail.accounts.services import (
    AccountError,
    authenticate,
    check_create_account,
    check_update_account,
    clean_new_account,
    do_create_accounts,
    find_by_numen,
    resolve_address,
)
from academail.store.models import Mailbox, Subscription, Usage

pytestmark = pytest.mark.django_db

NUMEN_1 = "11E9501234ABC"
NUMEN_2 = "11E9501234ABD"


def create(first: str = "Julie", last: str = "Martin", numen: str | None = NUMEN_1, **kw: object) -> Account:
    return check_create_account(first_name=first, last_name=last, numen=numen, role=Role.STAFF, **kw)


def test_create_account_picks_identifier_address_and_provisions(settings) -> None:
    settings.MAIL_DOMAINS = ["ac-test.fr", "other.fr"]
    account = create("Jean-Pierre", "De La Fontaine")
    account.refresh_from_db()
    assert account.identifier == "jdelafontaine"
    assert account.address == "jean-pierre.delafontaine@ac-test.fr"
    assert account.status == Status.PENDING
    assert account.role == Role.STAFF
    assert account.quota_bytes == settings.DEFAULT_QUOTA
    assert not account.has_usable_password()
    assert decrypt_numen(account.numen_ciphertext) == NUMEN_1
    assert account.numen_hash == numen_hash(NUMEN_1)
    # The store made the special-use mailboxes and the quota row.
    assert Mailbox.objects.filter(account=account, special_use__isnull=False).count() >= 5
    assert Usage.objects.filter(account=account).exists()


def test_homonyms_are_numbered() -> None:
    first = create(numen=NUMEN_1)
    second = create(numen=NUMEN_2)
    third = create(numen=None)
    assert (first.identifier, first.address) == ("jmartin", "julie.martin@ac-demo.fr")
    assert (second.identifier, second.address) == ("jmartin1", "julie.martin1@ac-demo.fr")
    assert (third.identifier, third.address) == ("jmartin2", "julie.martin2@ac-demo.fr")


def test_identifier_and_address_are_numbered_independently() -> None:
    # Jules Martin takes "jmartin" but not "julie.martin".
    create("Jules", "Martin", numen=NUMEN_1)
    julie = create("Julie", "Martin", numen=NUMEN_2)
    assert julie.identifier == "jmartin1"
    assert julie.address == "julie.martin@ac-demo.fr"


def test_an_alias_blocks_the_address() -> None:
    other = create("Paul", "Durand", numen=NUMEN_1)
    Alias.objects.create(account=other, address="Julie.Martin@AC-DEMO.fr")
    julie = create(numen=NUMEN_2)
    assert julie.address == "julie.martin1@ac-demo.fr"


def test_existing_upper_case_identifier_counts_as_taken() -> None:
    Account.objects.create_user("JMARTIN", first_name="J", last_name="Martin",
                                address="jm@ac-demo.fr", quota_bytes=1)
    assert create().identifier == "jmartin1"


def test_many_homonyms_beyond_the_first_batch() -> None:
    for n in range(40):
        suffix = str(n) if n else ""
        Account.objects.create_user(f"jmartin{suffix}", first_name="J", last_name="Martin",
                                    address=f"julie.martin{suffix}@ac-demo.fr", quota_bytes=1)
    account = create()
    assert (account.identifier, account.address) == ("jmartin40", "julie.martin40@ac-demo.fr")


def test_given_identifier_and_address_are_used_or_refused() -> None:
    account = create(identifier="Direction.Ecole", address="Direction@ac-demo.fr")
    assert (account.identifier, account.address) == ("direction.ecole", "direction@ac-demo.fr")
    with pytest.raises(AccountError, match="déjà utilisé"):
        create(numen=NUMEN_2, identifier="DIRECTION.ECOLE")
    with pytest.raises(AccountError, match="déjà utilisée"):
        create(numen=NUMEN_2, address="direction@AC-DEMO.FR")
    with pytest.raises(AccountError, match="domaine de l'académie"):
        create(numen=NUMEN_2, address="x@gmail.com")


def test_numen_is_unique_whatever_its_spelling() -> None:
    create(numen=NUMEN_1)
    with pytest.raises(AccountError, match="déjà attribué"):
        create("Paul", "Durand", numen="11 e 950-1234-abc")
    assert Account.objects.count() == 1


def test_bad_numen_raises_numen_error_and_creates_nothing() -> None:
    with pytest.raises(NumenError, match="vous en avez saisi 12"):
        create(numen="11E9501234AB")
    assert not Account.objects.exists()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"first": "  "}, "prénom est obligatoire"),
        ({"last": ""}, "nom est obligatoire"),
        ({"first": "###"}, "aucune lettre"),
        ({"quota_bytes": 0}, "quota"),
        ({"secondary_address": "pas-une-adresse"}, "adresse de secours"),
        ({"secondary_address": "julie@ac-demo.fr"}, "extérieure"),
        ({"status": "zombie"}, "Statut inconnu"),
    ],
)
def test_invalid_input_is_refused_in_french(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        create(**kwargs)
    assert not Account.objects.exists()


def test_numen_is_not_stored_in_clear() -> None:
    account = create(numen=NUMEN_1)
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM accounts_account WHERE id = %s", [account.pk])
        row = cursor.fetchone()
    dump = b"".join(
        bytes(value) if isinstance(value, (bytes, memoryview)) else str(value).encode()
        for value in row
    )
    assert NUMEN_1.encode() not in dump
    assert NUMEN_1.lower().encode() not in dump
    assert NUMEN_1.encode("utf-16-le") not in dump
    # ... but it is recoverable by whoever holds the key.
    assert decrypt_numen(account.numen_ciphertext) == NUMEN_1


def test_failure_in_provisioning_leaves_nothing(monkeypatch) -> None:
    def broken(account_ids: list[int]) -> None:
        raise RuntimeError("store down")

    monkeypatch.setattr("academail.accounts.services.do_provision_new_accounts", broken)
    with pytest.raises(RuntimeError):
        create()
    assert not Account.objects.exists()


def test_find_by_numen() -> None:
    account = create(numen=NUMEN_1)
    assert find_by_numen("11e9501234abc") == account
    assert find_by_numen(" 11 E 9501234 ABC ") == account
    assert find_by_numen(NUMEN_2) is None
    with pytest.raises(NumenError):
        find_by_numen("O1E9501234ABC")


def test_resolve_address_is_case_insensitive_and_follows_aliases() -> None:
    account = create()
    Alias.objects.create(account=account, address="j.martin@ac-demo.fr")
    assert resolve_address("Julie.Martin@AC-DEMO.FR") == account
    assert resolve_address("  julie.martin@ac-demo.fr ") == account
    assert resolve_address("J.MARTIN@ac-demo.fr") == account
    assert resolve_address("nobody@ac-demo.fr") is None
    assert resolve_address("") is None


@pytest.mark.parametrize(
    ("status", "receives"),
    [(Status.PENDING, True), (Status.ACTIVE, True), (Status.SUSPENDED, True), (Status.DISABLED, False)],
)
def test_resolve_address_by_status(status: str, receives: bool) -> None:
    account = create(status=status)
    Alias.objects.create(account=account, address="alias@ac-demo.fr")
    assert (resolve_address("julie.martin@ac-demo.fr") == account) is receives
    assert (resolve_address("alias@ac-demo.fr") == account) is receives


def test_update_changes_only_what_differs() -> None:
    account = create(establishment="Lycée Victor Hugo")
    assert check_update_account(account, first_name="Julie", establishment="Lycée  Victor Hugo") == []
    changed = check_update_account(account, last_name="Martin-Durand", role=Role.SECRETARIAT)
    assert sorted(changed) == ["last_name", "role"]
    account.refresh_from_db()
    assert (account.last_name, account.role) == ("Martin-Durand", Role.SECRETARIAT)
    assert account.identifier == "jmartin"  # never renamed


class TestAuthenticate:
    def make(self, status: str = Status.ACTIVE) -> Account:
        account = create(status=status)
        account.set_password("un mot de passe solide")
        account.save()
        return account

    def test_right_password(self) -> None:
        account = self.make()
        assert authenticate(" JMartin ", "un mot de passe solide", protocol="imap",
                            remote_addr="192.0.2.1") == account

    def test_wrong_password(self) -> None:
        self.make()
        assert authenticate("jmartin", "mauvais", protocol="imap", remote_addr="192.0.2.1") is None

    def test_unknown_identifier_still_hashes(self, monkeypatch) -> None:
        calls: list[str] = []
        import academail.accounts.authcache as authcache

        real = authcache.make_password
        monkeypatch.setattr(authcache, "make_password", lambda p: calls.append(p) or real(p))
        assert authenticate("personne", "x", protocol="web", remote_addr="192.0.2.1") is None
        assert calls == ["x"]

    @pytest.mark.parametrize("status", [Status.PENDING, Status.SUSPENDED, Status.DISABLED])
    def test_only_active_accounts(self, status: str) -> None:
        self.make(status=status)
        assert authenticate("jmartin", "un mot de passe solide", protocol="web",
                            remote_addr="192.0.2.1") is None

    def test_new_account_has_no_usable_password(self) -> None:
        create(status=Status.ACTIVE)
        assert authenticate("jmartin", "", protocol="web", remote_addr="192.0.2.1") is None
        assert authenticate("jmartin", "!", protocol="web", remote_addr="192.0.2.1") is None


def test_a_batch_numbers_homonyms_as_one_at_a_time_would() -> None:
    # Taken before the batch: jmartin (account), julie.martin1 (an alias).
    other = create("Jules", "Martin", numen=NUMEN_1)
    Alias.objects.create(account=other, address="julie.martin1@ac-demo.fr")
    new = [
        clean_new_account(first_name="Julie", last_name="Martin", numen=f"11E95012{n:03d}AB")
        for n in range(35)  # more homonyms than one query's candidates
    ]
    new.insert(1, clean_new_account(first_name="Léa", last_name="Roux", numen=None,
                                    identifier="direction", address="direction@ac-demo.fr"))
    accounts = do_create_accounts(new)
    assert [a.identifier for a in accounts[:4]] == ["jmartin1", "direction", "jmartin2", "jmartin3"]
    assert [a.address for a in accounts[:4]] == [
        "julie.martin@ac-demo.fr", "direction@ac-demo.fr", "julie.martin2@ac-demo.fr", "julie.martin3@ac-demo.fr"]
    assert (accounts[-1].identifier, accounts[-1].address) == ("jmartin35", "julie.martin35@ac-demo.fr")
    # Then one more, alone, goes on from there.
    assert (create(numen=NUMEN_2).identifier, Account.objects.count()) == ("jmartin36", 38)


def test_a_batch_stores_what_one_creation_stores() -> None:
    alone = create("Hélène", "Müller", numen=NUMEN_1, uai="0341234x", function="teacher")
    [batched] = do_create_accounts([clean_new_account(
        first_name="Hélène", last_name="Müller", numen=NUMEN_2, uai="0341234x", function="teacher")])

    def stored(account: Account) -> dict:
        row = Account.objects.filter(pk=account.pk).values().get()
        for varying in ("id", "identifier", "address", "numen_ciphertext", "numen_hash", "password",
                        "created_at", "updated_at"):
            row.pop(varying)
        boxes = list(Mailbox.objects.filter(account=account).order_by("uidvalidity")
                     .values_list("name", "special_use", "uidvalidity"))
        usage = Usage.objects.get(account=account)
        subscribed = set(Subscription.objects.filter(account_id=account.pk).values_list("name", flat=True))
        assert usage.uidvalidity_high == boxes[-1][2]  # no UIDVALIDITY handed out twice
        return {**row, "boxes": [(name, use) for name, use, _ in boxes], "subscribed": subscribed,
                "usage": (usage.bytes, usage.messages)}

    assert stored(batched) == stored(alone)
    assert stored(batched)["name_key"] == "helene muller"
    assert decrypt_numen(Account.objects.get(pk=batched.pk).numen_ciphertext) == NUMEN_2
    assert not Account.objects.get(pk=batched.pk).has_usable_password()
