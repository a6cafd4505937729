"""Learning from decisions: decline penalties per vendor and scenario, and acceptance rates."""

import itertools
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from matchmaker.extensions import db
from matchmaker.matching.feedback import MAX_PENALTY, acceptance_rates, decline_penalties, penalty_for
from matchmaker.models import Demand, Match, MatchStatus, Offering, Organization, OrgKind, PostingStatus


def _org(name: str, kind: OrgKind) -> Organization:
    org = db.session.scalar(sa.select(Organization).where(Organization.name == name))
    if org is None:
        org = Organization(name=name, kind=kind)
        db.session.add(org)
    return org


def _demand(n: int, scenarios, auto=()) -> Demand:
    demand = Demand(
        title=f"Demand {n}",
        description="x",
        organization=_org(f"Factory {n}", OrgKind.MANUFACTURER),
        scenarios=list(scenarios),
        auto_scenarios=list(auto),
        status=PostingStatus.PUBLISHED,
    )
    db.session.add(demand)
    return demand


def _offering(title: str, vendor: str) -> Offering:
    offering = Offering(
        title=title, description="x", organization=_org(vendor, OrgKind.VENDOR), status=PostingStatus.PUBLISHED
    )
    db.session.add(offering)
    return offering


def _decide(demand, offering, status, introduced=False) -> Match:
    match = Match(
        demand=demand,
        offering=offering,
        status=status,
        introduced_at=datetime.now(UTC) if introduced else None,
    )
    db.session.add(match)
    return match


@pytest.fixture
def offerings(app):
    """A vendor with two offerings, and a second vendor nobody turned down."""
    with app.app_context():
        lumen_a, lumen_b = _offering("Lumen A", "Lumen"), _offering("Lumen B", "Lumen")
        other = _offering("Other", "Other Vendor")
        db.session.commit()
        return {"a": lumen_a.id, "b": lumen_b.id, "other": other.id}


def test_penalty_grows_with_each_decision_and_stays_below_one():
    values = [penalty_for(n) for n in range(0, 40)]
    assert values[0] == 0.0
    assert values[1] == pytest.approx(0.3) and values[2] == pytest.approx(0.51)
    assert all(a < b for a, b in itertools.pairwise(values[:9]))
    assert max(values) == MAX_PENALTY < 1


def test_penalties_grow_with_declines_for_a_scenario_and_spare_other_scenarios(app, offerings):
    with app.app_context():
        lumen_a, lumen_b = db.session.get(Offering, offerings["a"]), db.session.get(Offering, offerings["b"])
        ids = list(offerings.values())
        assert decline_penalties(ids, ["visual_inspection"]) == dict.fromkeys(ids, 0.0)

        _decide(_demand(1, ["visual_inspection"]), lumen_a, MatchStatus.DECLINED, introduced=True)
        db.session.commit()
        once = decline_penalties(ids, ["visual_inspection"])
        # The vendor's other offering shares the penalty; other vendors do not.
        assert once == {offerings["a"]: pytest.approx(0.3), offerings["b"]: pytest.approx(0.3), offerings["other"]: 0.0}

        _decide(_demand(2, [], auto=["visual_inspection"]), lumen_b, MatchStatus.REJECTED)
        _decide(_demand(3, ["energy_management"]), lumen_a, MatchStatus.DECLINED, introduced=True)
        _decide(_demand(4, ["visual_inspection"]), lumen_a, MatchStatus.CONNECTED, introduced=True)
        db.session.commit()
        twice = decline_penalties(ids, ["visual_inspection"])
        assert twice[offerings["a"]] > once[offerings["a"]]
        assert twice[offerings["a"]] == pytest.approx(0.51)
        assert twice[offerings["other"]] == 0.0

        assert decline_penalties(ids, ["fault_warning"]) == dict.fromkeys(ids, 0.0)
        assert decline_penalties(ids, ["energy_management"])[offerings["a"]] == pytest.approx(0.3)
        assert decline_penalties(ids, ["fault_warning", "energy_management"])[offerings["b"]] == pytest.approx(0.3)


def test_penalties_handle_empty_and_unknown_input(app, offerings):
    with app.app_context():
        assert decline_penalties([], ["visual_inspection"]) == {}
        assert decline_penalties([offerings["a"], 999999], []) == {offerings["a"]: 0.0, 999999: 0.0}


def test_acceptance_rates_count_decisions_per_scenario(app, offerings):
    with app.app_context():
        lumen_a = db.session.get(Offering, offerings["a"])
        other = db.session.get(Offering, offerings["other"])
        vision = [_demand(n, ["visual_inspection"]) for n in range(1, 6)]
        _decide(vision[0], lumen_a, MatchStatus.CONNECTED, introduced=True)
        _decide(vision[1], lumen_a, MatchStatus.CONTRACT_SIGNED, introduced=True)
        _decide(vision[2], lumen_a, MatchStatus.DECLINED, introduced=True)
        _decide(vision[3], lumen_a, MatchStatus.REJECTED)
        _decide(vision[4], lumen_a, MatchStatus.INTRODUCED, introduced=True)
        _decide(vision[4], other, MatchStatus.PROPOSED)
        _decide(
            _demand(9, ["energy_management"], auto=["visual_inspection"]), other, MatchStatus.EXPIRED, introduced=True
        )
        db.session.commit()
        rates = acceptance_rates()

    vision_rate, energy = rates["visual_inspection"], rates["energy_management"]
    assert (
        vision_rate.proposed,
        vision_rate.introduced,
        vision_rate.accepted,
        vision_rate.declined,
        vision_rate.rejected,
        vision_rate.expired,
    ) == (7, 5, 2, 1, 1, 1)
    assert vision_rate.acceptance_rate == pytest.approx(2 / 4)
    assert (energy.introduced, energy.accepted, energy.expired) == (1, 0, 1)
    assert energy.acceptance_rate == 0.0
    assert set(rates) == {"visual_inspection", "energy_management"}


def test_acceptance_rate_is_none_before_any_decision(app, offerings):
    with app.app_context():
        _decide(_demand(1, ["fault_warning"]), db.session.get(Offering, offerings["a"]), MatchStatus.PROPOSED)
        db.session.commit()
        assert acceptance_rates()["fault_warning"].acceptance_rate is None
