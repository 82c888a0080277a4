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
import secrets
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import compress
from operator import itemgetter
from typing import Any, NamedTuple, cast

from django.db import connection

from academail.protection.models import ACADEMIE_SCOPE, TokenCount, TrainingTotals

PERSONAL_WEIGHT = 3
MIN_TRAINING = 5  # messages of each kind before the classifier gives an opinion
STRENGTH = 1.0  # Robinson's s: how much an unseen token's 0.5 weighs
INTERESTING = 150  # most telling tokens combined
MIN_DEVIATION = 0.1  # |f - 0.5| below this says nothing
SCOPE_CHUNK = 5000  # scopes per query (SQLite allows 32,766 parameters)
CACHE_TOKENS = 200_000  # token counts kept per process, all scopes together (~30 MB)
WHOLE_SCOPE = 5_000  # a person's counts are read whole, once a generation, when they are at most this many rows
WHOLE_READS = 3  # people's scopes read whole per message at most: a circular's other recipients share one probe


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


# A token's f(w), its distance from 0.5 and the logarithms the combining
# adds depend on its two counts and its scope's totals alone, and a
# message's 300 tokens share a few dozen count pairs: per totals, each pair
# is computed once (``_scored_pairs``).
Scored = tuple[float, float, float, float]  # distance from 0.5, f(w), log f and log (1 - f), f bounded
_scored: dict[tuple[float, float], dict[tuple[float, float], Scored | None]] = {}
SCORED_TABLES = 256  # totals kept (the académie's and recent people's), then all dropped
SCORED_PAIRS = 100_000  # pairs kept per totals, then that table dropped


def _scored_pairs(nspam: float, nham: float) -> dict[tuple[float, float], Scored | None]:
    table = _scored.get((nspam, nham))
    if table is None or len(table) > SCORED_PAIRS:
        if len(_scored) >= SCORED_TABLES:
            _scored.clear()
        table = _scored[(nspam, nham)] = {}
    return table


def probability(counts: Counts) -> float | None:
    """Spam probability in [0, 1] from the counts of a message's tokens, or
    None while the scope has not learned enough."""
    if not counts.trained:
        return None
    nspam, nham = counts.spam_messages, counts.ham_messages
    table = _scored_pairs(nspam, nham)
    pairs = counts.tokens.values()
    # Robinson's f(w) = (s/2 + n p) / (s + n), with p = spam rate / (spam
    # rate + ham rate) = spam nham / (spam nham + ham nspam); kept with its
    # distance from 0.5 when that is at least MIN_DEVIATION.
    half = STRENGTH * 0.5
    for pair in set(pairs).difference(table):  # a dict argument: only this message's pairs are walked
        spam, ham = pair
        n = spam + ham
        if n <= 0:
            table[pair] = None
            continue
        weighted = spam * nham
        f = (half + n * weighted / (weighted + ham * nspam)) / (STRENGTH + n)
        distance = abs(f - 0.5)
        bounded = min(max(f, 0.0001), 0.9999)
        table[pair] = (distance, f, math.log(bounded), math.log(1.0 - bounded)) if distance >= MIN_DEVIATION else None
    # In C: each token's entry, the Nones dropped; the most telling first
    # when there are more than INTERESTING.
    scored = list(filter(None, map(table.__getitem__, pairs)))
    if not scored:
        return 0.5
    if len(scored) > INTERESTING:
        scored.sort(reverse=True)
        del scored[INTERESTING:]
    h = _chi2q(-2.0 * sum(map(itemgetter(2), scored)), 2 * len(scored))
    s = _chi2q(-2.0 * sum(map(itemgetter(3), scored)), 2 * len(scored))
    return (1.0 + h - s) / 2.0


class Totals(NamedTuple):
    """A scope's row of ``TrainingTotals``."""

    spam: float
    ham: float
    generation: int = 0


@dataclass
class _Cached:
    """One scope's token counts as read at ``generation`` or later: (spam,
    ham), or () for a token the scope never counted (or counts 0 and 0)."""

    scope: int
    generation: int
    tokens: dict[int, tuple[float, float] | tuple[()]] = field(default_factory=dict)
    # True: ``tokens`` holds every token the scope counts (``_read_whole``),
    # so a token it lacks is counted nowhere; False: the scope has more than
    # WHOLE_SCOPE rows; None: not tried yet.
    whole: bool | None = None


