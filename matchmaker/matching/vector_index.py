"""A faiss inner-product index whose ids are database primary keys, with atomic snapshots.

Below `IndexOptions.approximate_from` vectors the search is exact (a flat scan, the best a single
query can do up to ~100k rows). From that size on the index switches itself to an inverted file
(faiss IVF-Flat): k-means splits the vectors into about sqrt(n) lists and a search scans only the
`nprobe` lists nearest the query, on the exact vectors. Unlike an HNSW graph, an inverted file removes
and replaces vectors in place, and it builds in seconds at 1M rows where a graph took most of an hour;
the lists are trained again whenever the index is rebuilt.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np

from .files import write_atomically

TRAINING_PER_LIST = 64  # k-means learns the lists from at most this many sampled vectors per list
EXTRA = "x_"  # prefix of the arrays a snapshot holds for its caller (the BM25 state)


class SnapshotError(Exception):
    """A snapshot that is missing, corrupt, or made with another model."""


@dataclass(frozen=True)
class IndexOptions:
    """When the index turns approximate, and how many of its lists an approximate search scans."""

    approximate_from: int = 500_000
    nprobe: int = 32


def _inverted_file(ids: np.ndarray, vectors: np.ndarray, nprobe: int) -> faiss.IndexIVFFlat:
    """Train an IVF-Flat index on a seeded sample of the vectors, then add them all under their ids."""
    dimension = vectors.shape[1]
    lists = max(1, round(math.sqrt(len(ids))))
    index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dimension), dimension, lists, faiss.METRIC_INNER_PRODUCT)
    index.cp.seed = 7  # the same vectors give the same lists
    index.cp.min_points_per_centroid = 1  # a small index (tests, a low threshold) trains without a warning
    sample = min(len(ids), lists * TRAINING_PER_LIST)
    rows = np.sort(np.random.default_rng(7).choice(len(ids), sample, replace=False))
    index.train(np.ascontiguousarray(vectors[rows]))
    index.set_direct_map_type(faiss.DirectMap.Hashtable)  # reconstruct and remove by posting id
    index.nprobe = min(nprobe, lists)
    index.add_with_ids(vectors, ids)
    return index


def set_search_threads(threads: int) -> None:
    """Cap faiss's OpenMP threads: one per web worker, as two made a single 1M flat query slower."""
    faiss.omp_set_num_threads(threads)


class VectorIndex:
    """Cosine search over L2-normalised vectors: add, remove, search, save, load."""

    def __init__(self, dimension: int, options: IndexOptions | None = None):
        self.dimension = dimension
        self.options = options or IndexOptions()
        self._index = faiss.IndexIDMap2(faiss.IndexFlatIP(dimension))
        self._held: set[int] = set()  # the ids held: faiss's remove_ids scans every row, even for none

    @property
    def approximate(self) -> bool:
        """Whether searches scan the nearest lists of an inverted file rather than every vector."""
        return isinstance(self._index, faiss.IndexIVF)

    def __len__(self) -> int:
        return len(self._held)

    def ids(self) -> set[int]:
        """Return the ids held."""
        return set(self._held)

    def add(self, ids: list[int], vectors: np.ndarray) -> None:
        """Insert or replace the vectors for these ids."""
        if not len(ids):
            return
        ids = np.asarray(ids, dtype=np.int64)
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self._drop(ids)  # a replaced vector goes first; the index is not rebuilt smaller on the way
        self._index.add_with_ids(vectors, ids)
        self._held.update(ids.tolist())
        if not self.approximate and len(self) >= self.options.approximate_from:
            self._rebuild()

    def remove(self, ids: list[int]) -> None:
        """Drop these ids if present; below the threshold the index is exact again."""
        if self._drop(ids) and self.approximate and len(self) < self.options.approximate_from:
            self._rebuild()

    def _drop(self, ids) -> bool:
        """Take these ids out of the index; return whether any was there."""
        present = [int(i) for i in np.asarray(ids).tolist() if int(i) in self._held]
        if present:
            self._index.remove_ids(np.asarray(present, dtype=np.int64))
            self._held.difference_update(present)
        return bool(present)

    def _contents(self) -> tuple[np.ndarray, np.ndarray]:
        """Return the ids held and their vectors."""
        ids = np.fromiter(self._held, dtype=np.int64, count=len(self._held))
        return ids, self.vectors(ids.tolist())

    def _rebuild(self) -> None:
        """Rebuild from the rows held: an inverted file trained afresh at or past the threshold, else flat."""
        ids, vectors = self._contents()
        if len(ids) >= self.options.approximate_from:
            self._index = _inverted_file(ids, vectors, self.options.nprobe)
        else:
            self._index = faiss.IndexIDMap2(faiss.IndexFlatIP(self.dimension))
            self._index.add_with_ids(vectors, ids)

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
        return self._index.search(queries, k)

    def vectors(self, ids: list[int]) -> np.ndarray:
        """Return the stored vectors for these ids, in order."""
        if not ids:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return self._index.reconstruct_batch(np.asarray(ids, dtype=np.int64))

    # -- snapshots --------------------------------------------------------
    def save(self, path: Path, meta: dict, extra: dict[str, np.ndarray] | None = None) -> None:
        """Write the index, its metadata and the caller's extra arrays to one file atomically.

        The checksum covers the extra arrays too; `load` hands them back as meta["arrays"].
        """
        held = np.fromiter(sorted(self._held), dtype=np.int64, count=len(self._held))
        arrays = {"index": faiss.serialize_index(self._index), "ids": held}
        arrays |= {EXTRA + name: array for name, array in (extra or {}).items()}
        meta = {**meta, "dimension": self.dimension, "approximate": self.approximate, "sha256": _digest(arrays)}
        # UTF-8 bytes: a numpy str array would store 4 bytes a character and parse slowly
        meta_bytes = np.frombuffer(json.dumps(meta, ensure_ascii=False).encode(), dtype=np.uint8)
        # straight into the file: a buffer of the whole snapshot, and its copy, would be held at once
        write_atomically(path, lambda handle: np.savez(handle, meta=meta_bytes, **arrays), durable=True)

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
        if not isinstance(stored, faiss.IndexIDMap2 | faiss.IndexIVFFlat) or "ids" not in arrays:
            raise SnapshotError(f"snapshot {path} was written by an older version (a {type(stored).__name__})")
        index._index, index._held = stored, set(arrays["ids"].tolist())
        if len(index._held) != stored.ntotal:
            raise SnapshotError(f"corrupt snapshot {path}: {len(index._held)} ids for {stored.ntotal} vectors")
        if index.approximate:
            stored.nprobe = min(index.options.nprobe, stored.nlist)
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
