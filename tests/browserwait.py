"""Waits for selenium tests that hold on a loaded machine.

``expected_conditions.staleness_of`` only recognises the W3C "stale element"
error. When the page is replaced while Chrome is answering, ChromeDriver may
instead report "Node with given id does not belong to the document" as an
unknown error, which ``staleness_of`` lets through and fails the test although
the browser did exactly what was awaited: it left the page.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def left(element: Any) -> Callable[[Any], bool]:
    """A ``WebDriverWait`` condition: true once ``element``'s document is gone."""
    from selenium.common.exceptions import WebDriverException

    def gone(_driver: Any) -> bool:
        try:
            element.is_enabled()
        except WebDriverException:  # stale, or its node left the document
            return True
        return False

    return gone


def text_shown(text: str) -> Callable[[Any], bool]:
    """A ``WebDriverWait`` condition: true once the page's body holds ``text``.
    Read in one script call rather than by finding ``body`` and then asking
    for its text: after a form is submitted, the body found may belong to the
    page being left by the time its text is asked ("Node with given id does
    not belong to the document", which ``text_to_be_present_in_element`` lets
    through)."""

    def shown(driver: Any) -> bool:
        return bool(driver.execute_script(
            "return document.body !== null && document.body.innerText.includes(arguments[0]);", text))

    return shown
