"""The match lifecycle: one transition table, and the audit trail every step leaves.

proposed ──shortlist──▶ shortlisted
proposed|shortlisted ──reject──▶ rejected
proposed|shortlisted ──introduce──▶ introduced          (curator)
proposed ──express_interest──▶ introduced               (a party, when direct interest is on)
introduced ──accept──▶ introduced │ connected            (connected once both sides accepted)
introduced ──decline──▶ declined
introduced ──expire──▶ expired                          (system, once expires_at has passed)
connected ──pilot_started──▶ pilot_started
connected|pilot_started ──contract_signed|no_deal──▶ contract_signed|no_deal

Each step is announced on `signals.match_changed` inside its transaction; telling people about it
(notifications and email) is the notifications package's business, not the domain's.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..models import Match, MatchEvent, MatchStatus, PostingStatus, User, utcnow
from ..signals import match_changed
from ..vocabulary import (
    DECLINE_REASON_LABELS,
    MATCH_STATUS_LABELS,
    NO_DEAL_REASON_LABELS,
    POSTING_KIND_LABELS,
    POSTING_KINDS,
    REJECT_REASON_LABELS,
)
from .checks import contains_nul
from .errors import IllegalTransition, PermissionDenied, ValidationFailed

# A few words on a decision; the audit trail keeps them, so they have a bound like every other text.
MAX_NOTE_LENGTH = 2000

log = logging.getLogger(__name__)

S = MatchStatus
CURATOR, PARTY, SYSTEM = "curator", "party", "system"
SIDES = POSTING_KINDS  # a match has a demand side and an offering side
PENDING, ACCEPTED, DECLINED = "pending", "accepted", "declined"

# Once both sides have opted in, they may see each other's contact details for good.
CONTACT_STATES = frozenset({S.CONNECTED, S.PILOT_STARTED, S.CONTRACT_SIGNED, S.NO_DEAL})


@dataclass(frozen=True)
class Transition:
    """One row of the lifecycle: who may do an action, from which states, and where it leads."""

    action: str
    sources: frozenset[MatchStatus]
    target: MatchStatus
    actors: frozenset[str]
    reasons: tuple[tuple[str, object], ...] = ()  # (key, label) pairs; when not empty, one of these keys is required
    label: object = ""


def _t(action, sources, target, actors, reasons=(), label=""):
    return Transition(action, frozenset(sources), target, frozenset(actors), tuple(reasons), label)


# The whole lifecycle. The system (actor None: a command or the assignment batch) may do what curators do.
TRANSITIONS: dict[str, Transition] = {
    t.action: t
    for t in (
        _t("shortlist", {S.PROPOSED}, S.SHORTLISTED, {CURATOR, SYSTEM}, label=_l("Shortlist")),
        _t(
            "reject",
            {S.PROPOSED, S.SHORTLISTED},
            S.REJECTED,
            {CURATOR, SYSTEM},
            REJECT_REASON_LABELS.items(),
            _l("Reject"),
        ),
        _t("introduce", {S.PROPOSED, S.SHORTLISTED}, S.INTRODUCED, {CURATOR, SYSTEM}, label=_l("Introduce")),
        _t("express_interest", {S.PROPOSED}, S.INTRODUCED, {PARTY}, label=_l("Express interest")),
        # accept leads to connected once the other side has accepted too; see _accept.
        _t("accept", {S.INTRODUCED}, S.CONNECTED, {PARTY}, label=_l("Accept")),
        _t("decline", {S.INTRODUCED}, S.DECLINED, {PARTY}, DECLINE_REASON_LABELS.items(), _l("Decline")),
        _t("expire", {S.INTRODUCED}, S.EXPIRED, {SYSTEM}, label=_l("Expire")),
        _t("pilot_started", {S.CONNECTED}, S.PILOT_STARTED, {PARTY, CURATOR}, label=_l("Pilot started")),
        _t(
            "contract_signed",
            {S.CONNECTED, S.PILOT_STARTED},
            S.CONTRACT_SIGNED,
            {PARTY, CURATOR},
            label=_l("Contract signed"),
        ),
        _t(
            "no_deal",
            {S.CONNECTED, S.PILOT_STARTED},
            S.NO_DEAL,
            {PARTY, CURATOR},
            NO_DEAL_REASON_LABELS.items(),
            _l("No deal"),
        ),
    )
}
OUTCOME_ACTIONS = ("pilot_started", "contract_signed", "no_deal")


# ---------------------------------------------------------------- who is who


def party_side(user: User | None, match: Match) -> str | None:
    """Return which side of the match the user's organization is on, if any."""
    org_id = getattr(user, "organization_id", None) if user is not None else None
    if org_id is None:
        return None
    if org_id == match.demand.organization_id:
        return "demand"
    if org_id == match.offering.organization_id:
        return "offering"
    return None


def can_see_contacts(match: Match) -> bool:
    """Return whether the two parties may see each other's contact details (only once connected)."""
    return match.status in CONTACT_STATES


