"""Fixtures of the calendar tests: a DAV folder per test, and accounts with an
app password (what a phone or vdirsyncer signs in with)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest


@dataclass
class DavUser:
    account: object
    identifier: str
    secret: str


@pytest.fixture(autouse=True)
def _dav_dir(settings, tmp_path):
    settings.DAV_DIR = tmp_path / "dav"
    from academail.accounts import authcache

    authcache.forget_all()
    yield
    authcache.forget_all()


@pytest.fixture
def dav_user(make_account):
    from academail.accounts import apppasswords

    def factory(first: str = "Julie", last: str = "Martin", **fields) -> DavUser:
        account = make_account(first, last, **fields)
        created = apppasswords.check_create(account, "Téléphone")
        return DavUser(account, account.identifier, created.secret)

    return factory
