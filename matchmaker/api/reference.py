"""Search and the taxonomy over the API: find published postings, and every key the API accepts."""

from __future__ import annotations

from flask_babel import get_locale

from .. import taxonomy
from ..domain.search import search_postings
from ..vocabulary import (
    DEPLOYMENT_LABELS,
    MATCH_STATUS_LABELS,
    POSTING_STATUS_LABELS,
    REGION_LABELS,
    TEXT_LANGUAGE_LABELS,
    VOUCHER_LABELS,
)
from . import schemas
from .common import api_blueprint, refusals

bp = api_blueprint("reference", "", "Free-text search and the taxonomy.")


@bp.get("/search")
@bp.arguments(schemas.SearchArgs, location="query", as_kwargs=True)
@bp.response(200, schemas.SearchResults)
@refusals(bp, 422)
def search(q: str, kind: str):
    """Find published demands and offerings that fit a query in any of the three languages, best first."""
    query = q.strip()
    hits = search_postings(query, kind)
    return {
        "query": query,
        "results": [
            {"kind": h.kind, "id": h.posting.id, "ref": h.posting.ref, "title": h.posting.title, "score": h.score}
            for h in hits
        ],
    }


@bp.get("/taxonomy")
@bp.response(200, schemas.Taxonomy)
@refusals(bp)
def taxonomy_terms():
    """List the scenarios, industries and other keys postings use, labelled in your language."""
    locale = str(get_locale())
    return {
        "scenarios": _terms(taxonomy.scenario_choices(locale)),
        "industries": _terms((code, term.label(locale)) for code, term in taxonomy.industries().items()),
        "deployment_modes": _terms(DEPLOYMENT_LABELS.items()),
        "vouchers": _terms(VOUCHER_LABELS.items()),
        "regions": _terms(REGION_LABELS.items()),
        "languages": _terms((key, label) for key, label in TEXT_LANGUAGE_LABELS.items() if key),
        "posting_statuses": _terms((status.value, label) for status, label in POSTING_STATUS_LABELS.items()),
        "match_statuses": _terms((status.value, label) for status, label in MATCH_STATUS_LABELS.items()),
    }


def _terms(pairs) -> list[dict[str, str]]:
    return [{"key": str(key), "label": str(label)} for key, label in pairs]
