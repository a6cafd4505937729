"""Notification pages: list (unread first), mark one or all as read."""

from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, jsonify, redirect, render_template, request, url_for
from flask_login import current_user

from ..access import login_required, wants_json
from ..extensions import db
from ..models import Notification, utcnow
from .text import notification_text

bp = Blueprint("notifications", __name__, url_prefix="/notifications")


@bp.route("/")
@login_required
def index():
    """List the signed-in user's notifications, unread first, newest first."""
    query = (
        sa.select(Notification)
        .where(Notification.user_id == current_user.id)
        .order_by(Notification.read_at.is_(None).desc(), Notification.created_at.desc(), Notification.id.desc())
    )
    page = db.paginate(query, per_page=current_app.config["PER_PAGE"])
    unread = unread_count(current_user.id)
    if wants_json():
        return jsonify(
            unread=unread,
            total=page.total,
            page=page.page,
            pages=page.pages,
            notifications=[_as_json(n) for n in page.items],
        )
    return render_template("notifications/index.html", page=page, unread=unread)


@bp.post("/<int:notification_id>/read")
@login_required
def mark_read(notification_id: int):
    """Mark one of the user's notifications as read, then follow its link if asked to."""
    notification = db.session.get(Notification, notification_id)
    if notification is None or notification.user_id != current_user.id:
        abort(404)  # someone else's notification does not exist, as far as this user knows
    if notification.read_at is None:
        notification.read_at = utcnow()
        db.session.commit()
    if wants_json():
        return jsonify(notification=_as_json(notification), unread=unread_count(current_user.id))
    if request.form.get("follow") and _is_local(notification.link):
        return redirect(notification.link)
    return redirect(url_for(".index"))


@bp.post("/read-all")
@login_required
def mark_all_read():
    """Mark all of the user's notifications as read."""
    db.session.execute(
        sa.update(Notification)
        .where(Notification.user_id == current_user.id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    if wants_json():
        return jsonify(unread=0)
    return redirect(url_for(".index"))


def unread_count(user_id: int) -> int:
    """Return how many of the user's notifications are unread."""
    return (
        db.session.scalar(
            sa.select(sa.func.count(Notification.id)).where(
                Notification.user_id == user_id, Notification.read_at.is_(None)
            )
        )
        or 0
    )


def _as_json(notification: Notification) -> dict:
    return {
        "id": notification.id,
        "message": notification_text(notification),
        "link": notification.link,
        "read": notification.read_at is not None,
        "created_at": notification.created_at.isoformat(),
    }


def _is_local(link: str) -> bool:
    """Return whether a link stays on this site, so following it cannot redirect elsewhere."""
    parts = urlsplit(link or "")
    return bool(link) and parts.scheme == "" and parts.netloc == "" and link.startswith("/")
