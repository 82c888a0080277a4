"""``academail demo``: a demo académie — accounts of every role with French
names (homonyms included), their folders and a few hundred realistic messages —
and the credentials to sign in, printed and kept in ``var/demo-credentials.txt``.

Accounts go through the real account service and messages through the real
store, exactly as an import and deliveries would.
"""

from __future__ import annotations

import os
import secrets
import string
from datetime import datetime, timedelta
from pathlib import Path
from typing import TextIO

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from academail.accounts.models import Account, Status
from academail.accounts.services import address_taken, check_add_alias, check_create_account
from academail.demo.agenda import seed_agendas, seed_appointments
from academail.demo.corpus import DEMO_PEOPLE_SPEC, DemoPerson, generate_mailbox
from academail.sharing.functional import members_of
from academail.store import mailboxes
from academail.store.errors import MailboxNotFound
from academail.store.messages import Placement, do_store, prepare_content
from academail.store.webmail import Flag

CREDENTIALS_FILE = "demo-credentials.txt"
# Positions in DEMO_PEOPLE_SPEC left pending activation (two staff members).
PENDING_INDEXES = frozenset({4, 8})
_SPECIAL = {use for use, _ in mailboxes.DEFAULT_MAILBOXES}


def _password() -> str:
    # Demo passwords are random per installation: a demo left on a network is not an open door.
    alphabet = string.ascii_letters + string.digits
    core = "".join(secrets.choice(alphabet) for _ in range(14))
    return f"{core[:7]}-{secrets.randbelow(90) + 10}!{core[7:]}"


def _numen(rng_index: int) -> str:
    return f"34E{secrets.randbelow(10**6):06d}{rng_index:02d}{secrets.token_hex(1).upper()}"


def _folder_id(account_id: int, folder: str, cache: dict[str, int]) -> int:
    if folder not in cache:
        if folder in _SPECIAL:
            cache[folder] = mailboxes.special_mailbox(account_id, folder).pk
        else:
            try:
                cache[folder] = mailboxes.access_mailbox_by_name(account_id, folder).pk
            except MailboxNotFound:
                cache[folder] = mailboxes.do_create_mailbox(account_id, folder).pk
    return cache[folder]


def seed_demo(*, messages_per_account: int = 60, force: bool = False, out: TextIO) -> list[dict[str, str]]:
    """Create the demo académie (once; ``force`` adds another cast of homonyms)."""
    path = settings.VAR_DIR / CREDENTIALS_FILE
    if path.exists() and not force and Account.objects.filter(role="admin").exists():
        out.write(f"Démo déjà installée. Identifiants : {path}\n\n")
        out.write(path.read_text())
        return []
    rows: list[dict[str, str]] = []
    people: list[tuple[Account, DemoPerson]] = []
    for index, (first, last, role, establishment) in enumerate(DEMO_PEOPLE_SPEC):
        numen = _numen(index)
        # A few people have not activated their account yet: the first
        # connection (identifier + NUMEN) is part of what the demo shows.
        pending = index in PENDING_INDEXES
        password = "" if pending else _password()
        with transaction.atomic():
            account = check_create_account(
                first_name=first, last_name=last, numen=numen, role=role,
                establishment=establishment,
                status=str(Status.PENDING if pending else Status.ACTIVE),
                secondary_address="" if pending else f"secours.{index + 1}@exemple-perso.fr",
            )
            if not pending:
                account.secondary_verified = True
                account.set_password(password)
            # The demo's administrator manages everything in the admin.
            account.is_superuser = role == "admin"
            account.save()
        people.append((account, DemoPerson(first, last, role, establishment, account.address)))
        rows.append({
            "identifiant": account.identifier,
            "mot de passe": password or "(à activer)",
            "adresse": account.address,
            "rôle": account.get_role_display(), "NUMEN": numen,
        })
    cast = [person for _, person in people]
    now = timezone.now()
    total = 0
    for index, (account, person) in enumerate(people):
        total += _fill(account, person, cast, messages_per_account, index, now)
    sessions = _training_sessions([account for account, _person in people], now)
    from academail.demo.assistance import seed_tickets

    tickets = seed_tickets([account for account, _person in people])
    active = [account for account, _ in people if account.status == Status.ACTIVE]
    agenda_events = seed_agendas(active, timezone.localdate())
    teacher = next((a for a in active if a.role == "staff"), None)
    booking_page = seed_appointments(teacher, timezone.localdate()) if teacher is not None else ""
    _security_team_address([account for account, _person in people])
    from academail.demo.protection import seed_protection

    outside = seed_protection(active)
    from academail.demo.mailboxcare import seed_full_mailbox

    nearly_full = seed_full_mailbox([account for account, _person in people], timezone.now())
    from academail.demo.lists import seed_lists

    lists = seed_lists([account for account, _person in people])
    from academail.demo.sharing import seed_sharing

    functional = seed_sharing(active)
    _write_credentials(path, rows, force)
    out.write(f"Démo prête : {len(rows)} comptes, {total} messages, {sessions} sessions de formation, "
              f"{tickets} demandes d'assistance, {agenda_events} événements d'agenda, "
              f"{outside} messages de l'extérieur (indésirables et hameçonnage compris), "
              f"{lists} listes de diffusion.\n")
    if teacher is not None and booking_page:
        out.write(f"Prise de rendez-vous des parents ({teacher.identifier}, deux rendez-vous pris) : {booking_page}\n")
    if functional is not None:
        out.write(f"Boîte fonctionnelle {functional.account.address} : lue par "
                  + ", ".join(r.identifier for r in members_of(functional)) + " (Courrier › Partage).\n")
    if nearly_full is not None:
        out.write(f"Boîte presque pleine (95 %, trois vidéos) : {nearly_full.identifier}.\n")
    out.write(
        "Administrateur et agents d'assistance : à la première connexion web, activez la double\n"
        "authentification (FreeOTP, Aegis, Google Authenticator...). Comptes « à activer » :\n"
        "« Première connexion » avec l'identifiant et le NUMEN.\n\n"
    )
    out.write(path.read_text())
    return rows


