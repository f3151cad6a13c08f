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
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ADMIN_TOKEN = "e2e-admin-token-0123456789"
TITLE = "Quuxinator retries forever after HTTP 503"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(tmp_path: Path, db: Path, entries: Path):
    """Run ``synapse serve`` over ``db`` and ``entries`` on a free port; yields its base URL."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install -y chromium)")
    port = _free_port()
    env = {**os.environ, "SYNAPSE_ADMIN_TOKEN": ADMIN_TOKEN, "SYNAPSE_MODEL": "hash", "PYTHONUNBUFFERED": "1"}
    log = open(tmp_path / "serve.log", "w+")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "synapse_ai.kb",
            "serve",
            "--port",
            str(port),
            "--db",
            str(db),
            "--entries",
            str(entries),
            "--log-level",
            "warning",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=tmp_path,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
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
def server(tmp_path, template_db, web_entries):
    """``synapse serve`` on a free port, a copy of the indexed database, moderation on."""
    db = tmp_path / "kb.db"
    shutil.copy(template_db, db)
    yield from _serve(tmp_path, db, web_entries)


@pytest.fixture
def private_server(tmp_path, web_entries):
    """The same over a private copy of the entries: an approved edit rewrites an entry file."""
    entries = tmp_path / "entries"
    shutil.copytree(web_entries, entries)
    yield from _serve(tmp_path, tmp_path / "kb.db", entries)


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


def _sign_in(page, server: str) -> None:
    """Sign in as the moderator through the login form (the admin cookie)."""
    page.goto(server + "/admin")
    page.fill("#token", ADMIN_TOKEN)
    page.click("#login-btn")
    page.wait_for_url("**/admin")


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

    context = browser.new_context(
        viewport={"width": 1280, "height": 900}, permissions=["clipboard-read", "clipboard-write"]
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    # The failed validation round answers 422 on purpose; Chromium logs that as a console error.
    page.on(
        "console",
        lambda msg: errors.append(msg.text) if msg.type == "error" and "status of 422" not in msg.text else None,
    )

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
    _sign_in(page, server)
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

    # "This fixed it" is a plain form post (no JS needed): the page comes back counting it once.
    page.click("#fixed-btn")
    page.wait_for_url("**/entries/quuxinator-retries-forever-after-http-503#page-feedback")
    assert page.text_content("#confirmations").strip() == "Fixed it for 1"
    assert page.locator("#fixed-mark").is_visible() and page.locator("#fixed-btn").count() == 0

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
    pages = (
        "/",
        "/search?q=429",
        "/entries",
        "/entries/sequential-tool-calls",
        "/categories",
        "/categories/api-errors",
        "/tags",
        "/submit",
        "/docs",
        "/admin",
        "/no-such-page",
        "/entries/rate-limit-429/edit",
        "/entries/rate-limit-429/history",
    )
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


_CONTRAST = """(pair) => {
  const lum = (css) => {
    const [r, g, b] = css.match(/[\\d.]+/g).slice(0, 3).map(Number).map((v) => {
      v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const [fg, bg] = pair.map(lum);
  return (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
}"""


def _colour(page, selector: str, prop: str) -> str:
    return page.eval_on_selector(selector, f"el => getComputedStyle(el).{prop}")


def test_contributor_features(private_server, browser):
    """Filters and paging, sorting, copy for my agent, suggest an edit from form to approved
    revision, and dark mode (computed colours and their contrast)."""
    server = private_server
    clipboard = ["clipboard-read", "clipboard-write"]
    context = browser.new_context(viewport={"width": 1280, "height": 900}, permissions=clipboard)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    # Search filters: pick a category, the results keep to it, and pages follow.
    page.goto(server + "/search?q=error")
    page.select_option("#filter-category", "mcp")
    page.click("#search-filters button[type=submit]")
    page.wait_for_url("**category=mcp*")
    chips = page.locator("#results li.result .chip-category")
    assert chips.count() >= 1 and set(chips.all_text_contents()) == {"MCP"}
    page.goto(server + "/search?q=tool+call+error")
    page.click("#pager a[rel=next]")
    page.wait_for_url("**page=2*")
    assert page.locator("#results li.result").count() >= 1
    page.goto(server + "/entries")
    page.click("#sort-links a[data-sort=stars]")
    page.wait_for_url("**sort=stars*")
    assert page.text_content("#sort-links .chip-active") == "Most starred"

    # Copy for my agent: the prompt of option 1 reaches the clipboard.
    page.goto(server + "/entries/sequential-tool-calls")
    page.click("#agent-prompt summary")
    page.locator("#agent-prompt .copy-btn").first.click()
    page.wait_for_function("document.querySelector('#agent-prompt .copy-btn').textContent === 'Copied!'")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied.startswith("Apply this fix") and "Quick fix:" in copied and "```" in copied

    # Suggest an edit: form → preview diff → send → moderator approves → the entry and its history show it.
    page.goto(server + "/entries/rate-limit-429")
    page.click("#edit-link")
    page.wait_for_url("**/entries/rate-limit-429/edit")
    text = page.input_value("#markdown")
    page.fill("#markdown", text.replace("## Root Cause", "## Root Cause\n\nThe limit counts per organisation.", 1))
    page.fill("#note", "Whose limit it is")
    page.fill("#author", "Grace")
    page.click("button[value=preview]")
    page.wait_for_load_state()
    assert page.locator("#diff .diff-add", has_text="The limit counts per organisation.").is_visible()
    _shot(page, "edit-preview")
    page.click("button[value=send]")
    page.wait_for_url("**/edits/*")
    assert page.text_content("#status") == "pending"
    status_url = page.url.split("?")[0]
    _sign_in(page, server)
    page.click("#edits-link")
    page.click("#pending-edits a >> nth=0")
    assert page.locator("#diff .diff-add", has_text="The limit counts per organisation.").is_visible()
    page.click("#approve-edit")
    page.wait_for_url("**/admin/edits?done=approved")
    page.goto(status_url)
    assert page.text_content("#status") == "approved"
    page.goto(server + "/entries/rate-limit-429")
    assert page.locator("#root-cause", has_text="The limit counts per organisation.").is_visible()
    page.click("#history-link")
    assert page.text_content("#history li.history-item .history-author") == "Grace"

    # Dark mode follows the system setting: dark background, light text, readable contrast.
    dark = browser.new_context(viewport={"width": 1280, "height": 900}, color_scheme="dark").new_page()
    dark.goto(server + "/entries/sequential-tool-calls")
    background = _colour(dark, "body", "backgroundColor")
    assert "rgba" not in background and "rgba" not in _colour(dark, "#fix .codeblock", "backgroundColor")
    assert dark.evaluate(_CONTRAST, [background, "rgb(0, 0, 0)"]) < 1.5  # close to black
    for selector in ("body", ".entry-summary", "a#raw-link", "#fix .codeblock pre code"):
        owner = "#fix .codeblock" if "codeblock" in selector else "body"
        ratio = dark.evaluate(_CONTRAST, [_colour(dark, selector, "color"), _colour(dark, owner, "backgroundColor")])
        assert ratio >= 4.5, f"{selector}: contrast {ratio:.2f} in dark mode"
    tokens = dark.eval_on_selector_all(
        "#fix .codeblock pre code span", "els => [...new Set(els.map(e => getComputedStyle(e).color))]"
    )
    code_bg = _colour(dark, "#fix .codeblock", "backgroundColor")
    assert min(dark.evaluate(_CONTRAST, [t, code_bg]) for t in tokens) >= 3.0  # every highlight colour
    _shot(dark, "entry-dark")

    # The new pages fit a phone: no sideways scrolling at 390 px.
    phone = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    for path in (
        "/search?q=error&category=mcp",
        "/entries?sort=stars",
        "/entries/rate-limit-429/edit",
        "/entries/rate-limit-429/history",
        status_url.removeprefix(server),
    ):
        phone.goto(server + path)
        overflow = phone.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"{path} scrolls sideways by {overflow}px at 390px"
    assert not errors, errors
