"""Views for the landing page and the per-role dashboard."""

from flask import Blueprint, render_template
from flask_login import current_user

from ..access import login_required
from ..domain.dashboard import admin_summary, curation_summary, next_steps, postings_by_status, published_count
from ..domain.memberships import pending_join_request, pending_join_requests
from ..models import Demand, Offering, OrgKind
from ..vocabulary import ORG_KIND_LABELS, ROLE_LABELS

bp = Blueprint("main", __name__)


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
    context = {"kind_labels": ORG_KIND_LABELS, "role_labels": ROLE_LABELS}
    if user.organization_id is None:
        context["join_request"] = pending_join_request(user)
    else:
        context["waiting_to_join"] = len(pending_join_requests(user.organization_id))
    if user.kind is OrgKind.MANUFACTURER:
        context["demands"] = postings_by_status(Demand, user.organization_id)
        context["next_steps"], context["posting_list"] = next_steps(user, Demand), "demands.index"
    elif user.kind is OrgKind.VENDOR:
        context["offerings"] = postings_by_status(Offering, user.organization_id)
        context["next_steps"], context["posting_list"] = next_steps(user, Offering), "offerings.index"
    if user.is_curator:
        context["curation"] = curation_summary()
    if user.is_admin:
        context["administration"] = admin_summary()
    return render_template("main/dashboard.html", **context)
