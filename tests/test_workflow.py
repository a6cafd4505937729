"""The match lifecycle: every transition in the table, legal and illegal, by every persona."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from matchmaker.domain import workflow
from matchmaker.domain.errors import IllegalTransition, PermissionDenied, ValidationFailed
from matchmaker.extensions import db
from matchmaker.models import Match, MatchEvent, MatchStatus, Offering, PostingStatus, utcnow
from matchmaker.vocabulary import MATCH_STATUS_LABELS

from .apps import app_with_schema, base_config
from .factories import PERSONAS, make_match, make_pair, make_user, persona

S = MatchStatus
PERSONA_NAMES = ["manufacturer", "vendor", "curator", "admin", "intruder", "vendor_intruder", "system"]
PARTIES = {"manufacturer", "vendor"}
CURATORS = {"curator", "admin"}


# ---------------------------------------------------------------- helpers


def events_of(match: Match) -> int:
    """Return how many audit rows the match has."""
    return db.session.scalar(sa.select(sa.func.count(MatchEvent.id)).where(MatchEvent.match_id == match.id))


def may(name: str, transition: workflow.Transition) -> bool:
    """Return whether the persona is one the table lets do this action."""
    return (
        (name == "system" and workflow.SYSTEM in transition.actors)
        or (name in PARTIES and workflow.PARTY in transition.actors)
        or (name in CURATORS and workflow.CURATOR in transition.actors)
    )


def allowed_persona(transition: workflow.Transition) -> str:
    """Return one persona who may do the action."""
    return next(name for name in ("curator", "manufacturer", "system") if may(name, transition))


def kwargs_for(action: str) -> dict:
    """Return a valid reason for actions that require one."""
    transition = workflow.TRANSITIONS[action]
    return {"reason": transition.reasons[0][0], "note": "Tested"} if transition.reasons else {}


def prepare(status: MatchStatus, action: str) -> Match:
    """Create a match in a state, with whatever else the action needs to be legal from there."""
    fields = {}
    if action == "expire" and status is S.INTRODUCED:
        fields["expires_at"] = utcnow() - timedelta(minutes=1)
    return make_match(status, **fields)


@pytest.fixture(scope="module")
def domain_app(tmp_path_factory):
    """Build one app and its personas for this module's many domain-only tests; each makes its own rows."""
    with app_with_schema(base_config(tmp_path_factory.mktemp("workflow"))) as app:
        with app.app_context():
            for spec in PERSONAS.values():
                make_user(*spec)
        yield app


@pytest.fixture
def ctx(domain_app, monkeypatch):
    """Run a domain test inside an app context, with direct interest on so every action is reachable."""
    monkeypatch.setitem(domain_app.config, "MATCHMAKER_DIRECT_INTEREST", True)
    with domain_app.app_context():
        yield domain_app
        db.session.remove()


LEGAL = [(action, source) for action, t in workflow.TRANSITIONS.items() for source in sorted(t.sources)]
ILLEGAL = [(action, status) for action, t in workflow.TRANSITIONS.items() for status in S if status not in t.sources]
WRONG_PERSONAS = [
    (action, name) for action, t in workflow.TRANSITIONS.items() for name in PERSONA_NAMES if not may(name, t)
]


# ---------------------------------------------------------------- the table itself


def test_table_covers_every_state_and_action_the_issue_names():
    assert set(workflow.TRANSITIONS) == {
        "shortlist",
        "reject",
        "introduce",
        "express_interest",
        "accept",
        "decline",
        "expire",
        "pilot_started",
        "contract_signed",
        "no_deal",
    }
    reachable = {t.target for t in workflow.TRANSITIONS.values()} | {S.PROPOSED}
    assert reachable == set(S)


def test_table_is_the_lifecycle_the_issue_describes():
    P, C, Y = workflow.PARTY, workflow.CURATOR, workflow.SYSTEM
    expected = {
        "shortlist": ({S.PROPOSED}, S.SHORTLISTED, {C, Y}),
        "reject": ({S.PROPOSED, S.SHORTLISTED}, S.REJECTED, {C, Y}),
        "introduce": ({S.PROPOSED, S.SHORTLISTED}, S.INTRODUCED, {C, Y}),
        "express_interest": ({S.PROPOSED}, S.INTRODUCED, {P}),
        "accept": ({S.INTRODUCED}, S.CONNECTED, {P}),
        "decline": ({S.INTRODUCED}, S.DECLINED, {P}),
        "expire": ({S.INTRODUCED}, S.EXPIRED, {Y}),
        "pilot_started": ({S.CONNECTED}, S.PILOT_STARTED, {P, C}),
        "contract_signed": ({S.CONNECTED, S.PILOT_STARTED}, S.CONTRACT_SIGNED, {P, C}),
        "no_deal": ({S.CONNECTED, S.PILOT_STARTED}, S.NO_DEAL, {P, C}),
    }
    actual = {a: (set(t.sources), t.target, set(t.actors)) for a, t in workflow.TRANSITIONS.items()}
    assert actual == expected
    needs_reason = {a for a, t in workflow.TRANSITIONS.items() if t.reasons}
    assert needs_reason == {"reject", "decline", "no_deal"}


