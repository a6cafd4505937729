"""In-memory retrieval over one kind of posting: dense and lexical candidates, then fusion."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .facts import PostingFacts
from .lexical import LexicalIndex, TokenStore
from .ranking import Candidate, RankingWeights, fuse
from .vector_index import IndexOptions, VectorIndex

CANDIDATE_POOL = 200  # dense and lexical each nominate this many before fusion


class PostingCorpus:
    """The vectors and tokens of every indexed posting of one kind."""

    def __init__(self, kind: str, dimension: int, options: IndexOptions | None = None):
        self.kind = kind
        self.vectors = VectorIndex(dimension, options)
        self.lexical = LexicalIndex()
        self.tokens = TokenStore()

    def __len__(self) -> int:
        return len(self.vectors)

    def upsert(self, posting_id: int, vector: np.ndarray, tokens: list[str]) -> None:
        """Index or re-index one posting."""
        self.vectors.add([posting_id], vector.reshape(1, -1))
        self.lexical.add(posting_id, tokens)
        self.tokens[posting_id] = tokens

    def upsert_many(self, posting_ids: list[int], vectors: np.ndarray, tokens: list[list[str]]) -> None:
        """Index or re-index several postings at once: one faiss add for them all."""
        if not posting_ids:
            return
        self.vectors.add(posting_ids, vectors)
        for posting_id, words in zip(posting_ids, tokens):
            self.lexical.add(posting_id, words)
            self.tokens[posting_id] = words

    def remove(self, posting_id: int) -> None:
        """Take one posting out of the index."""
        self.vectors.remove([posting_id])
        self.lexical.remove(posting_id)
        self.tokens.pop(posting_id, None)

    def signals(
        self, vector: np.ndarray, tokens: list[str], pool: int = CANDIDATE_POOL
    ) -> tuple[dict[int, float], dict[int, float]]:
        """Return dense and lexical scores for the union of both signals' best candidates."""
        return self.signals_batch(vector.reshape(1, -1), [tokens], pool)[0]

    def signals_batch(
        self, vectors: np.ndarray, queries: list[list[str]], pool: int = CANDIDATE_POOL
    ) -> list[tuple[dict[int, float], dict[int, float]]]:
        """Return signals() for each query: one matrix search and one sparse BM25 product for the batch.

        The search only nominates candidates; each query's dense scores are then computed from its own
        vector and its candidates' alone, so a query scores the same whatever else is in its batch.
        """
        vectors = np.ascontiguousarray(np.asarray(vectors, dtype=np.float32).reshape(len(queries), -1))
        _, nominated = self.vectors.search_arrays(vectors, pool)
        lexical = self.lexical.scores_batch(queries, limit=pool)
        found = []
        for vector, near, words in zip(vectors, nominated.tolist(), lexical):
            ids = [i for i in near if i >= 0]
            held = set(ids)
            ids += [i for i in words if i not in held]
            cosines = self.vectors.vectors(ids) @ vector if ids else np.zeros(0, dtype=np.float32)
            found.append((dict(zip(ids, cosines.tolist())), words))
        return found


FactsLookup = Callable[[list[int]], dict[int, PostingFacts]]
PenaltyLookup = Callable[[list[int]], dict[int, float]]


def rank(
    query: PostingFacts,
    signals: tuple[dict[int, float], dict[int, float]],
    facts_for: FactsLookup,
    weights: RankingWeights,
    penalties_for: PenaltyLookup | None = None,
    exclude: set[int] = frozenset(),
) -> list[Candidate]:
    """Return the postings a corpus's signals (PostingCorpus.signals) found, ranked for the query posting, best first.

    The signals are taken, not computed here, so an engine can compute them under its lock (engine.signals).
    """
    dense, lexical = signals
    facts = facts_for([i for i in dense if i not in exclude])
    candidates = [facts[i] for i in dense if i in facts]
    penalties = penalties_for([c.id for c in candidates]) if penalties_for else None
    return fuse(query, candidates, dense, lexical, weights, penalties)
