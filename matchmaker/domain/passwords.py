"""Passwords: the strength rules, hashing them the current way, changing them, and resetting them by a link.

A reset token is signed with the app's secret key, expires after MATCHMAKER_PASSWORD_RESET_HOURS, and carries
the account's session version, which any password change raises: so a token works once, and not after the
password changed another way. Changing the password also ends every session opened before (`User.get_id`).
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from flask import current_app
from flask_babel import lazy_gettext as _
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from werkzeug.security import generate_password_hash

from ..extensions import db
from ..models import User
from .errors import FieldError, ValidationFailed

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 200
COMMON_PASSWORDS_FILE = Path(__file__).resolve().parent.parent / "data" / "common_passwords.txt"
RESET_SALT = "matchmaker.password-reset"
# Fewer different characters than this is a pattern, not a password ("aaaaaaaaaa", "ababababab").
MIN_DISTINCT_CHARACTERS = 4


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """Return the shipped list of common passwords and their stems, lower-cased."""
    lines = COMMON_PASSWORDS_FILE.read_text("utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines if line.strip() and not line.startswith("#"))


def _stem(password: str) -> str:
    """Return the password lower-cased, without the digits and symbols around it ("Password2024!" → "password")."""
    return re.sub(r"^[\W\d_]+|[\W\d_]+$", "", password.lower())


def password_problems(password: str, email: str = "", name: str = "") -> list[str]:
    """Return what is wrong with a new password, in the reader's language; empty when it is strong enough."""
    password = password or ""
    if len(password) < MIN_PASSWORD_LENGTH:
        return [_("Use at least %(count)d characters.", count=MIN_PASSWORD_LENGTH)]
    if len(password) > MAX_PASSWORD_LENGTH:
        return [_("Use at most %(count)d characters.", count=MAX_PASSWORD_LENGTH)]
    lowered = password.lower()
    common = common_passwords()
    if lowered in common or _stem(password) in common or len(set(lowered)) < MIN_DISTINCT_CHARACTERS:
        return [_("This password is too common or too simple; choose one that is harder to guess.")]
    if _mentions_person(lowered, email, name):
        return [_("Do not build the password from your email address or your name.")]
    return []


def _mentions_person(lowered: str, email: str, name: str) -> bool:
    """Return whether the password contains the email's local part or the name (when long enough to count)."""
    local = (email or "").strip().lower().split("@")[0]
    compact_name = re.sub(r"\s+", "", (name or "").lower())
    stems = [part for part in (local, compact_name) if len(part) >= 4]
    compact = re.sub(r"\s+", "", lowered)
    return any(stem in compact for stem in stems) or lowered == (email or "").strip().lower()


def check_password_strength(password: str, email: str = "", name: str = "", field: str = "password") -> None:
    """Raise ValidationFailed, on the given field, if the password breaks a strength rule."""
    problems = password_problems(password, email, name)
    if problems:
        raise ValidationFailed(errors=[FieldError(field, problem) for problem in problems])


@lru_cache(maxsize=8)
def _hash_prefix(method: str) -> str:
    """Return how a hash made with this method begins (`scrypt` → `scrypt:32768:8:1`)."""
    return generate_password_hash("", method=method).split("$", 1)[0]


def needs_rehash(user: User) -> bool:
    """Return whether the stored hash was made another way than the configured one."""
    configured = _hash_prefix(current_app.config["MATCHMAKER_PASSWORD_HASH"])
    return (user.password_hash or "").split("$", 1)[0] != configured


def rehash_if_outdated(user: User, password: str) -> None:
    """Replace an outdated hash with one made the current way, at sign-in, and commit; sessions stay open."""
    if needs_rehash(user):
        user.set_password(password, end_sessions=False)
        db.session.commit()


def change_password(user: User, current: str, new: str) -> User:
    """Set a new password after checking the current one; end every other session, and commit."""
    if not user.check_password(current or ""):
        raise ValidationFailed(_("Your current password is not correct."), field="current_password")
    check_password_strength(new, user.email, user.name, field="password")
    user.set_password(new)
    db.session.commit()
    return user


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt=RESET_SALT)


def reset_token(user: User) -> str:
    """Return a signed token that lets the account's owner choose a new password, once."""
    return _serializer().dumps([user.id, user.session_version or 0])


def request_password_reset(email: str) -> tuple[User, str] | None:
    """Return the active account with this email and a reset token for it, or None; say nothing either way."""
    from .accounts import find_user_by_email  # accounts builds on this module

    user = find_user_by_email(email)
    if user is None or not user.is_active:
        return None
    return user, reset_token(user)


def user_for_reset_token(token: str) -> User:
    """Return the account a reset token is for, or raise ValidationFailed if it expired, was used or is forged."""
    hours = current_app.config["MATCHMAKER_PASSWORD_RESET_HOURS"]
    try:
        user_id, version = _serializer().loads(token, max_age=hours * 3600)
    except (SignatureExpired, BadSignature, ValueError, TypeError):
        user_id, version = None, None
    user = db.session.get(User, user_id) if isinstance(user_id, int) else None
    if user is None or not user.is_active or (user.session_version or 0) != version:
        raise ValidationFailed(_("This password reset link has expired or was already used; ask for a new one."))
    return user


def reset_password(token: str, new: str) -> User:
    """Set the password of the account a reset token is for, which ends its sessions and the token; commit."""
    user = user_for_reset_token(token)
    check_password_strength(new, user.email, user.name, field="password")
    user.set_password(new)
    db.session.commit()
    return user
