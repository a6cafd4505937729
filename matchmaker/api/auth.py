"""Who is calling the API: a bearer token, never the session cookie; and what every API request must carry.

A request without a working token is refused with 401 before any view runs. Sessions and CSRF tokens
play no part: a browser's cookie does not open the API, and the API sets none.
"""

from __future__ import annotations

from flask import abort, g, request
from flask_limiter.util import get_remote_address

from ..domain.tokens import user_for_token
from ..models import User
from .errors import unauthorized

# A posting's description is free text; a megabyte holds far more than any real one.
MAX_BODY_BYTES = 1024 * 1024
_UNSET = object()


def api_user() -> User | None:
    """Return the user whose bearer token this request carries, or None; looked up once per request."""
    cached = g.get("api_user", _UNSET)
    if cached is not _UNSET:
        return cached
    scheme, _, secret = request.headers.get("Authorization", "").partition(" ")
    user = user_for_token(secret.strip()) if scheme.lower() == "bearer" else None
    g.api_user = user
    return user


def current_api_user() -> User:
    """Return the caller, whom `check_request` has already let in."""
    return g.api_user


def rate_limit_key() -> str:
    """Count requests per token owner, or per address for requests without a working token."""
    user = api_user()
    return f"user:{user.id}" if user is not None else f"address:{get_remote_address()}"


def check_request() -> None:
    """Refuse oversized bodies (413), callers without a working token (401) and bodies that are not JSON (415)."""
    request.max_content_length = MAX_BODY_BYTES
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        abort(413)
    if api_user() is None:
        raise unauthorized()
    if _has_body() and not request.is_json:
        abort(415)


def _has_body() -> bool:
    """Return whether the request carries a body, whatever it declares."""
    return bool(request.content_length) or request.headers.get("Transfer-Encoding", "").lower() == "chunked"
