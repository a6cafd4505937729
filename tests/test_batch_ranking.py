"""The vectorised ranking gives, bit for bit, what the pair-by-pair formula gives."""

from __future__ import annotations

import random

import numpy as np
import pytest

from matchmaker.matching.facts import PostingFacts
from matchmaker.matching.ranking import FacetTable, RankingWeights, fuse

from .ranking_oracle import oracle

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
