"""Learning from decisions: penalties for vendors often turned down in a scenario, and acceptance rates.

The ranking engine multiplies a pair's score by (1 - penalty * weight), so a vendor whose offerings were
repeatedly declined or rejected for, say, visual inspection ranks lower for visual-inspection demands
but keeps its place everywhere else.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import sqlalchemy as sa

from ..extensions import db
from ..models import Demand, Match, MatchStatus, Offering

TURNED_DOWN = (MatchStatus.DECLINED, MatchStatus.REJECTED)
# Each decision keeps 70% of the vendor's remaining standing; the cap keeps the multiplier above zero.
DECAY = 0.7
MAX_PENALTY = 0.95

ACCEPTED = (MatchStatus.CONNECTED, MatchStatus.PILOT_STARTED, MatchStatus.CONTRACT_SIGNED, MatchStatus.NO_DEAL)
# Statuses a match can only reach by having been introduced (a decline may also come from direct interest).
AFTER_INTRODUCTION = (MatchStatus.INTRODUCED, MatchStatus.DECLINED, MatchStatus.EXPIRED, *ACCEPTED)
UNCLASSIFIED = ""


def penalty_for(count: int) -> float:
    """Return the penalty for a number of declines and rejections: 0 for none, approaching the cap."""
    return min(1.0 - DECAY**count, MAX_PENALTY) if count > 0 else 0.0


def decline_penalties(offering_ids: list[int], scenarios: list[str]) -> dict[int, float]:
    """Return, per offering, a penalty in [0, 1) for its vendor's declines and rejections in these scenarios."""
    return DeclineHistory(offering_ids).penalties(offering_ids, scenarios)


CHUNK = 5000  # ids per IN (…) list, well under any database's limit on bound parameters


class DeclineHistory:
    """The declines and rejections of the vendors of some offerings, read once for a batch of demands."""

    def __init__(self, offering_ids: list[int], vendor_of: dict[int, int | None] | None = None):
        """vendor_of, if given, is each offering's organization as the index knows it (no query for it)."""
        ids = list(dict.fromkeys(offering_ids))
        self.vendor_of: dict[int, int | None] = dict(vendor_of) if vendor_of is not None else {}
        for start in range(0, len(ids) if vendor_of is None else 0, CHUNK):
            chunk = ids[start : start + CHUNK]
            self.vendor_of.update(
                db.session.execute(sa.select(Offering.id, Offering.organization_id).where(Offering.id.in_(chunk))).all()
            )
        self.turned_down: dict[int, list[set[str]]] = defaultdict(list)
        vendors = sorted(set(self.vendor_of.values()) - {None})
        for start in range(0, len(vendors), CHUNK):
            rows = db.session.execute(
                sa.select(Offering.organization_id, Demand.scenarios, Demand.auto_scenarios)
                .join(Match, Match.offering_id == Offering.id)
                .join(Demand, Match.demand_id == Demand.id)
                .where(Match.status.in_(TURNED_DOWN), Offering.organization_id.in_(vendors[start : start + CHUNK]))
            ).all()
            # JSON list membership is compared here rather than in SQL so SQLite and PostgreSQL behave alike.
            for org, own, auto in rows:
                self.turned_down[org].append({*(own or []), *(auto or [])})

    def penalties(self, offering_ids: list[int], scenarios: list[str]) -> dict[int, float]:
        """Return the penalty of each of these offerings (read at construction) for demands in these scenarios."""
        if not offering_ids:
            return {}
        wanted = set(scenarios or ())
        counts: dict[int, int] = {}
        found = {}
        for offering_id in offering_ids:
            vendor = self.vendor_of.get(offering_id, _NO_VENDOR)
            if vendor is _NO_VENDOR:
                found[offering_id] = 0.0
                continue
            if vendor not in counts:
                counts[vendor] = sum(1 for seen in self.turned_down.get(vendor, ()) if wanted & seen) if wanted else 0
            found[offering_id] = penalty_for(counts[vendor])
        return found


_NO_VENDOR = object()


@dataclass
class ScenarioRate:
    """How matches for demands in one scenario fared after curators and parties decided."""

    scenario: str
    proposed: int = 0
    introduced: int = 0
    accepted: int = 0
    declined: int = 0
    rejected: int = 0
    expired: int = 0

    @property
    def acceptance_rate(self) -> float | None:
        """Return accepted / (accepted + declined + expired), or None before any introduction is decided."""
        decided = self.accepted + self.declined + self.expired
        return self.accepted / decided if decided else None


def acceptance_rates() -> dict[str, ScenarioRate]:
    """Return per-scenario counts of introduced, accepted, declined and rejected matches, by scenario key."""
    rows = db.session.execute(
        sa.select(Match.status, Match.introduced_at, Demand.scenarios, Demand.auto_scenarios).join(
            Demand, Match.demand_id == Demand.id
        )
    ).all()
    rates: dict[str, ScenarioRate] = defaultdict(lambda: ScenarioRate(""))
    for status, introduced_at, own, auto in rows:
        for scenario in dict.fromkeys([*(own or []), *(auto or [])]) or [UNCLASSIFIED]:
            rate = rates[scenario]
            rate.scenario = scenario
            _count(rate, status, introduced_at is not None)
    return dict(sorted(rates.items()))


def _count(rate: ScenarioRate, status: MatchStatus, was_introduced: bool) -> None:
    """Add one match to a scenario's tallies."""
    rate.proposed += 1
    rate.introduced += was_introduced or status in AFTER_INTRODUCTION
    rate.accepted += status in ACCEPTED
    rate.declined += status is MatchStatus.DECLINED
    rate.rejected += status is MatchStatus.REJECTED
    rate.expired += status is MatchStatus.EXPIRED
