"""API tokens: a person creates named tokens, sees each one once, and revokes them.

Only a token's SHA-256 is stored. A token acts as its owner with exactly the owner's rights; it stops
working when revoked or when the owner's account is deactivated.
"""

from __future__ import annotations

import secrets
from datetime import UTC, timedelta

import sqlalchemy as sa
from flask_babel import gettext as _

from ..extensions import db
from ..models import ApiToken, User, utcnow
from .checks import contains_nul
from .errors import NotFound, ValidationFailed
from .memberships import hash_token

TOKEN_PREFIX = "mm_"
NAME_MAX = 80
MAX_TOKENS = 20
# Last use is kept to the minute: a read through the API must not write to the database on every request.
LAST_USED_PRECISION = timedelta(minutes=1)


def tokens_of(user: User) -> list[ApiToken]:
    """Return the user's tokens that still work, newest first."""
    return db.session.scalars(
        sa.select(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
    ).all()


def create_token(user: User, name: str) -> tuple[ApiToken, str]:
    """Create a named token for the user; return it and the secret, which is shown only this once."""
    name = (name or "").strip()
    if not name:
        raise ValidationFailed(_("This field is required."), field="name")
    if contains_nul(name):
        raise ValidationFailed(_("Text cannot contain the NUL character."), field="name")
    if len(name) > NAME_MAX:
        raise ValidationFailed(_("At most %(count)d characters.", count=NAME_MAX), field="name")
    if len(tokens_of(user)) >= MAX_TOKENS:
        raise ValidationFailed(_("You have %(count)d tokens already; revoke one first.", count=MAX_TOKENS))
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user=user, name=name, token_hash=hash_token(secret), prefix=secret[:10])
    db.session.add(token)
    db.session.commit()
    return token, secret


def revoke_token(user: User, token_id: int) -> ApiToken:
    """Revoke one of the user's own tokens; another person's token does not exist for them."""
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != user.id or token.revoked_at is not None:
        raise NotFound(_("There is no such token."))
    token.revoked_at = utcnow()
    db.session.commit()
    return token


def user_for_token(secret: str) -> User | None:
    """Return the active user a token acts for, noting when it was last used; None for a bad or revoked token."""
    if not secret or not secret.startswith(TOKEN_PREFIX):
        return None
    token = db.session.scalar(
        sa.select(ApiToken).where(ApiToken.token_hash == hash_token(secret), ApiToken.revoked_at.is_(None))
    )
    if token is None or not token.user.is_active:
        return None
    _note_use(token)
    return token.user


def _note_use(token: ApiToken) -> None:
    """Record the token's use, at most once per LAST_USED_PRECISION."""
    now = utcnow()
    last = token.last_used_at
    if last is not None and last.tzinfo is None:  # SQLite hands timestamps back naive
        last = last.replace(tzinfo=UTC)
    if last is None or now - last >= LAST_USED_PRECISION:
        token.last_used_at = now
        db.session.commit()
