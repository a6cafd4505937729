"""The landing page and what each persona's dashboard shows."""

import re
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa
from flask import url_for

from matchmaker.domain.accounts import Registration, register_user
from matchmaker.extensions import db
from matchmaker.models import Demand, Match, MatchStatus, Offering, OrgKind, PostingStatus, User
from tests.factories import PERSONAS

PERSONA_NAMES = list(PERSONAS)


def add_posting(app, model, persona_email, title, status=PostingStatus.PUBLISHED) -> int:
    """Store a demand or offering for the persona's organisation; return its id."""
    with app.app_context():
        author = db.session.scalar(sa.select(User).where(User.email == persona_email))
        posting = model(
            title=title,
            description=f"{title}, described.",
            organization_id=author.organization_id,
            author_id=author.id,
            status=status,
            published_at=datetime.now(UTC) if status is PostingStatus.PUBLISHED else None,
        )
        db.session.add(posting)
        db.session.commit()
        return posting.id


@pytest.fixture
def postings(app, personas):
    """Give the manufacturer, the intruder and the vendor a few postings in different states."""
    factory, vendor, intruder = (PERSONAS[name][0] for name in ("manufacturer", "vendor", "intruder"))
    ids = {
        "fabric_inspection": add_posting(app, Demand, factory, "Fabric defect inspection"),
        "dye_forecast": add_posting(app, Demand, factory, "Dye batch colour forecast", PostingStatus.DRAFT),
        "old_demand": add_posting(app, Demand, factory, "Loom sensor retrofit", PostingStatus.CLOSED),
        "rival_demand": add_posting(app, Demand, intruder, "Rival moulding vision"),
        "vision_kit": add_posting(app, Offering, vendor, "Lumen defect vision kit"),
        "vision_draft": add_posting(app, Offering, vendor, "Lumen OCR for labels", PostingStatus.DRAFT),
    }
    with app.app_context():
        db.session.add(Match(demand_id=ids["rival_demand"], offering_id=ids["vision_kit"], status=MatchStatus.PROPOSED))
        db.session.commit()
    return ids


def urls(app, endpoint, **values) -> str:
    with app.test_request_context():
        return url_for(endpoint, **values)


def stat(page: str, element_id: str) -> str:
    """Return the number shown in the stat block with this id."""
    match = re.search(rf'id="{element_id}"[^>]*>\s*<span class="stat-number">(\d+)</span>', page)
    return match and match.group(1)


def section(page: str, element_id: str) -> str:
    """Return the HTML of the <section> with this id, or '' if there is none."""
    match = re.search(rf'<section class="card" id="{element_id}">(.*?)</section>', page, re.S)
    return match.group(1) if match else ""


def test_landing_page_counts_published_postings(app, client, postings):
    page = client.get("/").get_data(as_text=True)
    assert "Matchmaker" in page and "Register your organisation" in page
    assert stat(page, "published-demands") == "2"
    assert stat(page, "published-offerings") == "1"
    assert f'href="{urls(app, "demands.index")}"' in page
    assert f'href="{urls(app, "offerings.index")}"' in page


def test_landing_page_for_signed_in_person_points_to_dashboard(client, auth, personas):
    auth.login_as("vendor")
    page = client.get("/").get_data(as_text=True)
    assert "Go to your dashboard" in page
    assert "Register your organisation" not in page


@pytest.mark.parametrize("persona", [None, *PERSONA_NAMES])
@pytest.mark.parametrize(("url", "signed_in_status"), [("/", 200), ("/dashboard", 200)])
def test_main_routes_access(client, auth, personas, persona, url, signed_in_status):
    if persona:
        auth.login_as(persona)
    response = client.get(url)
    if persona or url == "/":
        assert response.status_code == signed_in_status
    else:
        assert response.status_code == 302
        location = urlsplit(response.headers["Location"])
        assert (location.path, parse_qs(location.query)) == ("/auth/login", {"next": ["/dashboard"]})


