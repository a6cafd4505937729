"""Two people changing one match, or one posting, at the same moment cannot leave an illegal state.

Each racer is a thread with its own app context, so its own session and database connection; a barrier
lets them read the same row and then write at once. The match workflow claims the row with a guarded
UPDATE (compare-and-set on its status and both responses); postings carry a version column.
"""

import itertools
import threading
from collections.abc import Callable

import pytest
import sqlalchemy as sa

from matchmaker.domain import postings, workflow
from matchmaker.domain.errors import DomainError
from matchmaker.domain.postings import DemandInput
from matchmaker.extensions import db
from matchmaker.models import Demand, Match, MatchEvent, MatchStatus, OrgKind, User

from .factories import PASSWORD, PERSONAS, demand_form, make_match, make_pair, make_user, persona

ROUNDS = 5


def race(app, racers: list[Callable[[], object]]) -> list[object]:
    """Run each racer in its own thread and app context, released together; return results or exceptions."""
    barrier = threading.Barrier(len(racers))
    results: list[object] = [None] * len(racers)

    def run(index: int) -> None:
        with app.app_context():
            try:
                prepared = racers[index]()  # reads what it will change, then waits for the others
                barrier.wait(timeout=30)
                results[index] = prepared()
            except Exception as exc:  # the loser's refusal is the result under test
                results[index] = exc
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(racers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def _acting(match_id: int, action: str, who: str, **options) -> Callable[[], Callable[[], object]]:
    """Return a racer: load the match as `who`, then apply the action to what was loaded."""

    def prepare():
        match, actor = db.session.get(Match, match_id), persona(who)
        assert match.status is not None and actor.organization_id  # loaded now, before the others write
        return lambda: workflow.apply(match, action, actor, **options).status

    return prepare


def _events(app, match_id: int) -> list[MatchEvent]:
    with app.app_context():
        return db.session.scalars(
            sa.select(MatchEvent).where(MatchEvent.match_id == match_id).order_by(MatchEvent.id)
        ).all()


def _state(app, match_id: int) -> Match:
    with app.app_context():
        match = db.session.get(Match, match_id)
        db.session.expunge(match)
        return match


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_two_curators_deciding_one_proposal_at_once_leave_one_decision(app, personas, round_):
    with app.app_context():
        match_id = make_match(MatchStatus.PROPOSED).id
    results = race(
        app,
        [
            _acting(match_id, "introduce", "curator"),
            _acting(match_id, "reject", "admin", reason="poor_fit"),
        ],
    )
    wins = [r for r in results if isinstance(r, MatchStatus)]
    refusals = [r for r in results if isinstance(r, DomainError)]
    assert len(wins) == 1 and len(refusals) == 1, results
    assert _state(app, match_id).status is wins[0]
    events = _events(app, match_id)
    assert [(e.from_status, e.to_status) for e in events] == [("proposed", wins[0].value)]


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_both_sides_accepting_at_once_never_lose_an_acceptance(app, personas, round_):
    with app.app_context():
        match_id = make_match(MatchStatus.INTRODUCED, demand_response="pending", offering_response="pending").id
    results = race(app, [_acting(match_id, "accept", "manufacturer"), _acting(match_id, "accept", "vendor")])
    assert not [r for r in results if not isinstance(r, MatchStatus | DomainError)], results
    match = _state(app, match_id)
    accepted = [match.demand_response, match.offering_response].count("accepted")
    accepts = [e for e in _events(app, match_id) if e.action == "accept"]
    # every acceptance that succeeded is recorded, and the status follows the responses exactly
    assert accepted == len(accepts) == sum(isinstance(r, MatchStatus) for r in results) >= 1
    assert match.status is (MatchStatus.CONNECTED if accepted == 2 else MatchStatus.INTRODUCED)
    if accepted == 1:  # the loser was told to reload; trying again connects them
        loser = "vendor" if match.demand_response == "accepted" else "manufacturer"
        with app.app_context():
            again = workflow.apply(db.session.get(Match, match_id), "accept", persona(loser))
            assert again.status is MatchStatus.CONNECTED


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_a_decline_racing_an_acceptance_leaves_a_legal_trail(app, personas, round_):
    with app.app_context():
        match_id = make_match(MatchStatus.INTRODUCED, demand_response="pending", offering_response="pending").id
    race(
        app,
        [
            _acting(match_id, "accept", "manufacturer"),
            _acting(match_id, "decline", "vendor", reason="capacity"),
            _acting(match_id, "accept", "vendor"),
        ],
    )
    match, events = _state(app, match_id), _events(app, match_id)
    trail = [e.from_status for e in events[:1]] + [e.to_status for e in events]
    assert trail[0] == "introduced" and trail[-1] == match.status.value
    for event, following in itertools.pairwise(events):
        assert following.from_status == event.to_status  # no step was taken from a state it had left
    for event in events:
        assert MatchStatus(event.from_status) in workflow.TRANSITIONS[event.action].sources
    assert not (match.status is MatchStatus.DECLINED and match.demand_response == match.offering_response == "accepted")


# ---------------------------------------------------------------- one posting, two editors

COLLEAGUE = ("colleague@test.example", OrgKind.MANUFACTURER, PERSONAS["manufacturer"][2])


def _editor(app, email: str):
    client = app.test_client()
    client.post("/auth/login", data={"email": email, "password": PASSWORD})
    return client


def test_an_edit_from_a_form_opened_before_anothers_save_is_refused(app, personas):
    with app.app_context():
        make_user(*COLLEAGUE)
        demand_id = make_pair()[0].id
    first, second = _editor(app, PERSONAS["manufacturer"][0]), _editor(app, COLLEAGUE[0])
    for client in (first, second):  # both open the edit form on the same version
        assert 'name="version" type="hidden" value="1"' in client.get(f"/demands/{demand_id}/edit").get_data(
            as_text=True
        )
    saved = first.post(f"/demands/{demand_id}/edit", data=demand_form(title="First editor's title", version="1"))
    assert saved.status_code == 302
    stale = second.post(f"/demands/{demand_id}/edit", data=demand_form(title="Second editor's title", version="1"))
    assert "Someone else saved this posting after you opened it" in stale.get_data(as_text=True)
    with app.app_context():
        demand = db.session.get(Demand, demand_id)
        assert (demand.title, demand.version) == ("First editor's title", 2)
    fresh = second.post(f"/demands/{demand_id}/edit", data=demand_form(title="Second editor's title", version="2"))
    assert fresh.status_code == 302  # after reloading, the second editor's change goes in on top


def _editing(demand_id: int, email: str, title: str):
    """Return a racer: load the demand as a member, then save a new title over the version it read."""

    def prepare():
        demand = db.session.get(Demand, demand_id)
        editor = db.session.scalar(sa.select(User).where(User.email == email))
        opened = demand.version
        data = DemandInput(title=title, description=demand.description, scenarios=list(demand.scenarios))
        return lambda: postings.update_demand(editor, demand, data, opened).title

    return prepare


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_two_members_saving_one_posting_at_once_keep_one_edit_whole(app, personas, round_):
    with app.app_context():
        make_user(*COLLEAGUE)
        demand_id = make_pair()[0].id
    results = race(
        app,
        [_editing(demand_id, PERSONAS["manufacturer"][0], "Title A"), _editing(demand_id, COLLEAGUE[0], "Title B")],
    )
    wins = [r for r in results if isinstance(r, str)]
    assert len(wins) == 1 and sum(isinstance(r, DomainError) for r in results) == 1, results
    with app.app_context():
        demand = db.session.get(Demand, demand_id)
        assert (demand.title, demand.version) == (wins[0], 2)
