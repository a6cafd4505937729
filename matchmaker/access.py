"""Who may do what: decorators for views, and error rendering that suits the client."""

from functools import wraps
from urllib.parse import urlsplit

from flask import jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.exceptions import HTTPException

from .models import OrgKind


def is_api_request() -> bool:
    """Return whether the request is for the JSON API, whose answers, errors included, are its own JSON."""
    return request.path.startswith("/api/")


def wants_json() -> bool:
    """Return whether the client asked for JSON rather than a page."""
    if is_api_request() or request.is_json:
        return True
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]


def deny():
    """Refuse the request: 403 for JSON clients and signed-in users, login redirect for anonymous pages."""
    if wants_json():
        return jsonify(error="forbidden", message="You are not allowed to do this."), 403
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login", next=_return_path()))
    return render_template("errors/error.html", code=403, message=None), 403


def _return_path() -> str | None:
    """Return where to go back to after login: this page, or for a form post the same-site page it came from."""
    if request.method == "GET":
        return request.full_path if request.query_string else request.path
    # A POST-only URL as `next` would answer 405 after login; go back to the page the form was on.
    referrer = urlsplit(request.referrer or "")
    if referrer.netloc == request.host and referrer.path.startswith("/"):
        return referrer.path + (f"?{referrer.query}" if referrer.query else "")
    return None


def safe_next(target: str | None) -> str:
    """Return target if it is a path on this site, else the dashboard."""
    if target and target.startswith("/") and "\\" not in target:
        parts = urlsplit(target)
        if parts.netloc == "" and parts.scheme == "":
            return target
    return url_for("main.dashboard")


def require(predicate):
    """Build a decorator that lets a request through only if predicate(current_user) holds."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated or not predicate(current_user):
                return deny()
            return view(*args, **kwargs)

        return wrapped

    return decorator


login_required = require(lambda user: True)
# Members of some organisation; people still waiting to join one see only what is public.
member_required = require(lambda user: user.organization_id is not None)
unaffiliated_required = require(lambda user: user.organization_id is None)
manufacturer_required = require(lambda user: user.kind is OrgKind.MANUFACTURER)
vendor_required = require(lambda user: user.kind is OrgKind.VENDOR)
curator_required = require(lambda user: user.is_curator)
admin_required = require(lambda user: user.is_admin)


def may_see_confidential(posting) -> bool:
    """Return whether the signed-in viewer may see a posting's confidential budget (`domain.postings` decides)."""
    from .domain.postings import can_see_budget

    user = current_user._get_current_object() if current_user and current_user.is_authenticated else None
    return can_see_budget(user, posting)


def render_error(error: HTTPException):
    """Render an HTTP error in the client's preferred form; under /api/ always in the API's error format."""
    if is_api_request():
        from .api.errors import http_error_response

        return http_error_response(error)
    code = getattr(error, "code", 500) or 500
    # A rate limit's or a size limit's own wording is not for people; the page says what to do.
    message = getattr(error, "description", "") if code not in (413, 429, 500) else ""
    if wants_json():
        return jsonify(error=getattr(error, "name", "error").lower().replace(" ", "_"), message=message), code
    return render_template("errors/error.html", code=code, message=message), code


def render_csrf_error(error: HTTPException):
    """Refuse a form sent without this site's token (stale, or from another site), saying what to do."""
    error.description = _(
        "This form has expired or was not sent from a page of this site. Reload the page and send it again."
    )
    return render_error(error)
