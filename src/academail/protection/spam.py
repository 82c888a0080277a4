"""Spam verdicts at delivery, for the one door.

``screen`` looks at the message once (rules that need no learning, the
académie-wide classifier, whether to refuse it at SMTP time); ``verdicts``
then gives each recipient their own verdict (their classifier, their
"toujours accepter / toujours refuser" lists, their correspondents) in a
handful of queries whatever the number of recipients. Scores are
SpamAssassin-like points: ``SPAM_JUNK_SCORE`` and above goes to Indésirables;
``SPAM_REJECT_SCORE`` and above is refused with ``550 5.7.1``, and only when
authentication also failed. Nothing is dropped silently.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection

from academail.mime.parse import ParsedMessage
from academail.protection import classifier, phishing, rspamd
from academail.protection.authresults import Auth, read_auth
from academail.protection.models import (
    ACADEMIE_SCOPE,
    Correspondent,
    ReportedSender,
    SenderRule,
)
from academail.protection.phishing import Findings
from academail.protection.tokens import tokenize

log = logging.getLogger(__name__)

GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"

REJECT_TEXT = (
    "Message refusé : il est très probablement indésirable et son expéditeur n'a pas pu être authentifié. "
    "Si vous êtes l'expéditeur légitime, vérifiez la configuration SPF, DKIM et DMARC de votre domaine."
)


@dataclass(frozen=True)
class Reason:
    """One rule that fired: a symbol (as rspamd and SpamAssassin name them),
    its points, and a plain-French explanation for the person."""

    code: str
    points: float
    text: str


# The rules that need no learning, each with its points and explanation.
RULES: dict[str, Reason] = {r.code: r for r in (
    Reason("GTUBE", 1000.0, "Message de test anti-indésirables (GTUBE)."),
    Reason("SPF_FAIL", 3.0, "Le serveur d'envoi n'est pas autorisé par le domaine de l'expéditeur (SPF)."),
    Reason("SPF_SOFTFAIL", 1.0, "Le domaine de l'expéditeur doute de ce serveur d'envoi (SPF)."),
    Reason("DKIM_FAIL", 1.5, "La signature DKIM du message est invalide."),
    Reason("DMARC_FAIL", 3.5, "Le message ne prouve pas venir du domaine affiché (DMARC)."),
    Reason("DMARC_REJECT", 6.0, "Le domaine affiché demande de refuser les messages non authentifiés (DMARC p=reject)."),
    Reason("DMARC_QUARANTINE", 4.0,
           "Le domaine affiché demande de mettre à l'écart les messages non authentifiés (DMARC p=quarantine)."),
    Reason("ACADEMIE_SPOOF", 8.0,
           "Le message se présente comme venant de l'académie, mais il vient de l'extérieur sans authentification."),
    Reason("USER_REFUSE", 100.0, "Vous avez choisi de toujours refuser cet expéditeur."),
    Reason("USER_ACCEPT", -100.0, "Vous avez choisi de toujours accepter cet expéditeur."),
    Reason("REPORTED_SENDER", 6.0, "Vous avez déjà signalé un message de cet expéditeur comme indésirable."),
    Reason("KNOWN_CORRESPONDENT", -20.0, "Vous avez déjà écrit à cet expéditeur ou gardé son courrier."),
)}

# Classifier probability -> points (the higher band that applies wins).
BAYES_BANDS: tuple[tuple[str, float, float, str], ...] = (
    ("BAYES_99", 0.99, 5.5, "Ce message ressemble fortement aux indésirables déjà signalés."),
    ("BAYES_90", 0.90, 3.5, "Ce message ressemble aux indésirables déjà signalés."),
    ("BAYES_75", 0.75, 1.5, "Ce message ressemble un peu aux indésirables déjà signalés."),
)
BAYES_HAM: tuple[tuple[str, float, float, str], ...] = (
    ("BAYES_00", 0.01, -3.0, "Ce message ressemble fortement au courrier que vous gardez."),
    ("BAYES_10", 0.10, -1.5, "Ce message ressemble au courrier que vous gardez."),
)


def bayes_reason(probability: float | None) -> Reason | None:
    if probability is None:
        return None
    for code, low, points, text in BAYES_BANDS:
        if probability >= low:
            return Reason(code, points, text)
    for code, high, points, text in BAYES_HAM:
        if probability <= high:
            return Reason(code, points, text)
    return None


@dataclass(frozen=True)
class Verdict:
    """One recipient's verdict: goes to Indésirables when ``junk``."""

    score: float
    reasons: tuple[Reason, ...]
    junk: bool
    engine: str = "academail"

    def header(self) -> bytes:
        """The per-delivery fields (SpamAssassin's ``X-Spam-Status`` form, which
        mail clients and Sieve scripts know), prepended to the stored message."""
        tests = ",".join(r.code for r in self.reasons) or "none"
        status = "Yes" if self.junk else "No"
        return (
            f"X-Spam-Status: {status}, score={self.score:.1f} required={settings.SPAM_JUNK_SCORE:.1f}\r\n"
            f"\ttests={tests} engine={self.engine}\r\n"
            f"X-Spam-Score: {self.score:.1f}\r\n"
        ).encode("ascii", "replace")

    def spamtest(self) -> int:
        """RFC 5235 §3.2 value: 1 (surely not spam) .. 10 (surely spam); the
        junk threshold is 5. 0 means "not tested" and is never given here."""
        junk = settings.SPAM_JUNK_SCORE or 5.0
        return max(1, min(10, 1 + int(self.score * 4 / junk))) if self.score > 0 else 1

    def spamtest_percent(self) -> int:
        """RFC 5235 §3.3 (spamtestplus :percent): 0..100, the junk threshold at 50."""
        junk = settings.SPAM_JUNK_SCORE or 5.0
        return max(0, min(100, round(self.score * 50 / junk)))


