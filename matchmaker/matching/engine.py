"""Each process's matching engine: faiss and BM25 indexes kept in step with the database.

The database is the source of truth. Every change to a posting appends an IndexChange row in the
transaction that stores its embedding; each process replays the rows past its watermark before it
searches, so several web workers and a CLI import see the same postings without a restart. A
snapshot in the data directory makes start-up fast; it is rebuilt when missing, corrupt, or made
with another model.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import fields
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import sqlalchemy as sa

from ..extensions import db
from ..models import Demand, IndexChange, Offering, PostingStatus
from .availability import (
    engine_key,
    forget_failures,
    record_failure,
    record_success,
    refuse_until_retry,
)
from .encoders import Encoder, encoder_from_config
from .facts import PostingFacts, demand_facts, offering_facts
from .lexical import TokenStore
from .ranking import FacetTable
from .retrieval import PostingCorpus
from .tagging import warm_up
from .text import posting_text, tokenize
from .vector_index import IndexOptions, SnapshotError, VectorIndex, set_search_threads

log = logging.getLogger(__name__)
MODELS = {"demand": Demand, "offering": Offering}
FACTS_OF = {"demand": demand_facts, "offering": offering_facts}
LOOKBACK = 500  # re-read this many change ids behind the watermark: concurrent commits may land out of order
TOKEN_SEPARATOR = "\x1f"  # tokens are Latin letters, digits, +.#- and CJK characters only
POSTING_SEPARATOR = "\x1e"  # between the postings' joined tokens in a snapshot's token array
FACT_FIELDS = [item.name for item in fields(PostingFacts)]  # "id" first
ROW_FIELDS = [name for name in FACT_FIELDS if name != "text"]  # the text is kept in an array of its own
REBUILD_BATCH = 5000  # postings read from the database at a time when the index is rebuilt
SNAPSHOT_INTERVAL = 300  # seconds between snapshots written by a long-running process


class MatchingEngine:
    """The indexes of one process, for one embedding model."""

    def __init__(self, encoder: Encoder, data_dir: Path, options: IndexOptions | None = None):
        self.encoder = encoder
        self.options = options or IndexOptions()
        self.snapshot_dir = Path(data_dir) / "index"
        self.corpora = self._empty_corpora()
        self.facts: dict[str, dict[int, PostingFacts]] = {kind: {} for kind in MODELS}
        self.generation = 0  # raised whenever the facts change, so what is derived from them is rebuilt
        self._tables: dict[str, tuple[tuple, FacetTable]] = {}
        self.watermark = 0
        self._applied: set[int] = set()
        self._lock = threading.RLock()
        self._last_snapshot = time.monotonic()
        self.loaded_from_snapshot = False
        self.updated = dict.fromkeys(MODELS, 0.0)  # newest updated_at indexed, as a UTC timestamp
        self.backlog: list[tuple[str, int]] = []
        warm_up()

    def _empty_corpora(self) -> dict[str, PostingCorpus]:
        return {kind: PostingCorpus(kind, self.encoder.dimension, self.options) for kind in MODELS}

    @property
    def fingerprint(self) -> str:
        """Return the encoder's backend:model:dimension."""
        return self.encoder.fingerprint

    # -- keeping in step -------------------------------------------------
    def start(
        self,
        pending: set[tuple[str, int]] = frozenset(),
        fresh: bool = False,
        progress: Callable[[str], None] | None = None,
    ) -> None:
        """Load the snapshot if it is usable, else rebuild from the database; then catch up and check.

        Postings published while no engine could run (the model did not load, or a process died between
        committing them and embedding them) are embedded here, and kept in `backlog` for proposing;
        except the pending ones (kind, id), which the caller that starts the engine embeds itself.

        fresh: rebuild from the database whatever the snapshot holds, and write a new one (a failed write
        raises), as `matchmaker index rebuild` asks: the index is built once, not loaded and built again.
        """
        with self._lock:
            if fresh:
                self.rebuild(pending=pending, progress=progress)
            else:
                try:
                    self._load_snapshot()
                    self.loaded_from_snapshot = True
                except SnapshotError as exc:
                    log.warning("index snapshot not used (%s); rebuilding from the database", exc)
                    self.rebuild(save=False, pending=pending)
                    self._maybe_snapshot(force=True)
            self.backlog += embed_missing(self.encoder, skip=pending)
            self.sync()
            problem = self._disagreement()
            if problem:
                log.warning("index snapshot is stale (%s); rebuilding from the database", problem)
                self.loaded_from_snapshot = False
                self.rebuild(save=False)
                self._maybe_snapshot(force=True)

    def take_backlog(self) -> list[tuple[str, int]]:
        """Return the (kind, id) of postings embedded at start that nobody proposed for yet, and forget them."""
        with self._lock:
            backlog, self.backlog = self.backlog, []
            return backlog

    def _disagreement(self) -> str:
        """Describe how the index differs from what the database says it must hold; empty if it agrees."""
        for kind, model in MODELS.items():
            indexable = sa.select(model.id).where(
                model.status == PostingStatus.PUBLISHED, model.embedding_model == self.fingerprint
            )
            # through the connection: 100k plain ids, with none of the ORM's per-row work
            expected = set(db.session.connection().execute(indexable).scalars())
            held = self.corpora[kind].vectors.ids()
            if expected != held:
                return f"{kind}s: {len(expected - held)} missing, {len(held - expected)} not published"
            newest = _epoch(db.session.scalar(sa.select(sa.func.max(model.updated_at)).where(model.id.in_(indexable))))
            if newest > self.updated[kind]:
                return f"{kind}s: a posting changed after the index last saw one"
        return ""

    def sync(self) -> int:
        """Apply the changes committed since the watermark; return how many postings changed."""
        with self._lock:
            fresh = self._unseen_changes()
            if not fresh:
                return 0
            targets: dict[str, set[int]] = {}
            for row in fresh:
                targets.setdefault(row.posting_kind, set()).add(row.posting_id)
            for kind, ids in targets.items():
                self._refresh(kind, ids)
            self._applied.update(r.id for r in fresh)
            self.watermark = max(self.watermark, max(r.id for r in fresh))
            self._applied = {i for i in self._applied if i > self.watermark - LOOKBACK}
            self._maybe_snapshot()
            return sum(len(ids) for ids in targets.values())

    def _unseen_changes(self) -> list:
        """Return the change rows in the look-back window that this process has not applied yet."""
        window = IndexChange.id > self.watermark - LOOKBACK
        # Every row in the window is either applied or unseen, so equal counts mean nothing is new:
        # one aggregate row instead of the whole window on each of the many syncs a request makes.
        if db.session.scalar(sa.select(sa.func.count(IndexChange.id)).where(window)) == len(self._applied):
            return []
        rows = db.session.execute(
            sa.select(IndexChange.id, IndexChange.posting_kind, IndexChange.posting_id)
            .where(window)
            .order_by(IndexChange.id)
        ).all()
        return [r for r in rows if r.id not in self._applied]

    def _refresh(self, kind: str, ids: set[int]) -> None:
        """Re-read postings and index the published ones embedded with this model; drop the rest."""
        model = MODELS[kind]
        found = {p.id: p for p in db.session.scalars(sa.select(model).where(model.id.in_(ids)))}
        corpus, facts = self.corpora[kind], self.facts[kind]
        self.generation += 1
        fresh = []
        for posting_id in ids:
            posting = found.get(posting_id)
            if posting is not None and self._indexable(posting):
                fresh.append(posting)
                facts[posting.id] = FACTS_OF[kind](posting)
                self.updated[kind] = max(self.updated[kind], _epoch(posting.updated_at))
            else:
                corpus.remove(posting_id)
                facts.pop(posting_id, None)
        # One batch into faiss: adding rows one at a time costs a scan of the index each.
        corpus.upsert_many(
            [p.id for p in fresh],
            self.vectors_of(fresh),
            [tokenize(facts[p.id].text) for p in fresh],
        )

    def _indexable(self, posting) -> bool:
        return (
            posting.status is PostingStatus.PUBLISHED
            and posting.embedding is not None
            and posting.embedding_model == self.fingerprint
        )

    def signals(self, kind: str, vectors: np.ndarray, tokens: list[list[str]]) -> list:
        """Return the corpus's signals_batch for these queries, under the lock: no sync changes it meanwhile."""
        with self._lock:
            return self.corpora[kind].signals_batch(vectors, tokens)

    def facet_table(self, kind: str) -> FacetTable:
        """Return every indexed posting of a kind as one FacetTable, built again only after a change.

        A current table is returned without the lock, so a batch ranking one page does not wait for the
        search another thread runs for the next (rank_demand_pages).
        """
        held = self._tables.get(kind)
        if held is not None and held[0] == self._table_key(kind):
            return held[1]
        with self._lock:
            key = self._table_key(kind)
            held = self._tables.get(kind)
            if held is None or held[0] != key:
                held = self._tables[kind] = (key, FacetTable(list(self.facts[kind].values())))
            return held[1]

    def _table_key(self, kind: str) -> tuple:
        facts = self.facts[kind]
        return (id(facts), self.generation, len(facts))

    def vector_of(self, posting) -> np.ndarray:
        """Return a posting's stored embedding."""
        return np.frombuffer(posting.embedding, dtype=np.float32).copy()

    def vectors_of(self, postings: list) -> np.ndarray:
        """Return the stored embeddings of postings as one (n, dimension) array."""
        raw = b"".join(p.embedding for p in postings)
        return np.frombuffer(raw, dtype=np.float32).reshape(len(postings), self.encoder.dimension).copy()

    def rebuild(
        self,
        save: bool = True,
        progress: Callable[[str], None] | None = None,
        pending: set[tuple[str, int]] = frozenset(),
    ) -> dict[str, object]:
        """Embed what this model has not embedded yet (but the pending), and index every published posting afresh."""
        with self._lock:
            embedded = embed_missing(self.encoder, progress, skip=pending)
            self.backlog += embedded
            self.corpora = self._empty_corpora()
            self.facts = {kind: {} for kind in MODELS}
            self.updated = dict.fromkeys(MODELS, 0.0)
            # The changes visible now are in what is read below: count them applied, so the next sync
            # does not replay the look-back window's postings that this rebuild has just read.
            recent = db.session.scalars(sa.select(IndexChange.id).order_by(IndexChange.id.desc()).limit(LOOKBACK)).all()
            self.watermark = max(recent, default=0)
            self._applied = {i for i in recent if i > self.watermark - LOOKBACK}
            for kind, model in MODELS.items():
                ids = db.session.scalars(sa.select(model.id).where(model.status == PostingStatus.PUBLISHED)).all()
                # a batch of postings in memory at a time: the session forgets the ones nobody holds
                for start in range(0, len(ids), REBUILD_BATCH):
                    self._refresh(kind, set(ids[start : start + REBUILD_BATCH]))
                if progress:
                    progress(f"indexed {len(self.corpora[kind])} published {kind}s")
            if save:
                self.save_snapshot()
            return {"embedded": len(embedded), **self.status()}

    # -- snapshots --------------------------------------------------------
    def _path(self, kind: str) -> Path:
        return self.snapshot_dir / f"{kind}.npz"

    def save_snapshot(self) -> None:
        """Write both indexes and the watermark atomically, one file per kind."""
        with self._lock:
            for kind, corpus in self.corpora.items():
                facts = list(self.facts[kind].values())
                corpus.vectors.save(
                    self._path(kind),
                    {
                        "fingerprint": self.fingerprint,
                        "watermark": self.watermark,
                        "applied": sorted(self._applied),
                        "postings": len(corpus),
                        "updated": self.updated[kind],
                        # facts as rows of values under one list of field names: no key repeated per posting
                        "fact_fields": ROW_FIELDS,
                        "fact_rows": [[getattr(f, name) for name in ROW_FIELDS] for f in facts],
                    },
                    # the BM25 model as built, so a start need not build it again; the tokens as one UTF-8 array,
                    # which a start decodes and splits into one string per posting far faster than JSON
                    {**corpus.lexical.state(), **_token_arrays(corpus.tokens), **_text_arrays(facts)},
                )
            self._last_snapshot = time.monotonic()

    def _load_snapshot(self) -> None:
        """Read both indexes from the data directory, or raise SnapshotError."""
        watermarks: list[int] = []
        applied: set[int] | None = None
        corpora, facts, updated = {}, {}, {}
        for kind in MODELS:
            vectors, meta = VectorIndex.load(self._path(kind), self.fingerprint, self.options)
            corpus = PostingCorpus(kind, vectors.dimension, self.options)
            corpus.vectors = vectors
            try:
                tokens = _tokens(meta)
            except (TypeError, ValueError, UnicodeDecodeError) as exc:
                raise SnapshotError(f"snapshot {self._path(kind)} holds unreadable tokens ({exc})") from exc
            try:
                facts[kind] = _facts(meta)
            except (TypeError, KeyError, IndexError, UnicodeDecodeError) as exc:  # fields this version does not know
                raise SnapshotError(f"snapshot {self._path(kind)} holds unreadable facts ({exc})") from exc
            if kind == "offering" and facts[kind] and "capacity" not in _fact_fields(meta):
                raise SnapshotError(f"snapshot {self._path(kind)} was written before facts held capacity")
            if not set(tokens) == set(facts[kind]) == vectors.ids() or meta.get("postings") != len(vectors):
                raise SnapshotError(f"snapshot {self._path(kind)} is inconsistent")
            corpus.lexical.restore(tokens, meta["arrays"])
            corpus.tokens = tokens
            held = {int(i) for i in meta.get("applied", [])}
            applied = held if applied is None else applied & held  # applied in every kind's file
            corpora[kind] = corpus
            updated[kind] = float(meta.get("updated", 0.0))
            watermarks.append(int(meta.get("watermark", 0)))
        latest = db.session.scalar(sa.select(sa.func.max(IndexChange.id))) or 0
        if min(watermarks) > latest:
            raise SnapshotError("snapshot is ahead of the database's change log: it belongs to another database")
        self.corpora, self.facts, self.updated, self.watermark = corpora, facts, updated, min(watermarks)
        self.generation += 1
        # changes in the look-back window that the snapshot already holds: replaying them would redo their postings
        self._applied = {i for i in applied or () if self.watermark - LOOKBACK < i <= self.watermark}

    def _maybe_snapshot(self, force: bool = False) -> None:
        """Write a snapshot if it is due; never let a failed write break matching."""
        if force or time.monotonic() - self._last_snapshot > SNAPSHOT_INTERVAL:
            try:
                self.save_snapshot()
            except OSError as exc:  # a read-only data dir must not break matching
                log.warning("could not write the index snapshot: %s", exc)

    def status(self) -> dict[str, object]:
        """Return what the index holds, for `matchmaker index status`."""
        return {
            "fingerprint": self.fingerprint,
            "watermark": self.watermark,
            "demands": len(self.corpora["demand"]),
            "offerings": len(self.corpora["offering"]),
            "approximate": sorted(kind for kind, corpus in self.corpora.items() if corpus.vectors.approximate),
            "snapshot": str(self.snapshot_dir),
        }


