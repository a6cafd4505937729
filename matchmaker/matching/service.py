"""The matching engine's database-facing API: index postings, propose matches, search."""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..models import Demand, IndexChange, Match, MatchStatus, Offering, PostingStatus
from ..vocabulary import POSTING_KINDS
from .availability import MatchingUnavailable
from .engine import MODELS, get_engine
from .explain import explain
from .facts import PostingFacts, demand_facts, offering_facts
from .ranking import Candidate, RankingWeights
from .retrieval import rank
from .tagging import tag_scenarios, tag_text
from .text import detect_language, posting_text, tokenize

log = logging.getLogger(__name__)
BUSY_STATES = (MatchStatus.INTRODUCED, MatchStatus.CONNECTED, MatchStatus.PILOT_STARTED)
REVERSE_POOL = 30  # demands considered when asking where a new offering ranks


# -- facts ------------------------------------------------------------------
def _engine(pending: set[tuple[str, int]] = frozenset()):
    """Return this process's matching engine for the current app.

    pending: (kind, id) of committed postings the caller is about to embed; an engine starting now
    leaves them unembedded rather than embedding them twice.
    """
    return get_engine(current_app._get_current_object(), pending=pending)


def capacity_left(offering_ids: list[int]) -> dict[int, int]:
    """Return each offering's capacity minus its engagements under way."""
    busy = dict(
        db.session.execute(
            sa.select(Match.offering_id, sa.func.count(Match.id))
            .where(Match.offering_id.in_(offering_ids), Match.status.in_(BUSY_STATES))
            .group_by(Match.offering_id)
        ).all()
    )
    capacities = dict(
        db.session.execute(sa.select(Offering.id, Offering.capacity).where(Offering.id.in_(offering_ids))).all()
    )
    return {i: max(0, (capacities.get(i) or 0) - busy.get(i, 0)) for i in capacities}


def _offerings_facts(ids: list[int]) -> dict[int, PostingFacts]:
    """Return indexed offerings' facts with their capacity left as of now."""
    cached = _engine().facts["offering"]
    left = capacity_left([i for i in ids if i in cached])
    return {i: replace(cached[i], capacity_left=left.get(i)) for i in ids if i in cached}


def _demands_facts(ids: list[int]) -> dict[int, PostingFacts]:
    """Return indexed demands' facts."""
    cached = _engine().facts["demand"]
    return {i: cached[i] for i in ids if i in cached}


def _penalties(scenarios: list[str]):
    """Return a lookup of decline penalties for offerings on these scenarios."""
    from .feedback import decline_penalties

    return lambda ids: decline_penalties(ids, scenarios) if scenarios else {}


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


def index_postings(
    postings: list[Demand | Offering], progress: Callable[[str], None] | None = None, batch_size: int = 256
) -> None:
    """Tag, embed and log changed postings so every process re-indexes them, and index them here, batch by batch.

    While one batch is tagged, written, committed and indexed (segmented for BM25), the next is embedded
    on another thread: the encoder's numpy work leaves the interpreter free for the rest of the pipeline.
    An engine that starts here leaves these postings to this loop rather than embedding them as missing.
    """
    engine = _engine(pending={(p.kind, _id_of(p)) for p in postings})
    batches = [postings[start : start + batch_size] for start in range(0, len(postings), batch_size)]
    if not batches:
        return

    def embed(texts: list[str], published: list[int]) -> np.ndarray:
        return engine.encoder.encode([texts[i] for i in published], kind="document")

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="embed-ahead") as ahead:
        current = _texts(batches[0])
        pending = ahead.submit(embed, *current)
        done = 0
        for number, batch in enumerate(batches):
            (texts, published), vectors = current, pending.result()
            if number + 1 < len(batches):
                current = _texts(batches[number + 1])
                pending = ahead.submit(embed, *current)
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

    Bulk statements by primary key, not a unit-of-work flush of each object; the commit expires the objects,
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
    db.session.commit()


def propose_all(progress: Callable[[str], None] | None = None) -> int:
    """Propose the top offerings for every published demand; return how many proposals are new."""
    demands = db.session.scalars(
        sa.select(Demand).where(Demand.status == PostingStatus.PUBLISHED).order_by(Demand.id)
    ).all()
    created = 0
    for number, demand in enumerate(demands, 1):
        created += len(propose_for_demand(demand))
        if progress and (number % 20 == 0 or number == len(demands)):
            progress(f"matched {number}/{len(demands)} demands, {created} new proposals")
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
    created = 0
    for number, posting in enumerate(published, 1):
        propose = propose_for_demand if posting.kind == "demand" else propose_for_offering
        created += len(propose(posting))
        if progress and (number % 20 == 0 or number == len(published)):
            progress(f"matched {number}/{len(published)} postings, {created} new proposals")
    return created


def _published_demands() -> int:
    """Return how many demands are published."""
    return db.session.scalar(sa.select(sa.func.count(Demand.id)).where(Demand.status == PostingStatus.PUBLISHED))


