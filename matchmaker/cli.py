"""The `matchmaker` console script: a Flask CLI group over the app factory."""

from flask.cli import FlaskGroup

from . import create_app


def main() -> None:
    """Run the matchmaker command line."""
    FlaskGroup(create_app=create_app, name="matchmaker", help="Matchmaker: AI scenario demand and supply matching.")()
