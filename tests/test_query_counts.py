"""List pages cost a fixed number of queries, however many rows they show, and read their order from an index.

A list that loads each row's organisation or postings one by one (N+1) gets slower with every row on the
page; under load (bench/bench_web.py, 50 people) that was most of the list pages' time. So is sorting every
published posting for each page: the listing index (models.py) lets the database read the page in order.
"""

import pytest
import sqlalchemy as sa

from matchmaker.domain.filters import visible_postings_query
from matchmaker.extensions import db
from matchmaker.models import Demand, Match, MatchStatus, Offering, OrgKind, PostingStatus, utcnow

from .factories import organization, persona, publish


def add_rows(count: int, start: int) -> None:
    """Add `count` demands of the manufacturer's and offerings of as many vendors, each pair a match."""
    maker = persona("manufacturer")
    for n in range(start, start + count):
        demand = Demand(
            title=f"Demand {n}",
            description="Detect weaving defects.",
            organization=organization(f"Factory {n}", OrgKind.MANUFACTURER) if n % 2 else maker.organization,
            status=PostingStatus.PUBLISHED,
            published_at=utcnow(),
        )
        offering = Offering(
            title=f"Offering {n}",
            description="Vision inspection.",
            organization=organization(f"Vendor {n}", OrgKind.VENDOR),
            status=PostingStatus.PUBLISHED,
            published_at=utcnow(),
        )
        match = Match(demand=demand, offering=offering, status=MatchStatus.PROPOSED, score=0.5 + n / 1000)
        db.session.add_all([demand, offering, match])
    db.session.commit()


def statements(app, client, path: str) -> int:
    """Return how many SQL statements one GET of the page runs."""
    seen = []

    def count(*_args, **_kwargs):
        seen.append(1)

    with app.app_context():
        sa.event.listen(db.engine, "before_cursor_execute", count)
        try:
            response = client.get(path)
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", count)
    assert response.status_code == 200, path
    return len(seen)


@pytest.mark.parametrize(
    ("who", "path"),
    [
        ("manufacturer", "/demands/"),
        ("manufacturer", "/offerings/"),
        ("manufacturer", "/matches/"),
        ("vendor", "/matches/"),
        ("curator", "/matches/"),
        ("curator", "/curation/"),
    ],
)
def test_list_pages_run_as_many_queries_for_twenty_rows_as_for_two(app, client, auth, personas, who, path):
    with app.app_context():
        add_rows(2, 0)
    auth.login_as(who)
    client.get(path)  # the first request of a session does one-off work (expiry check, locale)
    few = statements(app, client, path)
    with app.app_context():
        add_rows(18, 2)
    many = statements(app, client, path)
    assert many == few, f"{path} ran {few} queries for 2 rows and {many} for 20"


@pytest.mark.parametrize("model", [Demand, Offering])
def test_posting_lists_read_their_order_from_the_listing_index(app, model):
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        pytest.skip("SQLite's query plan is checked; PostgreSQL chooses by its statistics")
    with app.app_context():
        query = visible_postings_query(model, {}).limit(20)
        compiled = query.compile(db.engine, compile_kwargs={"literal_binds": True})
        plan = " ".join(str(row[-1]) for row in db.session.execute(sa.text(f"EXPLAIN QUERY PLAN {compiled}")))
    assert f"ix_{model.__tablename__}_listing" in plan, plan
    assert "TEMP B-TREE" not in plan, plan


def test_search_results_run_as_many_queries_for_twelve_hits_as_for_two(app, client, auth, personas):
    with app.app_context():
        for n in range(2):
            publish(Offering, f"Vision vendor {n}", f"Weld seam vision inspection {n}", "Camera inspection of welds.")
    auth.login_as("manufacturer")
    path = "/search/?q=weld+seam+vision+inspection"
    client.get(path)  # the first search starts this process's engine
    few = statements(app, client, path)
    with app.app_context():
        for n in range(2, 12):
            publish(Offering, f"Vision vendor {n}", f"Weld seam vision inspection {n}", "Camera inspection of welds.")
    client.get(path)  # the engine catches up with the new postings once
    many = statements(app, client, path)
    assert client.get(path).get_data(as_text=True).count("Weld seam vision inspection") >= 12
    assert many == few, f"search ran {few} queries for 2 hits and {many} for 12"
