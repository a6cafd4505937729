"""Matches over the API: list and read them, and take workflow steps.

`domain.matches` decides who sees which match and which contacts; `domain.workflow` who may take which
step from which state. Curators' private notes are shown to curators only, as on the curation pages.
"""

from __future__ import annotations

from typing import Any

from flask import abort

from ..domain import workflow
from ..domain.curation import notes_of
from ..domain.matches import can_view, match_json, visible_matches
from ..models import Match, User
from . import schemas
from .auth import current_api_user
from .common import WITH_BODY, api_blueprint, get_or_404, paged, refusals

bp = api_blueprint("matches", "/matches", "Proposed pairings of a demand and an offering, and where each stands.")


@bp.get("/")
@bp.arguments(schemas.MatchListArgs, location="query", as_kwargs=True)
@bp.response(200, schemas.MatchPage)
@refusals(bp, 422)
def index(page: int, limit: int, status: str, demand_id: int | None = None, offering_id: int | None = None):
    """List the matches of your organisation's postings (every match for curators), best score first.

    `status=proposed` lists the proposals still waiting for a curator.
    """
    user = current_api_user()
    query = visible_matches(user, status)
    if demand_id is not None:
        query = query.where(Match.demand_id == demand_id)
    if offering_id is not None:
        query = query.where(Match.offering_id == offering_id)
    result = paged(query, {"page": page, "limit": limit})
    result["items"] = [as_seen_by(match, user) for match in result["items"]]
    return result


@bp.get("/<int:match_id>")
@bp.response(200, schemas.Match)
@refusals(bp, 403, 404)
def detail(match_id: int):
    """Read one match: its two parties and curators may."""
    user = current_api_user()
    return as_seen_by(viewable(match_id, user), user)


@bp.post("/<int:match_id>/transitions")
@bp.arguments(schemas.TransitionRequest)
@bp.response(200, schemas.Match)
@refusals(bp, 403, 404, 409, *WITH_BODY)
def transition(body: dict, match_id: int):
    """Take a workflow step: `shortlist`, `reject`, `introduce`, `express_interest`, `accept`, `decline`,
    `pilot_started`, `contract_signed` or `no_deal`, as the match's `actions` allow you now.

    `decline`, `reject` and `no_deal` need a `reason`; the reason `other` needs a `note` too.
    """
    user = current_api_user()
    match = viewable(match_id, user)
    workflow.apply(match, body["action"], user, reason=body["reason"], note=body["note"])
    return as_seen_by(match, user)


def viewable(match_id: int, user: User) -> Match:
    """Return the match if the user is one of its parties or a curator; 404 or 403 otherwise."""
    match = get_or_404(Match, match_id)
    if not can_view(user, match):
        abort(403)
    return match


def as_seen_by(match: Match, user: User) -> dict[str, Any]:
    """Return the match as the user may see it, with the curators' notes for curators."""
    notes = notes_of(match) if user.is_curator else []
    return {
        **match_json(match, user),
        "notes": [{"author": note.author.name, "body": note.body, "created_at": note.created_at} for note in notes],
    }
