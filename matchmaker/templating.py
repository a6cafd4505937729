"""Jinja helpers: taxonomy and enum labels in the reader's language, locale-aware dates and money, unread counts."""

from datetime import date, datetime

from flask import Flask, current_app, request, url_for
from flask_babel import format_date, format_datetime, format_decimal, format_percent, get_locale
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup, escape

from . import taxonomy
from .access import may_see_confidential
from .i18n import format_money, language_switch
from .matching.distinctive import shown_terms
from .matching.explain import REASON_TEXTS, reason_text, visible_reasons
from .notifications.text import notification_text
from .vocabulary import (
    DEPLOYMENT_MODES,
    MATCH_SOURCE_LABELS,
    MATCH_STATUS_LABELS,
    POSTING_KIND_LABELS,
    POSTING_STATUS_LABELS,
    REGION_LABELS,
    RESPONSE_LABELS,
    VOUCHER_KINDS,
    place_name,
)


def init_templating(app: Flask) -> None:
    """Register filters and globals the templates use."""
    app.jinja_env.filters.update(
        scenario_label=scenario_label,
        industry_label=industry_label,
        money=money,
        date=show_date,
        datetime=show_datetime,
        reason_text=reason_markup,
        visible_reasons=visible_reasons,
        user_text=user_text,
        place_label=place_label,
        notification_text=lambda notification: notification_text(notification, mark=user_text),
        region_label=region_label,
        decimal=show_decimal,
        percent=show_percent,
    )
    app.jinja_env.globals.update(
        deployment_modes=DEPLOYMENT_MODES,
        voucher_kinds=VOUCHER_KINDS,
        # globals, unlike a view's context, reach the macros templates import
        posting_kind_labels=POSTING_KIND_LABELS,
        posting_status_labels=POSTING_STATUS_LABELS,
        match_status_labels=MATCH_STATUS_LABELS,
        match_source_labels=MATCH_SOURCE_LABELS,
        response_labels=RESPONSE_LABELS,
    )
    app.jinja_env.globals["page_url"] = page_url
    app.jinja_env.globals["may_see_confidential"] = may_see_confidential
    app.jinja_env.globals["action_label"] = action_label
    app.jinja_env.globals["mark_names"] = mark_names
    app.context_processor(_unread_notifications)
    app.context_processor(_matching_status)
    app.context_processor(language_switch)
    app.context_processor(lambda: {"url_rules": {rule.endpoint for rule in app.url_map.iter_rules()}})


def show_decimal(value: float | None, places: int = 2) -> str:
    """Format a score or a number of points for the reader's locale, with that many decimals (Babel)."""
    pattern = "#,##0." + "0" * places if places else "#,##0"
    return format_decimal(value or 0, format=pattern)


def show_percent(value: float | None) -> str:
    """Format a share (0.5) as a whole percentage for the reader's locale (50%), or a dash when there is none."""
    return "—" if value is None else format_percent(value)


def user_text(value) -> Markup:
    """Mark what people typed (titles, descriptions, names, cities, emails) as theirs: it stays in the language it
    was written in, and the interface's language check (tests/language_check.py) leaves it out.

    The text is escaped like any other; markup already made safe (highlighted terms) is kept. Nothing is marked
    for an empty value, so `value|user_text or '—'` still shows the dash.
    """
    if value is None or value == "":
        return Markup("")
    return Markup('<span data-user-content="">%s</span>') % value


def mark_names(label: str, *names: str | None) -> Markup:
    """Mark the names people typed inside a label built elsewhere ("Foshan Textiles · Liang Guohua")."""
    marked = escape(label)
    for name in sorted({name for name in names if name}, key=len, reverse=True):
        marked = marked.replace(escape(name), user_text(name))
    return marked


def place_label(name: str | None) -> Markup:
    """Show a city or place in the reader's language when it is a known one, else as its writer typed it."""
    known = place_name(name, str(get_locale()))
    return escape(known) if known else user_text(name)


def region_label(region: str) -> Markup:
    """Show a region an offering serves: one of the fixed regions' labels, else the place it names."""
    return escape(str(REGION_LABELS[region])) if region in REGION_LABELS else place_label(region)


def reason_markup(reason: dict) -> Markup:
    """Write a match reason for a page in the reader's language; the key terms it names are the postings' own words,
    so they are marked as user text (in an email or an export the same reason is plain text: `reason_text`)."""
    if reason.get("key") == "shared_terms":
        terms = Markup(", ").join(user_text(term) for term in shown_terms(reason["params"].get("terms", [])))
        return Markup(escape(str(REASON_TEXTS["shared_terms"]))) % {"terms": terms}
    if reason.get("key") in ("region_fit", "region_misfit"):
        return Markup(escape(str(REASON_TEXTS[reason["key"]]))) % {"city": place_label(reason["params"].get("city"))}
    return escape(reason_text(reason))


def page_url(page: int) -> str:
    """Return the current list URL with its filters kept and the page changed."""
    args = request.args.to_dict(flat=False)
    args["page"] = [str(page)]
    return url_for(request.endpoint, **(request.view_args or {}), **args)


def action_label(action: str) -> str:
    """Return the label of a step a match took, as its audit trail shows it."""
    from .domain.workflow import TRANSITIONS

    if action in TRANSITIONS:
        return str(TRANSITIONS[action].label)
    return str(_l("Paired by hand")) if action == "create" else action


def scenario_label(key: str) -> str:
    """Return a scenario's label in the reader's language, or the key if it is unknown."""
    term = taxonomy.scenarios().get(key)
    return term.label(str(get_locale())) if term else key


def industry_label(code: str | None) -> str:
    """Return an industry division's code and label in the reader's language, or the code if it is unknown."""
    term = taxonomy.industries().get(code or "")
    return f"{code} {term.label(str(get_locale()))}" if term else (code or "")


def money(value: int | None) -> str:
    """Format a CNY amount in the reader's locale, without decimals: amounts are whole yuan."""
    if value is None:
        return "—"
    return format_money(value)


def show_date(value: date | datetime | None) -> str:
    """Format a date (or the date of a moment) in the reader's locale; nothing for none."""
    if value is None:
        return ""
    return format_date(value.date() if isinstance(value, datetime) else value, "medium")


def show_datetime(value: datetime | None) -> str:
    """Format a moment, to the minute, in the reader's locale; nothing for none."""
    return "" if value is None else format_datetime(value, "short")


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


def _matching_status() -> dict:
    """Tell signed-in people on every page when this process cannot match, and why; never loads the model."""
    if not current_user.is_authenticated:
        return {}
    from .domain.errors import matching_unavailable
    from .matching.availability import unavailable_reason

    failure = unavailable_reason(current_app)
    return {"matching_unavailable": matching_unavailable(failure.model, failure.reason).message} if failure else {}
