"""Fixtures of the help tests: the real IMAP and SMTP submission servers of
the protocol tests (sign-in failures are made over sockets), the webmail's
signed-in person, and a fast password hasher."""

import pytest

from tests.imap.conftest import connect, imap  # noqa: F401 - fixtures
from tests.smtp.conftest import submission  # noqa: F401 - fixture
from tests.webmail.conftest import person  # noqa: F401 - fixture


@pytest.fixture(autouse=True)
def fast_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
