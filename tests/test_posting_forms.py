"""The posting forms as a person meets them: grouped checkbox lists, every problem at once, a confirmed close."""

import re
from datetime import date, timedelta

import sqlalchemy as sa

from matchmaker import taxonomy
from matchmaker.extensions import db
from matchmaker.models import Demand, Offering, PostingStatus

from .factories import demand_form, field_errors, make_posting, offering_form, only


def choice_list(html: str, name: str) -> str:
    """Return the HTML of the fieldset holding the choices of one field, with the groups nested in it."""
    start = re.search(rf'<fieldset class="field choice-list[^"]*" id="{name}"', html)
    assert start, f"no choice list for {name}"
    depth = 0
    for tag in re.finditer(r"<(/?)fieldset\b", html[start.start() :]):
        depth += -1 if tag.group(1) else 1
        if depth == 0:
            return html[start.start() : start.start() + tag.end()]
    raise AssertionError(f"the choice list for {name} is not closed")


def checked_values(html: str, name: str) -> list[str]:
    """Return the values of the ticked checkboxes or radio buttons of a field."""
    inputs = re.findall(rf'<input type="(?:checkbox|radio)" name="{name}" value="([^"]*)"( checked)?>', html)
    return [value for value, checked in inputs if checked]


def group_headings(fieldset: str) -> list[str]:
    """Return the headings of the option groups inside a choice list."""
    return re.findall(r'<fieldset class="choice-group"><legend>(.*?)</legend>', fieldset)


def test_scenarios_and_industries_are_grouped_checkboxes_labelled_in_the_readers_language(client, auth, personas):
    auth.login_as("vendor")
    html = client.get("/offerings/new", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)

    scenarios = choice_list(html, "scenarios")
    assert group_headings(scenarios) == ["研究、开发与设计", "生产", "质量", "运营与管理", "供应链", "服务"]
    boxes = re.findall(r'<input type="checkbox" name="scenarios" value="([^"]+)">', scenarios)
    assert sorted(boxes) == sorted(taxonomy.scenarios())  # every scenario, each once
    assert "视觉检测" in scenarios and "视觉检测" in scenarios.split("质量", 1)[1]  # under its stage
    assert "Visual inspection" not in scenarios and "視覺檢測" not in scenarios  # the reader's language only
    industries = choice_list(html, "industries_served")
    assert len(group_headings(industries)) == 4
    assert "17 纺织业" in industries and "Textiles" not in industries
    assert re.search(r'<input type="search" class="choice-filter"[^>]*hidden>', scenarios)  # shown by the script
    assert "choice-filter.js" in html


def test_ticked_checkboxes_are_saved_and_ticked_again_on_edit(app, client, auth, personas):
    auth.login_as("vendor")
    chosen = {"scenarios": ["fault_warning", "visual_inspection"], "industries_served": ["30", "17"]}
    client.post("/offerings/new", data=offering_form(**chosen, deployment_modes=["edge"], regions=["Macau"]))
    offering = only(app, Offering)
    assert sorted(offering.scenarios) == chosen["scenarios"]
    assert sorted(offering.industries_served) == ["17", "30"]
    assert offering.deployment_modes == ["edge"] and offering.regions[0] == "Macau"

    html = client.get(f"/offerings/{offering.id}/edit").get_data(as_text=True)
    assert sorted(checked_values(html, "scenarios")) == chosen["scenarios"]
    assert sorted(checked_values(html, "industries_served")) == ["17", "30"]
    assert checked_values(html, "deployment_modes") == ["edge"] and checked_values(html, "regions") == ["Macau"]

    client.post(f"/offerings/{offering.id}/edit", data=offering_form(scenarios=[], industries_served=["30"]))
    offering = only(app, Offering)
    assert offering.scenarios == [] and offering.industries_served == ["30"]  # unticking every box clears the list


def test_a_demands_industry_is_one_radio_button(app, client, auth, personas):
    auth.login_as("manufacturer")
    html = client.get("/demands/new").get_data(as_text=True)
    industry = choice_list(html, "industry")
    assert industry.count('type="radio" name="industry"') == len(taxonomy.industries()) + 1  # and "not specified"
    assert checked_values(industry, "industry") == [""]
    client.post("/demands/new", data=demand_form(industry="29"))
    assert only(app, Demand).industry == "29"


def test_every_problem_is_shown_at_once_above_the_form_and_next_to_its_field(app, client, auth, personas):
    auth.login_as("manufacturer")
    yesterday = (date.today() - timedelta(days=1)).isoformat()
    typed = demand_form(
        title="", budget_min="a lot", expires_on=yesterday, city="佛山", scenarios=["energy_management"]
    )
    html = client.post("/demands/new", data=typed).get_data(as_text=True)

    # The form's own check (not a number) and the domain's rules (required, in the past) report together.
    assert field_errors(html, "title") == ["This field is required."]
    assert field_errors(html, "budget_min") == ["Not a valid integer value."]
    assert field_errors(html, "expires_on") == ["The expiry date cannot be in the past."]
    summary = re.search(r'<div class="error-summary".*?</div>', html, re.S).group(0)
    assert "There are 3 problems with what you entered:" in summary
    assert re.findall(r'<a href="#([a-z_]+)">', summary) == ["title", "budget_min", "expires_on"]
    # Nothing is saved, and nothing typed is lost.
    assert 'value="佛山"' in html and 'value="a lot"' in html
    assert checked_values(html, "scenarios") == ["energy_management"]
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Demand)) == 0


def test_a_valid_form_shows_no_summary(client, auth, personas):
    auth.login_as("manufacturer")
    assert "error-summary" not in client.get("/demands/new").get_data(as_text=True)


def test_closing_goes_through_a_confirmation_page(app, client, auth, personas):
    posting_id = make_posting(app, personas["manufacturer"], Demand)
    auth.login_as("manufacturer")
    detail = client.get(f"/demands/{posting_id}").get_data(as_text=True)
    assert f'action="/demands/{posting_id}/close"' not in detail  # no button on the page closes it
    assert f'href="/demands/{posting_id}/close"' in detail

    page = client.get(f"/demands/{posting_id}/close").get_data(as_text=True)
    assert "Close “A posting” for good?" in re.sub(r"<[^>]*>", "", page)  # the title is marked as user text
    assert f'<form method="post" action="/demands/{posting_id}/close"' in page
    assert f'href="/demands/{posting_id}"' in page  # the way back keeps it open
    assert only(app, Demand).status is PostingStatus.PUBLISHED  # asking closes nothing

    response = client.post(f"/demands/{posting_id}/close")  # the confirmation page's button
    assert response.headers["Location"] == f"/demands/{posting_id}"
    assert only(app, Demand).status is PostingStatus.CLOSED
    response = client.get(f"/demands/{posting_id}/close", follow_redirects=True)
    assert "This posting is already closed." in response.get_data(as_text=True)