def _facts(meta: dict) -> dict[int, PostingFacts]:
    """A snapshot's facts by posting id: rows under field names (or, written before, one object each)."""
    if "fact_rows" in meta:
        names, rows = meta["fact_fields"], meta["fact_rows"]
        arrays = meta.get("arrays", {})
        if "fact_text" in arrays:  # the texts beside the rows, in row order
            texts = _texts(arrays, len(rows))
            return {row[0]: PostingFacts(**dict(zip(names, row)), text=text) for row, text in zip(rows, texts)}
        return {row[0]: PostingFacts(**dict(zip(names, row))) for row in rows}
    return {int(k): PostingFacts(**v) for k, v in meta.get("facts", {}).items()}


def _text_arrays(facts: list[PostingFacts]) -> dict[str, np.ndarray]:
    """The postings' texts, in facts order, as one UTF-8 array and each text's length in bytes.

    Texts are most of a snapshot's metadata; as JSON strings they took about a second to parse at 100k.
    """
    encoded = [f.text.encode() for f in facts]
    return {
        "fact_text": np.frombuffer(b"".join(encoded), dtype=np.uint8),
        "fact_text_lengths": np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded)),
    }


def _texts(arrays: dict[str, np.ndarray], count: int) -> list[str]:
    """The texts _text_arrays stored."""
    lengths = arrays["fact_text_lengths"]
    if len(lengths) != count:
        raise IndexError(f"{len(lengths)} texts for {count} postings")
    raw = arrays["fact_text"].tobytes()
    ends = np.cumsum(lengths).tolist()
    if (ends[-1] if ends else 0) != len(raw):
        raise IndexError("the texts do not fill their array")
    return [raw[start:end].decode() for start, end in zip([0, *ends[:-1]], ends)]


