"""The built-in statistical classifier: naive Bayes with Robinson's token
probabilities and Fisher's chi-square combining (as SpamBayes, bogofilter and
mox's junk filter do), over hashed tokens (``protection.tokens``).

Two scopes count: the académie's (every person's learning) and the person's
own, which weighs ``PERSONAL_WEIGHT`` times more, so one person's "Signaler
comme indésirable" changes their own verdicts quickly while everyone's learning
protects newcomers. Learning is idempotent per person and message (``Learned``):
reporting the same message twice counts once, and moving it back out of
Indésirables undoes it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from django.db import connection

from academail.protection.models import ACADEMIE_SCOPE, TokenCount, TrainingTotals

PERSONAL_WEIGHT = 3
MIN_TRAINING = 5  # messages of each kind before the classifier gives an opinion
STRENGTH = 1.0  # Robinson's s: how much an unseen token's 0.5 weighs
INTERESTING = 150  # most telling tokens combined
MIN_DEVIATION = 0.1  # |f - 0.5| below this says nothing
SCOPE_CHUNK = 5000  # scopes per query (SQLite allows 32,766 parameters)


@dataclass(frozen=True)
class Counts:
    spam_messages: float
    ham_messages: float
    tokens: dict[int, tuple[float, float]]  # token -> (spam, ham)

    @property
    def trained(self) -> bool:
        return self.spam_messages >= MIN_TRAINING and self.ham_messages >= MIN_TRAINING


def _chi2q(x2: float, freedom: int) -> float:
    """P(chisq >= x2) with ``freedom`` (even) degrees of freedom."""
    m = x2 / 2.0
    term = math.exp(-m)
    total = term
    for i in range(1, freedom // 2):
        term *= m / i
        total += term
    return min(total, 1.0)


def probability(counts: Counts) -> float | None:
    """Spam probability in [0, 1] from the counts of a message's tokens, or
    None while the scope has not learned enough."""
    if not counts.trained:
        return None
    nspam, nham = counts.spam_messages, counts.ham_messages
    scored: list[float] = []
    for spam, ham in counts.tokens.values():
        if spam + ham <= 0:
            continue
        spam_rate, ham_rate = spam / nspam, ham / nham
        p = spam_rate / (spam_rate + ham_rate)
        n = spam + ham
        f = (STRENGTH * 0.5 + n * p) / (STRENGTH + n)
        if abs(f - 0.5) >= MIN_DEVIATION:
            scored.append(min(max(f, 0.0001), 0.9999))
    if not scored:
        return 0.5
    scored.sort(key=lambda f: abs(f - 0.5), reverse=True)
    chosen = scored[:INTERESTING]
    h = _chi2q(-2.0 * sum(math.log(f) for f in chosen), 2 * len(chosen))
    s = _chi2q(-2.0 * sum(math.log(1.0 - f) for f in chosen), 2 * len(chosen))
    return (1.0 + h - s) / 2.0


def read_counts(
    tokens: Sequence[int], scopes: Iterable[int] = (ACADEMIE_SCOPE,),
    totals: Mapping[int, tuple[float, float]] | None = None,
) -> dict[int, Counts]:
    """Counts of ``tokens`` per scope: one query for the totals, one for the
    tokens (raw SQL over the (scope, token) unique index: the ORM's per-value
    work was most of the cost of 500 tokens), per ``SCOPE_CHUNK`` scopes (a
    circular to 40,000 people stays under SQLite's 32,766 parameters).
    ``totals``: every scope's totals, already read (``totals_query``, sent
    with a delivery's other reads: ``spam.screen``); a scope missing there
    learned nothing. Then only scopes that learned cost a query."""
    wanted = sorted(set(scopes))
    per_scope: dict[int, dict[int, tuple[float, float]]] = {scope: {} for scope in wanted}
    read: dict[int, tuple[float, float]] = {}
    if totals is not None and not (tokens and any(scope in totals for scope in wanted)):
        return {scope: Counts(*totals.get(scope, (0.0, 0.0)), {}) for scope in wanted}  # nothing to read
    with connection.cursor() as cursor:
        for start in range(0, len(wanted), SCOPE_CHUNK):
            chunk = wanted[start:start + SCOPE_CHUNK]
            if totals is None:
                cursor.execute(*totals_query(chunk))
                found = totals_in(cursor.fetchall())
            else:
                found = {scope: totals[scope] for scope in chunk if scope in totals}
            read.update(found)
            # Only scopes that learned something can hold tokens: usually the académie's alone.
            present = [scope for scope in chunk if scope in found]
            if present and tokens:
                scope_marks = ",".join(["%s"] * len(present))
                token_marks = ",".join(["%s"] * len(tokens))
                cursor.execute(
                    f"SELECT scope, token, spam, ham FROM {TokenCount._meta.db_table} "  # noqa: S608
                    f"WHERE scope IN ({scope_marks}) AND token IN ({token_marks})",
                    [*present, *tokens],
                )
                # The driver's integers as they come (no float() per row: 500
                # to 1,000 rows a message; the arithmetic takes ints alike).
                for scope, token, spam, ham in cursor.fetchall():
                    per_scope[scope][token] = (spam, ham)
    return {scope: Counts(*read.get(scope, (0.0, 0.0)), per_scope[scope]) for scope in wanted}


def totals_query(scopes: Sequence[int]) -> tuple[str, list[int]]:
    """The training totals of ``scopes`` (at most ``SCOPE_CHUNK``): query and
    parameters (columns ``c1`` scope, ``c2`` spam, ``c3`` ham)."""
    marks = ",".join(["%s"] * len(scopes))
    return (
        f"SELECT scope AS c1, spam AS c2, ham AS c3 FROM {TrainingTotals._meta.db_table} "  # noqa: S608
        f"WHERE scope IN ({marks})",
        list(scopes),
    )


def totals_in(rows: Iterable[Sequence[object]]) -> dict[int, tuple[float, float]]:
    """{scope: (spam, ham)} from the rows of ``totals_query`` (as the
    database gives them, or as text)."""
    return {int(str(scope)): (float(str(spam)), float(str(ham))) for scope, spam, ham in rows}


def combine(academie: Counts, personal: Counts | None) -> Counts:
    """The académie's counts plus the person's, weighted."""
    if personal is None or not (personal.spam_messages or personal.ham_messages):
        return academie
    w = PERSONAL_WEIGHT
    merged = dict(academie.tokens)
    for token, (spam, ham) in personal.tokens.items():
        base = merged.get(token, (0.0, 0.0))
        merged[token] = (base[0] + w * spam, base[1] + w * ham)
    return Counts(
        academie.spam_messages + w * personal.spam_messages,
        academie.ham_messages + w * personal.ham_messages,
        merged,
    )


def do_count(scopes: Sequence[int], tokens: Sequence[int], *, spam: int, ham: int) -> None:
    """Add ``spam`` and ``ham`` (each -1, 0 or 1: learn, unlearn) to every
    token of ``scopes`` and to their totals; counts never go below zero.
    Precondition: inside ``transaction.atomic()``."""
    if not tokens or not (spam or ham):
        return
    table = TokenCount._meta.db_table
    totals = TrainingTotals._meta.db_table
    greatest = "GREATEST" if connection.vendor == "postgresql" else "MAX"
    add_spam, add_ham = max(spam, 0), max(ham, 0)
    with connection.cursor() as cursor:
        if add_spam or add_ham:
            # INSERT ... ON CONFLICT DO UPDATE: SQLite >= 3.24 and PostgreSQL alike.
            cursor.executemany(
                f"INSERT INTO {table} (scope, token, spam, ham) VALUES (%s, %s, %s, %s) "  # noqa: S608
                f"ON CONFLICT (scope, token) DO UPDATE SET spam = {table}.spam + excluded.spam, "
                f"ham = {table}.ham + excluded.ham",
                [(scope, token, add_spam, add_ham) for scope in scopes for token in tokens],
            )
            cursor.executemany(
                f"INSERT INTO {totals} (scope, spam, ham) VALUES (%s, %s, %s) "  # noqa: S608
                f"ON CONFLICT (scope) DO UPDATE SET spam = {totals}.spam + excluded.spam, "
                f"ham = {totals}.ham + excluded.ham",
                [(scope, add_spam, add_ham) for scope in scopes],
            )
        take_spam, take_ham = max(-spam, 0), max(-ham, 0)
        if take_spam or take_ham:
            marks = ",".join(["%s"] * len(tokens))
            for scope in scopes:
                cursor.execute(
                    f"UPDATE {table} SET spam = {greatest}(0, spam - %s), ham = {greatest}(0, ham - %s) "  # noqa: S608
                    f"WHERE scope = %s AND token IN ({marks})",
                    [take_spam, take_ham, scope, *tokens],
                )
                cursor.execute(
                    f"UPDATE {totals} SET spam = {greatest}(0, spam - %s), ham = {greatest}(0, ham - %s) "  # noqa: S608
                    "WHERE scope = %s",
                    [take_spam, take_ham, scope],
                )
