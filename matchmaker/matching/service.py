"""The matching engine's database-facing API: index postings, propose matches, search."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from ..extensions import db
from ..models import Demand, IndexChange, Match, MatchStatus, Offering, PostingStatus
from ..vocabulary import POSTING_KINDS
from . import ahead
from .availability import MatchingUnavailable
from .encoder_process import EncoderProcessFailed
from .encoders import encoder_spec
from .engine import MODELS, app_encoder, get_engine
from .explain import explain
from .facts import PostingFacts, demand_facts, offering_facts
from .feedback import CHUNK, DeclineHistory
from .lexical import LexicalIndex
from .ranking import Candidate, FacetTable, RankingWeights
from .retrieval import rank
from .tagging import tag_scenarios, tag_text
from .text import detect_language, posting_text, tokenize
from .threads import thread_limit

log = logging.getLogger(__name__)
BUSY_STATES = (MatchStatus.INTRODUCED, MatchStatus.CONNECTED, MatchStatus.PILOT_STARTED)
REVERSE_POOL = 30  # demands considered when asking where a new offering ranks
BATCH = 256  # demands ranked together: one matrix search, one BM25 product, one write
# postings embedded, then written and committed, together: each encode waits for its slowest chunk, so a
# bigger batch leaves the encoder's threads idle less often (10,000 offerings: 256 took 10% longer than 1,024,
# which took 2% longer than 2,048); the last batch is written and indexed with no embedding beside it
INDEX_BATCH = 2048
AHEAD_FROM = 4096  # postings a bulk job must bring for a child encoder to be worth its start
WHOLE_TABLE_FROM = 32  # batches this big rank against the index's table of every offering


# -- facts ------------------------------------------------------------------
def _engine(pending: set[tuple[str, int]] = frozenset()):
    """Return this process's matching engine for the current app.

    pending: (kind, id) of committed postings the caller is about to embed; an engine starting now
    leaves them unembedded rather than embedding them twice.
    """
    return get_engine(current_app._get_current_object(), pending=pending)


def capacity_left(offering_ids: list[int], capacities: dict[int, int | None] | None = None) -> dict[int, int]:
    """Return each offering's capacity minus its engagements under way.

    capacities, if given, are the offerings' capacities as the index knows them (no query for them).
    """
    ids = list(dict.fromkeys(offering_ids))
    if capacities is None:
        capacities = {}
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start : start + CHUNK]
            capacities.update(
                db.session.execute(sa.select(Offering.id, Offering.capacity).where(Offering.id.in_(chunk))).all()
            )
    busy_query = sa.select(Match.offering_id, sa.func.count(Match.id)).where(Match.status.in_(BUSY_STATES))
    if len(ids) <= CHUNK:
        busy_query = busy_query.where(Match.offering_id.in_(ids))
    # many ids: one pass over the engagements under way, which are far fewer than the offerings
    busy = dict(db.session.execute(busy_query.group_by(Match.offering_id)).all())
    return {i: max(0, (capacities[i] or 0) - busy.get(i, 0)) for i in ids if i in capacities}


def _offerings_facts(ids: list[int]) -> dict[int, PostingFacts]:
    """Return indexed offerings' facts with their capacity left as of now."""
    cached = _engine().facts["offering"]
    left = capacity_left([i for i in ids if i in cached])
    return {i: replace(cached[i], capacity_left=left.get(i)) for i in ids if i in cached}


def _demands_facts(ids: list[int]) -> dict[int, PostingFacts]:
    """Return indexed demands' facts."""
    cached = _engine().facts["demand"]
    return {i: cached[i] for i in ids if i in cached}


def weights() -> RankingWeights:
    """Return the configured ranking weights."""
    return RankingWeights.from_config(current_app.config)


# -- indexing ---------------------------------------------------------------
def _reload_expired(batch: list[Demand | Offering]) -> None:
    """Refresh a batch's expired postings (each commit expires them) with one query per kind, not one each."""
    for model in (Demand, Offering):
        ids = [state.identity[0] for state in map(sa.inspect, batch) if state.expired and state.class_ is model]
        if ids:
            db.session.scalars(sa.select(model).where(model.id.in_(ids))).all()


