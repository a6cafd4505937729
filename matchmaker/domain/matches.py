"""Who may see which match and which contact details, and how a match reads to each viewer.

Contact details of the other party appear only once the match is connected (`workflow.can_see_contacts`).
"""

from __future__ import annotations

from datetime import UTC
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import contains_eager

from ..models import Demand, Match, MatchEvent, MatchStatus, Offering, User
from . import postings, workflow


def can_view(user: User, match: Match) -> bool:
    """Return whether the user may see the match: one of its two parties, or a curator."""
    return user.is_curator or bool(workflow.party_side(user, match))


def matches_of_posting(user: User | None, posting: Demand | Offering) -> list[Match] | None:
    """Return a posting's matches if the user may see them (its organization and curators), else None."""
    if not (postings.is_owner(user, posting) or (user is not None and user.is_curator)):
        return None
    return postings.matches_of(posting)


def visible_matches(user: User, status: str = "", awaiting_answer: bool = False) -> sa.Select:
    """Return the query of matches the user may see, best score first: their organization's, or all for curators.

    With awaiting_answer, only the introductions the user's organization has not yet accepted or declined.
    """
    query = (
        sa.select(Match)
        .join(Demand, Match.demand_id == Demand.id)
        .join(Offering, Match.offering_id == Offering.id)
        # each row shows both postings and their organisations: loaded with the page, not one query per row
        .options(
            contains_eager(Match.demand).joinedload(Demand.organization),
            contains_eager(Match.offering).joinedload(Offering.organization),
        )
    )
    if not user.is_curator and user.organization_id is None:
        query = query.where(sa.false())
    elif not user.is_curator:
        query = query.where(
            sa.or_(Demand.organization_id == user.organization_id, Offering.organization_id == user.organization_id)
        )
    if status in {s.value for s in MatchStatus}:
        query = query.where(Match.status == MatchStatus(status))
    if awaiting_answer:
        query = query.where(Match.status == MatchStatus.INTRODUCED, _unanswered_by(user.organization_id))
    return query.order_by(Match.score.desc(), Match.id.desc())


def _unanswered_by(organization_id: int | None) -> sa.ColumnElement[bool]:
    """Match the introductions whose side of this organization still has to answer."""
    if organization_id is None:
        return sa.false()
    return sa.or_(
        sa.and_(Demand.organization_id == organization_id, Match.demand_response == workflow.PENDING),
        sa.and_(Offering.organization_id == organization_id, Match.offering_response == workflow.PENDING),
    )


def visible_contacts(match: Match, user: User) -> list[dict[str, str]]:
    """Return the contact details the user may see: the counterpart's, only once connected."""
    if not workflow.can_see_contacts(match):
        return []
    side = workflow.party_side(user, match)
    if side == "demand":
        orgs = [match.offering.organization]
    elif side == "offering":
        orgs = [match.demand.organization]
    else:
        orgs = [match.demand.organization, match.offering.organization] if user.is_curator else []
    return [
        {"organization": org.name, "email": org.contact_email, "phone": org.contact_phone, "website": org.website}
        for org in orgs
    ]


def actor_label(event: MatchEvent, viewer: User) -> str:
    """Name who took a step: curators by name for curators, parties by organization."""
    actor = event.actor
    if actor is None:
        return _("System")
    if actor.is_curator:
        return actor.name if viewer.is_curator else _("A curator")
    # The actor may have left the organisation since.
    organization = actor.organization.name if actor.organization else _("former member")
    return f"{organization} · {actor.name}" if viewer.is_curator else organization


def match_json(match: Match, viewer: User) -> dict[str, Any]:
    """Return the match as the viewer may see it; contacts are empty until connected."""
    return {
        "id": match.id,
        "status": match.status.value,
        "source": match.source,
        "score": match.score,
        "rank": match.rank,
        "breakdown": match.breakdown or {},
        "reasons": match.reasons or [],
        "demand": _posting_json(match.demand),
        "offering": _posting_json(match.offering),
        "demand_response": match.demand_response,
        "offering_response": match.offering_response,
        "introduced_at": _iso(match.introduced_at),
        "expires_at": _iso(match.expires_at),
        "your_side": workflow.party_side(viewer, match),
        "actions": workflow.available_actions(match, viewer),
        "contacts": visible_contacts(match, viewer),
        "events": [
            {
                "action": e.action,
                "from": e.from_status,
                "to": e.to_status,
                "reason": e.reason,
                "actor": actor_label(e, viewer),
                "at": _iso(e.created_at),
            }
            for e in match.events
        ],
    }


def _posting_json(posting: Demand | Offering) -> dict[str, Any]:
    """Return the public face of one side of a match."""
    return {
        "id": posting.id,
        "title": posting.title,
        "organization": posting.organization.name,
        "scenarios": posting.all_scenarios,
    }


def _iso(moment) -> str | None:
    """Return a timestamp in ISO 8601 with its offset, or None when unset; SQLite hands them back naive, in UTC."""
    if not moment:
        return None
    return (moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment).isoformat()
