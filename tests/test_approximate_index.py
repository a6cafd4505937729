"""The vector index switches itself to an inverted file (IVF) at a threshold, and back below it."""

import io
import json

import faiss
import numpy as np
import pytest

from matchmaker.domain.postings import announce
from matchmaker.extensions import db
from matchmaker.matching import vector_index
from matchmaker.matching.engine import forget_engines, get_engine
from matchmaker.matching.vector_index import IndexOptions, SnapshotError, VectorIndex
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


def _recall(index, exact, queries):
    return np.mean([len(set(_top(index, q)) & set(_top(exact, q))) / 10 for q in queries])


def test_index_turns_approximate_at_the_threshold_and_keeps_recall(vectors):
    exact = VectorIndex(16)
    index = VectorIndex(16, IndexOptions(approximate_from=200, nprobe=12))
    ids = list(range(1000, 1300))
    exact.add(ids, vectors)
    index.add(ids[:199], vectors[:199])
    assert not index.approximate
    index.add(ids[199:], vectors[199:])
    assert index.approximate and len(index) == 300 and index.ids() == set(ids)
    queries = _unit(np.random.default_rng(4), 50)
    assert _recall(index, exact, queries) >= 0.95
    assert _top(index, vectors[17], 1) == [1017]
    assert np.allclose(index.vectors([1017, 1200]), vectors[[17, 200]])


def test_scanning_fewer_lists_finds_less_of_the_exact_top_ten(vectors):
    """nprobe is what buys recall: one list of 17 misses much of the exact top 10."""
    exact = VectorIndex(16)
    exact.add(list(range(300)), vectors)
    queries = _unit(np.random.default_rng(5), 50)
    recalls = []
    for nprobe in (1, 17):
        index = VectorIndex(16, IndexOptions(approximate_from=100, nprobe=nprobe))
        index.add(list(range(300)), vectors)
        recalls.append(_recall(index, exact, queries))
    assert recalls[0] < 0.8 and recalls[1] == 1.0


def test_removed_and_replaced_postings_leave_the_index_at_once(vectors):
    index = VectorIndex(16, IndexOptions(approximate_from=100))
    index.add(list(range(300)), vectors)
    index.remove([5, 6])
    assert index.approximate and len(index) == 298
    assert 5 not in _top(index, vectors[5], 10) and 6 not in index.ids()
    index.add([7], vectors[8:9])  # replacing a vector drops the old one
    hits = _top(index, vectors[8], 3)
    assert hits.count(7) == 1 and set(hits[:2]) == {7, 8}
    assert 7 not in _top(index, vectors[7], 3)
    assert np.allclose(index.vectors([7]), vectors[8:9])
    index.remove(list(range(100, 300)))  # shrinks below the threshold: exact again
    assert not index.approximate and len(index) == 98
    assert _top(index, vectors[8], 2)[0] in (7, 8) and 100 not in index.ids()


def test_an_approximate_snapshot_round_trips(vectors, tmp_path):
    index = VectorIndex(16, IndexOptions(approximate_from=100, nprobe=4))
    index.add(list(range(300)), vectors)
    index.remove([3])
    path = tmp_path / "offering.npz"
    index.save(path, {"fingerprint": "model-a"})
    loaded, _ = VectorIndex.load(path, "model-a", IndexOptions(approximate_from=100, nprobe=4))
    assert loaded.approximate and loaded.ids() == index.ids()
    queries = _unit(np.random.default_rng(6), 20)
    assert [_top(loaded, q) for q in queries] == [_top(index, q) for q in queries]
    assert 3 not in _top(loaded, vectors[3], 5)
    exact, _ = VectorIndex.load(path, "model-a")  # default threshold: the snapshot is rebuilt exact
    assert not exact.approximate and exact.ids() == index.ids()


def test_a_snapshot_of_an_older_hnsw_index_is_refused(tmp_path):
    """Earlier versions wrote an HNSW graph with row labels: a start rebuilds rather than misread it."""
    graph = faiss.IndexHNSWFlat(16, 8, faiss.METRIC_INNER_PRODUCT)
    arrays = {"index": faiss.serialize_index(graph), "labels": np.zeros(0, np.int64), "dead": np.zeros(0, np.int64)}
    meta = {"fingerprint": "model-a", "dimension": 16, "approximate": True, "sha256": vector_index._digest(arrays)}
    buffer = io.BytesIO()
    np.savez(buffer, meta=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8), **arrays)
    path = tmp_path / "offering.npz"
    path.write_bytes(buffer.getvalue())
    with pytest.raises(SnapshotError, match="older version"):
        VectorIndex.load(path, "model-a")


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