@dataclass(frozen=True)
class Screening:
    """What ``screen`` found in one message, shared by all its recipients."""

    sender: str  # the From address, lower-cased ("" when none)
    auth: Auth
    reasons: tuple[Reason, ...]
    tokens: list[int] = field(default_factory=list)
    academie: classifier.Counts | None = None
    findings: Findings | None = None  # phishing warnings, to store with the message
    outside: dict[str, object] | None = None  # rspamd's answer, when it decided

    @property
    def sender_domain(self) -> str:
        return self.sender.rpartition("@")[2]

    @property
    def rule_score(self) -> float:
        return sum(r.points for r in self.reasons)

    @property
    def failing_auth(self) -> bool:
        return self.auth.failing or any(r.code == "ACADEMIE_SPOOF" for r in self.reasons)

    def academie_verdict(self) -> Verdict:
        reasons = list(self.reasons)
        if self.academie is not None:
            bayes = bayes_reason(classifier.probability(self.academie))
            if bayes is not None:
                reasons.append(bayes)
        return _verdict(reasons, engine=self.engine)

    @property
    def engine(self) -> str:
        return "rspamd" if self.outside is not None else "academail"

    @property
    def reject(self) -> bool:
        """Refuse at SMTP time: above the reject score and failing authentication."""
        return self.failing_auth and self.academie_verdict().score >= settings.SPAM_REJECT_SCORE


def _verdict(reasons: Sequence[Reason], *, engine: str = "academail", never_junk: bool = False) -> Verdict:
    score = round(sum(r.points for r in reasons), 2)
    junk = score >= settings.SPAM_JUNK_SCORE and not never_junk
    return Verdict(score, tuple(reasons), junk, engine)


