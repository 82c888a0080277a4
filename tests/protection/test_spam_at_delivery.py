"""Spam verdicts in the one door: GTUBE, each person's lists and reported
senders, the classifier learning from moves into and out of Indésirables
(store level, so every protocol trains), the verdict in the per-delivery
prefix, Sieve's spamtest (RFC 5235) and the person's own fileinto."""

from __future__ import annotations

import pytest

from academail.delivery.route import deliver
from academail.filters.services import check_and_save_script
from academail.protection.models import (
    Correspondent,
    Learned,
    ReportedSender,
    SenderRule,
    TrainingTotals,
)
from academail.protection.spam import GTUBE
from academail.store.messages import do_set_flags
from academail.store.models import Mailbox, Message
from academail.store.webmail import do_message_action
from tests.conftest import build_message

pytestmark = pytest.mark.django_db(transaction=True)  # learning runs on commit


def box(account, use: str) -> Mailbox:
    return Mailbox.objects.get(account=account, special_use=use)

def _newest(account) -> Message:
    return Message.objects.filter(mailbox__account=account).select_related("mailbox").latest("pk")


def arrive(account, raw: bytes) -> Message:
    (outcome,) = deliver(raw, [account.address], screen=True)
    assert outcome.delivered
    return _newest(account)


def test_gtube_goes_to_indesirables_with_its_verdict(make_account):
    account = make_account()
    message = arrive(account, build_message(subject="Test", body=f"Bonjour\n{GTUBE}\n", sender="x@spam.example"))
    assert message.mailbox.special_use == "junk"
    prefix = bytes(message.prefix)
    assert prefix.startswith(b"X-Spam-Status: Yes, score=1000.0 required=5.0")
    assert b"tests=GTUBE" in prefix
    ordinary = arrive(account, build_message(sender="parent@famille.example"))
    assert ordinary.mailbox.special_use == "inbox"
    assert bytes(ordinary.prefix).startswith(b"X-Spam-Status: No, score=0.0")


def test_internal_mail_is_not_screened(make_account):
    account = make_account()
    (outcome,) = deliver(build_message(), [account.address])  # submission, webmail: no screening
    assert bytes(_newest(account).prefix) == b""


def test_always_refuse_and_always_accept(make_account):
    julie, paul = make_account(), make_account("Paul", "Durand")
    SenderRule.objects.create(account=julie, sender="@lettres.example", kind=SenderRule.Kind.REFUSE)
    SenderRule.objects.create(account=julie, sender="ami@lettres.example", kind=SenderRule.Kind.ACCEPT)
    assert arrive(julie, build_message(sender="pub@lettres.example")).mailbox.special_use == "junk"
    assert b"USER_REFUSE" in bytes(_newest(julie).prefix)
    # The address's own entry wins over its domain's.
    assert arrive(julie, build_message(sender="ami@lettres.example")).mailbox.special_use == "inbox"
    # Someone else's list changes nothing for Paul.
    assert arrive(paul, build_message(sender="pub@lettres.example")).mailbox.special_use == "inbox"


def test_reporting_a_message_sends_the_senders_next_mail_to_indesirables(make_account):
    account = make_account()
    first = arrive(account, build_message(subject="Promotion exceptionnelle", sender="promo@offres.example"))
    assert first.mailbox.special_use == "inbox"
    # "Signaler comme indésirable" in the webmail is a move to Indésirables, like IMAP's.
    do_message_action(account.pk, first.mailbox_id, [first.uid], "junk")
    assert Learned.objects.filter(account=account, spam=True).count() == 1
    assert ReportedSender.objects.filter(account=account, address="promo@offres.example").exists()
    assert TrainingTotals.objects.get(scope=0).spam == 1
    assert TrainingTotals.objects.get(scope=account.pk).spam == 1
    second = arrive(account, build_message(subject="Nouvelle promotion", sender="promo@offres.example"))
    assert second.mailbox.special_use == "junk"
    assert b"REPORTED_SENDER" in bytes(second.prefix)
    # "Ce n'est pas un indésirable": moving it out undoes and keeps the sender.
    do_message_action(account.pk, second.mailbox_id, [second.uid], "move", target_id=box(account, "inbox").pk)
    assert not ReportedSender.objects.filter(account=account).exists()
    assert Correspondent.objects.filter(account=account, address="promo@offres.example").exists()
    third = arrive(account, build_message(subject=f"Encore {GTUBE[:10]}", sender="promo@offres.example"))
    assert third.mailbox.special_use == "inbox"
    assert b"KNOWN_CORRESPONDENT" in bytes(third.prefix)


def test_learning_is_idempotent_and_reversible(make_account):
    account = make_account()
    message = arrive(account, build_message(sender="a@b.example"))
    junk = box(account, "junk")
    do_message_action(account.pk, message.mailbox_id, [message.uid], "junk")
    moved = _newest(account)
    # A copy of the same content back into Indésirables learns nothing more.
    from academail.store.messages import do_copy

    do_copy(account.pk, junk.pk, [(moved.uid, moved.uid)], junk.pk)
    assert TrainingTotals.objects.get(scope=account.pk).spam == 1
    do_message_action(account.pk, junk.pk, [moved.uid], "move", target_id=box(account, "inbox").pk)
    totals = TrainingTotals.objects.get(scope=account.pk)
    assert (totals.spam, totals.ham) == (0, 1)
    # Deleting from Indésirables (to Corbeille) teaches nothing.
    other = arrive(account, build_message(sender="c@d.example"))
    do_message_action(account.pk, other.mailbox_id, [other.uid], "junk")
    junked = _newest(account)
    before = Learned.objects.count()
    do_message_action(account.pk, junk.pk, [junked.uid], "delete")
    assert Learned.objects.count() == before


