"""A person's own counts are read whole, once a generation, when they are
few (``classifier.WHOLE_SCOPE``): their next messages then cost no probe of
their scope, and the counts are the ones a token-by-token read gives. A
scope with more rows keeps the token-by-token probes; a learning drops the
whole read like any cached count; a message to many trained people reads at
most ``WHOLE_READS`` scopes whole, the others in one probe."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from academail.protection import classifier
from academail.protection.models import ACADEMIE_SCOPE, TokenCount
from academail.protection.tokens import token_ids

pytestmark = pytest.mark.django_db(transaction=True)  # the cache is used outside transactions only


def tokens(*words: str) -> list[int]:
    return token_ids(words)


def learn(person: int, words: list[int], *, spam: bool) -> None:
    with transaction.atomic():
        classifier.do_count([ACADEMIE_SCOPE, person], words, spam=int(spam), ham=int(not spam))


def uncached(words: list[int], scopes: list[int]) -> dict[int, classifier.Counts]:
    with transaction.atomic():  # inside a transaction the cache is neither read nor filled
        return classifier.read_counts(words, scopes)


def probes(queries: CaptureQueriesContext) -> int:
    """Statements that read token counts (the totals are another table)."""
    return sum(TokenCount._meta.db_table in q["sql"] for q in queries.captured_queries)


def test_a_small_scope_is_read_once_and_then_costs_no_probe(make_account):
    person = make_account().pk
    learn(person, tokens("gratuit", "cadeau", "cliquez"), spam=True)
    learn(person, tokens("conseil", "classe", "jeudi"), spam=False)
    scopes = [ACADEMIE_SCOPE, person]
    first = tokens("gratuit", "classe", "inconnu")
    assert classifier.read_counts(first, scopes) == uncached(first, scopes)
    other = tokens("cadeau", "jeudi", "jamais", "vu")
    with CaptureQueriesContext(connection) as queries:
        counts = classifier.read_counts(other, scopes)
    assert counts == uncached(other, scopes)
    assert counts[person].tokens == {other[0]: (1, 0), other[1]: (0, 1)}
    assert probes(queries) == 1  # the académie's probe of the words it has not cached; none for the person


def test_a_scope_above_the_bound_keeps_its_probes_and_learning_drops_the_whole_read(make_account, monkeypatch):
    person, big = make_account().pk, make_account().pk
    learn(person, tokens("gratuit", "cadeau"), spam=True)
    learn(big, tokens("gratuit", "cadeau", "cliquez"), spam=True)
    monkeypatch.setattr(classifier, "WHOLE_SCOPE", 2)
    first = tokens("gratuit", "cadeau")
    assert classifier.read_counts(first, [ACADEMIE_SCOPE, big]) == uncached(first, [ACADEMIE_SCOPE, big])
    again = tokens("cliquez", "ici")
    with CaptureQueriesContext(connection) as queries:
        counts = classifier.read_counts(again, [ACADEMIE_SCOPE, big])
    assert counts == uncached(again, [ACADEMIE_SCOPE, big])
    assert probes(queries) == 2  # three rows, above the bound of two: the académie's probe, then big's
    assert classifier.read_counts(first, [ACADEMIE_SCOPE, person]) == uncached(first, [ACADEMIE_SCOPE, person])
    learn(person, tokens("ici"), spam=True)  # a new generation: the whole read is dropped and made anew
    assert classifier.read_counts(again, [ACADEMIE_SCOPE, person])[person].tokens == {again[1]: (1, 0)}


def test_a_circular_reads_few_scopes_whole_and_probes_the_others_together(make_account):
    people = [make_account().pk for _ in range(classifier.WHOLE_READS + 2)]
    for person in people:
        learn(person, tokens("gratuit", "cadeau"), spam=True)
    words = tokens("gratuit", "cadeau", "inconnu")
    scopes = [ACADEMIE_SCOPE, *people]
    with CaptureQueriesContext(connection) as queries:
        counts = classifier.read_counts(words, scopes)
    assert counts == uncached(words, scopes)
    # The académie's probe, WHOLE_READS whole reads, one probe for the two others.
    assert probes(queries) == 1 + classifier.WHOLE_READS + 1
