"""`matchmaker worker`: consume the background job queue (imports) until interrupted."""

import click
from flask import current_app
from flask.cli import with_appcontext


@click.command("worker")
@click.option("--workers", type=click.IntRange(1, 16), default=2, show_default=True, help="Worker threads.")
@with_appcontext
def worker_command(workers: int) -> None:
    """Run queued jobs: first re-queue those a stopped process left running, then consume the queue."""
    from huey.consumer import Consumer

    from ..jobs import recover_stale_jobs

    app = current_app._get_current_object()
    if app.config["MATCHMAKER_JOBS"] == "immediate":
        raise click.ClickException(
            "MATCHMAKER_JOBS=immediate runs jobs inside the request; there is no queue to consume."
        )
    click.echo(f"re-queued {recover_stale_jobs()} jobs left running", err=True)
    Consumer(app.extensions["huey"], workers=workers, worker_type="thread", periodic=True).run()
