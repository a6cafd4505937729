"""Fuse dense similarity, lexical similarity and facet fit into one score, with its breakdown.

All weights live in RankingWeights; deployments override any of them with the
MATCHMAKER_RANKING_WEIGHTS setting (a mapping of field name to number).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from difflib import get_close_matches

import numpy as np

from .facts import PostingFacts, serves
from .text import language_group

UNKNOWN = 0.5  # a facet one side left blank neither helps nor hurts much
FACETS = ("scenario", "industry", "region", "budget", "deployment", "capacity")
SCORED_SIGNALS = ("dense", "lexical", *FACETS)  # each in [0, 1], weighted and summed


@dataclass(frozen=True)
class RankingWeights:
    """How much each signal counts in the fused score."""

    dense: float = 1.0
    lexical: float = 0.35
    scenario: float = 0.20
    industry: float = 0.06
    region: float = 0.03
    budget: float = 0.03
    deployment: float = 0.03
    capacity: float = 0.03
    feedback: float = 0.25
    # Put dense similarity in place of BM25 for candidates in another language group.
    language_aware: bool = True

    @classmethod
    def from_config(cls, config) -> RankingWeights:
        """Return the defaults with the configured overrides applied."""
        return cls.from_overrides(config["MATCHMAKER_RANKING_WEIGHTS"])

    @classmethod
    def from_overrides(cls, overrides: Mapping) -> RankingWeights:
        """Return the defaults with these overrides applied; raise ValueError on an unknown name or bad value."""
        known = [f.name for f in fields(cls)]
        for name, value in overrides.items():
            if name not in known:
                close = get_close_matches(str(name), known, n=1)
                hint = f" (did you mean {close[0]}?)" if close else ""
                raise ValueError(f"{name!r} is not a ranking weight{hint}; known: {', '.join(known)}")
            if name == "language_aware":
                if not isinstance(value, bool):
                    raise ValueError(f"language_aware must be true or false, not {value!r}")
            elif isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < math.inf:
                raise ValueError(f"{name} must be a number of at least 0, not {value!r}")
        return cls(**{k: (v if k == "language_aware" else float(v)) for k, v in overrides.items()})

    def highest_score(self) -> float:
        """Return the highest fused score a pair can reach: every signal at its best, no penalty."""
        return sum(getattr(self, name) for name in SCORED_SIGNALS)

    def only(self, *signals: str) -> RankingWeights:
        """Return weights that keep only the named signals (for ablations such as dense-only)."""
        kept = {f.name: (getattr(self, f.name) if f.name in signals else 0.0) for f in fields(self)}
        kept["language_aware"] = self.language_aware and "dense" in signals and "lexical" in signals
        return RankingWeights(**kept)


@dataclass
class Candidate:
    """One ranked counterpart with the parts of its score."""

    id: int
    score: float
    breakdown: dict[str, float] = field(default_factory=dict)


def facet_scores(demand: PostingFacts, offering: PostingFacts) -> dict[str, float]:
    """Return each facet's fit in [0, 1] for a demand and an offering (FacetTable holds the rules)."""
    return {name: float(values[0]) for name, values in FacetTable([offering]).facets(demand, np.zeros(1, int)).items()}


def fuse(
    query: PostingFacts,
    candidates: list[PostingFacts],
    dense: dict[int, float],
    lexical: dict[int, float],
    weights: RankingWeights,
    penalties: dict[int, float] | None = None,
) -> list[Candidate]:
    """Score every candidate for the query posting and return them best first.

    Lexical scores are scaled by the best one, and count only between texts in the same language
    group: BM25 cannot see that English and Chinese say the same thing, so a candidate in another
    language gets its dense similarity in place of the lexical signal instead of a zero.
    """
    table = FacetTable(candidates)
    return table.rank(query, np.arange(len(candidates)), dense, lexical, weights, penalties)


