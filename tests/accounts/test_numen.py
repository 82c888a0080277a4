"""NUMEN normalisation and validation: one row per typo people make."""

from __future__ import annotations

import pytest

from academail.accounts.numen import NumenError, is_numen, normalize_numen, validate_numen

VALID = [
    # (typed, normalised)
    ("11E9501234ABC", "11E9501234ABC"),
    ("11e9501234abc", "11E9501234ABC"),
    ("  11E9501234ABC  ", "11E9501234ABC"),
    ("11 E 950 1234 ABC", "11E9501234ABC"),
    ("11-E-9501234-ABC", "11E9501234ABC"),
    ("11.E.9501234.ABC", "11E9501234ABC"),
    ("11_E_9501234_ABC", "11E9501234ABC"),
    ("11\u00a0E\u00a09501234\u00a0ABC", "11E9501234ABC"),  # NBSP from a word processor
    ("11\u202fE9501234ABC", "11E9501234ABC"),  # narrow NBSP
    ("11\u2013E9501234ABC", "11E9501234ABC"),  # en dash
    ("11\tE9501234ABC\n", "11E9501234ABC"),
    ("00Z0000000000", "00Z0000000000"),
    ("99AZZZZZZZZZZ", "99AZZZZZZZZZZ"),
]

INVALID = [
    # (typed, code, position, words the message must contain)
    ("", "empty", None, ["vide"]),
    ("   ", "empty", None, ["vide"]),
    (" - . _ ", "empty", None, ["vide"]),
    ("11E9501234AB", "length", None, ["13 caractères", "vous en avez saisi 12"]),
    ("11E9501234ABCD", "length", None, ["vous en avez saisi 14"]),
    ("1", "length", None, ["vous en avez saisi 1."]),
    ("O1E9501234ABC", "letter_o_for_zero", 1, ["1er caractère", "lettre O au lieu du zéro"]),
    ("0OE9501234ABC", "letter_o_for_zero", 2, ["2e caractère", "lettre O au lieu du zéro"]),
    ("o1e9501234abc", "letter_o_for_zero", 1, ["lettre O au lieu du zéro"]),
    ("I1E9501234ABC", "letter_for_one", 1, ["lettre I au lieu du chiffre 1"]),
    ("1lE9501234ABC", "letter_for_one", 2, ["2e caractère", "lettre L au lieu du chiffre 1"]),
    ("A1E9501234ABC", "digit_expected", 1, ["1er caractère doit être un chiffre", "« A »"]),
    ("1BE9501234ABC", "digit_expected", 2, ["2e caractère doit être un chiffre", "« B »"]),
    ("1109501234ABC", "letter_expected", 3, ["3e caractère doit être une lettre", "« 0 »"]),
    ("1159501234ABC", "letter_expected", 3, ["3e caractère doit être une lettre", "« 5 »"]),
    ("11É9501234ABC", "forbidden_character", 3, ["« É »", "sans accent"]),
    ("11e9501234abé", "forbidden_character", 13, ["« é »"]),
    ("11E950/1234ABC", "forbidden_character", 7, ["« / »"]),
    ("11E9501234AB*", "forbidden_character", 13, ["« * »"]),
    ("11E9501234ABß", "forbidden_character", 13, ["« ß »"]),
    ("11E95012ıABCD", "forbidden_character", 9, ["« ı »"]),  # dotless i upper-cases to I
    ("11E9501234AB\u200b", "forbidden_character", 13, ["U+200B"]),  # zero-width space
    ("１１E9501234ABC", "forbidden_character", 1, ["« １ »"]),  # full-width digit
]


@pytest.mark.parametrize(("typed", "expected"), VALID)
def test_valid_numen_is_normalised(typed: str, expected: str) -> None:
    assert validate_numen(typed) == expected
    assert is_numen(typed)


@pytest.mark.parametrize(("typed", "code", "position", "words"), INVALID)
def test_typo_is_named(typed: str, code: str, position: int | None, words: list[str]) -> None:
    with pytest.raises(NumenError) as caught:
        validate_numen(typed)
    error = caught.value
    assert error.code == code
    assert error.position == position
    for word in words:
        assert word in str(error), str(error)
    assert not is_numen(typed)


def test_exact_length_message() -> None:
    with pytest.raises(NumenError) as caught:
        validate_numen("11E9501234AB")
    assert str(caught.value) == "Le NUMEN comporte 13 caractères ; vous en avez saisi 12."


def test_exact_letter_o_message() -> None:
    with pytest.raises(NumenError) as caught:
        validate_numen("O1E9501234ABC")
    assert str(caught.value) == (
        "Le 1er caractère doit être un chiffre : avez-vous tapé la lettre O au lieu du zéro ?"
    )


def test_numen_error_is_a_value_error() -> None:
    assert issubclass(NumenError, ValueError)


def test_normalize_does_not_validate() -> None:
    assert normalize_numen(" ab-c.d_e\u00a0f ") == "ABCDEF"
