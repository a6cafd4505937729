"""Capacity-aware batch assignment: the solver, the database loader and `matchmaker assign`."""

import itertools
import json
import random
from collections import Counter

import pytest
import sqlalchemy as sa

from matchmaker.domain.assignment import (
    AssignmentProblem,
    Candidate,
    DemandNeed,
    VendorCapacity,
    eligible_candidates,
    load_problem,
    solve,
)
from matchmaker.extensions import db
from matchmaker.models import (
    Demand,
    Match,
    MatchEvent,
    MatchStatus,
    Offering,
    Organization,
    OrgKind,
    PostingStatus,
    User,
)

CURATOR = "curator@test.example"


# ---------------------------------------------------------------- plain-data helpers


def problem(pairs, capacities, per_demand=1, demand_orgs=None, **kwargs) -> AssignmentProblem:
    """Build a problem from (demand, offering, score) triples and {offering: capacity left}."""
    demand_ids = sorted({d for d, _, _ in pairs})
    return AssignmentProblem(
        demands={
            d: DemandNeed(d, (demand_orgs or {}).get(d, 1000 + d), f"D{d}", ("visual_inspection",)) for d in demand_ids
        },
        offerings={o: VendorCapacity(o, 2000 + o, cap, f"O{o}", cap) for o, cap in capacities.items()},
        candidates=[Candidate(d, o, s, match_id=100 * d + o) for d, o, s in pairs],
        per_demand=per_demand,
        **kwargs,
    )


def greedy(p: AssignmentProblem) -> list[Candidate]:
    """Take pairs best score first while demand slots and capacity last: the baseline to beat."""
    used, taken, chosen = Counter(), Counter(), []
    for c in sorted(eligible_candidates(p), key=lambda c: -c.score):
        if taken[c.demand_id] < p.need(c.demand_id) and used[c.offering_id] < p.offerings[c.offering_id].capacity_left:
            chosen.append(c)
            taken[c.demand_id] += 1
            used[c.offering_id] += 1
    return chosen


def pairs_of(candidates) -> set[tuple[int, int]]:
    return {(c.demand_id, c.offering_id) for c in candidates}


# Greedy takes D1–A (0.95), which leaves D2 (A is its only vendor) with nothing and pushes D3 onto B.
GREEDY_TRAP = [(1, 10, 0.95), (1, 11, 0.90), (2, 10, 0.90), (3, 11, 0.85), (3, 12, 0.30)]
GREEDY_CAPACITY = {10: 1, 11: 1, 12: 1}


def test_solver_beats_greedy_where_greedy_leaves_a_demand_uncovered():
    p = problem(GREEDY_TRAP, GREEDY_CAPACITY)
    baseline = greedy(p)
    assert pairs_of(baseline) == {(1, 10), (3, 11)}
    result = solve(p)
    assert pairs_of(result.assignments) == {(1, 11), (2, 10), (3, 12)}
    assert result.total_score == pytest.approx(2.10)
    assert result.total_score > sum(c.score for c in baseline) == pytest.approx(1.80)
    assert result.unmet == {} and result.messages == []


def test_pure_score_objective_is_also_optimal_against_brute_force():
    rng = random.Random(7)
    pairs = [(d, o, round(rng.random(), 3)) for d in range(1, 5) for o in (10, 11, 12) if rng.random() < 0.9]
    capacities = {10: 2, 11: 1, 12: 1}
    p = problem(pairs, capacities, per_demand=2, cover_first=False)
    best = max(_feasible_subsets(p), key=lambda s: sum(c.score for c in s))
    assert solve(p).total_score == pytest.approx(sum(c.score for c in best))


def _feasible_subsets(p):
    """Yield every subset of candidates within demand slots and capacities (small problems only)."""
    candidates = eligible_candidates(p)
    for mask in itertools.product((0, 1), repeat=len(candidates)):
        chosen = [c for c, bit in zip(candidates, mask) if bit]
        if _within_limits(p, chosen):
            yield chosen


