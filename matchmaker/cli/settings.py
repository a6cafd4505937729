"""`matchmaker settings`: every declared setting with its value, where the value came from, and its meaning."""

import click
from flask import current_app
from flask.cli import with_appcontext

from ..config import setting_sources
from ..settings import SETTINGS, markdown_table


@click.command("settings")
@click.option("--markdown", is_flag=True, help="Print the README's Configuration table instead.")
@with_appcontext
def settings_command(markdown: bool) -> None:
    """Print each setting's value (secrets masked), its source and its description."""
    if markdown:
        click.echo(markdown_table())
        return
    sources = setting_sources(current_app)
    for setting in SETTINGS:
        value = current_app.config[setting.key]
        source = sources[setting.key]
        if source == "default" and setting.default is None:
            source = f"default: {setting.default_text}"
        click.echo(f"{setting.env} = {setting.shown(value)}  [{source}]")
        click.echo(f"    {setting.description}")
