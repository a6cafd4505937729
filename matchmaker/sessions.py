"""Which account a session belongs to, and whether the session still counts.

A session (and a remember-me cookie) carries `User.get_id()`: the account id and its session version, as
`7-2`. Changing the password raises the version, so every session opened before no longer matches.
"""

from __future__ import annotations

from .extensions import db
from .models import User


def load_user(session_id: str) -> User | None:
    """Return the signed-in user for Flask-Login; a deactivated account's or an outdated session no longer counts."""
    user = user_of_session(session_id)
    return user if user is not None and user.is_active and user.get_id() == session_id else None


def user_of_session(session_id) -> User | None:
    """Return the account a session id names, whether or not the session still counts."""
    account_id = str(session_id or "").split("-", 1)[0]
    return db.session.get(User, int(account_id)) if account_id.isdigit() else None