def reason_label(action: str, key: str) -> str:
    """Return the label of a decision reason, or the key if it is unknown."""
    choices = dict(TRANSITIONS[action].reasons) if action in TRANSITIONS else {}
    return str(choices.get(key, key))


def decision_reason_label(match: Match) -> str:
    """Return the label of the reason a match was rejected, declined or ended without a deal, or ''."""
    key = match.decision_reason
    if not key:
        return ""
    steps = sorted(TRANSITIONS.values(), key=lambda transition: transition.target != match.status)
    return next((str(dict(t.reasons)[key]) for t in steps if key in dict(t.reasons)), key)


def available_actions(match: Match, actor: User | None) -> list[str]:
    """Return the actions this actor may apply to the match now."""
    allowed = []
    for transition in TRANSITIONS.values():
        try:
            _check_actor(transition, match, actor, None)
            _check_state(transition, match, actor, utcnow())
        except (PermissionDenied, IllegalTransition):
            continue
        allowed.append(transition.action)
    return allowed


# ---------------------------------------------------------------- applying a transition


def apply(
    match: Match, action: str, actor: User | None, *, reason: str = "", note: str = "", side: str | None = None
) -> Match:
    """Apply an action to a match, record it, announce it on `match_changed`, and commit."""
    return _apply(match, action, actor, reason=reason, note=(note or "").strip(), side=side, now=utcnow())


def _apply(match, action, actor, *, reason, note, side, now) -> Match:
    transition = TRANSITIONS.get(action)
    if transition is None:
        raise ValidationFailed(_("Unknown action “%(action)s”.", action=action), field="action")
    acting_side = _check_actor(transition, match, actor, side)
    _check_state(transition, match, actor, now)
    _check_reason(transition, reason, note)
    old = match.status
    _claim(match, now)
    try:
        _EFFECTS.get(action, _move)(match, transition, acting_side, reason, note, now)
        event = MatchEvent(
            match=match,
            actor=actor,
            action=action,
            from_status=old.value,
            to_status=match.status.value,
            reason=reason if transition.reasons else "",
            note=note,
            created_at=now,
        )
        db.session.add(event)
        replies = match_changed.send(match, event=event, actor=actor, side=acting_side)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    _after_commit(replies)
    return match


def _after_commit(replies: list[tuple[Callable[..., Any], Any]]) -> None:
    """Run the follow-up work match_changed receivers returned, now that the step has committed."""
    for receiver, follow_up in replies:
        if not callable(follow_up):
            continue
        try:
            follow_up()
        except Exception:  # the step is committed; its follow-ups must never undo or break it
            log.exception("Follow-up of a match step by %r failed", receiver)


def _check_actor(transition: Transition, match: Match, actor: User | None, side: str | None) -> str | None:
    """Return the side the actor acts for; raise PermissionDenied if they may not do this."""
    acting_side = party_side(actor, match)
    if side is not None and (side not in SIDES or side != acting_side):
        raise PermissionDenied(
            _("You do not act for the %(side)s side of this match.", side=_word(POSTING_KIND_LABELS.get(side, side)))
        )
    if actor is None:
        allowed = SYSTEM in transition.actors
    else:
        allowed = (PARTY in transition.actors and acting_side is not None) or (
            CURATOR in transition.actors and actor.is_curator
        )
    if not allowed:
        raise PermissionDenied(_("You may not %(action)s this match.", action=_word(transition.label)))
    if transition.action == "express_interest" and not current_app.config["MATCHMAKER_DIRECT_INTEREST"]:
        raise PermissionDenied(_("Expressing interest directly is turned off here; a curator makes introductions."))
    return acting_side


def _check_state(transition: Transition, match: Match, actor: User | None, now: datetime) -> None:
    """Raise IllegalTransition unless the match's current state allows the action."""
    if match.status not in transition.sources:
        allowed = ", ".join(_word(MATCH_STATUS_LABELS[s]) for s in sorted(transition.sources, key=lambda s: s.value))
        raise IllegalTransition(
            _(
                "Cannot %(action)s a match that is %(status)s; that is possible only when it is %(allowed)s.",
                action=_word(transition.label),
                status=_word(MATCH_STATUS_LABELS[match.status]),
                allowed=allowed,
            )
        )
    if transition.action == "accept" and _response(match, party_side(actor, match)) == ACCEPTED:
        raise IllegalTransition(_("Your side has already accepted this match; waiting for the other side."))
    if transition.action == "expire" and not _is_overdue(match, now):
        raise IllegalTransition(_("Cannot expire a match that is introduced until its response deadline passes."))


def _check_reason(transition: Transition, reason: str, note: str) -> None:
    """Raise ValidationFailed unless a required reason is one of the listed choices and the note fits."""
    if len(note) > MAX_NOTE_LENGTH:
        raise ValidationFailed(_("At most %(count)d characters.", count=MAX_NOTE_LENGTH), field="note")
    if contains_nul(note):
        raise ValidationFailed(_("Text cannot contain the NUL character."), field="note")
    if not transition.reasons:
        return
    if reason not in dict(transition.reasons):
        raise ValidationFailed(_("Choose a reason."), field="reason")
    if reason == "other" and not note:
        raise ValidationFailed(_("Tell us the reason in a few words."), field="note")