def test_json_client_gets_403_json_from_dashboard(client):
    response = client.get("/dashboard", headers={"Accept": "application/json"})
    assert response.status_code == 403
    assert response.get_json() == {"error": "forbidden", "message": "You are not allowed to do this."}


def test_manufacturer_dashboard_lists_own_demands_by_status(app, client, auth, postings):
    auth.login_as("manufacturer")
    page = client.get("/dashboard").get_data(as_text=True)
    demands = section(page, "demands")
    assert "Fabric defect inspection" in demands and "Dye batch colour forecast" in demands
    assert "Rival moulding vision" not in page
    assert re.search(
        r"Draft <span class=\"muted\">\(1\)</span>.*Dye batch.*Published <span class=\"muted\">\(1\)"
        r"</span>.*Fabric defect.*Closed <span class=\"muted\">\(1\)</span>.*Loom sensor",
        demands,
        re.S,
    )
    assert f'href="{urls(app, "demands.new")}"' in demands
    assert f'href="{urls(app, "demands.edit", id=postings["dye_forecast"])}"' in demands
    assert f'href="{urls(app, "demands.detail", id=postings["fabric_inspection"])}"' in demands
    assert section(page, "offerings") == "" and section(page, "curation") == ""


def test_manufacturer_without_demands_is_invited_to_post(client, auth, personas):
    auth.login_as("intruder")
    page = client.get("/dashboard").get_data(as_text=True)
    assert "You have not posted a demand yet." in section(page, "demands")


def test_vendor_dashboard_lists_own_offerings(app, client, auth, postings):
    auth.login_as("vendor")
    page = client.get("/dashboard").get_data(as_text=True)
    offerings = section(page, "offerings")
    assert "Lumen defect vision kit" in offerings and "Lumen OCR for labels" in offerings
    assert f'href="{urls(app, "offerings.new")}"' in offerings
    assert f'href="{urls(app, "offerings.edit", id=postings["vision_draft"])}"' in offerings
    assert section(page, "demands") == "" and "Fabric defect inspection" not in page


def test_curator_dashboard_shows_pending_work(app, client, auth, postings):
    auth.login_as("curator")
    page = client.get("/dashboard").get_data(as_text=True)
    curation = section(page, "curation")
    numbers = re.findall(r'<span class="stat-number">(\d+)</span><span class="stat-label">([^<]+)', curation)
    assert numbers == [
        ("1", "published demands without proposals"),
        ("1", "proposed matches to review"),
        ("0", "shortlisted matches to introduce"),
    ]
    # The rival's demand already has a proposal; only the factory's published one waits.
    assert f'href="{urls(app, "demands.detail", id=postings["fabric_inspection"])}"' in curation
    assert "Rival moulding vision" not in curation
    assert "All demands (2 published)" in curation and "All offerings (1 published)" in curation
    assert section(page, "administration") == "" and section(page, "demands") == ""


def test_admin_dashboard_counts_people_and_pending_curators(app, client, auth, personas):
    with app.app_context():
        register_user(
            Registration("officer@gba.example", "a long enough pw", "Officer Chan", "HK Desk", OrgKind.AGENCY)
        )
    auth.login_as("admin")
    page = client.get("/dashboard").get_data(as_text=True)
    administration = section(page, "administration")
    assert re.search(r'id="user-count">7<', administration)
    assert re.search(r'<span class="stat-number">3</span><span class="stat-label">Agency', administration)
    assert "officer@gba.example" in administration and "HK Desk" in administration
    assert f'href="{urls(app, "admin.index")}"' in administration
    assert section(page, "curation") != ""


def test_agency_member_awaiting_approval_sees_notice(client):
    client.post(
        "/auth/register",
        data={
            "email": "officer@gba.example",
            "name": "Officer Chan",
            "password": "a long enough pw",
            "confirm": "a long enough pw",
            "organization_kind": "agency",
            "organization_name": "HK Desk",
            "city": "",
        },
    )
    page = client.get("/dashboard").get_data(as_text=True)
    assert 'id="curator-pending"' in page
    assert section(page, "curation") == ""


# ---------------------------------------------------------------- what a factory or a vendor does next