# -- ranking ----------------------------------------------------------------
def _query_vector(engine, posting) -> np.ndarray:
    """Return the vector to search with: the stored one unless the model wants a query prompt."""
    config = current_app.config
    if (
        posting.embedding is not None
        and posting.embedding_model == engine.fingerprint
        and config["MATCHMAKER_QUERY_PROMPT"] == config["MATCHMAKER_DOCUMENT_PROMPT"]
    ):
        return engine.vector_of(posting)
    return engine.encoder.encode([posting_text(posting.title, posting.description)], kind="query")[0]


def rank_offerings(demand: Demand, exclude: set[int] = frozenset()) -> list[Candidate]:
    """Return published offerings ranked for a demand, best first."""
    engine = _engine()
    engine.sync()
    facts = demand_facts(demand)
    return rank(
        facts,
        _query_vector(engine, demand),
        tokenize(facts.text),
        engine.corpora["offering"],
        _offerings_facts,
        weights(),
        _penalties(facts.scenarios),
        exclude,
    )


def _excluded_offerings(demand: Demand) -> set[int]:
    """Return offerings never to propose for a demand: declined or rejected pairs."""
    return set(
        db.session.scalars(
            sa.select(Match.offering_id).where(
                Match.demand_id == demand.id, Match.status.in_((MatchStatus.DECLINED, MatchStatus.REJECTED))
            )
        )
    )


def top_offerings(demand: Demand, k: int | None = None) -> list[Candidate]:
    """Return the demand's top-k offerings, leaving out pairs people already turned down."""
    k = k or current_app.config["MATCHMAKER_TOP_K"]
    return rank_offerings(demand, _excluded_offerings(demand))[:k]


def propose_for_demand(demand: Demand, k: int | None = None) -> list[Match]:
    """Store the demand's top-k offerings that clear the minimum score as proposals; return the new ones."""
    floor = current_app.config["MATCHMAKER_MIN_SCORE"]
    return _store_proposals(lambda: [_propose(demand, c) for c in top_offerings(demand, k) if c.score >= floor])


def _store_proposals(make: Callable[[], list[Match | None]]) -> list[Match]:
    """Add the proposals make() returns and commit; return the new ones.

    Two processes proposing the same pair at once (a demand and an offering published together) both
    find it missing; the second commit breaks the pair's unique key. Its proposals are then made again,
    and find the pair the other process stored.
    """
    try:
        created = make()
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        created = make()
        db.session.commit()
    return [m for m in created if m is not None]


def propose_for_offering(offering: Offering, k: int | None = None) -> list[Match]:
    """Propose an offering to the published demands where it now ranks in the top k."""
    engine = _engine()
    engine.sync()
    facts = offering_facts(offering)
    nearby = rank(
        facts,
        _query_vector(engine, offering),
        tokenize(facts.text),
        engine.corpora["demand"],
        _demands_facts,
        weights().only("dense", "lexical", "scenario"),
    )[:REVERSE_POOL]
    return _store_proposals(lambda: [_propose(d, top) for d, top in _where_it_ranks(offering, nearby, k)])


def _where_it_ranks(offering: Offering, nearby: list[Candidate], k: int | None) -> list[tuple[Demand, Candidate]]:
    """Return the nearby demands whose top k hold the offering above the minimum score, with its ranking."""
    found = []
    for cand in nearby:
        demand = db.session.get(Demand, cand.id)
        if demand is None:  # deleted in bulk, behind the change log's back
            continue
        for top in top_offerings(demand, k):
            if top.id == offering.id and top.score >= current_app.config["MATCHMAKER_MIN_SCORE"]:
                found.append((demand, top))
    return found


def _propose(demand: Demand, cand: Candidate) -> Match | None:
    """Add a proposal row for a pair unless one exists; refresh a still-proposed row's score."""
    existing = db.session.scalar(sa.select(Match).where(Match.demand_id == demand.id, Match.offering_id == cand.id))
    offering = db.session.get(Offering, cand.id)
    if offering is None or offering.organization_id == demand.organization_id:
        return None
    reasons = explain_pair(demand, offering, cand)
    if existing is not None:
        if existing.status is MatchStatus.PROPOSED and existing.source == "engine":
            existing.score, existing.breakdown, existing.reasons = cand.score, cand.breakdown, reasons
        return None
    match = Match(
        demand_id=demand.id,
        offering_id=offering.id,
        score=cand.score,
        breakdown=cand.breakdown,
        reasons=reasons,
        source="engine",
        status=MatchStatus.PROPOSED,
    )
    db.session.add(match)
    return match


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
        for cand in rank(
            facts, vector, tokens, engine.corpora[kind], lookup, weights().only("dense", "lexical", "scenario")
        )[:limit]:
            posting = db.session.get(model, cand.id)
            # The index may still hold a row removed behind the change log (raw SQL, a restore): skip it.
            if posting is not None and posting.is_published:
                hits.append(SearchHit(kind, posting, cand.score))
    hits.sort(key=lambda h: -h.score)
    return hits[:limit]
