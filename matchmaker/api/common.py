"""What every API resource shares: its blueprint, the refusals it documents, paging, and looking rows up."""

from __future__ import annotations

from http import HTTPStatus

from flask import abort, current_app, request, url_for
from flask_smorest import Blueprint

from ..domain.errors import DomainError
from ..extensions import csrf, db, limiter
from .auth import check_request, rate_limit_key
from .errors import domain_error_response
from .schemas import MAX_ID

# Every operation may be refused for a missing token or too many requests.
ALWAYS = (401, 429)
# Operations that read a JSON body may also get one that is too large, unreadable or not JSON.
WITH_BODY = (400, 413, 415, 422)


# One budget of requests per caller across every resource of the API.
_rate_limit = limiter.shared_limit(
    lambda: current_app.config["MATCHMAKER_API_RATE_LIMIT"], scope="api", key_func=rate_limit_key
)


def api_blueprint(name: str, url_prefix: str, description: str) -> Blueprint:
    """Return a blueprint of the API under /api/v1: token-checked, rate-limited, free of CSRF, domain errors as JSON."""
    bp = Blueprint(f"api_{name}", __name__, url_prefix=f"/api/v1{url_prefix}", description=description)
    bp.before_request(check_request)
    bp.register_error_handler(DomainError, domain_error_response)
    csrf.exempt(bp)
    _rate_limit(bp)
    return bp


def refusals(bp: Blueprint, *codes: int):
    """Document the error responses an operation may give, besides those every operation may give."""

    def decorator(view):
        for code in sorted({*ALWAYS, *codes}):
            view = bp.alt_response(code, response=HTTPStatus(code).name)(view)
        return view

    return decorator


def get_or_404(model: type, id: int):
    """Return the row with this id, or answer 404."""
    row = db.session.get(model, id) if 0 < id <= MAX_ID else None
    if row is None:
        abort(404)
    return row


def paged(query, args: dict) -> dict:
    """Return one page of a select as the API lists it, with the address of the next page."""
    page = db.paginate(query, page=args["page"], per_page=args["limit"], max_per_page=args["limit"], error_out=False)
    following = None
    if page.has_next:
        params = {**request.view_args, **request.args.to_dict(), "page": page.page + 1, "limit": page.per_page}
        following = url_for(request.endpoint, **params, _external=True)
    return {"items": page.items, "page": page.page, "limit": page.per_page, "total": page.total, "next": following}
