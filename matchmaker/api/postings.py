"""Demands and offerings over the API: list, read, create, update, publish and close.

The same rules as the pages: `domain.postings` decides who may see and change a posting and what it must
hold; a draft is missing (404) for everyone but its organisation and curators, a posting another
organisation owns is forbidden (403) to change.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import marshmallow as ma
from flask import abort
from flask_smorest import Blueprint

from ..domain import postings
from ..domain.filters import POSTING_LIST_STATUSES, Filters, visible_postings_query
from ..models import Demand, Offering
from . import schemas
from .auth import current_api_user
from .common import WITH_BODY, api_blueprint, get_or_404, paged, refusals


@dataclass(frozen=True)
class PostingApi:
    """The operations of one posting kind, parametrised by what differs between demands and offerings."""

    model: type[Demand] | type[Offering]
    input_class: type
    new_schema: type[ma.Schema]
    fields_schema: type[ma.Schema]
    item_schema: type[ma.Schema]
    page_schema: type[ma.Schema]
    create: Callable[..., Any]

    def blueprint(self, name: str, description: str) -> Blueprint:
        """Return the kind's blueprint with its six operations."""
        bp = api_blueprint(name, f"/{name}", description)

        @bp.get("/")
        @bp.arguments(schemas.PostingListArgs, location="query", as_kwargs=True)
        @bp.response(200, self.page_schema)
        @refusals(bp, 422)
        def index(page: int, limit: int, **filters):
            """List published postings, or your organisation's drafts or closed ones, newest first."""
            filters = Filters.from_args(filters, statuses=POSTING_LIST_STATUSES)
            query = visible_postings_query(self.model, filters, current_api_user())
            return paged(query, {"page": page, "limit": limit})

        @bp.post("/")
        @bp.arguments(self.new_schema)
        @bp.response(201, self.item_schema)
        @refusals(bp, 403, *WITH_BODY)
        def create(body: dict):
            """Save a new draft for your organisation."""
            ref = body.pop("ref", None)
            return self.create(current_api_user(), self.input_class(**{"title": "", "description": "", **body}), ref)

        @bp.get("/<int:posting_id>")
        @bp.response(200, self.item_schema)
        @refusals(bp, 404)
        def detail(posting_id: int):
            """Read one posting: published ones are public, drafts only for their organisation and curators."""
            return self.visible(posting_id)

        @bp.patch("/<int:posting_id>")
        @bp.arguments(self.fields_schema)
        @bp.response(200, self.item_schema)
        @refusals(bp, 403, 404, 409, *WITH_BODY)
        def update(body: dict, posting_id: int):
            """Change the fields sent; the others keep their values. Closed postings cannot change."""
            posting = self.owned(posting_id)
            current = {name: getattr(posting, name) for name in asdict(self.input_class("", ""))}
            return postings.update_posting(current_api_user(), posting, self.input_class(**{**current, **body}))

        @bp.post("/<int:posting_id>/publish")
        @bp.response(200, self.item_schema)
        @refusals(bp, 403, 404, 409, 422)
        def publish(posting_id: int):
            """Publish a draft: everyone may see it, and the matching engine proposes partners."""
            return postings.publish(current_api_user(), self.owned(posting_id))

        @bp.post("/<int:posting_id>/close")
        @bp.response(200, self.item_schema)
        @refusals(bp, 403, 404, 409)
        def close(posting_id: int):
            """Close a posting for good."""
            return postings.close(current_api_user(), self.owned(posting_id))

        return bp

    def visible(self, posting_id: int):
        """Return the posting if the caller may see it; 404 hides drafts from everyone else."""
        posting = get_or_404(self.model, posting_id)
        if not postings.can_view(current_api_user(), posting):
            abort(404)
        return posting

    def owned(self, posting_id: int):
        """Return the posting if the caller's organisation owns it, else 404 or 403."""
        posting = self.visible(posting_id)
        if not postings.is_owner(current_api_user(), posting):
            abort(403)
        return posting


demands_bp = PostingApi(
    Demand,
    postings.DemandInput,
    schemas.NewDemand,
    schemas.DemandFields,
    schemas.Demand,
    schemas.DemandPage,
    postings.create_demand,
).blueprint("demands", "Manufacturers' demands (需求): AI scenarios they want solved.")
offerings_bp = PostingApi(
    Offering,
    postings.OfferingInput,
    schemas.NewOffering,
    schemas.OfferingFields,
    schemas.Offering,
    schemas.OfferingPage,
    postings.create_offering,
).blueprint("offerings", "AI vendors' offerings (供給): the solutions they offer.")