@pytest.mark.parametrize("action,source", LEGAL, ids=[f"{a}-from-{s.value}" for a, s in LEGAL])
def test_legal_transition_moves_to_its_target_and_is_audited(ctx, action, source):
    transition = workflow.TRANSITIONS[action]
    match = prepare(source, action)
    actor = persona(allowed_persona(transition))
    workflow.apply(match, action, actor, **kwargs_for(action))
    # accept from a fresh introduction waits for the other side; its own row below covers connecting
    expected = S.INTRODUCED if action == "accept" else transition.target
    assert match.status is expected
    event = db.session.scalars(sa.select(MatchEvent).where(MatchEvent.match_id == match.id)).one()
    assert (event.action, event.from_status, event.to_status) == (action, source.value, expected.value)
    assert event.actor_id == (actor.id if actor else None)


@pytest.mark.parametrize("action,status", ILLEGAL, ids=[f"{a}-from-{s.value}" for a, s in ILLEGAL])
def test_illegal_transition_is_refused_naming_state_and_action(ctx, action, status):
    match = prepare(status, action)
    actor = persona(allowed_persona(workflow.TRANSITIONS[action]))
    with pytest.raises(IllegalTransition) as caught:
        workflow.apply(match, action, actor, **kwargs_for(action))
    message = str(caught.value.message)  # names the step and the state by their labels, not their keys
    assert str(workflow.TRANSITIONS[action].label).lower() in message
    assert str(MATCH_STATUS_LABELS[status]).lower() in message
    assert caught.value.status_code == 409
    db.session.expire_all()
    assert db.session.get(Match, match.id).status is status
    assert events_of(match) == 0


@pytest.mark.parametrize("action,name", WRONG_PERSONAS, ids=[f"{a}-by-{n}" for a, n in WRONG_PERSONAS])
def test_wrong_persona_is_denied_and_nothing_changes(ctx, action, name):
    transition = workflow.TRANSITIONS[action]
    source = sorted(transition.sources)[0]
    match = prepare(source, action)
    with pytest.raises(PermissionDenied):
        workflow.apply(match, action, persona(name), **kwargs_for(action))
    db.session.expire_all()
    assert db.session.get(Match, match.id).status is source
    assert events_of(match) == 0


def test_available_actions_follow_the_table(ctx):
    match = make_match(S.INTRODUCED)
    assert workflow.available_actions(match, persona("manufacturer")) == ["accept", "decline"]
    assert workflow.available_actions(match, persona("curator")) == []
    assert workflow.available_actions(match, persona("intruder")) == []
    assert workflow.available_actions(make_match(S.PROPOSED), persona("curator")) == [
        "shortlist",
        "reject",
        "introduce",
    ]


# ---------------------------------------------------------------- the flows people go through


def test_double_opt_in_connects_only_when_both_sides_accept(ctx):
    match = make_match()
    curator, maker, vendor = persona("curator"), persona("manufacturer"), persona("vendor")
    workflow.apply(match, "introduce", curator)
    assert match.introduced_at is not None
    assert match.expires_at - match.introduced_at == timedelta(days=14)
    workflow.apply(match, "accept", maker)
    assert (match.status, match.demand_response, match.offering_response) == (S.INTRODUCED, "accepted", "pending")
    assert not workflow.can_see_contacts(match)
    with pytest.raises(IllegalTransition, match="already accepted"):
        workflow.apply(match, "accept", maker)
    workflow.apply(match, "accept", vendor)
    assert match.status is S.CONNECTED and workflow.can_see_contacts(match)
    trail = [(e.action, e.actor_id, e.from_status, e.to_status) for e in match.events]
    assert trail == [
        ("introduce", curator.id, "proposed", "introduced"),
        ("accept", maker.id, "introduced", "introduced"),
        ("accept", vendor.id, "introduced", "connected"),
    ]
    assert all(e.created_at is not None for e in match.events)


