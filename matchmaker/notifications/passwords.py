"""The password reset email: the link that lets a person choose a new password, in their own language."""

from __future__ import annotations

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _

from ..extensions import db
from ..models import OutboundEmail, User
from .memberships import deliver, site_url


def send_password_reset(user: User, token: str) -> None:
    """Queue the reset email, commit it, and send it now; a failed send stays queued for a retry."""
    email = password_reset_email(user, token)
    db.session.add(email)
    db.session.commit()
    deliver([email.id], what="a password reset email")


def password_reset_email(user: User, token: str) -> OutboundEmail:
    """Build the reset email in the person's language; it carries the link and says how long it works."""
    link = site_url("auth.reset_password", f"/auth/reset/{token}", token=token)
    hours = current_app.config["MATCHMAKER_PASSWORD_RESET_HOURS"]
    with force_locale(user.locale or current_app.config["BABEL_DEFAULT_LOCALE"]):
        subject = _("Matchmaker: choose a new password")
        body = "\n".join(
            [
                _("Someone (we hope you) asked to reset the password of your Matchmaker account."),
                "",
                _("Choose a new password with this link: %(link)s", link=link),
                _("The link works once, for %(hours)d hours. If you did not ask, ignore this email.", hours=hours),
            ]
        )
    return OutboundEmail(recipient=user.email, subject=subject, body=body)
