"""Match pages: each party sees its own matches, answers introductions and records outcomes.

Who may see which match and which contact details is decided in `domain.matches`.
"""

import logging
import re
import time

from flask import Blueprint, abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..access import login_required, wants_json
from ..domain import workflow
from ..domain.errors import DomainError, PermissionDenied, ValidationFailed
from ..domain.matches import actor_label, can_view, match_json, visible_contacts, visible_matches
from ..extensions import db
from ..models import Match, User
from ..vocabulary import DECLINE_REASON_LABELS, MATCH_STATUS_LABELS, NO_DEAL_REASON_LABELS, REJECT_REASON_LABELS

bp = Blueprint("matches", __name__, url_prefix="/matches")
log = logging.getLogger(__name__)

REVIEW_ACTIONS = ("shortlist", "reject", "introduce")


@bp.before_app_request
def expire_lazily() -> None:
    """Apply expiry at most once a minute per process, so pages never show a stale introduction."""
    if request.endpoint == "static":
        return
    state = current_app.extensions.setdefault("matchmaker.expiry", {"last": None})
    interval = current_app.config["MATCHMAKER_EXPIRY_CHECK_SECONDS"]
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
    to_answer = request.args.get("to_answer") == "1"
    page = db.paginate(visible_matches(user, status, to_answer), per_page=current_app.config["PER_PAGE"])
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
        to_answer=to_answer,
        viewer=user,
        status_labels=MATCH_STATUS_LABELS,
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
        status_labels=MATCH_STATUS_LABELS,
        decline_reasons=DECLINE_REASON_LABELS,
        reject_reasons=REJECT_REASON_LABELS,
        no_deal_reasons=NO_DEAL_REASON_LABELS,
        outcome_actions=workflow.OUTCOME_ACTIONS,
        transitions=workflow.TRANSITIONS,
        actor_label=actor_label,
        reason_label=workflow.reason_label,
    )


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
    if not can_view(user, match):
        abort(403)
    return match
