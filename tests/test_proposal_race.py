"""Two processes proposing the same demand–offering pair at once: the second finds it proposed, no error.

A web worker and the job worker (or two web workers) rank the same demands, both find a pair missing and
both write it. Here the other process is a second connection that commits a match for a pair after the
ranking has read the existing matches and before the proposals are written. Run on SQLite by default, on
PostgreSQL with MATCHMAKER_TEST_DATABASE_URL.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from matchmaker.extensions import db
from matchmaker.matching import service
from matchmaker.models import Demand, Match, MatchStatus, Offering

from .factories import publish, seed_offerings, textile_demand

RACER_SCORE = -1.0  # marks the rows the other process wrote


def _pairs() -> dict[tuple[int, int], tuple[str, float]]:
    """Return every match in the database by pair, with its source and score, read on a connection of its own."""
    with db.engine.connect() as conn:
        rows = conn.execute(sa.select(Match.demand_id, Match.offering_id, Match.source, Match.score)).all()
    return {(r.demand_id, r.offering_id): (r.source, r.score) for r in rows}


def _commit_elsewhere(pair: tuple[int, int]) -> None:
    """Store a match for the pair on another connection, as another process would, and commit it."""
    with db.engine.begin() as conn:
        conn.execute(
            sa.insert(Match.__table__).values(
                demand_id=pair[0],
                offering_id=pair[1],
                score=RACER_SCORE,
                source="curator",
                status=MatchStatus.PROPOSED,
                breakdown={},
                reasons=[],
            )
        )


def _race_each_write(monkeypatch) -> list[tuple[int, int]]:
    """Before each write of proposals, commit elsewhere a match for one pair being proposed; return those pairs."""
    raced: list[tuple[int, int]] = []
    real = service._propose_pairs

    def racing(pairs):
        stored = _pairs()
        missing = [
            (entry.demand.id, cand.id)
            for entry, cand in pairs
            if (entry.demand.id, cand.id) not in stored and entry.demand.organization_id != _owner(cand.id)
        ]
        made = real(pairs)  # ranked, existing matches read: the other process now stores one pair
        if missing:
            raced.append(missing[len(raced) % len(missing)])
            _commit_elsewhere(raced[-1])
        return made

    monkeypatch.setattr(service, "_propose_pairs", racing)
    return raced


def _owner(offering_id: int) -> int | None:
    with db.engine.connect() as conn:
        return conn.scalar(sa.select(Offering.organization_id).where(Offering.id == offering_id))


def _unproposed_world(app) -> tuple[list, dict[tuple[int, int], tuple[str, float]]]:
    """Publish offerings and two demands; return the demands and the pairs proposing them stores, then forget those."""
    app.config["MATCHMAKER_MIN_SCORE"] = 0.0
    seed_offerings()
    demands = [
        textile_demand(),
        publish(Demand, "Dongguan Mould", "注塑件表面缺陷检测", "注塑件划痕、缩痕靠人工目检", city="东莞"),
    ]
    expected = _pairs()
    assert len({d for d, _ in expected}) == 2 and len(expected) > 2
    db.session.execute(sa.delete(Match))
    db.session.commit()
    return demands, expected


def test_a_pair_stored_meanwhile_by_another_process_counts_as_proposed(app, monkeypatch):
    with app.app_context():
        demands, expected = _unproposed_world(app)
        raced = _race_each_write(monkeypatch)

        created = service.propose_for_demands(demands)

        assert len(raced) == 1
        after = _pairs()
        assert set(after) == set(expected)  # the batch's other proposals are stored
        assert after[raced[0]] == ("curator", RACER_SCORE)  # the pair keeps the one row the other process wrote
        for pair, (source, score) in after.items():
            if pair != raced[0]:
                assert source == "engine" and abs(score - expected[pair][1]) < 1e-9
        assert {(m.demand_id, m.offering_id) for m in created} == set(expected) - {raced[0]}
        assert all(m.id is not None and m.status is MatchStatus.PROPOSED for m in created)
        # the session is usable: it reads and writes
        created[0].score = 0.5
        db.session.commit()
        assert db.session.get(Match, created[0].id).score == 0.5


def test_every_write_racing_another_process_still_stores_the_rest(app, monkeypatch):
    """The other process keeps proposing the same demands: each write finds one more of its pairs stored."""
    with app.app_context():
        demands, expected = _unproposed_world(app)
        raced = _race_each_write(monkeypatch)
        first = service.propose_for_demands(demands[:1])
        second = service.propose_for_demands(demands)
        assert len(raced) == 2
        after = _pairs()
        assert set(after) == set(expected)
        assert len(db.session.scalars(sa.select(Match)).all()) == len(expected)  # one row per pair
        assert {after[p][0] for p in raced} == {"curator"}
        assert {(m.demand_id, m.offering_id) for m in first + second} == set(expected) - set(raced)


def test_writing_a_pair_already_in_the_database_leaves_it_and_stores_the_others(app):
    """The write itself, given rows of which one pair is already stored and one row repeated."""
    with app.app_context():
        _, expected = _unproposed_world(app)
        pairs = sorted(expected)
        _commit_elsewhere(pairs[0])
        rows = [
            {"demand_id": d, "offering_id": o, "score": 0.25, "breakdown": {"total": 0.25}, "reasons": []}
            for d, o in pairs
        ]
        created = service._store_proposals(rows + rows[-1:])
        assert {(m.demand_id, m.offering_id) for m in created} == set(pairs[1:])
        after = _pairs()
        assert set(after) == set(pairs)
        assert after[pairs[0]] == ("curator", RACER_SCORE)
        assert all(after[p] == ("engine", 0.25) for p in pairs[1:])
        assert service._store_proposals(rows) == []  # all there now: nothing new, no error
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Match)) == len(pairs)


def test_the_savepoint_fallback_skips_a_pair_already_stored(app):
    """Databases without ON CONFLICT insert row by row, each in a savepoint."""
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            pytest.skip("pysqlite's transaction handling breaks savepoints; run with PostgreSQL")
        _, expected = _unproposed_world(app)
        pairs = sorted(expected)
        _commit_elsewhere(pairs[0])
        rows = [{"demand_id": d, "offering_id": o, "score": 0.25} for d, o in pairs]
        ids = service._insert_pairs_one_by_one(rows)
        db.session.commit()
        assert len(ids) == len(pairs) - 1
        after = _pairs()
        assert set(after) == set(pairs) and after[pairs[0]] == ("curator", RACER_SCORE)
