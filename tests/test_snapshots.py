"""Index snapshots that are corrupt, from another model, or stale: each is detected, logged and rebuilt.

No search or proposal ever comes from the bad snapshot: the engine checks it (checksum, model, the
posting count in its manifest, and after catching up, the database's published postings and their newest
change) before it answers anything.
"""

import logging
from pathlib import Path

import pytest
import sqlalchemy as sa

from matchmaker.extensions import db
from matchmaker.matching import encoders
from matchmaker.matching.engine import LOOKBACK, forget_engines, get_engine
from matchmaker.matching.service import search, top_offerings
from matchmaker.models import Demand, IndexChange, Offering, PostingStatus

from .factories import HashingEncoder, publish


@pytest.fixture
def snapshotted(app):
    """Publish a demand and two offerings, snapshot the index, and forget it, as a process that stopped."""
    with app.app_context():
        demand = publish(Demand, "Foshan Weave", "Fabric defect detection on looms")
        offerings = [
            publish(Offering, "Lumen Vision", "Fabric defect detection with edge cameras"),
            publish(Offering, "Kiln AI", "Kiln fault early warning from temperature curves"),
        ]
        # A long-lived change log: a restart replays only its last LOOKBACK rows, all about the demand here,
        # so what changed behind the log's back is found by the checks, not by the replay.
        db.session.add_all(IndexChange(posting_kind="demand", posting_id=demand.id) for _ in range(LOOKBACK))
        db.session.commit()
        engine = get_engine(app)
        engine.sync()
        engine.save_snapshot()
        forget_engines()
        yield demand.id, [o.id for o in offerings]
    forget_engines()


def _snapshot(app, kind: str = "offering") -> Path:
    return Path(app.config["DATA_DIR"]) / "index" / f"{kind}.npz"


def _restart(app, caplog):
    """Start a fresh engine, as a new process does; return it and what it logged."""
    forget_engines()
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="matchmaker.matching.engine"):
        engine = get_engine(app)
    return engine, " ".join(r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING)


def _published_ids(kind_model) -> set[int]:
    return set(db.session.scalars(sa.select(kind_model.id).where(kind_model.status == PostingStatus.PUBLISHED)))


def _assert_agrees(engine) -> None:
    """The index holds exactly the published postings of each kind."""
    assert engine.corpora["offering"].vectors.ids() == _published_ids(Offering)
    assert engine.corpora["demand"].vectors.ids() == _published_ids(Demand)


def test_an_intact_snapshot_is_used_as_is(app, snapshotted, caplog):
    with app.app_context():
        engine, warnings = _restart(app, caplog)
        assert engine.loaded_from_snapshot and warnings == ""
        _assert_agrees(engine)


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda raw: raw[: len(raw) // 2], id="truncated"),
        pytest.param(lambda raw: b"\x93NUMPY garbage \x00\xff" * 40, id="garbage"),
        pytest.param(lambda raw: raw[:-200] + bytes(200), id="zeroed-tail"),
        pytest.param(lambda raw: b"", id="empty"),
    ],
)
def test_a_damaged_snapshot_is_detected_logged_and_rebuilt(app, snapshotted, caplog, damage):
    demand_id, offering_ids = snapshotted
    path = _snapshot(app)
    path.write_bytes(damage(path.read_bytes()))
    with app.app_context():
        engine, warnings = _restart(app, caplog)
        assert not engine.loaded_from_snapshot
        assert "snapshot not used" in warnings and "offering.npz" in warnings
        _assert_agrees(engine)
        assert top_offerings(db.session.get(Demand, demand_id))[0].id == offering_ids[0]
    with app.app_context():  # the rebuilt snapshot is written back and serves the next start
        assert _restart(app, caplog)[0].loaded_from_snapshot


