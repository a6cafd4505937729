"""The role journeys in Chinese, in a real browser held at a phone's width (390 px).

A manufacturer registers and posts a demand in the Simplified Chinese interface and sees its proposals; a
vendor posts a fitting offering in the Traditional one; a curator introduces the two; both accept, and only
then does each see the other's contact details; the curator's analytics draw their charts. The tests run in
order on one live server and share the three people's browser contexts, so each signs in once. On every page
of the journey the page must be no wider than the window; a screenshot of each step goes to
test-artifacts/<test>/<step>.png.

Interface texts are looked up in the committed catalogues (`t(...)` below), so the tests follow the wording
and fail when a text the journey relies on has no translation.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.support import Translations

from .browser_support import (
    CURATOR,
    OVERFLOW_JS,
    PHONE,
    VENDOR,
    VENDOR_EMAIL,
    VENDOR_ORG,
    VENDOR_PHONE,
    assert_renders_cleanly,
    expect,
    log_in,
    skip_without_browser,
    switch_language,
    tick,
)

pytestmark = pytest.mark.browser
skip_without_browser()

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
CATALOGUES = ROOT / "matchmaker" / "translations"
HANS, HANT = "zh_Hans", "zh_Hant"
SWITCH = {HANS: "简体中文", HANT: "繁體中文", "en": "English"}

# A Foshan plating shop that is not in the demo data, and what it asks for; the vendor answers in Traditional.
FACTORY = {
    "email": "zhang.wei@nanhai-plating.example",
    "password": "Nanhai plating 2026",
    "name": "张伟",
    "organization": "佛山市南海区精镀五金制品有限公司",
    "city": "佛山市南海区",
}
DEMAND = {
    "title": "电镀槽液浓度AI预测与自动补加",
    "description": "我们有镀镍、镀铬生产线6条，槽液浓度靠人工每天化验两次，补加药剂凭经验，镀层厚度波动大、"
    "返工多。希望用传感器数据和AI模型实时预测槽液浓度，自动计算补加量并联动加药泵，降低药剂消耗和返工率。",
    "scenarios": ["parameter_optimisation", "formula_optimisation"],
    "industry": "33",
    "budget_min": 200000,
    "budget_max": 600000,
}
OFFERING = {
    "title": "電鍍槽液濃度AI預測與自動補加系統",
    "description": "針對鍍鎳、鍍鉻生產線，以傳感器數據和AI模型即時預測槽液濃度，自動計算補加量並聯動加藥泵，"
    "取代人工化驗和憑經驗補加，穩定鍍層厚度，降低藥劑消耗和返工率。已在東莞、佛山多家電鍍廠上線。",
    "scenarios": ["parameter_optimisation", "formula_optimisation"],
    "industries": ["33"],
    "deployment_modes": ["on_premises", "edge"],
    "price_min": 150000,
    "price_max": 500000,
    "regions": ["Guangdong"],
}


def translator(locale: str):
    """Return a gettext for one locale that refuses a text the catalogue leaves untranslated."""
    catalogue = Translations.load(str(CATALOGUES), [locale])

    def t(message: str, **values) -> str:
        text = catalogue.gettext(message)
        assert text != message, f"{message!r} has no {locale} translation"
        return text % values if values else text

    return t


T = {HANS: translator(HANS), HANT: translator(HANT)}


class Journey:
    """The people of the journey, each with one browser context kept for the whole module, and what they made."""

    def __init__(self, browser, base_url: str):
        self.browser, self.base_url = browser, base_url
        self.pages: dict[str, object] = {}
        self.shots: dict[str, int] = {}
        self.demand_url = self.offering_url = self.match_path = ""

    def page(self, who: str):
        """Return this person's page, opening their phone-sized browser window the first time."""
        if who not in self.pages:
            context = self.browser.new_context(base_url=self.base_url, locale="en-US", viewport=PHONE)
            context.set_default_timeout(30_000)
            self.pages[who] = context.new_page()
        return self.pages[who]

    def close(self) -> None:
        for page in self.pages.values():
            page.context.close()


@pytest.fixture(scope="module")
def journey(browser, live_server):
    people = Journey(browser, live_server)
    yield people
    people.close()


