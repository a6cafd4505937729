"""Real-browser end-to-end tests: Debian Chromium, driven by Playwright, against the app served for real.

The fixtures and the steps a person takes live in tests/browser_support.py. Screenshots of the pages the flows
end on are saved into each test's tmp_path.
"""

from __future__ import annotations

import re

import pytest

from .browser_support import (
    ADMIN,
    CURATOR,
    FACTORY,
    FACTORY_EMAIL,
    FACTORY_ORG,
    FACTORY_PHONE,
    VENDOR,
    VENDOR_EMAIL,
    VENDOR_ORG,
    VENDOR_PHONE,
    assert_renders_cleanly,
    expect,
    fill_demand_form,
    find_row,
    log_in,
    post_demand,
    skip_without_browser,
    tick,
    ticked,
    unread_in_header,
)

pytestmark = pytest.mark.browser
skip_without_browser()


# ---------------------------------------------------------------- 1. signing in and out


@pytest.mark.parametrize(
    "email, name, sections",
    [
        (FACTORY, "梁国华", ["Your organisation’s demands"]),
        (VENDOR, "王磊", ["Your organisation’s offerings"]),
        (CURATOR, "陳嘉欣 Karen Chan", ["Curation"]),
        (ADMIN, "Platform Admin 平台管理員", ["Administration", "Curation"]),
    ],
    ids=["factory", "vendor", "curator", "admin"],
)
def test_each_demo_account_signs_in_sees_its_dashboard_and_logs_out(person, tmp_path, email, name, sections):
    page = person()
    log_in(page, email)

    header = page.locator("header.topbar")
    expect(header.get_by_role("link", name=name)).to_be_visible()
    expect(page.locator("main")).to_contain_text(name)
    for section in sections:
        expect(page.get_by_role("heading", name=section, level=2)).to_be_visible()
    if email == FACTORY:
        expect(page.get_by_role("link", name="Post a new demand")).to_be_visible()
        expect(page.locator("#demands")).to_contain_text("坯布、色布表面瑕疵AI自动检测")  # its seeded demand
    elif email == VENDOR:
        expect(page.get_by_role("link", name="Post a new offering")).to_be_visible()
        expect(page.locator("#offerings")).to_contain_text("小样本工业表面缺陷检测平台")
    else:
        expect(page.get_by_role("link", name="Open the curation queue")).to_be_visible()
        expect(header.get_by_role("link", name="Curation")).to_be_visible()
    assert_renders_cleanly(page)
    page.screenshot(path=tmp_path / f"dashboard-{email.split('@')[0]}.png", full_page=True)

    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("status").filter(has_text="You are logged out.")).to_be_visible()
    expect(header.get_by_role("link", name="Log in")).to_be_visible()
    expect(header.get_by_role("button", name="Log out")).to_have_count(0)
    page.goto("/dashboard")
    expect(page).to_have_url(re.compile(r"/auth/login\?next=%2Fdashboard$|/auth/login\?next=/dashboard$"))


