"""Mailbox care fixtures: the webmail's signed-in person and helpers."""

from tests.assistance.conftest import claire, secretary, secretary_client  # noqa: F401 (fixtures)
from tests.webmail.conftest import other, person, web  # noqa: F401 (fixtures)
