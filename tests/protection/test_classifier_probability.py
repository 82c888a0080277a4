"""The classifier's probability (protection/classifier.py): Robinson's f(w)
per token and Fisher's chi-square combining, computed once per count pair
and scope totals (``_scored_pairs``), give exactly what the formula gives
token by token, whatever was computed before for other totals."""

from __future__ import annotations

import math
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from academail.protection import classifier
from academail.protection.classifier import Counts


def reference(counts: Counts) -> float | None:
    """The textbook computation, token by token, nothing shared."""
    if not counts.trained:
        return None
    nspam, nham, s = counts.spam_messages, counts.ham_messages, classifier.STRENGTH
    scored = []
    for spam, ham in counts.tokens.values():
        n = spam + ham
        if n <= 0:
            continue
        weighted = spam * nham  # p = spam rate / (spam rate + ham rate), as the classifier writes it
        f = (s * 0.5 + n * weighted / (weighted + ham * nspam)) / (s + n)
        if abs(f - 0.5) >= classifier.MIN_DEVIATION:
            scored.append((abs(f - 0.5), f))
    if not scored:
        return 0.5
    if len(scored) > classifier.INTERESTING:  # the most telling; otherwise in the tokens' order (same sums)
        scored = sorted(scored, reverse=True)[:classifier.INTERESTING]
    chosen = [min(max(f, 0.0001), 0.9999) for _, f in scored]
    h = classifier._chi2q(-2.0 * sum(math.log(f) for f in chosen), 2 * len(chosen))
    k = classifier._chi2q(-2.0 * sum(math.log(1.0 - f) for f in chosen), 2 * len(chosen))
    return (1.0 + h - k) / 2.0


pairs = st.tuples(st.integers(0, 400), st.integers(0, 400))


@settings(max_examples=300, deadline=None)
@given(
    st.floats(0, 5000, allow_nan=False), st.floats(0, 5000, allow_nan=False),
    st.lists(pairs, max_size=600), st.integers(0, 2),
)
def test_probability_is_the_formulas_token_by_token(nspam, nham, tokens, weight):
    counts = Counts(nspam, nham, {index: (spam * (weight + 1), ham) for index, (spam, ham) in enumerate(tokens)})
    assert classifier.probability(counts) == reference(counts)


def test_the_same_pairs_under_other_totals_are_scored_anew():
    """A pair's f(w) depends on its scope's totals: the académie's table
    never answers for a person whose combined totals differ."""
    rng = random.Random(5)
    tokens = {i: (rng.randrange(0, 30), rng.randrange(0, 30)) for i in range(500)}
    academie, person = Counts(300, 20, tokens), Counts(20, 300, tokens)
    first, second = classifier.probability(academie), classifier.probability(person)
    assert first == reference(academie) and second == reference(person)
    assert first != second
    assert classifier.probability(academie) == first  # from its table, unchanged by the other's