def _rules(parsed: ParsedMessage, auth: Auth, sender: str) -> list[Reason]:
    reasons: list[Reason] = []
    if GTUBE in parsed.search_text or GTUBE in parsed.subject:
        reasons.append(RULES["GTUBE"])
    if not auth.present:
        return reasons  # not through our MX checks (submission, webmail, a trusted relay)
    if auth.spf == "fail":
        reasons.append(RULES["SPF_FAIL"])
    elif auth.spf == "softfail":
        reasons.append(RULES["SPF_SOFTFAIL"])
    if auth.dkim == "fail":
        reasons.append(RULES["DKIM_FAIL"])
    if auth.dmarc == "fail":
        reasons.append(RULES["DMARC_FAIL"])
        if auth.dmarc_policy == "reject":
            reasons.append(RULES["DMARC_REJECT"])
        elif auth.dmarc_policy == "quarantine":
            reasons.append(RULES["DMARC_QUARANTINE"])
    domain = sender.rpartition("@")[2]
    if domain in settings.MAIL_DOMAINS and not auth.passing:
        # Our own domains only ever send through submission, never through the MX.
        reasons.append(RULES["ACADEMIE_SPOOF"])
    return reasons


def screen(
    parsed: ParsedMessage, prefix: bytes = b"", *, envelope_from: str = "", raw: bytes | None = None
) -> Screening:
    """Look at one message once, before storing it: spam rules, the
    académie's classifier counts (one query each for tokens and totals) and,
    given the message's ``raw`` bytes, its phishing warnings. Needs no
    transaction; never raises for a message's content."""
    sender = sender_of(parsed)
    auth = read_auth(prefix)
    reasons = _rules(parsed, auth, sender)
    findings = None
    if raw is not None:
        spoofed = any(r.code == "ACADEMIE_SPOOF" for r in reasons)
        findings = phishing.analyse(parsed, raw, auth, spoofed=spoofed)
    if raw is not None and rspamd.enabled():
        answer = rspamd.check(raw, prefix=prefix, envelope_from=envelope_from)
        if answer is not None:
            return Screening(sender, auth, tuple(_rspamd_reasons(answer, reasons)), findings=findings, outside=answer)
    tokens = tokenize(parsed.subject, parsed.search_text, extra=_header_tokens(sender, auth))
    academie = classifier.read_counts(tokens)[ACADEMIE_SCOPE]
    return Screening(sender, auth, tuple(reasons), tokens, academie, findings)


def _rspamd_reasons(answer: dict[str, object], ours: Sequence[Reason]) -> list[Reason]:
    """rspamd's symbols, as reasons (their scores stand for our
    rules and classifier), plus the one rule rspamd cannot know: a From of
    the académie's domains arriving from outside (``ACADEMIE_SPOOF``).
    When rspamd's action is stronger than its symbols' sum (a pre-result such
    as GTUBE's), ``RSPAMD_ACTION`` carries the difference so the verdict
    still lands at the junk or reject score."""
    symbols = answer.get("symbols")
    reasons = [
        Reason(str(name), round(float(entry.get("score", 0.0)), 2), str(entry.get("description", name)))
        for name, entry in sorted(symbols.items() if isinstance(symbols, dict) else [])
        if isinstance(entry, dict)
    ]
    reasons.extend(r for r in ours if r.code == "ACADEMIE_SPOOF")
    floor = {"reject": settings.SPAM_REJECT_SCORE, "add header": settings.SPAM_JUNK_SCORE,
             "rewrite subject": settings.SPAM_JUNK_SCORE}.get(str(answer.get("action", "")), 0.0)
    total = sum(r.points for r in reasons)
    if floor and total < floor:
        reasons.append(Reason("RSPAMD_ACTION", round(floor - total, 2), f"rspamd : action « {answer.get('action')} »."))
    return reasons


def sender_of(parsed: ParsedMessage) -> str:
    """The From address, lower-cased; "" without one."""
    return parsed.from_[0].addr.strip().lower() if parsed.from_ and parsed.from_[0].host else ""


def _header_tokens(sender: str, auth: Auth) -> tuple[str, ...]:
    domain = sender.rpartition("@")[2]
    return (f"h:from={domain}", f"h:spf={auth.spf}", f"h:dkim={auth.dkim}", f"h:dmarc={auth.dmarc}")