@pytest.fixture
def step(journey, request):
    """Return a function that checks the page a step ends on fits the phone, and screenshots it."""
    folder = ARTIFACTS / re.sub(r"[^\w.-]+", "_", request.node.name)
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.png"):
        old.unlink()
    count = [0]

    def check(page, name: str) -> None:
        page.wait_for_load_state()
        assert_renders_cleanly(page)
        measure = page.evaluate(OVERFLOW_JS)
        count[0] += 1
        page.screenshot(path=folder / f"{count[0]:02d}-{name}.png", full_page=True)
        # Headless Chromium's full-page capture leaves clicks landing nowhere until the window is resized.
        page.set_viewport_size({**PHONE, "height": PHONE["height"] + 1})
        page.set_viewport_size(PHONE)
        assert measure["scrollWidth"] <= measure["innerWidth"], (
            f"{name} ({page.url}) is {measure['scrollWidth']} px wide in a {measure['innerWidth']} px window; "
            f"widest: {measure['widest']} reaching {measure['right']} px"
        )

    return check


def html_lang(page, tag: str) -> None:
    expect(page.locator("html")).to_have_attribute("lang", tag)


def flash(page, text: str):
    return expect(page.get_by_role("status").filter(has_text=text))


def next_step_count(page, name: str) -> int:
    """Return the count a next-step block of the dashboard shows (answer, proposals, drafts)."""
    return int(page.locator(f"#todo-{name} .stat-number").inner_text())


# ---------------------------------------------------------------- 1. the manufacturer, in Simplified Chinese


def test_a_manufacturer_registers_and_posts_a_demand_in_simplified_chinese_and_sees_proposals(journey, step):
    t = T[HANS]
    page = journey.page("factory")
    page.goto("/")
    switch_language(page, SWITCH[HANS])
    html_lang(page, "zh-Hans")
    page.reload()  # the choice survives a reload
    html_lang(page, "zh-Hans")
    expect(page.locator("#language-switch").get_by_role("button", name=SWITCH[HANS])).to_be_disabled()
    step(page, "landing")

    page.locator("header").get_by_role("link", name=t("Register")).click()
    expect(page.get_by_role("heading", name=t("Register"), level=1)).to_be_visible()
    page.get_by_label(t("Manufacturer"), exact=True).check()
    page.get_by_label(t("Organisation name")).fill(FACTORY["organization"])
    page.get_by_label(t("City")).fill(FACTORY["city"])
    page.get_by_label(t("Your name")).fill(FACTORY["name"])
    page.get_by_label(t("Email"), exact=True).fill(FACTORY["email"])
    page.get_by_label(t("Password"), exact=True).fill(FACTORY["password"])
    page.get_by_label(t("Repeat the password")).fill(FACTORY["password"])
    step(page, "register")
    page.get_by_role("button", name=t("Create account")).click()

    expect(page).to_have_url(re.compile(r"/dashboard$"))
    flash(page, t("Welcome to Matchmaker, %(name)s.", name=FACTORY["name"])).to_be_visible()
    html_lang(page, "zh-Hans")
    expect(page.get_by_role("heading", name=t("What to do next"), level=2)).to_be_visible()
    assert [next_step_count(page, name) for name in ("answer", "proposals", "drafts")] == [0, 0, 0]
    step(page, "dashboard-new-account")

    page.get_by_role("link", name=t("Post a new demand")).click()
    page.get_by_label(t("Title")).fill(DEMAND["title"])
    page.get_by_label(t("Description")).fill(DEMAND["description"])
    tick(page, t("AI scenarios"), DEMAND["scenarios"])
    tick(page, t("Industry"), [DEMAND["industry"]])
    page.get_by_label(t("City")).fill(FACTORY["city"])
    page.get_by_label(t("Budget from (CNY)")).fill(str(DEMAND["budget_min"]))
    page.get_by_label(t("Budget up to (CNY)")).fill(str(DEMAND["budget_max"]))
    page.get_by_label(t("Language")).select_option("zh-Hans")
    step(page, "demand-form")
    page.get_by_role("button", name=t("Publish")).click()

    expect(page.get_by_role("heading", name=DEMAND["title"], level=1)).to_be_visible()
    flash(page, t("Saved and published.")).to_be_visible()
    journey.demand_url = page.url
    proposals = page.locator("#matches tbody tr")
    expect(proposals.first).to_be_visible()  # the engine proposed vendors at once
    expect(page.locator("#matches #curator-review-notice")).to_contain_text("投资推广机构")
    expect(proposals.first.locator("td").nth(2)).to_have_text(t("Proposed"))
    proposed = proposals.count()
    step(page, "demand-with-proposals")

    page.goto("/dashboard")
    assert next_step_count(page, "proposals") == proposed
    page.locator("#todo-proposals").click()
    expect(page).to_have_url(re.compile(r"/matches/\?status=proposed$"))
    expect(page.locator("tbody tr").filter(has_text=DEMAND["title"])).to_have_count(proposed)
    expect(page.locator("#curator-review-notice")).to_be_visible()
    step(page, "proposals-list")

    # Signing in again elsewhere, the interface is in the language registered in, kept in the profile.
    elsewhere = journey.browser.new_context(base_url=journey.base_url, locale="en-US", viewport=PHONE)
    try:
        other = elsewhere.new_page()
        other.goto("/auth/login")
        html_lang(other, "en")
        other.get_by_label("Email", exact=True).fill(FACTORY["email"])
        other.get_by_label("Password", exact=True).fill(FACTORY["password"])
        other.get_by_role("button", name="Log in").click()
        expect(other).to_have_url(re.compile(r"/dashboard$"))
        html_lang(other, "zh-Hans")
        expect(other.get_by_role("heading", name=t("Dashboard"), level=1)).to_be_visible()
    finally:
        elsewhere.close()


