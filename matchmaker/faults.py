"""What a request gets when something the app depends on is down: a clear 503, never a stack trace.

The database may be restarting, unreachable or out of connections. Each such request answers 503 with a
page in the reader's language (or a JSON error), and is logged; the connection pool checks connections
before use (`pool_pre_ping`), so the first request after the database is back is served without a restart.
"""

from __future__ import annotations

import logging

from flask import Flask, g, jsonify, render_template, request
from flask_babel import gettext as _
from sqlalchemy import exc

from .access import wants_json
from .extensions import db, login_manager

log = logging.getLogger(__name__)

# Errors that say the database cannot be reached or used right now, not that a query was wrong.
DATABASE_OUTAGES = (exc.OperationalError, exc.InterfaceError, exc.TimeoutError)
RETRY_AFTER_SECONDS = 30


def register_fault_handlers(app: Flask) -> None:
    """Answer database outages with 503."""
    for error in DATABASE_OUTAGES:
        app.register_error_handler(error, database_unavailable)


def database_unavailable(error: Exception):
    """Render a 503 for a request the database could not serve, and log what failed."""
    log.error("database unavailable during %s %s: %s", request.method, request.path, _summary(error))
    _forget_session()
    message = _("The database is not reachable right now. Nothing was changed; please try again in a minute.")
    if wants_json():
        body = {"error": {"code": "database_unavailable", "message": message, "details": {}}}
        response = jsonify(body)
    else:
        response = render_template("errors/unavailable.html", message=message)
    return response, 503, {"Retry-After": str(RETRY_AFTER_SECONDS)}


def _summary(error: Exception) -> str:
    """Return the driver's one-line reason, without the SQL or parameters."""
    reason = str(getattr(error, "orig", None) or error)
    return reason.strip().splitlines()[0] if reason.strip() else type(error).__name__


def _forget_session() -> None:
    """Drop the failed transaction, and render the page as for a visitor: loading the user needs the database."""
    try:
        db.session.rollback()
    except Exception:  # the connection is gone; the session is discarded at the end of the request anyway
        log.debug("rollback after a database outage failed", exc_info=True)
    g._login_user = login_manager.anonymous_user()
