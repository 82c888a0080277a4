"""The demo's functional mailbox (issue 19): the Collège Jean Moulin's
``ce.0341234x@…``, created by its secretariat through the real service, with
the secretary and a teacher as members (the teacher manages members), and a
few parents' messages delivered through the one door."""

from __future__ import annotations

from email.message import EmailMessage
from email.policy import SMTP

from academail.accounts.models import Account
from academail.delivery.route import deliver
from academail.sharing.functional import MANAGER, SharingError, check_create_functional
from academail.sharing.models import FunctionalMailbox
from academail.store import acl

SCHOOL = "Collège Jean Moulin, Montpellier"
UAI = "0341234X"
PARENTS = [
    ("Karim Haddad", "k.haddad@exemple-perso.fr", "Absence de Yanis jeudi",
     "Bonjour,\n\nYanis (5eB) sera absent jeudi matin pour un rendez-vous médical.\n\nCordialement,\nKarim Haddad\n"),
    ("Sophie Lambert", "sophie.lambert@exemple-perso.fr", "Demande de rendez-vous avec le professeur principal",
     "Bonjour,\n\nPourriez-vous transmettre ma demande de rendez-vous au professeur principal de 4eA ?\n\nMerci.\n"),
    ("Marc Rousseau", "m.rousseau@exemple-perso.fr", "Certificat de scolarité",
     "Bonjour,\n\nJ'aurais besoin d'un certificat de scolarité pour Léa (3eC).\n\nBien à vous,\nMarc Rousseau\n"),
]


def seed_sharing(accounts: list[Account]) -> FunctionalMailbox | None:
    """Create the demo school's functional mailbox; None if the cast has no
    active secretary for it (or it already exists)."""
    secretary = next((a for a in accounts if a.role == "secretariat" and a.establishment == SCHOOL
                      and a.is_active), None)
    teacher = next((a for a in accounts if a.role == "staff" and a.establishment == SCHOOL and a.is_active), None)
    if secretary is None or teacher is None:
        return None
    try:
        box = check_create_functional(secretary, uai=UAI, name="Collège Jean Moulin", members=[secretary.identifier])
    except SharingError:
        return None
    acl.do_grant(box.account_id, teacher.pk, acl.preset_rights(MANAGER), kind="member", by=secretary.pk)
    for name, address, subject, body in PARENTS:
        message = EmailMessage(policy=SMTP)
        message["From"] = f"{name} <{address}>"
        message["To"] = box.account.address
        message["Subject"] = subject
        message.set_content(body)
        deliver(message.as_bytes(), [box.account.address])
    return box
