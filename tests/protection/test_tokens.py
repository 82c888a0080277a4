"""The classifier's words and token ids. ``words`` takes a byte-table path
for Windows-1252 text and a regular expression for the rest; both must give
what the classifier learned with (the expectations below were written by the
regular-expression tokeniser the counts in the database were made with)."""

from __future__ import annotations

import pytest

from academail.protection.tokens import MAX_TOKENS, token_id, tokenize, words


@pytest.mark.parametrize(("text", "expected"), [
    ("Réunion des Élèves : 12,50€ ou $3 ; £", ["reunion", "des", "eleves", "12", "50", "€", "ou", "$", "£"]),
    ("Le cœur a dit « Œuvre » à l'ŒUVRE ; œ æ — fin…", ["le", "coeur", "dit", "oeuvre", "oeuvre", "fin"]),
    ("x" * 30 + " " + "é" * 25 + " a_b c", ["x" * 24, "x" * 6, "e" * 24]),
    ("Straße ½ ² µ ﬁn", ["strasse", "fin"]),  # outside Windows-1252 after folding: the expression
    ("Ἀθῆναι καὶ 日本語 texte", ["αθη", "ναι", "και", "日本語", "texte"]),
    ("Voir https://www.education.gouv.fr/x?y=1", ["voir", "https", "www", "education", "gouv", "fr"]),
    ("", []),
])
def test_words_fold_cut_and_keep_currency(text, expected):
    assert words(text) == expected


def test_token_ids_are_the_checksums_of_the_tokens_in_order():
    text = "Votre boîte est pleine, votre boîte sera désactivée. " * 3
    body = words(text)
    pairs = list(dict.fromkeys(f"{a} {b}" for a, b in zip(body, body[1:], strict=False)))
    expected = [token_id(t) for t in dict.fromkeys(["h:from=x.example", "s:alerte", *body, *pairs])]
    assert tokenize("Alerte", text, ("h:from=x.example",)) == expected
    long = " ".join(f"mot{i}" for i in range(2000))
    assert len(tokenize("", long)) == MAX_TOKENS
