"""A faiss inner-product index whose ids are database primary keys, with atomic snapshots."""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
from pathlib import Path

import faiss
import numpy as np


class SnapshotError(Exception):
    """A snapshot that is missing, corrupt, or made with another model."""


class VectorIndex:
    """Exact cosine search over L2-normalised vectors: add, remove, search, save, load."""

    def __init__(self, dimension: int):
        self.dimension = dimension
        self._index = faiss.IndexIDMap2(faiss.IndexFlatIP(dimension))

    def __len__(self) -> int:
        return int(self._index.ntotal)

    def ids(self) -> set[int]:
        """Return the ids held."""
        return set(faiss.vector_to_array(self._index.id_map).tolist())

    def add(self, ids: list[int], vectors: np.ndarray) -> None:
        """Insert or replace the vectors for these ids."""
        if not len(ids):
            return
        self.remove(ids)
        self._index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), np.asarray(ids, dtype=np.int64))

    def remove(self, ids: list[int]) -> None:
        """Drop these ids if present."""
        if len(ids):
            self._index.remove_ids(np.asarray(list(ids), dtype=np.int64))

    def search(self, queries: np.ndarray, k: int) -> list[list[tuple[int, float]]]:
        """Return, per query, up to k (id, cosine) pairs, best first."""
        k = min(k, len(self))
        if k == 0:
            return [[] for _ in range(len(queries))]
        scores, ids = self._index.search(np.ascontiguousarray(queries, dtype=np.float32), k)
        return [
            [(int(i), float(s)) for i, s in zip(row_ids, row_scores) if i >= 0]
            for row_ids, row_scores in zip(ids, scores)
        ]

    def vectors(self, ids: list[int]) -> np.ndarray:
        """Return the stored vectors for these ids, in order."""
        return np.vstack([self._index.reconstruct(int(i)) for i in ids]) if ids else np.zeros((0, self.dimension))

    def save(self, path: Path, meta: dict) -> None:
        """Write the index and its metadata to one file atomically."""
        blob = faiss.serialize_index(self._index).tobytes()
        meta = {**meta, "dimension": self.dimension, "sha256": hashlib.sha256(blob).hexdigest()}
        buffer = io.BytesIO()
        np.savez(buffer, index=np.frombuffer(blob, dtype=np.uint8), meta=np.array(json.dumps(meta)))
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
    def load(cls, path: Path, fingerprint: str) -> tuple[VectorIndex, dict]:
        """Read a snapshot, refusing one that is corrupt or made with another model."""
        try:
            raw = path.read_bytes()  # read whole, so a corrupt file never leaves a handle open
            with np.load(io.BytesIO(raw), allow_pickle=False) as data:
                blob, meta = data["index"].tobytes(), json.loads(str(data["meta"]))
        except FileNotFoundError as exc:
            raise SnapshotError(f"no snapshot at {path}") from exc
        except Exception as exc:  # any unreadable file is a corrupt snapshot
            raise SnapshotError(f"corrupt snapshot {path}: {exc}") from exc
        if meta.get("fingerprint") != fingerprint:
            raise SnapshotError(f"snapshot made with {meta.get('fingerprint')}, not {fingerprint}")
        if hashlib.sha256(blob).hexdigest() != meta.get("sha256"):
            raise SnapshotError(f"corrupt snapshot {path}: checksum mismatch")
        index = cls(int(meta["dimension"]))
        index._index = faiss.deserialize_index(np.frombuffer(blob, dtype=np.uint8))
        return index, meta
