"""The vector index, and the engine's consistency with the database across processes and models."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa

from matchmaker.domain.postings import announce
from matchmaker.extensions import db
from matchmaker.matching import encoders, service
from matchmaker.matching.engine import forget_engines, get_engine
from matchmaker.matching.vector_index import SnapshotError, VectorIndex
from matchmaker.models import Demand, Offering, OrgKind, PostingStatus

from .factories import HashingEncoder, organization, publish


def _unit(rows):
    vectors = np.asarray(rows, dtype=np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_vector_index_add_search_remove():
    index = VectorIndex(3)
    index.add([10, 20, 30], _unit([[1, 0, 0], [0, 1, 0], [1, 1, 0]]))
    hits = index.search(_unit([[1, 0.1, 0]]), 2)[0]
    assert [i for i, _ in hits] == [10, 30]
    index.remove([10])
    assert [i for i, _ in index.search(_unit([[1, 0.1, 0]]), 1)[0]] == [30]
    index.add([30], _unit([[0, 0, 1]]))  # re-adding replaces
    assert len(index) == 2 and index.search(_unit([[0, 0, 1]]), 1)[0][0][0] == 30


def test_snapshot_round_trip_and_refusals(tmp_path):
    index = VectorIndex(3)
    index.add([1, 2], _unit([[1, 0, 0], [0, 1, 0]]))
    path = tmp_path / "offering.npz"
    index.save(path, {"fingerprint": "model-a", "watermark": 7})
    loaded, meta = VectorIndex.load(path, "model-a")
    assert loaded.ids() == {1, 2} and meta["watermark"] == 7
    with pytest.raises(SnapshotError, match="model-a"):
        VectorIndex.load(path, "model-b")
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(SnapshotError, match="corrupt"):
        VectorIndex.load(path, "model-a")
    with pytest.raises(SnapshotError):
        VectorIndex.load(tmp_path / "missing.npz", "model-a")
    assert not list(tmp_path.glob("*.tmp"))


def _indexed(app, kind):
    with app.app_context():
        engine = get_engine(app)
        engine.sync()
        return set(engine.corpora[kind].tokens)


def test_publishing_indexes_and_closing_removes(app):
    with app.app_context():
        offering = publish(Offering, "Lumen Vision", "紡織面料瑕疵AI視覺檢測")
        draft = Offering(title="Draft only", description="draft", organization=offering.organization)
        db.session.add(draft)
        db.session.commit()
        announce([draft])
        assert _indexed(app, "offering") == {offering.id}
        offering.status = PostingStatus.CLOSED
        db.session.commit()
        announce([offering])
        assert _indexed(app, "offering") == set()


def test_deleting_a_posting_removes_it(app):
    with app.app_context():
        offering = publish(Offering, "Lumen Vision", "Fabric defect detection")
        assert _indexed(app, "offering") == {offering.id}
        db.session.delete(offering)
        db.session.commit()
        assert _indexed(app, "offering") == set()


def _cli(app, *args):
    """Run the real `matchmaker` console script in a separate process against the app's database."""
    env = {
        **os.environ,
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "MATCHMAKER_DATA_DIR": app.config["DATA_DIR"],
        "SECRET_KEY": "test",
    }
    script = Path(sys.executable).with_name("matchmaker")
    return subprocess.run([str(script), *args], env=env, capture_output=True, text=True, timeout=300)


def test_a_second_process_adding_postings_is_seen_without_restart(app, tmp_path):
    with app.app_context():
        publish(Offering, "Lumen Vision", "Fabric defect detection")
        assert len(_indexed(app, "offering")) == 1
    csv_file = tmp_path / "offerings.csv"
    csv_file.write_text(
        "ref,title,description,organization\n"
        "EXT-1,窑炉故障预警,基于温度曲线的窑炉故障预警,Kiln AI\n"
        "EXT-2,Energy management for compressors,Cut compressed-air power use,Kiln AI\n",
        encoding="utf-8",
    )
    result = _cli(app, "import", "offerings", str(csv_file))
    assert result.returncode == 0, result.stderr
    with app.app_context():
        refs = set(db.session.scalars(sa.select(Offering.ref).where(Offering.id.in_(_indexed(app, "offering")))))
    assert {"EXT-1", "EXT-2"} <= refs


