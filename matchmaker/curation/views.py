"""The curator workspace: every route here is for curators and administrators only."""

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from .. import taxonomy
from ..access import curator_required, safe_next
from ..domain import curation, review, workflow
from ..domain.assignment import DEFAULT_PER_DEMAND, apply_assignment, load_problem, solve
from ..domain.errors import DomainError, NotFound, ValidationFailed
from ..extensions import db
from ..forms import options, show_refusal, user_options
from ..models import Demand, Match, MatchStatus, Offering
from ..spreadsheet import XLSX, csv_text, xlsx_bytes
from ..vocabulary import MATCH_STATUS_LABELS, VOUCHER_LABELS
from .analytics import TABLES
from .forms import BULK_ACTIONS, ApplyAssignmentForm, BulkDecisionForm, ManualPairForm, NoteForm

bp = Blueprint("curation", __name__, url_prefix="/curation")

SORT_LABELS = {
    "score": _l("Best score first"),
    "score_asc": _l("Lowest score first"),
    "newest": _l("Newest first"),
    "oldest": _l("Oldest first"),
}


# ---------------------------------------------------------------- queue and bulk decisions


@bp.route("/")
@curator_required
def queue():
    """List matches for review, filtered, sorted and paged."""
    filters = curation.queue_filters(request.args)
    page = db.paginate(curation.queue_query(filters), per_page=current_app.config["PER_PAGE"])
    form = BulkDecisionForm(next=request.full_path)
    return render_template(
        "curation/queue.html",
        page=page,
        filters=filters,
        form=form,
        sort_labels=SORT_LABELS,
        status_labels=MATCH_STATUS_LABELS,
        scenario_choices=taxonomy.scenario_choices(str(get_locale())),
        industry_choices=taxonomy.industry_choices(str(get_locale())),
        voucher_labels=VOUCHER_LABELS,
    )


@bp.route("/bulk", methods=["POST"])
@curator_required
def bulk():
    """Apply one action (shortlist, reject with a reason, introduce) to every ticked match."""
    form = BulkDecisionForm()
    back = safe_next(form.next.data) if form.next.data else url_for("curation.queue")
    ids = _ids(request.form.getlist("match_ids"))
    if not form.validate_on_submit() or not ids:
        flash(_("Tick at least one match and choose an action."), "error")
        return redirect(back)
    done, failures = _decide_all(ids, form.action.data, form.reason.data or "", form.note.data or "")
    if done:
        flash(
            ngettext(
                "%(action)s: %(num)d match.",
                "%(action)s: %(num)d matches.",
                done,
                action=dict(BULK_ACTIONS)[form.action.data],
            ),
            "success",
        )
    for failure in failures[:5]:
        flash(failure, "error")
    return redirect(back)


def _ids(values: list[str]) -> list[int]:
    """Return the distinct integer ids among submitted values, in order."""
    return list(dict.fromkeys(int(v) for v in values if v.strip().isdigit()))


def _decide_all(ids: list[int], action: str, reason: str, note: str) -> tuple[int, list[str]]:
    """Apply the action to each match through the workflow; return how many succeeded and the failures."""
    done, failures = 0, []
    for match_id in ids:
        match = db.session.get(Match, match_id)
        if match is None:
            failures.append(_("Match %(id)d does not exist.", id=match_id))
            continue
        try:
            workflow.apply(match, action, current_user._get_current_object(), reason=reason, note=note)
        except ValidationFailed as error:  # bad input is the same for every match: say it once
            return done, [*failures, error.message]
        except DomainError as error:
            failures.append(_("Match %(id)d: %(message)s", id=match_id, message=error.message))
        else:
            done += 1
    return done, failures


# ---------------------------------------------------------------- one match: audit trail, notes, actions


@bp.route("/matches/<int:match_id>")
@curator_required
def match_detail(match_id: int):
    """Show a match to decide from: both texts side by side, terms marked, the score in words, the actions."""
    match = _get_match(match_id)
    demand_text, offering_text = review.review_texts(match)
    notes = curation.notes_of(match)
    possible = set(workflow.available_actions(match, current_user._get_current_object()))
    decision_form = BulkDecisionForm(next=request.path)
    decision_form.action.choices = options([(key, label) for key, label in BULK_ACTIONS if key in possible])
    return render_template(
        "curation/match.html",
        match=match,
        notes=notes,
        note_form=NoteForm(),
        decision_form=decision_form,
        actions=decision_form.action.choices,
        status_labels=MATCH_STATUS_LABELS,
        reason_label=workflow.reason_label,
        decision_reason_label=workflow.decision_reason_label,
        demand_text=demand_text,
        offering_text=offering_text,
        components=review.score_components(match),
        overall_fit=review.overall_fit(match),
        feedback_penalty=review.feedback_penalty(match),
    )


@bp.route("/matches/<int:match_id>/notes", methods=["POST"])
@curator_required
def add_note(match_id: int):
    """Add a private note to a match."""
    match = _get_match(match_id)
    back = url_for("curation.match_detail", match_id=match.id, _anchor="notes")
    form = NoteForm()
    if not form.validate_on_submit():
        flash(_("Write a note of at most 5000 characters."), "error")
        return redirect(back)
    try:
        curation.add_note(current_user._get_current_object(), match, form.body.data)
    except DomainError as error:
        flash(error.message, "error")
    else:
        flash(_("Note added."), "success")
    return redirect(back)


def _get_match(match_id: int) -> Match:
    """Return the match with its postings and audit trail loaded, or 404."""
    try:
        return curation.match_for_review(match_id)
    except NotFound:
        abort(404)


