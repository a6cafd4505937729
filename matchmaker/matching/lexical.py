"""BM25 over normalised, segmented text (bm25s), rebuilt lazily after changes."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterable, Iterator, MutableMapping

import bm25s
import numpy as np
import scipy.sparse as sp

from .distinctive import distinctive_terms

VOCAB_SEPARATOR = "\x1f"  # tokens are Latin letters, digits, +.#- and CJK characters only
TOKEN_SEPARATOR = "\x1f"  # between the tokens of one posting


class TokenStore(MutableMapping):
    """Posting id -> its token list, held as one joined string per posting and split when asked for.

    At 100k postings a list per posting was most of the index's memory and most of a snapshot's load
    time; a string each is compact, and a start need not split 100k of them before the first match.
    Each lookup returns a new list, so callers may keep or change it.
    """

    __slots__ = ("_joined",)

    def __init__(self, joined: Iterable[tuple[int, str]] | dict[int, str] = ()):
        self._joined: dict[int, str] = dict(joined)

    def __getitem__(self, doc_id: int) -> list[str]:
        joined = self._joined[doc_id]
        return joined.split(TOKEN_SEPARATOR) if joined else []

    def __setitem__(self, doc_id: int, tokens: list[str]) -> None:
        self._joined[doc_id] = TOKEN_SEPARATOR.join(tokens)

    def __delitem__(self, doc_id: int) -> None:
        del self._joined[doc_id]

    def __contains__(self, doc_id: object) -> bool:
        return doc_id in self._joined

    def __iter__(self) -> Iterator[int]:
        return iter(self._joined)

    def __len__(self) -> int:
        return len(self._joined)

    def joined(self) -> dict[int, str]:
        """Each posting's tokens as one string joined by TOKEN_SEPARATOR (the store's own dict: do not change it)."""
        return self._joined

    def copy(self) -> TokenStore:
        """Another store over the same strings."""
        return TokenStore(self._joined)


class LexicalIndex:
    """Keyword relevance of postings to a query, keyed by database id."""

    def __init__(self):
        self._tokens = TokenStore()
        self._document_frequency: Counter[str] = Counter()
        self._ids: list[int] = []
        self._bm25: bm25s.BM25 | None = None
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._tokens)

    def add(self, doc_id: int, tokens: list[str]) -> None:
        """Insert or replace a posting's tokens."""
        with self._lock:
            self._forget(doc_id)
            self._tokens[doc_id] = tokens
            self._document_frequency.update(set(tokens))
            self._bm25 = None

    def remove(self, doc_id: int) -> None:
        """Drop a posting if present."""
        with self._lock:
            if self._forget(doc_id):
                self._bm25 = None

    def _forget(self, doc_id: int) -> bool:
        """Drop a posting's tokens and their document counts; return whether it was there."""
        old = self._tokens.pop(doc_id, None)
        if old is not None:
            self._document_frequency.subtract(set(old))
        return old is not None

    def _built(self) -> tuple[bm25s.BM25 | None, list[int]]:
        """Return an up-to-date BM25 model and the ids in its row order."""
        with self._lock:
            if self._bm25 is None and self._tokens:
                self._ids = list(self._tokens)
                model = bm25s.BM25()
                model.index([self._tokens[i] or [""] for i in self._ids], show_progress=False)
                self._bm25 = model
            return self._bm25, self._ids

    def state(self) -> dict[str, np.ndarray]:
        """Return the built BM25 model as arrays a snapshot can hold (building it if a change is pending)."""
        model, ids = self._built()
        if model is None:
            return {}
        vocab = sorted(model.vocab_dict, key=model.vocab_dict.__getitem__)
        if [model.vocab_dict[t] for t in (vocab[0], vocab[-1])] != [0, len(vocab) - 1]:
            return {}  # not numbered 0..n-1: nothing to restore from
        return {
            "bm25_data": model.scores["data"],
            "bm25_indices": model.scores["indices"],
            "bm25_indptr": model.scores["indptr"],
            "bm25_ids": np.asarray(ids, dtype=np.int64),
            "bm25_vocab": np.frombuffer(VOCAB_SEPARATOR.join(vocab).encode(), dtype=np.uint8),
        }

    def restore(self, tokens: TokenStore | dict[int, list[str]], state: dict[str, np.ndarray]) -> None:
        """Take postings' tokens and, if it was made from exactly these postings, the BM25 model state() gave.

        With the model restored, neither it nor the document frequencies are recomputed from the tokens:
        each term's document frequency is the number of postings its column of BM25 scores holds.
        """
        ids = state["bm25_ids"].tolist() if "bm25_ids" in state else None
        if ids is None or len(ids) != len(tokens) or set(ids) != set(tokens):
            for doc_id, words in tokens.items():
                self.add(doc_id, words)
            return
        vocab = state["bm25_vocab"].tobytes().decode().split(VOCAB_SEPARATOR)
        indptr = state["bm25_indptr"]
        model = bm25s.BM25()
        model.scores = {
            "data": state["bm25_data"],
            "indices": state["bm25_indices"],
            "indptr": indptr,
            "num_docs": len(ids),
        }
        model.vocab_dict = {token: number for number, token in enumerate(vocab)}
        model.unique_token_ids_set = set(range(len(vocab)))
        model.nonoccurrence_array = None  # the default (Lucene) BM25 has none
        frequencies = np.diff(indptr).tolist()
        with self._lock:
            self._tokens = tokens.copy() if isinstance(tokens, TokenStore) else TokenStore(_joined(tokens))
            self._document_frequency = Counter({t: n for t, n in zip(vocab, frequencies) if t and n})
            self._ids, self._bm25 = ids, model

    def scores(self, query_tokens: list[str], limit: int | None = None) -> dict[int, float]:
        """Return the BM25 score of the postings with a non-zero score, best first; the best `limit` if given."""
        return self.scores_batch([query_tokens], limit)[0]

    def scores_batch(self, queries: list[list[str]], limit: int | None = None) -> list[dict[int, float]]:
        """Return scores() for each query, from one sparse product of the queries with the BM25 matrix.

        A query's row of the product depends on that query alone, so a query scores the same in a batch
        of one as in a batch of many.
        """
        model, ids = self._built()
        if model is None:
            return [{} for _ in queries]
        rows, columns = [], []
        for row, tokens in enumerate(queries):
            known = [model.vocab_dict[t] for t in tokens if t in model.vocab_dict]
            rows += [row] * len(known)
            columns += known
        if not columns:
            return [{} for _ in queries]
        vocabulary = len(model.scores["indptr"]) - 1
        # Each token counts as often as the query repeats it, as in bm25s's own scoring.
        asked = sp.csr_matrix(
            (np.ones(len(columns), dtype=np.float32), (rows, columns)), shape=(len(queries), vocabulary)
        )
        index = sp.csr_matrix(
            (model.scores["data"], model.scores["indices"], model.scores["indptr"]),
            shape=(vocabulary, model.scores["num_docs"]),
        )
        product = (asked @ index).tocsr()
        found = []
        for row in range(len(queries)):
            start, end = product.indptr[row], product.indptr[row + 1]
            raw, docs = product.data[start:end], product.indices[start:end]
            hits = np.nonzero(raw > 0)[0]
            if limit is not None and len(hits) > limit:
                hits = hits[np.argpartition(-raw[hits], limit - 1)[:limit]]
            hits = hits[np.argsort(-raw[hits], kind="stable")]
            found.append({ids[docs[i]]: float(raw[i]) for i in hits})
        return found

    def matched_terms(self, query_tokens: list[str], doc_id: int) -> list[str]:
        """Return the query's distinctive terms that also occur in a posting, rarest first.

        Fragments, function words and terms found in most postings (e.g. 'ai', '系统') explain nothing.
        """
        doc = set(self._tokens.get(doc_id, ()))
        shared = [t for t in query_tokens if t in doc]
        return distinctive_terms(shared, self._document_frequency, len(self._tokens))


def _joined(tokens: dict[int, list[str]]) -> dict[int, str]:
    return {doc_id: TOKEN_SEPARATOR.join(words) for doc_id, words in tokens.items()}