def _texts(batch: list[Demand | Offering]) -> tuple[list[str], list[int]]:
    """Return a batch's texts and the positions of its published postings (read here, on the session's thread)."""
    _reload_expired(batch)
    texts = [posting_text(p.title, p.description) for p in batch]
    return texts, [i for i, p in enumerate(batch) if p.status is PostingStatus.PUBLISHED]


def index_postings(postings: list[Demand | Offering], progress: Callable[[str], None] | None = None) -> None:
    """Tag, embed and log changed postings so every process re-indexes them, and index them here, batch by batch.

    While one batch is tagged, written, committed and indexed (segmented for BM25), the next is embedded
    on another thread: the encoder's numpy work leaves the interpreter free for the rest of the pipeline.
    An engine that starts here leaves these postings to this loop rather than embedding them as missing,
    and starts while the first batch is embedded.
    """
    batches = [postings[start : start + INDEX_BATCH] for start in range(0, len(postings), INDEX_BATCH)]
    if not batches:
        return
    encoder = ahead.active() or app_encoder(current_app._get_current_object())

    def embed(texts: list[str], published: list[int]) -> np.ndarray:
        return encoder.encode([texts[i] for i in published], kind="document")

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="embed-next") as next_batch:
        current = _texts(batches[0])
        pending = next_batch.submit(embed, *current)
        engine = _engine(pending={(p.kind, _id_of(p)) for p in postings})
        done = 0
        for number, batch in enumerate(batches):
            (texts, published), vectors = current, pending.result()
            if number + 1 < len(batches):
                current = _texts(batches[number + 1])
                pending = next_batch.submit(embed, *current)
            _write_indexed(batch, texts, dict(zip(published, vectors)), engine.fingerprint)
            engine.sync()
            done += len(batch)
            if progress:
                progress(f"indexed {done}/{len(postings)}")


def _id_of(posting: Demand | Offering) -> int:
    """A stored posting's id, without loading the rest of an expired posting to read it."""
    identity = sa.inspect(posting).identity
    return identity[0] if identity else posting.id


def _write_indexed(
    batch: list[Demand | Offering], texts: list[str], vectors: dict[int, np.ndarray], fingerprint: str
) -> None:
    """Store a batch's language, tags and new embeddings and log each posting's change: one statement per kind.

    Bulk statements by primary key, not a unit-of-work flush of each object; the batch's postings are expired,
    so anything reading them next reads what was stored.
    """
    _reload_expired(batch)
    rows: dict[type, list[dict]] = {}
    for number, (posting, text) in enumerate(zip(batch, texts)):
        scenarios, industries = tag_text(text)
        row = {
            "id": posting.id,
            "language": posting.language or detect_language(text),
            "auto_scenarios": scenarios,
            "auto_industries": industries,
        }
        if number in vectors:  # re-embed every published posting: its text may have changed since
            row |= {"embedding": vectors[number].astype(np.float32).tobytes(), "embedding_model": fingerprint}
        rows.setdefault(type(posting), []).append(row)
    for model, values in rows.items():
        # rows with and without a new embedding set different columns: one statement for each shape
        for shape in {tuple(row) for row in values}:
            db.session.execute(sa.update(model), [row for row in values if tuple(row) == shape])
    db.session.execute(sa.insert(IndexChange), [{"posting_kind": p.kind, "posting_id": p.id} for p in batch])
    _commit_expiring(batch)


def _commit_expiring(objects: list) -> None:
    """Commit, and expire only these objects: nothing else in the session changed.

    A plain commit expires every object the session holds, so an import's batches would each expire (and
    then reload) all of its thousands of postings: quadratic work for nothing.
    """
    session = db.session()
    keep, session.expire_on_commit = session.expire_on_commit, False
    try:
        session.commit()
    finally:
        session.expire_on_commit = keep
    for item in objects:
        session.expire(item)


