"""Jinja helpers: taxonomy labels, enum labels and unread counts."""

from flask import Flask, request, url_for
from flask_login import current_user

from . import taxonomy
from .vocabulary import DEPLOYMENT_MODES, POSTING_KIND_LABELS, POSTING_STATUS_LABELS, VOUCHER_KINDS


def init_templating(app: Flask) -> None:
    """Register filters and globals the templates use."""
    app.jinja_env.filters["scenario_label"] = scenario_label
    app.jinja_env.filters["industry_label"] = industry_label
    app.jinja_env.filters["money"] = money
    app.jinja_env.globals.update(
        deployment_modes=DEPLOYMENT_MODES,
        voucher_kinds=VOUCHER_KINDS,
        # globals, unlike a view's context, reach the macros templates import
        posting_kind_labels=POSTING_KIND_LABELS,
        posting_status_labels=POSTING_STATUS_LABELS,
    )
    app.jinja_env.globals["page_url"] = page_url
    app.context_processor(_unread_notifications)
    app.context_processor(lambda: {"url_rules": {rule.endpoint for rule in app.url_map.iter_rules()}})


def page_url(page: int) -> str:
    """Return the current list URL with its filters kept and the page changed."""
    args = request.args.to_dict(flat=False)
    args["page"] = [str(page)]
    return url_for(request.endpoint, **(request.view_args or {}), **args)


def scenario_label(key: str) -> str:
    """Return a scenario's label, or the key if it is unknown."""
    term = taxonomy.scenarios().get(key)
    return term.bilingual() if term else key


def industry_label(code: str | None) -> str:
    """Return an industry division's label, or the code if it is unknown."""
    term = taxonomy.industries().get(code or "")
    return f"{code} {term.bilingual()}" if term else (code or "")


def money(value: int | None) -> str:
    """Format a CNY amount for people."""
    return "—" if value is None else f"¥{value:,}"


def _unread_notifications() -> dict:
    """Give every page the signed-in user's unread notification count."""
    if not current_user.is_authenticated:
        return {"unread_count": 0}
    import sqlalchemy as sa

    from .extensions import db
    from .models import Notification

    count = db.session.scalar(
        sa.select(sa.func.count(Notification.id)).where(
            Notification.user_id == current_user.id, Notification.read_at.is_(None)
        )
    )
    return {"unread_count": count or 0}