def _within_limits(p, chosen) -> bool:
    per_demand, per_offering = Counter(c.demand_id for c in chosen), Counter(c.offering_id for c in chosen)
    return all(n <= p.need(d) for d, n in per_demand.items()) and all(
        n <= p.offerings[o].capacity_left for o, n in per_offering.items()
    )


def test_capacity_and_per_demand_limits_hold_on_a_larger_problem():
    rng = random.Random(42)
    pairs = [(d, o, rng.random()) for d in range(1, 31) for o in range(100, 110) if rng.random() < 0.5]
    capacities = {o: rng.randint(0, 4) for o in range(100, 110)}
    result = solve(problem(pairs, capacities, per_demand=3))
    assert result.assignments
    assert _within_limits(problem(pairs, capacities, per_demand=3), result.assignments)
    assert len(pairs_of(result.assignments)) == len(result.assignments)


def test_cover_first_gives_every_demand_a_vendor_before_anyone_a_second():
    p = problem([(1, 10, 0.9), (1, 11, 0.8), (2, 10, 0.85)], {10: 1, 11: 1}, per_demand=2)
    assert pairs_of(solve(p).assignments) == {(1, 11), (2, 10)}
    p.cover_first = False  # score alone would give both vendors to demand 1
    assert pairs_of(solve(p).assignments) == {(1, 10), (1, 11)}


def test_blocked_and_own_organization_pairs_are_never_assigned():
    p = problem(
        [(1, 10, 0.99), (1, 11, 0.98), (1, 12, 0.10), (1, 13, 0.05)],
        {10: 5, 11: 5, 12: 5, 13: 5},
        per_demand=3,
        demand_orgs={1: 2000 + 11},
        blocked={(1, 10)},
    )
    result = solve(p)
    assert pairs_of(result.assignments) == {(1, 12), (1, 13)}
    assert result.unmet == {1: 1}
    assert "1 demand has fewer than 3 eligible vendors (#1)" in result.messages[0]


def test_alternates_list_the_best_pairs_left_out():
    result = solve(problem(GREEDY_TRAP, GREEDY_CAPACITY))
    assert [(a.candidate.offering_id, a.spare) for a in result.alternates[1]] == [(10, False)]
    assert [(a.candidate.offering_id, a.spare) for a in result.alternates[3]] == [(11, False)]
    assert 2 not in result.alternates

    roomy = solve(problem([*GREEDY_TRAP, (2, 12, 0.20)], {10: 1, 11: 1, 12: 2}))
    assert pairs_of(roomy.assignments) == {(1, 11), (2, 10), (3, 12)}
    assert [(a.candidate.offering_id, a.spare) for a in roomy.alternates[2]] == [(12, True)]


def test_insufficient_capacity_gives_an_actionable_message():
    pairs = [(d, o, 0.5 + d / 100 + o / 1000) for d in (1, 2, 3) for o in (10, 11)]
    result = solve(problem(pairs, {10: 2, 11: 2}, per_demand=2))
    assert len(result.assignments) == 4
    assert set(result.unmet) <= {1, 2, 3} and sum(result.unmet.values()) == 2
    assert {c.demand_id for c in result.assignments} == {1, 2, 3}  # everyone gets at least one
    [shortfall] = result.shortfalls
    assert (shortfall.scenario, shortfall.capacity_left, shortfall.slots) == ("visual_inspection", 4, 6)
    assert result.messages[0] == (
        "2 demands got fewer than 2 vendors: total capacity left is 4 for 6 slots in visual_inspection; "
        "raise the capacity of #10 O10, #11 O11 or lower --per-demand."
    )


def test_empty_problem_solves_to_nothing():
    result = solve(AssignmentProblem(demands={}, offerings={}, candidates=[]))
    assert result.assignments == [] and result.unmet == {} and result.messages == []


# ---------------------------------------------------------------- database fixtures


