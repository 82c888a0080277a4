"""Demo data for protection: junk in Indésirables (GTUBE and a reported
sender's promotion), a phishing lure from a look-alike domain asking for the
NUMEN (red warning, link through the interstitial page), legitimate outside
mail with only the neutral banner, and one report so the campaigns page
(administrators, "Équipe sécurité") has a campaign to show. Everything goes
through the one door with screening, as mail from the MX does."""

from __future__ import annotations

from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid

from django.conf import settings
from django.utils import timezone

from academail.accounts.models import Account
from academail.delivery.route import deliver
from academail.protection.spam import GTUBE


def _lookalike(domain: str) -> str:
    """ac-demo.fr -> ac-dem0.fr: one character replaced, as phishers do."""
    name, _, suffix = domain.rpartition(".")
    swapped = name[::-1].replace("o", "0", 1)[::-1] if "o" in name else name + "s"
    return f"{swapped}.{suffix}" if suffix else swapped + ".fr"


def _message(sender: str, subject: str, *, text: str = "", html: str = "", reply_to: str = "") -> bytes:
    message = EmailMessage(policy=SMTP)
    message["From"] = sender
    message["Subject"] = subject
    message["Date"] = format_datetime(timezone.localtime())
    message["Message-ID"] = make_msgid(domain="demo.example")
    if reply_to:
        message["Reply-To"] = reply_to
    if text:
        message.set_content(text)
    if html:
        if text:
            message.add_alternative(html, subtype="html")
        else:
            message.set_content(html, subtype="html")
    return message.as_bytes()


def _auth(mail_from: str, header_from: str, spf: str = "pass", dmarc: str = "none") -> bytes:
    """The Authentication-Results our MX would have written (``dmarc`` may
    carry the policy: "fail (p=quarantine)")."""
    return (
        f"Authentication-Results: {settings.MAIL_HOSTNAME};\r\n\tspf={spf} smtp.mailfrom={mail_from};\r\n"
        f"\tdkim=none;\r\n\tdmarc={dmarc} header.from={header_from}\r\n"
    ).encode()


def seed_protection(accounts: list[Account]) -> int:
    """Deliver the demo's outside mail to ``accounts``; returns how many
    messages were delivered. One person reports the lure."""
    if not accounts:
        return 0
    addresses = [a.address for a in accounts]
    fake = _lookalike(settings.MAIL_DOMAINS[0])
    lure = _message(
        f"Assistance Académie <assistance@{fake}>",
        "Votre boîte aux lettres est pleine",
        html=(
            "<p>Bonjour,</p><p>Votre boîte aux lettres est pleine : vos messages seront bloqués sous 24 heures. "
            "Pour conserver votre compte, validez votre NUMEN et votre mot de passe ici : "
            f'<a href="https://{fake}.verification-compte.example/connexion">'
            f"https://messagerie.{settings.MAIL_DOMAINS[0]}/connexion</a></p><p>Le service informatique</p>"
        ),
    )
    parent = _message(
        "Sophie Bernard <sophie.bernard@famille.example>", "Absence de Léa jeudi",
        text="Bonjour,\n\nLéa sera absente jeudi matin pour un rendez-vous médical.\n\nBien cordialement,\n"
             "Sophie Bernard\n",
    )
    gtube = _message(
        "Offres Exceptionnelles <promo@offres-flash.example>", "Test anti-indésirables",
        text=f"Ce message de test doit arriver dans Indésirables.\n\n{GTUBE}\n",
    )
    promo = _message(
        "Casino Royal <bonus@casino-royal.example>", "Votre bonus de 500 € vous attend",
        text="Cliquez vite pour réclamer votre bonus gratuit, offre exclusive limitée : "
             "http://bit.ly/bonus-casino\n",
    )
    count = 0
    for raw, mail_from, header_from, spf, dmarc in (
        (parent, "sophie.bernard@famille.example", "famille.example", "pass", "none"),
        (gtube, "promo@offres-flash.example", "offres-flash.example", "none", "none"),
        # A spoofed sender whose domain asks for quarantine: Indésirables, not refused.
        (promo, "bonus@mailer.example", "casino-royal.example", "fail", "fail (p=quarantine)"),
        (lure, f"assistance@{fake}", fake, "pass", "none"),
    ):
        prefix = _auth(mail_from, header_from, spf=spf, dmarc=dmarc)
        outcomes = deliver(raw, addresses, prefix=prefix, envelope_from=mail_from, screen=True)
        count += sum(1 for o in outcomes if getattr(o, "delivered", False))
    _report_one(accounts[0], f"assistance@{fake}")
    return count


def _report_one(account: Account, sender: str) -> None:
    """The first person reported the lure: the campaigns page shows it."""
    from academail.protection.reports import check_report
    from academail.store.messages import Message

    message = (
        Message.objects.filter(mailbox__account=account, content__from_addr=sender)
        .values_list("mailbox_id", "uid").first()
    )
    if message is not None:
        check_report(account, *message)
