"""Headless Chromium (Debian's ``chromium`` and ``chromium-driver``) driven by
Selenium against pytest-django's live server. Selenium is pointed at the
system driver, so it never downloads a browser."""

from __future__ import annotations

import os
import shutil

import pytest

CHROMIUM = os.environ.get("ACADEMAIL_CHROMIUM", "/usr/bin/chromium")
DRIVER = os.environ.get("ACADEMAIL_CHROMEDRIVER", shutil.which("chromedriver") or "/usr/bin/chromedriver")


@pytest.fixture(scope="session")
def browser():
    # `make test` installs them (make system-deps): a missing browser is a failure, not a skip.
    assert os.path.exists(CHROMIUM) and os.path.exists(DRIVER), (
        "chromium and chromium-driver are missing: run `make system-deps` (apt-get install chromium chromium-driver)"
    )
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-dev-shm-usage", "--window-size=1200,1000", "--lang=fr-FR"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=DRIVER), options=options)
    driver.implicitly_wait(3)
    yield driver
    driver.quit()


@pytest.fixture
def page(browser, live_server, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    browser.delete_all_cookies()
    browser.get(live_server.url + "/healthz")
    browser.delete_all_cookies()
    yield browser
