"""What the curator workspace reads and asks of the engine: the review queue, notes, histories, re-matching."""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import joinedload, selectinload

from ..extensions import db
from ..matching.feedback import acceptance_rates
from ..models import Demand, Match, MatchEvent, MatchNote, MatchStatus, Offering, Organization, PostingStatus, User
from .errors import IllegalTransition, NotFound, Unavailable, ValidationFailed, matching_unavailable
from .filters import Filters, facet_clauses

OPEN_STATUSES = (MatchStatus.PROPOSED, MatchStatus.SHORTLISTED)
# What the queue's status argument may ask for; the first entry is the default.
QUEUE_STATUSES = ("open", "all", *(status.value for status in MatchStatus))
SORTS = {
    "score": (Match.score.desc(), Match.id.desc()),
    "score_asc": (Match.score.asc(), Match.id.asc()),
    "newest": (Match.created_at.desc(), Match.id.desc()),
    "oldest": (Match.created_at.asc(), Match.id.asc()),
}
NOTE_MAX = 5000
MATCH_LOAD = (
    joinedload(Match.demand).joinedload(Demand.organization),
    joinedload(Match.offering).joinedload(Offering.organization),
)


def queue_filters(args) -> Filters:
    """Read the queue's filters from query arguments, unknown values falling back to the defaults."""
    return Filters.from_args(args, statuses=QUEUE_STATUSES, sorts=tuple(SORTS))


def queue_query(filters: Filters) -> sa.Select:
    """Return a select of matches whose demands fit the filters, ordered as asked."""
    return (
        sa.select(Match)
        .join(Match.demand)
        .options(*MATCH_LOAD)
        .where(_status_clause(filters.status), *facet_clauses(Demand, filters))
        .order_by(*SORTS.get(filters.sort, SORTS["score"]))
    )


def _status_clause(status: str):
    """Open proposals by default, every match for 'all', else the one status asked for."""
    if status == "all":
        return sa.true()
    if status in {s.value for s in MatchStatus}:
        return Match.status == MatchStatus(status)
    return Match.status.in_(OPEN_STATUSES)


def match_for_review(match_id: int) -> Match:
    """Return a match with its postings and audit trail loaded; NotFound if there is none."""
    match = db.session.scalar(
        sa.select(Match)
        .options(*MATCH_LOAD, selectinload(Match.events).joinedload(MatchEvent.actor))
        .where(Match.id == match_id)
    )
    if match is None:
        raise NotFound(_("Match %(id)d does not exist.", id=match_id))
    return match


def notes_of(match: Match) -> list[MatchNote]:
    """Return a match's private notes, oldest first, with their authors."""
    return db.session.scalars(
        sa.select(MatchNote)
        .options(joinedload(MatchNote.author))
        .where(MatchNote.match_id == match.id)
        .order_by(MatchNote.id)
    ).all()


def add_note(author: User, match: Match, body: str) -> MatchNote:
    """Save a curator's private note on a match."""
    body = (body or "").strip()
    if not body or len(body) > NOTE_MAX:
        raise ValidationFailed(_("Write a note of at most 5000 characters."), field="body")
    note = MatchNote(match_id=match.id, author_id=author.id, body=body)
    db.session.add(note)
    db.session.commit()
    return note


def history_of(posting: Demand | Offering) -> list[Match]:
    """Return every match a demand or an offering has had, newest first, with each one's audit trail."""
    column = Match.demand_id if isinstance(posting, Demand) else Match.offering_id
    return db.session.scalars(
        sa.select(Match)
        .options(*MATCH_LOAD, selectinload(Match.events).joinedload(MatchEvent.actor))
        .where(column == posting.id)
        .order_by(Match.created_at.desc(), Match.id.desc())
    ).all()


def posting_choices(model: type) -> list[tuple[int, str]]:
    """Return (id, '#id title — organisation') for every published posting of a kind, by title."""
    rows = db.session.execute(
        sa.select(model.id, model.title, Organization.name)
        .join(Organization, model.organization_id == Organization.id)
        .where(model.status == PostingStatus.PUBLISHED)
        .order_by(model.title, model.id)
    ).all()
    return [(row.id, f"#{row.id} {row.title} — {row.name}") for row in rows]


def rematch(demand: Demand) -> list[Match]:
    """Run matching again for one published demand; return the new proposals."""
    if demand.status is not PostingStatus.PUBLISHED:
        raise IllegalTransition(_("Only published demands can be matched."))
    # Imported here so the workspace still serves pages on a server without the engine's libraries.
    try:
        from ..matching.availability import MatchingUnavailable
        from ..matching.service import propose_for_demand
    except ImportError as error:
        raise Unavailable(_("The matching engine is not available on this server (%(error)s).", error=error)) from None
    try:
        return propose_for_demand(demand)
    except MatchingUnavailable as exc:
        raise matching_unavailable(exc.model, exc.reason) from None


def acceptance_by_scenario() -> list:
    """Return per scenario how many matches were introduced, accepted, declined and rejected."""
    return list(acceptance_rates().values())
