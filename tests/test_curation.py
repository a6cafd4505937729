"""The curator workspace: who may enter, the queue, bulk decisions, pairing, notes, history, assignment, stats."""

import re
import sys
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from matchmaker.extensions import db
from matchmaker.models import (
    Demand,
    Match,
    MatchEvent,
    MatchNote,
    MatchStatus,
    Offering,
    Organization,
    PostingStatus,
    User,
)

CURATOR = "curator@test.example"
NOTE = "Vendor overcommitted last quarter; check references first."


def _org(name: str) -> Organization:
    return db.session.scalar(sa.select(Organization).where(Organization.name == name))


def _ago(days: int) -> datetime:
    return datetime.now(UTC) - timedelta(days=days)


@pytest.fixture
def board(app, personas):
    """Two demands, two offerings and three matches whose score order differs from their age order.

    m1: fabric demand × Lumen, 0.9, proposed, newest;  m3: fabric demand × Rival, 0.6, shortlisted;
    m2: kiln demand × Rival, 0.4, proposed, oldest.
    """
    with app.app_context():
        fabric = Demand(
            title="Fabric defect detection",
            description="x",
            organization=_org("Foshan Weave Textiles"),
            industry="17",
            city="Foshan",
            vouchers=["compute"],
            scenarios=["visual_inspection"],
            status=PostingStatus.PUBLISHED,
        )
        kiln = Demand(
            title="Kiln energy savings",
            description="x",
            organization=_org("Dongguan Rival Plastics"),
            industry="29",
            city="Dongguan",
            vouchers=[],
            scenarios=[],
            auto_scenarios=["energy_management"],
            status=PostingStatus.PUBLISHED,
        )
        lumen = Offering(
            title="Edge inspection",
            description="x",
            organization=_org("Lumen Vision AI"),
            capacity=2,
            status=PostingStatus.PUBLISHED,
        )
        rival = Offering(
            title="Energy optimiser",
            description="x",
            organization=_org("Rival Robotics"),
            capacity=1,
            status=PostingStatus.PUBLISHED,
        )
        m1 = Match(demand=fabric, offering=lumen, score=0.9, created_at=_ago(1))
        m2 = Match(demand=kiln, offering=rival, score=0.4, created_at=_ago(3))
        m3 = Match(demand=fabric, offering=rival, score=0.6, status=MatchStatus.SHORTLISTED, created_at=_ago(2))
        db.session.add_all([fabric, kiln, lumen, rival, m1, m2, m3])
        db.session.commit()
        return {
            "fabric": fabric.id,
            "kiln": kiln.id,
            "lumen": lumen.id,
            "rival": rival.id,
            "m1": m1.id,
            "m2": m2.id,
            "m3": m3.id,
        }


def _routes(board) -> list[tuple[str, str, dict]]:
    """Return every curation route as (method, url, form data)."""
    return [
        ("get", "/curation/", {}),
        ("post", "/curation/bulk", {"action": "shortlist", "match_ids": [board["m1"]]}),
        ("get", f"/curation/matches/{board['m1']}", {}),
        ("post", f"/curation/matches/{board['m1']}/notes", {"body": "hello"}),
        ("get", "/curation/pair", {}),
        ("post", "/curation/pair", {"demand_id": board["kiln"], "offering_id": board["lumen"]}),
        ("post", f"/curation/demands/{board['fabric']}/rematch", {}),
        ("get", f"/curation/demands/{board['fabric']}/history", {}),
        ("get", f"/curation/offerings/{board['lumen']}/history", {}),
        ("get", "/curation/assign", {}),
        ("post", "/curation/assign/apply", {"per_demand": 1, "match_ids": [board["m1"]]}),
        ("get", "/curation/stats", {}),
    ]


@pytest.fixture
def no_engine(monkeypatch):
    """Stand in for the matching engine so re-matching needs no model."""
    calls = []
    import matchmaker.matching.service as service

    monkeypatch.setattr(service, "propose_for_demand", lambda demand, k=None: calls.append(demand.id) or [])
    return calls


