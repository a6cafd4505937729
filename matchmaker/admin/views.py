"""Views for administrators: the list of people and curator approvals."""

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm import joinedload

from ..access import admin_required
from ..domain.accounts import approve_curator, pending_curator_requests
from ..domain.errors import DomainError
from ..extensions import db
from ..models import Organization, User
from ..vocabulary import ORG_KIND_LABELS, ROLE_LABELS

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.route("/")
@admin_required
def index():
    """List every person with their organisation and role, and the curator requests waiting."""
    users = db.session.scalars(
        sa.select(User)
        .join(User.organization)
        .options(joinedload(User.organization))
        .order_by(Organization.name, User.email)
    ).all()
    return render_template(
        "admin/index.html",
        users=users,
        pending=pending_curator_requests(),
        kind_labels=ORG_KIND_LABELS,
        role_labels=ROLE_LABELS,
    )


@bp.route("/curators/<int:user_id>/approve", methods=["POST"])
@admin_required
def approve(user_id: int):
    """Make an agency member a curator."""
    user = db.session.get(User, user_id) or abort(404)
    try:
        approve_curator(current_user, user)
    except DomainError as error:
        flash(error.message, "error")
    else:
        flash(_("%(email)s is now a curator.", email=user.email), "success")
    return redirect(url_for("admin.index"))