# ---------------------------------------------------------------- manual pairing and re-matching


@bp.route("/pair", methods=["GET", "POST"])
@curator_required
def pair():
    """Pair any published demand with any published offering."""
    form = ManualPairForm(
        demand_id=request.args.get("demand_id", type=int), offering_id=request.args.get("offering_id", type=int)
    )
    form.demand_id.choices = user_options(curation.posting_choices(Demand))
    form.offering_id.choices = user_options(curation.posting_choices(Offering))
    if form.validate_on_submit():
        demand = db.session.get(Demand, form.demand_id.data)
        offering = db.session.get(Offering, form.offering_id.data)
        try:
            match = workflow.create_manual_match(
                current_user._get_current_object(), demand, offering, note=form.note.data or ""
            )
        except DomainError as error:
            show_refusal(form, error)
        else:
            flash(
                _("Paired “%(demand)s” with “%(offering)s”.", demand=demand.title, offering=offering.title), "success"
            )
            return redirect(url_for("curation.match_detail", match_id=match.id))
    return render_template("curation/pair.html", form=form)


@bp.route("/demands/<int:demand_id>/rematch", methods=["POST"])
@curator_required
def rematch(demand_id: int):
    """Run matching again for one demand and store any new proposals."""
    demand = db.session.get(Demand, demand_id) or abort(404)
    try:
        created = curation.rematch(demand)
    except DomainError as error:
        flash(error.message, "error")
    else:
        flash(
            ngettext(
                "Matching ran again: %(num)d new proposal.", "Matching ran again: %(num)d new proposals.", len(created)
            ),
            "success",
        )
    return redirect(url_for("curation.demand_history", demand_id=demand.id))


# ---------------------------------------------------------------- history


@bp.route("/demands/<int:demand_id>/history")
@curator_required
def demand_history(demand_id: int):
    """Show every match a demand has had, with each one's audit trail."""
    demand = db.session.get(Demand, demand_id) or abort(404)
    return _history(demand)


@bp.route("/offerings/<int:offering_id>/history")
@curator_required
def offering_history(offering_id: int):
    """Show every match an offering has had, with each one's audit trail."""
    offering = db.session.get(Offering, offering_id) or abort(404)
    return _history(offering)


def _history(posting):
    """Render the history page of a demand or an offering."""
    return render_template(
        "curation/history.html",
        posting=posting,
        matches=curation.history_of(posting),
        status_labels=MATCH_STATUS_LABELS,
        reason_label=workflow.reason_label,
    )


# ---------------------------------------------------------------- batch assignment


@bp.route("/assign")
@curator_required
def assign():
    """Run the capacity-aware assignment and show it for review; nothing changes until applied."""
    per_demand = max(1, min(request.args.get("per_demand", DEFAULT_PER_DEMAND, type=int) or 1, 20))
    problem = load_problem(per_demand=per_demand)
    result = solve(problem)
    return render_template(
        "curation/assign.html", problem=problem, result=result, form=ApplyAssignmentForm(per_demand=per_demand)
    )


@bp.route("/assign/apply", methods=["POST"])
@curator_required
def apply_assign():
    """Shortlist the reviewed pairs that are still part of a freshly solved assignment."""
    form = ApplyAssignmentForm()
    selected = set(_ids(request.form.getlist("match_ids")))
    if not form.validate_on_submit() or not selected:
        flash(_("Tick at least one pair to shortlist."), "error")
        return redirect(url_for("curation.assign", per_demand=form.per_demand.data or DEFAULT_PER_DEMAND))
    # Re-solve rather than trust the page: capacity or decisions may have changed since it was shown.
    plan = solve(load_problem(per_demand=form.per_demand.data))
    chosen = [c for c in plan.assignments if c.match_id in selected]
    stale = selected - {c.match_id for c in chosen}
    if stale:
        flash(
            ngettext(
                "%(num)d selected pair is no longer in the assignment and was left alone; review again.",
                "%(num)d selected pairs are no longer in the assignment and were left alone; review again.",
                len(stale),
            ),
            "warning",
        )
    report = apply_assignment(chosen, current_user._get_current_object())
    flash(ngettext("Shortlisted %(num)d match.", "Shortlisted %(num)d matches.", len(report.shortlisted)), "success")
    for failure in report.failures[:5]:
        flash(failure, "error")
    return redirect(url_for("curation.queue", status=MatchStatus.SHORTLISTED.value))


# ---------------------------------------------------------------- statistics


@bp.route("/stats")
@curator_required
def stats():
    """Show per scenario how many matches were introduced, accepted, declined and rejected."""
    return render_template("curation/stats.html", rates=curation.acceptance_by_scenario())


@bp.route("/analytics")
@curator_required
def analytics():
    """Show demand against supply, the supply gaps, the match funnel and activity by city, as charts and tables."""
    return render_template("curation/analytics.html", tables=[build() for build in TABLES.values()])


@bp.route("/analytics/<name>.<any(csv, xlsx):fmt>")
@curator_required
def analytics_download(name: str, fmt: str):
    """Download one analytics table as CSV or XLSX, labelled in the reader's language, formula-safe."""
    if name not in TABLES:
        abort(404)
    table = TABLES[name]()
    disposition = {"Content-Disposition": f"attachment; filename={name}.{fmt}"}
    if fmt == "xlsx":
        return Response(xlsx_bytes(table.caption, table.header, table.rows), mimetype=XLSX, headers=disposition)
    return Response(csv_text(table.header, table.rows), mimetype="text/csv", headers=disposition)
