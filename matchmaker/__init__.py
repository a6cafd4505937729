"""Matchmaker: pair manufacturers' AI scenario demands with AI vendors' offerings."""

from pathlib import Path

from flask import Flask

from .config import load_config
from .settings import ConfigurationError

__all__ = ["ConfigurationError", "create_app"]

# Templates, seed data and migrations live inside the package so that a built wheel carries them.
PACKAGE_DIR = Path(__file__).resolve().parent
TEMPLATE_DIR = PACKAGE_DIR / "templates"
MIGRATIONS_DIR = PACKAGE_DIR / "migrations"
SEED_DIR = PACKAGE_DIR / "seed"


def create_app(test_config: dict | None = None) -> Flask:
    """Build the application from its named steps; raise ConfigurationError on a bad setting."""
    app = Flask(__name__, instance_relative_config=True, template_folder=str(TEMPLATE_DIR))
    load_config(app, test_config)
    register_security(app)
    register_extensions(app)
    register_blueprints(app)
    register_api(app)
    register_commands(app)
    register_errorhandlers(app)
    register_template_helpers(app)
    return app


def register_security(app: Flask) -> None:
    """Set the cookies' flags and the security headers every response carries."""
    from .security import init_security

    init_security(app)


def register_extensions(app: Flask) -> None:
    """Bind every extension to the app."""
    from . import models  # noqa: F401  (models must be known before migrations look)
    from .extensions import babel, csrf, db, limiter, login_manager, migrate
    from .i18n import select_locale
    from .sessions import load_user

    db.init_app(app)
    from .database import init_database

    init_database(app, db)
    migrate.init_app(app, db, directory=str(MIGRATIONS_DIR), render_as_batch=True, compare_type=True)
    csrf.init_app(app)
    limiter.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    login_manager.init_app(app)
    limiter.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.user_loader(load_user)
    _connect_matching()
    _connect_notifications()
    from . import jobs

    jobs.init_app(app)


def _connect_matching() -> None:
    """Let the matching engine re-index and propose whenever a posting is saved."""
    from .matching.service import on_postings_coming, on_postings_saved
    from .signals import postings_coming, postings_saved

    postings_saved.connect(on_postings_saved, weak=False)
    postings_coming.connect(on_postings_coming, weak=False)


def _connect_notifications() -> None:
    """Tell the people a match or membership step concerns, in the app and by email, whenever one is taken."""
    from .notifications.memberships import on_membership_changed
    from .notifications.messages import on_match_changed
    from .signals import match_changed, membership_changed

    match_changed.connect(on_match_changed, weak=False)
    membership_changed.connect(on_membership_changed, weak=False)


def register_blueprints(app: Flask) -> None:
    """Mount one blueprint per feature."""
    from .blueprints import BLUEPRINTS

    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)


def register_api(app: Flask) -> None:
    """Mount the JSON API v1 and its OpenAPI document."""
    from .api import init_api

    init_api(app)


def register_commands(app: Flask) -> None:
    """Add the project's CLI commands to `flask`/`matchmaker`."""
    from .cli import COMMANDS

    for command in COMMANDS:
        app.cli.add_command(command)


def register_errorhandlers(app: Flask) -> None:
    """Render errors as pages for browsers and as JSON for API clients."""
    from flask_wtf.csrf import CSRFError

    from .access import render_csrf_error, render_error
    from .faults import register_fault_handlers

    for code in (400, 401, 403, 404, 405, 409, 413, 415, 422, 429, 500):
        app.register_error_handler(code, render_error)
    app.register_error_handler(CSRFError, render_csrf_error)
    register_fault_handlers(app)


def register_template_helpers(app: Flask) -> None:
    """Expose taxonomy labels and small helpers to templates."""
    from .templating import init_templating

    init_templating(app)
