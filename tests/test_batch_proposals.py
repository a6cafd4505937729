"""The batched ranking path proposes exactly what ranking one demand at a time proposes.

Compared three ways, on the seed data and on a generated set with declines, rejections and busy vendors:
the batch against batches of one (same pairs, order, scores, breakdowns and reasons, to the bit), the
batch against an independent one-demand-at-a-time ranking written from the raw libraries (faiss for one
query, bm25s's own scoring, the pair-by-pair formula: same pairs and order, scores to 1e-6), and the
proposals propose_all stores page by page against those proposing for each demand stores.
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa

import matchmaker
from matchmaker.extensions import db
from matchmaker.matching import service
from matchmaker.matching.facts import demand_facts
from matchmaker.matching.feedback import decline_penalties
from matchmaker.matching.retrieval import CANDIDATE_POOL
from matchmaker.matching.text import tokenize
from matchmaker.models import Demand, Match, MatchStatus, Offering, PostingStatus

from .ranking_oracle import oracle

TOP = 5
SENTENCE = re.compile(r"(?<=[。！？；.!?;])\s*")


def _published_demands() -> list[Demand]:
    return db.session.scalars(
        sa.select(Demand).where(Demand.status == PostingStatus.PUBLISHED).order_by(Demand.id)
    ).all()


def _one_at_a_time(demand: Demand, k: int) -> list:
    """Rank one demand from the raw libraries, the way ranking worked before it was batched."""
    engine = service._engine()
    corpus = engine.corpora["offering"]
    facts = demand_facts(demand)
    vector = engine.vector_of(demand)
    tokens = tokenize(facts.text)
    dense = dict(corpus.vectors.search(vector.reshape(1, -1), CANDIDATE_POOL)[0])
    model, ids = corpus.lexical._built()
    known = [t for t in tokens if t in model.vocab_dict]
    raw = model.get_scores(known) if known else np.zeros(len(ids))
    hits = np.nonzero(raw > 0)[0]
    if len(hits) > CANDIDATE_POOL:
        hits = hits[np.argpartition(-raw[hits], CANDIDATE_POOL - 1)[:CANDIDATE_POOL]]
    lexical = {ids[i]: float(raw[i]) for i in hits}
    for i in lexical:
        if i not in dense:
            dense[i] = float(corpus.vectors.vectors([i])[0] @ vector)
    turned_down = set(
        db.session.scalars(
            sa.select(Match.offering_id).where(
                Match.demand_id == demand.id, Match.status.in_((MatchStatus.DECLINED, MatchStatus.REJECTED))
            )
        )
    )
    known_facts = service._offerings_facts([i for i in dense if i not in turned_down])
    candidates = [known_facts[i] for i in dense if i in known_facts]
    penalties = decline_penalties([c.id for c in candidates], facts.scenarios) if facts.scenarios else {}
    return oracle(facts, candidates, dense, lexical, service.weights(), penalties)[:k]


def _assert_batch_is_per_demand(app, batch_size: int) -> None:
    with app.app_context():
        demands = _published_demands()
        assert len(demands) > batch_size
        pages = [demands[start : start + batch_size] for start in range(0, len(demands), batch_size)]
        batched = [entry for page in pages for entry in service.rank_demands(page, TOP)]
        assert [entry.demand.id for entry in batched] == [d.id for d in demands]
        # the pipelined pages (`match --all`: the next page searched in another thread) rank the same
        pipelined = [entry for page in service.rank_demand_pages(iter(pages), TOP) for entry in page]
        assert [entry.demand.id for entry in pipelined] == [d.id for d in demands]
        for entry, piped in zip(batched, pipelined):
            assert piped.top == entry.top
            assert [piped.reasons(c) for c in piped.top] == [entry.reasons(c) for c in entry.top]
        proposed = 0
        for demand, entry in zip(demands, batched):
            alone = service.rank_demands([demand], TOP)[0]
            assert entry.top == alone.top  # ids, order, scores and breakdowns, to the bit
            assert [entry.reasons(c) for c in entry.top] == [alone.reasons(c) for c in alone.top]
            reference = _one_at_a_time(demand, TOP)
            assert [c.id for c in entry.top] == [c.id for c in reference]
            for mine, theirs in zip(entry.top, reference):
                assert mine.score == pytest.approx(theirs.score, abs=1e-6 + 1e-9)  # both rounded to 6 places
                assert mine.breakdown.keys() == theirs.breakdown.keys()
                for name, value in mine.breakdown.items():
                    assert value == pytest.approx(theirs.breakdown[name], abs=2e-4), name
            proposed += len(entry.top)
        assert proposed > len(demands)  # most demands have several candidates: the comparison has content


def _stored_proposals() -> list[tuple]:
    rows = db.session.scalars(
        sa.select(Match).where(Match.source == "engine").order_by(Match.demand_id, Match.offering_id)
    )
    return [(m.demand_id, m.offering_id, m.status, m.score, m.breakdown, m.reasons) for m in rows]


def _assert_stored_proposals_agree(app, monkeypatch) -> None:
    with app.app_context():
        keep = [MatchStatus.DECLINED, MatchStatus.REJECTED, MatchStatus.INTRODUCED]
        db.session.execute(sa.delete(Match).where(Match.status.not_in(keep)))
        db.session.commit()
        monkeypatch.setattr(service, "BATCH", 7)  # several pages, the last one short
        created = service.propose_all()
        batched = _stored_proposals()
        assert created > 0 and len(batched) >= created
        db.session.execute(sa.delete(Match).where(Match.status.not_in(keep)))
        db.session.commit()
        for demand in _published_demands():
            service.propose_for_demand(demand)
        assert _stored_proposals() == batched
        # A second pass proposes nothing new and leaves every row as it was.
        assert service.propose_all() == 0 and _stored_proposals() == batched


@pytest.fixture
def seeded(app, runner):
    result = runner.invoke(args=["seed"])
    assert result.exit_code == 0, result.output
    return app


def test_seed_data_batched_equals_one_demand_at_a_time(seeded, monkeypatch):
    assert service.WHOLE_TABLE_FROM <= 40
    for batch_size in (16, 40):  # a table of the batch's candidates; the index's table of every offering
        _assert_batch_is_per_demand(seeded, batch_size)
    _assert_stored_proposals_agree(seeded, monkeypatch)


# -- a generated set: seed postings reworded, facets varied, some pairs turned down, some vendors busy ------
def _reworded(row: dict, n: int, rng: random.Random) -> dict:
    sentences = [s for s in SENTENCE.split(row["description"]) if s]
    rng.shuffle(sentences)
    keep = sentences[: max(1, len(sentences) - rng.randint(0, 2))]
    joiner = "" if row.get("language", "").startswith("zh") else " "
    return {**row, "ref": f"{row['ref']}-{n}", "description": joiner.join(keep), "title": f"{row['title']} {n}"}


def _generated_rows(kind: str, count: int, rng: random.Random) -> list[dict]:
    seed = json.loads((Path(matchmaker.__file__).parent / "seed" / f"{kind}s.json").read_text(encoding="utf-8"))
    seed = [r for r in seed if r.get("status", "published") == "published"]
    rows = []
    for n in range(count):
        row = _reworded(seed[n % len(seed)], n, rng)
        flat = {k: v for k, v in row.items() if k not in ("status", "expires_in_days", "industries_served")}
        if kind == "offering":
            flat["industries"] = ";".join(row.get("industries_served", []))
            flat["capacity"] = str(rng.choice([1, 2, 5]))
            if rng.random() < 0.3:
                flat.pop("regions", None)
        elif rng.random() < 0.3:
            flat.pop("city", None)
        for key, value in list(flat.items()):
            if isinstance(value, list):
                flat[key] = ";".join(value)
            elif value is None:
                flat.pop(key)
            else:
                flat[key] = str(value)
        flat["organization"] = f"{kind} org {n % 23}"
        rows.append(flat)
    return rows


@pytest.fixture
def generated(app, runner, tmp_path):
    rng = random.Random(7)
    for kind, count in (("offering", 180), ("demand", 45)):
        path = tmp_path / f"{kind}s.json"
        path.write_text(json.dumps(_generated_rows(kind, count, rng), ensure_ascii=False), encoding="utf-8")
        result = runner.invoke(args=["import", f"{kind}s", str(path), "--no-propose"])
        assert result.exit_code == 0, result.output
    with app.app_context():
        demands = _published_demands()
        ranked = service.rank_demands(demands, TOP)
        # Turn down some top pairs (declined, rejected: left out, and their vendors penalised in those
        # scenarios) and put some offerings to work (introduced: capacity used up).
        for entry in ranked[::3]:
            for cand, status in zip(entry.top, (MatchStatus.DECLINED, MatchStatus.REJECTED, MatchStatus.INTRODUCED)):
                db.session.add(
                    Match(
                        demand_id=entry.demand.id, offering_id=cand.id, score=cand.score, status=status, source="engine"
                    )
                )
        db.session.commit()
    return app


def test_generated_set_batched_equals_one_demand_at_a_time(generated, monkeypatch):
    with generated.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Offering.id))) == 180
    for batch_size in (8, 40):
        _assert_batch_is_per_demand(generated, batch_size)
    _assert_stored_proposals_agree(generated, monkeypatch)
