"""What the browser tests check on each page they pass through, and the
small moves they all make: axe-core (from npm, pinned by
tests/e2e/axe/package-lock.json, installed by `make node-deps`) for the
violations of impact "serious" or "critical" of the WCAG 2.0 A/AA and 2.1 AA
rules (what RGAA 4 builds on), no horizontal scrolling, and clicking a
control scrolled into view. ``PageChecks`` collects the violations page by
page and reports them all at the end, so one run names every faulty page.

The pages' CSP forbids inline script; axe is injected through WebDriver, whose
scripts the CSP does not govern (tests/e2e/test_accessibility.py checks it
runs and finds a planted violation, so a silent axe cannot pass the others)."""

from __future__ import annotations

from pathlib import Path

from selenium.webdriver.common.by import By

AXE = Path(__file__).parent / "axe" / "node_modules" / "axe-core" / "axe.min.js"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BLOCKING = {"serious", "critical"}

_RUN_AXE = """
const done = arguments[arguments.length - 1];
axe.run(document, {runOnly: {type: 'tag', values: arguments[0]}, iframes: false, resultTypes: ['violations']})
  .then(r => done({violations: r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
      nodes: v.nodes.map(n => n.target.join(' ') + ' :: ' + n.failureSummary.replace(/\\s+/g, ' ').slice(0, 300))}))}),
        e => done({error: String(e)}));
"""


def axe_text() -> str:
    assert AXE.exists(), f"{AXE} is missing: run `make node-deps` (npm ci in tests/e2e/axe)"
    return AXE.read_text()


def audit(driver, source: str) -> list[dict]:
    """The blocking violations of the page open in ``driver``."""
    if not driver.execute_script("return typeof window.axe === 'object'"):
        driver.execute_script(source + "\n;window.axe = axe;")
    driver.set_script_timeout(60)
    result = driver.execute_async_script(_RUN_AXE, TAGS)
    assert "error" not in result, result
    return [v for v in result["violations"] if v["impact"] in BLOCKING]


def report(found: dict[str, list[dict]]) -> str:
    lines = []
    for page, violations in found.items():
        for v in violations:
            lines.append(f"{page}: [{v['impact']}] {v['id']} — {v['help']}")
            lines += [f"    {node}" for node in v["nodes"][:5]]
    return "\n".join(lines)


def no_horizontal_scroll(driver) -> None:
    assert driver.execute_script("return document.documentElement.scrollWidth <= window.innerWidth + 1"), \
        f"{driver.current_url}: the page scrolls sideways"


def click(driver, element) -> None:
    """Click ``element`` scrolled to the middle of the screen (on a phone a
    sticky header or the bottom bar may cover it where it stands)."""
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
    element.click()


def submit(driver, css: str) -> None:
    click(driver, driver.find_element(By.CSS_SELECTOR, css))


def set_value(driver, name: str, value: str) -> None:
    """Fill a date or time field (typing into them depends on the locale's format)."""
    driver.execute_script("arguments[0].value = arguments[1]", driver.find_element(By.NAME, name), value)


class PageChecks:
    """``checks("page name")`` on each page of a walk: no horizontal scroll
    (asserted at once) and axe's blocking violations (kept); at the end,
    ``checks.assert_clean()`` reports every page that had some."""

    def __init__(self, driver, axe_source: str) -> None:
        self.driver = driver
        self.source = axe_source
        self.found: dict[str, list[dict]] = {}

    def __call__(self, name: str) -> None:
        no_horizontal_scroll(self.driver)
        if violations := audit(self.driver, self.source):
            self.found[name] = violations

    def assert_clean(self) -> None:
        assert not self.found, "\n" + report(self.found)
