"""What the booking browser tests share (test_booking_browser: book, move,
cancel; test_waitlist_browser: the waiting list): a school day to open slots
on, a parent's part of the public form, and the links the platform mailed."""

from __future__ import annotations

import datetime as dt
import email
import re
import urllib.parse
from email import policy

from django.urls import reverse
from django.utils import timezone
from selenium.webdriver.common.by import By

from academail.calendar.events import PARIS
from academail.delivery.models import CapturedMessage
from tests.e2e.conftest import wait_text

PARENT = "paul.durand@familles.example"


def school_day() -> dt.date:
    """A Monday-to-Friday four days or more ahead (past any booking deadline of the tests)."""
    day = timezone.localdate(timezone=PARIS) + dt.timedelta(days=4)
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    return day


def fill_parent(driver, *, name: str = "Paul Durand", address: str = PARENT, answer: str | None = None) -> None:
    """The parent's name, address and (when the page asks a question) answer."""
    driver.find_element(By.NAME, "name").send_keys(name)
    driver.find_element(By.NAME, "email").send_keys(address)
    if answer is not None:
        driver.find_element(By.NAME, "answer").send_keys(answer)


def mailed_path(address: str, url_name: str) -> str:
    """The path of the newest ``url_name`` link the platform mailed to ``address``."""
    prefix = reverse(url_name, args=["X"])[:-2]
    for captured in CapturedMessage.objects.order_by("-pk"):
        if address in captured.recipients:
            text = email.message_from_bytes(bytes(captured.raw), policy=policy.default).get_body(("plain",)).get_content()
            found = re.search(r"https?://\S+" + re.escape(prefix) + r"[^/\s]+/", text)
            if found:
                return urllib.parse.urlsplit(found.group(0)).path
    raise AssertionError(f"no {url_name} link mailed to {address}")


def open_mailed(driver, live_server, url_name: str, title: str, *, address: str = PARENT) -> None:
    """Follow the mailed link as the parent would, and wait for its page's title."""
    driver.get(live_server.url + mailed_path(address, url_name))
    wait_text(driver, title, css="h1")
