"""Background jobs on huey: its queue lives in a SQLite file in the data directory, or in Redis when configured.

huey keeps an enqueued task until a consumer takes it, so a job enqueued while no consumer runs (or before
a restart) runs when one starts. A task taken and then lost with its process is another matter: each job's
row heartbeats while it runs, and `recover_stale_jobs` (at every consumer start, then every minute)
enqueues again the jobs whose heartbeat stopped. That is safe because an import writes all or nothing.

Who consumes is `MATCHMAKER_JOBS`:

- `process` (the default): a web process only enqueues. The first one to serve a request starts one
  `matchmaker worker --parent PID` child process (lowered priority, one thread per numeric library), so an
  import never competes with requests for the web process's interpreter lock. `matchmaker run` and
  `gunicorn wsgi:app` need nothing else. The child holds an exclusive lock on `jobs-worker.lock` in the
  data directory, so however many web processes race to start one, one consumes; each web process checks
  every few seconds that it still runs, and the child stops (after its running job) when its parent ends.
- `in-process`: worker threads inside the web process (the job shares the web process's CPU and GIL).
- `worker`: the web processes only enqueue; run `matchmaker worker` yourself (several may run).
- `immediate`: each job runs inside the call that enqueues it (tests).
"""

from __future__ import annotations

import fcntl
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from flask import Flask, current_app
from huey import RedisHuey, SqliteHuey, crontab
from huey.api import Huey
from huey.consumer import Consumer

QUEUE_NAME = "matchmaker"
QUEUE_FILE = "jobs.sqlite3"
IN_PROCESS_WORKERS = 2
WORKER_LOCK = "jobs-worker.lock"
WORKER_CHECK_SECONDS = 5.0  # how often a web process checks that the job worker process still runs
WORKER_START_SECONDS = 120.0  # a child not holding the lock yet may still be loading: start no second one
log = logging.getLogger(__name__)


class ThreadConsumer(Consumer):
    """A consumer started from a web process's thread: the web server, not huey, owns the signals."""

    def _set_signal_handlers(self):
        """Leave the process's signal handlers alone (they can only be set from the main thread)."""


def make_huey(app: Flask) -> Huey:
    """Return the app's huey, with the import task and the stale-job check registered on it."""
    immediate = app.config["MATCHMAKER_JOBS"] == "immediate"
    name = app.config.get("JOB_QUEUE_NAME", QUEUE_NAME)  # tests give each app its own queue
    if app.config["MATCHMAKER_REDIS_URL"]:
        huey = RedisHuey(name, url=app.config["MATCHMAKER_REDIS_URL"], immediate=immediate)
    else:
        huey = SqliteHuey(name, filename=str(Path(app.config["DATA_DIR"]) / QUEUE_FILE), immediate=immediate)

    def run_import(job_id: int) -> None:
        from .imports.tasks import run_job

        with app.app_context():
            run_job(job_id)

    def recover() -> None:
        with app.app_context():
            recover_stale_jobs()

    app.extensions["huey_tasks"] = {"import": huey.task(name="run_import")(run_import)}
    huey.periodic_task(crontab(minute="*"), name="recover_stale_jobs")(recover)
    return huey


def init_app(app: Flask) -> None:
    """Give the app its huey; start consumer threads (`in-process`) or a worker process (`process`) when needed."""
    app.extensions["huey"] = make_huey(app)
    if app.config["MATCHMAKER_JOBS"] == "process":
        checked = [0.0]

        @app.before_request
        def keep_worker_process() -> None:
            if time.monotonic() - checked[0] >= WORKER_CHECK_SECONDS:
                checked[0] = time.monotonic()
                ensure_worker_process(app)

        return
    if app.config["MATCHMAKER_JOBS"] != "in-process":
        return
    started = threading.Lock()

    @app.before_request
    def start_consumer_once() -> None:
        if not app.extensions.get("huey_consumer") and started.acquire(blocking=False):
            app.extensions["huey_consumer"] = start_consumer(app, ThreadConsumer)