# Each persona walks every route in one test: building the app and personas dominates test time.
@pytest.mark.parametrize("persona", ["curator", "admin"])
def test_curators_and_admins_may_use_every_route(client, auth, board, persona, no_engine):
    auth.login_as(persona)
    for method, url, data in _routes(board):
        response = getattr(client, method)(url, data=data)
        assert response.status_code == (200 if method == "get" else 302), (method, url)
        if method == "post":
            assert "/auth/login" not in response.headers["Location"], url


@pytest.mark.parametrize("persona", ["manufacturer", "vendor", "intruder", "vendor_intruder"])
def test_parties_are_refused_every_route(client, auth, board, persona, app):
    auth.login_as(persona)
    for method, url, data in _routes(board):
        assert getattr(client, method)(url, data=data).status_code == 403, (method, url)
    with app.app_context():
        assert db.session.get(Match, board["m1"]).status is MatchStatus.PROPOSED
        assert db.session.scalar(sa.select(sa.func.count(Match.id))) == 3
        assert db.session.scalar(sa.select(sa.func.count(MatchNote.id))) == 0


def test_anonymous_visitors_are_sent_to_log_in(client, board):
    for method, url, data in _routes(board):
        response = getattr(client, method)(url, data=data)
        assert response.status_code == 302, (method, url)
        assert response.headers["Location"].startswith("/auth/login"), (method, url)


# ---------------------------------------------------------------- the queue


def _rows(response) -> list[int]:
    """Return the match ids of the queue's rows, in page order."""
    return [int(i) for i in re.findall(r'class="queue-row" data-match-id="(\d+)"', response.get_data(as_text=True))]


@pytest.fixture
def curator(client, auth, board):
    auth.login_as("curator")
    return client


@pytest.mark.parametrize(
    "query, expected",
    [
        ("", ["m1", "m3", "m2"]),
        ("?industry=17", ["m1", "m3"]),
        ("?scenario=energy_management", ["m2"]),
        ("?scenario=visual_inspection", ["m1", "m3"]),
        ("?city=dongGUAN", ["m2"]),
        ("?voucher=compute", ["m1", "m3"]),
        ("?voucher=any", ["m1", "m3"]),
        ("?voucher=training", []),
        ("?status=shortlisted", ["m3"]),
        ("?status=proposed&industry=29", ["m2"]),
        ("?status=rejected", []),
    ],
)
def test_queue_filters(curator, board, query, expected):
    assert _rows(curator.get(f"/curation/{query}")) == [board[m] for m in expected]


@pytest.mark.parametrize(
    "sort, expected",
    [
        ("score", ["m1", "m3", "m2"]),
        ("score_asc", ["m2", "m3", "m1"]),
        ("newest", ["m1", "m3", "m2"]),
        ("oldest", ["m2", "m3", "m1"]),
        ("bogus", ["m1", "m3", "m2"]),
    ],
)
def test_queue_sorts_by_score_and_age(curator, board, sort, expected):
    assert _rows(curator.get(f"/curation/?sort={sort}")) == [board[m] for m in expected]


def test_queue_pages_keep_filters(curator, board, app):
    app.config["PER_PAGE"] = 2
    first = curator.get("/curation/?sort=oldest")
    assert _rows(first) == [board["m2"], board["m3"]]
    assert "sort=oldest" in first.get_data(as_text=True) and "page=2" in first.get_data(as_text=True)
    assert _rows(curator.get("/curation/?sort=oldest&page=2")) == [board["m1"]]


def test_queue_shows_all_statuses_on_request(curator, board, app):
    with app.app_context():
        db.session.get(Match, board["m2"]).status = MatchStatus.REJECTED
        db.session.commit()
    assert board["m2"] not in _rows(curator.get("/curation/"))
    assert board["m2"] in _rows(curator.get("/curation/?status=all"))


# ---------------------------------------------------------------- bulk decisions


def _statuses(app, board, *names) -> list[MatchStatus]:
    with app.app_context():
        return [db.session.get(Match, board[name]).status for name in names]


