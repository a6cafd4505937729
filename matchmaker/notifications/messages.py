"""What a match step tells people: in-app notifications and queued emails, sent once the step has committed.

The workflow announces each step on `signals.match_changed`; `on_match_changed` adds the rows to the same
transaction, so they commit or roll back with the step, and returns the delivery to run after commit.
Contact details appear only once the two parties are connected (`workflow.can_see_contacts`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import sqlalchemy as sa
from flask import current_app, url_for
from flask_babel import force_locale, format_date
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.routing import BuildError

from ..domain.workflow import can_see_contacts, party_side
from ..extensions import db
from ..models import Match, MatchEvent, Notification, OutboundEmail, User
from ..vocabulary import DEMAND, MATCH_STATUS_LABELS, MatchStatus, Role
from .text import source_of

log = logging.getLogger(__name__)

_MESSAGES = {
    "shortlist": _l("A curator shortlisted “%(demand)s” with “%(offering)s”."),
    "reject": _l("A curator set aside the pairing of “%(demand)s” with “%(offering)s”."),
    "introduce": _l("A curator introduced “%(demand)s” and “%(offering)s”. Please accept or decline by %(deadline)s."),
    "express_interest": _l(
        "%(org)s is interested in pairing “%(demand)s” with “%(offering)s”. Please accept or decline by %(deadline)s."
    ),
    "accept": _l("%(org)s accepted the introduction of “%(demand)s” and “%(offering)s”."),
    "connected": _l(
        "Both sides accepted: “%(demand)s” and “%(offering)s” are connected. Contact details are on the match page."
    ),
    "decline": _l("%(org)s declined the introduction of “%(demand)s” and “%(offering)s”."),
    "expire": _l("The introduction of “%(demand)s” and “%(offering)s” expired before both sides accepted."),
    "pilot_started": _l("A pilot started for “%(demand)s” with “%(offering)s”."),
    "contract_signed": _l("A contract was signed for “%(demand)s” with “%(offering)s”."),
    "no_deal": _l("No deal was reached for “%(demand)s” with “%(offering)s”."),
}


def on_match_changed(
    match: Match, *, event: MatchEvent, actor: User | None, side: str | None
) -> Callable[[], None] | None:
    """Queue a notification and an email for everyone the step concerns; return their delivery, for after commit."""
    emails = notify(match, event, actor, side)
    if not emails:
        return None
    db.session.flush()  # the emails need their ids before the step commits
    email_ids = [email.id for email in emails]
    return lambda: deliver(email_ids)


def notify(match: Match, event: MatchEvent, actor: User | None, side: str | None) -> list[OutboundEmail]:
    """Add a notification and a queued email for everyone the step concerns; return the emails."""
    link = match_link(match)
    emails = []
    # whoever completes a connection gets the contact details by email like the other side
    everyone = event.action == "accept" and match.status is MatchStatus.CONNECTED
    for user in audience(match, None if everyone else actor):
        with force_locale(user.locale or current_app.config["BABEL_DEFAULT_LOCALE"]):
            message = _message(match, event, side)
            subject = _(
                "Matchmaker: %(demand)s — %(status)s",
                demand=match.demand.title,
                status=MATCH_STATUS_LABELS[match.status],
            )
            body = _email_body(match, user, message, link)
        db.session.add(Notification(user_id=user.id, message=message, link=link, **_source(match, event, side)))
        email = OutboundEmail(recipient=user.email, subject=subject[:300], body=body)
        db.session.add(email)
        emails.append(email)
    return emails


def audience(match: Match, actor: User | None) -> list[User]:
    """Return the members of both organizations, and curators unless a curator acted; never the actor."""
    org_ids = (match.demand.organization_id, match.offering.organization_id)
    condition = User.organization_id.in_(org_ids)
    if actor is None or not actor.is_curator:
        condition = condition | User.role.in_((Role.CURATOR, Role.ADMIN))
    users = db.session.scalars(sa.select(User).where(condition, User.active.is_(True)).order_by(User.id)).all()
    return [user for user in users if actor is None or user.id != actor.id]


def deliver(email_ids: list[int]) -> None:
    """Send a step's emails now; failures stay queued for `matchmaker mail retry`."""
    try:
        from .. import mailer

        mailer.deliver(email_ids)
    except Exception:  # the step is committed; mail must never undo or break it
        log.exception("Sending emails for a match step failed; they stay queued")


def match_link(match: Match) -> str:
    """Return the path of the match page, also outside a request (commands have no URL adapter)."""
    try:
        return url_for("matches.detail", match_id=match.id, _external=False)
    except (RuntimeError, BuildError):
        return f"/matches/{match.id}"


def _message(match: Match, event: MatchEvent, side: str | None) -> str:
    """Return the notification text for one step; it names organizations, never their contact details."""
    key = "connected" if event.action == "accept" and match.status is MatchStatus.CONNECTED else event.action
    org = getattr(match, side).organization.name if side else _("A curator")
    deadline = format_date(match.expires_at, "medium") if match.expires_at else ""
    return str(_MESSAGES[key]) % {
        "demand": match.demand.title,
        "offering": match.offering.title,
        "org": org,
        "deadline": deadline,
    }


def _source(match: Match, event: MatchEvent, side: str | None) -> dict:
    """Return what a notification keeps of its message, to be written in the reader's language when shown."""
    key = "connected" if event.action == "accept" and match.status is MatchStatus.CONNECTED else event.action
    return {
        "msgid": source_of(_MESSAGES[key]),
        "params": {
            "demand": match.demand.title,
            "offering": match.offering.title,
            "org": getattr(match, side).organization.name if side else None,  # None: "A curator"
            "deadline": match.expires_at.date().isoformat() if match.expires_at else None,
        },
    }


def _email_body(match: Match, user: User, message: str, link: str) -> str:
    """Return an email body; the counterpart's contact details appear only once connected."""
    lines = [message, "", _("See the match: %(link)s", link=_absolute(link))]
    side = party_side(user, match)
    if side and can_see_contacts(match):
        counterpart = (match.offering if side == DEMAND else match.demand).organization
        lines += [
            "",
            _("Contact %(name)s:", name=counterpart.name),
            _("Email: %(email)s", email=counterpart.contact_email or "—"),
            _("Phone: %(phone)s", phone=counterpart.contact_phone or "—"),
        ]
    return "\n".join(str(line) for line in lines)


def _absolute(path: str) -> str:
    """Prefix a path with the configured base URL, when there is one, for links in emails."""
    base = current_app.config["MATCHMAKER_BASE_URL"]
    return base.rstrip("/") + path if base else path
