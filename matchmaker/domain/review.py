"""What a curator decides a match from: both full texts with the matched terms marked, and the score in words.

A term is marked in both texts when it is one of the key terms the engine found in both, or when both texts
use words of the same scenario or industry of the taxonomy: its labels and synonyms, in all three languages,
are what lets a Simplified demand's 缺陷检测 correspond to an English offering's "defect detection".
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from flask import current_app
from flask_babel import lazy_gettext as _l

from .. import taxonomy
from ..matching.distinctive import shown_terms
from ..matching.ranking import FACETS, UNKNOWN, RankingWeights
from ..matching.text import tokenize
from ..models import Demand, Match, Offering
from ..vocabulary import SCORE_PART_LABELS
from .highlight import FoldedText, Segment


@dataclass(frozen=True)
class ReviewText:
    """One side of a match as the curator reads it: each field of its text as marked segments."""

    title: list[Segment]
    description: list[Segment]
    more: list[Segment]  # what data the factory has, or the vendor's case studies


@dataclass(frozen=True)
class ScoreComponent:
    """One part of a match's score on a 0–100 scale, with what it means for this pair."""

    key: str
    label: str
    value: int
    points: float  # what it adds to the overall 0–100 fit
    meaning: str


def review_texts(match: Match) -> tuple[ReviewText, ReviewText]:
    """Return the demand's and the offering's texts with the terms they share marked in each."""
    demand, offering = _fields(match.demand), _fields(match.offering)
    d_terms, o_terms = matched_terms(match, FoldedText("\n".join(demand)), FoldedText("\n".join(offering)))
    return _marked(demand, d_terms), _marked(offering, o_terms)


def _fields(posting: Demand | Offering) -> tuple[str, str, str]:
    """Return a posting's title, description and its further text."""
    more = posting.data_available if isinstance(posting, Demand) else posting.case_studies
    return posting.title or "", posting.description or "", more or ""


def _marked(fields: tuple[str, str, str], terms: list[str]) -> ReviewText:
    return ReviewText(*(FoldedText(text).segments(terms) for text in fields))


def matched_terms(match: Match, demand: FoldedText, offering: FoldedText) -> tuple[list[str], list[str]]:
    """Return the terms to mark in the demand and in the offering: shared key terms, then taxonomy words."""
    shared = _key_terms(match) or shown_terms(set(tokenize(demand.text)) & set(tokenize(offering.text)))
    d_terms, o_terms = list(shared), list(shared)
    for words in _taxonomy_words():
        in_demand = [w for w in words if demand.contains(w)]
        in_offering = [w for w in words if offering.contains(w)] if in_demand else []
        if in_offering:
            d_terms += in_demand
            o_terms += in_offering
    return d_terms, o_terms


def _key_terms(match: Match) -> list[str]:
    """Return the distinctive key terms the engine stored in the match's reasons."""
    stored = [t for r in match.reasons or [] if r.get("key") == "shared_terms" for t in r["params"].get("terms", [])]
    return shown_terms(stored)


@cache
def _taxonomy_words() -> list[list[str]]:
    """Return, per scenario and industry, its labels and synonyms in every language, longest first."""
    terms = [*taxonomy.scenarios().values(), *taxonomy.industries().values()]
    return [
        sorted({w for w in [*t.labels.values(), *(s for v in t.synonyms.values() for s in v)] if w}, key=len)[::-1]
        for t in terms
    ]


# ---------------------------------------------------------------- the score in words


def score_components(match: Match) -> list[ScoreComponent]:
    """Return each part of the match's score on one 0–100 scale, with a sentence saying what it means."""
    parts = match.breakdown or {}
    weights = RankingWeights.from_config(current_app.config)
    top = weights.highest_score() or 1.0
    components = []
    for key in ("dense", "lexical", *FACETS):
        value = parts.get("lexical_used", parts.get(key)) if key == "lexical" else parts.get(key)
        if value is None:
            continue
        points = 100 * getattr(weights, key) * value / top
        components.append(
            ScoreComponent(key, str(SCORE_PART_LABELS[key]), round(100 * value), points, _meaning(key, value, match))
        )
    return components


MEANING_OF_TEXTS = {
    "dense": _l("How close the two texts are in meaning, as the multilingual language model reads them."),
    "lexical": _l("How many of the demand's distinctive words the offering also uses, next to the best offering."),
    "cross_language": _l(
        "The texts are in different languages, so shared words cannot be counted: meaning stands in for them."
    ),
}
NOT_STATED = _l("Not stated on one side, so it neither helps nor hurts much.")
# Per facet, what a full fit, a partial one and none mean.
FACET_MEANINGS = {
    "scenario": (
        _l("The offering covers every scenario the demand names."),
        _l("The offering covers some of the scenarios the demand names."),
        _l("The offering covers none of the scenarios the demand names."),
    ),
    "industry": (
        _l("The offering serves the demand's industry."),
        None,
        _l("The offering does not list the demand's industry."),
    ),
    "region": (
        _l("The offering serves the demand's city."),
        None,
        _l("The offering does not list the demand's city among the regions it serves."),
    ),
    "budget": (
        _l("The demand's budget and the offering's price range overlap."),
        _l("The price lies outside the budget; the further apart, the lower."),
        _l("The price lies far outside the budget."),
    ),
    "deployment": (
        _l("The offering can be deployed the way the demand wants."),
        None,
        _l("The offering does not offer the deployment the demand wants."),
    ),
    "capacity": (
        _l("The vendor has room for another engagement."),
        None,
        _l("The vendor has no capacity left for new engagements."),
    ),
}


def _meaning(key: str, value: float, match: Match) -> str:
    """Return the sentence saying what a part's value means for this pair."""
    parts = match.breakdown or {}
    if key == "lexical" and parts.get("lexical_used", value) != parts.get("lexical", value):
        return str(MEANING_OF_TEXTS["cross_language"])
    if key in MEANING_OF_TEXTS:
        return str(MEANING_OF_TEXTS[key])
    both_name_scenarios = bool(match.demand.all_scenarios and match.offering.all_scenarios)
    if value == UNKNOWN and (key != "scenario" or not both_name_scenarios):
        return str(NOT_STATED)
    fit, partial, misfit = FACET_MEANINGS[key]
    return str(fit if value >= 1.0 else misfit if value <= 0.0 or partial is None else partial)


def overall_fit(match: Match) -> int | None:
    """Return the match's score as a share of the best score the weights allow, 0–100; None if not scored."""
    if not match.breakdown:
        return None
    top = RankingWeights.from_config(current_app.config).highest_score() or 1.0
    return round(100 * min(match.score or 0.0, top) / top)


def feedback_penalty(match: Match) -> int:
    """Return by how many percent past declines and rejections lowered the score."""
    weight = RankingWeights.from_config(current_app.config).feedback
    return round(100 * weight * (match.breakdown or {}).get("feedback_penalty", 0.0))
