"""Capacity-aware batch assignment: choose which vendors each demand is shortlisted with.

The problem is a bipartite b-matching: every demand wants up to `per_demand` vendors, every offering
can take on only the capacity it has left, and some pairs are off limits. We solve it exactly as an
integer programme with SciPy's HiGHS (`scipy.optimize.milp`); greedy-by-score is not good enough,
because taking the best pair first can use up the one vendor another demand had no substitute for.
By default the objective is lexicographic: cover as many demands as possible, then fill as many slots,
then maximise total score (see `AssignmentProblem.cover_first`).

The solver works on plain dataclasses (`AssignmentProblem` in, `AssignmentResult` out); only
`load_problem` and `apply_assignment` touch the database.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field

import numpy as np
import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import ngettext
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import coo_array

from ..extensions import db
from ..models import Demand, Match, MatchStatus, Offering, PostingStatus, User
from .errors import DomainError, NotFound

DEFAULT_PER_DEMAND = 2
DEFAULT_ALTERNATES = 3
UNCLASSIFIED = "unclassified"


# ---------------------------------------------------------------- plain data


@dataclass(frozen=True)
class DemandNeed:
    """A demand that wants vendors, and how many it already has in progress."""

    id: int
    organization_id: int
    title: str = ""
    scenarios: tuple[str, ...] = ()
    in_progress: int = 0


@dataclass(frozen=True)
class VendorCapacity:
    """An offering and how many more introductions its vendor can take on."""

    id: int
    organization_id: int
    capacity_left: int
    title: str = ""
    capacity: int = 0


@dataclass(frozen=True)
class Candidate:
    """A pair the solver may choose; match_id is None for an engine ranking with no stored match yet."""

    demand_id: int
    offering_id: int
    score: float
    match_id: int | None = None


@dataclass
class AssignmentProblem:
    """Everything the solver needs: demands, offerings, candidate pairs and the pairs never to make."""

    demands: dict[int, DemandNeed]
    offerings: dict[int, VendorCapacity]
    candidates: list[Candidate]
    blocked: set[tuple[int, int]] = field(default_factory=set)
    per_demand: int = DEFAULT_PER_DEMAND
    alternates: int = DEFAULT_ALTERNATES
    # Give as many demands a vendor as possible, then fill as many slots, and only then maximise score;
    # off, the solver maximises total score alone.
    cover_first: bool = True

    def need(self, demand_id: int) -> int:
        """Return how many more vendors the demand wants."""
        return max(0, self.per_demand - self.demands[demand_id].in_progress)


@dataclass(frozen=True)
class Alternate:
    """A feasible pair the plan did not choose; `spare` means its vendor still has capacity after the plan."""

    candidate: Candidate
    spare: bool


@dataclass(frozen=True)
class Shortfall:
    """A group of demands (by scenario) that got fewer vendors than asked, and why."""

    scenario: str
    demand_ids: tuple[int, ...]
    slots: int
    capacity_left: int
    offering_ids: tuple[int, ...]
    message: str


@dataclass
class AssignmentResult:
    """The chosen pairs, alternates per demand, the demands left short and what to do about it."""

    per_demand: int
    assignments: list[Candidate]
    alternates: dict[int, list[Alternate]]
    unmet: dict[int, int]
    shortfalls: list[Shortfall]
    messages: list[str]

    @property
    def total_score(self) -> float:
        """Return the summed score of the chosen pairs."""
        return sum(candidate.score for candidate in self.assignments)

    def chosen_for(self, demand_id: int) -> list[Candidate]:
        """Return the pairs chosen for one demand, best first."""
        return sorted((c for c in self.assignments if c.demand_id == demand_id), key=lambda c: -c.score)

    def to_dict(self) -> dict:
        """Return the result as JSON-ready data."""
        return {
            "per_demand": self.per_demand,
            "total_score": round(self.total_score, 6),
            "assignments": [asdict(c) for c in self.assignments],
            "alternates": {
                str(d): [{**asdict(a.candidate), "spare": a.spare} for a in alts] for d, alts in self.alternates.items()
            },
            "unmet": {str(d): missing for d, missing in self.unmet.items()},
            "shortfalls": [asdict(s) for s in self.shortfalls],
            "messages": self.messages,
        }


# ---------------------------------------------------------------- solving


def eligible_candidates(problem: AssignmentProblem) -> list[Candidate]:
    """Return the pairs the solver may use: known, allowed, not blocked, one per pair (best score)."""
    best: dict[tuple[int, int], Candidate] = {}
    for candidate in problem.candidates:
        pair = (candidate.demand_id, candidate.offering_id)
        if _allowed(problem, candidate) and (pair not in best or _better(candidate, best[pair])):
            best[pair] = candidate
    return sorted(best.values(), key=lambda c: (c.demand_id, -c.score, c.offering_id))


def _allowed(problem: AssignmentProblem, candidate: Candidate) -> bool:
    """Refuse blocked pairs, unknown postings, and a vendor paired with its own organization."""
    demand = problem.demands.get(candidate.demand_id)
    offering = problem.offerings.get(candidate.offering_id)
    if demand is None or offering is None:
        return False
    if (candidate.demand_id, candidate.offering_id) in problem.blocked:
        return False
    return demand.organization_id != offering.organization_id


def _better(candidate: Candidate, current: Candidate) -> bool:
    """Prefer a stored match over a bare ranking, then the higher score."""
    return (candidate.match_id is not None, candidate.score) > (current.match_id is not None, current.score)


def solve(problem: AssignmentProblem) -> AssignmentResult:
    """Return the best assignment within capacity: most demands covered, most slots, highest total score."""
    pairs = eligible_candidates(problem)
    usable = [c for c in pairs if problem.offerings[c.offering_id].capacity_left > 0 and problem.need(c.demand_id) > 0]
    chosen = _optimise(problem, usable) if usable else []
    return _result(problem, pairs, chosen)


def _optimise(problem: AssignmentProblem, pairs: list[Candidate]) -> list[Candidate]:
    """Solve the b-matching integer programme lexicographically and return the chosen pairs.

    Variables are one 0/1 per pair, then one 0/1 per demand saying "this demand got at least one vendor".
    With cover_first we maximise covered demands, then filled slots, then score, each stage keeping the
    optimum of the one before; solving in stages avoids big-M weights that would strain solver tolerances.
    """
    demands = sorted({c.demand_id for c in pairs})
    offerings = sorted({c.offering_id for c in pairs})
    rows, upper = _capacity_rows(problem, pairs, demands, offerings)
    constraints = [LinearConstraint(rows, -np.inf, upper)]
    n_pairs, n_vars = len(pairs), len(pairs) + len(demands)
    scores = np.array([max(c.score, 0.0) for c in pairs] + [0.0] * len(demands))
    stages = [np.r_[np.zeros(n_pairs), np.ones(len(demands))], np.r_[np.ones(n_pairs), np.zeros(len(demands))]]
    for objective in stages if problem.cover_first else []:
        best = _maximise(objective, constraints, n_vars)
        constraints.append(LinearConstraint(objective, round(objective @ best) - 0.5, np.inf))
    chosen = _maximise(scores, constraints, n_vars)
    return [pair for pair, value in zip(pairs, chosen[:n_pairs]) if value > 0.5]


def _capacity_rows(
    problem: AssignmentProblem, pairs: list[Candidate], demands: list[int], offerings: list[int]
) -> tuple:
    """Return the constraint matrix and upper bounds: demand slots, offering capacity, coverage flags."""
    d_row = {d: i for i, d in enumerate(demands)}
    o_row = {o: len(demands) + i for i, o in enumerate(offerings)}
    f_row = {d: len(demands) + len(offerings) + i for i, d in enumerate(demands)}
    entries = []  # (row, column, value)
    for col, pair in enumerate(pairs):
        entries += [
            (d_row[pair.demand_id], col, 1.0),
            (o_row[pair.offering_id], col, 1.0),
            (f_row[pair.demand_id], col, -1.0),
        ]
    # covered[d] <= number of vendors chosen for d
    entries += [(f_row[d], len(pairs) + i, 1.0) for i, d in enumerate(demands)]
    row, col, value = zip(*entries)
    shape = (2 * len(demands) + len(offerings), len(pairs) + len(demands))
    upper = (
        [problem.need(d) for d in demands]
        + [problem.offerings[o].capacity_left for o in offerings]
        + [0] * len(demands)
    )
    return coo_array((value, (row, col)), shape=shape).tocsr(), np.array(upper, dtype=float)


def _maximise(objective: np.ndarray, constraints: list[LinearConstraint], n_vars: int) -> np.ndarray:
    """Return the 0/1 vector maximising objective under the constraints."""
    outcome = milp(
        -objective,
        constraints=constraints,
        integrality=np.ones(n_vars),
        bounds=Bounds(0, 1),
        options={"mip_rel_gap": 0},
    )
    if not outcome.success:  # a b-matching with zero as a solution is always feasible; fail loudly
        raise RuntimeError(f"assignment solver failed: {outcome.message}")
    return outcome.x


def _result(problem: AssignmentProblem, pairs: list[Candidate], chosen: list[Candidate]) -> AssignmentResult:
    """Assemble alternates, unmet demands and advice around the chosen pairs."""
    chosen = sorted(chosen, key=lambda c: (c.demand_id, -c.score, c.offering_id))
    per_demand = Counter(c.demand_id for c in chosen)
    unmet = {d: problem.need(d) - per_demand[d] for d in sorted(problem.demands) if problem.need(d) > per_demand[d]}
    shortfalls = _shortfalls(problem, pairs, unmet)
    return AssignmentResult(
        per_demand=problem.per_demand,
        assignments=chosen,
        alternates=_alternates(problem, pairs, chosen),
        unmet=unmet,
        shortfalls=shortfalls,
        messages=_messages(problem, pairs, unmet, shortfalls),
    )


def _alternates(
    problem: AssignmentProblem, pairs: list[Candidate], chosen: list[Candidate]
) -> dict[int, list[Alternate]]:
    """Return, per demand, the best feasible pairs the plan left out."""
    taken = {(c.demand_id, c.offering_id) for c in chosen}
    used = Counter(c.offering_id for c in chosen)
    alternates: dict[int, list[Alternate]] = defaultdict(list)
    for candidate in sorted(pairs, key=lambda c: (c.demand_id, -c.score, c.offering_id)):
        capacity = problem.offerings[candidate.offering_id].capacity_left
        if (candidate.demand_id, candidate.offering_id) in taken or capacity <= 0:
            continue
        if len(alternates[candidate.demand_id]) < problem.alternates:
            alternates[candidate.demand_id].append(Alternate(candidate, spare=used[candidate.offering_id] < capacity))
    return dict(alternates)


# ---------------------------------------------------------------- advice


def _shortfalls(problem: AssignmentProblem, pairs: list[Candidate], unmet: dict[int, int]) -> list[Shortfall]:
    """Group demands left short by capacity, per scenario, with the offerings whose capacity would help."""
    options = _options_by_demand(pairs)
    short = [d for d in unmet if len(options[d]) >= problem.need(d)]  # enough vendors exist, capacity does not
    groups: dict[str, list[int]] = defaultdict(list)
    for demand_id in short:
        for scenario in problem.demands[demand_id].scenarios or (UNCLASSIFIED,):
            groups[scenario].append(demand_id)
    return [_shortfall(problem, options, scenario, ids) for scenario, ids in sorted(groups.items())]


def _options_by_demand(pairs: list[Candidate]) -> dict[int, set[int]]:
    """Return the offerings each demand may be paired with, ignoring capacity."""
    options: dict[int, set[int]] = defaultdict(set)
    for candidate in pairs:
        options[candidate.demand_id].add(candidate.offering_id)
    return options


def _shortfall(
    problem: AssignmentProblem, options: dict[int, set[int]], scenario: str, demand_ids: list[int]
) -> Shortfall:
    """Describe one scenario's capacity gap and what would close it."""
    in_scenario = [d for d in problem.demands if scenario in (problem.demands[d].scenarios or (UNCLASSIFIED,))]
    offering_ids = sorted(set().union(*(options[d] for d in in_scenario)))
    slots = sum(problem.need(d) for d in in_scenario)
    capacity = sum(max(0, problem.offerings[o].capacity_left) for o in offering_ids)
    names = ", ".join(_offering_name(problem, o) for o in offering_ids) or _("any vendor in this scenario")
    message = ngettext(
        "%(num)d demand got fewer than %(per)d vendors: total capacity left is %(capacity)d for %(slots)d slots "
        "in %(scenario)s; raise the capacity of %(names)s or lower --per-demand.",
        "%(num)d demands got fewer than %(per)d vendors: total capacity left is %(capacity)d for %(slots)d slots "
        "in %(scenario)s; raise the capacity of %(names)s or lower --per-demand.",
        len(demand_ids),
        per=problem.per_demand,
        capacity=capacity,
        slots=slots,
        scenario=scenario,
        names=names,
    )
    return Shortfall(scenario, tuple(sorted(demand_ids)), slots, capacity, tuple(offering_ids), message)


