"""What the landing page and the per-role dashboard count and list."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from ..extensions import db
from ..models import Demand, Match, MatchStatus, Offering, Organization, OrgKind, PostingStatus, Role, User
from .accounts import pending_curator_requests
from .matches import visible_matches
from .memberships import pending_join_requests

RECENT_LIMIT = 5


def published_count(model: type) -> int:
    """Return how many demands or offerings are published."""
    return db.session.scalar(sa.select(sa.func.count(model.id)).where(model.status == PostingStatus.PUBLISHED)) or 0


def postings_by_status(
    model: type[Demand] | type[Offering], organization_id: int
) -> dict[PostingStatus, list[Demand | Offering]]:
    """Return an organisation's demands or offerings grouped by status, newest change first."""
    postings = db.session.scalars(
        sa.select(model).where(model.organization_id == organization_id).order_by(model.updated_at.desc())
    )
    grouped = {status: [] for status in PostingStatus}
    for posting in postings:
        grouped[posting.status].append(posting)
    return grouped


def next_steps(user: User, model: type[Demand] | type[Offering]) -> dict[str, int]:
    """Return what waits for a factory's or a vendor's organisation, counted.

    `proposals`: proposed pairings of its postings, for it to look at while a curator reviews them;
    `to_answer`: introductions its side has not yet accepted or declined; `drafts`: its postings not yet published.
    """
    if user.organization_id is None:
        return {"proposals": 0, "to_answer": 0, "drafts": 0}
    drafts = sa.select(sa.func.count(model.id)).where(
        model.organization_id == user.organization_id, model.status == PostingStatus.DRAFT
    )
    return {
        "proposals": _count(visible_matches(user, MatchStatus.PROPOSED.value)),
        "to_answer": _count(visible_matches(user, awaiting_answer=True)),
        "drafts": db.session.scalar(drafts) or 0,
    }


def curation_summary() -> dict[str, Any]:
    """Return what waits for curators: unmatched demands and proposals to review."""
    unmatched = sa.select(Demand).where(
        Demand.status == PostingStatus.PUBLISHED, ~sa.exists().where(Match.demand_id == Demand.id)
    )
    return {
        "published_demands": published_count(Demand),
        "published_offerings": published_count(Offering),
        "unmatched_count": db.session.scalar(sa.select(sa.func.count()).select_from(unmatched.subquery())) or 0,
        "unmatched": db.session.scalars(unmatched.order_by(Demand.published_at, Demand.id).limit(RECENT_LIMIT)).all(),
        "proposed_count": _match_count(MatchStatus.PROPOSED),
        "shortlisted_count": _match_count(MatchStatus.SHORTLISTED),
    }


def admin_summary() -> dict[str, Any]:
    """Return people counts by organisation kind and role, and the curator requests waiting."""
    by_kind = dict(
        db.session.execute(
            sa.select(Organization.kind, sa.func.count(User.id)).join(User.organization).group_by(Organization.kind)
        ).all()
    )
    by_role = dict(db.session.execute(sa.select(User.role, sa.func.count(User.id)).group_by(User.role)).all())
    return {
        "user_count": sum(by_role.values()),
        "by_kind": {kind: by_kind.get(kind, 0) for kind in OrgKind},
        "by_role": {role: by_role.get(role, 0) for role in Role},
        "pending": pending_curator_requests(),
        "join_requests": len(pending_join_requests()),
    }


def _match_count(status: MatchStatus) -> int:
    """Return how many matches are in a status."""
    return db.session.scalar(sa.select(sa.func.count(Match.id)).where(Match.status == status)) or 0


def _count(query: sa.Select) -> int:
    """Return how many rows a select would return."""
    return db.session.scalar(sa.select(sa.func.count()).select_from(query.order_by(None).subquery())) or 0
