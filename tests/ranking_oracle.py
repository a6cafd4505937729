"""The ranking formula one pair at a time, as it was written before it was vectorised: the oracle that the batch
ranking tests (tests/test_batch_ranking.py, tests/test_batch_proposals.py) compare the vectorised path with."""

from __future__ import annotations

from matchmaker.matching.facts import PostingFacts, serves
from matchmaker.matching.ranking import UNKNOWN, Candidate
from matchmaker.matching.text import language_group

FACET_NAMES = ("scenario", "industry", "region", "budget", "deployment", "capacity")


# -- the formula one pair at a time, as ranking was written before it was vectorised: the oracle ----------
def _overlap_fit(lo_a, hi_a, lo_b, hi_b) -> float:
    if (lo_a is None and hi_a is None) or (lo_b is None and hi_b is None):
        return UNKNOWN
    lo_a, hi_a = lo_a or 0, hi_a if hi_a is not None else float("inf")
    lo_b, hi_b = lo_b or 0, hi_b if hi_b is not None else float("inf")
    if lo_a <= hi_b and lo_b <= hi_a:
        return 1.0
    gap, scale = (lo_b - hi_a, hi_a) if lo_b > hi_a else (lo_a - hi_b, hi_b)
    return max(0.0, 1.0 - gap / max(scale, 1))


def _set_fit(wanted, offered, partial=False) -> float:
    if not wanted or not offered:
        return UNKNOWN
    shared = len(set(wanted) & set(offered))
    return shared / len(set(wanted)) if partial else float(shared > 0)


def _facets(demand: PostingFacts, offering: PostingFacts) -> dict[str, float]:
    region = serves(offering.regions, demand.city)
    return {
        "scenario": _set_fit(demand.scenarios, offering.scenarios, partial=True),
        "industry": _set_fit(demand.industries, offering.industries),
        "region": UNKNOWN if region is None else float(region),
        "budget": _overlap_fit(demand.money_min, demand.money_max, offering.money_min, offering.money_max),
        "deployment": _set_fit(demand.deployments, offering.deployments),
        "capacity": UNKNOWN if offering.capacity_left is None else float(offering.capacity_left > 0),
    }


def oracle(query, candidates, dense, lexical, weights, penalties=None) -> list[Candidate]:
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
        parts = {"dense": d, "lexical": lex, "lexical_used": lex_used, **_facets(*pair)}
        penalty = (penalties or {}).get(cand.id if cand.kind == "offering" else query.id, 0.0)
        score = weights.dense * d + weights.lexical * lex_used
        score += sum(getattr(weights, name) * parts[name] for name in FACET_NAMES)
        score *= 1.0 - weights.feedback * penalty
        breakdown = {k: round(v, 4) for k, v in parts.items()}
        ranked.append(
            Candidate(
                cand.id, round(score, 6), {**breakdown, "feedback_penalty": round(penalty, 4), "total": round(score, 6)}
            )
        )
    ranked.sort(key=lambda c: (-c.score, c.id))
    return ranked