# ---------------------------------------------------------------- 2. the vendor, in Traditional Chinese


def test_a_vendor_posts_a_fitting_offering_in_traditional_chinese(journey, step):
    assert journey.demand_url, "the manufacturer's journey must run first"
    t = T[HANT]
    page = journey.page("vendor")
    log_in(page, VENDOR)
    switch_language(page, SWITCH[HANT])
    page.reload()
    html_lang(page, "zh-Hant")
    expect(page.get_by_role("heading", name=t("Dashboard"), level=1)).to_be_visible()
    step(page, "dashboard")

    page.get_by_role("link", name=t("Post a new offering")).click()
    page.get_by_label(t("Title")).fill(OFFERING["title"])
    page.get_by_label(t("Description")).fill(OFFERING["description"])
    tick(page, t("AI scenarios"), OFFERING["scenarios"])
    tick(page, t("Industries served"), OFFERING["industries"])
    tick(page, t("Deployment modes"), OFFERING["deployment_modes"])
    page.get_by_label(t("Price from (CNY)")).fill(str(OFFERING["price_min"]))
    page.get_by_label(t("Price up to (CNY)")).fill(str(OFFERING["price_max"]))
    tick(page, t("Regions served"), OFFERING["regions"])
    page.get_by_label(t("Language")).select_option("zh-Hant")
    step(page, "offering-form")
    page.get_by_role("button", name=t("Publish")).click()

    expect(page.get_by_role("heading", name=OFFERING["title"], level=1)).to_be_visible()
    flash(page, t("Saved and published.")).to_be_visible()
    journey.offering_url = page.url
    pairing = page.locator("#matches tbody tr").filter(has_text=DEMAND["title"])
    expect(pairing).to_have_count(1)  # proposed for the Simplified demand across scripts
    expect(pairing).to_contain_text(FACTORY["organization"])
    expect(page.locator("#matches #curator-review-notice")).to_contain_text("投資推廣機構")
    journey.match_path = pairing.get_by_role("link").first.get_attribute("href")
    assert re.fullmatch(r"/matches/\d+", journey.match_path), journey.match_path
    step(page, "offering-with-proposals")

    pairing.get_by_role("link").first.click()
    expect(page.locator("#match-status")).to_have_text(t("Proposed"))
    expect(page.locator("#curator-review-notice")).to_contain_text("投資推廣機構")
    expect(page.locator("#contacts")).not_to_contain_text(FACTORY["organization"])
    step(page, "match-proposed")


# ---------------------------------------------------------------- 3. the curator introduces


def test_a_curator_introduces_the_two(journey, step):
    assert journey.match_path, "the vendor's journey must run first"
    t = T[HANT]
    page = journey.page("curator")
    log_in(page, CURATOR)
    switch_language(page, SWITCH[HANT])
    page.goto("/curation" + journey.match_path)
    expect(page.locator("#match-status")).to_have_text(t("Proposed"))
    expect(page.locator("body")).to_contain_text(DEMAND["title"])
    expect(page.locator("body")).to_contain_text(OFFERING["title"])
    step(page, "decision-page")

    page.get_by_label(t("Action"), exact=True).select_option(label=t("Introduce"))
    page.get_by_label(t("Note"), exact=True).fill("雙方同在廣東，槽液數據齊全，建議先做一條鍍鎳線試點。")
    page.get_by_role("button", name=t("Apply")).click()
    expect(page.locator("#match-status")).to_have_text(t("Introduced"))
    step(page, "introduced")


# ---------------------------------------------------------------- 4. both accept; contacts only then


