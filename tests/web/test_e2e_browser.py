"""End to end in a real browser: ``synapse serve`` in a subprocess, Debian's chromium via Playwright.

One journey through the site: home → search → the seed entry → submit a solution (with one failed
validation round) → approve it as the moderator → find it by search → star it.  Screenshots of the
main pages (desktop and 390 px phone width) go to build/screenshots/.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "build" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ADMIN_TOKEN = "e2e-admin-token-0123456789"
TITLE = "Quuxinator retries forever after HTTP 503"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(tmp_path, template_db, web_entries):
    """``synapse serve`` on a free port, a copy of the indexed database, moderation on."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install -y chromium)")
    db = tmp_path / "kb.db"
    shutil.copy(template_db, db)
    port = _free_port()
    env = {**os.environ, "SYNAPSE_ADMIN_TOKEN": ADMIN_TOKEN, "SYNAPSE_MODEL": "hash", "PYTHONUNBUFFERED": "1"}
    log = open(tmp_path / "serve.log", "w+")
    proc = subprocess.Popen(
        [sys.executable, "-m", "synapse_ai.kb", "serve", "--port", str(port), "--db", str(db), "--entries", str(web_entries), "--log-level", "warning"],
        env=env, stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(base + "/", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                log.seek(0)
                pytest.fail(f"synapse serve did not start:\n{log.read()}")
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


def _shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.evaluate("window.scrollTo(0, 0)")  # sticky bars otherwise land mid-image
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _fill_submission(page, *, pattern: str, sources: str) -> None:
    page.fill("#title", TITLE)
    page.fill("#summary", "The quuxinator client retries 503 responses without a limit; cap retries with backoff.")
    page.fill("#quick_fix", "Cap the quuxinator client's retries at 3 with exponential backoff.")
    page.select_option("#category", "api-errors")
    page.fill("#tags", "quuxinator, http-503, retries")
    page.fill("#patterns", pattern)
    page.fill("#symptom", "The agent hangs; logs repeat `quuxinator: HTTP 503, retrying` for ever.")
    page.fill("#root_cause", "The client's default retry policy has no maximum.")
    page.fill("#option_title_1", "Cap the retries")
    page.fill("#option_body_1", "Pass a retry limit:\n\n```python\nclient = dict(max_retries=5)\n```")
    page.fill("#environment", "quuxinator 2.x")
    page.fill("#sources", sources)
    page.fill("#savings", "No token savings; stops a hung session.")


def test_site_journey(server, browser):
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 1280, "height": 900}, permissions=["clipboard-read", "clipboard-write"])
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    # The failed validation round answers 422 on purpose; Chromium logs that as a console error.
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" and "status of 422" not in msg.text else None)

    # Home: a prominent search box; search from it.
    page.goto(server + "/")
    assert page.locator("form.searchbox-big input[name=q]").is_visible()
    _shot(page, "home")
    page.fill("form.searchbox-big input[name=q]", "tool calls run one after another")
    page.press("form.searchbox-big input[name=q]", "Enter")
    page.wait_for_url("**/search?q=*")
    results = page.locator("#results li.result")
    assert results.count() >= 1
    assert page.locator("#results li.result mark").count() >= 1
    _shot(page, "search")

    # The seed entry: three sections and highlighted code with a working copy button.
    page.click("#results li.result[data-slug=sequential-tool-calls] h2 a")
    page.wait_for_url("**/entries/sequential-tool-calls")
    for anchor in ("#symptom", "#root-cause", "#fix"):
        assert page.locator(anchor).is_visible()
    assert page.locator("#fix .codeblock pre.highlight code span").count() > 10
    copy = page.locator("#fix .codeblock .copy-btn").first
    assert copy.is_visible()  # shown once JS runs
    copy.click()
    expect(copy).to_have_text("Copied!")  # polls without eval, which the site's CSP forbids
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == page.locator("#fix .codeblock pre code").first.text_content()
    _shot(page, "entry")

    # Submit: a failed validation round keeps the text and says what is wrong, then a preview.
    page.goto(server + "/submit")
    page.click("[data-add-option]")  # JS adds a fourth option slot
    assert page.locator("[data-option-slot]").count() == 4
    _fill_submission(page, pattern="quuxinator: HTTP 503, retrying (", sources="not a url")
    page.locator("#duplicates li").first.wait_for()  # live "similar entries" hint from /api/search
    page.click("#send-btn")
    page.wait_for_load_state()
    assert page.locator("#err-patterns").is_visible() and page.locator("#err-sources").is_visible()
    assert page.input_value("#title") == TITLE
    page.fill("#patterns", r"quuxinator: HTTP 503, retrying")
    page.fill("#sources", "https://example.com/quuxinator/retries")
    page.click("#preview-btn")
    page.wait_for_load_state()
    assert page.locator("#preview #symptom").is_visible() and page.locator("#preview #option-1").is_visible()
    _shot(page, "submit")
    page.click("#send-from-preview")
    page.wait_for_url("**/submissions/*")
    assert page.text_content("#status") == "pending"
    status_url = page.url.split("?")[0]

    # Moderation: sign in with the token and approve.
    page.goto(server + "/admin")
    page.fill("#token", ADMIN_TOKEN)
    page.click("#login-btn")
    page.wait_for_url("**/admin")
    page.click(f"#queue li.queue-item >> text={TITLE}")
    page.click("#approve-btn")
    page.wait_for_url("**/admin?done=approved*")
    assert page.locator("#done-link").is_visible()
    _shot(page, "admin")
    page.goto(status_url)
    assert page.text_content("#status") == "approved"

    # The new entry is searchable at once (its pattern matches the raw error text) and can be starred.
    page.goto(server + "/search?q=" + "quuxinator: HTTP 503, retrying")
    assert page.locator("#confident-match").is_visible()
    page.click("#results li.result >> nth=0 >> h2 a")
    page.wait_for_url("**/entries/quuxinator-retries-forever-after-http-503")
    star = page.locator("form.star-form button")
    assert star.get_attribute("aria-pressed") == "false"
    star.click()
    expect(star).to_have_attribute("aria-pressed", "true")
    assert page.text_content("[data-star-count]") == "1"
    page.reload()
    assert page.text_content("[data-star-count]") == "1" and "is-starred" in star.get_attribute("class")

    # Phone width: no horizontal scrolling, screenshots for review.
    phone = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    for name, path in (("home-390", "/"), ("entry-390", "/entries/sequential-tool-calls"), ("submit-390", "/submit")):
        phone.goto(server + path)
        overflow = phone.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"{path} scrolls sideways by {overflow}px at 390px"
        _shot(phone, name)
    assert not errors, errors