def test_a_snapshot_from_another_model_is_rebuilt_with_this_one(app, snapshotted, caplog, monkeypatch):
    monkeypatch.setitem(encoders._cache, ("hashing", "", "", "torch"), HashingEncoder())
    app.config["MATCHMAKER_EMBEDDING_MODEL"] = "hashing"
    with app.app_context():
        engine, warnings = _restart(app, caplog)
        assert not engine.loaded_from_snapshot and "made with use:" in warnings
        assert engine.corpora["offering"].vectors.dimension == HashingEncoder.dimension
        _assert_agrees(engine)


def _behind_the_change_log(statement=None, since: int | None = None) -> None:
    """Change postings leaving no change-log row, as a crash between commit and indexing, or a restore, does."""
    if statement is not None:
        db.session.execute(statement)  # a bulk UPDATE writes no change-log row
    if since is not None:
        db.session.execute(sa.delete(IndexChange).where(IndexChange.id > since))
    db.session.commit()


@pytest.mark.parametrize("embedded", [True, False], ids=["embedded", "never-embedded"])
def test_a_snapshot_missing_postings_added_since_is_caught_up(app, snapshotted, caplog, embedded):
    demand_id, _ = snapshotted
    with app.app_context():
        logged = db.session.scalar(sa.select(sa.func.max(IndexChange.id)))
        late = publish(Offering, "Loom Eye", "Fabric defect detection for weaving looms, edge cameras")
        unembed = sa.update(Offering).where(Offering.id == late.id).values(embedding=None, embedding_model=None)
        _behind_the_change_log(None if embedded else unembed, since=logged)
        engine, warnings = _restart(app, caplog)
        # A posting indexed elsewhere but unknown to the snapshot is found by comparing with the database;
        # one that was never embedded (the process died first) is embedded at start.
        assert ("stale" in warnings and "1 missing" in warnings) if embedded else warnings == ""
        _assert_agrees(engine)
        assert late.id in {c.id for c in top_offerings(db.session.get(Demand, demand_id))}


def test_a_snapshot_holding_a_closed_posting_is_rebuilt_and_never_serves_it(app, snapshotted, caplog):
    demand_id, offering_ids = snapshotted
    closed = offering_ids[0]
    with app.app_context():
        _behind_the_change_log(sa.update(Offering).where(Offering.id == closed).values(status=PostingStatus.CLOSED))
        engine, warnings = _restart(app, caplog)
        assert "stale" in warnings and "1 not published" in warnings
        _assert_agrees(engine)
        assert closed not in {c.id for c in top_offerings(db.session.get(Demand, demand_id))}
        assert closed not in {h.posting.id for h in search("fabric defect detection", kinds=("offering",))}


def test_a_snapshot_older_than_an_edit_is_rebuilt(app, snapshotted, caplog):
    _, offering_ids = snapshotted
    edited = offering_ids[1]
    with app.app_context():
        new_title = "Kiln fault early warning and fabric defect detection"
        _behind_the_change_log(sa.update(Offering).where(Offering.id == edited).values(title=new_title))
        engine, warnings = _restart(app, caplog)
        assert "changed after the index last saw one" in warnings
        assert engine.facts["offering"][edited].text.startswith(new_title)


def test_a_restart_from_the_snapshot_ranks_as_a_rebuild_and_replays_nothing(app, snapshotted, caplog):
    demand_id, _ = snapshotted
    with app.app_context():
        engine, warnings = _restart(app, caplog)
        assert engine.loaded_from_snapshot and warnings == ""
        # the BM25 model came with the snapshot, and the change log's window was not replayed
        assert all(corpus.lexical._bm25 is not None for corpus in engine.corpora.values())
        assert engine.sync() == 0
        demand = db.session.get(Demand, demand_id)
        from_snapshot = [(c.id, round(c.score, 6), c.breakdown) for c in top_offerings(demand, 5)]
        found = [(h.kind, h.posting.id, round(h.score, 6)) for h in search("defect detection")]
        engine.rebuild(save=False)
        assert [(c.id, round(c.score, 6), c.breakdown) for c in top_offerings(demand, 5)] == from_snapshot
        assert [(h.kind, h.posting.id, round(h.score, 6)) for h in search("defect detection")] == found
        assert from_snapshot and found