def test_snapshot_is_used_at_start_and_rebuilt_when_corrupt(app):
    with app.app_context():
        publish(Offering, "Lumen Vision", "Fabric defect detection")
        get_engine(app).save_snapshot()
        forget_engines()
        engine = get_engine(app)
        assert engine.loaded_from_snapshot and len(engine.corpora["offering"]) == 1
        snapshot = Path(app.config["DATA_DIR"]) / "index" / "offering.npz"
        snapshot.write_bytes(b"not a snapshot")
        forget_engines()
        engine = get_engine(app)
        assert not engine.loaded_from_snapshot and len(engine.corpora["offering"]) == 1


def test_model_change_rebuilds_and_re_embeds(app, monkeypatch):
    with app.app_context():
        offering = publish(Offering, "Lumen Vision", "Fabric defect detection")
        get_engine(app).save_snapshot()
        first_model = db.session.get(Offering, offering.id).embedding_model
        monkeypatch.setitem(encoders._cache, ("hashing", "", "", "torch"), HashingEncoder())
        app.config["MATCHMAKER_EMBEDDING_MODEL"] = "hashing"
        engine = get_engine(app)
        assert not engine.loaded_from_snapshot  # the snapshot was made with another model
        assert len(engine.corpora["offering"]) == 1
        stored = db.session.get(Offering, offering.id)
        assert stored.embedding_model == HashingEncoder.fingerprint != first_model
        assert len(np.frombuffer(stored.embedding, dtype=np.float32)) == 64
        forget_engines()
        assert get_engine(app).loaded_from_snapshot  # the rebuilt snapshot serves the next process
        assert get_engine(app).rebuild()["embedded"] == 0


def test_index_status_and_rebuild_commands(app, runner):
    with app.app_context():
        publish(Demand, "Foshan Weave", "布面瑕疵检测")
    result = runner.invoke(args=["index", "rebuild"])
    assert result.exit_code == 0, result.output
    assert "1 demands" in result.output
    result = runner.invoke(args=["index", "status"])
    assert "demands: 1 indexed, 1 published, 0 need embedding" in result.output
    assert (Path(app.config["DATA_DIR"]) / "index" / "demand.npz").exists()


def test_rebuild_command_in_a_new_process_builds_the_index_once(app, runner, monkeypatch):
    from matchmaker.matching.engine import MatchingEngine

    with app.app_context():
        publish(Demand, "Foshan Weave", "布面瑕疵检测")
        get_engine(app).save_snapshot()
    forget_engines()  # the command runs in a process with no engine yet, and a snapshot on disk
    calls = []
    for name in ("rebuild", "_load_snapshot"):
        original = getattr(MatchingEngine, name)
        monkeypatch.setattr(
            MatchingEngine, name, lambda self, *a, _f=original, _n=name, **kw: calls.append(_n) or _f(self, *a, **kw)
        )
    result = runner.invoke(args=["index", "rebuild"])
    assert result.exit_code == 0, result.output
    assert calls == ["rebuild"]  # neither a snapshot load nor a second build before the command's own
    assert "1 demands" in result.output and "indexed 1 published demands" in result.output
    result = runner.invoke(args=["index", "rebuild"])  # the engine now runs: the command rebuilds it again
    assert result.exit_code == 0 and calls == ["rebuild", "rebuild"]


def test_explanations_name_distinctive_terms_only():
    from matchmaker.matching.lexical import LexicalIndex

    index = LexicalIndex()
    for doc_id in range(10):
        index.add(doc_id, ["ai", "系统", f"term{doc_id}"])
    index.add(3, ["ai", "系统", "瑕疵", "布面"])  # re-adding replaces the old tokens and their counts
    assert index.matched_terms(["ai", "系统", "瑕疵", "布面", "term3"], 3) == ["瑕疵", "布面"]
    index.remove(3)
    assert index.matched_terms(["瑕疵"], 3) == []


def test_a_change_committed_out_of_order_is_still_applied(app):
    """A transaction that took a lower change id but committed later must not be missed."""
    from matchmaker.models import IndexChange

    with app.app_context():
        first = publish(Offering, "Lumen Vision", "Fabric defect detection")
        second = publish(Offering, "Kiln Watch", "窯爐故障預警")
        assert _indexed(app, "offering") == {first.id, second.id}
        db.session.add(IndexChange(id=100, posting_kind="offering", posting_id=first.id))
        second.status = PostingStatus.CLOSED
        db.session.commit()
        assert get_engine(app).sync() == 1 and get_engine(app).watermark == 100
        assert get_engine(app).sync() == 0  # nothing new: the cheap count says so
        db.session.add(IndexChange(id=50, posting_kind="offering", posting_id=second.id))  # the late commit
        db.session.commit()
        assert _indexed(app, "offering") == {first.id}