def test_outcomes_follow_a_connection(ctx):
    match = make_match(S.CONNECTED)
    workflow.apply(match, "pilot_started", persona("vendor"))
    with pytest.raises(ValidationFailed):
        workflow.apply(match, "no_deal", persona("manufacturer"))
    workflow.apply(match, "no_deal", persona("curator"), reason="price", note="Too dear after the pilot")
    assert (match.status, match.outcome_reason) == (S.NO_DEAL, "price")
    assert [e.to_status for e in match.events] == ["pilot_started", "no_deal"]


def test_decline_requires_a_listed_reason_and_keeps_it(ctx):
    match = make_match(S.INTRODUCED)
    vendor = persona("vendor")
    for reason, note in (("", ""), ("made_up", "x"), ("other", "")):
        with pytest.raises(ValidationFailed):
            workflow.apply(match, "decline", vendor, reason=reason, note=note)
    assert match.status is S.INTRODUCED
    workflow.apply(match, "decline", vendor, reason="capacity", note="Fully booked until spring")
    assert (match.status, match.decision_reason, match.decision_note) == (
        S.DECLINED,
        "capacity",
        "Fully booked until spring",
    )
    assert match.offering_response == "declined"
    event = match.events[-1]
    assert (event.reason, event.note, event.actor_id) == ("capacity", "Fully booked until spring", vendor.id)


def test_reject_requires_a_reason(ctx):
    match = make_match(S.SHORTLISTED)
    with pytest.raises(ValidationFailed):
        workflow.apply(match, "reject", persona("curator"))
    workflow.apply(match, "reject", persona("curator"), reason="poor_fit")
    assert (match.status, match.decision_reason) == (S.REJECTED, "poor_fit")


def test_express_interest_needs_the_setting_and_still_needs_the_other_side(ctx):
    match = make_match()
    ctx.config["MATCHMAKER_DIRECT_INTEREST"] = False
    with pytest.raises(PermissionDenied, match="turned off"):
        workflow.apply(match, "express_interest", persona("vendor"))
    ctx.config["MATCHMAKER_DIRECT_INTEREST"] = True
    workflow.apply(match, "express_interest", persona("vendor"))
    assert (match.status, match.offering_response, match.demand_response) == (S.INTRODUCED, "accepted", "pending")
    assert match.expires_at is not None
    workflow.apply(match, "accept", persona("manufacturer"))
    assert match.status is S.CONNECTED


def test_side_must_be_the_actors_own(ctx):
    match = make_match(S.INTRODUCED)
    with pytest.raises(PermissionDenied):
        workflow.apply(match, "accept", persona("manufacturer"), side="offering")
    workflow.apply(match, "accept", persona("manufacturer"), side="demand")
    assert match.demand_response == "accepted"


def test_unknown_action_is_a_validation_error(ctx):
    with pytest.raises(ValidationFailed):
        workflow.apply(make_match(), "teleport", persona("curator"))


def test_a_stale_match_is_not_overwritten(ctx):
    match = make_match(S.INTRODUCED)
    assert match.status is S.INTRODUCED  # loaded; now another request answers behind this one's back
    db.session.execute(
        sa.update(Match)
        .where(Match.id == match.id)
        .values(offering_response="accepted")
        .execution_options(synchronize_session=False)
    )
    with pytest.raises(IllegalTransition, match="changed meanwhile"):
        workflow.apply(match, "accept", persona("manufacturer"))


def test_expiry_setting_is_honoured(ctx, monkeypatch):
    monkeypatch.setitem(ctx.config, "MATCHMAKER_REQUEST_EXPIRY_DAYS", 3)
    match = make_match()
    workflow.apply(match, "introduce", persona("curator"))
    assert match.expires_at - match.introduced_at == timedelta(days=3)


def test_party_side(ctx):
    match = make_match()
    assert workflow.party_side(persona("manufacturer"), match) == "demand"
    assert workflow.party_side(persona("vendor"), match) == "offering"
    assert {workflow.party_side(persona(n), match) for n in ("curator", "admin", "intruder", "system")} == {None}


# ---------------------------------------------------------------- expiry


def test_expire_overdue_expires_only_past_deadlines(app, personas):
    """Runs on its own database: expire_overdue sweeps every match there is."""
    with app.app_context():
        _expire_overdue_expires_only_past_deadlines()