def test_search_box_on_every_page_at_every_width(server, browser):
    """M4 of the web review: below 1000 px the header search box used to disappear, so a phone user
    on an entry had to go back home to search."""
    pages = ("/", "/search?q=429", "/entries", "/entries/sequential-tool-calls", "/categories",
             "/categories/api-errors", "/tags", "/submit", "/docs", "/admin", "/no-such-page")
    for width, height in ((390, 844), (800, 1000), (1280, 900)):
        phone = width < 1000
        view = browser.new_page(viewport={"width": width, "height": height}, is_mobile=phone, has_touch=phone)
        for path in pages:
            view.goto(server + path)
            boxes = view.locator("form[role=search] input[name=q]")
            visible = [i for i in range(boxes.count()) if boxes.nth(i).is_visible()]
            assert visible, f"no visible search box on {path} at {width}px"
            box = boxes.nth(visible[0]).bounding_box()
            assert box["width"] >= min(200, width * 0.5), (path, width, box)
            assert box["x"] >= 0 and box["x"] + box["width"] <= width, (path, width, box)
            overflow = view.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
            assert overflow <= 0, f"{path} scrolls sideways by {overflow}px at {width}px"
        if width == 390:
            view.goto(server + "/entries/sequential-tool-calls")
            _shot(view, "entry-search-390")
            view.fill("form.topsearch input[name=q]", "429 rate_limit_error")
            view.press("form.topsearch input[name=q]", "Enter")
            view.wait_for_url("**/search?q=*")
            assert view.locator("#results li.result").count() >= 1
        view.close()


def test_dark_mode_follows_the_system_setting(server, browser):
    for scheme, dark in (("light", False), ("dark", True)):
        view = browser.new_page(viewport={"width": 1280, "height": 900}, color_scheme=scheme)
        view.goto(server + "/entries/sequential-tool-calls")
        background = view.evaluate("getComputedStyle(document.body).backgroundColor")
        text = view.evaluate("getComputedStyle(document.body).color")
        rgb = [[int(x) for x in c[c.index("(") + 1:c.index(")")].split(",")[:3]] for c in (background, text)]
        brightness = [sum(channels) for channels in rgb]
        assert (brightness[0] < brightness[1]) is dark, (scheme, background, text)
        if dark:
            _shot(view, "entry-dark")
        view.close()


def test_copy_for_my_agent_puts_the_chosen_option_on_the_clipboard(server, browser):
    from playwright.sync_api import expect

    permissions = ["clipboard-read", "clipboard-write"]
    context = browser.new_context(viewport={"width": 1280, "height": 900}, permissions=permissions)
    page = context.new_page()
    page.goto(server + "/entries/sequential-tool-calls")
    option = page.locator("article.fix-option").nth(1)
    button = option.locator("[data-copy-prompt]")
    expect(button).to_be_visible()  # JS shows it; without JS there is nothing to click
    button.click()
    expect(button).to_have_text("Copied: paste it to your agent")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == option.locator(".agent-prompt-text").text_content()
    assert "Chosen fix, option 2:" in copied and copied.endswith("/entries/sequential-tool-calls")
    context.close()
