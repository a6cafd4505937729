"""The interface's language: which locale a request is shown in, the switch that chooses it, and the catalogues.

A choice made with the switch wins (kept in the session, and in the profile of a signed-in person), then the
profile's locale, then the browser's Accept-Language, then the configured default.
"""

from __future__ import annotations

from babel.numbers import format_currency
from flask import Blueprint, current_app, has_request_context, redirect, request, session
from flask_babel import get_locale
from flask_login import current_user

from .access import safe_next
from .vocabulary import DEFAULT_LOCALE, LANGUAGE_OF_LOCALE, UI_LOCALE_NAMES, UI_LOCALES

SESSION_KEY = "locale"

# Chinese tags name a script (zh-Hant) or a region (zh-HK); regions that write Traditional characters.
_TRADITIONAL_REGIONS = {"hk", "tw", "mo"}

bp = Blueprint("i18n", __name__)


def locale_of_tag(tag: str) -> str | None:
    """Return the UI locale a browser language tag asks for (zh-CN → zh_Hans, zh-HK → zh_Hant), or None."""
    subtags = tag.strip().lower().replace("_", "-").split("-")
    if subtags[0] == "en":
        return "en"
    if subtags[0] != "zh":
        return None
    rest = set(subtags[1:])
    if "hant" in rest or (rest & _TRADITIONAL_REGIONS and "hans" not in rest):
        return "zh_Hant"
    return "zh_Hans"  # zh, zh-CN, zh-SG, zh-Hans and any other Chinese write Simplified characters


def browser_locale(accept_languages) -> str | None:
    """Return the first supported UI locale in an Accept-Language header, by preference, or None."""
    for tag, _quality in accept_languages:  # werkzeug keeps them sorted by quality, ties in header order
        locale = locale_of_tag(tag)
        if locale in UI_LOCALES:
            return locale
    return None


def select_locale() -> str:
    """Return the locale of this request: the switch's choice, the profile's, the browser's, else the default."""
    default = current_app.config["BABEL_DEFAULT_LOCALE"]
    if not has_request_context():  # CLI commands and workers translate outside any request
        return default
    chosen = session.get(SESSION_KEY, "")
    if chosen in UI_LOCALES:
        return chosen
    profile = _profile_locale()
    if profile in UI_LOCALES:
        return profile
    return browser_locale(request.accept_languages) or default


def _profile_locale() -> str:
    """Return the locale in the profile of whoever makes the request: an API token's owner, or the signed-in user."""
    from .api.auth import api_user

    user = api_user() if request.path.startswith("/api/") else current_user
    return user.locale if user is not None and user.is_authenticated else ""


_MONEY: dict[tuple[str, int], str] = {}  # (locale, amount) → text: reasons format the same few amounts often


def format_money(amount: int, locale: str | None = None) -> str:
    """Format a whole CNY amount for the current locale, or the given one (¥200,000, CN¥200,000), without decimals."""
    key = (locale or str(get_locale()), amount)
    text = _MONEY.get(key)
    if text is None:
        if len(_MONEY) > 10_000:
            _MONEY.clear()
        text = _MONEY[key] = format_currency(amount, "CNY", format="¤#,##0", locale=key[0], currency_digits=False)
    return text


def html_lang(locale) -> str:
    """Return the BCP 47 tag for `<html lang>` of a UI locale (zh_Hant → zh-Hant)."""
    return LANGUAGE_OF_LOCALE.get(str(locale), LANGUAGE_OF_LOCALE[DEFAULT_LOCALE])


@bp.route("/language", methods=["POST"])
def switch():
    """Show the interface in the chosen language from now on, and go back to the page the switch was on."""
    locale = request.form.get("locale", "")
    if locale in UI_LOCALES:
        session[SESSION_KEY] = locale
        if current_user.is_authenticated:
            from .domain.accounts import choose_locale

            choose_locale(current_user, locale)
    return redirect(safe_next(request.form.get("next")))


def language_switch() -> dict:
    """Give every page the switch's choices, each named in its own language, and the current one."""
    from flask_babel import get_locale

    return {"ui_locale_names": UI_LOCALE_NAMES, "current_locale": str(get_locale()), "html_lang": html_lang}
