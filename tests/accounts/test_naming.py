"""Identifiers and local parts made from names, and homonym numbering."""

from __future__ import annotations

import pytest

from academail.accounts.naming import (
    ascii_fold,
    base_identifier,
    base_local_part,
    candidates,
    next_free,
)

NAMES = [
    # (first name, surname, identifier, local part)
    ("Julie", "Martin", "jmartin", "julie.martin"),
    ("Jean-Pierre", "De La Fontaine", "jdelafontaine", "jean-pierre.delafontaine"),
    ("Jean Pierre", "Dupont", "jdupont", "jean-pierre.dupont"),
    ("Aminata", "N'Diaye", "andiaye", "aminata.ndiaye"),
    ("Aminata", "N\u2019Diaye", "andiaye", "aminata.ndiaye"),  # typographic apostrophe
    ("Yann", "Le Gall", "ylegall", "yann.legall"),
    ("Anne", "Martin-Dupont", "amartindupont", "anne.martin-dupont"),
    ("Hans", "Müller-Lüdenscheidt", "hmullerludenscheidt", "hans.muller-ludenscheidt"),
    ("Éric", "Œuvrard", "eoeuvrard", "eric.oeuvrard"),
    ("Œdipe", "Roi", "oroi", "oedipe.roi"),
    ("Åse", "Ærø", "aaero", "ase.aero"),
    ("Ingrid", "Strauß", "istrauss", "ingrid.strauss"),
    ("Hélène", "Çelik", "hcelik", "helene.celik"),
    ("Zoé", "Ðorđević", "zdordevic", "zoe.dordevic"),
    ("Łucja", "Wałęsa", "lwalesa", "lucja.walesa"),
    ("  MARIE  ", "  CURIE ", "mcurie", "marie.curie"),
    ("Marie--Claire", "Dupont--Durand", "mdupontdurand", "marie-claire.dupont-durand"),
    ("-Jean-", "-Valjean-", "jvaljean", "jean.valjean"),
    ("Jean\u2013Luc", "Picard", "jpicard", "jean-luc.picard"),  # en dash
    ("E\u0301milie", "Zola", "ezola", "emilie.zola"),  # decomposed accent
    ("Louis", "XIV 2", "lxiv2", "louis.xiv2"),
]


@pytest.mark.parametrize(("first", "last", "identifier", "local_part"), NAMES)
def test_names(first: str, last: str, identifier: str, local_part: str) -> None:
    assert base_identifier(first, last) == identifier
    assert base_local_part(first, last) == local_part


@pytest.mark.parametrize(
    ("name", "folded"),
    [
        ("De La Fontaine", "delafontaine"),
        ("N'Diaye", "ndiaye"),
        ("Müller-Lüdenscheidt", "mullerludenscheidt"),
        ("Œuvrard", "oeuvrard"),
        ("Ærø", "aero"),
        ("Weiß", "weiss"),
        ("ÀÉÎÕÜ", "aeiou"),
        ("#!?", ""),
    ],
)
def test_ascii_fold(name: str, folded: str) -> None:
    assert ascii_fold(name) == folded


@pytest.mark.parametrize(
    ("first", "last", "word"),
    [("#!", "Martin", "prénom"), ("Julie", "---", "nom"), ("李", "Martin", "prénom"), ("", "", "prénom")],
)
def test_name_without_letters_is_refused_in_french(first: str, last: str, word: str) -> None:
    for make in (base_identifier, base_local_part):
        with pytest.raises(ValueError, match=word):
            make(first, last)


def test_long_names_are_cut_to_64() -> None:
    first, last = "Jean-Pierre-Marie-Joseph-Gaston", "De La Fontaine-Saint-Exupéry " * 4
    assert len(base_identifier(first, last)) == 64
    local = base_local_part(first, last)
    assert len(local) <= 64
    assert not local.endswith(("-", "."))


@pytest.mark.parametrize(
    ("taken", "expected"),
    [
        (set(), "jdupont"),
        ({"jdupont"}, "jdupont1"),
        ({"jdupont", "jdupont1"}, "jdupont2"),
        ({"jdupont", "jdupont1", "jdupont2", "jdupont3"}, "jdupont4"),
        ({"jdupont1"}, "jdupont"),
        ({"jdupont", "jdupont2"}, "jdupont1"),
    ],
)
def test_next_free_numbers_homonyms(taken: set[str], expected: str) -> None:
    assert next_free("jdupont", taken.__contains__) == expected


def test_next_free_for_local_parts() -> None:
    assert next_free("julie.martin", {"julie.martin"}.__contains__) == "julie.martin1"


def test_next_free_keeps_the_number_within_the_limit() -> None:
    base = "a" * 64
    taken = {base} | {"a" * 63 + str(n) for n in range(1, 10)}
    free = next_free(base, taken.__contains__)
    assert free == "a" * 62 + "10"
    assert len(free) == 64


def test_candidates_order() -> None:
    gen = candidates("jmartin")
    assert [next(gen) for _ in range(4)] == ["jmartin", "jmartin1", "jmartin2", "jmartin3"]
