"""A faiss inner-product index whose ids are database primary keys, with atomic snapshots.

Below `IndexOptions.approximate_from` vectors the search is exact (a flat scan, the best a single
query can do up to ~100k rows). From that size on the index switches itself to an HNSW graph:
faiss's HNSW cannot remove vectors, so a replaced or removed posting leaves a tombstone that
searches skip, and the graph is rebuilt from its live rows once tombstones pass REBUILD_SHARE.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np

HNSW_M = 32  # neighbours per node
EF_CONSTRUCTION = 160  # faiss's default 40 gives recall@10 of about 0.64 at 1M vectors
REBUILD_SHARE = 0.1  # rebuild the graph once this share of its rows are tombstones
EXTRA = "x_"  # prefix of the arrays a snapshot holds for its caller (the BM25 state)


class SnapshotError(Exception):
    """A snapshot that is missing, corrupt, or made with another model."""


@dataclass(frozen=True)
class IndexOptions:
    """When the index turns approximate, and how hard an approximate search looks."""

    approximate_from: int = 500_000
    ef_search: int = 128


class _Graph:
    """An HNSW graph over rows, mapping rows to posting ids, with tombstones for removed rows."""

    def __init__(self, dimension: int, ef_search: int):
        self.index = faiss.IndexHNSWFlat(dimension, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        self.index.hnsw.efConstruction = EF_CONSTRUCTION
        self.ef_search = ef_search
        self.labels = np.zeros(0, dtype=np.int64)  # row -> posting id
        self.row_of: dict[int, int] = {}  # live posting id -> row
        self.dead: set[int] = set()
        self._alive = None  # the cached selector of live rows, and the bitmap it points into

    def __len__(self) -> int:
        return len(self.row_of)

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        self.remove(ids)
        start = int(self.index.ntotal)
        self.index.add(vectors)
        self.labels = np.concatenate([self.labels, ids])
        self.row_of.update(zip(ids.tolist(), range(start, start + len(ids))))
        self._alive = None

    def remove(self, ids) -> None:
        for posting_id in np.asarray(ids).tolist():
            row = self.row_of.pop(posting_id, None)
            if row is not None:
                self.dead.add(row)
                self._alive = None

    def stale(self) -> bool:
        """Whether tombstones have grown past the share that makes a rebuild worth it."""
        return len(self.dead) > REBUILD_SHARE * max(1, int(self.index.ntotal))

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        params = faiss.SearchParametersHNSW()
        params.efSearch = max(self.ef_search, k)
        if self.dead:
            params.sel = self._selector()
        scores, rows = self.index.search(queries, k, params=params)
        ids = np.where(rows >= 0, self.labels[np.maximum(rows, 0)], -1)
        return scores, ids

    def _selector(self):
        if self._alive is None:
            bits = np.ones(int(self.index.ntotal), dtype=bool)
            bits[list(self.dead)] = False
            bitmap = np.packbits(bits, bitorder="little")
            self._alive = (faiss.IDSelectorBitmap(len(bits), faiss.swig_ptr(bitmap)), bitmap)
        return self._alive[0]

    def contents(self) -> tuple[np.ndarray, np.ndarray]:
        """Return the live ids and their vectors."""
        ids = np.fromiter(self.row_of, dtype=np.int64, count=len(self.row_of))
        rows = np.fromiter(self.row_of.values(), dtype=np.int64, count=len(self.row_of))
        return ids, self.index.reconstruct_batch(rows) if len(rows) else np.zeros((0, self.index.d), np.float32)

    def vector(self, posting_id: int) -> np.ndarray:
        return self.index.reconstruct(self.row_of[posting_id])


def set_search_threads(threads: int) -> None:
    """Cap faiss's OpenMP threads: one per web worker, as two made a single 1M flat query slower."""
    faiss.omp_set_num_threads(threads)


