"""The API keeps the pages' rules: another organisation's drafts, private fields and postings stay out of reach,
and bad input gets the very messages the web forms give."""

import html
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from matchmaker.domain import workflow
from matchmaker.domain.curation import add_note
from matchmaker.domain.tokens import create_token
from matchmaker.extensions import db
from matchmaker.models import Demand, Match, MatchStatus, Offering, PostingStatus, utcnow

from .factories import demand_form, field_errors, make_match, make_pair, offering_form, persona

SECRET_EMAIL = "deals@lumen-vision.example"
NOTE = "Vendor is overbooked until May; push the manufacturer to wait."


@pytest.fixture
def tokens(app, personas):
    """Return an API token for every persona."""
    with app.app_context():
        return {name: create_token(persona(name), "test")[1] for name in personas}


def as_(tokens: dict, name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens[name]}"}


@pytest.fixture
def drafts(app, personas):
    """Return the manufacturer's draft demand and the vendor's draft offering, by kind."""
    with app.app_context():
        demand, offering = make_pair(PostingStatus.DRAFT)
        return {"demands": demand.id, "offerings": offering.id}


@pytest.fixture
def published(app, personas):
    """Return the manufacturer's published demand and the vendor's published offering, by kind."""
    with app.app_context():
        demand, offering = make_pair(PostingStatus.PUBLISHED)
        demand.published_at = offering.published_at = utcnow()
        db.session.commit()
        return {"demands": demand.id, "offerings": offering.id}


OWNERS = {"demands": ("manufacturer", "intruder"), "offerings": ("vendor", "vendor_intruder")}


# ---------------------------------------------------------------- another organisation's postings


@pytest.mark.parametrize("kind", ["demands", "offerings"])
def test_another_organisations_draft_does_not_exist_for_a_token(client, tokens, drafts, kind):
    owner, rival = OWNERS[kind]
    url = f"/api/v1/{kind}/{drafts[kind]}"
    assert client.get(url, headers=as_(tokens, owner)).status_code == 200
    assert client.get(url, headers=as_(tokens, "curator")).status_code == 200
    for stranger in (rival, "vendor" if kind == "demands" else "manufacturer"):
        assert client.get(url, headers=as_(tokens, stranger)).status_code == 404
        assert client.post(f"{url}/publish", headers=as_(tokens, stranger)).status_code == 404
        listed = client.get(f"/api/v1/{kind}/?status=draft", headers=as_(tokens, stranger)).json
        assert drafts[kind] not in [item["id"] for item in listed["items"]]
    own = client.get(f"/api/v1/{kind}/?status=draft", headers=as_(tokens, owner)).json
    assert [item["id"] for item in own["items"]] == [drafts[kind]]


@pytest.mark.parametrize("kind", ["demands", "offerings"])
def test_a_token_cannot_update_or_close_another_organisations_posting(app, client, tokens, published, kind):
    _owner, rival = OWNERS[kind]
    url = f"/api/v1/{kind}/{published[kind]}"
    model = Demand if kind == "demands" else Offering
    for stranger in (rival, "curator"):
        changed = client.patch(url, json={"title": "Taken over"}, headers=as_(tokens, stranger))
        assert changed.status_code == 403 and changed.json["error"]["code"] == "forbidden"
        assert client.post(f"{url}/close", headers=as_(tokens, stranger)).status_code == 403
    with app.app_context():
        posting = db.session.get(model, published[kind])
        assert posting.title != "Taken over" and posting.status is PostingStatus.PUBLISHED


def test_postings_never_carry_contacts_or_authors(app, client, tokens, published):
    with app.app_context():
        persona("vendor").organization.contact_email = SECRET_EMAIL
        db.session.commit()
    for url in ("/api/v1/offerings/", f"/api/v1/offerings/{published['offerings']}"):
        body = client.get(url, headers=as_(tokens, "manufacturer")).get_data(as_text=True)
        assert SECRET_EMAIL not in body and "vendor@test.example" not in body