def _offering_name(problem: AssignmentProblem, offering_id: int) -> str:
    """Return '#id title' for messages."""
    offering = problem.offerings[offering_id]
    return f"#{offering_id} {offering.title}".strip()


def _messages(
    problem: AssignmentProblem, pairs: list[Candidate], unmet: dict[int, int], shortfalls: list[Shortfall]
) -> list[str]:
    """Return the advice a curator reads: capacity gaps first, then demands with too few candidates."""
    options = _options_by_demand(pairs)
    few = [d for d in unmet if len(options[d]) < problem.need(d)]
    messages = [shortfall.message for shortfall in shortfalls]
    if few:
        messages.append(
            ngettext(
                "%(num)d demand has fewer than %(per)d eligible vendors (%(ids)s): re-run matching for it "
                "or pair it manually.",
                "%(num)d demands have fewer than %(per)d eligible vendors (%(ids)s): re-run matching for them "
                "or pair them manually.",
                len(few),
                per=problem.per_demand,
                ids=", ".join(f"#{d}" for d in few),
            )
        )
    return messages


# ---------------------------------------------------------------- database

CANDIDATE_STATUSES = (MatchStatus.PROPOSED, MatchStatus.SHORTLISTED)
IN_PROGRESS_STATUSES = (MatchStatus.INTRODUCED, MatchStatus.CONNECTED, MatchStatus.PILOT_STARTED)


