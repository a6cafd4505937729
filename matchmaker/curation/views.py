"""The curator workspace: every route here is for curators and administrators only."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy.orm import joinedload, selectinload

from .. import taxonomy
from ..access import curator_required
from ..auth.views import safe_next
from ..domain import workflow
from ..domain.assignment import DEFAULT_PER_DEMAND, apply_assignment, load_problem, solve
from ..domain.errors import DomainError, ValidationFailed
from ..domain.postings import json_list_contains
from ..extensions import db
from ..matching.feedback import acceptance_rates
from ..models import (
    Demand,
    Match,
    MatchEvent,
    MatchNote,
    MatchStatus,
    Offering,
    Organization,
    PostingStatus,
)
from ..postings_forms import options
from ..vocabulary import MATCH_STATUS_LABELS, VOUCHER_KINDS, VOUCHER_LABELS
from .forms import BULK_ACTIONS, ApplyAssignmentForm, BulkDecisionForm, ManualPairForm, NoteForm

bp = Blueprint("curation", __name__, url_prefix="/curation")

OPEN_STATUSES = (MatchStatus.PROPOSED, MatchStatus.SHORTLISTED)
SORTS = {
    "score": (Match.score.desc(), Match.id.desc()),
    "score_asc": (Match.score.asc(), Match.id.asc()),
    "newest": (Match.created_at.desc(), Match.id.desc()),
    "oldest": (Match.created_at.asc(), Match.id.asc()),
}
SORT_LABELS = {
    "score": _l("Best score first"),
    "score_asc": _l("Lowest score first"),
    "newest": _l("Newest first"),
    "oldest": _l("Oldest first"),
}
MATCH_LOAD = (
    joinedload(Match.demand).joinedload(Demand.organization),
    joinedload(Match.offering).joinedload(Offering.organization),
)


# ---------------------------------------------------------------- queue and bulk decisions


@dataclass
class QueueFilters:
    """What the queue narrows matches by; empty strings mean no narrowing."""

    industry: str = ""
    scenario: str = ""
    city: str = ""
    voucher: str = ""
    status: str = "open"
    sort: str = "score"

    @classmethod
    def from_args(cls, args) -> QueueFilters:
        """Read the filters from query arguments, falling back to defaults for unknown values."""
        filters = cls(**{name: args.get(name, default).strip() for name, default in asdict(cls()).items()})
        filters.sort = filters.sort if filters.sort in SORTS else "score"
        return filters


def queue_query(filters: QueueFilters) -> sa.Select:
    """Return a select of matches narrowed by the filters and ordered as asked."""
    query = sa.select(Match).join(Match.demand).options(*MATCH_LOAD).where(_status_clause(filters.status))
    if filters.industry:
        query = query.where(
            sa.or_(Demand.industry == filters.industry, json_list_contains(Demand.auto_industries, filters.industry))
        )
    if filters.scenario:
        query = query.where(
            sa.or_(
                json_list_contains(Demand.scenarios, filters.scenario),
                json_list_contains(Demand.auto_scenarios, filters.scenario),
            )
        )
    if filters.city:
        query = query.where(sa.func.lower(Demand.city).contains(filters.city.lower(), autoescape=True))
    if filters.voucher:
        query = query.where(_voucher_clause(filters.voucher))
    return query.order_by(*SORTS[filters.sort])


def _status_clause(status: str):
    """Open proposals by default, every match for 'all', else the one status asked for."""
    if status == "all":
        return sa.true()
    if status in {s.value for s in MatchStatus}:
        return Match.status == MatchStatus(status)
    return Match.status.in_(OPEN_STATUSES)


def _voucher_clause(voucher: str):
    """Demands interested in this voucher kind, or in any voucher for 'any'."""
    if voucher == "any":
        return sa.or_(*(json_list_contains(Demand.vouchers, kind) for kind in VOUCHER_KINDS))
    return json_list_contains(Demand.vouchers, voucher)


@bp.route("/")
@curator_required
def queue():
    """List matches for review, filtered, sorted and paged."""
    filters = QueueFilters.from_args(request.args)
    page = db.paginate(queue_query(filters), per_page=current_app.config["PER_PAGE"])
    form = BulkDecisionForm(next=request.full_path)
    return render_template(
        "curation/queue.html",
        page=page,
        filters=filters,
        form=form,
        sort_labels=SORT_LABELS,
        status_labels=MATCH_STATUS_LABELS,
        scenario_choices=taxonomy.scenario_choices(),
        industry_choices=taxonomy.industry_choices(),
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
    """Show a match with its audit trail, private notes and the curator actions possible now."""
    match = _get_match(match_id)
    notes = db.session.scalars(
        sa.select(MatchNote)
        .options(joinedload(MatchNote.author))
        .where(MatchNote.match_id == match.id)
        .order_by(MatchNote.id)
    ).all()
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
    )


@bp.route("/matches/<int:match_id>/notes", methods=["POST"])
@curator_required
def add_note(match_id: int):
    """Add a private note to a match."""
    match = _get_match(match_id)
    form = NoteForm()
    if form.validate_on_submit():
        db.session.add(MatchNote(match_id=match.id, author_id=current_user.id, body=form.body.data.strip()))
        db.session.commit()
        flash(_("Note added."), "success")
    else:
        flash(_("Write a note of at most 5000 characters."), "error")
    return redirect(url_for("curation.match_detail", match_id=match.id, _anchor="notes"))


def _get_match(match_id: int) -> Match:
    """Return the match with its postings loaded, or 404."""
    match = db.session.scalar(
        sa.select(Match)
        .options(*MATCH_LOAD, selectinload(Match.events).joinedload(MatchEvent.actor))
        .where(Match.id == match_id)
    )
    return match if match is not None else abort(404)


# ---------------------------------------------------------------- manual pairing and re-matching


@bp.route("/pair", methods=["GET", "POST"])
@curator_required
def pair():
    """Pair any published demand with any published offering."""
    form = ManualPairForm(
        demand_id=request.args.get("demand_id", type=int), offering_id=request.args.get("offering_id", type=int)
    )
    form.demand_id.choices = options(_posting_choices(Demand))
    form.offering_id.choices = options(_posting_choices(Offering))
    if form.validate_on_submit():
        demand = db.session.get(Demand, form.demand_id.data)
        offering = db.session.get(Offering, form.offering_id.data)
        try:
            match = workflow.create_manual_match(
                current_user._get_current_object(), demand, offering, note=form.note.data or ""
            )
        except DomainError as error:
            form.form_errors.append(error.message)
        else:
            flash(
                _("Paired “%(demand)s” with “%(offering)s”.", demand=demand.title, offering=offering.title), "success"
            )
            return redirect(url_for("curation.match_detail", match_id=match.id))
    return render_template("curation/pair.html", form=form)


def _posting_choices(model: type) -> list[tuple[int, str]]:
    """Return (id, 'title — organisation') for every published posting of a kind."""
    rows = db.session.execute(
        sa.select(model.id, model.title, Organization.name)
        .join(Organization, model.organization_id == Organization.id)
        .where(model.status == PostingStatus.PUBLISHED)
        .order_by(model.title, model.id)
    ).all()
    return [(row.id, f"#{row.id} {row.title} — {row.name}") for row in rows]


@bp.route("/demands/<int:demand_id>/rematch", methods=["POST"])
@curator_required
def rematch(demand_id: int):
    """Run matching again for one demand and store any new proposals."""
    demand = db.session.get(Demand, demand_id) or abort(404)
    if demand.status is not PostingStatus.PUBLISHED:
        flash(_("Only published demands can be matched."), "error")
        return redirect(url_for("curation.demand_history", demand_id=demand.id))
    try:
        from ..matching.service import propose_for_demand
    except ImportError as error:
        flash(_("The matching engine is not available on this server (%(error)s).", error=error), "error")
    else:
        created = propose_for_demand(demand)
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
    return _history(demand, Match.demand_id == demand.id)


@bp.route("/offerings/<int:offering_id>/history")
@curator_required
def offering_history(offering_id: int):
    """Show every match an offering has had, with each one's audit trail."""
    offering = db.session.get(Offering, offering_id) or abort(404)
    return _history(offering, Match.offering_id == offering.id)


def _history(posting, condition):
    """Render the history page of a demand or an offering."""
    matches = db.session.scalars(
        sa.select(Match)
        .options(*MATCH_LOAD, selectinload(Match.events).joinedload(MatchEvent.actor))
        .where(condition)
        .order_by(Match.created_at.desc(), Match.id.desc())
    ).all()
    return render_template(
        "curation/history.html",
        posting=posting,
        matches=matches,
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
    return render_template("curation/stats.html", rates=list(acceptance_rates().values()))
