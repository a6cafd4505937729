"""The vectorised ranking gives, bit for bit, what the pair-by-pair formula gives."""

from __future__ import annotations

import random

import numpy as np
import pytest

from matchmaker.matching.facts import PostingFacts, serves
from matchmaker.matching.ranking import UNKNOWN, Candidate, FacetTable, RankingWeights, fuse
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


# -- random postings --------------------------------------------------------------------------------------
SCENARIOS = ["visual_inspection", "fault_warning", "energy", "scheduling", "quality", "logistics"]
INDUSTRIES = ["13", "17", "26", "34", "38", "39"]
MODES = ["on_premises", "edge", "cloud"]
CITIES = ["", "佛山", "深圳", "香港", "Macau", "Beijing", "广州市"]
REGIONS = ["", "GBA", "广东", "全国", "Hong Kong", "Beijing", "深圳"]
LANGUAGES = ["en", "zh-Hans", "zh-Hant"]


def _money(rng):
    choice = rng.random()
    if choice < 0.25:
        return None, None
    low = rng.choice([None, 0, 50_000, 100_000, 300_000])
    high = rng.choice([None, 80_000, 200_000, 1_000_000])
    if low is not None and high is not None and high < low:
        low, high = high, low
    return low, high


def _posting(rng, kind: str, posting_id: int) -> PostingFacts:
    low, high = _money(rng)
    return PostingFacts(
        id=posting_id,
        kind=kind,
        language=rng.choice(LANGUAGES),
        scenarios=rng.sample(SCENARIOS, rng.randint(0, 3)) + (["visual_inspection"] if rng.random() < 0.2 else []),
        industries=rng.sample(INDUSTRIES, rng.randint(0, 2)),
        city=rng.choice(CITIES) if kind == "demand" else "",
        regions=[r for r in rng.sample(REGIONS, rng.randint(0, 2)) if r] if kind == "offering" else [],
        money_min=low,
        money_max=high,
        deployments=rng.sample(MODES, rng.randint(0, 2)),
        capacity_left=rng.choice([None, 0, 1, 3]) if kind == "offering" else None,
    )


def _signals(rng, ids):
    # Ties on purpose: several candidates share a dense score, so the order falls to the ids.
    dense = {i: float(np.float32(rng.choice([0.5, 0.61, 0.7]) if rng.random() < 0.3 else rng.random())) for i in ids}
    lexical = {i: float(np.float32(rng.random() * 12)) for i in ids if rng.random() < 0.6}
    return dense, lexical


@pytest.mark.parametrize("seed", range(25))
@pytest.mark.parametrize("direction", ["demand", "offering"])
def test_vectorised_ranking_equals_pair_by_pair(seed, direction):
    rng = random.Random(seed)
    other = "offering" if direction == "demand" else "demand"
    query = _posting(rng, direction, 10_000)
    candidates = [_posting(rng, other, i) for i in range(1, rng.randint(1, 300))]
    dense, lexical = _signals(rng, [c.id for c in candidates])
    penalties = {c.id: rng.choice([0.0, 0.3, 0.51]) for c in candidates} if rng.random() < 0.5 else None
    if direction == "offering" and penalties:
        penalties[query.id] = 0.3
    weights = RankingWeights() if seed % 3 else RankingWeights.from_overrides({"language_aware": False, "lexical": 0.7})
    expected = oracle(query, candidates, dense, lexical, weights, penalties)
    assert fuse(query, candidates, dense, lexical, weights, penalties) == expected
    table = FacetTable(candidates[::-1])  # rows in another order than the candidates' list
    rows = np.array([table.row[c.id] for c in candidates])
    for k in (1, 5, 17):
        assert table.rank(query, rows, dense, lexical, weights, penalties, k=k) == expected[:k]
