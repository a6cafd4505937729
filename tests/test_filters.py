"""The one filter builder: posting lists and the curation queue narrow by the same facets, the same way."""

import re

import pytest
import sqlalchemy as sa

from matchmaker.domain.filters import Filters, facet_clauses
from matchmaker.extensions import db
from matchmaker.models import Demand, Match, Offering, Organization, PostingStatus, utcnow

from .factories import USER_TITLE


def _org(name: str) -> Organization:
    return db.session.scalar(sa.select(Organization).where(Organization.name == name))


@pytest.fixture
def tagged(app, personas):
    """A demand and an offering whose industry the engine only tagged from the text, and a match between them.

    Rows are written directly so the tags stay exactly as set here, whatever the tagger would find.
    """
    with app.app_context():
        demand = Demand(
            title="Tagged mould line",
            description="x",
            organization=_org("Foshan Weave Textiles"),
            industry=None,
            auto_industries=["29"],
            status=PostingStatus.PUBLISHED,
            published_at=utcnow(),
        )
        chosen = Demand(
            title="Chosen loom line",
            description="x",
            organization=_org("Foshan Weave Textiles"),
            industry="17",
            status=PostingStatus.PUBLISHED,
            published_at=utcnow(),
        )
        offering = Offering(
            title="Tagged energy twin",
            description="x",
            organization=_org("Lumen Vision AI"),
            industries_served=[],
            auto_industries=["29"],
            status=PostingStatus.PUBLISHED,
            published_at=utcnow(),
        )
        db.session.add_all([demand, chosen, offering, Match(demand=demand, offering=offering, score=0.8)])
        db.session.commit()


def _titles(client, url) -> set[str]:
    page = client.get(url)
    assert page.status_code == 200
    return set(re.findall(USER_TITLE, page.get_data(as_text=True)))


def test_demand_list_matches_tagged_industries_as_the_queue_does(client, auth, tagged):
    assert _titles(client, "/demands/?industry=29") == {"Tagged mould line"}
    auth.login_as("curator")
    assert "Tagged mould line" in client.get("/curation/?industry=29").get_data(as_text=True)


def test_offering_list_matches_tagged_industries(client, tagged):
    assert _titles(client, "/offerings/?industry=29") == {"Tagged energy twin"}
    assert _titles(client, "/offerings/?industry=17") == set()


def test_unknown_filter_values_fall_back_to_defaults():
    args = {"industry": "99", "scenario": "nope", "voucher": "gold", "city": "  Foshan ", "status": "x", "sort": "y"}
    filters = Filters.from_args(args, statuses=("open", "all"), sorts=("score", "oldest"))
    assert filters == Filters(city="Foshan", status="open", sort="score")
    known = {"industry": "29", "scenario": "energy_management", "voucher": "any", "status": "all", "sort": "oldest"}
    assert Filters.from_args(known, statuses=("open", "all"), sorts=("score", "oldest")) == Filters(**known)


def test_an_unknown_industry_lists_everything_rather_than_nothing(client, tagged):
    assert _titles(client, "/demands/?industry=99") == {"Tagged mould line", "Chosen loom line"}


def test_vouchers_narrow_demands_only():
    assert facet_clauses(Offering, Filters(voucher="compute")) == []
    assert len(facet_clauses(Demand, Filters(voucher="compute"))) == 1