def test_search_finds_no_drafts(client, tokens, drafts):
    results = client.get("/api/v1/search?q=fabric defect", headers=as_(tokens, "vendor_intruder")).json["results"]
    assert drafts["demands"] not in [hit["id"] for hit in results if hit["kind"] == "demand"]


# ---------------------------------------------------------------- matches: who sees them, contacts and notes


@pytest.fixture
def match_id(app, personas):
    """Return a proposed match with a curator's private note; the vendor's contact email is distinct."""
    with app.app_context():
        match = make_match()
        match.offering.organization.contact_email = SECRET_EMAIL
        db.session.commit()
        add_note(persona("curator"), match, NOTE)
        return match.id


def test_a_match_is_for_its_parties_and_curators_only(client, tokens, match_id):
    url = f"/api/v1/matches/{match_id}"
    for outsider in ("intruder", "vendor_intruder"):
        assert client.get(url, headers=as_(tokens, outsider)).status_code == 403
        listed = client.get("/api/v1/matches/", headers=as_(tokens, outsider)).json
        assert listed["total"] == 0
        refused = client.post(f"{url}/transitions", json={"action": "accept"}, headers=as_(tokens, outsider))
        assert refused.status_code == 403


def test_curators_notes_are_for_curators_only(client, tokens, match_id):
    url = f"/api/v1/matches/{match_id}"
    assert [note["body"] for note in client.get(url, headers=as_(tokens, "curator")).json["notes"]] == [NOTE]
    for party in ("manufacturer", "vendor"):
        body = client.get(url, headers=as_(tokens, party))
        assert body.json["notes"] == [] and NOTE not in body.get_data(as_text=True)
        listed = client.get("/api/v1/matches/", headers=as_(tokens, party)).get_data(as_text=True)
        assert NOTE not in listed


def test_contacts_appear_only_once_both_sides_accept(app, client, tokens, match_id):
    url = f"/api/v1/matches/{match_id}"
    curator = as_(tokens, "curator")
    assert client.post(f"{url}/transitions", json={"action": "introduce"}, headers=curator).status_code == 200
    answer = client.post(f"{url}/transitions", json={"action": "accept"}, headers=as_(tokens, "manufacturer"))
    assert answer.json["status"] == "introduced" and answer.json["contacts"] == []
    assert SECRET_EMAIL not in client.get(url, headers=as_(tokens, "manufacturer")).get_data(as_text=True)
    connected = client.post(f"{url}/transitions", json={"action": "accept"}, headers=as_(tokens, "vendor")).json
    assert connected["status"] == "connected"
    maker_view = client.get(url, headers=as_(tokens, "manufacturer")).json
    assert [contact["email"] for contact in maker_view["contacts"]] == [SECRET_EMAIL]
    # Parties see who acted by organisation; a curator's name stays with the curators.
    assert {event["actor"] for event in maker_view["events"]} >= {"A curator"}
    with app.app_context():
        assert db.session.get(Match, match_id).status is MatchStatus.CONNECTED


def test_the_workflow_table_decides_over_the_api_too(client, tokens, match_id):
    url = f"/api/v1/matches/{match_id}/transitions"
    refused = client.post(url, json={"action": "shortlist"}, headers=as_(tokens, "manufacturer"))
    assert refused.status_code == 403 and refused.json["error"]["code"] == "permission_denied"
    wrong_state = client.post(url, json={"action": "accept"}, headers=as_(tokens, "manufacturer"))
    assert wrong_state.status_code == 409 and wrong_state.json["error"]["code"] == "illegal_transition"
    unknown = client.post(url, json={"action": "teleport"}, headers=as_(tokens, "curator"))
    assert unknown.status_code == 422 and unknown.json["error"]["details"][0]["field"] == "action"
    no_reason = client.post(url, json={"action": "reject"}, headers=as_(tokens, "curator"))
    assert no_reason.status_code == 422 and no_reason.json["error"]["details"][0]["field"] == "reason"
    assert workflow.TRANSITIONS["reject"].reasons


