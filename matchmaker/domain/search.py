"""Free-text search over published demands and offerings, in any of the three languages."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..vocabulary import DEMAND, OFFERING, POSTING_KINDS
from .errors import matching_unavailable

if TYPE_CHECKING:  # the engine loads only when a search runs
    from ..matching.service import SearchHit

# What the search box may look through, by the `kind` the page asks for.
KINDS = {"all": POSTING_KINDS, "demands": (DEMAND,), "offerings": (OFFERING,)}
MAX_QUERY = 500


def search_postings(query: str, kind: str = "all") -> list[SearchHit]:
    """Return the published postings of a kind that best fit the query, best first; none for an empty query."""
    if not query:
        return []
    # Imported here so pages that never search do not load the engine.
    from ..matching.availability import MatchingUnavailable
    from ..matching.service import search

    try:
        return search(query, KINDS[kind])
    except MatchingUnavailable as exc:
        raise matching_unavailable(exc.model, exc.reason) from None