def test_junk_keywords_train_like_a_move(make_account):
    """Thunderbird and Apple Mail set $Junk / $NotJunk (RFC 5788 registry)."""
    account = make_account()
    message = arrive(account, build_message(sender="lettre@infos.example"))
    do_set_flags(account.pk, message.mailbox_id, [(message.uid, message.uid)], mode="add", keywords=["$Junk"])
    assert Learned.objects.get(account=account).spam is True
    do_set_flags(account.pk, message.mailbox_id, [(message.uid, message.uid)], mode="add", keywords=["$NotJunk"])
    assert Learned.objects.get(account=account).spam is False


SPAMMY = [
    ("Gagnez un iPhone gratuit", "Félicitations ! Vous avez gagné un iPhone gratuit. Cliquez vite pour réclamer "
     "votre cadeau exclusif, offre limitée, livraison gratuite, bonus casino."),
    ("Crédit rapide sans justificatif", "Obtenez un crédit rapide sans justificatif, taux exceptionnel, "
     "réponse immédiate, cliquez ici pour votre offre exclusive et gratuite."),
    ("Votre colis est en attente", "Votre colis est bloqué, payez les frais de livraison de 1,99 € "
     "pour le recevoir, offre limitée, cliquez ici vite."),
    ("Perdez 10 kilos", "Pilules miracles, perdez du poids vite, offre exclusive gratuite, cliquez ici, "
     "bonus cadeau pour les premiers."),
    ("Casino en ligne bonus", "Bonus de bienvenue au casino en ligne, jouez gratuit, gagnez gros, "
     "offre exclusive limitée, cliquez vite."),
    ("Rencontres près de chez vous", "Des célibataires vous attendent, inscription gratuite, offre exclusive, "
     "cliquez ici vite, cadeau bonus."),
]
HAMMY = [
    ("Conseil de classe 3eB", "Bonjour, le conseil de classe de 3eB aura lieu jeudi à 17 h en salle 12. "
     "Merci de saisir vos appréciations avant mercredi."),
    ("Sortie au musée", "Chers collègues, la sortie au musée des Beaux-Arts avec les 5e est confirmée pour "
     "mardi ; départ du collège à 8 h 30."),
    ("Réunion parents-professeurs", "La réunion parents-professeurs se tiendra le 12 janvier. "
     "Les créneaux sont à réserver auprès du secrétariat."),
    ("Emploi du temps modifié", "Suite à l'absence de Mme Leroy, l'emploi du temps des 4eA est modifié "
     "cette semaine, voir le tableau en salle des professeurs."),
    ("Projet Erasmus", "Le dossier Erasmus est à rendre avant vendredi ; merci aux professeurs de langues "
     "de relire la partie pédagogique."),
    ("Bulletin trimestriel", "Les bulletins du premier trimestre seront édités lundi, pensez à vérifier "
     "les moyennes et les appréciations de vos classes."),
]


def test_classifier_learns_from_moves_and_judges_new_mail(make_account):
    account = make_account()
    for index, (subject, body) in enumerate(SPAMMY):
        message = arrive(account, build_message(subject=subject, body=body, sender=f"s{index}@pub{index}.example"))
        do_message_action(account.pk, message.mailbox_id, [message.uid], "junk")
    for index, (subject, body) in enumerate(HAMMY):
        arrive(account, build_message(subject=subject, body=body, sender=f"h{index}@parents{index}.example"))
        message = _newest(account)
        do_set_flags(account.pk, message.mailbox_id, [(message.uid, message.uid)], mode="add", keywords=["$NotJunk"])
    spam = arrive(account, build_message(subject="Offre exclusive gratuite", sender="new@inconnu.example",
                                         body="Cliquez ici vite pour votre cadeau gratuit, offre limitée, bonus."))
    assert spam.mailbox.special_use == "junk"
    assert b"BAYES_" in bytes(spam.prefix)
    ham = arrive(account, build_message(subject="Conseil de classe 4eA", sender="new2@inconnu.example",
                                        body="Le conseil de classe de 4eA aura lieu mardi ; merci de saisir les "
                                        "appréciations et de vérifier les moyennes."))
    assert ham.mailbox.special_use == "inbox"


def test_sieve_spamtest_and_own_fileinto(make_account):
    account = make_account()
    check_and_save_script(
        account.pk,
        'require ["spamtest", "relational", "comparator-i;ascii-numeric", "fileinto"];\n'
        'if spamtest :value "ge" :comparator "i;ascii-numeric" "5" { fileinto "À vérifier"; stop; }\n'
        'if spamtest :value "eq" :comparator "i;ascii-numeric" "1" { fileinto "Sûr"; stop; }\n',
    )
    arrive(account, build_message(body=GTUBE, sender="x@spam.example"))
    assert _newest(account).mailbox.name == "À vérifier"  # an explicit filter wins over the verdict
    arrive(account, build_message(sender="parent@famille.example"))
    assert _newest(account).mailbox.name == "Sûr"
    # The person's own rule filing into Indésirables teaches their classifier.
    check_and_save_script(
        account.pk, 'require "fileinto";\nif header :contains "subject" "loterie" { fileinto "Indésirables"; }\n'
    )
    arrive(account, build_message(subject="Grande loterie", sender="lot@jeux.example"))
    assert _newest(account).mailbox.special_use == "junk"
    assert Learned.objects.filter(account=account, spam=True).count() == 1
