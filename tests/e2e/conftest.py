"""Headless Chromium (Debian's ``chromium`` and ``chromium-driver``) driven by
Selenium against pytest-django's live server. Selenium is pointed at the
system driver, so it never downloads a browser."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

CHROMIUM = os.environ.get("ACADEMAIL_CHROMIUM", "/usr/bin/chromium")
DRIVER = os.environ.get("ACADEMAIL_CHROMEDRIVER", shutil.which("chromedriver") or "/usr/bin/chromedriver")


def chromium(lang: str = "fr-FR", prefs: dict | None = None):
    """A headless Chromium with its driver (the caller quits it): French unless
    ``lang`` says otherwise; ``prefs``: Chromium preferences (JavaScript off...)."""
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
                 "--disable-dev-shm-usage", "--window-size=1200,1000", f"--lang={lang}"):
        options.add_argument(flag)
    if prefs:
        options.add_experimental_option("prefs", prefs)
    driver = webdriver.Chrome(service=Service(executable_path=DRIVER), options=options)
    driver.implicitly_wait(3)
    return driver


@pytest.fixture(scope="session")
def browser():
    driver = chromium()
    yield driver
    driver.quit()


@pytest.fixture
def page(browser, live_server, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    browser.delete_all_cookies()
    browser.get(live_server.url + "/healthz")
    browser.delete_all_cookies()
    yield browser


@contextmanager
def screen_size(driver, width: int, height: int, *, scale: int = 1, touch: bool = False) -> Iterator[None]:
    """The browser's viewport as a ``width`` x ``height`` screen (a phone's
    below 600 px), for the time of the block."""
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": width, "height": height, "deviceScaleFactor": scale, "mobile": width < 600})
    if touch:
        driver.execute_cdp_cmd("Emulation.setTouchEmulationEnabled", {"enabled": True})
    try:
        yield
    finally:
        if touch:
            driver.execute_cdp_cmd("Emulation.setTouchEmulationEnabled", {"enabled": False})
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


@pytest.fixture
def phone(page):
    """The browser as a 390x844 phone with a touch screen."""
    with screen_size(page, 390, 844, scale=3, touch=True):
        yield page


# Issue 20's two screens: a desktop and a phone.
SCREENS = {"bureau": (1366, 900), "telephone": (390, 844)}


@pytest.fixture(params=sorted(SCREENS))
def screen(request, page):
    """The test runs twice: on a desktop screen, then on a phone's."""
    with screen_size(page, *SCREENS[request.param]):
        yield page


@pytest.fixture(scope="session")
def axe_source() -> str:
    from tests.e2e.pagechecks import axe_text

    return axe_text()


@pytest.fixture
def dav_dir(settings, tmp_path):
    """The agenda's DAV collections in this test's own folder."""
    settings.DAV_DIR = tmp_path / "dav"
    return settings.DAV_DIR


# --- helpers for the webmail browser tests (test_webmail_browser, test_xss_browser,
# test_accessibility) ------------------------------------------------------------------

