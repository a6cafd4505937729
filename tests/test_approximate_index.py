"""The vector index switches itself to an HNSW graph at a threshold; deletes leave tombstones until a rebuild."""

import numpy as np
import pytest

from matchmaker.domain.postings import announce
from matchmaker.extensions import db
from matchmaker.matching import vector_index
from matchmaker.matching.engine import forget_engines, get_engine
from matchmaker.matching.vector_index import IndexOptions, VectorIndex
from matchmaker.models import Offering, PostingStatus

from .factories import publish


def _unit(rng, n, dimension=16):
    vectors = rng.standard_normal((n, dimension)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def _top(index, query, k=10):
    return [i for i, _ in index.search(query.reshape(1, -1), k)[0]]


@pytest.fixture
def vectors():
    return _unit(np.random.default_rng(3), 300)


def test_index_turns_approximate_at_the_threshold_and_keeps_recall(vectors):
    exact = VectorIndex(16)
    index = VectorIndex(16, IndexOptions(approximate_from=200, ef_search=64))
    ids = list(range(1000, 1300))
    exact.add(ids, vectors)
    index.add(ids[:199], vectors[:199])
    assert not index.approximate
    index.add(ids[199:], vectors[199:])
    assert index.approximate and len(index) == 300 and index.ids() == set(ids)
    queries = _unit(np.random.default_rng(4), 50)
    recall = np.mean([len(set(_top(index, q)) & set(_top(exact, q))) / 10 for q in queries])
    assert recall >= 0.95
    assert _top(index, vectors[17], 1) == [1017]
    assert np.allclose(index.vectors([1017, 1200]), vectors[[17, 200]])


def test_removed_and_replaced_postings_are_tombstoned_then_compacted(vectors, monkeypatch):
    monkeypatch.setattr(vector_index, "REBUILD_SHARE", 0.05)
    index = VectorIndex(16, IndexOptions(approximate_from=100))
    index.add(list(range(300)), vectors)
    index.remove([5, 6])
    assert index.tombstones == 2 and len(index) == 298
    assert 5 not in _top(index, vectors[5], 10) and 6 not in index.ids()
    index.add([7], vectors[8:9])  # replacing a vector tombstones the old row
    hits = _top(index, vectors[8], 3)
    assert hits.count(7) == 1 and set(hits[:2]) == {7, 8}
    assert 7 not in _top(index, vectors[7], 3)
    index.remove(list(range(100, 113)))  # past 5 % of 301 rows: rebuilt from the live rows
    assert index.tombstones == 0 and index.approximate and len(index) == 285
    assert _top(index, vectors[8], 2)[0] in (7, 8) and 100 not in index.ids()
    index.remove(list(range(113, 300)))  # shrinks below the threshold: exact again
    assert not index.approximate and len(index) == 98


def test_an_approximate_snapshot_keeps_its_tombstones(vectors, tmp_path):
    index = VectorIndex(16, IndexOptions(approximate_from=100))
    index.add(list(range(300)), vectors)
    index.remove([3])
    path = tmp_path / "offering.npz"
    index.save(path, {"fingerprint": "model-a"})
    loaded, _ = VectorIndex.load(path, "model-a", IndexOptions(approximate_from=100))
    assert loaded.approximate and loaded.tombstones == 1 and loaded.ids() == index.ids()
    assert _top(loaded, vectors[3], 5) == _top(index, vectors[3], 5) and 3 not in _top(loaded, vectors[3], 5)
    exact, _ = VectorIndex.load(path, "model-a")  # default threshold: the snapshot is rebuilt exact
    assert not exact.approximate and exact.ids() == index.ids()


def test_engine_builds_an_approximate_index_from_the_setting(app_config):
    from .apps import app_with_schema

    app_config["MATCHMAKER_APPROXIMATE_INDEX_FROM"] = 2
    with app_with_schema(app_config) as app, app.app_context():
        forget_engines()
        first = publish(Offering, "Lumen Vision", "Fabric defect detection by machine vision")
        publish(Offering, "Kiln AI", "Kiln fault warning from temperature curves")
        publish(Offering, "Volt Saver", "Energy management for compressors")
        engine = get_engine(app)
        engine.sync()
        assert engine.corpora["offering"].vectors.approximate and engine.status()["approximate"] == ["offering"]
        first.status = PostingStatus.CLOSED
        db.session.commit()
        announce([first])
        engine.sync()
        vectors = engine.corpora["offering"].vectors
        assert first.id not in vectors.ids() and len(vectors) == 2
        forget_engines()