def load_problem(
    per_demand: int = DEFAULT_PER_DEMAND,
    rankings: Iterable[tuple[int, int, float]] = (),
    alternates: int = DEFAULT_ALTERNATES,
    cover_first: bool = True,
) -> AssignmentProblem:
    """Build the problem from stored proposals, plus optional engine rankings, over published postings."""
    rows = db.session.execute(
        sa.select(Match.id, Match.demand_id, Match.offering_id, Match.score, Match.status).order_by(Match.id)
    ).all()
    candidates = [
        Candidate(r.demand_id, r.offering_id, float(r.score or 0.0), r.id)
        for r in rows
        if r.status in CANDIDATE_STATUSES
    ]
    stored = {(r.demand_id, r.offering_id) for r in rows}
    # A ranked pair that already has a match row is either a candidate above or off limits below.
    candidates += [Candidate(d, o, float(score)) for d, o, score in rankings if (d, o) not in stored]
    blocked = {(r.demand_id, r.offering_id) for r in rows if r.status not in CANDIDATE_STATUSES}
    busy_demands = Counter(r.demand_id for r in rows if r.status in IN_PROGRESS_STATUSES)
    busy_offerings = Counter(r.offering_id for r in rows if r.status in IN_PROGRESS_STATUSES)
    return AssignmentProblem(
        demands=_load_demands({c.demand_id for c in candidates}, busy_demands),
        offerings=_load_offerings({c.offering_id for c in candidates}, busy_offerings),
        candidates=candidates,
        blocked=blocked,
        per_demand=per_demand,
        alternates=alternates,
        cover_first=cover_first,
    )


