"""What a person waits for in the webmail, timed in headless Chromium: one
INBOX of N messages (bench/webmail.py's fill), ``academail serve --only web``
(uvicorn) on a free port, Selenium at 1366x900. Each wait runs from the click
(or Enter) to the moment the result is in the page:

- list: click "Boîte de réception" until the new page's first row is there;
- open: click a message until its subject heading is there;
- quick search: Enter in the search field until the results are there;
- next page: click "Messages plus anciens" until the next page's rows are there;
- delete in place: check a row, click "Supprimer", until the notice is there
  (no page load since issue 20's inplace.js).

Prints the median and p90 in ms beside Roundcube 1.6.5's medians from
/work/shared/BENCHMARKS.md (the same waits, same mailbox sizes; measured by
the issue's author on their machine, not in this run: Roundcube is not
installed here).

    .venv/bin/python bench/webmail_browser.py [--messages 1000] [--runs 15]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable

import _common as c

# BENCHMARKS.md, "Webmail, ... headless Chromium (median, from the click to the rendered result)".
ROUNDCUBE_MS = {
    1_000: {"list": 114, "open": 203, "quick search": 101, "next page": 244},
    50_000: {"list": 315, "open": 376, "quick search": 440, "next page": 293},
}
PASSWORD = "Vache-Rouge7!Orage"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--keep", action="store_true", help="keep the temporary ACADEMAIL_HOME")
    args = parser.parse_args()
    c.banner(f"bench/webmail_browser.py: {args.messages} messages, waits in headless Chromium")
    with c.bench_home(None, keep=args.keep) as home:
        took = c.migrate()
        c.setup_django()
        print(f"setup    home {home}; {c.db_label()}; migrate {took:.1f} s")
        from academail.accounts.services import check_create_account
        from academail.store.models import Mailbox
        from webmail import fill

        account = check_create_account(first_name="Hélène", last_name="Châtelain", numen=c.numen(1), status="active")
        account.set_password(PASSWORD)
        account.save()
        inbox = Mailbox.objects.get(account=account, special_use="inbox")
        seconds = fill(inbox.pk, account.pk, account.address, args.messages, 500, 2)
        print(f"fill     {args.messages} messages in {seconds:.0f} s")
        port = c.free_port()
        env = {**os.environ, "ACADEMAIL_HOME": str(home), "ACADEMAIL_WEB_PORT": str(port)}
        academail = shutil.which("academail", path=os.path.dirname(sys.executable)) or "academail"
        server = subprocess.Popen([academail, "serve", "--only", "web"], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            c.wait_port(port, server, timeout=120)
            figures = measure(f"http://127.0.0.1:{port}", account.identifier, args.runs)
        finally:
            server.terminate()
            server.wait(10)
    peer = ROUNDCUBE_MS.get(args.messages, {})
    print(f"\n{'wait':<16} {'academail p50':>14} {'p90':>8} {'Roundcube p50':>14}  (BENCHMARKS.md, {args.messages} messages)")
    for name, (p50, p90) in figures.items():
        theirs = f"{peer[name]} ms" if name in peer else "–"
        print(f"{name:<16} {p50:>11.0f} ms {p90:>5.0f} ms {theirs:>14}")
    return 0


def measure(base: str, identifier: str, runs: int) -> dict[str, tuple[float, float]]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    options = webdriver.ChromeOptions()
    options.binary_location = os.environ.get("ACADEMAIL_CHROMIUM", "/usr/bin/chromium")
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--window-size=1366,900", "--lang=fr-FR", "--disable-background-networking"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver") or "/usr/bin/chromedriver"), options=options)
    wait = WebDriverWait(driver, 30, poll_frequency=0.002)
    try:
        driver.get(base + "/connexion/")
        driver.find_element(By.NAME, "identifier").send_keys(identifier)
        driver.find_element(By.NAME, "password").send_keys(PASSWORD)
        driver.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, ".wm-list tbody tr"))
        inbox_url = driver.current_url

        def new_page(css: str) -> Callable[[object], bool]:
            return lambda d: d.execute_script(
                "return window.__old === undefined && document.querySelector(arguments[0]) !== null", css)

        def timed(prepare: Callable[[], None], act: Callable[[], None], done: Callable[[object], bool]) -> list[float]:
            times = []
            for _ in range(runs + 1):  # the first is a warm-up
                prepare()
                driver.execute_script("window.__old = 1;")
                started = time.perf_counter()
                act()
                wait.until(done)
                times.append((time.perf_counter() - started) * 1000)
            return times[1:]

        def at_inbox() -> None:
            if driver.current_url != inbox_url:
                driver.get(inbox_url)

        results = {
            "list": timed(at_inbox, lambda: driver.find_element(
                By.CSS_SELECTOR, ".wm-folders li[data-use=inbox] a").click(), new_page(".wm-list tbody tr")),
            "open": timed(at_inbox, lambda: driver.find_element(
                By.CSS_SELECTOR, ".wm-list__subject a").click(), new_page("h1#wm-subject")),
            "quick search": timed(at_inbox, lambda: driver.find_element(By.ID, "wm-q").send_keys("conseil" + Keys.ENTER),
                                  new_page(".wm-list tbody tr, main p")),
            "next page": timed(at_inbox, lambda: driver.find_element(By.CSS_SELECTOR, "a[rel=next]").click(),
                               new_page(".wm-list tbody tr")),
        }

        def check_one() -> None:
            at_inbox()
            driver.execute_script("var n = document.querySelector('.fr-messages'); if (n) n.remove();")
            driver.find_element(By.CSS_SELECTOR, ".wm-list tbody tr input[name=uid]").click()

        results["delete in place"] = timed(
            check_one, lambda: driver.find_element(By.CSS_SELECTOR, "#wm-bulk button[value=delete]").click(),
            lambda d: d.execute_script("return window.__old === 1 && document.querySelector('.fr-messages') !== null"))
    finally:
        driver.quit()
    return {name: (c.percentile(t, 50), c.percentile(t, 90)) for name, t in results.items()}


if __name__ == "__main__":
    raise SystemExit(main())