# ---------------------------------------------------------------- the same messages as the web forms

YESTERDAY = (date.today() - timedelta(days=1)).isoformat()
# (kind, form overrides, the same input as JSON): each breaks several domain rules at once.
# (kind, form overrides, the same input as JSON): each breaks several domain rules at once, with values a
# person can enter in the form (unknown choices cannot be picked there: the form's own select check refuses them).
BAD_INPUT = [
    (
        "demands",
        {"title": "T" * 201, "budget_min": "9", "budget_max": "1", "expires_on": YESTERDAY},
        {"title": "T" * 201, "budget_min": 9, "budget_max": 1, "expires_on": YESTERDAY},
    ),
    ("demands", {"title": "", "city": "c" * 81, "budget_min": "-1"}, {"title": "", "city": "c" * 81, "budget_min": -1}),
    (
        "offerings",
        {"capacity": "0", "price_min": "-5", "cities": "x" * 81, "regions": []},
        {"capacity": 0, "price_min": -5, "regions": ["x" * 81]},
    ),
    (
        "offerings",
        {"description": "", "capacity": "5000", "price_min": "9", "price_max": "1"},
        {"description": "", "capacity": 5000, "price_min": 9, "price_max": 1},
    ),
]
VALID_JSON = {
    "demands": {"title": "Detect weaving defects", "description": "Broken threads slip past inspection."},
    "offerings": {"title": "Edge camera inspection", "description": "Line-scan cameras.", "capacity": 4},
}


@pytest.mark.parametrize("locale", ["en", "zh_Hant"])
@pytest.mark.parametrize("kind, form, body", BAD_INPUT, ids=["demand-1", "demand-2", "offering-1", "offering-2"])
def test_the_api_and_the_web_form_give_the_same_messages(app, client, auth, tokens, locale, kind, form, body):
    owner = OWNERS[kind][0]
    with app.app_context():
        persona(owner).locale = locale
        db.session.commit()
    response = client.post(f"/api/v1/{kind}/", json={**VALID_JSON[kind], **body}, headers=as_(tokens, owner))
    assert response.status_code == 422
    api = {}
    for detail in response.json["error"]["details"]:
        api.setdefault(detail["field"], []).append(detail["message"])
    assert len(api) >= 2

    auth.login_as(owner)
    fill = demand_form if kind == "demands" else offering_form
    page = client.post(f"/{kind}/new", data=fill(**form)).get_data(as_text=True)
    web = {field: [html.unescape(m) for m in field_errors(page, field)] for field in api}
    assert web == api
    with app.app_context():
        model = Demand if kind == "demands" else Offering
        assert db.session.scalar(sa.select(sa.func.count(model.id))) == 0


def test_a_confidential_budget_set_over_the_api_is_for_the_organisation_and_curators(client, tokens):
    body = {**VALID_JSON["demands"], "budget_min": 4_321_987, "budget_max": 5_432_198, "budget_confidential": True}
    created = client.post("/api/v1/demands/", json=body, headers=as_(tokens, "manufacturer"))
    assert created.status_code == 201 and created.json["budget_confidential"] is True
    url = f"/api/v1/demands/{created.json['id']}"
    assert client.post(f"{url}/publish", headers=as_(tokens, "manufacturer")).status_code == 200
    for reader, shown in [("manufacturer", True), ("curator", True), ("vendor", False), ("intruder", False)]:
        for answer in (
            client.get(url, headers=as_(tokens, reader)).json,
            client.get("/api/v1/demands/", headers=as_(tokens, reader)).json["items"][0],
        ):
            amounts = (answer["budget_min"], answer["budget_max"])
            assert amounts == ((4_321_987, 5_432_198) if shown else (None, None)), (reader, answer)
            assert answer["budget_confidential"] is True
