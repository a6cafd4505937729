"""The pages demands and offerings share: list, post, read, edit, publish and close.

Each blueprint builds one `PostingViews` with its model, form and domain functions; the routes are the same.
"""

from collections.abc import Callable
from dataclasses import dataclass

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from . import taxonomy
from .access import login_required
from .domain import postings
from .domain.errors import DomainError, PermissionDenied
from .extensions import db
from .models import PostingStatus
from .postings_forms import PostingForm
from .vocabulary import DEPLOYMENT_LABELS, POSTING_STATUS_LABELS, REGION_LABELS, VOUCHER_LABELS


def viewer():
    """Return the signed-in user, or None for anonymous visitors."""
    return current_user._get_current_object() if current_user.is_authenticated else None


@dataclass(frozen=True)
class PostingViews:
    """The routes of one posting kind, parametrised by what differs between demands and offerings."""

    model: type
    form_class: type[PostingForm]
    create: Callable
    update: Callable
    poster_required: Callable
    templates: str

    def register(self, bp: Blueprint) -> None:
        """Add the six routes to the blueprint."""
        bp.add_url_rule("/", "index", self.index)
        bp.add_url_rule("/new", "new", self.poster_required(self.new), methods=["GET", "POST"])
        bp.add_url_rule("/<int:id>", "detail", self.detail)
        bp.add_url_rule("/<int:id>/edit", "edit", login_required(self.edit), methods=["GET", "POST"])
        bp.add_url_rule("/<int:id>/publish", "publish", login_required(self.publish), methods=["POST"])
        bp.add_url_rule("/<int:id>/close", "close", login_required(self.close), methods=["POST"])

    def index(self):
        """List published postings, or the viewer's own drafts or closed ones, filtered and paged."""
        filters = postings.PostingFilters(
            **{name: request.args.get(name, "").strip() for name in ("industry", "scenario", "city", "status")}
        )
        query = postings.visible_postings_query(self.model, filters, viewer())
        page = db.paginate(query, per_page=current_app.config["PER_PAGE"])
        return self.render("index.html", page=page, filters=filters)

    def new(self):
        """Post a new draft, publishing it at once if asked."""
        form = self.form_class()
        if form.validate_on_submit():
            posting = self.save(form, lambda data: self.create(current_user, data))
            if posting is not None:
                return redirect(url_for(".detail", id=posting.id))
        return self.render("form.html", form=form, posting=None)

    def detail(self, id: int):
        """Show one posting to those who may see it."""
        posting = self.visible_or_404(id)
        is_owner = postings.is_owner(viewer(), posting)
        show_matches = is_owner or (viewer() is not None and viewer().is_curator)
        return self.render(
            "detail.html",
            posting=posting,
            can_edit=postings.can_edit(viewer(), posting),
            is_owner=is_owner,
            matches=postings.matches_of(posting) if show_matches else None,
        )

    def edit(self, id: int):
        """Change a posting the viewer's organization owns."""
        posting = self.owned_or_abort(id)
        if posting.status is PostingStatus.CLOSED:
            flash(_("A closed posting can no longer be edited."), "error")
            return redirect(url_for(".detail", id=id))
        form = self.form_class.for_posting(posting)
        if form.validate_on_submit() and self.save(form, lambda data: self.update(current_user, posting, data)):
            return redirect(url_for(".detail", id=id))
        return self.render("form.html", form=form, posting=posting)

    def publish(self, id: int):
        """Publish a draft."""
        return self.transition(id, postings.publish, _("Published. The matching engine will propose partners."))

    def close(self, id: int):
        """Close a posting for good."""
        return self.transition(id, postings.close, _("Closed."))

    # -------------------------------------------------------------- helpers

    def save(self, form: PostingForm, action: Callable):
        """Run a create or update from the form; on refusal put the reason on the form and return None."""
        try:
            posting = action(form.to_input())
        except DomainError as error:
            db.session.rollback()
            form.add_error(error.field, error.message)
            return None
        if form.publish.data and posting.status is PostingStatus.DRAFT:
            self.transition(posting.id, postings.publish, _("Saved and published."))
        else:
            flash(_("Saved."), "success")
        return posting

    def transition(self, id: int, action: Callable, message: str):
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
        """Render one of this kind's templates with the shared choice labels."""
        return render_template(
            f"{self.templates}/{template}",
            status_labels=POSTING_STATUS_LABELS,
            deployment_labels=DEPLOYMENT_LABELS,
            voucher_labels=VOUCHER_LABELS,
            region_labels=REGION_LABELS,
            scenario_choices=taxonomy.scenario_choices(),
            industry_choices=taxonomy.industry_choices(),
            **context,
        )
