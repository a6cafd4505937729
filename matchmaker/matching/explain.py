"""Reasons a person can check for why a demand and an offering fit, or do not."""

from __future__ import annotations

from .. import taxonomy
from .facts import PostingFacts
from .ranking import UNKNOWN


def _modes(modes) -> str:
    """Name deployment modes in the stored English reasons: by key, "on_premises" written "on-premises"."""
    return ", ".join(mode.replace("_", "-") for mode in modes)


def _money(lo, hi) -> str:
    if lo is None and hi is None:
        return "not stated"
    if hi is None:
        return f"from ¥{lo:,}"
    return f"¥{lo or 0:,}–¥{hi:,}"


def _scenario_reasons(demand: PostingFacts, offering: PostingFacts) -> list[dict]:
    shared = [k for k in demand.scenarios if k in offering.scenarios]
    catalogue = taxonomy.scenarios()
    labels = [catalogue[k].bilingual() for k in shared if k in catalogue]
    if labels:
        return [{"kind": "scenario", "keys": shared, "text": "Shared scenarios: " + "; ".join(labels)}]
    return []


def _term_reasons(terms: list[str]) -> list[dict]:
    # Bare numbers and single letters match by accident; they explain nothing.
    terms = [t for t in terms if not t.isdigit() and (len(t) > 1 or not t.isascii())]
    if not terms:
        return []
    return [{"kind": "terms", "terms": terms[:6], "text": "Key terms in both texts: " + ", ".join(terms[:6])}]


def _fact(parts: dict, name: str, fit_text: str, misfit_text: str) -> list[dict]:
    """Return a fit or misfit reason for a facet, nothing when the facet is unknown."""
    value = parts.get(name, UNKNOWN)
    if value == UNKNOWN:
        return []
    if value >= 1.0:
        return [{"kind": "fit", "facet": name, "text": fit_text}]
    if value <= 0.0 or name in ("budget", "deployment", "region"):
        return [{"kind": "misfit", "facet": name, "text": misfit_text}]
    return []


def explain(demand: PostingFacts, offering: PostingFacts, parts: dict, terms: list[str]) -> list[dict]:
    """Return readable reasons: shared scenarios, key terms, and facts that fit or do not."""
    budget, price = _money(demand.money_min, demand.money_max), _money(offering.money_min, offering.money_max)
    wanted, offered = _modes(demand.deployments), _modes(offering.deployments)
    industry = taxonomy.industries().get(demand.industries[0]) if demand.industries else None
    reasons = _scenario_reasons(demand, offering) + _term_reasons(terms)
    reasons += _fact(
        parts,
        "industry",
        f"Serves the demand's industry: {industry.bilingual() if industry else ''}",
        "Does not list the demand's industry",
    )
    reasons += _fact(parts, "budget", f"Budget {budget} fits price {price}", f"Budget {budget} vs price {price}")
    reasons += _fact(parts, "region", f"Serves {demand.city}", f"Does not list {demand.city} among regions served")
    reasons += _fact(
        parts, "deployment", f"Offers {wanted} deployment as wanted", f"Wants {wanted} deployment; offers {offered}"
    )
    reasons += _fact(
        parts, "capacity", f"Can take {offering.capacity_left} more engagements", "No capacity left for new engagements"
    )
    return reasons
