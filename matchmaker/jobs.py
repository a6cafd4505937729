"""Background jobs on huey: its queue lives in a SQLite file in the data directory, or in Redis when configured.

huey keeps an enqueued task until a consumer takes it, so a job enqueued while no consumer runs (or before
a restart) runs when one starts. A task taken and then lost with its process is another matter: each job's
row heartbeats while it runs, and `recover_stale_jobs` (at every consumer start, then every minute)
enqueues again the jobs whose heartbeat stopped. That is safe because an import writes all or nothing.

Who consumes is `MATCHMAKER_JOBS`: `in-process` starts worker threads in the web process at its first
request (so `matchmaker run` needs nothing else), `worker` leaves it to `matchmaker worker`, and
`immediate` runs each job inside the call that enqueues it (tests).
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from flask import Flask, current_app
from huey import RedisHuey, SqliteHuey, crontab
from huey.api import Huey
from huey.consumer import Consumer

QUEUE_NAME = "matchmaker"
QUEUE_FILE = "jobs.sqlite3"
IN_PROCESS_WORKERS = 2
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
    """Give the app its huey, and in `in-process` mode start consumer threads at its first request."""
    app.extensions["huey"] = make_huey(app)
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


def enqueue(task: str, *args) -> None:
    """Queue one of the app's tasks ("import") with its arguments."""
    current_app.extensions["huey_tasks"][task](*args)


def recover_stale_jobs() -> int:
    """Enqueue again the jobs whose heartbeat stopped (their process died); return how many."""
    from .imports.tasks import stale_jobs

    ids = stale_jobs()
    for job_id in ids:
        log.warning("re-queueing import job %s: it was left running", job_id)
        enqueue("import", job_id)
    return len(ids)
