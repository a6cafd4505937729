"""Cap the threads of every numeric library in this process: a background job process takes one each."""

from __future__ import annotations

import os
import sys

THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS")
_limit: int | None = None


def thread_limit() -> int | None:
    """Return the cap limit_threads set in this process, or None if it set none."""
    return _limit


def limit_threads(threads: int) -> None:
    """Give BLAS, OpenMP, faiss, the USE encoder, ONNX Runtime and torch at most `threads` threads each."""
    from . import encoders, use_encoder
    from .vector_index import set_search_threads

    global _limit
    _limit = threads
    for name in THREAD_VARIABLES:  # for libraries (and child processes) that load later
        os.environ[name] = str(threads)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - comes with scikit-learn
        pass
    else:
        threadpool_limits(limits=threads)  # BLAS and OpenMP pools already loaded, for the rest of the process
    set_search_threads(threads)
    use_encoder.set_max_workers(threads)
    encoders.set_onnx_threads(threads)
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(threads)