def published_demand_pages(size: int | None = None, forget: bool = False):
    """Yield the published demands in id order, a page at a time.

    With forget, the session lets go of everything it holds once a page is done, so memory stays bounded
    however many demands there are (for a command that owns its session, such as `match --all`).
    """
    last = 0
    while True:
        page = db.session.scalars(
            sa.select(Demand)
            .where(Demand.status == PostingStatus.PUBLISHED, Demand.id > last)
            .order_by(Demand.id)
            .limit(size or BATCH)
        ).all()
        if not page:
            return
        yield page
        last = page[-1].id
        if forget:
            db.session.expunge_all()


def propose_all(progress: Callable[[str], None] | None = None) -> int:
    """Propose the top offerings for every published demand; return how many proposals are new."""
    total, done, created = _published_demands(), 0, 0
    for page in published_demand_pages():
        created += len(propose_for_demands(page))
        done += len(page)
        if progress:
            progress(f"matched {done}/{total} demands, {created} new proposals")
    return created


def on_postings_saved(
    sender: object,
    postings: list[Demand | Offering],
    propose: bool = True,
    progress: Callable[[str], None] | None = None,
    **_: object,
) -> int:
    """Index committed postings in batches, then propose for the published ones; return how many are new.

    While the model cannot be loaded the postings stay saved, unembedded: the engine embeds them once it
    starts, and the next posting saved brings their proposals along.
    """
    try:
        index_postings(postings, progress=progress)
    except MatchingUnavailable as exc:
        log.warning("%d postings saved but not matched: %s", len(postings), exc)
        return 0
    return propose_for_changed([*postings, *_backlog()], progress=progress) if propose else 0


def on_postings_coming(sender: object, texts: list[str], **_: object) -> ahead.EmbedAhead | None:
    """Embed a bulk job's texts ahead in a child encoder process, when it brings enough and the encoder gains.

    Not in a process capped to fewer threads (a background job process): a child would take more cores.
    """
    if len(texts) < AHEAD_FROM or thread_limit() is not None:
        return None
    app = current_app._get_current_object()
    try:
        encoder = app_encoder(app)
    except MatchingUnavailable:
        return None  # the postings are saved unembedded, as without a child
    if not getattr(encoder, "holds_interpreter", False):
        return None
    try:
        return ahead.EmbedAhead(texts, encoder, encoder_spec(app.config), INDEX_BATCH)
    except EncoderProcessFailed as exc:
        log.warning("embedding in-process: %s", exc)
        return None


def _backlog() -> list[Demand | Offering]:
    """Return the postings this process's engine embedded at start, which nobody proposed for yet."""
    found = (db.session.get(MODELS[kind], posting_id) for kind, posting_id in _engine().take_backlog())
    return [posting for posting in found if posting is not None]


def propose_for_changed(postings: list[Demand | Offering], progress: Callable[[str], None] | None = None) -> int:
    """Propose matches for the published demands and offerings among postings; return how many are new."""
    for start in range(0, len(postings), 1000):
        _reload_expired(postings[start : start + 1000])
    published = [p for p in postings if p.status is PostingStatus.PUBLISHED]
    offerings = [p for p in published if p.kind == "offering"]
    if len(offerings) > 1 and len(offerings) * REVERSE_POOL >= _published_demands():
        # Ranking every demand once finds every pair a search from each offering would, and costs less.
        return propose_all(progress=progress)
    demands = [p for p in published if p.kind == "demand"]
    created, done = 0, 0
    for start in range(0, len(demands), BATCH):
        created += len(propose_for_demands(demands[start : start + BATCH]))
        done = min(start + BATCH, len(demands))
        if progress:
            progress(f"matched {done}/{len(published)} postings, {created} new proposals")
    for offering in offerings:
        created += len(propose_for_offering(offering))
        done += 1
        if progress and (done % 20 == 0 or done == len(published)):
            progress(f"matched {done}/{len(published)} postings, {created} new proposals")
    return created


def _published_demands() -> int:
    """Return how many demands are published."""
    return db.session.scalar(sa.select(sa.func.count(Demand.id)).where(Demand.status == PostingStatus.PUBLISHED))


