"""Views for the landing page and the per-role dashboard."""

import sqlalchemy as sa
from flask import Blueprint, render_template
from flask_login import current_user

from ..access import login_required
from ..domain.accounts import KIND_LABELS, ROLE_LABELS, pending_curator_requests
from ..domain.memberships import pending_join_request, pending_join_requests
from ..extensions import db
from ..models import Demand, Match, MatchStatus, Offering, Organization, OrgKind, PostingStatus, Role, User

bp = Blueprint("main", __name__)

RECENT_LIMIT = 5


@bp.route("/")
def index():
    """Say what Matchmaker is and how much is on it."""
    return render_template(
        "main/index.html", demand_count=published_count(Demand), offering_count=published_count(Offering)
    )


@bp.route("/dashboard")
@login_required
def dashboard():
    """Show the signed-in person what needs their attention, by role."""
    user = current_user
    context = {"kind_labels": KIND_LABELS, "role_labels": ROLE_LABELS}
    if user.organization_id is None:
        context["join_request"] = pending_join_request(user)
    else:
        context["waiting_to_join"] = len(pending_join_requests(user.organization_id))
    if user.kind is OrgKind.MANUFACTURER:
        context["demands"] = postings_by_status(Demand, user.organization_id)
    elif user.kind is OrgKind.VENDOR:
        context["offerings"] = postings_by_status(Offering, user.organization_id)
    if user.is_curator:
        context["curation"] = curation_summary()
    if user.is_admin:
        context["administration"] = admin_summary()
    return render_template("main/dashboard.html", **context)


def published_count(model) -> int:
    """Return how many demands or offerings are published."""
    return db.session.scalar(sa.select(sa.func.count(model.id)).where(model.status == PostingStatus.PUBLISHED)) or 0


def postings_by_status(model, organization_id: int) -> dict[PostingStatus, list]:
    """Return an organisation's demands or offerings grouped by status, newest change first."""
    postings = db.session.scalars(
        sa.select(model).where(model.organization_id == organization_id).order_by(model.updated_at.desc())
    )
    grouped = {status: [] for status in PostingStatus}
    for posting in postings:
        grouped[posting.status].append(posting)
    return grouped


def curation_summary() -> dict:
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


def admin_summary() -> dict:
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
