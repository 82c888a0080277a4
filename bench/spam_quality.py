"""Spam recall and ham false-positive rate of the built-in filter, after
training on a split, through the real engine (``spam.screen`` + ``verdicts``:
rules and the naive Bayes classifier, académie scope and one person's).

    .venv/bin/python bench/spam_quality.py [--messages 600] [--train 0.7] [--seed 1]

The corpus is French and of our own: phrase banks of spam (promotions,
casinos, parcels, loans, fake invoices, lures) and ham (school life, parents,
town halls, ministry newsletters), mixed at random into messages, with
deliberately shared vocabulary ("offre", "gratuit", "cliquez", "compte",
"facture" appear in both) so the score is not a vocabulary trick; plus the
hand-written corpus files of tests/data/protection (lures count as spam,
legitimate mail as ham). Prints both rates for the académie-wide model and
for a person who also trained their own.
"""

from __future__ import annotations

import argparse
import random
import time
from email.message import EmailMessage
from email.policy import SMTP

import _common as c

SPAM_SUBJECTS = [
    "Félicitations, vous avez gagné !", "Dernier jour : -70 % sur tout", "Votre colis est en attente",
    "Crédit immédiat sans justificatif", "Bonus casino offert", "Facture impayée n° {n}",
    "Votre compte sera suspendu", "Rencontre près de chez vous", "Offre exclusive réservée",
    "Remboursement en attente", "Votre abonnement a expiré", "Gagnez un iPhone",
]
SPAM_PHRASES = [
    "cliquez ici pour réclamer votre cadeau", "offre limitée, ne tardez pas", "livraison gratuite dès maintenant",
    "payez les frais de douane de 1,99 €", "votre bonus de bienvenue vous attend", "taux exceptionnel garanti",
    "réponse immédiate sans justificatif", "confirmez vos coordonnées bancaires", "jouez et gagnez gros",
    "des célibataires vous attendent", "profitez de cette promotion exclusive", "désinscription en bas de page",
    "votre compte sera désactivé sous 24 heures", "validez votre mot de passe", "dernier rappel avant pénalités",
    "recevez votre remboursement en un clic", "meilleur prix garanti", "stock limité", "offre gratuite",
]
HAM_SUBJECTS = [
    "Conseil de classe {c}", "Sortie au musée avec les {c}", "Réunion parents-professeurs",
    "Emploi du temps modifié", "Absence de {n} jeudi", "Menus de la cantine", "Lettre de l'éducation n° {n}",
    "Projet Erasmus", "Bulletins du trimestre", "Facture de la sortie scolaire", "Inscription au voyage",
    "Compte rendu du conseil pédagogique",
]
HAM_PHRASES = [
    "le conseil de classe aura lieu jeudi à 17 h", "merci de saisir vos appréciations avant mercredi",
    "la sortie est confirmée pour mardi", "départ du collège à 8 h 30", "les créneaux sont à réserver",
    "mon fils sera absent pour un rendez-vous médical", "vous trouverez les menus sur le site de la mairie",
    "le dossier est à rendre avant vendredi", "pensez à vérifier les moyennes",
    "la facture de la sortie est à régler au secrétariat", "l'offre de formation est en ligne",
    "cliquez sur le lien de l'ENT pour consulter le cahier de textes", "la participation est gratuite",
    "votre compte ENT reste inchangé", "bien cordialement", "le principal adjoint", "salle des professeurs",
    "les nouveaux programmes de cycle 3", "la rentrée des élèves",
]
CORPUS = c.REPO / "tests" / "data" / "protection"


def make(rng: random.Random, spam: bool, index: int, long: bool = False) -> bytes:
    subjects, phrases = (SPAM_SUBJECTS, SPAM_PHRASES) if spam else (HAM_SUBJECTS, HAM_PHRASES)
    other = HAM_PHRASES if spam else SPAM_PHRASES
    body = [rng.choice(phrases) for _ in range(rng.randint(3, 8))]
    if rng.random() < 0.3:  # a borrowed phrase from the other side
        body.insert(rng.randrange(len(body)), rng.choice(other))
    if long:
        # Real-length mail: 4 to 40 KB of prose both sides share (the bench's
        # French vocabulary), the message's own phrases spread through it,
        # some of them past the characters the tokens read (protection.tokens.TEXT_BUDGET).
        prose = c.french_lines(rng, rng.randint(4_000, 40_000))
        for phrase in body:
            prose.insert(rng.randrange(len(prose) + 1), phrase)
        body = prose
    message = EmailMessage(policy=SMTP)
    domain = rng.choice(["promo-flash.example", "gains.example", "colis-suivi.example"]) if spam else rng.choice(
        ["famille.example", "mairie-villeneuve.example", "education.gouv.fr", "college-exemple.fr"])
    message["From"] = f"contact{index % 7}@{domain}"
    message["Subject"] = rng.choice(subjects).format(c=rng.choice(["3eB", "4eA", "5eC"]), n=rng.randint(100, 999))
    message.set_content("Bonjour,\n\n" + ". ".join(body).capitalize() + ".\n")
    return message.as_bytes()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=600)
    parser.add_argument("--train", type=float, default=0.7)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--long", action="store_true",
                        help="real-length messages: 4-40 KB of shared prose with each message's phrases spread through it")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    items = [(make(rng, i % 2 == 0, i, args.long), i % 2 == 0) for i in range(args.messages)]
    for path in sorted(CORPUS.glob("*.eml")):
        items.append((path.read_bytes(), path.name.startswith("lure-")))
    rng.shuffle(items)
    cut = int(len(items) * args.train)
    train, test = items[:cut], items[cut:]
    with c.django_home():
        from django.db import transaction

        from academail.accounts.models import Account
        from academail.mime.parse import parse_message
        from academail.protection import classifier
        from academail.protection.spam import message_tokens, screen, verdicts

        (address,) = c.create_accounts_checked(1)
        person = Account.objects.get(address=address).pk
        started = time.perf_counter()
        with transaction.atomic():
            for raw, spam in train:
                classifier.do_count([0, person], message_tokens(parse_message(raw)), spam=int(spam), ham=int(not spam))
        print(f"setup    trained on {len(train)} messages ({sum(s for _, s in train)} spam) "
              f"in {time.perf_counter() - started:.1f} s; testing on {len(test)}")
        (other,) = c.create_accounts_checked(1, start=1)
        newcomer = Account.objects.get(address=other).pk  # taught nothing: the académie's model alone

        def measure(account_id: int) -> str:
            caught = missed = false_pos = kept = 0
            for raw, spam in test:
                junk = verdicts(screen(parse_message(raw), b"", raw=raw), [account_id])[account_id].junk
                caught += spam and junk
                missed += spam and not junk
                false_pos += (not spam) and junk
                kept += (not spam) and not junk
            return (f"spam recall {caught / max(1, caught + missed) * 100:.1f} % ({caught}/{caught + missed}), "
                    f"ham false positives {false_pos / max(1, false_pos + kept) * 100:.2f} % "
                    f"({false_pos}/{false_pos + kept})")

        print(f"result   a person who trained: {measure(person)}")
        print(f"result   académie model only (a newcomer): {measure(newcomer)}")

if __name__ == "__main__":
    main()