def message_tokens(parsed: ParsedMessage, prefix: bytes = b"") -> list[int]:
    """The tokens ``screen`` uses, for learning from a stored message."""
    sender = sender_of(parsed)
    return tokenize(parsed.subject, parsed.search_text, extra=_header_tokens(sender, read_auth(prefix)))


def _standing(accounts: Sequence[int], sender: str, domain: str) -> list[tuple[int, str, str]]:
    """(account, kind, key) of the recipients' list entries, correspondents
    and reported senders for this sender, in one query."""
    marks = ",".join(["%s"] * len(accounts))
    rule, known, reported = (m._meta.db_table for m in (SenderRule, Correspondent, ReportedSender))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT account_id, kind, sender FROM {rule} WHERE account_id IN ({marks}) AND sender IN (%s, %s) "  # noqa: S608
            f"UNION ALL SELECT account_id, 'correspondent', address FROM {known} "
            f"WHERE account_id IN ({marks}) AND address = %s "
            f"UNION ALL SELECT account_id, 'reported', address FROM {reported} "
            f"WHERE account_id IN ({marks}) AND address = %s",
            [*accounts, sender, "@" + domain, *accounts, sender, *accounts, sender],
        )
        return [(int(a), str(k), str(v)) for a, k, v in cursor.fetchall()]


def verdicts(screening: Screening, account_ids: Sequence[int]) -> dict[int, Verdict]:
    """Each recipient's verdict. Queries: the lists, correspondents and
    reported senders (one),
    plus the personal counts of the recipients who taught their own
    classifier (two), whatever the number of recipients."""
    accounts = sorted(set(account_ids))
    if not accounts:
        return {}
    sender, domain = screening.sender, screening.sender_domain
    rules: dict[int, str] = {}
    known: set[int] = set()
    reported: set[int] = set()
    if sender:
        # An address's own entry wins over its domain's; "refuse" wins a tie.
        found: dict[int, tuple[tuple[bool, bool], str]] = {}
        for account_id, kind, key in _standing(accounts, sender, domain):
            if kind == "correspondent":
                known.add(account_id)
            elif kind == "reported":
                reported.add(account_id)
            else:
                rank = (key == sender, kind == SenderRule.Kind.REFUSE)
                if account_id not in found or rank > found[account_id][0]:
                    found[account_id] = (rank, kind)
        rules = {account_id: kind for account_id, (_, kind) in found.items()}
    personal: dict[int, classifier.Counts] = {}
    if screening.academie is not None:
        personal = {
            scope: counts for scope, counts in classifier.read_counts(screening.tokens, accounts).items()
            if counts.spam_messages or counts.ham_messages
        }
    base = list(screening.reasons)
    shared: Verdict | None = None
    results: dict[int, Verdict] = {}
    for account_id in accounts:
        rule = rules.get(account_id)
        own = personal.get(account_id)
        if rule is None and account_id not in known and account_id not in reported and own is None:
            if shared is None:
                shared = screening.academie_verdict()
            results[account_id] = shared
            continue
        reasons = list(base)
        if screening.academie is not None:
            bayes = bayes_reason(classifier.probability(classifier.combine(screening.academie, own)))
            if bayes is not None:
                reasons.append(bayes)
        trusted = not screening.failing_auth
        never_junk = False
        if rule == SenderRule.Kind.REFUSE:
            reasons.append(RULES["USER_REFUSE"])
        elif rule == SenderRule.Kind.ACCEPT and trusted:
            reasons.append(RULES["USER_ACCEPT"])
            never_junk = True
        elif account_id in reported:
            reasons.append(RULES["REPORTED_SENDER"])
        elif account_id in known and trusted:
            reasons.append(RULES["KNOWN_CORRESPONDENT"])
            never_junk = True
        verdict = _verdict(reasons, engine=screening.engine, never_junk=never_junk)
        results[account_id] = verdict
    return results