def test_bulk_shortlist_records_the_curator(curator, board, app):
    response = curator.post(
        "/curation/bulk",
        data={"action": "shortlist", "match_ids": [board["m1"], board["m2"]], "next": "/curation/?sort=oldest"},
    )
    assert response.headers["Location"] == "/curation/?sort=oldest"
    assert _statuses(app, board, "m1", "m2") == [MatchStatus.SHORTLISTED] * 2
    with app.app_context():
        events = db.session.scalars(sa.select(MatchEvent).where(MatchEvent.action == "shortlist")).all()
        assert {(e.match_id, e.actor.email, e.from_status, e.to_status) for e in events} == {
            (board["m1"], CURATOR, "proposed", "shortlisted"),
            (board["m2"], CURATOR, "proposed", "shortlisted"),
        }


def test_bulk_shortlist_reports_matches_it_cannot_move(curator, board, app):
    page = curator.post(
        "/curation/bulk", data={"action": "shortlist", "match_ids": [board["m1"], board["m3"]]}, follow_redirects=True
    ).get_data(as_text=True)
    assert "Shortlist" in page and f"Match {board['m3']}" in page and "Cannot shortlist" in page
    assert _statuses(app, board, "m1", "m3") == [MatchStatus.SHORTLISTED] * 2


def test_bulk_reject_needs_a_reason_and_stores_it(curator, board, app):
    page = curator.post(
        "/curation/bulk", data={"action": "reject", "match_ids": [board["m1"], board["m3"]]}, follow_redirects=True
    ).get_data(as_text=True)
    assert "Choose a reason" in page
    assert _statuses(app, board, "m1", "m3") == [MatchStatus.PROPOSED, MatchStatus.SHORTLISTED]

    curator.post(
        "/curation/bulk",
        data={
            "action": "reject",
            "reason": "poor_fit",
            "note": "Wrong fabric type",
            "match_ids": [board["m1"], board["m3"]],
        },
    )
    assert _statuses(app, board, "m1", "m3") == [MatchStatus.REJECTED] * 2
    with app.app_context():
        match = db.session.get(Match, board["m1"])
        assert (match.decision_reason, match.decision_note) == ("poor_fit", "Wrong fabric type")
        assert match.events[-1].reason == "poor_fit" and match.events[-1].actor.email == CURATOR


def test_bulk_without_a_selection_changes_nothing(curator, board, app):
    page = curator.post("/curation/bulk", data={"action": "shortlist"}, follow_redirects=True).get_data(as_text=True)
    assert "Tick at least one match" in page
    assert _statuses(app, board, "m1") == [MatchStatus.PROPOSED]


def test_bulk_ignores_an_offsite_next(curator, board):
    response = curator.post(
        "/curation/bulk", data={"action": "shortlist", "match_ids": [board["m1"]], "next": "https://evil.example/"}
    )
    assert "evil.example" not in response.headers["Location"]


# ---------------------------------------------------------------- manual pairing


def test_manual_pairing_creates_a_curator_proposal(curator, board, app):
    form = curator.get("/curation/pair").get_data(as_text=True)
    assert "Kiln energy savings" in form and "Edge inspection" in form
    response = curator.post(
        "/curation/pair",
        data={"demand_id": board["kiln"], "offering_id": board["lumen"], "note": "Met them at the fair"},
    )
    with app.app_context():
        match = db.session.scalar(
            sa.select(Match).where(Match.demand_id == board["kiln"], Match.offering_id == board["lumen"])
        )
        assert (match.status, match.source) == (MatchStatus.PROPOSED, "curator")
        assert [(e.action, e.actor.email, e.note) for e in match.events] == [
            ("create", CURATOR, "Met them at the fair")
        ]
        assert response.headers["Location"] == f"/curation/matches/{match.id}"


def test_manual_pairing_refuses_duplicates(curator, board, app):
    page = curator.post("/curation/pair", data={"demand_id": board["fabric"], "offering_id": board["lumen"]})
    assert page.status_code == 200 and "already paired" in page.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Match.id))) == 3