def _expire_overdue_expires_only_past_deadlines():
    match = make_match()
    workflow.apply(match, "introduce", persona("curator"))
    assert workflow.expire_overdue() == 0
    assert workflow.expire_overdue(now=utcnow() + timedelta(days=15)) == 1
    assert match.status is S.EXPIRED
    event = match.events[-1]
    assert (event.action, event.actor_id, event.from_status, event.to_status) == (
        "expire",
        None,
        "introduced",
        "expired",
    )
    assert workflow.expire_overdue(now=utcnow() + timedelta(days=30)) == 0


def test_expire_command(app, personas, runner):
    with app.app_context():
        match_id = make_match(S.INTRODUCED, expires_at=utcnow() - timedelta(hours=1)).id
        fresh_id = make_match(S.INTRODUCED).id
    result = runner.invoke(args=["expire"])
    assert result.exit_code == 0, result.output
    assert "Expired 1 introduction" in result.output
    with app.app_context():
        assert db.session.get(Match, match_id).status is S.EXPIRED
        assert db.session.get(Match, fresh_id).status is S.INTRODUCED


def test_app_applies_expiry_when_pages_load(app, personas, client, auth):
    with app.app_context():
        match_id = make_match(S.INTRODUCED, expires_at=utcnow() - timedelta(hours=1)).id
    auth.login_as("manufacturer")
    response = client.get(f"/matches/{match_id}")
    assert response.status_code == 200
    with app.app_context():
        assert db.session.get(Match, match_id).status is S.EXPIRED


# ---------------------------------------------------------------- manual pairing


def test_curator_pairs_by_hand(ctx):
    demand, offering = make_pair()
    match = workflow.create_manual_match(persona("curator"), demand, offering, note="Met them at the fair")
    assert (match.status, match.source) == (S.PROPOSED, "curator")
    assert [(e.action, e.from_status, e.to_status, e.note) for e in match.events] == [
        ("create", None, "proposed", "Met them at the fair")
    ]
    with pytest.raises(ValidationFailed, match="already paired"):
        workflow.create_manual_match(persona("curator"), demand, offering)


def test_manual_pairing_refuses_bad_pairs(ctx):
    demand, offering = make_pair()
    with pytest.raises(PermissionDenied):
        workflow.create_manual_match(persona("vendor"), demand, offering)
    own = Offering(
        title="In-house vision", description="x", organization=demand.organization, status=PostingStatus.PUBLISHED
    )
    draft_demand, _ = make_pair(status=PostingStatus.DRAFT)
    closed_offering = Offering(
        title="Old", description="x", organization=offering.organization, status=PostingStatus.CLOSED
    )
    db.session.add_all([own, closed_offering])
    db.session.commit()
    for pair, message in (
        ((demand, own), "own organization"),
        ((draft_demand, offering), "published"),
        ((demand, closed_offering), "published"),
    ):
        with pytest.raises(ValidationFailed, match=message):
            workflow.create_manual_match(persona("curator"), *pair)
    postings = [demand.id, draft_demand.id]
    assert db.session.scalar(sa.select(sa.func.count(Match.id)).where(Match.demand_id.in_(postings))) == 0


# ---------------------------------------------------------------- through the pages


def post_as(client, auth, name, url, data=None, **kwargs):
    """Sign in as a persona, post, and sign out again."""
    auth.login_as(name)
    response = client.post(url, data=data or {}, **kwargs)
    auth.logout()
    return response


def test_curator_manufacturer_and_vendor_connect_through_the_pages(app, personas, client, auth):
    with app.app_context():
        match_id = make_match().id
    url = f"/matches/{match_id}"
    assert post_as(client, auth, "curator", f"{url}/review", {"action": "introduce"}).status_code == 302
    assert post_as(client, auth, "manufacturer", f"{url}/accept").status_code == 302
    assert post_as(client, auth, "vendor", f"{url}/accept").status_code == 302
    with app.app_context():
        match = db.session.get(Match, match_id)
        assert match.status is S.CONNECTED
        assert [(e.actor.email, e.from_status, e.to_status) for e in match.events] == [
            (PERSONAS["curator"][0], "proposed", "introduced"),
            (PERSONAS["manufacturer"][0], "introduced", "introduced"),
            (PERSONAS["vendor"][0], "introduced", "connected"),
        ]
    auth.login_as("curator")
    page = client.get(url).get_data(as_text=True)
    assert "Timeline" in page and page.count("<tr>") >= 3


