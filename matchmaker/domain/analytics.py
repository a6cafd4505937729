"""The figures of the curators' analytics: demand against supply, supply gaps, the match funnel, activity by city.

Only published postings count as demand and supply. A posting counts once in each scenario or industry it
names or its text was tagged with, so the rows of a breakdown add up to more than the number of postings.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass

import sqlalchemy as sa

from ..extensions import db
from ..matching.text import normalize
from ..models import Demand, Match, MatchEvent, MatchStatus, Offering, Organization, PostingStatus

S = MatchStatus
FUNNEL = (S.PROPOSED, S.SHORTLISTED, S.INTRODUCED, S.CONNECTED, S.CONTRACT_SIGNED)
# How far along the funnel a match has come once it has been in a status (a decline counts as introduced
# only for a match that was introduced: parties may also decline a direct expression of interest).
STAGE_OF = {
    S.PROPOSED: 0,
    S.REJECTED: 0,
    S.SHORTLISTED: 1,
    S.INTRODUCED: 2,
    S.EXPIRED: 2,
    S.DECLINED: 0,
    S.CONNECTED: 3,
    S.PILOT_STARTED: 3,
    S.NO_DEAL: 3,
    S.CONTRACT_SIGNED: 4,
}


@dataclass(frozen=True)
class SupplyDemand:
    """How many published demands and offerings name one scenario or industry."""

    key: str
    demand: int
    supply: int

    @property
    def shortfall(self) -> int:
        """Return how many more demands than offerings there are."""
        return self.demand - self.supply


@dataclass(frozen=True)
class FunnelStage:
    """How many matches got at least as far as one stage."""

    status: MatchStatus
    count: int


@dataclass
class CityActivity:
    """What happens in one city: demands posted there, vendors' offerings from there, and the demands' matches."""

    city: str
    demands: int = 0
    offerings: int = 0
    matches: int = 0
    introduced: int = 0
    connected: int = 0


# ---------------------------------------------------------------- demand against supply


def demand_supply_by_scenario() -> list[SupplyDemand]:
    """Return per scenario the published demands and offerings that name it, most demanded first."""
    return _against(_published(Demand, "all_scenarios"), _published(Offering, "all_scenarios"))


def demand_supply_by_industry() -> list[SupplyDemand]:
    """Return per industry division the published demands in it and the offerings that serve it."""
    return _against(_published(Demand, "industries"), _published(Offering, "industries"))


def supply_gaps(rows: list[SupplyDemand], limit: int = 10) -> list[SupplyDemand]:
    """Return the rows with more demand than supply, the largest shortfall first: whom to recruit."""
    short = [row for row in rows if row.demand > 0 and row.shortfall > 0]
    return sorted(short, key=lambda row: (-row.shortfall, -row.demand, row.key))[:limit]


def _published(model, attribute: str) -> Counter:
    """Count the published postings of a kind under each key the attribute lists."""
    postings = db.session.scalars(sa.select(model).where(model.status == PostingStatus.PUBLISHED))
    return Counter(key for posting in postings for key in dict.fromkeys(getattr(posting, attribute)) if key)


def _against(demand: Counter, supply: Counter) -> list[SupplyDemand]:
    rows = [SupplyDemand(key, demand[key], supply[key]) for key in demand.keys() | supply.keys()]
    return sorted(rows, key=lambda row: (-row.demand, -row.supply, row.key))


# ---------------------------------------------------------------- the match funnel


def match_funnel() -> list[FunnelStage]:
    """Return per funnel stage how many matches reached at least that stage."""
    reached = _stages_reached()
    return [FunnelStage(status, sum(1 for stage in reached.values() if stage >= i)) for i, status in enumerate(FUNNEL)]


def _stages_reached() -> dict[int, int]:
    """Return, per match, the furthest funnel stage its status or its audit trail shows."""
    reached = {}
    for match_id, status, introduced_at in db.session.execute(sa.select(Match.id, Match.status, Match.introduced_at)):
        reached[match_id] = max(STAGE_OF[status], 2 if introduced_at is not None else 0)
    events = db.session.execute(sa.select(MatchEvent.match_id, MatchEvent.to_status))
    for match_id, to_status in events:
        status = S(to_status) if to_status in S._value2member_map_ else S.PROPOSED
        reached[match_id] = max(reached.get(match_id, 0), STAGE_OF[status])
    return reached


# ---------------------------------------------------------------- activity by city


def activity_by_city() -> list[CityActivity]:
    """Return per city its demands, its vendors' offerings and its demands' matches, busiest first.

    Cities are compared in one script and case, without surrounding spaces ('廣州', '广州 ' and '广州' meet;
    'Foshan' and '佛山' stay apart); each is shown as it is most often written.
    """
    cities: dict[str, CityActivity] = {}
    spellings: dict[str, Counter] = defaultdict(Counter)

    def city(name: str) -> CityActivity:
        key = normalize(name).strip()
        spellings[key][name.strip()] += 1
        return cities.setdefault(key, CityActivity(key))

    published = Demand.status == PostingStatus.PUBLISHED
    for (name,) in db.session.execute(sa.select(Demand.city).where(published, Demand.city != "")):
        city(name).demands += 1
    vendors = sa.select(Organization.city).join(Offering, Offering.organization_id == Organization.id)
    for (name,) in db.session.execute(
        vendors.where(Offering.status == PostingStatus.PUBLISHED, Organization.city != "")
    ):
        city(name).offerings += 1
    reached = _stages_reached()
    for match_id, name in db.session.execute(sa.select(Match.id, Demand.city).join(Demand).where(Demand.city != "")):
        place = city(name)
        place.matches += 1
        place.introduced += reached.get(match_id, 0) >= 2
        place.connected += reached.get(match_id, 0) >= 3
    for key, place in cities.items():
        place.city = spellings[key].most_common(1)[0][0]
    return sorted(cities.values(), key=lambda c: (-(c.demands + c.offerings + c.matches), c.city))
