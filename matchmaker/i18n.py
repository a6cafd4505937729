"""Locale selection for Flask-Babel."""

from flask import current_app, has_request_context, request
from flask_login import current_user


def select_locale() -> str:
    """Return the user's chosen locale, else the browser's best supported one."""
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():  # CLI commands and workers translate outside any request
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    chosen = getattr(current_user, "locale", "") if current_user and current_user.is_authenticated else ""
    if chosen in languages:
        return chosen
    return request.accept_languages.best_match(languages) or current_app.config["BABEL_DEFAULT_LOCALE"]