@pytest.mark.parametrize("name", ["intruder", "vendor_intruder"])
@pytest.mark.parametrize("route", ["accept", "decline", "interest", "outcome", "review"])
def test_outsiders_get_403_on_every_action(app, personas, client, auth, name, route):
    with app.app_context():
        match_id = make_match(S.INTRODUCED).id
    auth.login_as(name)
    assert client.get(f"/matches/{match_id}").status_code == 403
    assert client.post(f"/matches/{match_id}/{route}", data={"reason": "budget"}).status_code == 403
    with app.app_context():
        assert db.session.get(Match, match_id).status is S.INTRODUCED


def test_anonymous_visitors_are_sent_to_log_in(app, personas, client):
    with app.app_context():
        match_id = make_match(S.INTRODUCED).id
    for url in ("/matches/", f"/matches/{match_id}"):
        response = client.get(url)
        assert response.status_code == 302 and "/auth/login" in response.headers["Location"]
    assert client.post(f"/matches/{match_id}/accept").status_code == 302


def test_curator_may_not_accept_for_a_party(app, personas, client, auth):
    with app.app_context():
        match_id = make_match(S.INTRODUCED).id
    response = post_as(client, auth, "curator", f"/matches/{match_id}/accept")
    assert response.status_code == 403
    response = post_as(client, auth, "manufacturer", f"/matches/{match_id}/review", {"action": "introduce"})
    assert response.status_code == 403


def test_refusals_are_json_errors_for_json_clients(app, personas, client, auth):
    with app.app_context():
        match_id = make_match(S.PROPOSED).id
    auth.login_as("manufacturer")
    response = client.post(f"/matches/{match_id}/accept", json={})
    assert response.status_code == 409
    assert response.json["error"] == "illegal_transition" and "proposed" in response.json["message"]
    auth.logout()
    auth.login_as("curator")
    response = client.post(f"/matches/{match_id}/accept", json={})
    assert (response.status_code, response.json["error"]) == (403, "permission_denied")
    response = client.post(f"/matches/{match_id}/review", json={"action": "reject"})
    assert (response.status_code, response.json["error"], response.json["field"]) == (
        400,
        "validation_failed",
        "reason",
    )
    response = client.post(f"/matches/{match_id}/review", json={"action": "reject", "reason": "duplicate"})
    assert response.status_code == 200 and response.json["match"]["status"] == "rejected"


def test_decline_form_without_reason_flashes_and_changes_nothing(app, personas, client, auth):
    with app.app_context():
        match_id = make_match(S.INTRODUCED).id
    auth.login_as("vendor")
    response = client.post(f"/matches/{match_id}/decline", data={"reason": "", "note": "no"}, follow_redirects=True)
    assert response.status_code == 200 and "Choose a reason." in response.get_data(as_text=True)
    response = client.post(
        f"/matches/{match_id}/decline", data={"reason": "timing", "note": "Next year"}, follow_redirects=True
    )
    assert "You declined this introduction" in response.get_data(as_text=True)
    with app.app_context():
        match = db.session.get(Match, match_id)
        assert (match.status, match.decision_reason, match.decision_note) == (S.DECLINED, "timing", "Next year")


def test_outcome_form_records_the_outcome(app, personas, client, auth):
    with app.app_context():
        match_id = make_match(S.CONNECTED).id
    auth.login_as("manufacturer")
    assert client.post(f"/matches/{match_id}/outcome", data={"outcome": "shortlist"}).status_code == 302
    client.post(f"/matches/{match_id}/outcome", data={"outcome": "contract_signed"})
    with app.app_context():
        assert db.session.get(Match, match_id).status is S.CONTRACT_SIGNED


def test_index_shows_each_party_its_own_matches(app, personas, client, auth):
    with app.app_context():
        match_id = make_match().id
    for name, visible in (
        ("manufacturer", True),
        ("vendor", True),
        ("curator", True),
        ("admin", True),
        ("intruder", False),
        ("vendor_intruder", False),
    ):
        auth.login_as(name)
        payload = client.get("/matches/", headers={"Accept": "application/json"}).json
        assert ([m["id"] for m in payload["matches"]] == [match_id]) is visible, name
        page = client.get("/matches/").get_data(as_text=True)
        assert ("Fabric defect detection" in page) is visible, name
        auth.logout()
    auth.login_as("manufacturer")
    page = client.get("/matches/").get_data(as_text=True)
    assert "0.82" in page and "Both are about visual inspection" in page
