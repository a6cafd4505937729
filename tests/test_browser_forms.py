"""The posting forms in a real browser: the type-to-filter box of the choice lists, and closing after confirming."""

from __future__ import annotations

import re

import pytest

from .browser_support import FACTORY, VENDOR, expect, post_demand, skip_without_browser, tick

pytestmark = pytest.mark.browser
skip_without_browser()


def test_filter_box_hides_the_choices_that_do_not_match_and_keeps_ticked_ones(person, tmp_path):
    page = person(VENDOR)
    page.goto("/offerings/new")
    scenarios = page.get_by_role("group", name="AI scenarios", exact=True)
    box = scenarios.get_by_role("searchbox", name="Filter the choices of AI scenarios")
    expect(box).to_be_visible()  # the script shows it; without the script it stays hidden
    every = scenarios.locator(".choice-items li")
    total = every.count()
    assert total == 22

    tick(page, "AI scenarios", ["energy_management"])
    box.fill("INSPECT")  # matching ignores case
    expect(scenarios.get_by_label("Visual inspection")).to_be_visible()
    expect(scenarios.get_by_label("Energy management")).to_be_hidden()
    expect(scenarios.locator(".choice-items li:visible")).to_have_count(1)
    expect(scenarios.get_by_role("group", name="Quality")).to_be_visible()
    expect(scenarios.get_by_role("group", name="Production")).to_be_hidden()  # a group with no match goes too
    page.screenshot(path=tmp_path / "scenario-filter.png", full_page=True)

    box.fill("no such scenario")
    expect(scenarios.locator(".choice-items li:visible")).to_have_count(0)
    expect(scenarios.get_by_text("No choice matches what you typed.")).to_be_visible()
    box.press("Enter")  # typing in the filter never sends the form
    expect(page).to_have_url(re.compile(r"/offerings/new$"))

    box.fill("")
    expect(scenarios.locator(".choice-items li:visible")).to_have_count(total)
    industries = page.get_by_role("group", name="Industries served", exact=True)
    industries.get_by_role("searchbox").fill("17")  # division codes match too
    expect(industries.locator(".choice-items li:visible")).to_have_count(1)
    expect(industries.get_by_label("17 Textiles")).to_be_visible()

    # A ticked choice the filter hides is still sent.
    box.fill("inspect")
    tick(page, "AI scenarios", ["visual_inspection"])
    page.get_by_label("Title").fill("Kiln energy and inspection analytics")
    page.get_by_label("Description").fill("Cuts kiln gas use and finds glaze defects on the line.")
    page.get_by_role("button", name="Save as draft").click()
    expect(page.get_by_role("heading", name="Kiln energy and inspection analytics", level=1)).to_be_visible()
    scenario_row = page.locator("article.card").first.get_by_role("row", name=re.compile("AI scenarios"))
    expect(scenario_row).to_contain_text("Energy management")
    expect(scenario_row).to_contain_text("Visual inspection")


def test_closing_a_demand_asks_first(person):
    page = person(FACTORY)
    title = "喷码字符AI识别与漏喷报警"
    post_demand(
        page,
        title=title,
        description="包装线上喷码经常漏喷、模糊，需要用相机识别字符并在漏喷时报警停线。",
        scenarios=["visual_inspection"],
        industry="14",
        city="佛山市顺德区",
        budget_min=50000,
        budget_max=150000,
    )
    detail = page.url

    page.get_by_role("link", name="Close…").click()
    expect(page.get_by_role("heading", name=f"Close “{title}” for good?", level=1)).to_be_visible()
    page.get_by_role("link", name="Keep it open").click()
    expect(page).to_have_url(detail)
    expect(page.locator("article.card").first).to_contain_text("Published")

    page.get_by_role("link", name="Close…").click()
    page.get_by_role("button", name="Close for good").click()
    expect(page).to_have_url(detail)
    expect(page.get_by_role("status").filter(has_text="Closed.")).to_be_visible()
    expect(page.get_by_text("This demand is closed.")).to_be_visible()