def _org(name: str, kind: OrgKind) -> Organization:
    org = db.session.scalar(sa.select(Organization).where(Organization.name == name))
    if org is None:
        org = Organization(name=name, kind=kind, city="Foshan")
        db.session.add(org)
    return org


def _demand(title: str, org: str = "Foshan Weave Textiles", scenarios=("visual_inspection",)) -> Demand:
    demand = Demand(
        title=title,
        description=title,
        organization=_org(org, OrgKind.MANUFACTURER),
        scenarios=list(scenarios),
        status=PostingStatus.PUBLISHED,
    )
    db.session.add(demand)
    return demand


def _offering(title: str, org: str, capacity: int = 3) -> Offering:
    offering = Offering(
        title=title,
        description=title,
        organization=_org(org, OrgKind.VENDOR),
        capacity=capacity,
        scenarios=["visual_inspection"],
        status=PostingStatus.PUBLISHED,
    )
    db.session.add(offering)
    return offering


def _match(demand, offering, score, status=MatchStatus.PROPOSED) -> Match:
    match = Match(demand=demand, offering=offering, score=score, status=status)
    db.session.add(match)
    return match


@pytest.fixture
def trap(app, personas):
    """Store the greedy trap: three demands, three single-capacity offerings, plus decisions to respect."""
    with app.app_context():
        d1, d2, d3 = _demand("Fabric defects"), _demand("Weld seams", "Dongguan Rival Plastics"), _demand("Labels")
        a, b, c = (
            _offering("Alpha vision", "Lumen Vision AI", 2),
            _offering("Beta vision", "Rival Robotics", 1),
            _offering("Gamma vision", "Gamma AI", 1),
        )
        busy = _demand("Already introduced", "Other Factory")
        _match(busy, a, 0.5, MatchStatus.INTRODUCED)  # uses one of Alpha's two slots
        for d, o, score in ((d1, a, 0.95), (d1, b, 0.90), (d2, a, 0.90), (d3, b, 0.85), (d3, c, 0.30)):
            _match(d, o, score)
        _match(d2, c, 0.99, MatchStatus.DECLINED)
        _match(d2, b, 0.98, MatchStatus.REJECTED)
        # An organization that both posts demands and sells: never paired with itself.
        own = Offering(
            title="Own-brand vision",
            description="x",
            organization=d1.organization,
            capacity=5,
            status=PostingStatus.PUBLISHED,
        )
        db.session.add(own)
        _match(d1, own, 0.999)
        db.session.commit()
        return {"d1": d1.id, "d2": d2.id, "d3": d3.id, "a": a.id, "b": b.id, "c": c.id, "own": own.id}


def test_loader_reads_capacity_left_blocked_pairs_and_own_organizations(app, trap):
    with app.app_context():
        p = load_problem(per_demand=1, rankings=[(trap["d2"], trap["c"], 0.99), (trap["d2"], trap["b"], 0.98)])
        assert p.offerings[trap["a"]].capacity_left == 1
        assert {(trap["d2"], trap["c"]), (trap["d2"], trap["b"])} <= p.blocked
        result = solve(p)
    ids = {(c.demand_id, c.offering_id) for c in result.assignments}
    assert ids == {(trap["d1"], trap["b"]), (trap["d2"], trap["a"]), (trap["d3"], trap["c"])}
    assert (trap["d1"], trap["own"]) not in {(c.demand_id, c.offering_id) for c in eligible_candidates(p)}


# ---------------------------------------------------------------- the command


def test_assign_prints_the_plan_and_alternates_as_text(runner, trap):
    out = runner.invoke(args=["assign", "--per-demand", "1"])
    assert out.exit_code == 0, out.output
    assert "3 pairs for 3 demands, 1 per demand, total score 2.100" in out.output
    assert f"Demand #{trap['d2']} Weld seams" in out.output
    assert f"+ offering #{trap['a']} Alpha vision" in out.output
    assert f"alternate offering #{trap['a']} Alpha vision" in out.output  # D1's runner-up