def test_both_accept_and_only_then_see_each_others_contacts(journey, step):
    assert journey.match_path, "the curator's step must run first"
    hans, hant = T[HANS], T[HANT]
    factory, vendor = journey.page("factory"), journey.page("vendor")

    # The Traditional-speaking curator's introduction reaches the factory in Simplified.
    factory.goto("/notifications/")
    introduced = hans("A curator introduced “%(demand)s” and “%(offering)s”. Please accept or decline by %(deadline)s.")
    before_the_date = introduced.split("%(deadline)s")[0] % {"demand": DEMAND["title"], "offering": OFFERING["title"]}
    expect(factory.locator("article.notification").filter(has_text=before_the_date)).to_have_count(1)
    step(factory, "factory-notifications")

    factory.goto("/dashboard")
    assert next_step_count(factory, "answer") == 1
    step(factory, "factory-dashboard-one-to-answer")
    factory.locator("#todo-answer").click()
    expect(factory).to_have_url(re.compile(r"/matches/\?.*to_answer=1"))
    row = factory.locator("tbody tr")
    expect(row).to_have_count(1)
    row.get_by_role("link").first.click()
    expect(factory).to_have_url(re.compile(re.escape(journey.match_path) + "$"))
    expect(factory.locator("#match-status")).to_have_text(hans("Introduced"))
    expect(factory.locator("#contacts")).to_contain_text(
        hans("Contact details are shared once both sides accept the introduction.")
    )
    expect(factory.locator("body")).not_to_contain_text(VENDOR_EMAIL)
    expect(factory.locator("body")).not_to_contain_text(VENDOR_PHONE)
    step(factory, "factory-match-introduced")
    factory.get_by_role("button", name=hans("Accept")).click()
    flash(factory, hans("You accepted this introduction.")).to_be_visible()
    expect(factory.locator("#match-status")).to_have_text(hans("Introduced"))  # the vendor has not answered yet
    expect(factory.locator("body")).not_to_contain_text(VENDOR_EMAIL)
    step(factory, "factory-accepted-waiting")
    factory.goto("/dashboard")
    assert next_step_count(factory, "answer") == 0

    # The factory acted in Simplified; the vendor reads of it in Traditional, its own language.
    vendor.goto("/notifications/")
    accepted = hant(
        "%(org)s accepted the introduction of “%(demand)s” and “%(offering)s”.",
        org=FACTORY["organization"],
        demand=DEMAND["title"],
        offering=OFFERING["title"],
    )
    expect(vendor.locator("article.notification").filter(has_text=accepted)).to_have_count(1)
    step(vendor, "vendor-notifications")

    vendor.goto("/dashboard")
    assert next_step_count(vendor, "answer") == 1
    vendor.locator("#todo-answer").click()
    vendor.locator("tbody tr").filter(has_text=DEMAND["title"]).get_by_role("link").first.click()
    expect(vendor.locator("#match-status")).to_have_text(hant("Introduced"))
    expect(vendor.locator("#contacts")).not_to_contain_text(FACTORY["organization"])
    step(vendor, "vendor-match-introduced")
    vendor.get_by_role("button", name=hant("Accept")).click()
    flash(vendor, hant("You accepted this introduction.")).to_be_visible()
    expect(vendor.locator("#match-status")).to_have_text(hant("Connected"))
    expect(vendor.locator("#contacts")).to_contain_text(FACTORY["organization"])
    step(vendor, "vendor-connected")

    factory.goto(journey.match_path)
    expect(factory.locator("#match-status")).to_have_text(hans("Connected"))
    contacts = factory.locator("#contacts")
    expect(contacts).to_contain_text(VENDOR_ORG)
    expect(contacts.get_by_role("link", name=VENDOR_EMAIL)).to_have_attribute("href", f"mailto:{VENDOR_EMAIL}")
    expect(contacts).to_contain_text(VENDOR_PHONE)
    step(factory, "factory-connected")
    vendor.goto("/dashboard")
    assert next_step_count(vendor, "answer") == 0


# ---------------------------------------------------------------- 5. the curator's analytics


def test_the_analytics_draw_their_charts_and_the_supply_gaps_have_bars(journey, step):
    t = T[HANT]
    page = journey.page("curator")
    if page.url in ("", "about:blank"):
        log_in(page, CURATOR)
        switch_language(page, SWITCH[HANT])
    page.goto("/curation/analytics")
    expect(page.get_by_role("heading", name=t("Analytics"), level=1)).to_be_visible()
    for name in ("gaps", "scenarios", "industries", "funnel", "cities"):
        chart = page.locator(f"section#{name} svg[role=img]")
        expect(chart).to_be_visible()
        assert chart.bounding_box()["width"] > 0, name
    bars = page.eval_on_selector_all(
        "section#gaps svg rect", "rects => rects.filter(r => r.getBBox().width > 0 && r.getBBox().height > 10).length"
    )
    assert bars > 0, "the supply-gap chart draws no bars"
    expect(page.locator("section#gaps svg title")).to_have_text(t("Supply gaps: vendors to recruit"))
    step(page, "analytics")