def _fact_fields(meta: dict) -> set[str]:
    """The fact fields a snapshot stored (every row holds the same ones)."""
    if "fact_rows" in meta:
        return set(meta["fact_fields"])
    return set().union(*(v.keys() for v in meta.get("facts", {}).values()))


def _token_arrays(tokens: TokenStore) -> dict[str, np.ndarray]:
    """A corpus's tokens as a snapshot holds them: the posting ids, and their joined tokens as one UTF-8 array."""
    joined = tokens.joined()
    text = POSTING_SEPARATOR.join(joined.values()).encode()
    return {
        "token_ids": np.fromiter(joined, dtype=np.int64, count=len(joined)),
        "token_text": np.frombuffer(text, dtype=np.uint8),
    }


def _tokens(meta: dict) -> TokenStore:
    """A snapshot's tokens (as _token_arrays wrote them; in the JSON metadata in snapshots written before)."""
    arrays = meta["arrays"]
    if "token_ids" in arrays:
        ids = arrays["token_ids"].tolist()
        joined = arrays["token_text"].tobytes().decode().split(POSTING_SEPARATOR) if ids else []
        if len(joined) != len(ids):
            raise ValueError(f"{len(ids)} postings but {len(joined)} token strings")
        return TokenStore(zip(ids, joined))
    return TokenStore(
        {int(k): v if isinstance(v, str) else TOKEN_SEPARATOR.join(v) for k, v in meta.get("tokens", {}).items()}
    )