PASSWORD = "Vache-Rouge7!Orage"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failed browser test leaves a screenshot and the page source in its tmp dir."""
    outcome = yield
    report = outcome.get_result()
    if report.when != "call" or not report.failed or "browser" not in item.fixturenames:
        return
    driver = item.funcargs.get("browser")
    tmp_path = item.funcargs.get("tmp_path")
    if driver is None or tmp_path is None:
        return
    try:
        driver.switch_to.default_content()
        driver.save_screenshot(str(tmp_path / "failure.png"))
        (tmp_path / "failure.html").write_text(driver.page_source)
        report.sections.append(("browser", f"screenshot and source of {driver.current_url} in {tmp_path}"))
    except Exception as error:  # noqa: BLE001 - a missing screenshot must not hide the failure
        report.sections.append(("browser", f"no screenshot: {error!r}"))


class OutsideServer:
    """A plain HTTP server on 127.0.0.1, on another port than the live server:
    "the outside" for the tests. It records every request and answers a 1x1 GIF."""

    GIF = bytes.fromhex("47494638396101000100800000000000ffffff21f90401000000002c00000000010001000002024401003b")

    def __init__(self) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.requests: list[str] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's name
                with server._lock:
                    server.requests.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "image/gif")
                self.send_header("Content-Length", str(len(OutsideServer.GIF)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(OutsideServer.GIF)

            do_POST = do_GET  # noqa: N815

            def log_message(self, *args):
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self._httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()

    def seen(self) -> list[str]:
        with self._lock:
            return list(self.requests)

    def clear(self) -> None:
        with self._lock:
            self.requests.clear()

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


@pytest.fixture(scope="session")
def outside_server():
    server = OutsideServer()
    yield server
    server.close()


@pytest.fixture
def outside(outside_server):
    outside_server.clear()
    return outside_server


def make_person(first: str = "Julie", last: str = "Martin", *, password: str = PASSWORD, numen: str | None = None):
    """An active account, made through the real account service, with a password."""
    from academail.accounts.services import check_create_account
    from tests.conftest import make_numen

    account = check_create_account(first_name=first, last_name=last, numen=numen or make_numen(),
                                   status="active", establishment="Collège Jean Moulin, Montpellier")
    account.set_password(password)
    account.save()
    return account


def fill_demo_mailbox(account, others, count: int = 24) -> int:
    """``count`` messages of the demo corpus in the account's folders, through the store."""
    from django.db import transaction
    from django.utils import timezone

    from academail.demo.corpus import DemoPerson, generate_mailbox
    from academail.store import mailboxes
    from academail.store.errors import MailboxNotFound
    from academail.store.messages import Placement, do_store, prepare_content
    from academail.store.models import Flag

    def person(a):
        return DemoPerson(a.first_name, a.last_name, "staff", "Collège Jean Moulin, Montpellier", a.address)

    special = {use for use, _ in mailboxes.DEFAULT_MAILBOXES}
    folders: dict[str, int] = {}
    messages = generate_mailbox(person(account), [person(o) for o in others], count, 7, timezone.now())
    for message in messages:
        if message.folder not in folders:
            if message.folder in special:
                folders[message.folder] = mailboxes.special_mailbox(account.pk, message.folder).pk
            else:
                try:
                    folders[message.folder] = mailboxes.access_mailbox_by_name(account.pk, message.folder).pk
                except MailboxNotFound:
                    folders[message.folder] = mailboxes.do_create_mailbox(account.pk, message.folder).pk
        flags = (Flag.SEEN if message.seen else 0) | (Flag.FLAGGED if message.flagged else 0)
        with transaction.atomic():
            do_store(prepare_content(message.raw), [Placement(account.pk, folders[message.folder], flags)],
                     internaldate=message.internaldate)
    return len(messages)


def deliver(raw: bytes, *recipients: str) -> list:
    """Through the door, as the MX or the submission server would."""
    from academail.delivery.route import deliver as door_deliver

    outcomes = door_deliver(raw, list(recipients))
    assert all(getattr(o, "delivered", False) for o in outcomes), outcomes
    return outcomes


def sign_in(driver, live_server, identifier: str, password: str = PASSWORD) -> None:
    """Through the real sign-in page; lands on the inbox."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait

    driver.delete_all_cookies()
    driver.get(live_server.url + "/connexion/")
    for name, value in (("identifier", identifier), ("password", password)):
        field = driver.find_element(By.NAME, name)
        field.clear()
        field.send_keys(value)
    driver.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
    WebDriverWait(driver, 10).until(EC.presence_of_element_located((By.CSS_SELECTOR, "nav.wm-folders")))


def wait_text(driver, text: str, timeout: float = 10, css: str = "body") -> None:
    """Wait until an element matching ``css`` shows ``text`` (across page loads)."""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    def shown(d):
        try:
            return any(text in e.text for e in d.find_elements(By.CSS_SELECTOR, css))
        except WebDriverException:  # the page changed under us: look again
            return False

    try:
        WebDriverWait(driver, timeout, poll_frequency=0.1).until(shown)
    except WebDriverException:
        seen = " | ".join(e.text[:300] for e in driver.find_elements(By.CSS_SELECTOR, css))
        raise AssertionError(f"{text!r} not shown in {css!r} of {driver.current_url}: {seen!r}") from None


def count_now(element, css: str) -> int:
    """How many elements inside ``element`` match ``css`` now (no implicit wait,
    so checking that something is absent costs nothing)."""
    return int(element.parent.execute_script("return arguments[0].querySelectorAll(arguments[1]).length", element, css))
