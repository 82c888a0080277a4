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
from django.utils import timezone

from academail.accounts.services import staff_named_in, staff_named_query
from academail.mime.parse import ParsedMessage
from academail.protection import classifier, domains, gathered, phishing, rspamd, together, warnings
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
    Reason("DOMAIN_FIRST_SEEN", 1.0, "Premier message de ce domaine reçu par l'académie."),
    Reason("DOMAIN_GOOD_HISTORY", -1.0,
           "Ce domaine écrit à l'académie depuis plus d'une semaine, avec des messages authentifiés."),
    Reason("DOMAIN_BAD_HISTORY", 2.0, "La plupart des messages reçus de ce domaine n'ont pas pu être authentifiés."),
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
    # The classifier's probabilities for the académie and the recipients
    # known to ``screen``; None when rspamd decided.
    judged: classifier.Judged | None = None
    findings: Findings | None = None  # phishing warnings, to store with the message
    outside: dict[str, object] | None = None  # rspamd's answer, when it decided
    # The lists, correspondents and reported senders of the recipients known
    # to ``screen`` ((account, kind, key) rows, ``_standing``), read with its
    # other reads; ``verdicts`` reads only the others'.
    standing: tuple[tuple[int, str, str], ...] = ()
    standing_of: frozenset[int] = frozenset()

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
        if self.judged is not None:
            bayes = bayes_reason(self.judged.academie)
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


@dataclass(frozen=True)
class Look:
    """What ``look`` finds in one message from its bytes alone: what a
    delivery worker process computes (``delivery.workers``), picklable, with
    no database, DNS or network behind it."""

    sender: str
    auth: Auth
    reasons: tuple[Reason, ...]  # the rules that need no learning
    tokens: list[int]
    findings: Findings | None  # phishing warnings, the staff-name one pending (``phishing.settled``)


def look(parsed: ParsedMessage, prefix: bytes = b"", raw: bytes | None = None) -> Look:
    """The pure part of ``screen``: the rules that need no learning, the
    classifier's tokens and, given ``raw``, the phishing warnings, the one
    that needs the directory (a staff member's name) left pending. Reads no
    database; never raises for a message's content."""
    sender = sender_of(parsed)
    auth = read_auth(prefix)
    reasons = _rules(parsed, auth, sender)
    findings = None
    if raw is not None:
        spoofed = any(r.code == "ACADEMIE_SPOOF" for r in reasons)
        findings = phishing.analyse(parsed, raw, auth, spoofed=spoofed, staff=phishing.later)
    tokens = tokenize(parsed.subject, parsed.search_text, extra=_header_tokens(sender, auth))
    return Look(sender, auth, tuple(reasons), tokens, findings)


@dataclass(frozen=True)
class Reads:
    """The rows ``screen`` reads for one message, all in one statement
    (``read``): picklable, so that a delivery worker process reads them on
    its read-only connection and the serving process only decides.
    ``found``: each part's rows as ``together.select_together`` gives them
    (a part that was not asked is absent); ``accounts``: the recipients
    they were read for."""

    found: dict[str, list[tuple[str | None, ...]]]
    accounts: tuple[int, ...]


def _from_outside(auth: Auth, domain: str) -> bool:
    # Domain history: mail through our MX only (the one with our authentication results).
    return auth.present and bool(domain) and not phishing.is_academie(domain)


