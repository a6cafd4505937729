"""Reasons a person can check for why a demand and an offering fit, or do not.

A reason is stored language-neutral: its kind (scenario, terms, fit, misfit), a `key` naming the sentence and
the `params` it needs (scenario keys, amounts, mode keys, the city as written). `reason_text` writes the
sentence in the reader's locale when the reason is shown, so one stored match reads in every language.
"""

from __future__ import annotations

from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from .. import taxonomy
from ..i18n import format_money
from ..vocabulary import DEPLOYMENT_WORDS
from .distinctive import shown_terms
from .facts import PostingFacts
from .ranking import UNKNOWN

# The sentence of each reason key; %(…)s are filled by `reason_text` from the stored params.
REASON_TEXTS = {
    "shared_scenarios": _l("Shared scenarios: %(scenarios)s"),
    "shared_terms": _l("Key terms in both texts: %(terms)s"),
    "industry_fit": _l("Serves the demand's industry: %(industry)s"),
    "industry_misfit": _l("Does not list the demand's industry"),
    "budget_fit": _l("Budget %(budget)s fits price %(price)s"),
    "budget_misfit": _l("Budget %(budget)s vs price %(price)s"),
    "region_fit": _l("Serves %(city)s"),
    "region_misfit": _l("Does not list %(city)s among regions served"),
    "deployment_fit": _l("Offers %(wanted)s deployment as wanted"),
    "deployment_misfit": _l("Wants %(wanted)s deployment; offers %(offered)s"),
    "capacity_misfit": _l("No capacity left for new engagements"),
}


def _scenario_reasons(demand: PostingFacts, offering: PostingFacts) -> list[dict]:
    catalogue = taxonomy.scenarios()
    shared = [k for k in demand.scenarios if k in offering.scenarios and k in catalogue]
    if shared:
        return [{"kind": "scenario", "keys": shared, "key": "shared_scenarios", "params": {"scenarios": shared}}]
    return []


def _term_reasons(terms: list[str]) -> list[dict]:
    terms = shown_terms(terms)[:6]
    if not terms:
        return []
    return [{"kind": "terms", "terms": terms, "key": "shared_terms", "params": {"terms": terms}}]


def _fact(parts: dict, name: str, params: dict) -> list[dict]:
    """Return a fit or misfit reason for a facet, nothing when the facet is unknown."""
    value = parts.get(name, UNKNOWN)
    if value == UNKNOWN:
        return []
    if value >= 1.0:
        return [{"kind": "fit", "facet": name, "key": f"{name}_fit", "params": params}]
    if value <= 0.0 or name in ("budget", "deployment", "region"):
        return [{"kind": "misfit", "facet": name, "key": f"{name}_misfit", "params": params}]
    return []


def explain(demand: PostingFacts, offering: PostingFacts, parts: dict, terms: list[str]) -> list[dict]:
    """Return the reasons, language-neutral: shared scenarios, key terms, and facts that fit or do not."""
    money = {
        "budget": [None, None] if demand.money_confidential else [demand.money_min, demand.money_max],
        "price": [offering.money_min, offering.money_max],
    }
    modes = {"wanted": list(demand.deployments), "offered": list(offering.deployments)}
    reasons = _scenario_reasons(demand, offering) + _term_reasons(terms)
    reasons += _fact(parts, "industry", {"industry": demand.industries[0] if demand.industries else ""})
    reasons += _fact(parts, "budget", money)
    reasons += _fact(parts, "region", {"city": demand.city})
    reasons += _fact(parts, "deployment", modes)
    reasons += _fact(parts, "capacity", {"count": offering.capacity_left})
    return reasons


def visible_reasons(reasons: list[dict] | None) -> list[dict]:
    """Return the stored reasons worth showing: a key-terms reason stored with only fragments is left out."""
    return [r for r in reasons or [] if r.get("key") != "shared_terms" or shown_terms(r["params"].get("terms", []))]


def reason_text(reason: dict, locale: str | None = None) -> str:
    """Return a stored reason as a sentence in the current locale.

    locale: the current locale as a string, for a caller writing many reasons that looks it up once.
    """
    key, params = reason.get("key"), reason.get("params") or {}
    if key == "capacity_fit":
        count = params.get("count") or 0
        return ngettext("Can take %(num)d more engagement", "Can take %(num)d more engagements", count)
    if key not in REASON_TEXTS:  # a reason stored before reasons had keys keeps its English text
        return reason.get("text", "")
    locale = locale or str(get_locale())
    return _sentence(locale, key) % _fill(key, params, locale)


_SENTENCES: dict[tuple[str, str], str] = {}


def _sentence(locale: str, key: str) -> str:
    """Return a reason key's sentence translated for a locale (translated once per process and locale)."""
    found = _SENTENCES.get((locale, key))
    if found is None:
        found = _SENTENCES[locale, key] = str(REASON_TEXTS[key])
    return found


def _fill(key: str, params: dict, locale: str) -> dict:
    """Return the sentence's values: labels in the reader's locale, amounts and modes formatted for it."""
    if key == "shared_scenarios":
        catalogue = taxonomy.scenarios()
        names = [catalogue[k].label(locale) if k in catalogue else k for k in params.get("scenarios", [])]
        return {"scenarios": "; ".join(names)}
    if key == "shared_terms":
        return {"terms": ", ".join(shown_terms(params.get("terms", [])))}
    if key == "industry_fit":
        term = taxonomy.industries().get(params.get("industry") or "")
        return {"industry": term.label(locale) if term else ""}
    if key.startswith("budget"):
        budget, price = params.get("budget", [None, None]), params["price"]
        return {"budget": _money_range(*budget, locale), "price": _money_range(*price, locale)}
    if key.startswith("deployment"):
        return {"wanted": _modes(params.get("wanted", [])), "offered": _modes(params.get("offered", []))}
    return params


def _money_range(low, high, locale: str) -> str:
    if low is None and high is None:
        return _("not stated")
    if high is None:
        return _("from %(amount)s", amount=format_money(low, locale))
    return f"{format_money(low or 0, locale)}–{format_money(high, locale)}"


def _modes(modes) -> str:
    return ", ".join(str(DEPLOYMENT_WORDS.get(mode, mode)) for mode in modes)