def _claim(match: Match, now: datetime) -> None:
    """Take the match for this transaction only if nobody changed it since it was read.

    Two parties accepting at the same moment would otherwise each see the other as pending.
    """
    claimed = db.session.execute(
        sa.update(Match)
        .where(
            Match.id == match.id,
            Match.status == match.status,
            Match.demand_response == match.demand_response,
            Match.offering_response == match.offering_response,
        )
        .values(updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:
        db.session.rollback()
        raise IllegalTransition(_("This match changed meanwhile; reload the page and try again."))


# ---------------------------------------------------------------- what each action changes


def _move(match, transition, acting_side, reason, note, now) -> None:
    match.status = transition.target


def _introduce(match, transition, acting_side, reason, note, now) -> None:
    days = current_app.config["MATCHMAKER_REQUEST_EXPIRY_DAYS"]
    match.status = S.INTRODUCED
    match.introduced_at = now
    match.expires_at = now + timedelta(days=days)
    match.demand_response = match.offering_response = PENDING


def _express_interest(match, transition, acting_side, reason, note, now) -> None:
    _introduce(match, transition, acting_side, reason, note, now)
    _set_response(match, acting_side, ACCEPTED)


def _accept(match, transition, acting_side, reason, note, now) -> None:
    _set_response(match, acting_side, ACCEPTED)
    if match.demand_response == ACCEPTED and match.offering_response == ACCEPTED:
        match.status = S.CONNECTED


def _decide(match, transition, acting_side, reason, note, now) -> None:
    """Record a decline or reject, whose reasons the ranking learns from."""
    match.status = transition.target
    match.decision_reason = reason
    match.decision_note = note
    if acting_side:
        _set_response(match, acting_side, DECLINED)


def _no_deal(match, transition, acting_side, reason, note, now) -> None:
    match.status = S.NO_DEAL
    match.outcome_reason = reason


_EFFECTS = {
    "introduce": _introduce,
    "express_interest": _express_interest,
    "accept": _accept,
    "decline": _decide,
    "reject": _decide,
    "no_deal": _no_deal,
}


def _response(match: Match, side: str | None) -> str | None:
    return getattr(match, f"{side}_response") if side in SIDES else None


def _set_response(match: Match, side: str, response: str) -> None:
    setattr(match, f"{side}_response", response)


def _aware(moment: datetime | None) -> datetime | None:
    """Return the moment as UTC-aware; SQLite hands timestamps back naive."""
    return moment.replace(tzinfo=UTC) if moment is not None and moment.tzinfo is None else moment


def _is_overdue(match: Match, now: datetime) -> bool:
    return match.expires_at is not None and _aware(match.expires_at) <= _aware(now)


# ---------------------------------------------------------------- manual pairing and expiry


def create_manual_match(curator: User, demand, offering, note: str = "") -> Match:
    """Pair a demand and an offering by hand, as a curator's proposal."""
    if curator is None or not curator.is_curator:
        raise PermissionDenied(_("Only curators may pair a demand and an offering by hand."))
    _check_pairable(demand, offering)
    match = Match(
        demand=demand, offering=offering, source="curator", status=S.PROPOSED, score=0.0, breakdown={}, reasons=[]
    )
    db.session.add(match)
    db.session.add(
        MatchEvent(
            match=match,
            actor=curator,
            action="create",
            from_status=None,
            to_status=S.PROPOSED.value,
            note=(note or "").strip(),
        )
    )
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise ValidationFailed(_("This demand and offering are already paired.")) from None
    return match


def _check_pairable(demand, offering) -> None:
    """Raise ValidationFailed for a pair that must never be proposed."""
    if demand.status is not PostingStatus.PUBLISHED or offering.status is not PostingStatus.PUBLISHED:
        raise ValidationFailed(_("Only published demands and offerings can be paired."))
    if demand.organization_id == offering.organization_id:
        raise ValidationFailed(_("A vendor cannot be paired with its own organization."))
    existing = db.session.scalar(sa.select(Match).where(Match.demand_id == demand.id, Match.offering_id == offering.id))
    if existing is not None:
        raise ValidationFailed(
            _(
                "This demand and offering are already paired (the match is %(status)s).",
                status=_word(MATCH_STATUS_LABELS[existing.status]),
            )
        )


def _word(label) -> str:
    """Return a label as a word inside a sentence: lower case in English, as it is in Chinese."""
    return str(label).lower()


def expire_overdue(now: datetime | None = None) -> int:
    """Expire every introduction whose response deadline has passed; return how many expired."""
    now = _aware(now) or utcnow()
    overdue = db.session.scalars(
        sa.select(Match).where(Match.status == S.INTRODUCED, Match.expires_at.is_not(None), Match.expires_at <= now)
    ).all()
    expired = 0
    for match in overdue:
        try:
            _apply(match, "expire", None, reason="", note="", side=None, now=now)
        except IllegalTransition:  # a party answered in the meantime
            db.session.rollback()
            continue
        expired += 1
    return expired
