"""Demo data for distribution lists: the directory fields (UAI, function) of
the demo's établissements, a directory list "Tous les professeurs du
collège" with a post in its archive and one waiting for moderation, and a
hand-managed list with an outside member. Posts go through the one route, as
the webmail's send and the MX do."""

from __future__ import annotations

from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid

from django.conf import settings
from django.utils import timezone

from academail.accounts.models import Account, Function
from academail.delivery.route import Identity, deliver, do_submit
from academail.lists.models import Kind, MailingList, Member, Moderator, Posting, Sender

COLLEGE = ("Collège Jean Moulin, Montpellier", "0341234X")
LYCEE = ("Lycée Joffre, Montpellier", "0341235Y")
# (first name, last name) -> function, for the demo's cast (demo.corpus).
FUNCTIONS = {
    ("Jean", "Dupont"): Function.TEACHER,
    ("Julie", "Martin"): Function.TEACHER,
    ("Hélène", "Bérard"): Function.ADMINISTRATIVE,
    ("François", "Lefèvre"): Function.PRINCIPAL,
    ("Inès", "Benali"): Function.TEACHER,
    ("Aïssatou", "N'Diaye"): Function.TEACHER,
    ("Loïc", "Côté"): Function.PRINCIPAL,
}


def _message(sender: str, to: str, subject: str, body: str) -> bytes:
    message = EmailMessage(policy=SMTP)
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(timezone.localtime())
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2])
    message.set_content(body)
    return message.as_bytes()


def seed_lists(accounts: list[Account]) -> int:
    """Fill the directory fields, create the two lists and their posts;
    returns the number of lists."""
    domain = settings.MAIL_DOMAINS[0]
    for account in accounts:
        uai = {COLLEGE[0]: COLLEGE[1], LYCEE[0]: LYCEE[1]}.get(account.establishment, "")
        function = FUNCTIONS.get((account.first_name, account.last_name), "")
        if uai or function:
            account.uai, account.function = uai, function
            account.save(update_fields=["uai", "function", "updated_at"])
    college = [a for a in accounts if a.uai == COLLEGE[1]]
    principal = next((a for a in college if a.function == Function.PRINCIPAL), None)
    secretary = next((a for a in college if a.role == "secretariat"), None)
    profs = MailingList.objects.create(
        address=f"profs.{COLLEGE[1].lower()}@{domain}", name="Tous les professeurs du collège",
        description="Les enseignants du collège Jean Moulin, tenus à jour depuis l'annuaire.",
        kind=Kind.DIRECTORY, dir_uai=COLLEGE[1], dir_function=Function.TEACHER, posting=Posting.SENDERS,
        moderate_others=True, owner_uai=COLLEGE[1], created_by=secretary,
    )
    team = MailingList.objects.create(
        address=f"conseil-pedagogique.{COLLEGE[1].lower()}@{domain}", name="Conseil pédagogique",
        description="Liste gérée par le secrétariat, avec la représentante des parents.",
        kind=Kind.MANUAL, posting=Posting.MEMBERS, allow_unsubscribe=True, owner_uai=COLLEGE[1],
        created_by=secretary,
    )
    for moderator in (principal, secretary):
        if moderator is not None:
            Moderator.objects.create(mailing_list=profs, account=moderator)
            Moderator.objects.create(mailing_list=team, account=moderator)
    Sender.objects.create(mailing_list=profs, address=f"dane@{domain}")
    for account in college:
        if account.function in (Function.TEACHER, Function.PRINCIPAL):
            Member.objects.create(mailing_list=team, address=account.address, account=account)
    Member.objects.create(mailing_list=team, address="representante.parents@exemple-perso.fr")
    if principal is not None and principal.is_active:
        do_submit(
            _message(principal.address, profs.address, "Réunion de pré-rentrée",
                     "Bonjour à toutes et à tous,\n\nLa réunion de pré-rentrée aura lieu lundi à 9 h en salle des "
                     "professeurs.\n\nBien cordialement,\n" + principal.full_name + "\n"),
            [profs.address], origin="webmail",
            identity=Identity(principal.pk, principal.identifier, principal.address, frozenset({principal.address})),
        )
    # An outside sender: held for the moderators (page « Listes de diffusion »).
    deliver(
        _message("association.sportive@exemple-perso.fr", profs.address, "Tournoi de handball du mercredi",
                 "Bonjour,\n\nL'association sportive propose un tournoi entre équipes de professeurs et "
                 "d'élèves mercredi après-midi. Pouvez-vous relayer ?\n\nMerci !\n"),
        [profs.address], envelope_from="association.sportive@exemple-perso.fr",
    )
    return 2