class VectorIndex:
    """Cosine search over L2-normalised vectors: add, remove, search, save, load."""

    def __init__(self, dimension: int, options: IndexOptions | None = None):
        self.dimension = dimension
        self.options = options or IndexOptions()
        self._index = faiss.IndexIDMap2(faiss.IndexFlatIP(dimension))
        self._held: set[int] = set()  # the exact index's ids: faiss's remove_ids scans every row, even for none
        self._graph: _Graph | None = None

    @property
    def approximate(self) -> bool:
        """Whether searches go through the HNSW graph rather than an exact scan."""
        return self._graph is not None

    @property
    def tombstones(self) -> int:
        """Removed or replaced rows the graph still holds."""
        return len(self._graph.dead) if self._graph else 0

    def __len__(self) -> int:
        return len(self._graph) if self._graph else int(self._index.ntotal)

    def ids(self) -> set[int]:
        """Return the ids held."""
        return set(self._graph.row_of) if self._graph else set(self._held)

    def add(self, ids: list[int], vectors: np.ndarray) -> None:
        """Insert or replace the vectors for these ids."""
        if not len(ids):
            return
        ids = np.asarray(ids, dtype=np.int64)
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if self._graph:
            self._graph.add(ids, vectors)
            self._compact_if_stale()
            return
        self.remove(ids)
        self._index.add_with_ids(vectors, ids)
        self._held.update(ids.tolist())
        if len(self) >= self.options.approximate_from:
            self._rebuild()

    def remove(self, ids: list[int]) -> None:
        """Drop these ids if present."""
        if not len(ids):
            return
        if self._graph:
            self._graph.remove(ids)
            self._compact_if_stale()
            return
        present = [int(i) for i in ids if int(i) in self._held]
        if present:
            self._index.remove_ids(np.asarray(present, dtype=np.int64))
            self._held.difference_update(present)

    def _contents(self) -> tuple[np.ndarray, np.ndarray]:
        if self._graph:
            return self._graph.contents()
        ids = faiss.vector_to_array(self._index.id_map).astype(np.int64)
        return ids, faiss.downcast_index(self._index.index).reconstruct_n(0, len(ids))

    def _compact_if_stale(self) -> None:
        if self._graph.stale():
            self._rebuild()

    def _rebuild(self) -> None:
        """Rebuild from the live rows: a graph at or past the threshold, a flat index below it."""
        ids, vectors = self._contents()
        self._index = faiss.IndexIDMap2(faiss.IndexFlatIP(self.dimension))
        self._held, self._graph = set(), None
        if len(ids) >= self.options.approximate_from:
            self._graph = _Graph(self.dimension, self.options.ef_search)
            self._graph.add(ids, vectors)
        else:
            self._index.add_with_ids(vectors, ids)
            self._held = set(ids.tolist())

    def search(self, queries: np.ndarray, k: int) -> list[list[tuple[int, float]]]:
        """Return, per query, up to k (id, cosine) pairs, best first."""
        scores, ids = self.search_arrays(queries, k)
        return [
            [(int(i), float(s)) for i, s in zip(row_ids, row_scores) if i >= 0]
            for row_ids, row_scores in zip(ids, scores)
        ]

    def search_arrays(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Return the cosines and ids of each query's up to k nearest, best first, as (queries × k) arrays.

        A row shorter than k is padded with id -1.
        """
        k = min(k, len(self))
        if k == 0:
            empty = np.zeros((len(queries), 0))
            return empty.astype(np.float32), empty.astype(np.int64)
        queries = np.ascontiguousarray(queries, dtype=np.float32)
        return self._graph.search(queries, k) if self._graph else self._index.search(queries, k)

    def vectors(self, ids: list[int]) -> np.ndarray:
        """Return the stored vectors for these ids, in order."""
        if not ids:
            return np.zeros((0, self.dimension), dtype=np.float32)
        if self._graph:
            return np.vstack([self._graph.vector(int(i)) for i in ids])
        return self._index.reconstruct_batch(np.asarray(ids, dtype=np.int64))

    # -- snapshots --------------------------------------------------------
    def _arrays(self) -> dict[str, np.ndarray]:
        """The arrays a snapshot holds: the faiss index, and for a graph its row labels and tombstones."""
        if not self._graph:
            return {"index": faiss.serialize_index(self._index)}
        return {
            "index": faiss.serialize_index(self._graph.index),
            "labels": self._graph.labels,
            "dead": np.fromiter(sorted(self._graph.dead), dtype=np.int64, count=len(self._graph.dead)),
        }

    def save(self, path: Path, meta: dict, extra: dict[str, np.ndarray] | None = None) -> None:
        """Write the index, its metadata and the caller's extra arrays to one file atomically.

        The checksum covers the extra arrays too; `load` hands them back as meta["arrays"].
        """
        arrays = {**self._arrays(), **{EXTRA + name: array for name, array in (extra or {}).items()}}
        meta = {**meta, "dimension": self.dimension, "approximate": self.approximate, "sha256": _digest(arrays)}
        buffer = io.BytesIO()
        # UTF-8 bytes: a numpy str array would store 4 bytes a character and parse slowly
        np.savez(buffer, meta=np.frombuffer(json.dumps(meta, ensure_ascii=False).encode(), dtype=np.uint8), **arrays)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(buffer.getvalue())
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    @classmethod
    def load(cls, path: Path, fingerprint: str, options: IndexOptions | None = None) -> tuple[VectorIndex, dict]:
        """Read a snapshot, refusing one that is corrupt or made with another model."""
        try:
            # Member by member from the file, with no copy of the whole file in memory; our own handle, so
            # that it closes even when numpy gives up on a corrupt file.
            with open(path, "rb") as handle, np.load(handle, allow_pickle=False) as data:
                arrays = {name: data[name] for name in data.files if name != "meta"}
                stored_meta = data["meta"]
                text = stored_meta.tobytes().decode() if stored_meta.dtype == np.uint8 else str(stored_meta)
                meta = json.loads(text)
        except FileNotFoundError as exc:
            raise SnapshotError(f"no snapshot at {path}") from exc
        except Exception as exc:  # any unreadable file is a corrupt snapshot
            raise SnapshotError(f"corrupt snapshot {path}: {exc}") from exc
        if meta.get("fingerprint") != fingerprint:
            raise SnapshotError(f"snapshot made with {meta.get('fingerprint')}, not {fingerprint}")
        if "index" not in arrays or _digest(arrays) != meta.get("sha256"):
            raise SnapshotError(f"corrupt snapshot {path}: checksum mismatch")
        meta["arrays"] = {name.removeprefix(EXTRA): a for name, a in arrays.items() if name.startswith(EXTRA)}
        index = cls(int(meta["dimension"]), options)
        stored = faiss.deserialize_index(arrays.pop("index"))
        if meta.get("approximate"):
            graph = _Graph(index.dimension, index.options.ef_search)
            graph.index, graph.labels, graph.dead = stored, arrays["labels"], set(arrays["dead"].tolist())
            graph.row_of = {int(i): row for row, i in enumerate(graph.labels.tolist()) if row not in graph.dead}
            index._graph = graph
        else:
            index._index = stored
            index._held = set(faiss.vector_to_array(stored.id_map).tolist())
        if index.approximate != (len(index) >= index.options.approximate_from):
            index._rebuild()  # the threshold changed since the snapshot was written
        return index, meta


def _digest(arrays: dict[str, np.ndarray]) -> str:
    """SHA-256 over a snapshot's arrays, in name order."""
    digest = hashlib.sha256()
    for name in sorted(arrays):
        digest.update(name.encode())
        digest.update(np.ascontiguousarray(arrays[name]).data)  # the array's bytes, not a copy of them
    return digest.hexdigest()
