"""The API's one error format: {"error": {"code", "message", "details"}}, for every refusal under /api/v1.

Domain refusals keep their own code and list each problem (field and message) in details; HTTP errors
(an unknown route, a wrong method, a body too large, too many requests) get a code and a message in the
reader's language; webargs' request checks become the same details list.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

import marshmallow as ma
from flask import jsonify
from flask_babel import lazy_gettext as _l
from werkzeug.datastructures import WWWAuthenticate
from werkzeug.exceptions import HTTPException, Unauthorized

from ..domain.errors import DomainError, FieldError, ValidationFailed
from ..extensions import db

# What each HTTP refusal is called in the format, and what it tells people.
HTTP_ERRORS = {
    400: ("bad_request", _l("The request could not be read: send a JSON object.")),
    401: ("unauthorized", _l("Send a valid API token in the header “Authorization: Bearer <token>”.")),
    403: ("forbidden", _l("You are not allowed to do this.")),
    404: ("not_found", _l("There is nothing at this address.")),
    405: ("method_not_allowed", _l("This address does not accept this method.")),
    409: ("conflict", _l("This conflicts with the current state of the resource.")),
    413: ("payload_too_large", _l("The request body is too large.")),
    415: ("unsupported_media_type", _l("Send the request body as JSON (Content-Type: application/json).")),
    422: ("validation_failed", _l("Some fields are not valid.")),
    429: ("too_many_requests", _l("Too many requests; wait a moment and try again.")),
    500: ("internal_error", _l("Something went wrong on our side; the request may not have been applied.")),
}

# webargs and marshmallow word their checks in English; these say the same in the reader's language. The
# required-field message is the domain's own, so the API and the web forms say the same about a blank field.
LIBRARY_MESSAGES = {
    "Missing data for required field.": _l("This field is required."),
    "Field may not be null.": _l("This field cannot be empty (null)."),
    "Unknown field.": _l("Unknown field."),
    "Not a valid string.": _l("Not a valid text."),
    "Not a valid integer.": _l("Not a valid whole number."),
    "Not a valid list.": _l("Not a valid list."),
    "Not a valid date.": _l("Not a valid date (YYYY-MM-DD)."),
    "Not a valid boolean.": _l("Not a valid true or false."),
    "Invalid input type.": _l("Send a JSON object."),
    "Invalid JSON body.": _l("The request could not be read: send a JSON object."),
}


def error_body(code: str, message: str, details: list[dict[str, str | None]] | None = None) -> dict[str, Any]:
    """Return the error envelope."""
    return {"error": {"code": code, "message": str(message), "details": details or []}}


def domain_error_response(error: DomainError):
    """Answer a domain refusal, leaving nothing of the refused request in the session: its kind, every problem."""
    db.session.rollback()
    status = 422 if isinstance(error, ValidationFailed) else error.status_code
    code = re.sub(r"(?<!^)(?=[A-Z])", "_", type(error).__name__).lower()
    return jsonify(error_body(code, error.message, [_detail(problem) for problem in error.errors])), status


def http_error_response(error: HTTPException):
    """Answer an HTTP error in the envelope; request checks by webargs list their field problems."""
    status = error.code or 500
    code, message = HTTP_ERRORS.get(status, (re.sub(r"\W+", "_", (error.name or "error").lower()), ""))
    messages = (getattr(error, "data", None) or {}).get("messages")
    details = list(_flatten(messages)) if isinstance(messages, Mapping) else []
    if status == 400 and details:  # a body webargs could not read at all: say so, not "some fields"
        message = details[0]["message"]
    response = jsonify(error_body(code, str(message or error.description or code), details))
    response.status_code = status
    for name, value in error.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value
    return response


def _detail(problem: FieldError) -> dict[str, str | None]:
    return {"field": problem.field, "message": str(problem.message)}


def _flatten(messages: Mapping, path: tuple[str, ...] = ()) -> Iterator[dict[str, str | None]]:
    """Yield webargs' nested {location: {field: [messages]}} as field/message pairs, dropping the location."""
    for key, value in messages.items():
        here = (*path, str(key)) if key != ma.utils.missing else path
        if isinstance(value, Mapping):
            yield from _flatten(value, here)
        else:
            for text in value if isinstance(value, list | tuple) else [value]:
                if isinstance(text, Mapping):
                    yield from _flatten(text, here)
                    continue
                field = ".".join(here[1:]) or None  # here[0] is the location: json, query or path
                if field == "_schema":
                    field = None
                yield {"field": field, "message": str(LIBRARY_MESSAGES.get(str(text), text))}


def unauthorized() -> HTTPException:
    """Return the 401 refusal, naming the scheme the client must use."""
    return Unauthorized(www_authenticate=WWWAuthenticate("bearer", {"realm": "matchmaker"}))
