"""Pages for demands and offerings: list, post, read, edit, publish and close (after a confirmation page).

One `PostingViews` per kind, with its model, form and domain functions, fills that kind's blueprint
(`demands` under /demands, `offerings` under /offerings); the routes and templates are the same.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from .. import taxonomy
from ..access import login_required, manufacturer_required, vendor_required
from ..domain import postings
from ..domain.errors import DomainError, PermissionDenied, ValidationFailed
from ..domain.filters import POSTING_LIST_STATUSES, Filters, visible_postings_query
from ..domain.matches import matches_of_posting
from ..extensions import db
from ..forms import show_refusal
from ..models import Demand, Offering, PostingStatus, User
from ..vocabulary import DEPLOYMENT_LABELS, POSTING_STATUS_LABELS, REGION_LABELS, VOUCHER_LABELS
from .forms import DemandForm, OfferingForm, PostingForm


def viewer():
    """Return the signed-in user, or None for anonymous visitors."""
    return current_user._get_current_object() if current_user.is_authenticated else None


@dataclass(frozen=True)
class PostingViews:
    """The routes of one posting kind, parametrised by what differs between demands and offerings."""

    model: type[Demand] | type[Offering]
    form_class: type[PostingForm]
    # The input is the kind's own DemandInput or OfferingInput, as the form builds it.
    create: Callable[[User, Any], postings.Posting]
    update: Callable[[User, Any, Any, int | None], postings.Posting]
    poster_required: Callable[[Callable[..., Any]], Callable[..., Any]]

    def register(self, bp: Blueprint) -> None:
        """Add the routes to the blueprint."""
        bp.add_url_rule("/", "index", self.index)
        bp.add_url_rule("/new", "new", self.poster_required(self.new), methods=["GET", "POST"])
        bp.add_url_rule("/<int:id>", "detail", self.detail)
        bp.add_url_rule("/<int:id>/edit", "edit", login_required(self.edit), methods=["GET", "POST"])
        bp.add_url_rule("/<int:id>/publish", "publish", login_required(self.publish), methods=["POST"])
        # GET asks to confirm; only the confirmation page's form posts, so one stray click closes nothing.
        bp.add_url_rule("/<int:id>/close", "close", login_required(self.close), methods=["GET", "POST"])

    def index(self):
        """List published postings, or the viewer's own drafts or closed ones, filtered and paged."""
        filters = Filters.from_args(request.args, statuses=POSTING_LIST_STATUSES)
        query = visible_postings_query(self.model, filters, viewer())
        page = db.paginate(query, per_page=current_app.config["PER_PAGE"])
        return self.render("index.html", page=page, filters=filters)

    def new(self):
        """Post a new draft, publishing it at once if asked."""
        form = self.form_class()
        if self.validate(form, None):
            posting = self.save(form, lambda data: self.create(current_user, data))
            if posting is not None:
                return redirect(url_for(".detail", id=posting.id))
        return self.render("form.html", form=form, posting=None)

    def detail(self, id: int):
        """Show one posting to those who may see it."""
        posting = self.visible_or_404(id)
        return self.render(
            "detail.html",
            posting=posting,
            can_edit=postings.can_edit(viewer(), posting),
            is_owner=postings.is_owner(viewer(), posting),
            matches=matches_of_posting(viewer(), posting),
        )

    def edit(self, id: int):
        """Change a posting the viewer's organization owns."""
        posting = self.owned_or_abort(id)
        if posting.status is PostingStatus.CLOSED:
            flash(_("A closed posting can no longer be edited."), "error")
            return redirect(url_for(".detail", id=id))
        form = self.form_class.for_posting(posting)
        if self.validate(form, posting) and self.save(
            form, lambda data: self.update(current_user, posting, data, form.opened_version())
        ):
            return redirect(url_for(".detail", id=id))
        return self.render("form.html", form=form, posting=posting)

    def publish(self, id: int):
        """Publish a draft."""
        return self.transition(id, postings.publish, _("Published. The matching engine will propose partners."))

    def close(self, id: int):
        """Ask the owner to confirm closing a posting for good (GET), and close it (POST from that page)."""
        if request.method == "POST":
            return self.transition(id, postings.close, _("Closed."))
        posting = self.owned_or_abort(id)
        if posting.status is PostingStatus.CLOSED:
            flash(_("This posting is already closed."), "warning")
            return redirect(url_for(".detail", id=id))
        return self.render("close.html", posting=posting)

    # -------------------------------------------------------------- helpers

    def validate(self, form: PostingForm, current) -> bool:
        """Say whether a submitted form is well-formed; if not, add the domain's objections too, to show all at once."""
        if not form.is_submitted():
            return False
        if form.validate():
            return True
        try:
            postings.check_input(self.model, form.to_input(), current)
        except ValidationFailed as error:
            # A field the form already refused (a number that is not one, a choice not offered) says so once.
            fresh = [problem for problem in error.errors if not (problem.field in form and form[problem.field].errors)]
            if fresh:
                show_refusal(form, ValidationFailed(errors=fresh))
        return False

    def save(self, form: PostingForm, action: Callable[[Any], postings.Posting]) -> postings.Posting | None:
        """Run a create or update from the form; on refusal put the reason on the form and return None."""
        try:
            posting = action(form.to_input())
        except DomainError as error:
            db.session.rollback()
            show_refusal(form, error)
            return None
        if form.publish.data and posting.status is PostingStatus.DRAFT:
            self.transition(posting.id, postings.publish, _("Saved and published."))
        else:
            flash(_("Saved."), "success")
        return posting

    def transition(self, id: int, action: Callable[[User, postings.Posting], postings.Posting], message: str):
        """Apply a lifecycle step and return to the posting's page."""
        posting = self.owned_or_abort(id)
        try:
            action(current_user, posting)
        except PermissionDenied:
            abort(403)
        except DomainError as error:
            db.session.rollback()
            flash(error.message, "error")
        else:
            flash(message, "success")
        return redirect(url_for(".detail", id=id))

    def visible_or_404(self, id: int):
        """Return the posting if the viewer may see it; 404 hides drafts from everyone else."""
        posting = db.session.get(self.model, id)
        if posting is None or not postings.can_view(viewer(), posting):
            abort(404)
        return posting

    def owned_or_abort(self, id: int):
        """Return the posting if the viewer's organization owns it, else 404 or 403."""
        posting = self.visible_or_404(id)
        if not postings.is_owner(viewer(), posting):
            abort(403)
        return posting

    def render(self, template: str, **context):
        """Render one of the posting templates for this kind, with the shared choice labels."""
        return render_template(
            f"postings/{template}",
            kind=self.model.kind,
            status_labels=POSTING_STATUS_LABELS,
            deployment_labels=DEPLOYMENT_LABELS,
            voucher_labels=VOUCHER_LABELS,
            region_labels=REGION_LABELS,
            scenario_choices=taxonomy.scenario_choices(str(get_locale())),
            industry_choices=taxonomy.industry_choices(str(get_locale())),
            **context,
        )


def posting_blueprint(name: str, views: PostingViews) -> Blueprint:
    """Return a blueprint mounted at /<name> that serves one kind's views."""
    bp = Blueprint(name, __name__, url_prefix=f"/{name}")
    views.register(bp)
    return bp


demands_bp = posting_blueprint(
    "demands",
    PostingViews(
        model=Demand,
        form_class=DemandForm,
        create=postings.create_demand,
        update=postings.update_demand,
        poster_required=manufacturer_required,
    ),
)
offerings_bp = posting_blueprint(
    "offerings",
    PostingViews(
        model=Offering,
        form_class=OfferingForm,
        create=postings.create_offering,
        update=postings.update_offering,
        poster_required=vendor_required,
    ),
)
