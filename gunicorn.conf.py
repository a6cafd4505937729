"""gunicorn configuration for Matchmaker: `gunicorn -c gunicorn.conf.py wsgi:app` (read by default from the checkout).

Any of these can be overridden on the command line (`--workers 4`) or with GUNICORN_CMD_ARGS.

- One worker process per core: each holds its own search index, and ranking is CPU-bound under the GIL.
- A few threads per worker: a request mostly waits on the database or renders a template; four threads
  keep a core busy without many requests queuing behind one slow search. With PostgreSQL, keep
  `MATCHMAKER_DB_POOL_SIZE` (+ `MATCHMAKER_DB_MAX_OVERFLOW`) at least the thread count, and workers ×
  (pool size + overflow) below the server's `max_connections`.
- Each worker loads its index (snapshot or database), the encoder and the BM25 model before it takes its
  first request (`post_worker_init`), so nobody waits seconds for the first search of a fresh worker.
"""

import multiprocessing
import time

bind = "127.0.0.1:8000"
workers = min(multiprocessing.cpu_count(), 4)
worker_class = "gthread"
threads = 4
timeout = 120
graceful_timeout = 30
keepalive = 5
# A worker is replaced after this many requests (with jitter, so not all at once): bounds slow leaks.
max_requests = 20000
max_requests_jitter = 2000


def post_worker_init(worker):
    """Warm the worker up: build its engine and run one search of each kind before it serves."""
    app = worker.wsgi
    started = time.perf_counter()
    try:
        with app.app_context():
            from matchmaker.matching.warmup import warm_up

            warm_up(app)
    except Exception:  # the worker still serves; pages that search say what failed
        worker.log.exception("warming up failed")
    worker.log.info("worker %s warmed up in %.1f s", worker.pid, time.perf_counter() - started)
