"""Fuse dense similarity, lexical similarity and facet fit into one score, with its breakdown.

All weights live in RankingWeights; deployments override any of them with the
MATCHMAKER_RANKING_WEIGHTS setting (a mapping of field name to number).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from difflib import get_close_matches

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


def _overlap_fit(lo_a, hi_a, lo_b, hi_b) -> float:
    """Return 1 when two money ranges overlap, falling off with the relative gap between them."""
    if (lo_a is None and hi_a is None) or (lo_b is None and hi_b is None):
        return UNKNOWN
    lo_a, hi_a = lo_a or 0, hi_a if hi_a is not None else float("inf")
    lo_b, hi_b = lo_b or 0, hi_b if hi_b is not None else float("inf")
    if lo_a <= hi_b and lo_b <= hi_a:
        return 1.0
    gap, scale = (lo_b - hi_a, hi_a) if lo_b > hi_a else (lo_a - hi_b, hi_b)
    return max(0.0, 1.0 - gap / max(scale, 1))


def _set_fit(wanted: list[str], offered: list[str], partial: bool = False) -> float:
    """Return how much of what one side wants the other offers; UNKNOWN when either is blank."""
    if not wanted or not offered:
        return UNKNOWN
    shared = len(set(wanted) & set(offered))
    return shared / len(set(wanted)) if partial else float(shared > 0)


def facet_scores(demand: PostingFacts, offering: PostingFacts) -> dict[str, float]:
    """Return each facet's fit in [0, 1] for a demand and an offering."""
    region = serves(offering.regions, demand.city)
    return {
        "scenario": _set_fit(demand.scenarios, offering.scenarios, partial=True),
        "industry": _set_fit(demand.industries, offering.industries),
        "region": UNKNOWN if region is None else float(region),
        "budget": _overlap_fit(demand.money_min, demand.money_max, offering.money_min, offering.money_max),
        "deployment": _set_fit(demand.deployments, offering.deployments),
        "capacity": UNKNOWN if offering.capacity_left is None else float(offering.capacity_left > 0),
    }


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
    top_lexical = max(lexical.values(), default=0.0)
    top_dense = max(dense.values(), default=0.0)
    group = language_group(query.language)
    ranked = []
    for cand in candidates:
        d = dense.get(cand.id, 0.0)
        same = language_group(cand.language) == group
        lex = lexical.get(cand.id, 0.0) / top_lexical if top_lexical > 0 else 0.0
        lex_used = lex if same or not weights.language_aware else (d / top_dense if top_dense > 0 else 0.0)
        pair = (query, cand) if query.kind == "demand" else (cand, query)
        parts = {"dense": d, "lexical": lex, "lexical_used": lex_used, **facet_scores(*pair)}
        penalty = (penalties or {}).get(cand.id if cand.kind == "offering" else query.id, 0.0)
        score = weights.dense * d + weights.lexical * lex_used
        score += sum(getattr(weights, name) * parts[name] for name in FACETS)
        score *= 1.0 - weights.feedback * penalty
        ranked.append(
            Candidate(
                cand.id,
                round(score, 6),
                {
                    **{k: round(v, 4) for k, v in parts.items()},
                    "feedback_penalty": round(penalty, 4),
                    "total": round(score, 6),
                },
            )
        )
    ranked.sort(key=lambda c: (-c.score, c.id))
    return ranked


def weights_dict(weights: RankingWeights) -> dict[str, float | bool]:
    """Return the weights as a plain mapping, for display."""
    return asdict(weights)