def _load_demands(ids: set[int], in_progress: Counter) -> dict[int, DemandNeed]:
    """Return the published demands among ids."""
    demands = (
        db.session.scalars(sa.select(Demand).where(Demand.id.in_(ids), Demand.status == PostingStatus.PUBLISHED)).all()
        if ids
        else []
    )
    return {
        d.id: DemandNeed(d.id, d.organization_id, d.title, tuple(d.all_scenarios), in_progress[d.id]) for d in demands
    }


def _load_offerings(ids: set[int], in_progress: Counter) -> dict[int, VendorCapacity]:
    """Return the published offerings among ids with the capacity their vendors have left."""
    offerings = (
        db.session.scalars(
            sa.select(Offering).where(Offering.id.in_(ids), Offering.status == PostingStatus.PUBLISHED)
        ).all()
        if ids
        else []
    )
    return {
        o.id: VendorCapacity(o.id, o.organization_id, max(0, o.capacity - in_progress[o.id]), o.title, o.capacity)
        for o in offerings
    }


@dataclass
class ApplyReport:
    """What applying an assignment did: the matches now shortlisted and the pairs that could not be."""

    shortlisted: list[Match] = field(default_factory=list)
    unchanged: list[Match] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


def apply_assignment(chosen: Iterable[Candidate], curator: User) -> ApplyReport:
    """Shortlist the chosen pairs through the workflow, creating matches for bare rankings."""
    from . import workflow  # imported late: the workflow module imports notifications and more

    report = ApplyReport()
    for candidate in chosen:
        try:
            match = _match_for(candidate, curator, workflow)
            if match.status is MatchStatus.SHORTLISTED:
                report.unchanged.append(match)
                continue
            report.shortlisted.append(workflow.apply(match, "shortlist", curator, note=_("Batch assignment")))
        except DomainError as error:
            db.session.rollback()
            report.failures.append(f"#{candidate.demand_id} / #{candidate.offering_id}: {error.message}")
    db.session.commit()
    return report


def _match_for(candidate: Candidate, curator: User, workflow) -> Match:
    """Return the stored match for a pair, creating one for an engine ranking that has none."""
    if candidate.match_id is not None:
        match = db.session.get(Match, candidate.match_id)
        if match is None:
            raise NotFound(_("Match %(id)s no longer exists.", id=candidate.match_id))
        return match
    demand, offering = db.session.get(Demand, candidate.demand_id), db.session.get(Offering, candidate.offering_id)
    if demand is None or offering is None:
        raise NotFound(_("The demand or offering no longer exists."))
    return workflow.create_manual_match(curator, demand, offering, note=_("Batch assignment"))
