"""`matchmaker worker`: consume the background job queue (imports) until interrupted."""

import os
import signal
import sys
import threading
import time

import click
from flask import current_app
from flask.cli import with_appcontext

PARENT_CHECK_SECONDS = 1.0


def _stop_when_parent_ends(parent: int) -> None:
    """Ask this process to stop gracefully (its running job first) once `parent` is no longer its parent."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_CHECK_SECONDS)
        os.kill(os.getpid(), signal.SIGINT)  # huey's graceful stop: running tasks finish, no new one starts

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


@click.command("worker")
@click.option("--workers", type=click.IntRange(1, 16), default=2, show_default=True, help="Worker threads.")
@click.option(
    "--threads",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    help="Threads each numeric library (BLAS, OpenMP, the encoder, faiss, ONNX Runtime, torch) may use.",
)
@click.option(
    "--nice",
    "niceness",
    type=click.IntRange(0, 19),
    default=10,
    show_default=True,
    help="How much to lower this process's priority, so web requests come first.",
)
@click.option("--parent", type=int, help="Stop (after the running job) when this process ends.")
@click.option("--exclusive", is_flag=True, help="Exit at once if another exclusive worker holds the data directory.")
@with_appcontext
def worker_command(workers: int, threads: int, niceness: int, parent: int | None, exclusive: bool) -> None:
    """Run queued jobs: first re-queue those a stopped process left running, then consume the queue."""
    from huey.consumer import Consumer

    from ..jobs import hold_worker_lock, recover_stale_jobs, worker_lock_path
    from ..matching.threads import limit_threads

    app = current_app._get_current_object()
    if app.config["MATCHMAKER_JOBS"] == "immediate":
        raise click.ClickException(
            "MATCHMAKER_JOBS=immediate runs jobs inside the request; there is no queue to consume."
        )
    lock = None
    if exclusive:
        lock = hold_worker_lock(worker_lock_path(app))
        if lock is None:
            click.echo("another job worker process holds this data directory; exiting", err=True)
            return
    if parent is not None:
        if os.getppid() != parent:
            click.echo(f"process {parent} has already ended; exiting", err=True)
            return
        _stop_when_parent_ends(parent)
    if niceness and sys.platform != "win32":
        os.nice(niceness)
    limit_threads(threads)
    click.echo(f"re-queued {recover_stale_jobs()} jobs left running", err=True)
    try:
        Consumer(app.extensions["huey"], workers=workers, worker_type="thread", periodic=True).run()
    finally:
        if lock is not None:
            lock.close()
