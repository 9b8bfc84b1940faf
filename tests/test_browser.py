"""The whole dashboard in a real headless Chromium: every page, a review action, untrusted text stays inert.

Needs Debian's chromium at /usr/bin/chromium (``apt-get install -y chromium``); skipped otherwise. Screenshots of
every page go to ``$TRACKER_SCREENSHOTS`` (or a temporary directory).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from sample_store import make_sample_store

from tracker.store import Store

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
APP = Path(__file__).resolve().parent.parent / "dashboards" / "streamlit_app.py"
PAGES = ["overview", "queue", "narratives", "narrative", "stance", "sources", "search", "export"]
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(tmp_path):
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing: apt-get install -y chromium (CI's .ci/run installs it)")
    pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
    store = tmp_path / "sample.db"
    make_sample_store(store).close()
    port = free_port()
    log = open(tmp_path / "streamlit.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(APP), "--server.headless", "true", "--server.port",
         str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
         "--server.fileWatcherType", "none", "--", "--db", str(store)],
        stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "TRACKER_DB": ""},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                    if response.read().strip() == b"ok":
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                log.flush()
                pytest.fail("streamlit did not start:\n" + (tmp_path / "streamlit.log").read_text()[-2000:])
            time.sleep(0.3)
        yield url, store
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        log.close()


def wait_for_app(page, title: str) -> None:
    page.get_by_role("heading", name=title, exact=False).first.wait_for(timeout=30_000)
    # wait until the script run finishes (the running indicator disappears)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"
        " && !document.querySelector('[data-testid=\"stSkeleton\"]')", timeout=30_000)
    page.wait_for_timeout(1500)  # charts and data grids draw after the script run


def idle(page) -> None:
    """Wait until the rerun a widget change started has finished (stale elements are gone by then)."""
    page.wait_for_timeout(300)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"
        " && !document.querySelector('[data-stale=\"true\"]')", timeout=30_000)
    page.wait_for_timeout(500)


def test_dashboard_in_browser(server, tmp_path):
    from playwright.sync_api import sync_playwright

    url, store = server
    shots = Path(os.environ.get("TRACKER_SCREENSHOTS") or tmp_path / "screenshots")
    shots.mkdir(parents=True, exist_ok=True)
    db = Store(store).db
    script_claim = db.execute("SELECT id FROM claims WHERE article_id = 7").fetchone()[0]
    narrative = db.execute("SELECT narrative_id FROM narrative_claims WHERE claim_id = ?",
                           [script_claim]).fetchone()[0]
    db.conn.close()
    dialogs: list[str] = []
    titles = {"overview": "Overview", "queue": "To review", "narratives": "Narratives", "narrative": "Narrative",
              "stance": "Stance over time", "sources": "Sources", "search": "Search", "export": "Export"}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, timeout=60_000)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 2600})
            page.set_default_timeout(30_000)
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            for name in PAGES:
                page.goto(f"{url}/{'' if name == 'overview' else name}", wait_until="domcontentloaded")
                wait_for_app(page, titles[name])
                assert page.locator('[data-testid="stException"]').count() == 0, name
                assert page.get_by_text("Page not found").count() == 0, name
                page.screenshot(path=str(shots / f"{name}.png"), full_page=True)

            # untrusted article text: shown literally, nothing executed, no link created
            page.goto(f"{url}/narrative?narrative={narrative}&claim={script_claim}",
                      wait_until="domcontentloaded")
            wait_for_app(page, "Narrative")
            article = page.locator(".article-text").first
            article.wait_for()
            article.scroll_into_view_if_needed()
            text = article.inner_text()
            assert "<script>alert(1)</script>" in text
            assert "[click](http://evil.example)" in text
            assert article.locator("script").count() == 0 and article.locator("a").count() == 0
            assert page.locator('a[href*="evil.example"]').count() == 0
            assert page.locator('a[href*="globaldesk.uk.example"]').count() == 0  # URLs stay text
            assert article.locator("mark").inner_text() == "CPEC loans are pushing Pakistan into a debt trap."
            page.screenshot(path=str(shots / "narrative-article.png"), full_page=True)

            # a review action: rename the narrative as a named reviewer
            reviewer = page.get_by_role("textbox", name="Reviewer", exact=True)
            reviewer.fill("Browser Tester")
            reviewer.press("Enter")
            idle(page)
            label = page.get_by_role("textbox", name="New label", exact=True).first
            label.fill("Renamed in the browser")
            label.press("Enter")
            idle(page)
            page.get_by_role("button", name="Rename", exact=True).click()
            page.get_by_text(f"Renamed #{narrative}.").wait_for(timeout=30_000)
            page.screenshot(path=str(shots / "after-rename.png"), full_page=True)
            assert not dialogs, f"a script ran: {dialogs}"
        finally:
            browser.close()
    db = Store(store).db
    assert db.execute("SELECT label, label_locked FROM narratives WHERE id = ?", [narrative]).fetchone() == (
        "Renamed in the browser", 1)
    assert db.execute("SELECT reviewer, action FROM reviews ORDER BY id DESC LIMIT 1").fetchone() == (
        "Browser Tester", "rename")
    db.conn.close()
    assert all((shots / f"{name}.png").stat().st_size > 10_000 for name in PAGES)