# Process-local: scope -> its cached counts (``read_counts``). Correct across
# processes because each read first takes the scope's generation from the
# database (``totals_query``), which every write bumps in its transaction.
_cache: dict[int, _Cached] = {}
_cache_lock = threading.Lock()
_cache_size = [0]  # tokens held, all scopes


def _cached(scope: int, generation: int) -> _Cached:
    """The cache of ``scope`` for a reader that saw ``generation``: a new,
    empty one when the scope has learned since (the old one is dropped)."""
    found = _cache.get(scope)
    if found is not None and found.generation == generation:
        return found
    with _cache_lock:
        found = _cache.get(scope)
        if found is not None and found.generation == generation:
            return found
        if found is not None:
            _cache_size[0] -= len(found.tokens)
        fresh = _cache[scope] = _Cached(scope, generation)
        return fresh


def _keep(entry: _Cached, counts: Mapping[int, tuple[float, float] | tuple[()]], *, whole: bool = False) -> None:
    """Add ``counts`` to ``entry`` unless a newer generation replaced it
    (``whole``: they are every count of the scope); past ``CACHE_TOKENS`` in
    all, the other scopes' caches are dropped first (a process serving many
    people's own classifiers refills what it uses)."""
    with _cache_lock:
        if _cache.get(entry.scope) is not entry:
            return
        if _cache_size[0] + len(counts) > CACHE_TOKENS:
            _cache.clear()
            _cache[entry.scope] = entry
            _cache_size[0] = len(entry.tokens)
            if _cache_size[0] + len(counts) > CACHE_TOKENS:
                entry.tokens.clear()
                entry.whole = None
                _cache_size[0] = 0
        before = len(entry.tokens)
        entry.tokens.update(counts)
        _cache_size[0] += len(entry.tokens) - before
        if whole:
            entry.whole = True


def _read_whole(cursor: Any, entry: _Cached) -> None:
    """Cache every count of a person's scope in one query when it has at
    most ``WHOLE_SCOPE`` rows (most people report a few dozen messages):
    their next messages then cost no probe at all until they learn again.
    A bigger scope costs this read of ``WHOLE_SCOPE`` + 1 rows once a
    generation, then probes token by token. Read after the generation was
    seen, as a probe would be: the same guarantee (``read_counts``)."""
    cursor.execute(
        f"SELECT token, spam, ham FROM {TokenCount._meta.db_table} WHERE scope = %s LIMIT %s",  # noqa: S608
        [entry.scope, WHOLE_SCOPE + 1],
    )
    rows = cursor.fetchall()
    if len(rows) > WHOLE_SCOPE:
        entry.whole = False
        return
    _keep(entry, {token: (spam, ham) for token, spam, ham in rows if spam or ham}, whole=True)


def cached_generation(scope: int) -> int | None:
    """The generation of ``scope`` whose counts this process holds, if any
    (tests, diagnostics)."""
    found = _cache.get(scope)
    return None if found is None else found.generation


