"""`create-admin`: make the first administrator from the command line."""

import click
from flask.cli import with_appcontext

from ..domain.accounts import ADMIN_ORGANIZATION, create_admin
from ..domain.errors import DomainError


@click.command("create-admin")
@click.option("--email", prompt=True, help="The administrator's sign-in email.")
@click.option(
    "--password",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    help="At least 10 characters; prompted for (hidden, twice) if not given.",
)
@click.option(
    "--organization",
    default=ADMIN_ORGANIZATION,
    show_default=True,
    help="The agency organisation the administrator belongs to; created if missing.",
)
@with_appcontext
def create_admin_command(email: str, password: str, organization: str) -> None:
    """Create an administrator account."""
    try:
        user = create_admin(email, password, organization)
    except DomainError as error:
        raise click.ClickException(str(error.message)) from None
    click.echo(f"Created administrator {user.email} in {user.organization.name}.")
