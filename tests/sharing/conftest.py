from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _fast_hashing(settings):
    # Argon2 is tested in tests/accounts; here it only slows each sign-in.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