def read_counts(
    tokens: Sequence[int], scopes: Iterable[int] = (ACADEMIE_SCOPE,),
    totals: Mapping[int, Totals] | None = None,
) -> dict[int, Counts]:
    """Counts of ``tokens`` per scope: one query for the totals (with each
    scope's generation), then the tokens no cache holds (raw SQL over the
    (scope, token) index: the ORM's per-value work was most of the cost of
    300 tokens): the académie's first, then people's own for the tokens the
    académie knows only, per ``SCOPE_CHUNK`` scopes (a circular to 40,000
    people stays under SQLite's 32,766 parameters). ``totals``: every
    scope's totals, already read (``totals_query``, sent with a delivery's
    other reads: ``spam.screen``); a scope missing there learned nothing.
    Then only scopes that learned cost a query, and none when every token's
    count is cached.

    A person's count of a token never exceeds the académie's (every
    learning counts in both: ``do_count``), so a token the académie never
    counted is not asked of anyone: of a message's 300 tokens, the words and
    bigrams nobody has learned yet cost one probe, not one per recipient.

    The cache (``_cached``): a scope's counts change only when it learns,
    and every learning gives its totals row a new random generation in the
    same transaction (``do_count``). Counts read after seeing generation g
    are g's (or newer, and then the next reader sees another generation and
    drops them). So the message after a "Signaler" or an IMAP move into
    Indésirables, in this process or another, is judged on the new counts.
    Inside a transaction (which may have learned and may roll back) the
    cache is neither read nor filled."""
    wanted = sorted(set(scopes))
    per_scope: dict[int, dict[int, tuple[float, float]]] = {scope: {} for scope in wanted}
    read: dict[int, Totals] = {}
    if totals is not None and not (tokens and any(scope in totals for scope in wanted)):
        return {scope: _counts(totals.get(scope), {}) for scope in wanted}  # nothing to read
    use_cache = not connection.in_atomic_block
    with connection.cursor() as cursor:
        for start in range(0, len(wanted), SCOPE_CHUNK):
            chunk = wanted[start:start + SCOPE_CHUNK]
            if totals is None:
                cursor.execute(*totals_query(chunk))
                found = totals_in(cursor.fetchall())
            else:
                found = {scope: totals[scope] for scope in chunk if scope in totals}
            read.update(found)
            if not tokens:
                continue
            # Only scopes that learned something can hold tokens: usually the académie's alone.
            people = [scope for scope in chunk if scope in found and scope != ACADEMIE_SCOPE]
            if ACADEMIE_SCOPE in found:
                _fill(cursor, [ACADEMIE_SCOPE], tokens, found, per_scope, use_cache=use_cache)
            if people:
                known = per_scope.get(ACADEMIE_SCOPE)
                asked = tokens if known is None else list(filter(known.__contains__, tokens))
                if asked:
                    _fill(cursor, people, asked, found, per_scope, use_cache=use_cache)
    return {scope: _counts(read.get(scope), per_scope[scope]) for scope in wanted}


def _fill(
    cursor: Any, scopes: Sequence[int], tokens: Sequence[int], found: Mapping[int, Totals],
    per_scope: dict[int, dict[int, tuple[float, float]]], *, use_cache: bool,
) -> None:
    """Put the non-zero counts of ``tokens`` in ``scopes`` (each one that
    learned) into ``per_scope``: from this process's cache where it holds
    them at the generation in ``found``, the rest in one query (then cached)."""
    missing: dict[int, Sequence[int]] = {}
    entries: dict[int, _Cached] = {}
    whole_reads = WHOLE_READS  # one statement each: a circular to thousands must not pay one per person
    for scope in scopes:
        if not use_cache:
            missing[scope] = tokens
            continue
        entry = entries[scope] = _cached(scope, found[scope].generation)
        if scope != ACADEMIE_SCOPE and entry.whole is None and whole_reads:
            whole_reads -= 1
            _read_whole(cursor, entry)
        # In C where it can be (``map``, ``compress``): 300 tokens a scope.
        held = list(map(entry.tokens.get, tokens))  # None: not cached; (): counted nowhere
        # ``compress`` keeps the tokens with counts (None and () are false).
        per_scope[scope].update(cast("Iterable[tuple[int, tuple[float, float]]]",
                                     compress(zip(tokens, held, strict=True), held)))
        if entry.whole:
            continue  # what it does not hold, the scope counts nowhere
        lacking = [token for token, counts in zip(tokens, held, strict=True) if counts is None]
        if lacking:
            missing[scope] = lacking
    if not missing:
        return
    asked = sorted({token for lacking in missing.values() for token in lacking})
    scope_marks = ",".join(["%s"] * len(missing))
    token_marks = ",".join(["%s"] * len(asked))
    cursor.execute(
        f"SELECT scope, token, spam, ham FROM {TokenCount._meta.db_table} "  # noqa: S608
        f"WHERE scope IN ({scope_marks}) AND token IN ({token_marks})",
        [*missing, *asked],
    )
    # The driver's integers as they come (no float() per row: 300 to 600
    # rows a message; the arithmetic takes ints alike).
    rows: dict[int, dict[int, tuple[int, int]]] = {scope: {} for scope in missing}
    for scope, token, spam, ham in cursor.fetchall():
        rows[scope][token] = (spam, ham)
    for scope, unknown in missing.items():
        got, own = rows[scope], per_scope[scope]
        for token in unknown:
            counts = got.get(token)
            if counts is not None and (counts[0] or counts[1]):
                own[token] = counts
        if scope in entries:
            _keep(entries[scope], {token: own.get(token, ()) for token in unknown})


