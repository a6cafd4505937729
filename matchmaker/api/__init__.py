"""The JSON API v1 under /api/v1: token-authenticated, rate-limited, described by an OpenAPI 3 document.

flask-smorest generates the document (/api/v1/openapi.json) from the marshmallow schemas the views read
and write with; /api/v1/docs shows it as a page.
"""

from __future__ import annotations

from flask import Flask
from flask_smorest import Api

from . import schemas

API_CONFIG = {
    "API_TITLE": "Matchmaker API",
    "API_VERSION": "v1",
    "OPENAPI_VERSION": "3.0.3",
    "OPENAPI_URL_PREFIX": "/api/v1",
    "OPENAPI_JSON_PATH": "openapi.json",
    "API_SPEC_OPTIONS": {
        "info": {
            "description": "Demands and offerings, their matches and the workflow between them. "
            "Send a token from /account/tokens as `Authorization: Bearer <token>`; a token acts with exactly "
            "its owner's rights. Errors always read "
            '`{"error": {"code": ..., "message": ..., "details": [{"field": ..., "message": ...}]}}`.'
        },
        "components": {"securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}}},
        "security": [{"bearerAuth": []}],
    },
}


class MatchmakerApi(Api):
    """flask-smorest's Api, documenting the project's error envelope and leaving error pages to the app."""

    ERROR_SCHEMA = schemas.Error
    # Each operation lists the refusals it may give; no catch-all "default" response hides a wrong one.
    DEFAULT_ERROR_RESPONSE_NAME = None

    def _register_error_handlers(self):
        """Register nothing: `access.render_error` answers API errors in the envelope and pages in HTML."""


def init_api(app: Flask) -> None:
    """Mount the API's resources and its documentation page."""
    from .docs import bp as docs_bp
    from .matches import bp as matches_bp
    from .postings import demands_bp, offerings_bp
    from .reference import bp as reference_bp

    for key, value in API_CONFIG.items():
        app.config.setdefault(key, value)
    # One Api per app: flask-smorest keeps the generated document on the Api object.
    api = MatchmakerApi(app)
    app.extensions["matchmaker.api"] = api
    for bp in (demands_bp, offerings_bp, matches_bp, reference_bp):
        api.register_blueprint(bp)
    app.register_blueprint(docs_bp)
