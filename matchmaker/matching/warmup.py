"""Make a fresh web worker ready before it serves: its engine started, the encoder and BM25 models built.

Called by gunicorn's `post_worker_init` hook (gunicorn.conf.py); without it the first search in each
worker pays for loading the index and building the BM25 models, seconds at tens of thousands of postings.
"""

from __future__ import annotations

from .engine import get_engine
from .service import search


def warm_up(app) -> dict[str, int]:
    """Start this process's engine and run one search over every kind; return the indexed postings per kind."""
    engine = get_engine(app)
    search("warm up 预热 預熱")
    return {kind: len(corpus) for kind, corpus in engine.corpora.items()}
