"""The `matchmaker` console script: a Flask CLI group over the app factory, and the project's commands."""

import sys

import click
from flask.cli import FlaskGroup

from .. import create_app
from ..settings import ConfigurationError
from .admin import create_admin_command
from .assign import assign_command
from .i18n import i18n_group
from .importing import import_command
from .jobs import worker_command
from .matching import eval_command, index_group, match_command
from .seed import seed_command
from .settings import settings_command
from .workflow import expire_command, mail_group

COMMANDS = [
    create_admin_command,
    seed_command,
    import_command,
    worker_command,
    match_command,
    index_group,
    eval_command,
    expire_command,
    mail_group,
    assign_command,
    settings_command,
    i18n_group,
]


def _create_app():
    """Build the app, or print why the configuration is refused and exit without a traceback."""
    try:
        return create_app()
    except ConfigurationError as error:
        click.secho(str(error), err=True, fg="red")
        sys.exit(2)


def main() -> None:
    """Run the matchmaker command line."""
    FlaskGroup(create_app=_create_app, name="matchmaker", help="Matchmaker: AI scenario demand and supply matching.")()
