"""What a membership step tells people: in-app notifications, and the invitation email sent once committed.

The memberships domain announces each step on `signals.membership_changed`; `on_membership_changed` adds the
rows to the same transaction, so they commit or roll back with the step, and returns the delivery of an
invitation email to run after commit. `invitation_url` builds the link an invitation carries.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

import sqlalchemy as sa
from flask import current_app, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.routing import BuildError

from ..domain.memberships import active_members
from ..extensions import db
from ..models import Invitation, Notification, Organization, OutboundEmail, User
from ..vocabulary import MembershipStep, Role
from .text import source_of

log = logging.getLogger(__name__)

# Steps that tell the person they are about, with the page their notification links to.
_TO_THE_PERSON = {
    MembershipStep.JOIN_APPROVED: (
        _l("Your request to join %(org)s was approved. Welcome!"),
        ("organizations.index", "/organization/"),
    ),
    MembershipStep.JOIN_DECLINED: (_l("Your request to join %(org)s was declined."), ("main.dashboard", "/dashboard")),
    MembershipStep.REMOVED: (_l("You are no longer a member of %(org)s."), ("main.dashboard", "/dashboard")),
}


def on_membership_changed(
    organization: Organization,
    *,
    step: MembershipStep,
    actor: User | None,
    user: User | None,
    invitation: Invitation | None = None,
    token: str | None = None,
) -> Callable[[], None] | None:
    """Add the notifications or the email a membership step calls for; return the email's delivery, if any."""
    if step is MembershipStep.INVITED:
        return _invite(invitation, token)
    # A join request or an invited registration is announced before the new account is written (registration
    # commits it once, and handles a lost race there), so looking up whom to tell must not flush it early.
    with db.session.no_autoflush:
        if step is MembershipStep.JOIN_REQUESTED:
            _join_requested(organization, user)
        elif step is MembershipStep.JOINED_BY_INVITATION:
            _notify(
                [member for member in active_members(organization.id) if member is not user],
                _l("%(who)s joined %(org)s by invitation."),
                {"who": user.name or user.email, "org": organization.name},
                _link("organizations.index", "/organization/"),
            )
        elif step in _TO_THE_PERSON:
            message, (endpoint, fallback) = _TO_THE_PERSON[step]
            _notify([user], message, {"org": organization.name}, _link(endpoint, fallback))
    return None  # a withdrawn request tells nobody


def _join_requested(organization: Organization, user: User) -> None:
    """Ask the organisation's members to decide; administrators when it has none left to answer."""
    who = f"{user.name} ({user.email})" if user.name else user.email
    members = [member for member in active_members(organization.id) if member is not user]
    if members:
        _notify(
            members,
            _l("%(who)s asks to join %(org)s. Approve or decline on your organisation's page."),
            {"who": who, "org": organization.name},
            _link("organizations.index", "/organization/"),
        )
    else:  # an imported or emptied organisation: only administrators can answer
        admins = db.session.scalars(sa.select(User).where(User.role == Role.ADMIN, User.active.is_(True)))
        _notify(
            list(admins),
            _l("%(who)s asks to join %(org)s, which has no active member to answer."),
            {"who": who, "org": organization.name},
            _link("admin.index", "/admin/"),
        )


def _invite(invitation: Invitation, token: str) -> Callable[[], None]:
    """Queue the invitation email; return its delivery, for after commit."""
    email = invitation_email(invitation, token)
    db.session.add(email)
    db.session.flush()  # the email needs its id before the step commits
    email_id = email.id
    return lambda: deliver([email_id])


def invitation_url(token: str) -> str:
    """Return the link that lets the invited person register or join."""
    return site_url("organizations.join", f"/organization/join/{token}", token=token)


def site_url(endpoint: str, fallback: str, **values) -> str:
    """Return the absolute link an email carries: on MATCHMAKER_BASE_URL, else this request's host."""
    path = _link(endpoint, fallback, **values)
    base = current_app.config["MATCHMAKER_BASE_URL"]
    if base:
        return base.rstrip("/") + path
    try:
        return url_for(endpoint, **values, _external=True)
    except (RuntimeError, BuildError):
        return path


def invitation_email(invitation: Invitation, token: str) -> OutboundEmail:
    """Build the invitation email; it names the organisation and the inviter, and carries the link."""
    inviter = invitation.invited_by
    until = _aware(invitation.expires_at).date()
    subject = _("Matchmaker: an invitation to join %(org)s", org=invitation.organization.name)
    body = "\n".join(
        [
            _(
                "%(who)s invites you to join %(org)s on Matchmaker.",
                who=(inviter.name or inviter.email) if inviter else _("A member"),
                org=invitation.organization.name,
            ),
            "",
            _("Register or join with this link: %(link)s", link=invitation_url(token)),
            _("The link works once, for this email address, until %(date)s.", date=until),
        ]
    )
    return OutboundEmail(recipient=invitation.email, subject=subject[:300], body=body)


def deliver(email_ids: list[int], what: str = "an invitation email") -> None:
    """Send the email now; a failure leaves it queued for `matchmaker mail retry`."""
    try:
        from .. import mailer

        mailer.deliver(email_ids)
    except Exception:  # the step is committed; mail must not break it
        log.exception("Sending %s failed; it stays queued", what)


def _notify(users: list[User], message, values: dict, link: str) -> None:
    """Add an in-app notification for each user, in their own language."""
    default = current_app.config["BABEL_DEFAULT_LOCALE"]
    for user in users:
        with force_locale(user.locale or default):
            text = str(message) % values
        db.session.add(
            Notification(user_id=user.id, message=text, link=link, msgid=source_of(message), params=dict(values))
        )


def _link(endpoint: str, fallback: str, **values) -> str:
    """Return a path on this site, also outside a request (commands have no URL adapter)."""
    try:
        return url_for(endpoint, **values, _external=False)
    except (RuntimeError, BuildError):
        return fallback


def _aware(moment: datetime) -> datetime:
    """Return the moment as UTC-aware; SQLite hands timestamps back naive."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
