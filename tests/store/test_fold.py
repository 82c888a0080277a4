"""``store.search.fold`` (search index, filters' accent- and case-insensitive
comparator) takes a byte-table path for Windows-1252 text: it must give exactly
what the general Unicode path gives, character by character and in text."""

from __future__ import annotations

import random

from academail.store.search import _fold_any, fold

CP1252 = [bytes([b]).decode("cp1252") for b in range(256) if b not in (0x81, 0x8D, 0x8F, 0x90, 0x9D)]


def test_every_windows_1252_character_folds_as_unicode_says():
    for char in CP1252:
        assert fold(char) == _fold_any(char), repr(char)
        assert fold(f"É{char}x") == _fold_any(f"É{char}x"), repr(char)


def test_random_texts_fold_the_same_on_both_paths():
    rng = random.Random(7)
    for _ in range(5000):
        text = "".join(rng.choice(CP1252) for _ in range(rng.randint(1, 60)))
        assert fold(text) == _fold_any(text), repr(text)
    for _ in range(300):  # beyond Windows-1252: the general path
        text = "".join(chr(rng.randint(0, 0x2FFFF)) for _ in range(80))
        assert fold(text) == _fold_any(text)


def test_french_examples():
    assert fold("Réunion des ÉLÈVES, cœur… «vœux» – 10 €") == "reunion des eleves, coeur... «voeux» – 10 €"
    assert fold("Straße ½") == "strasse 1⁄2"
    assert fold("plain ASCII") == "plain ascii"