# -- ranking ----------------------------------------------------------------
def _query_vectors(engine, postings: list) -> np.ndarray:
    """Return the vectors to search with: the stored ones unless the model wants a query prompt.

    Postings without a usable stored vector are encoded together, in one call.
    """
    config = current_app.config
    same_prompt = config["MATCHMAKER_QUERY_PROMPT"] == config["MATCHMAKER_DOCUMENT_PROMPT"]
    vectors = np.zeros((len(postings), engine.encoder.dimension), dtype=np.float32)
    encode = []
    for n, posting in enumerate(postings):
        if same_prompt and posting.embedding is not None and posting.embedding_model == engine.fingerprint:
            vectors[n] = engine.vector_of(posting)
        else:
            encode.append(n)
    if encode:
        texts = [posting_text(postings[n].title, postings[n].description) for n in encode]
        vectors[encode] = engine.encoder.encode(texts, kind="query")
    return vectors


def _query_vector(engine, posting) -> np.ndarray:
    """Return the vector to search with for one posting."""
    return _query_vectors(engine, [posting])[0]


@dataclass
class RankedDemand:
    """One demand's best offerings, with what their reasons are built from."""

    demand: Demand
    facts: PostingFacts
    tokens: list[str]
    top: list[Candidate]
    offerings: dict[int, PostingFacts]  # the candidates' facts, capacity left included
    lexical: LexicalIndex  # the offerings' keyword index, which knows the terms a pair shares

    def reasons(self, cand: Candidate) -> list[dict[str, Any]]:
        """Return the reasons for one of the ranked offerings."""
        terms = self.lexical.matched_terms(self.tokens, cand.id)
        return explain(self.facts, self.offerings[cand.id], cand.breakdown, terms)


def rank_demands(demands: list[Demand], k: int | None = None) -> list[RankedDemand]:
    """Rank the published offerings for each demand, best first (the best k if given), as one batch.

    The one ranking path: `match --all`, proposing for a page of demands, an import and a single demand
    (a batch of one) all come here. The batch shares one matrix search, one BM25 product, one read of the
    candidates' facts, capacity and decline history, and one read of the pairs people turned down; each
    demand's scores depend on that demand alone, so a demand ranks the same in any batch. Pairs people
    declined or rejected are left out.
    """
    engine = _engine()
    engine.sync()
    if not demands:
        return []
    queries = _Queries.of(engine, demands)
    return _rank_queries(engine, queries, engine.signals("offering", queries.vectors, queries.tokens), k)


def rank_demand_pages(pages: Iterable[list[Demand]], k: int | None = None) -> Iterator[list[RankedDemand]]:
    """Yield rank_demands(page, k) for each page in turn, the next page's search running beside this one's ranking.

    The search (faiss and the BM25 product) spends its time in C with the GIL released, while ranking
    and explaining a page is Python: a background thread searches for page n + 1 as this thread ranks
    page n, so a long batch such as `match --all` keeps both cores busy. Each demand ranks exactly as
    in rank_demands, which depends on the demand alone. The index is brought up to date once, at the
    start: the whole batch ranks against the offerings published by then.
    """
    engine = _engine()
    engine.sync()
    with ThreadPoolExecutor(1, thread_name_prefix="retrieval") as pool:
        held: tuple[_Queries, Future] | None = None
        for page in pages:
            queries = _Queries.of(engine, page)
            searching = pool.submit(engine.signals, "offering", queries.vectors, queries.tokens)
            if held is not None:
                yield _rank_queries(engine, held[0], held[1].result(), k)
            held = (queries, searching)
        if held is not None:
            yield _rank_queries(engine, held[0], held[1].result(), k)


@dataclass
class _Queries:
    """What a batch of demands searches with, read in the calling thread (it needs the database)."""

    demands: list[Demand]
    facts: list[PostingFacts]
    tokens: list[list[str]]
    vectors: np.ndarray

    @classmethod
    def of(cls, engine, demands: list[Demand]) -> _Queries:
        facts = [demand_facts(d) for d in demands]
        return cls(demands, facts, [_tokens_of(engine, f) for f in facts], _query_vectors(engine, demands))