def _epoch(moment: datetime | None) -> float:
    """Return a moment as a UTC timestamp; SQLite hands timestamps back naive, in UTC."""
    if moment is None:
        return 0.0
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def embed_missing(
    encoder: Encoder,
    progress: Callable[[str], None] | None = None,
    batch_size: int = 64,
    skip: set[tuple[str, int]] = frozenset(),
) -> list[tuple[str, int]]:
    """Embed every published posting that lacks an embedding from this encoder, but the (kind, id) in skip.

    Returns the (kind, id) of the postings embedded.
    """
    embedded: list[tuple[str, int]] = []
    for kind, model in MODELS.items():
        stale = db.session.scalars(
            sa.select(model.id)
            .where(
                model.status == PostingStatus.PUBLISHED,
                sa.or_(
                    model.embedding.is_(None),
                    model.embedding_model.is_(None),
                    model.embedding_model != encoder.fingerprint,
                ),
            )
            .order_by(model.id)
        ).all()
        stale = [posting_id for posting_id in stale if (kind, posting_id) not in skip]
        for start in range(0, len(stale), batch_size):
            ids = stale[start : start + batch_size]
            batch = db.session.scalars(sa.select(model).where(model.id.in_(ids)).order_by(model.id)).all()
            vectors = encoder.encode([posting_text(p.title, p.description) for p in batch], kind="document")
            for posting, vector in zip(batch, vectors):
                posting.embedding, posting.embedding_model = vector.astype(np.float32).tobytes(), encoder.fingerprint
                db.session.add(IndexChange(posting_kind=kind, posting_id=posting.id))
            done = [(kind, posting.id) for posting in batch]
            db.session.commit()
            embedded += done
            if progress:
                progress(f"embedded {min(start + batch_size, len(stale))}/{len(stale)} {kind}s")
    return embedded


