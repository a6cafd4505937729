"""Views for administrators: the list of people, curator approvals, join requests and deactivation."""

from collections.abc import Callable

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm import joinedload

from ..access import admin_required
from ..domain import memberships
from ..domain.accounts import approve_curator, deactivate_user, pending_curator_requests, reactivate_user
from ..domain.errors import DomainError
from ..extensions import db
from ..models import JoinRequest, Organization, User
from ..organizations.forms import ActionForm
from ..vocabulary import ORG_KIND_LABELS, ROLE_LABELS

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.route("/")
@admin_required
def index():
    """List every person with their organisation and role, and the curator and join requests waiting."""
    users = db.session.scalars(
        sa.select(User)
        .outerjoin(User.organization)
        .options(joinedload(User.organization))
        .order_by(Organization.name.is_(None), Organization.name, User.email)
    ).all()
    return render_template(
        "admin/index.html",
        users=users,
        pending=pending_curator_requests(),
        join_requests=memberships.pending_join_requests(),
        action_form=ActionForm(),
        kind_labels=ORG_KIND_LABELS,
        role_labels=ROLE_LABELS,
    )


@bp.route("/curators/<int:user_id>/approve", methods=["POST"])
@admin_required
def approve(user_id: int):
    """Make an agency member a curator."""
    user = db.session.get(User, user_id) or abort(404)
    return _act(lambda: approve_curator(_viewer(), user), _("%(email)s is now a curator.", email=user.email))


@bp.post("/join-requests/<int:request_id>/approve")
@admin_required
def approve_join(request_id: int):
    """Let a person into the organisation they asked to join."""
    join_request = db.session.get(JoinRequest, request_id) or abort(404)
    user, organization = join_request.user, join_request.organization
    message = _("%(email)s is now a member of %(org)s.", email=user.email, org=organization.name)
    return _act(lambda: memberships.approve_join_request(_viewer(), join_request), message)


@bp.post("/join-requests/<int:request_id>/decline")
@admin_required
def decline_join(request_id: int):
    """Turn down a request to join an organisation."""
    join_request = db.session.get(JoinRequest, request_id) or abort(404)
    message = _("You declined the request from %(email)s.", email=join_request.user.email)
    return _act(lambda: memberships.decline_join_request(_viewer(), join_request), message)


@bp.post("/users/<int:user_id>/deactivate")
@admin_required
def deactivate(user_id: int):
    """Stop an account from signing in and end its sessions."""
    user = db.session.get(User, user_id) or abort(404)
    return _act(lambda: deactivate_user(_viewer(), user), _("%(email)s is deactivated.", email=user.email))


@bp.post("/users/<int:user_id>/reactivate")
@admin_required
def reactivate(user_id: int):
    """Let a deactivated account sign in again."""
    user = db.session.get(User, user_id) or abort(404)
    return _act(lambda: reactivate_user(_viewer(), user), _("%(email)s can sign in again.", email=user.email))


def _act(action: Callable[[], object], success: str):
    """Run an administrator's change posted with a valid form, flash the outcome and go back to the list."""
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        action()
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        flash(success, "success")
    return redirect(url_for("admin.index"))


def _viewer() -> User:
    """Return the signed-in user itself, not the proxy, for the domain layer."""
    return current_user._get_current_object()