def _rank_queries(engine, queries: _Queries, signals: list, k: int | None) -> list[RankedDemand]:
    """Rank a batch of demands from their search signals: facets, capacity, decline history, exclusions."""
    demands, facts, tokens = queries.demands, queries.facts, queries.tokens
    keywords = engine.corpora["offering"].lexical
    turned_down = _turned_down_pairs([d.id for d in demands])
    cached = engine.facts["offering"]
    union = [i for i in dict.fromkeys(i for dense, _ in signals for i in dense) if i in cached]
    left = capacity_left(union, {i: cached[i].capacity for i in union})
    if len(demands) >= WHOLE_TABLE_FROM:
        # a big batch: the index's table of every offering, built once while nothing changes
        table = engine.facet_table("offering")
        capacities = np.full(len(table.ids), np.nan)
        capacities[[table.row[i] for i in union if i in table.row]] = [left[i] for i in union if i in table.row]
    else:
        # a small one (one demand proposed from a web request): a table of its candidates alone
        table, capacities = FacetTable([cached[i] for i in union], left), None
    history = DeclineHistory(union, {i: cached[i].organization_id for i in union})
    ranking_weights = weights()
    ranked = []
    for demand, posting, words, (dense, lexical) in zip(demands, facts, tokens, signals):
        excluded = turned_down.get(demand.id, ())
        ids = [i for i in dense if i in table.row and i not in excluded]
        # no scenarios, or nobody turned these vendors down: no penalty, as for an id left out
        penalties = history.penalties(ids, posting.scenarios) if posting.scenarios and history.turned_down else {}
        rows = np.array([table.row[i] for i in ids], dtype=np.int64)
        top = table.rank(
            posting,
            rows,
            dense,
            lexical,
            ranking_weights,
            penalties,
            k,
            None if capacities is None else capacities[rows],
        )
        offerings = {c.id: replace(cached[c.id], capacity_left=left.get(c.id)) for c in top}
        ranked.append(RankedDemand(demand, posting, words, top, offerings, keywords))
    return ranked


def _tokens_of(engine, facts: PostingFacts) -> list[str]:
    """Return a demand's tokens: the index's own when it holds the same text, else freshly tokenized."""
    indexed = engine.facts["demand"].get(facts.id)
    if indexed is not None and indexed.text == facts.text:
        return engine.corpora["demand"].tokens[facts.id]
    return tokenize(facts.text)


def _turned_down_pairs(demand_ids: list[int]) -> dict[int, set[int]]:
    """Return, per demand, the offerings never to propose for it: declined or rejected pairs."""
    found: dict[int, set[int]] = {}
    for start in range(0, len(demand_ids), CHUNK):
        rows = db.session.execute(
            sa.select(Match.demand_id, Match.offering_id).where(
                Match.demand_id.in_(demand_ids[start : start + CHUNK]),
                Match.status.in_((MatchStatus.DECLINED, MatchStatus.REJECTED)),
            )
        )
        for demand_id, offering_id in rows:
            found.setdefault(demand_id, set()).add(offering_id)
    return found


def top_offerings(demand: Demand, k: int | None = None) -> list[Candidate]:
    """Return the demand's top-k offerings, leaving out pairs people already turned down."""
    return rank_demands([demand], k or current_app.config["MATCHMAKER_TOP_K"])[0].top


def propose_for_demand(demand: Demand, k: int | None = None) -> list[Match]:
    """Store the demand's top-k offerings that clear the minimum score as proposals; return the new ones."""
    return propose_for_demands([demand], k)


def propose_for_demands(demands: list[Demand], k: int | None = None) -> list[Match]:
    """Store each demand's top-k offerings that clear the minimum score as proposals; return the new ones.

    The demands are ranked as one batch (rank_demands) and their proposals written in one commit.
    """
    ranked = rank_demands(list(dict.fromkeys(demands)), k or current_app.config["MATCHMAKER_TOP_K"])
    floor = current_app.config["MATCHMAKER_MIN_SCORE"]
    kept = [(entry, cand) for entry in ranked for cand in entry.top if cand.score >= floor]
    return _store_proposals(_propose_pairs(kept))