def _security_team_address(accounts: list[Account]) -> None:
    """Phishing reports go to ``ACADEMAIL_PHISHING_REPORT_ADDRESS``: in the
    demo it is an alias of the administrator, who sees the campaigns page."""
    admin = next((a for a in accounts if a.role == "admin"), None)
    if admin is not None and not address_taken(settings.PHISHING_REPORT_ADDRESS):
        check_add_alias(admin, settings.PHISHING_REPORT_ADDRESS)


def _training_sessions(accounts: list[Account], now: datetime) -> int:
    """Upcoming training sessions (``/formations/``) published by the demo's
    helpdesk agent, one of them full with a waiting list, and a few sign-ups
    (whose invitations land in the demo inboxes). The help articles themselves
    are installed by ``migrate`` (``help.content``)."""
    from academail.help import training

    trainer = next((a for a in accounts if a.role == "support"), None)
    staff = [a for a in accounts if a.role in ("staff", "secretariat") and a.status == Status.ACTIVE]
    if trainer is None:
        return 0
    day = timezone.localtime(now).replace(hour=9, minute=30, second=0, microsecond=0)
    specs = [
        ("Prise en main de la messagerie", "Lire, écrire et ranger son courrier, configurer son téléphone, "
         "reconnaître un message d'hameçonnage. Pour bien démarrer.", "nouveaux personnels",
         "https://visio.ac-demo.fr/prise-en-main", "", 1, 20),
        ("Filtres, absence et transfert", "Ranger automatiquement son courrier, préparer le message "
         "d'absence des vacances, les règles du transfert.", "tous les personnels", "",
         "Rectorat, salle Condorcet (2e étage)", 3, 12),
        ("Atelier secrétariats : circulaires et listes", "Envoyer une circulaire à tout un établissement sans "
         "dépasser les limites d'envoi, gérer une boîte partagée.", "secrétariats", "",
         "Collège Jean Moulin, salle informatique", 6, 2),
    ]
    created = []
    for title, description, audience, url, place, in_days, capacity in specs:
        starts = day + timedelta(days=in_days)
        created.append(training.check_publish(trainer, training.SessionDraft(
            title, description, audience, url, place, starts, starts + timedelta(hours=2), capacity,
        ), now=now))
    training.check_add_resource(trainer, created[0].pk, title="Article d'aide : se connecter",
                                url=settings.PUBLIC_URL + "/aide/se-connecter/")
    for account in staff[:3]:
        training.check_sign_up(account, created[2].pk, waiting_list=True)
    for account in staff[3:5]:
        training.check_sign_up(account, created[0].pk)
    return len(created)


def _fill(account: Account, person: DemoPerson, cast: list[DemoPerson], count: int, seed: int, now: datetime) -> int:
    folders: dict[str, int] = {}
    messages = generate_mailbox(person, cast, count, seed, now)
    for message in messages:
        flags = (
            (Flag.SEEN if message.seen else 0)
            | (Flag.FLAGGED if message.flagged else 0)
            | (Flag.ANSWERED if message.answered else 0)
            | (Flag.DRAFT if message.draft else 0)
        )
        prepared = prepare_content(message.raw)
        with transaction.atomic():
            placement = Placement(account.pk, _folder_id(account.pk, message.folder, folders), flags)
            do_store(prepared, [placement], internaldate=message.internaldate)
    return len(messages)


def _write_credentials(path: Path, rows: list[dict[str, str]], append: bool) -> None:
    header = "identifiant       mot de passe              adresse                                  rôle                NUMEN\n"
    lines = [
        f"{r['identifiant']:<17} {r['mot de passe']:<25} {r['adresse']:<40} {r['rôle']:<19} {r['NUMEN']}\n"
        for r in rows
    ]
    mode = "a" if append and path.exists() else "w"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | (os.O_APPEND if mode == "a" else os.O_TRUNC), 0o600)
    with os.fdopen(fd, mode) as handle:
        if mode == "w":
            handle.write(header)
        handle.writelines(lines)