def test_snapshot_keeps_each_postings_tokens_and_stores_its_metadata_as_utf8(app):
    with app.app_context():
        publish(Offering, "Lumen Vision", "紡織面料瑕疵AI視覺檢測 for C++ and .NET lines")
        publish(Offering, "Quiet Vendor", "的")  # a stopword only: no tokens at all
        engine = get_engine(app)
        before = dict(engine.corpora["offering"].tokens)
        facts = dict(engine.facts["offering"])
        assert [] in before.values()
        engine.save_snapshot()
        forget_engines()
        loaded = get_engine(app)
        assert loaded.loaded_from_snapshot and loaded.corpora["offering"].tokens == before
        assert loaded.facts["offering"] == facts and any("視覺" in f.text or "视觉" in f.text for f in facts.values())
        with np.load(Path(app.config["DATA_DIR"]) / "index" / "offering.npz") as data:
            assert data["meta"].dtype == np.uint8 and "fact_rows" in data["meta"].tobytes().decode()
            # the tokens are one UTF-8 array beside the ids, not strings in the JSON metadata
            # so are the texts: the metadata holds neither
            meta = json.loads(data["meta"].tobytes().decode())
            assert "tokens" not in meta and "text" not in meta["fact_fields"]
            names = [n for n in data.files if n.endswith(("token_ids", "token_text"))]
            assert len(names) == 2 and "面料" in data[max(names)].tobytes().decode()


def test_bm25_restored_from_its_state_scores_as_one_built_from_the_tokens():
    from matchmaker.matching.lexical import LexicalIndex
    from matchmaker.matching.text import tokenize

    texts = {
        3: "Fabric defect detection on looms",
        8: "布面瑕疵视觉检测，织机上的跳纱",
        9: "Kiln fault early warning from temperature curves",
        12: "",  # a posting with no tokens at all
        15: "注塑参数优化 defect detection",
    }
    built = LexicalIndex()
    for doc_id, text in texts.items():
        built.add(doc_id, tokenize(text))
    state = built.state()
    restored = LexicalIndex()
    restored.restore({i: tokenize(t) for i, t in texts.items()}, state)
    assert restored._bm25 is not None  # nothing left to build before the first search
    assert restored._document_frequency == +built._document_frequency
    for query in ("defect detection", "织机 跳纱 瑕疵", "kiln temperature", "nothing matches"):
        words = tokenize(query)
        assert restored.scores(words) == built.scores(words)
        assert restored.matched_terms(words, 15) == built.matched_terms(words, 15)
    # a state made from other postings is not used: the model is built from the tokens instead
    other = LexicalIndex()
    other.restore({3: tokenize(texts[3])}, state)
    assert other._bm25 is None and set(other.scores(tokenize("defect"))) == {3}


def test_indexing_in_batches_expires_only_each_batch_so_nothing_else_is_read_again(app, monkeypatch):
    """Each batch's commit expires that batch alone: a plain commit would expire, and make the next batch
    read again, every posting and organisation of a big import once per batch (quadratic work)."""
    monkeypatch.setattr(service, "INDEX_BATCH", 2)
    with app.app_context():
        maker = organization("Batch Works", OrgKind.MANUFACTURER)
        demands = [
            Demand(
                title=f"Kiln warning {n}",
                description="Predict kiln faults",
                organization=maker,
                status=PostingStatus.PUBLISHED,
            )
            for n in range(5)
        ]
        db.session.add_all(demands)
        db.session.commit()
        assert maker.name and all(d.title for d in demands)  # loaded again after the commit
        service.index_postings(demands)
        assert not sa.inspect(maker).expired
        fingerprint = get_engine(app).fingerprint
        # each batch's postings were expired, so they read what was stored, not what they held before
        assert all(d.embedding is not None and d.embedding_model == fingerprint for d in demands)
        assert get_engine(app).corpora["demand"].vectors.ids() >= {d.id for d in demands}
