"""Real-browser test support: Debian Chromium, driven by Playwright, against the app served for real.

`live_server` serves one app per test module (CSRF on, TESTING off, the demo data seeded through the CLI) on a
free port; `person` gives each test fresh browser contexts, one per person acting in it. tests/conftest.py
registers these fixtures. A browser test module starts with `skip_without_browser()`: without
/usr/bin/chromium or the `playwright` package it is skipped, unless MATCHMAKER_REQUIRE_BROWSER=1 asks for it
to fail instead.
"""

from __future__ import annotations

import os
import re
import threading
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-quic",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
]
REQUIRE_BROWSER = os.environ.get("MATCHMAKER_REQUIRE_BROWSER") == "1"
MIGRATIONS = Path(__file__).resolve().parent.parent / "matchmaker" / "migrations"


def _missing_browser() -> str | None:
    """Say what is missing to drive a real browser, or None when everything is there."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError as error:
        return f"the playwright package is not installed ({error})"
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        return f"{CHROMIUM} is missing or not executable (apt-get install chromium)"
    return None


MISSING = _missing_browser()


def skip_without_browser() -> None:
    """Skip the calling test module when no real browser can be driven, unless one is required."""
    if MISSING and not REQUIRE_BROWSER:
        pytest.skip(f"browser tests need a real browser: {MISSING}", allow_module_level=True)


if MISSING:
    expect = sync_playwright = None  # the modules that import these are skipped, or the `browser` fixture fails
else:
    from playwright.sync_api import expect, sync_playwright

PASSWORD = "demo-password"
FACTORY = "factory@matchmaker.test"
VENDOR = "vendor@matchmaker.test"
CURATOR = "curator@hkpromo.test"
ADMIN = "admin@matchmaker.test"
FACTORY_ORG = "佛山市南海华锦纺织有限公司"
VENDOR_ORG = "深圳视界智造科技有限公司"
# The organisations' contact details from matchmaker/seed/organizations.json: shown only once a match is connected.
FACTORY_EMAIL, FACTORY_PHONE = "sales@huajin-textile.example.com", "+86 757 8688 1203"
VENDOR_EMAIL, VENDOR_PHONE = "bd@visionmfg.example.com", "+86 755 8660 2318"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
# The page's width against the window's, and the element reaching furthest right, named as a selector.
OVERFLOW_JS = """() => {
  const name = el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
    + [...el.classList].map(c => '.' + c).join('');
  let widest = null, right = 0;
  const scrolls = el => getComputedStyle(el).overflowX !== 'visible';
  const inScroller = el => {
    for (let p = el.parentElement; p; p = p.parentElement) if (scrolls(p)) return true;
    return false;
  };
  for (const el of document.body.querySelectorAll('*')) {
    if (inScroller(el)) continue;
    const r = el.getBoundingClientRect().right + window.scrollX;
    if (r > right) { right = r; widest = el; }
  }
  const path = [];
  for (let el = widest; el && el !== document.body; el = el.parentElement) path.unshift(name(el));
  return {scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth,
          widest: path.slice(-3).join(' > '), right: Math.round(right)};
}"""
TEMPLATE_LEAKS = ("{{", "{%", "Traceback", "UndefinedError", "TemplateSyntaxError", "jinja2")


# ---------------------------------------------------------------- serving the app for real


@pytest.fixture(scope="module")
def live_server(tmp_path_factory):
    """Migrate and seed a temporary SQLite database through the CLI, then serve the app on a free port."""
    from werkzeug.serving import make_server

    from matchmaker import create_app
    from matchmaker.extensions import db
    from matchmaker.jobs import stop_worker_processes

    data_dir = tmp_path_factory.mktemp("browser-data")
    app = create_app(
        {
            "TESTING": False,  # the real configuration: CSRF protection stays on
            "SECRET_KEY": "browser-test-secret",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{data_dir / 'matchmaker.sqlite'}",
            "DATA_DIR": str(data_dir),
        }
    )
    assert app.config.get("WTF_CSRF_ENABLED", True), "browser tests must run with CSRF protection on"
    runner = app.test_cli_runner()
    upgraded = runner.invoke(args=["db", "upgrade", "--directory", str(MIGRATIONS)])
    assert upgraded.exit_code == 0, upgraded.output
    seeded = runner.invoke(args=["seed"])
    assert seeded.exit_code == 0, seeded.output
    assert "new proposals" in seeded.output, seeded.output

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="matchmaker-live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        stop_worker_processes(app)  # the job worker process the first request started
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture(scope="module")
def browser():
    """Launch Debian's Chromium once for the module."""
    if MISSING:
        pytest.fail(f"MATCHMAKER_REQUIRE_BROWSER=1 but the browser tests cannot run: {MISSING}", pytrace=False)
    expect.set_options(timeout=20_000)  # publishing re-indexes and re-matches; the machine may be busy
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def person(browser, live_server):
    """Return a function that opens a fresh browser context for one person, signed in if an email is given.

    The window is a desktop's unless a viewport is given. Every context opened in a test is closed when the test
    ends.
    """
    contexts = []

    def open_page(email: str | None = None, viewport: dict[str, int] | None = None):
        context = browser.new_context(base_url=live_server, locale="en-US", viewport=viewport or DESKTOP)
        context.set_default_timeout(30_000)
        contexts.append(context)
        page = context.new_page()
        if email:
            log_in(page, email)
        return page

    yield open_page
    for context in contexts:
        context.close()