def next_steps(client) -> dict[str, tuple[int, str]]:
    """Return each next-step count the dashboard shows, with the list it links to."""
    page = client.get("/dashboard").get_data(as_text=True)
    found = re.findall(
        r'id="todo-(\w+)" href="([^"]+)"><span class="stat-number">(\d+)</span>', section(page, "next-steps")
    )
    return {name: (int(count), href.replace("&amp;", "&")) for name, href, count in found}


def listed_match_ids(client, href: str) -> set[int]:
    """Return the ids of the matches the list at href shows."""
    return {int(i) for i in re.findall(r'<tr id="match-(\d+)">', client.get(href).get_data(as_text=True))}


def test_factory_and_vendor_dashboards_count_what_to_do_next_and_link_to_it(app, client, auth, personas):
    from matchmaker.domain import postings as posting_rules

    from .factories import make_match, make_posting, step

    with app.app_context():
        match_id = make_match().id
    vendor = app.test_client()
    vendor.post("/auth/login", data={"email": PERSONAS["vendor"][0], "password": "correct horse battery"})
    auth.login_as("manufacturer")

    steps = next_steps(client)
    assert {name: count for name, (count, _) in steps.items()} == {"answer": 0, "proposals": 1, "drafts": 0}
    assert listed_match_ids(client, steps["proposals"][1]) == {match_id}
    assert listed_match_ids(client, steps["answer"][1]) == set()
    assert urlsplit(steps["drafts"][1]).path == urls(app, "demands.index")

    # A draft waits to be published, and the link lists it.
    draft = make_posting(app, personas["manufacturer"], Demand, PostingStatus.DRAFT, title="Dye vat forecast draft")
    steps = next_steps(client)
    assert steps["drafts"][0] == 1
    assert "Dye vat forecast draft" in client.get(steps["drafts"][1]).get_data(as_text=True)

    # The curator introduces: the proposal becomes an introduction both sides must answer.
    step(app, match_id, "curator", "introduce")
    for party in (client, vendor):
        steps = next_steps(party)
        assert (steps["proposals"][0], steps["answer"][0]) == (0, 1)
        assert listed_match_ids(party, steps["answer"][1]) == {match_id}

    # The factory accepts: nothing left for it to answer, while the vendor still has to.
    to_answer_export = "/exports/matches.csv?status=introduced&to_answer=1"
    assert "Fabric defect detection on dyeing line" in client.get(to_answer_export).get_data(as_text=True)
    assert client.post(f"/matches/{match_id}/accept").status_code == 302
    assert "Fabric defect detection on dyeing line" not in client.get(to_answer_export).get_data(as_text=True)
    assert next_steps(client)["answer"][0] == 0
    assert listed_match_ids(client, next_steps(client)["answer"][1]) == set()
    assert next_steps(vendor)["answer"][0] == 1
    vendor.post(f"/matches/{match_id}/accept")
    assert next_steps(vendor)["answer"][0] == 0

    with app.app_context():
        posting_rules.publish(db.session.get(User, personas["manufacturer"]), db.session.get(Demand, draft))
    assert next_steps(client)["drafts"][0] == 0
    assert next_steps(vendor)["drafts"][0] == 0


def test_next_steps_count_only_the_viewers_own_organisation(app, client, auth, personas):
    from .factories import make_match, step

    with app.app_context():
        match_id = make_match().id
    step(app, match_id, "curator", "introduce")
    auth.login_as("intruder")  # a manufacturer that is party to nothing
    assert {name: count for name, (count, _) in next_steps(client).items()} == {
        "answer": 0,
        "proposals": 0,
        "drafts": 0,
    }
    assert listed_match_ids(client, "/matches/?status=introduced&to_answer=1") == set()
    auth.logout()
    auth.login_as("curator")  # curators see every match but answer none, and get no party next steps
    assert section(client.get("/dashboard").get_data(as_text=True), "next-steps") == ""
    assert listed_match_ids(client, "/matches/?to_answer=1") == set()
    assert listed_match_ids(client, "/matches/?status=introduced") == {match_id}