def _store_proposals(rows: list[dict[str, Any]]) -> list[Match]:
    """Insert the proposal rows, skipping pairs that already have a match; commit them and any score refreshes.

    Two processes proposing the same pair at once (web workers and the job worker, a demand and an
    offering published together) both find it missing. The rows are inserted with ON CONFLICT DO NOTHING
    on the pair's unique key, so the pair another process stored first counts as already proposed: no
    error, the batch's other proposals stored, the session usable. Return the matches this call created.
    """
    inserted = _insert_new_pairs(rows) if rows else []
    created = _load_matches(inserted)
    db.session.commit()
    return created


def _insert_new_pairs(rows: list[dict[str, Any]]) -> list[int]:
    """Insert match rows, leaving alone each pair already in the table; return the new rows' ids."""
    table = Match.__table__
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:
        return _insert_pairs_one_by_one(rows)
    stmt = (
        insert(table)
        .on_conflict_do_nothing(index_elements=[table.c.demand_id, table.c.offering_id])
        .returning(table.c.id)
    )
    ids: list[int] = []
    for start in range(0, len(rows), CHUNK):
        ids.extend(db.session.execute(stmt, rows[start : start + CHUNK]).scalars())
    return ids


def _insert_pairs_one_by_one(rows: list[dict[str, Any]]) -> list[int]:
    """Insert each match row in its own savepoint; a pair stored meanwhile by another process is skipped.

    For databases without ON CONFLICT; tested on PostgreSQL (pysqlite's transactions break savepoints).
    """
    ids = []
    for row in rows:
        try:
            with db.session.begin_nested():
                ids.append(
                    db.session.execute(sa.insert(Match.__table__).returning(Match.__table__.c.id), row).scalar_one()
                )
        except IntegrityError:
            continue
    return ids


def _load_matches(ids: list[int]) -> list[Match]:
    """Return the matches with these ids, in this order."""
    found: dict[int, Match] = {}
    for start in range(0, len(ids), CHUNK):
        found.update(
            (m.id, m) for m in db.session.scalars(sa.select(Match).where(Match.id.in_(ids[start : start + CHUNK])))
        )
    return [found[i] for i in ids if i in found]


def _signals(engine, kind: str, vector: np.ndarray, tokens: list[str]) -> tuple[dict[int, float], dict[int, float]]:
    """Dense and lexical scores of one query against a kind's corpus, under the engine's lock: a sync another
    thread runs meanwhile must not change the faiss index or the BM25 model in the middle of the search."""
    return engine.signals(kind, vector.reshape(1, -1), [tokens])[0]


def propose_for_offering(offering: Offering, k: int | None = None) -> list[Match]:
    """Propose an offering to the published demands where it now ranks in the top k."""
    engine = _engine()
    engine.sync()
    facts = offering_facts(offering)
    signals = _signals(engine, "demand", _query_vector(engine, offering), tokenize(facts.text))
    nearby = rank(facts, signals, _demands_facts, weights().only("dense", "lexical", "scenario"))[:REVERSE_POOL]
    return _store_proposals(_propose_pairs(_where_it_ranks(offering, nearby, k)))


def _where_it_ranks(offering: Offering, nearby: list[Candidate], k: int | None) -> list[tuple[RankedDemand, Candidate]]:
    """Return the nearby demands whose top k hold the offering above the minimum score, with its ranking."""
    found = {d.id: d for d in db.session.scalars(sa.select(Demand).where(Demand.id.in_([c.id for c in nearby])))}
    # a demand deleted in bulk, behind the change log's back, is skipped
    demands = [found[c.id] for c in nearby if c.id in found]
    floor = current_app.config["MATCHMAKER_MIN_SCORE"]
    return [
        (entry, top)
        for entry in rank_demands(demands, k or current_app.config["MATCHMAKER_TOP_K"])
        for top in entry.top
        if top.id == offering.id and top.score >= floor
    ]