def start_consumer(app: Flask, consumer_class: type[Consumer] = Consumer, workers: int = IN_PROCESS_WORKERS):
    """Re-queue jobs left running, then start a consumer of the app's queue; return it."""
    with app.app_context():
        recover_stale_jobs()
    consumer = consumer_class(app.extensions["huey"], workers=workers, worker_type="thread", periodic=True)
    consumer.start()
    return consumer


def worker_lock_path(app: Flask) -> Path:
    """Return the file the job worker process keeps locked while it runs."""
    return Path(app.config["DATA_DIR"]) / WORKER_LOCK


def hold_worker_lock(path: Path):
    """Take the worker lock without waiting; return its open file (keep it open to hold it), or None if taken."""
    handle = open(path, "a+")  # noqa: SIM115 - the caller keeps it open for as long as it holds the lock
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        return None
    return handle


def worker_process_running(app: Flask) -> bool:
    """Tell whether a job worker process holds this data directory's worker lock."""
    handle = hold_worker_lock(worker_lock_path(app))
    if handle is None:
        return True
    handle.close()  # closing releases the lock we just took
    return False


def worker_environment(app: Flask | None = None, threads: int = 1) -> dict[str, str]:
    """Return this process's environment for a worker of `app`: the same database, data directory and queue,
    and numeric libraries that load with `threads` threads each."""
    from .matching.threads import THREAD_VARIABLES

    environment = {**os.environ, **{name: str(threads) for name in THREAD_VARIABLES}, "MATCHMAKER_JOBS": "worker"}
    if app is not None:  # the app may have been configured in code rather than by the environment
        environment |= {
            "DATABASE_URL": str(app.config["SQLALCHEMY_DATABASE_URI"]),
            "MATCHMAKER_DATA_DIR": str(app.config["DATA_DIR"]),
            "MATCHMAKER_REDIS_URL": str(app.config["MATCHMAKER_REDIS_URL"] or ""),
        }
    return environment


_starting = threading.Lock()  # one thread of a web process at a time starts a worker


def ensure_worker_process(app: Flask) -> subprocess.Popen | None:
    """Start a `matchmaker worker` child of this process unless one already holds the worker lock; return it."""
    for earlier in app.extensions.get("huey_worker_processes", []):
        earlier.poll()  # reap children that stopped, so none is left a zombie
    if not _starting.acquire(blocking=False):
        return None  # another thread of this process is at it
    try:
        return _start_worker_process(app)
    finally:
        _starting.release()


def _start_worker_process(app: Flask) -> subprocess.Popen | None:
    """Start the worker child unless one holds the lock, or one this process started is still starting."""
    children = app.extensions.setdefault("huey_worker_processes", [])
    if worker_process_running(app) or any(
        child.poll() is None and time.monotonic() - getattr(child, "started_at", 0) < WORKER_START_SECONDS
        for child in children
    ):
        return None
    command = [sys.executable, "-m", "matchmaker.cli", "worker", "--parent", str(os.getpid()), "--exclusive"]
    log.info("starting the job worker process: %s", " ".join(command))
    child = subprocess.Popen(command, env=worker_environment(app), stdin=subprocess.DEVNULL)
    child.started_at = time.monotonic()
    children.append(child)
    return child


def stop_worker_processes(app: Flask, timeout: float = 30) -> None:
    """Stop the worker processes this process started for the app (each after its running job), and reap them."""
    for child in app.extensions.get("huey_worker_processes", []):
        if child.poll() is None:
            child.send_signal(signal.SIGINT)
            try:
                child.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()


def enqueue(task: str, *args) -> None:
    """Queue one of the app's tasks ("import") with its arguments (in `process` mode, making sure a worker runs)."""
    app = current_app._get_current_object()
    app.extensions["huey_tasks"][task](*args)
    if app.config["MATCHMAKER_JOBS"] == "process":
        ensure_worker_process(app)


def recover_stale_jobs() -> int:
    """Enqueue again the jobs whose heartbeat stopped (their process died); return how many."""
    from .imports.tasks import stale_jobs

    ids = stale_jobs()
    for job_id in ids:
        log.warning("re-queueing import job %s: it was left running", job_id)
        enqueue("import", job_id)
    return len(ids)
