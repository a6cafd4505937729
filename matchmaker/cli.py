"""The `matchmaker` console script: a Flask CLI group over the app factory."""

import sys

import click
from flask.cli import FlaskGroup

from . import create_app
from .settings import ConfigurationError


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