def test_manual_pairing_refuses_a_vendor_with_its_own_organization(curator, board, app):
    with app.app_context():
        own = Offering(
            title="Plastics vision in-house",
            description="x",
            organization=_org("Dongguan Rival Plastics"),
            status=PostingStatus.PUBLISHED,
        )
        db.session.add(own)
        db.session.commit()
        own_id = own.id
    page = curator.post("/curation/pair", data={"demand_id": board["kiln"], "offering_id": own_id})
    assert page.status_code == 200 and "its own organization" in page.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(Match).where(Match.offering_id == own_id)) is None


def test_manual_pairing_offers_only_published_postings(curator, board, app):
    with app.app_context():
        draft = Offering(
            title="Secret draft offering",
            description="x",
            organization=_org("Lumen Vision AI"),
            status=PostingStatus.DRAFT,
        )
        db.session.add(draft)
        db.session.commit()
        draft_id = draft.id
    assert "Secret draft offering" not in curator.get("/curation/pair").get_data(as_text=True)
    curator.post("/curation/pair", data={"demand_id": board["kiln"], "offering_id": draft_id})
    with app.app_context():
        assert db.session.scalar(sa.select(Match).where(Match.offering_id == draft_id)) is None


# ---------------------------------------------------------------- notes, audit trail and history


def test_notes_are_for_curators_only(client, auth, board, app):
    auth.login_as("curator")
    client.post(f"/curation/matches/{board['m1']}/notes", data={"body": NOTE})
    assert NOTE in client.get(f"/curation/matches/{board['m1']}").get_data(as_text=True)
    auth.logout()
    auth.login_as("admin")
    assert NOTE in client.get(f"/curation/matches/{board['m1']}").get_data(as_text=True)
    auth.logout()
    with app.app_context():  # introduce the match so both parties can open its page
        from matchmaker.domain import workflow

        workflow.apply(
            db.session.get(Match, board["m1"]),
            "introduce",
            db.session.scalar(sa.select(User).where(User.email == CURATOR)),
        )
    for persona in ("manufacturer", "vendor"):
        auth.login_as(persona)
        for url in ("/matches/", f"/matches/{board['m1']}", f"/curation/matches/{board['m1']}"):
            response = client.get(url)
            assert NOTE not in response.get_data(as_text=True), (persona, url, response.status_code)
        assert client.get(f"/matches/{board['m1']}").status_code == 200
        auth.logout()


def test_empty_note_is_refused(curator, board, app):
    page = curator.post(f"/curation/matches/{board['m1']}/notes", data={"body": ""}, follow_redirects=True)
    assert "Write a note" in page.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(MatchNote.id))) == 0


def test_match_page_shows_the_audit_trail(curator, board):
    curator.post("/curation/bulk", data={"action": "shortlist", "match_ids": [board["m1"]]})
    curator.post("/curation/bulk", data={"action": "reject", "reason": "duplicate", "match_ids": [board["m1"]]})
    page = curator.get(f"/curation/matches/{board['m1']}").get_data(as_text=True)
    assert "Proposed → Shortlisted" in page and "Shortlisted → Rejected" in page
    assert CURATOR in page and "Duplicate" in page


def test_missing_match_is_404(curator):
    assert curator.get("/curation/matches/99999").status_code == 404
    assert curator.get("/curation/demands/99999/history").status_code == 404
    assert curator.get("/curation/offerings/99999/history").status_code == 404


def test_history_lists_every_match_with_its_events(curator, board):
    curator.post("/curation/bulk", data={"action": "shortlist", "match_ids": [board["m1"]]})
    curator.post("/curation/bulk", data={"action": "reject", "reason": "poor_fit", "match_ids": [board["m3"]]})
    demand_page = curator.get(f"/curation/demands/{board['fabric']}/history").get_data(as_text=True)
    assert f'id="match-{board["m1"]}"' in demand_page and f'id="match-{board["m3"]}"' in demand_page
    assert f'id="match-{board["m2"]}"' not in demand_page
    assert "Proposed → Shortlisted" in demand_page and "Shortlisted → Rejected" in demand_page
    assert "Poor fit" in demand_page and CURATOR in demand_page
    offering_page = curator.get(f"/curation/offerings/{board['rival']}/history").get_data(as_text=True)
    assert f'id="match-{board["m2"]}"' in offering_page and f'id="match-{board["m3"]}"' in offering_page
    assert f'id="match-{board["m1"]}"' not in offering_page