def test_assign_prints_json(runner, trap, app):
    out = runner.invoke(args=["assign", "--per-demand", "2", "--format", "json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)
    assert data["per_demand"] == 2
    pairs = {(a["demand_id"], a["offering_id"]) for a in data["assignments"]}
    assert (trap["d1"], trap["own"]) not in pairs and (trap["d2"], trap["c"]) not in pairs
    assert Counter(o for _, o in pairs)[trap["a"]] <= 1 and Counter(o for _, o in pairs)[trap["b"]] <= 1
    assert data["unmet"] and data["messages"]
    assert "lower --per-demand" in data["messages"][0]
    assert set(data["alternates"]) <= {str(trap[k]) for k in ("d1", "d2", "d3")}


def test_assign_apply_needs_a_curator(runner, trap):
    out = runner.invoke(args=["assign", "--apply"])
    assert out.exit_code == 2 and "--curator" in out.output
    out = runner.invoke(args=["assign", "--apply", "--curator", "factory@test.example"])
    assert out.exit_code == 2 and "is not a curator" in out.output


def test_assign_apply_shortlists_and_records_the_curator(runner, trap, app):
    out = runner.invoke(args=["assign", "--per-demand", "1", "--apply", "--curator", CURATOR])
    assert out.exit_code == 0, out.output
    assert "Shortlisted 3 matches" in out.output
    with app.app_context():
        shortlisted = db.session.scalars(sa.select(Match).where(Match.status == MatchStatus.SHORTLISTED)).all()
        assert {(m.demand_id, m.offering_id) for m in shortlisted} == {
            (trap["d1"], trap["b"]),
            (trap["d2"], trap["a"]),
            (trap["d3"], trap["c"]),
        }
        events = db.session.scalars(sa.select(MatchEvent).where(MatchEvent.action == "shortlist")).all()
        curator = db.session.scalar(sa.select(User).where(User.email == CURATOR))
        assert len(events) == 3
        assert {(e.actor_id, e.from_status, e.to_status) for e in events} == {(curator.id, "proposed", "shortlisted")}
    again = runner.invoke(args=["assign", "--per-demand", "1", "--apply", "--curator", CURATOR])
    assert "Shortlisted 0 matches; 3 were already shortlisted." in again.output


def test_assign_apply_creates_matches_for_engine_rankings(runner, trap, app, tmp_path):
    with app.app_context():
        fresh = _offering("Delta vision", "Delta AI", 1)
        db.session.commit()
        fresh_id = fresh.id
    rankings = tmp_path / "rankings.json"
    rankings.write_text(
        json.dumps(
            [
                {"demand_id": trap["d2"], "offering_id": fresh_id, "score": 0.97},
                {"demand_id": trap["d2"], "offering_id": trap["c"], "score": 0.99},
            ]
        )
    )
    out = runner.invoke(
        args=[
            "assign",
            "--per-demand",
            "1",
            "--rankings",
            str(rankings),
            "--apply",
            "--curator",
            CURATOR,
            "--format",
            "json",
        ]
    )
    assert out.exit_code == 0, out.output
    with app.app_context():
        created = db.session.scalar(
            sa.select(Match).where(Match.demand_id == trap["d2"], Match.offering_id == fresh_id)
        )
        assert created is not None and created.status is MatchStatus.SHORTLISTED
        assert [e.action for e in created.events] == ["create", "shortlist"]
        declined = db.session.scalar(
            sa.select(Match).where(Match.demand_id == trap["d2"], Match.offering_id == trap["c"])
        )
        assert declined.status is MatchStatus.DECLINED


def test_assign_rejects_a_malformed_rankings_file(runner, trap, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('[{"demand_id": 1}]')
    out = runner.invoke(args=["assign", "--rankings", str(bad)])
    assert out.exit_code == 2 and "--rankings" in out.output
