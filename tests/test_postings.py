"""Demands and offerings through the web: post, edit, publish, close, who may, and what lists show."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from matchmaker.domain import postings
from matchmaker.domain.errors import PermissionDenied, ValidationFailed
from matchmaker.extensions import db
from matchmaker.models import Demand, Offering, PostingStatus, User
from matchmaker.signals import postings_saved

from .factories import demand_form, field_errors, make_posting, offering_form, only, titles

CONTACT_EMAIL = "contact@"  # factories.make_user gives every organisation contact@<kind>.example
CONTACT_PHONE = "+852 5555 0000"


@dataclass(frozen=True)
class Kind:
    """What a test needs to know about one posting kind."""

    prefix: str
    model: type
    poster: str
    rival: str
    form: Callable[..., dict[str, Any]]
    low: str
    high: str


DEMANDS = Kind("/demands", Demand, "manufacturer", "intruder", demand_form, "budget_min", "budget_max")
OFFERINGS = Kind("/offerings", Offering, "vendor", "vendor_intruder", offering_form, "price_min", "price_max")
BOTH = pytest.mark.parametrize("kind", [DEMANDS, OFFERINGS], ids=["demand", "offering"])


# ------------------------------------------------------------------ create, edit, publish, close


def test_post_demand_as_draft(app, client, auth, personas):
    auth.login_as("manufacturer")
    response = client.post("/demands/new", data=demand_form())
    demand = only(app, Demand)
    assert response.status_code == 302
    assert response.headers["Location"] == f"/demands/{demand.id}"
    assert demand.status is PostingStatus.DRAFT and demand.published_at is None
    assert (demand.industry, demand.city, demand.budget_min, demand.budget_max) == ("17", "Foshan", 100000, 300000)
    assert demand.scenarios == ["visual_inspection"] and demand.vouchers == ["compute"]
    assert demand.author_id == personas["manufacturer"]
    page = client.get(f"/demands/{demand.id}").get_data(as_text=True)
    assert "Detect weaving defects on fabric rolls" in page and "Saved." in page


def test_post_offering_and_publish_at_once(app, client, auth, personas):
    auth.login_as("vendor")
    form = offering_form()
    del form["save"]
    response = client.post("/offerings/new", data={**form, "publish": "Publish"})
    offering = only(app, Offering)
    assert response.headers["Location"] == f"/offerings/{offering.id}"
    assert offering.status is PostingStatus.PUBLISHED and offering.published_at is not None
    assert offering.regions == ["Guangdong", "Hong Kong", "Shenzhen", "Dongguan"]
    assert offering.industries_served == ["17", "18"] and offering.capacity == 4


@BOTH
def test_edit_publish_close(app, client, auth, personas, kind):
    auth.login_as(kind.poster)
    client.post(f"{kind.prefix}/new", data=kind.form())
    posting_id = only(app, kind.model).id

    edit_page = client.get(f"{kind.prefix}/{posting_id}/edit").get_data(as_text=True)
    assert 'value="Save as draft"' in edit_page and 'value="Publish"' in edit_page
    response = client.post(f"{kind.prefix}/{posting_id}/edit", data=kind.form(title="A sharper title"))
    assert response.headers["Location"] == f"{kind.prefix}/{posting_id}"
    assert only(app, kind.model).title == "A sharper title"

    response = client.post(f"{kind.prefix}/{posting_id}/publish")
    assert response.headers["Location"] == f"{kind.prefix}/{posting_id}"
    posting = only(app, kind.model)
    assert posting.status is PostingStatus.PUBLISHED and posting.published_at is not None
    assert 'value="Save changes"' in client.get(f"{kind.prefix}/{posting_id}/edit").get_data(as_text=True)

    client.post(f"{kind.prefix}/{posting_id}/close")
    assert only(app, kind.model).status is PostingStatus.CLOSED


@BOTH
def test_closed_posting_is_final(app, client, auth, personas, kind):
    posting_id = make_posting(app, personas[kind.poster], kind.model, PostingStatus.CLOSED)
    auth.login_as(kind.poster)
    response = client.get(f"{kind.prefix}/{posting_id}/edit", follow_redirects=True)
    assert "A closed posting can no longer be edited." in response.get_data(as_text=True)
    response = client.post(f"{kind.prefix}/{posting_id}/edit", data=kind.form(title="Revived"))
    assert response.status_code == 302
    response = client.post(f"{kind.prefix}/{posting_id}/publish", follow_redirects=True)
    assert "cannot become published" in response.get_data(as_text=True)
    posting = only(app, kind.model)
    assert posting.status is PostingStatus.CLOSED and posting.title == "A posting"


@BOTH
def test_draft_can_be_closed_without_publishing(app, client, auth, personas, kind):
    posting_id = make_posting(app, personas[kind.poster], kind.model, PostingStatus.DRAFT)
    auth.login_as(kind.poster)
    client.post(f"{kind.prefix}/{posting_id}/close")
    posting = only(app, kind.model)
    assert posting.status is PostingStatus.CLOSED and posting.published_at is None


@BOTH
def test_every_change_is_announced_after_commit(app, client, auth, personas, kind):
    seen = []

    def record(sender, postings, **_):
        with app.app_context():  # a fresh session proves the change was committed
            seen.extend((type(p), db.session.get(type(p), p.id).status) for p in postings)

    auth.login_as(kind.poster)
    with postings_saved.connected_to(record):
        client.post(f"{kind.prefix}/new", data=kind.form())
        posting_id = only(app, kind.model).id
        client.post(f"{kind.prefix}/{posting_id}/edit", data=kind.form(title="Changed"))
        client.post(f"{kind.prefix}/{posting_id}/publish")
        client.post(f"{kind.prefix}/{posting_id}/close")
    assert seen == [
        (kind.model, PostingStatus.DRAFT),
        (kind.model, PostingStatus.DRAFT),
        (kind.model, PostingStatus.PUBLISHED),
        (kind.model, PostingStatus.CLOSED),
    ]


# ------------------------------------------------------------------ validation shown next to fields


@BOTH
def test_missing_title_is_shown_next_to_the_field(app, client, auth, personas, kind):
    auth.login_as(kind.poster)
    response = client.post(f"{kind.prefix}/new", data=kind.form(title=""))
    assert response.status_code == 200
    assert field_errors(response.get_data(as_text=True), "title") == ["This field is required."]
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(kind.model)) == 0


@BOTH
def test_minimum_above_maximum_is_refused(app, client, auth, personas, kind):
    auth.login_as(kind.poster)
    response = client.post(f"{kind.prefix}/new", data=kind.form(**{kind.low: "500000", kind.high: "1000"}))
    assert response.status_code == 200
    errors = field_errors(response.get_data(as_text=True), kind.high)
    assert errors == ["The minimum cannot be more than the maximum."]
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(kind.model)) == 0


@BOTH
def test_negative_amount_is_refused(client, auth, personas, kind):
    auth.login_as(kind.poster)
    response = client.post(f"{kind.prefix}/new", data=kind.form(**{kind.low: "-5"}))
    assert field_errors(response.get_data(as_text=True), kind.low)


@BOTH
def test_unknown_scenario_is_refused(client, auth, personas, kind):
    auth.login_as(kind.poster)
    response = client.post(f"{kind.prefix}/new", data=kind.form(scenarios=["visual_inspection", "mind_reading"]))
    errors = field_errors(response.get_data(as_text=True), "scenarios")
    assert len(errors) == 1 and "mind_reading" in errors[0]


def test_unknown_industry_and_past_expiry_are_refused(client, auth, personas):
    auth.login_as("manufacturer")
    page = client.post("/demands/new", data=demand_form(industry="99")).get_data(as_text=True)
    assert field_errors(page, "industry")
    yesterday = (date.today() - timedelta(days=1)).isoformat()
    page = client.post("/demands/new", data=demand_form(expires_on=yesterday)).get_data(as_text=True)
    assert field_errors(page, "expires_on") == ["The expiry date cannot be in the past."]


def test_domain_refuses_bad_input_directly(app, personas):
    with app.app_context():
        user = db.session.get(User, personas["manufacturer"])
        with pytest.raises(ValidationFailed) as caught:
            postings.create_demand(user, postings.DemandInput("T", "D", scenarios=["nope"]))
        assert caught.value.field == "scenarios"
        with pytest.raises(ValidationFailed) as caught:
            postings.create_demand(user, postings.DemandInput("T", "D", budget_min=-1))
        assert caught.value.field == "budget_min"


def test_domain_reports_every_problem_at_once(app, personas):
    yesterday = date.today() - timedelta(days=1)
    bad = postings.DemandInput("", "D", scenarios=["nope"], budget_min=-1, expires_on=yesterday, city="c" * 81)
    with app.app_context():
        user = db.session.get(User, personas["manufacturer"])
        with pytest.raises(ValidationFailed) as caught:
            postings.create_demand(user, bad)
        assert [(e.field, str(e.message)) for e in caught.value.errors] == [
            ("city", "At most 80 characters."),
            ("title", "This field is required."),
            ("scenarios", "Not in the list: nope."),
            ("budget_min", "Amounts cannot be negative."),
            ("expires_on", "The expiry date cannot be in the past."),
        ]
        # The first problem stays the error's own message and field, for callers that show one.
        assert (caught.value.field, str(caught.value.message)) == ("city", "At most 80 characters.")
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Demand)) == 0


def test_web_form_shows_every_domain_problem_on_its_field(app, client, auth, personas):
    auth.login_as("manufacturer")
    yesterday = (date.today() - timedelta(days=1)).isoformat()
    page = client.post("/demands/new", data=demand_form(budget_min="9", budget_max="1", expires_on=yesterday))
    html = page.get_data(as_text=True)
    assert field_errors(html, "budget_max") == ["The minimum cannot be more than the maximum."]
    assert field_errors(html, "expires_on") == ["The expiry date cannot be in the past."]
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Demand)) == 0


def test_a_system_write_acts_only_for_its_own_organization(app, personas):
    from matchmaker.domain.errors import IllegalTransition

    with app.app_context():
        owner, rival = db.session.get(User, personas["manufacturer"]), db.session.get(User, personas["intruder"])
        demand = postings.create_demand(owner, postings.DemandInput("Fabric", "Holes in fabric."))
        change = postings.DemandInput("Changed", "Holes in fabric.")
        with pytest.raises(PermissionDenied):
            postings.update_demand(postings.OnBehalfOf(rival.organization), demand, change)
        with pytest.raises(PermissionDenied):  # web users are checked as members, as before
            postings.update_demand(rival, demand, change)
        postings.update_demand(postings.OnBehalfOf(owner.organization), demand, change)
        postings.publish(postings.OnBehalfOf(owner.organization), demand)
        postings.close(postings.OnBehalfOf(owner.organization), demand)
        assert demand.title == "Changed" and demand.status is PostingStatus.CLOSED
        with pytest.raises(IllegalTransition):
            postings.update_demand(postings.OnBehalfOf(owner.organization), demand, change)


# ------------------------------------------------------------------ who may do what


def test_vendor_cannot_post_a_demand(app, client, auth, personas):
    auth.login_as("vendor")
    assert client.get("/demands/new").status_code == 403
    assert client.post("/demands/new", data=demand_form()).status_code == 403
    with app.app_context():
        user = db.session.get(User, personas["vendor"])
        with pytest.raises(PermissionDenied):
            postings.create_demand(user, postings.DemandInput("T", "D"))
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Demand)) == 0


def test_manufacturer_cannot_post_an_offering(client, auth, personas):
    auth.login_as("manufacturer")
    assert client.post("/offerings/new", data=offering_form()).status_code == 403


@BOTH
@pytest.mark.parametrize("intruder", ["intruder", "vendor_intruder", "curator", "admin"])
def test_others_cannot_change_a_published_posting(app, client, auth, personas, kind, intruder):
    posting_id = make_posting(app, personas[kind.poster], kind.model, title="Untouched")
    auth.login_as(intruder)
    assert client.get(f"{kind.prefix}/{posting_id}/edit").status_code == 403
    assert client.post(f"{kind.prefix}/{posting_id}/edit", data=kind.form(title="Defaced")).status_code == 403
    assert client.post(f"{kind.prefix}/{posting_id}/close").status_code == 403
    posting = only(app, kind.model)
    assert posting.title == "Untouched" and posting.status is PostingStatus.PUBLISHED


@BOTH
def test_others_cannot_publish_a_draft(app, client, auth, personas, kind):
    posting_id = make_posting(app, personas[kind.poster], kind.model, PostingStatus.DRAFT)
    auth.login_as("curator")  # curators may see drafts, so the refusal is 403 rather than 404
    assert client.post(f"{kind.prefix}/{posting_id}/publish").status_code == 403
    auth.logout()
    auth.login_as(kind.rival)
    assert client.post(f"{kind.prefix}/{posting_id}/publish").status_code == 404
    assert only(app, kind.model).status is PostingStatus.DRAFT


def test_domain_refuses_an_intruder(app, personas):
    posting_id = make_posting(app, personas["manufacturer"], Demand)
    with app.app_context():
        intruder = db.session.get(User, personas["intruder"])
        demand = db.session.get(Demand, posting_id)
        for attempt in (
            lambda: postings.close(intruder, demand),
            lambda: postings.update_demand(intruder, demand, postings.DemandInput("X", "Y")),
        ):
            with pytest.raises(PermissionDenied):
                attempt()


@BOTH
def test_drafts_are_hidden_from_others(app, client, auth, personas, kind):
    posting_id = make_posting(app, personas[kind.poster], kind.model, PostingStatus.DRAFT, title="Secret plan")
    url = f"{kind.prefix}/{posting_id}"
    assert client.get(url).status_code == 404
    assert "Secret plan" not in client.get(f"{kind.prefix}/").get_data(as_text=True)
    auth.login_as(kind.rival)
    assert client.get(url).status_code == 404
    assert "Secret plan" not in client.get(f"{kind.prefix}/?status=draft").get_data(as_text=True)
    auth.logout()
    auth.login_as(kind.poster)
    assert "Secret plan" in client.get(url).get_data(as_text=True)
    assert "Secret plan" in client.get(f"{kind.prefix}/?status=draft").get_data(as_text=True)
    assert "Secret plan" not in client.get(f"{kind.prefix}/").get_data(as_text=True)


@BOTH
def test_contact_details_never_shown(app, client, auth, personas, kind):
    published = make_posting(app, personas[kind.poster], kind.model)
    draft = make_posting(app, personas[kind.poster], kind.model, PostingStatus.DRAFT)
    auth.login_as(kind.poster)
    urls = [
        f"{kind.prefix}/",
        f"{kind.prefix}/?status=draft",
        f"{kind.prefix}/{published}",
        f"{kind.prefix}/{draft}",
        f"{kind.prefix}/{draft}/edit",
        f"{kind.prefix}/new",
    ]
    for url in urls:
        page = client.get(url).get_data(as_text=True)
        assert CONTACT_EMAIL not in page and CONTACT_PHONE not in page, url
    auth.logout()
    auth.login_as("curator")
    page = client.get(f"{kind.prefix}/{published}").get_data(as_text=True)
    assert CONTACT_EMAIL not in page and CONTACT_PHONE not in page


# ------------------------------------------------------------------ lists: filters and pages


@pytest.fixture
def listed(app, personas):
    """Publish demands and offerings that differ in industry, scenario and city."""
    maker, vendor = personas["manufacturer"], personas["vendor"]
    make_posting(
        app, maker, Demand, title="Loom defects", industry="17", scenarios=["visual_inspection"], city="Foshan"
    )
    make_posting(
        app, maker, Demand, title="Mould energy", industry="29", scenarios=["energy_management"], city="Dongguan"
    )
    make_posting(
        app,
        personas["intruder"],
        Demand,
        title="Injection scheduling",
        industry="29",
        scenarios=["production_scheduling", "energy_management"],
        city="Shenzhen",
    )
    make_posting(app, maker, Demand, PostingStatus.CLOSED, title="Old closed demand", industry="17")
    make_posting(
        app,
        vendor,
        Offering,
        title="Fabric vision",
        industries_served=["17"],
        scenarios=["visual_inspection"],
        regions=["Guangdong", "Foshan"],
    )
    make_posting(
        app,
        vendor,
        Offering,
        title="Energy twin",
        industries_served=["29", "33"],
        scenarios=["energy_management", "digital_twin"],
        regions=["Hong Kong"],
    )


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", {"Loom defects", "Mould energy", "Injection scheduling"}),
        ("?industry=29", {"Mould energy", "Injection scheduling"}),
        ("?scenario=energy_management", {"Mould energy", "Injection scheduling"}),
        ("?scenario=energy_management&industry=29&city=dongguan", {"Mould energy"}),
        ("?city=Shen", {"Injection scheduling"}),
        ("?status=closed", set()),  # anonymous: nobody's closed postings
        ("?industry=13", set()),
    ],
)
def test_demand_filters(client, listed, query, expected):
    assert titles(client, f"/demands/{query}") == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", {"Fabric vision", "Energy twin"}),
        ("?industry=33", {"Energy twin"}),
        ("?scenario=visual_inspection", {"Fabric vision"}),
        ("?city=hong kong", {"Energy twin"}),
        ("?city=Foshan", {"Fabric vision"}),
    ],
)
def test_offering_filters(client, listed, query, expected):
    assert titles(client, f"/offerings/{query}") == expected


def test_status_filter_shows_own_closed_postings(client, auth, listed):
    auth.login_as("manufacturer")
    assert titles(client, "/demands/?status=closed") == {"Old closed demand"}
    auth.logout()
    auth.login_as("intruder")
    assert titles(client, "/demands/?status=closed") == set()


def test_list_shows_labels_not_keys(client, listed):
    page = client.get("/demands/?industry=17").get_data(as_text=True)
    assert "Textiles" in page and "visual_inspection</span>" not in page


def test_pagination(app, client, personas):
    for number in range(5):
        make_posting(app, personas["manufacturer"], Demand, title=f"Demand {number}")
    app.config["PER_PAGE"] = 2
    assert titles(client, "/demands/") == {"Demand 4", "Demand 3"}
    assert titles(client, "/demands/?page=3") == {"Demand 0"}
    page = client.get("/demands/?page=2&industry=").get_data(as_text=True)
    assert "Page 2 of 3" in page and "page=3" in page and "page=1" in page
    assert client.get("/demands/?page=9").status_code == 404