def _log_deletion(mapper, connection, posting) -> None:
    """Record a deleted posting in the change log, in the same transaction, so every index drops it."""
    connection.execute(
        sa.insert(IndexChange).values(posting_kind=posting.kind, posting_id=posting.id, created_at=sa.func.now())
    )


for _model in MODELS.values():
    sa.event.listen(_model, "after_delete", _log_deletion)


_engines: dict[tuple, MatchingEngine] = {}
_engines_lock = threading.Lock()


def get_engine(app, pending: set[tuple[str, int]] = frozenset()) -> MatchingEngine:
    """Return this process's engine for the app's model and data directory, started on first use.

    pending: (kind, id) of committed postings the caller embeds itself next; a start leaves them alone.

    Raises MatchingUnavailable while the model cannot be loaded; loading is retried every RETRY_SECONDS.
    An engine is kept only once it has started, so nothing is ever served from a half-loaded one.
    """
    key = engine_key(app)
    with _engines_lock:
        engine = _engines.get(key)
        if engine is None:
            engine = _engines[key] = _start_engine(app, key, pending)
    return engine


def app_encoder(app) -> Encoder:
    """Return the encoder the app's engine uses (loading it if needed), or raise MatchingUnavailable."""
    return _load_encoder(app, engine_key(app))