class FacetTable:
    """The facets of many postings of one kind as arrays, so that one query scores them all at once.

    A batch builds one table for the union of its queries' candidates and ranks each query against its
    own rows: each candidate's facts are read once per batch, not once per query. The arithmetic is
    fuse()'s, in the same order on the same doubles, so the scores are the same to the last bit.
    """

    def __init__(self, facts: list[PostingFacts], capacity_left: dict[int, int | None] | None = None):
        """capacity_left, if given, replaces the facts' own capacity left (a batch reads it once for all)."""
        self.facts = facts
        self.kind = facts[0].kind if facts else "offering"
        self.ids = np.array([f.id for f in facts], dtype=np.int64)
        self.row = {f.id: n for n, f in enumerate(facts)}
        self.groups = np.array([language_group(f.language) for f in facts], dtype=object)
        self.sets = {name: self._members([getattr(f, name) for f in facts]) for name in _SET_FACETS}
        places: dict[object, int] = {}
        if self.kind == "offering":
            codes = [places.setdefault(tuple(f.regions), len(places)) for f in facts]
        else:
            codes = [places.setdefault(f.city, len(places)) for f in facts]
        self.places, self.place_codes = list(places), np.array(codes, dtype=np.int64)
        self.money_blank = np.array([f.money_min is None and f.money_max is None for f in facts], dtype=bool)
        self.money_lo = np.array([float(f.money_min or 0) for f in facts], dtype=np.float64)
        self.money_hi = np.array(
            [float(f.money_max) if f.money_max is not None else math.inf for f in facts], dtype=np.float64
        )
        left = [f.capacity_left for f in facts] if capacity_left is None else [capacity_left.get(f.id) for f in facts]
        self.capacity = np.array([math.nan if n is None else float(n) for n in left], dtype=np.float64)

    @staticmethod
    def _members(lists: list[list[str]]) -> tuple[dict[str, int], np.ndarray, np.ndarray]:
        """Return a key → column map, a posting × key membership matrix and each posting's count of keys."""
        columns: dict[str, int] = {}
        cells = [[columns.setdefault(key, len(columns)) for key in set(keys)] for keys in lists]
        matrix = np.zeros((len(lists), max(1, len(columns))), dtype=np.int64)
        for n, row in enumerate(cells):
            matrix[n, row] = 1
        return columns, matrix, np.array([len(row) for row in cells], dtype=np.int64)

    def _set_fit(self, name: str, query: PostingFacts, rows: np.ndarray, partial: bool) -> np.ndarray:
        """How much of what the demand wants the offering has, for each row; UNKNOWN when either is blank.

        partial: the share of the demand's keys the offering has; otherwise 1 if it has any of them.
        """
        columns, matrix, counts = self.sets[name]
        asked = sorted({columns[k] for k in getattr(query, name) if k in columns})
        shared = matrix[rows[:, None], np.array(asked, dtype=np.int64)].sum(axis=1) if asked else np.zeros(len(rows))
        mine, theirs = counts[rows], len(set(getattr(query, name)))
        wanted = mine if self.kind == "demand" else theirs
        blank = (mine == 0) | (theirs == 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            fit = shared / wanted if partial else (shared > 0).astype(np.float64)
        return np.where(blank, UNKNOWN, fit)

    def _region_fit(self, query: PostingFacts, rows: np.ndarray) -> np.ndarray:
        codes = self.place_codes[rows]
        fits = np.full(len(self.places), UNKNOWN)
        for code in np.unique(codes).tolist():
            place = self.places[code]
            found = serves(query.regions, place) if self.kind == "demand" else serves(list(place), query.city)
            fits[code] = UNKNOWN if found is None else float(found)
        return fits[codes]

    def _budget_fit(self, query: PostingFacts, rows: np.ndarray) -> np.ndarray:
        """1 where the demand's budget and the offering's price overlap, falling off with the relative gap."""
        blank = self.money_blank[rows] | (query.money_min is None and query.money_max is None)
        lo, hi = self.money_lo[rows], self.money_hi[rows]
        q_lo, q_hi = float(query.money_min or 0), float(query.money_max) if query.money_max is not None else math.inf
        (lo_a, hi_a), (lo_b, hi_b) = ((lo, hi), (q_lo, q_hi)) if self.kind == "demand" else ((q_lo, q_hi), (lo, hi))
        overlap = (lo_a <= hi_b) & (lo_b <= hi_a)
        above = lo_b > hi_a
        with np.errstate(invalid="ignore"):
            gap = np.where(above, lo_b - hi_a, lo_a - hi_b)
            scale = np.where(above, hi_a, hi_b)
            fit = np.maximum(0.0, 1.0 - gap / np.maximum(scale, 1))
        return np.where(blank, UNKNOWN, np.where(overlap, 1.0, fit))

    def _capacity_fit(self, query: PostingFacts, rows: np.ndarray, left: np.ndarray | None = None) -> np.ndarray:
        if self.kind == "offering":
            left = self.capacity[rows] if left is None else left
            return np.where(np.isnan(left), UNKNOWN, (left > 0).astype(np.float64))
        value = UNKNOWN if query.capacity_left is None else float(query.capacity_left > 0)
        return np.full(len(rows), value)

    def facets(
        self, query: PostingFacts, rows: np.ndarray, capacity_left: np.ndarray | None = None
    ) -> dict[str, np.ndarray]:
        """Return each facet's fit in [0, 1] between the query and each row, as arrays.

        capacity_left, if given, is the rows' capacity left (NaN: unknown) in place of the table's own.
        """
        return {
            "scenario": self._set_fit("scenarios", query, rows, partial=True),
            "industry": self._set_fit("industries", query, rows, partial=False),
            "region": self._region_fit(query, rows),
            "budget": self._budget_fit(query, rows),
            "deployment": self._set_fit("deployments", query, rows, partial=False),
            "capacity": self._capacity_fit(query, rows, capacity_left),
        }

    def rank(
        self,
        query: PostingFacts,
        rows: np.ndarray,
        dense: dict[int, float],
        lexical: dict[int, float],
        weights: RankingWeights,
        penalties: dict[int, float] | None = None,
        k: int | None = None,
        capacity_left: np.ndarray | None = None,
    ) -> list[Candidate]:
        """Return the rows' postings scored for the query, best first: the best k, or all of them."""
        rows = np.asarray(rows, dtype=np.int64)
        if not len(rows):
            return []
        ids = self.ids[rows].tolist()
        top_lexical = max(lexical.values(), default=0.0)
        top_dense = max(dense.values(), default=0.0)
        d = np.array([dense.get(i, 0.0) for i in ids], dtype=np.float64)
        lex = np.array([lexical.get(i, 0.0) for i in ids], dtype=np.float64)
        lex = lex / top_lexical if top_lexical > 0 else np.zeros(len(ids))
        same = self.groups[rows] == language_group(query.language)
        if weights.language_aware:
            fallback = d / top_dense if top_dense > 0 else np.zeros(len(ids))
            lex_used = np.where(same, lex, fallback)
        else:
            lex_used = lex
        parts = {"dense": d, "lexical": lex, "lexical_used": lex_used, **self.facets(query, rows, capacity_left)}
        penalties = penalties or {}
        if self.kind == "offering":
            penalty = np.array([penalties.get(i, 0.0) for i in ids], dtype=np.float64)
        else:
            penalty = np.full(len(ids), float(penalties.get(query.id, 0.0)))
        score = weights.dense * d + weights.lexical * lex_used
        facet_sum = np.zeros(len(ids))
        for name in FACETS:
            facet_sum = facet_sum + getattr(weights, name) * parts[name]
        score = (score + facet_sum) * (1.0 - weights.feedback * penalty)
        chosen = np.arange(len(ids))
        if k is not None and k < len(ids):
            # Scores are ranked rounded to six places: keep every row that could round into the best k.
            kth = np.partition(-score, k - 1)[k - 1]
            chosen = np.nonzero(-score <= kth + 2e-6)[0]
        columns = {name: values[chosen].tolist() for name, values in parts.items()}
        ranked = []
        for n, (i, total, pen) in enumerate(
            zip(self.ids[rows[chosen]].tolist(), score[chosen].tolist(), penalty[chosen].tolist())
        ):
            breakdown = {name: round(values[n], 4) for name, values in columns.items()}
            breakdown.update(feedback_penalty=round(pen, 4), total=round(total, 6))
            ranked.append(Candidate(i, round(total, 6), breakdown))
        ranked.sort(key=lambda c: (-c.score, c.id))
        return ranked if k is None else ranked[:k]


_SET_FACETS = ("scenarios", "industries", "deployments")


def weights_dict(weights: RankingWeights) -> dict[str, float | bool]:
    """Return the weights as a plain mapping, for display."""
    return asdict(weights)