# ---------------------------------------------------------------- what a person does


def log_in(page, email: str) -> None:
    """Sign in through the login form and land on the dashboard."""
    page.goto("/")
    page.locator("header").get_by_role("link", name="Log in").click()
    expect(page.get_by_role("heading", name="Log in", level=1)).to_be_visible()
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/dashboard$"))
    expect(page.get_by_role("heading", name="Dashboard", level=1)).to_be_visible()


def switch_language(page, name: str) -> None:
    """Choose a language with the top bar's switch, as a person would (a signed-in one keeps it in the profile)."""
    button = page.locator("#language-switch").get_by_role("button", name=name)
    if button.is_enabled():  # the language shown already is not a button one can press
        button.click()
    expect(button).to_be_disabled()


def assert_renders_cleanly(page) -> None:
    """Fail on raw template syntax or a traceback showing through the page."""
    text = page.locator("body").inner_text()
    for leak in TEMPLATE_LEAKS:
        assert leak not in text, f"{page.url} shows {leak!r}"


def unread_in_header(page) -> int:
    """Return the unread count the header badge shows (no badge means none)."""
    badge = page.locator("header #unread-count")
    return int(badge.inner_text()) if badge.count() else 0


def tick(page, field: str, values: list[str]) -> None:
    """Tick these values in a checkbox (or radio) list of the posting form, found by its legend."""
    choices = page.get_by_role("group", name=field, exact=True)
    for value in values:
        choices.locator(f'input[value="{value}"]').check()


def ticked(page, field: str) -> list[str]:
    """Return the values ticked in a checkbox or radio list of the posting form."""
    choices = page.get_by_role("group", name=field, exact=True)
    return [box.get_attribute("value") for box in choices.locator("input:checked").all()]


def fill_demand_form(page, *, title, description, scenarios, industry, city, budget_min, budget_max) -> None:
    """Type a demand into the posting form."""
    page.get_by_label("Title").fill(title)
    page.get_by_label("Description").fill(description)
    tick(page, "AI scenarios", scenarios)
    tick(page, "Industry", [industry])
    page.get_by_label("City").fill(city)
    page.get_by_label("Budget from (CNY)").fill(str(budget_min))
    page.get_by_label("Budget up to (CNY)").fill(str(budget_max))
    page.get_by_label("Language").select_option("zh-Hans")


def post_demand(page, **fields) -> str:
    """From the dashboard, post and publish a demand; return the path of its page."""
    page.goto("/dashboard")
    page.get_by_role("link", name="Post a new demand").click()
    fill_demand_form(page, **fields)
    page.get_by_role("button", name="Publish").click()
    expect(page.get_by_role("heading", name=fields["title"], level=1)).to_be_visible()
    expect(page.get_by_role("status").filter(has_text="Saved and published.")).to_be_visible()
    return page.url


def find_row(page, *texts: str):
    """Return the first table row holding every text, following the list's "Next" links as a person would."""
    while True:
        page.wait_for_load_state()
        row = page.locator("tbody tr")
        for text in texts:
            row = row.filter(has_text=text)
        if row.count():
            return row.first
        following = page.locator("nav.pagination").get_by_role("link", name=re.compile("Next"))
        if not following.count():
            raise AssertionError(f"no row with {texts!r} on any page of {page.url}")
        target = following.get_attribute("href")
        following.click()
        expect(page).to_have_url(re.compile(re.escape(target) + "$"))