def read(parsed: ParsedMessage, looked: Look, accounts: Sequence[int], *, totals: bool) -> Reads:
    """Everything ``screen`` needs from the database for ``looked`` and the
    recipients' ``accounts`` (sorted, distinct), in one statement
    (``together``; a delivery from outside paid one statement each,
    bench/README.md, issue 13): the directory's staff of a display name, the
    sender domain's history, with ``totals`` the classifiers' totals, and
    the recipients' lists, correspondents and reported senders. Reads only:
    a delivery worker runs it on its read-only connection, the serving
    process without workers. Needs no transaction."""
    sender = looked.sender
    domain = sender.rpartition("@")[2]
    parts: dict[str, together.Part] = {}
    pairs = phishing.pending_staff(looked.findings, parsed)
    staff = staff_named_query(pairs) if pairs else None
    if staff is not None:
        parts["staff"] = (*staff, 3)
    if _from_outside(looked.auth, domain):
        parts["domain"] = (*domains.history_query(domain), 4)
    small = len(accounts) + 1 <= classifier.SCOPE_CHUNK  # a circular's recipients: the usual chunked reads
    if small and totals:
        parts["totals"] = (*classifier.totals_query([ACADEMIE_SCOPE, *accounts]), 4)
    if small and sender and accounts:
        parts["standing"] = (*_standing_query(accounts, sender, domain), 3)
    return Reads(together.select_together(parts), tuple(accounts))


def screen(
    parsed: ParsedMessage,
    prefix: bytes = b"",
    *,
    envelope_from: str = "",
    raw: bytes | None = None,
    recipients: Sequence[tuple[str, int]] = (),
    looked: Look | None = None,
    judged: classifier.Judged | None = None,
    reads: Reads | None = None,
) -> Screening:
    """Look at one message once, before storing it: spam rules, the
    classifier's probabilities for the académie and the ``recipients``
    ((address, account id) pairs, when known: one query for all their
    scopes' counts, the totals read with the other reads) and, given the
    message's ``raw`` bytes, its phishing warnings. With rspamd, the
    recipients go with the message (``rspamd.check``). ``looked``:
    ``look``'s result for these very arguments, ``judged``
    (``classifier.judge`` of its tokens) and ``reads`` (``read``), when a
    delivery worker process made them (otherwise made here). Needs no
    transaction; never raises for a message's content."""
    if looked is None:
        looked = look(parsed, prefix, raw)
    sender, auth = looked.sender, looked.auth
    reasons = list(looked.reasons)
    domain = sender.rpartition("@")[2]
    outside = _from_outside(auth, domain)
    accounts = tuple(sorted({account_id for _, account_id in recipients}))
    if reads is None or reads.accounts != accounts:
        reads = read(parsed, looked, accounts, totals=judged is None and not rspamd.enabled())
    found = reads.found
    findings = (
        phishing.settled(looked.findings, staff_named_in(found["staff"]) if "staff" in found else None)
        if looked.findings is not None else None
    )
    past = domains.history_in(found.get("domain", ())) if outside else None
    if outside:
        reasons.extend(_domain_reasons(past))
    if findings is not None and outside and past is None:
        findings.warnings.append(phishing.Warning("NEW_DOMAIN", phishing.INFO, {"domain": domain[:253]}))
    standing = tuple((int(str(a)), str(k), str(v)) for a, k, v in found.get("standing", ()))
    standing_of = frozenset(accounts) if "standing" in found else frozenset()
    if raw is not None and rspamd.enabled():
        answer = rspamd.check(raw, prefix=prefix, envelope_from=envelope_from,
                              recipients=[address for address, _ in recipients])
        if answer is not None:
            return Screening(sender, auth, tuple(_rspamd_reasons(answer, reasons)), findings=findings, outside=answer,
                             standing=standing, standing_of=standing_of)
    tokens = looked.tokens
    if judged is None:
        totals = classifier.totals_in(found["totals"]) if "totals" in found else None
        judged = classifier.judge(tokens, accounts, totals=totals)
    return Screening(sender, auth, tuple(reasons), tokens, judged, findings,
                     standing=standing, standing_of=standing_of)


def _domain_reasons(past: domains.History | None) -> list[Reason]:
    """The sender domain's history with the académie, as points."""
    if past is None:
        return [RULES["DOMAIN_FIRST_SEEN"]]
    if past.bad():
        return [RULES["DOMAIN_BAD_HISTORY"]]
    if past.good(timezone.now()):
        return [RULES["DOMAIN_GOOD_HISTORY"]]
    return []


