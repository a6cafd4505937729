"""`expire` and `mail retry`: the match workflow's housekeeping, for cron or a person at a terminal."""

import click
from flask.cli import AppGroup, with_appcontext

from .. import mailer
from ..domain.workflow import expire_overdue


@click.command("expire")
@with_appcontext
def expire_command() -> None:
    """Expire introductions whose response deadline has passed."""
    count = expire_overdue()
    click.echo(f"Expired {count} introduction(s).")


mail_group = AppGroup("mail", help="Outbound email.")


@mail_group.command("retry")
@click.option(
    "--max-attempts",
    default=mailer.DEFAULT_MAX_ATTEMPTS,
    show_default=True,
    type=click.IntRange(1),
    help="Skip emails that already failed this many times.",
)
def mail_retry_command(max_attempts: int) -> None:
    """Send queued emails that have not gone out yet."""
    if not mailer.is_configured():
        raise click.ClickException("MATCHMAKER_MAIL_SERVER is not configured; nothing can be sent.")
    sent = mailer.deliver_pending(max_attempts=max_attempts)
    click.echo(f"Sent {sent} email(s).")
