"""`seed`: load the demonstration organizations, users, demands and offerings."""

from pathlib import Path

import click
from flask.cli import with_appcontext

from .. import SEED_DIR as DEFAULT_SEED_DIR


@click.command("seed")
@click.option(
    "--dir",
    "seed_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEFAULT_SEED_DIR,
    show_default=True,
    help="Folder holding organizations.json, users.json, demands.json, offerings.json.",
)
@with_appcontext
def seed_command(seed_dir: Path) -> None:
    """Load seed data; safe to run again, as rows that exist are left alone."""
    from ..seeding import SeedError, load_seed

    try:
        load_seed(seed_dir, echo=click.echo)
    except SeedError as error:
        raise click.ClickException(f"Nothing was loaded. {error}") from None