def _counts(totals: Totals | None, tokens: dict[int, tuple[float, float]]) -> Counts:
    return Counts(totals.spam, totals.ham, tokens) if totals is not None else Counts(0.0, 0.0, tokens)


@dataclass(frozen=True)
class Judged:
    """The classifier's probabilities for one message (picklable: a delivery
    worker process computes it, ``delivery.workers``): the académie's, and
    for each recipient who learned something the académie's and their own
    counts combined; None where the scope has not learned enough
    (``probability``). ``accounts``: every recipient judged, learned or not
    (``spam.verdicts`` reads the others)."""

    academie: float | None
    personal: dict[int, float | None]
    accounts: frozenset[int]


def judge(tokens: Sequence[int], accounts: Iterable[int] = (), totals: Mapping[int, Totals] | None = None) -> Judged:
    """``tokens`` judged for the académie and each of ``accounts``: their
    counts (``read_counts``, ``totals`` as there), then the probabilities.
    Reads only: a delivery worker runs it on its read-only connection, the
    serving process without workers. Outside a transaction, the next-message
    guarantee of ``read_counts`` holds."""
    wanted = sorted(set(accounts))
    counts = read_counts(tokens, [ACADEMIE_SCOPE, *wanted], totals=totals)
    academie = counts.pop(ACADEMIE_SCOPE)
    personal = {
        scope: probability(combine(academie, own)) for scope, own in counts.items()
        if own.spam_messages or own.ham_messages
    }
    return Judged(probability(academie), personal, frozenset(wanted))


def totals_query(scopes: Sequence[int]) -> tuple[str, list[int]]:
    """The training totals of ``scopes`` (at most ``SCOPE_CHUNK``): query and
    parameters (columns ``c1`` scope, ``c2`` spam, ``c3`` ham, ``c4``
    generation)."""
    marks = ",".join(["%s"] * len(scopes))
    return (
        f"SELECT scope AS c1, spam AS c2, ham AS c3, generation AS c4 "  # noqa: S608
        f"FROM {TrainingTotals._meta.db_table} WHERE scope IN ({marks})",
        list(scopes),
    )


def totals_in(rows: Iterable[Sequence[object]]) -> dict[int, Totals]:
    """{scope: Totals} from the rows of ``totals_query`` (as the database
    gives them, or as text)."""
    return {
        int(str(scope)): Totals(float(str(spam)), float(str(ham)), int(str(generation)))
        for scope, spam, ham, generation in rows
    }


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
    Each scope gets a new generation in the same transaction (the caches
    of ``read_counts``, in every process, then drop that scope's counts).
    ``scopes`` hold the académie's whenever they hold a person's:
    ``read_counts`` relies on a person's count never exceeding the
    académie's. Precondition: inside ``transaction.atomic()``."""
    assert ACADEMIE_SCOPE in scopes or not scopes, "a person's learning counts for the académie too"
    if not tokens or not (spam or ham):
        return
    table = TokenCount._meta.db_table
    totals = TrainingTotals._meta.db_table
    greatest = "GREATEST" if connection.vendor == "postgresql" else "MAX"
    add_spam, add_ham = max(spam, 0), max(ham, 0)
    # Random rather than a counter: a restored backup or a test database
    # flushed and trained again never gives back a generation a cache holds.
    generation = secrets.randbits(62)
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
                f"INSERT INTO {totals} (scope, spam, ham, generation) VALUES (%s, %s, %s, %s) "  # noqa: S608
                f"ON CONFLICT (scope) DO UPDATE SET spam = {totals}.spam + excluded.spam, "
                f"ham = {totals}.ham + excluded.ham, generation = excluded.generation",
                [(scope, add_spam, add_ham, generation) for scope in scopes],
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
                    f"UPDATE {totals} SET spam = {greatest}(0, spam - %s), ham = {greatest}(0, ham - %s), "  # noqa: S608
                    "generation = %s WHERE scope = %s",
                    [take_spam, take_ham, generation, scope],
                )