def _load_encoder(app, key: tuple) -> Encoder:
    """Load the app's encoder, or record why the model cannot be loaded and raise MatchingUnavailable."""
    model = app.config["MATCHMAKER_EMBEDDING_MODEL"]
    refuse_until_retry(key, model)
    try:
        return encoder_from_config(app.config)
    except Exception as exc:  # a missing path, a broken download, a missing library: all mean no matching
        raise record_failure(key, model, exc) from exc


def rebuild_engine(app, progress: Callable[[str], None] | None = None) -> dict[str, object]:
    """Rebuild this process's engine from the database and write its snapshot; return what rebuild() returns.

    An engine not started yet is started by that rebuild, so the index is built once.
    """
    key = engine_key(app)
    with _engines_lock:
        engine = _engines.get(key)
        if engine is not None:
            return engine.rebuild(progress=progress)
        engine = _start_engine(app, key, fresh=True, progress=progress)
        _engines[key] = engine
        return {"embedded": len(engine.backlog), **engine.status()}


def _start_engine(
    app,
    key: tuple,
    pending: set[tuple[str, int]] = frozenset(),
    fresh: bool = False,
    progress: Callable[[str], None] | None = None,
) -> MatchingEngine:
    """Load the encoder and start an engine, or record why the model cannot be loaded and raise."""
    model = app.config["MATCHMAKER_EMBEDDING_MODEL"]
    encoder = _load_encoder(app, key)
    set_search_threads(app.config["MATCHMAKER_FAISS_THREADS"])
    options = IndexOptions(app.config["MATCHMAKER_APPROXIMATE_INDEX_FROM"], app.config["MATCHMAKER_IVF_NPROBE"])
    engine = MatchingEngine(encoder, Path(app.config["DATA_DIR"]), options)
    engine.start(pending, fresh=fresh, progress=progress)
    record_success(key, model)
    return engine


def forget_engines() -> None:
    """Drop every process-wide engine and remembered failure (tests use this to simulate a fresh process)."""
    with _engines_lock:
        _engines.clear()
        forget_failures()