def _propose_pairs(pairs: list[tuple[RankedDemand, Candidate]]) -> list[dict[str, Any]]:
    """Return a proposal row for each ranked pair no match exists for; refresh a still-proposed row's score.

    The pairs' existing matches and offerings' owners are read in one query each, and reasons are built
    only for the pairs that are written.
    """
    if not pairs:
        return []
    demand_ids = list(dict.fromkeys(entry.demand.id for entry, _ in pairs))
    offering_ids = list(dict.fromkeys(cand.id for _, cand in pairs))
    existing: dict[tuple[int, int], Match | None] = {}
    owners: dict[int, int | None] = {}
    for start in range(0, len(demand_ids), CHUNK):
        for match in db.session.scalars(sa.select(Match).where(Match.demand_id.in_(demand_ids[start : start + CHUNK]))):
            existing[match.demand_id, match.offering_id] = match
    for start in range(0, len(offering_ids), CHUNK):
        chunk = offering_ids[start : start + CHUNK]
        owners.update(
            db.session.execute(sa.select(Offering.id, Offering.organization_id).where(Offering.id.in_(chunk))).all()
        )
    rows = []
    for entry, cand in pairs:
        demand = entry.demand
        if cand.id not in owners or owners[cand.id] == demand.organization_id:
            continue
        pair = demand.id, cand.id
        if pair in existing:
            match = existing[pair]
            if match is not None and match.status is MatchStatus.PROPOSED and match.source == "engine":
                match.score, match.breakdown, match.reasons = cand.score, cand.breakdown, entry.reasons(cand)
            continue
        # the row's other columns take their declared defaults
        rows.append(
            {
                "demand_id": demand.id,
                "offering_id": cand.id,
                "score": cand.score,
                "breakdown": cand.breakdown,
                "reasons": entry.reasons(cand),
                "source": "engine",
                "status": MatchStatus.PROPOSED,
            }
        )
        existing[pair] = None  # a pair ranked twice in one batch is written once
    return rows


def explain_pair(demand: Demand, offering: Offering, cand: Candidate) -> list[dict[str, Any]]:
    """Return the reasons for a ranked pair."""
    engine = _engine()
    d_facts = demand_facts(demand)
    o_facts = offering_facts(offering, capacity_left([offering.id]).get(offering.id))
    terms = engine.corpora["offering"].lexical.matched_terms(tokenize(d_facts.text), offering.id)
    return explain(d_facts, o_facts, cand.breakdown, terms)


# -- search -----------------------------------------------------------------
@dataclass
class SearchHit:
    """One posting found by free-text search."""

    kind: str
    posting: Demand | Offering
    score: float


def search(query: str, kinds: tuple[str, ...] = POSTING_KINDS, limit: int = 20) -> list[SearchHit]:
    """Return published postings that best fit a free-text query in any language."""
    engine = _engine()
    engine.sync()
    vector = engine.encoder.encode([query], kind="query")[0]
    tokens = tokenize(query)
    hits = []
    for kind in kinds:
        facts = PostingFacts(
            id=0,
            kind="offering" if kind == "demand" else "demand",
            text=query,
            language=detect_language(query),
            scenarios=tag_scenarios(query),
        )
        lookup = _demands_facts if kind == "demand" else _offerings_facts
        model = Demand if kind == "demand" else Offering
        signals = _signals(engine, kind, vector, tokens)
        ranked = rank(facts, signals, lookup, weights().only("dense", "lexical", "scenario"))[:limit]
        # One query for the hits and their organisations (the results page shows both), not one per hit.
        found = {
            posting.id: posting
            for posting in db.session.scalars(
                sa.select(model)
                .options(joinedload(model.organization))
                .where(model.id.in_([cand.id for cand in ranked]))
            )
        }
        for cand in ranked:
            posting = found.get(cand.id)
            # The index may still hold a row removed behind the change log (raw SQL, a restore): skip it.
            if posting is not None and posting.is_published:
                hits.append(SearchHit(kind, posting, cand.score))
    hits.sort(key=lambda h: -h.score)
    return hits[:limit]
