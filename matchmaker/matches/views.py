"""Match pages: each party sees its own matches, answers introductions and records outcomes.

Contact details of the other party appear only once the match is connected (`workflow.can_see_contacts`).
"""

import logging
import re
import time

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..access import login_required, wants_json
from ..domain import workflow
from ..domain.errors import DomainError, PermissionDenied, ValidationFailed
from ..extensions import db
from ..models import Demand, Match, MatchStatus, Offering, User

bp = Blueprint("matches", __name__, url_prefix="/matches")
log = logging.getLogger(__name__)

REVIEW_ACTIONS = ("shortlist", "reject", "introduce")


@bp.before_app_request
def expire_lazily() -> None:
    """Apply expiry at most once a minute per process, so pages never show a stale introduction."""
    if request.endpoint == "static":
        return
    state = current_app.extensions.setdefault("matchmaker.expiry", {"last": None})
    interval = float(current_app.config.get("MATCHMAKER_EXPIRY_CHECK_SECONDS", 60))
    now = time.monotonic()
    if state["last"] is not None and now - state["last"] < interval:
        return
    state["last"] = now
    try:
        workflow.expire_overdue()
    except Exception:  # expiry is housekeeping; the page asked for must still load
        db.session.rollback()
        log.exception("Applying match expiry failed")


# ---------------------------------------------------------------- reading


@bp.route("/")
@login_required
def index():
    """List the matches of the viewer's postings (all matches for curators), best score first."""
    user = _viewer()
    status = request.args.get("status", "")
    page = db.paginate(visible_matches(user, status), per_page=current_app.config["PER_PAGE"])
    if wants_json():
        return jsonify(
            matches=[match_json(match, user) for match in page.items],
            total=page.total,
            page=page.page,
            pages=page.pages,
        )
    return render_template(
        "matches/index.html",
        page=page,
        status=status,
        viewer=user,
        status_labels=workflow.STATUS_LABELS,
        party_side=workflow.party_side,
    )


@bp.route("/<int:match_id>")
@login_required
def detail(match_id: int):
    """Show one match to its two parties and to curators: why it fits, where it stands, what happened."""
    user = _viewer()
    match = _viewable_or_abort(match_id, user)
    if wants_json():
        return jsonify(match=match_json(match, user))
    return render_template(
        "matches/detail.html",
        match=match,
        viewer=user,
        side=workflow.party_side(user, match),
        contacts=visible_contacts(match, user),
        actions=workflow.available_actions(match, user),
        status_labels=workflow.STATUS_LABELS,
        decline_reasons=workflow.DECLINE_REASONS,
        reject_reasons=workflow.REJECT_REASONS,
        no_deal_reasons=workflow.NO_DEAL_REASONS,
        outcome_actions=workflow.OUTCOME_ACTIONS,
        transitions=workflow.TRANSITIONS,
        actor_label=actor_label,
        reason_label=workflow.reason_label,
    )


def visible_matches(user: User, status: str = "") -> sa.Select:
    """Return the query of matches the user may see: their organization's, or all for curators."""
    query = sa.select(Match).join(Demand, Match.demand_id == Demand.id).join(Offering, Match.offering_id == Offering.id)
    if not user.is_curator and user.organization_id is None:
        query = query.where(sa.false())
    elif not user.is_curator:
        query = query.where(
            sa.or_(Demand.organization_id == user.organization_id, Offering.organization_id == user.organization_id)
        )
    if status in {s.value for s in MatchStatus}:
        query = query.where(Match.status == MatchStatus(status))
    return query.order_by(Match.score.desc(), Match.id.desc())


def visible_contacts(match: Match, user: User) -> list[dict]:
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


def actor_label(event, viewer: User) -> str:
    """Name who took a step: curators by name for curators, parties by organization."""
    actor = event.actor
    if actor is None:
        return _("System")
    if actor.is_curator:
        return actor.name if viewer.is_curator else _("A curator")
    # The actor may have left the organisation since.
    organization = actor.organization.name if actor.organization else _("former member")
    return f"{organization} · {actor.name}" if viewer.is_curator else organization


def match_json(match: Match, viewer: User) -> dict:
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


def _posting_json(posting) -> dict:
    return {
        "id": posting.id,
        "title": posting.title,
        "organization": posting.organization.name,
        "scenarios": posting.all_scenarios,
    }


def _iso(moment) -> str | None:
    return moment.isoformat() if moment else None


# ---------------------------------------------------------------- answering


@bp.post("/<int:match_id>/accept")
@login_required
def accept(match_id: int):
    """Accept an introduction for the viewer's side."""
    return _act(match_id, "accept", _("You accepted this introduction."))


@bp.post("/<int:match_id>/decline")
@login_required
def decline(match_id: int):
    """Decline an introduction, with a reason from the list and a few words."""
    return _act(match_id, "decline", _("You declined this introduction. Thank you for the reason."))


@bp.post("/<int:match_id>/interest")
@login_required
def express_interest(match_id: int):
    """Express interest in a proposal directly; the other side is asked to accept."""
    return _act(match_id, "express_interest", _("We told the other side you are interested."))


@bp.post("/<int:match_id>/outcome")
@login_required
def outcome(match_id: int):
    """Record what came of a connection: a pilot, a contract, or no deal."""
    return _act(
        match_id, str(_payload().get("outcome") or ""), _("Outcome recorded."), allowed=workflow.OUTCOME_ACTIONS
    )


@bp.post("/<int:match_id>/review")
@login_required
def review(match_id: int):
    """Let a curator shortlist, reject or introduce a proposal from its page."""
    return _act(match_id, str(_payload().get("action") or ""), _("Match updated."), allowed=REVIEW_ACTIONS)


def _act(match_id: int, action: str, success: str, allowed: tuple = ()):
    """Apply an action for the viewer and answer with a redirect, or JSON for JSON clients."""
    user = _viewer()
    match = _viewable_or_abort(match_id, user)
    data = _payload()
    try:
        if allowed and action not in allowed:
            raise ValidationFailed(_("Choose one of: %(choices)s.", choices=", ".join(allowed)), field="action")
        workflow.apply(match, action, user, reason=str(data.get("reason") or ""), note=str(data.get("note") or ""))
    except DomainError as error:
        return _refused(match_id, error)
    if wants_json():
        return jsonify(match=match_json(match, user))
    flash(success, "success")
    return redirect(url_for(".detail", match_id=match_id))


def _refused(match_id: int, error: DomainError):
    """Turn a domain refusal into a JSON error, a 403 page, or a flash on the match page."""
    message = str(error.message)
    if wants_json():
        name = re.sub(r"(?<!^)(?=[A-Z])", "_", type(error).__name__).lower()
        return jsonify(error=name, message=message, field=error.field), error.status_code
    if isinstance(error, PermissionDenied):
        return render_template("errors/error.html", code=403, message=message), 403
    flash(message, "error")
    return redirect(url_for(".detail", match_id=match_id))


def _payload() -> dict:
    """Return the submitted fields, from a form or a JSON body."""
    if request.is_json:
        data = request.get_json(silent=True)
        return data if isinstance(data, dict) else {}
    return request.form


def _viewer() -> User:
    return current_user._get_current_object()


def _viewable_or_abort(match_id: int, user: User) -> Match:
    """Return the match if the user is one of its parties or a curator; 404 or 403 otherwise."""
    match = db.get_or_404(Match, match_id)
    if not (user.is_curator or workflow.party_side(user, match)):
        abort(403)
    return match