def test_wrong_password_is_refused_on_the_form(person):
    page = person()
    page.goto("/auth/login")
    page.get_by_label("Email", exact=True).fill(FACTORY)
    page.get_by_label("Password", exact=True).fill("not-the-password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_be_visible()
    expect(page.get_by_label("Email", exact=True)).to_have_value(FACTORY)
    expect(page.get_by_role("heading", name="Log in", level=1)).to_be_visible()


# ---------------------------------------------------------------- 2. a manufacturer posts a demand


def test_manufacturer_posts_a_demand_and_a_budget_error_keeps_what_was_typed(person, tmp_path):
    page = person(FACTORY)
    demand = {
        "title": "印花布图案错位与色差AI在线检测",
        "description": "印花车间有圆网印花机4台，图案错位、套色不准和色差主要靠人工对灯箱检查，"
        "漏检后整批返工。希望在出布端加装工业相机，用AI实时识别错位和色差并报警，"
        "同时记录每卷布的瑕疵位置，方便追溯。",
        "scenarios": ["visual_inspection", "quality_traceability"],
        "industry": "17",
        "city": "佛山市南海区",
        "budget_min": 500000,
        "budget_max": 200000,  # below the minimum: refused
    }
    page.get_by_role("link", name="Post a new demand").click()
    expect(page.get_by_role("heading", name=re.compile("Post a demand"), level=1)).to_be_visible()
    fill_demand_form(page, **demand)
    page.get_by_role("button", name="Publish").click()

    # The refusal sits next to the budget field, and nothing typed is lost.
    budget_max = page.get_by_label("Budget up to (CNY)")
    budget_field = page.locator("div.field.has-error").filter(has=budget_max)
    expect(budget_field.get_by_role("alert")).to_have_text("The minimum cannot be more than the maximum.")
    expect(page.locator("div.field.has-error")).to_have_count(1)
    expect(page.get_by_label("Title")).to_have_value(demand["title"])
    expect(page.get_by_label("Description")).to_have_value(demand["description"])
    assert ticked(page, "AI scenarios") == demand["scenarios"]
    assert ticked(page, "Industry") == ["17"]
    expect(page.get_by_label("City")).to_have_value(demand["city"])
    expect(page.get_by_label("Budget from (CNY)")).to_have_value("500000")
    expect(budget_max).to_have_value("200000")
    expect(page.get_by_label("Language")).to_have_value("zh-Hans")
    assert_renders_cleanly(page)

    page.get_by_label("Budget from (CNY)").fill("150000")
    budget_max.fill("400000")
    page.get_by_role("button", name="Publish").click()

    expect(page.get_by_role("heading", name=demand["title"], level=1)).to_be_visible()
    expect(page.get_by_role("status").filter(has_text="Saved and published.")).to_be_visible()
    card = page.locator("article.card").first
    expect(card).to_contain_text("Published")
    expect(card).to_contain_text("图案错位、套色不准和色差")
    expect(card.get_by_role("row", name=re.compile("Industry"))).to_contain_text("Textiles")
    expect(card.get_by_role("row", name=re.compile("AI scenarios"))).to_contain_text("Visual inspection")
    expect(card.get_by_role("row", name=re.compile("City"))).to_contain_text("佛山市南海区")
    expect(card.get_by_role("row", name=re.compile("Budget"))).to_contain_text("CN¥150,000 – CN¥400,000")
    expect(card).to_contain_text(FACTORY_ORG)
    expect(page.get_by_role("button", name="Publish")).to_have_count(0)  # published: nothing left to publish
    assert_renders_cleanly(page)
    page.screenshot(path=tmp_path / "demand-detail.png", full_page=True)

    page.get_by_role("link", name="« Demands").click()
    expect(page.get_by_role("heading", name="Demands", level=1)).to_be_visible()
    listed = page.locator("article.posting").filter(has=page.get_by_role("link", name=demand["title"]))
    expect(listed).to_have_count(1)
    expect(listed).to_contain_text("CN¥150,000 – CN¥400,000")
    listed.get_by_role("link", name=demand["title"]).click()
    expect(page.get_by_role("heading", name=demand["title"], level=1)).to_be_visible()

    page.goto("/dashboard")
    expect(page.locator("#demands")).to_contain_text(demand["title"])


# ---------------------------------------------------------------- 3. a vendor posts an offering


def test_vendor_posts_an_english_offering_and_sees_demands_that_fit(person, tmp_path):
    page = person(VENDOR)
    title = "AI shade and grade sorting for ceramic tiles"
    page.get_by_role("link", name="Post a new offering").click()
    expect(page.get_by_role("heading", name=re.compile("Post an offering"), level=1)).to_be_visible()
    page.get_by_label("Title").fill(title)
    page.get_by_label("Description").fill(
        "Line-scan cameras above the kiln exit measure colour shade, gloss and surface defects on every glazed "
        "tile and large slab, and a sorting line routes each tile to its shade batch and grade. "
        "Replaces manual grading under a light box."
    )
    tick(page, "AI scenarios", ["intelligent_sorting", "visual_inspection"])
    tick(page, "Industries served", ["30"])
    tick(page, "Deployment modes", ["on_premises", "edge"])
    page.get_by_label("Price from (CNY)").fill("100000")
    page.get_by_label("Price up to (CNY)").fill("500000")
    tick(page, "Regions served", ["Guangdong"])
    page.get_by_label("Other cities (comma-separated)").fill("Foshan, Zhaoqing")
    page.get_by_label("Language").select_option("en")
    page.get_by_role("button", name="Publish").click()

    expect(page.get_by_role("heading", name=title, level=1)).to_be_visible()
    expect(page.get_by_role("status").filter(has_text="Saved and published.")).to_be_visible()
    expect(page.locator("article.card").first).to_contain_text("Published")
    expect(page.locator("article.card").first).to_contain_text("Foshan")

    page.get_by_role("link", name="« Offerings").click()
    listed = page.locator("article.posting").filter(has=page.get_by_role("link", name=title))
    expect(listed).to_have_count(1)
    expect(listed).to_contain_text(VENDOR_ORG)

    page.locator("header").get_by_role("link", name="Matches").click()
    expect(page.get_by_role("heading", name="Matches", level=1)).to_be_visible()
    expect(page.get_by_text("Demands that fit your offerings.")).to_be_visible()
    row = find_row(page, title, "瓷砖色号、等级AI自动分选")  # the seeded tile-sorting demand in Foshan
    reasons = row.locator("td").nth(4)
    expect(reasons.locator("span.tag.scenario")).to_contain_text("Shared scenarios")
    expect(reasons.locator("span.tag.scenario")).to_be_visible()
    expect(row).to_contain_text("佛山市三水宏陶建材有限公司")
    assert_renders_cleanly(page)


# ---------------------------------------------------------------- 4. proposals for a new demand


def test_published_demand_gets_proposals_with_reasons(person, tmp_path):
    page = person(FACTORY)
    title = "验布工序AI视觉检测：坯布断经、破洞、油污"
    post_demand(
        page,
        title=title,
        description="我们有喷气织机86台，验布靠人工，漏检率高。希望在验布机上加装工业相机，用小样本深度学习"
        "自动识别断经、纬档、破洞和油污，并记录瑕疵位置，生成质量追溯报告。",
        scenarios=["visual_inspection", "quality_traceability"],
        industry="17",
        city="佛山市南海区西樵镇",
        budget_min=100000,
        budget_max=300000,
    )

    page.locator("header").get_by_role("link", name="Matches").click()
    expect(page.get_by_text("Offerings that fit your demands.")).to_be_visible()
    row = find_row(page, title)
    expect(row.locator("td").nth(3)).to_have_text("Proposed")
    expect(row.locator("span.tag.scenario").first).to_contain_text("Shared scenarios")
    row.get_by_role("link").nth(1).click()  # the offering's side of the pairing

    expect(page.get_by_role("heading", name=re.compile(re.escape(title) + " ⇄ "), level=1)).to_be_visible()
    expect(page.locator("#match-status")).to_have_text("Proposed")
    why = page.locator("#why")
    expect(why.locator("span.tag.scenario")).to_contain_text("Shared scenarios: Visual inspection")
    expect(why.locator("span.tag.terms")).to_contain_text("Key terms in both texts:")
    expect(page.locator("#contacts")).to_contain_text("Contact details are shared once both sides accept")
    assert "@" not in page.locator("#contacts").inner_text()
    assert_renders_cleanly(page)
    page.screenshot(path=tmp_path / "match-proposed.png", full_page=True)


# ---------------------------------------------------------------- 5. from proposal to connection


def test_curator_introduces_and_both_sides_accept_until_connected(person, tmp_path):
    factory = person(FACTORY)
    vendor = person(VENDOR)
    title = "纺织车间包装线AI视觉检测与智能分拣"
    city = "佛山市南海区丹灶镇"
    post_demand(
        factory,
        title=title,
        description="成品布卷包装前需要检查标签、外观和卷边，目前人工目检。希望用工业相机和深度学习做外观"
        "缺陷检测，小样本也能快速训练上线。",
        scenarios=["visual_inspection"],
        industry="17",
        city=city,
        budget_min=100000,
        budget_max=300000,
    )
    factory.goto("/dashboard")
    vendor.goto("/dashboard")
    factory_unread, vendor_unread = unread_in_header(factory), unread_in_header(vendor)

    # The curator finds the new proposal in the queue and introduces the two sides.
    curator = person(CURATOR)
    curator.locator("header").get_by_role("link", name="Curation").click()
    expect(curator.get_by_role("heading", name="Review queue", level=1)).to_be_visible()
    curator.get_by_label("City").fill(city)
    expect(curator.get_by_label("Sort")).to_have_value("score")  # best score first
    curator.get_by_role("button", name="Filter").click()
    expect(curator).to_have_url(re.compile(r"/curation/\?.*city="))
    expect(curator.locator("tr.queue-row").first).to_contain_text(title)
    row = find_row(curator, title, VENDOR_ORG)  # the vendor's best-scoring offering for the new demand
    offering_title = row.locator("td").nth(2).get_by_role("link").inner_text()
    row.get_by_role("link", name="Proposed").click()
    expect(curator).to_have_url(re.compile(r"/curation/matches/\d+$"))
    match_path = "/matches/" + curator.url.rsplit("/", 1)[1]
    expect(curator.locator("#match-status")).to_have_text("Proposed")
    curator.get_by_label("Action", exact=True).select_option(label="Introduce")
    curator.get_by_label("Note", exact=True).fill("Both in the GBA; small-sample training fits a short pilot.")
    curator.get_by_role("button", name="Apply").click()
    expect(curator.get_by_role("status").filter(has_text="1 match")).to_be_visible()
    expect(curator.locator("#match-status")).to_have_text("Introduced")

    # The manufacturer is told, opens the match from the notification, and accepts.
    factory.reload()
    expect(factory.locator("header #unread-count")).to_have_text(str(factory_unread + 1))
    factory.locator("header").get_by_role("link", name=re.compile(r"^Notifications")).click()
    notice = factory.locator("article.notification.unread").filter(has_text=f"introduced “{title}”")
    expect(notice).to_have_count(1)
    notice.get_by_role("button", name="Open").click()
    expect(factory).to_have_url(re.compile(re.escape(match_path) + "$"))
    expect(factory.locator("#match-status")).to_have_text("Introduced")
    expect(factory.locator("#contacts")).to_contain_text("Contact details are shared once both sides accept")
    expect(factory.locator("body")).not_to_contain_text(VENDOR_EMAIL)
    expect(factory.locator("body")).not_to_contain_text(VENDOR_PHONE)
    factory.get_by_role("button", name="Accept").click()
    expect(factory.get_by_role("status").filter(has_text="You accepted this introduction.")).to_be_visible()
    expect(factory.locator("#match-status")).to_have_text("Introduced")  # waiting for the vendor
    expect(factory.get_by_role("button", name="Accept")).to_have_count(0)
    expect(factory.locator("body")).not_to_contain_text(VENDOR_EMAIL)

    # The vendor hears of the introduction and of the acceptance, still sees no contacts, and accepts.
    vendor.reload()
    expect(vendor.locator("header #unread-count")).to_have_text(str(vendor_unread + 2))
    vendor.locator("header").get_by_role("link", name=re.compile(r"^Notifications")).click()
    expect(vendor.locator("article.notification.unread").filter(has_text=f"{FACTORY_ORG} accepted")).to_have_count(1)
    notice = vendor.locator("article.notification.unread").filter(has_text=f"introduced “{title}”")
    notice.get_by_role("button", name="Open").click()
    expect(vendor).to_have_url(re.compile(re.escape(match_path) + "$"))
    expect(vendor.get_by_role("heading", level=1)).to_contain_text(offering_title)
    expect(vendor.locator("#match-status")).to_have_text("Introduced")
    expect(vendor.locator("body")).not_to_contain_text(FACTORY_EMAIL)
    expect(vendor.locator("body")).not_to_contain_text(FACTORY_PHONE)
    vendor.get_by_role("button", name="Accept").click()
    expect(vendor.get_by_role("status").filter(has_text="You accepted this introduction.")).to_be_visible()
    expect(vendor.locator("#match-status")).to_have_text("Connected")
    vendor_contacts = vendor.locator("#contacts")
    expect(vendor_contacts).to_contain_text(FACTORY_ORG)
    expect(vendor_contacts.get_by_role("link", name=FACTORY_EMAIL)).to_have_attribute("href", f"mailto:{FACTORY_EMAIL}")
    expect(vendor_contacts).to_contain_text(FACTORY_PHONE)
    assert_renders_cleanly(vendor)
    vendor.screenshot(path=tmp_path / "match-connected-vendor.png", full_page=True)

    # The manufacturer now sees the vendor's contact details too, and was told of the connection.
    factory.reload()
    expect(factory.locator("#match-status")).to_have_text("Connected")
    factory_contacts = factory.locator("#contacts")
    expect(factory_contacts).to_contain_text(VENDOR_ORG)
    expect(factory_contacts.get_by_role("link", name=VENDOR_EMAIL)).to_be_visible()
    expect(factory_contacts).to_contain_text(VENDOR_PHONE)
    expect(factory_contacts).not_to_contain_text(FACTORY_EMAIL)  # only the other side's details
    expect(factory.locator("header #unread-count")).to_have_text(str(factory_unread + 1))
    factory.locator("header").get_by_role("link", name=re.compile(r"^Notifications")).click()
    expect(factory.locator("article.notification.unread").filter(has_text="are connected")).to_have_count(1)

    # The curator's audit trail records each step, who took it and the state it left.
    curator.reload()
    expect(curator.locator("#match-status")).to_have_text("Connected")
    events = curator.locator("#audit tr.event")
    expect(events).to_have_count(3)
    for index, (actor, action, change) in enumerate(
        [
            ("陳嘉欣 Karen Chan", "Introduce", "Proposed → Introduced"),
            ("梁国华", "Accept", "Introduced → Introduced"),
            ("王磊", "Accept", "Introduced → Connected"),
        ]
    ):
        cells = events.nth(index).locator("td")
        expect(cells.nth(1)).to_contain_text(actor)
        expect(cells.nth(2)).to_have_text(action)
        expect(cells.nth(3)).to_have_text(change)
    expect(events.first).to_contain_text("small-sample training fits a short pilot")
    assert_renders_cleanly(curator)
    curator.screenshot(path=tmp_path / "match-audit-curator.png", full_page=True)


# ---------------------------------------------------------------- 6. search across languages


def test_search_finds_an_english_offering_from_a_simplified_chinese_query(person):
    page = person(FACTORY)
    page.locator("header").get_by_role("link", name="Search").click()
    expect(page.get_by_role("heading", name="Search demands and offerings", level=1)).to_be_visible()
    page.get_by_label(re.compile("What are you looking for")).fill("废水处理加药优化")
    page.get_by_label("Show", exact=True).select_option("offerings")
    page.get_by_role("search").get_by_role("button", name="Search").click()
    expect(page).to_have_url(re.compile(r"/search/\?q=.+&kind=offerings"))

    english = "AI chemical dosing for industrial wastewater treatment"
    hits = page.locator("div.search-hit")
    expect(hits.first.get_by_role("heading", level=3)).to_have_text(english)
    expect(hits.first).to_contain_text("ClearCarbon Analytics Ltd.")
    expect(page.get_by_label(re.compile("What are you looking for"))).to_have_value("废水处理加药优化")
    hits.first.get_by_role("link", name=english).click()
    expect(page.get_by_role("heading", name=english, level=1)).to_be_visible()
    expect(page.locator("article.card").first).to_contain_text("Offering")
    assert_renders_cleanly(page)


# ---------------------------------------------------------------- 7. the Content-Security-Policy holds on every page

# Runs before any page script (Playwright injects it outside the page's policy) and records every violation.
WATCH_VIOLATIONS = """
window.__violations = [];
document.addEventListener('securitypolicyviolation', (event) => {
  const where = `${event.sourceFile}:${event.lineNumber}`;
  window.__violations.push(`${event.violatedDirective} blocked ${event.blockedURI || 'inline'} at ${where}`);
});
"""
XSS_TITLE = '质检<script>alert("xss")</script>"><img src=x onerror=alert(2)>系统'
PAGES_PER_SHAPE = 2  # /demands/7 and /demands/9 are the same template: two of each shape are enough
MAX_CRAWL = 80


def crawl_for_violations(page, start: str) -> tuple[list[str], dict[str, list[str]]]:
    """Open every same-site page reachable by links from start; return the pages and what each violated."""
    problems: dict[str, list[str]] = {}
    console: list[str] = []
    page.on(
        "console", lambda message: console.append(message.text) if "Content Security Policy" in message.text else None
    )
    page.on("dialog", lambda dialog: (console.append(f"a dialog fired: {dialog.message}"), dialog.dismiss()))
    queue, seen, shapes, visited = [start], {start}, {}, []
    while queue and len(visited) < MAX_CRAWL:
        path = queue.pop(0)
        shape = re.sub(r"\d+", "N", path.split("?")[0])
        if shapes.get(shape, 0) >= PAGES_PER_SHAPE:
            continue
        shapes[shape] = shapes.get(shape, 0) + 1
        response = page.goto(path)
        assert response.headers.get("content-security-policy"), f"{path} has no Content-Security-Policy"
        visited.append(path)
        origin = page.url.split("/", 3)[:3]
        found = page.evaluate("window.__violations") + console
        console.clear()
        if found:
            problems[path] = found
        for href in page.eval_on_selector_all("a[href]", "links => links.map(a => a.href)"):
            parts = href.split("/", 3)
            if parts[:3] != origin or "#" in href:
                continue
            target = "/" + (parts[3] if len(parts) > 3 else "")
            downloads = target.split("?")[0].endswith((".csv", ".xlsx"))  # files to save, not pages to show
            if target not in seen and not target.startswith("/static/") and not downloads:
                seen.add(target)
                queue.append(target)
    return visited, problems


@pytest.mark.parametrize(
    "email", [None, FACTORY, VENDOR, CURATOR, ADMIN], ids=["anonymous", "factory", "vendor", "curator", "admin"]
)
def test_no_page_breaks_the_content_security_policy_or_runs_typed_markup(person, email):
    if email == FACTORY:  # markup in a title must show as text, everywhere the title appears
        page = person(FACTORY)
        page.goto("/demands/new")
        page.get_by_label("Title").fill(XSS_TITLE)
        page.get_by_label("Description").fill("布面瑕疵检测 <script>alert(3)</script> 需要AI视觉方案。")
        page.get_by_role("button", name="Publish").click()
        expect(page.get_by_role("heading", name=XSS_TITLE, level=1)).to_be_visible()
        page.context.close()
    page = person(email)
    page.context.add_init_script(WATCH_VIOLATIONS)
    visited, problems = crawl_for_violations(page, "/dashboard" if email else "/")
    assert len(visited) >= (4 if email is None else 10), visited
    assert problems == {}, problems

    # The watch itself works: an inline style the policy forbids is reported.
    page.evaluate("document.head.insertAdjacentHTML('beforeend', '<style>body { color: red }</style>')")
    page.wait_for_timeout(200)
    assert any("style-src" in found for found in page.evaluate("window.__violations"))
