"""Mailbox care fixtures: the webmail's signed-in person and helpers."""

from tests.webmail.conftest import other, person, web  # noqa: F401 (fixtures)