def do_write_gathered(notes: gathered.Gathered) -> None:
    """Write what deliveries noted inside ``gathered.gathering``: the sender
    domains' counts (one upsert) and the warnings rows (one insert).
    Precondition: inside the transaction of those deliveries, as its last
    statements (the domain rows then stay locked only for the commit)."""
    domains.do_count_many(notes.domains)
    warnings.do_remember_many(notes.warnings)


def do_count(screening: Screening) -> None:
    """Count the screened message in its sender domain's history (mail from
    outside the académie, through our MX). Precondition: inside the delivery transaction."""
    if screening.auth.present and screening.sender_domain and not phishing.is_academie(screening.sender_domain):
        domains.do_count(screening.sender_domain, screening.auth)


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
    and reported senders for this sender, in one query per
    ``classifier.SCOPE_CHUNK`` recipients."""
    found: list[tuple[int, str, str]] = []
    with connection.cursor() as cursor:
        for start in range(0, len(accounts), classifier.SCOPE_CHUNK):
            cursor.execute(*_standing_query(accounts[start:start + classifier.SCOPE_CHUNK], sender, domain))
            found.extend((int(a), str(k), str(v)) for a, k, v in cursor.fetchall())
    return found


def _standing_query(accounts: Sequence[int], sender: str, domain: str) -> tuple[str, list[object]]:
    """``_standing``'s query for at most ``classifier.SCOPE_CHUNK`` accounts
    (columns ``c1`` account, ``c2`` kind, ``c3`` key)."""
    rule, known, reported = (m._meta.db_table for m in (SenderRule, Correspondent, ReportedSender))
    marks = ",".join(["%s"] * len(accounts))
    return (
        f"SELECT account_id AS c1, kind AS c2, sender AS c3 FROM {rule} WHERE account_id IN ({marks}) "  # noqa: S608
        f"AND sender IN (%s, %s) "
        f"UNION ALL SELECT account_id, 'correspondent', address FROM {known} "
        f"WHERE account_id IN ({marks}) AND address = %s "
        f"UNION ALL SELECT account_id, 'reported', address FROM {reported} "
        f"WHERE account_id IN ({marks}) AND address = %s",
        [*accounts, sender, "@" + domain, *accounts, sender, *accounts, sender],
    )


def verdicts(screening: Screening, account_ids: Sequence[int]) -> dict[int, Verdict]:
    """Each recipient's verdict. Queries: the lists, correspondents and
    reported senders of the recipients ``screen`` did not know (one per
    ``classifier.SCOPE_CHUNK`` recipients), plus the personal
    counts of the recipients ``screen`` did not know (two per chunk),
    whatever the number of recipients."""
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
        wanted = set(accounts)
        unread = [a for a in accounts if a not in screening.standing_of]
        rows = [r for r in screening.standing if r[0] in wanted]
        for account_id, kind, key in [*rows, *(_standing(unread, sender, domain) if unread else [])]:
            if kind == "correspondent":
                known.add(account_id)
            elif kind == "reported":
                reported.add(account_id)
            else:
                rank = (key == sender, kind == SenderRule.Kind.REFUSE)
                if account_id not in found or rank > found[account_id][0]:
                    found[account_id] = (rank, kind)
        rules = {account_id: kind for account_id, (_, kind) in found.items()}
    judged = screening.judged
    personal: dict[int, float | None] = {}
    if judged is not None:
        unread = [a for a in accounts if a not in judged.accounts]
        personal = {**judged.personal, **(classifier.judge(screening.tokens, unread).personal if unread else {})}
    base = list(screening.reasons)
    shared: Verdict | None = None
    results: dict[int, Verdict] = {}
    for account_id in accounts:
        rule = rules.get(account_id)
        if rule is None and account_id not in known and account_id not in reported and account_id not in personal:
            if shared is None:
                shared = screening.academie_verdict()
            results[account_id] = shared
            continue
        reasons = list(base)
        if judged is not None:
            bayes = bayes_reason(personal[account_id] if account_id in personal else judged.academie)
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