# ---------------------------------------------------------------- re-matching


def test_rematch_runs_the_engine_for_one_demand(curator, board, no_engine):
    page = curator.post(f"/curation/demands/{board['fabric']}/rematch", follow_redirects=True)
    assert no_engine == [board["fabric"]]
    assert "0 new proposals" in page.get_data(as_text=True)


def test_rematch_explains_a_missing_engine(curator, board, monkeypatch):
    monkeypatch.setitem(sys.modules, "matchmaker.matching.service", None)
    page = curator.post(f"/curation/demands/{board['fabric']}/rematch", follow_redirects=True)
    assert page.status_code == 200 and "matching engine is not available" in page.get_data(as_text=True)


def test_rematch_refuses_unpublished_demands(curator, board, app, no_engine):
    with app.app_context():
        db.session.get(Demand, board["kiln"]).status = PostingStatus.CLOSED
        db.session.commit()
    page = curator.post(f"/curation/demands/{board['kiln']}/rematch", follow_redirects=True)
    assert "Only published demands" in page.get_data(as_text=True) and no_engine == []


# ---------------------------------------------------------------- assignment preview and apply


def test_assignment_preview_changes_nothing(curator, board, app):
    page = curator.get("/curation/assign?per_demand=1").get_data(as_text=True)
    assert "Pairs chosen: 2 · demands: 2" in page
    assert f'name="match_ids" value="{board["m1"]}" checked' in page
    assert f'name="match_ids" value="{board["m2"]}" checked' in page
    assert _statuses(app, board, "m1", "m2") == [MatchStatus.PROPOSED] * 2


def test_assignment_preview_warns_when_capacity_runs_short(curator, board):
    page = curator.get("/curation/assign?per_demand=2").get_data(as_text=True)
    assert "fewer than 2" in page and "assignment-message" in page


def test_assignment_apply_shortlists_the_reviewed_pairs(curator, board, app):
    page = curator.post(
        "/curation/assign/apply", data={"per_demand": 1, "match_ids": [board["m1"], board["m3"]]}, follow_redirects=True
    ).get_data(as_text=True)
    assert "1 selected pair is no longer in the assignment" in page and "Shortlisted 1 match." in page
    assert _statuses(app, board, "m1", "m2") == [MatchStatus.SHORTLISTED, MatchStatus.PROPOSED]
    with app.app_context():
        event = db.session.get(Match, board["m1"]).events[-1]
        assert (event.action, event.actor.email) == ("shortlist", CURATOR)


def test_assignment_apply_needs_a_selection(curator, board, app):
    page = curator.post("/curation/assign/apply", data={"per_demand": 1}, follow_redirects=True)
    assert "Tick at least one pair" in page.get_data(as_text=True)
    assert _statuses(app, board, "m1", "m2") == [MatchStatus.PROPOSED] * 2


# ---------------------------------------------------------------- statistics


def _stat(page: str, scenario: str, column: str) -> str:
    row = re.search(rf'data-scenario="{scenario}">(.*?)</tr>', page, re.S).group(1)
    return re.search(rf'class="{column}">([^<]*)<', row).group(1).strip()


def test_stats_show_acceptance_rate_per_scenario(curator, board, app):
    with app.app_context():
        now = datetime.now(UTC)
        m1, m2, m3 = (db.session.get(Match, board[m]) for m in ("m1", "m2", "m3"))
        m1.status, m1.introduced_at = MatchStatus.CONNECTED, now
        m3.status, m3.introduced_at = MatchStatus.DECLINED, now
        m2.status = MatchStatus.REJECTED
        db.session.commit()
    page = curator.get("/curation/stats").get_data(as_text=True)
    assert [
        _stat(page, "visual_inspection", c) for c in ("introduced", "accepted", "declined", "rejected", "rate")
    ] == ["2", "1", "1", "0", "50%"]
    assert [_stat(page, "energy_management", c) for c in ("introduced", "rejected", "rate")] == ["0", "1", "—"]
