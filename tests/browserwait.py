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
