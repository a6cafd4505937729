"""One filter builder for every list: the posting lists and the curation queue narrow by the same facets.

A facet counts what the poster chose and what the engine tagged from the text alike, as the pages show both.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from .. import taxonomy
from ..models import Demand, Offering, PostingStatus, User
from ..vocabulary import VOUCHER_KINDS

ANY_VOUCHER = "any"
# What a posting list may show besides the published postings; the first entry is the default.
POSTING_LIST_STATUSES = ("", PostingStatus.DRAFT.value, PostingStatus.CLOSED.value)


@dataclass(frozen=True)
class Filters:
    """What a list narrows by; empty strings mean no narrowing."""

    industry: str = ""
    scenario: str = ""
    city: str = ""
    voucher: str = ""
    status: str = ""
    sort: str = ""

    @classmethod
    def from_args(
        cls, args: Mapping[str, str], statuses: Sequence[str] = ("",), sorts: Sequence[str] = ("",)
    ) -> Filters:
        """Read the filters from query arguments; an unknown value falls back to the first one allowed."""
        # A NUL character can match nothing stored, and PostgreSQL refuses it in a query.
        values = {f.name: str(args.get(f.name) or "").replace("\x00", "").strip() for f in fields(cls)}
        allowed = {
            "industry": ("", *taxonomy.industries()),
            "scenario": ("", *taxonomy.scenarios()),
            "voucher": ("", ANY_VOUCHER, *VOUCHER_KINDS),
            "status": tuple(statuses),
            "sort": tuple(sorts),
        }
        for name, known in allowed.items():
            if values[name] not in known:
                values[name] = known[0]
        return cls(**values)


def facet_clauses(model: type[Demand] | type[Offering], filters: Filters) -> list[sa.ColumnElement[bool]]:
    """Return the SQL conditions narrowing demands or offerings by industry, scenario, city and voucher."""
    clauses = []
    if filters.industry:
        clauses.append(_industry_clause(model, filters.industry))
    if filters.scenario:
        clauses.append(
            sa.or_(
                json_list_contains(model.scenarios, filters.scenario),
                json_list_contains(model.auto_scenarios, filters.scenario),
            )
        )
    if filters.city:
        clauses.append(_city_clause(model, filters.city))
    # Offerings hold no vouchers: the facet narrows demands only.
    if filters.voucher and model is Demand:
        clauses.append(_voucher_clause(filters.voucher))
    return clauses


def visible_postings_query(
    model: type[Demand] | type[Offering], filters: Filters | Mapping[str, str], viewer: User | None = None
) -> sa.Select:
    """Return a select of the postings a viewer may list, narrowed by the filters, newest first."""
    if not isinstance(filters, Filters):
        filters = Filters.from_args(filters, statuses=POSTING_LIST_STATUSES)
    query = (
        sa.select(model)
        .options(joinedload(model.organization))  # every row shows its organisation: one query, not one per row
        .where(_status_clause(model, filters.status, viewer), *facet_clauses(model, filters))
    )
    newest = sa.func.coalesce(model.published_at, model.created_at)
    return query.order_by(newest.desc(), model.id.desc())


def json_list_contains(column: sa.ColumnExpressionArgument[list[str]], value: str) -> sa.ColumnElement[bool]:
    """Match rows whose JSON list holds value, on SQLite and PostgreSQL alike."""
    # JSON columns are serialised with json.dumps, so the quoted, escaped element appears verbatim in the text.
    return sa.cast(column, sa.Text).contains(json.dumps(value), autoescape=True)


def _status_clause(model: type, status: str, viewer: User | None):
    """Published postings for all; drafts and closed ones only for their own organization."""
    if status in (PostingStatus.DRAFT.value, PostingStatus.CLOSED.value):
        if viewer is None or viewer.organization_id is None:
            return sa.false()
        return sa.and_(model.status == PostingStatus(status), model.organization_id == viewer.organization_id)
    return model.status == PostingStatus.PUBLISHED


def _industry_clause(model: type, code: str):
    """Match the industry a demand chose or an offering serves, or one tagged from the text."""
    chosen = model.industry == code if model is Demand else json_list_contains(model.industries_served, code)
    return sa.or_(chosen, json_list_contains(model.auto_industries, code))


def _city_clause(model: type, city: str):
    """Match a demand's city, or an offering's regions, by case-insensitive substring."""
    if model is Demand:
        return sa.func.lower(model.city).contains(city.lower(), autoescape=True)
    needle = json.dumps(city.lower())[1:-1]
    return sa.func.lower(sa.cast(model.regions, sa.Text)).contains(needle, autoescape=True)


def _voucher_clause(voucher: str):
    """Demands interested in this voucher kind, or in any voucher for 'any'."""
    if voucher == ANY_VOUCHER:
        return sa.or_(*(json_list_contains(Demand.vouchers, kind) for kind in VOUCHER_KINDS))
    return json_list_contains(Demand.vouchers, voucher)
