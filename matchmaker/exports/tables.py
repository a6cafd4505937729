"""What an export holds: a header and rows of cells, labelled in the reader's language.

Which postings and matches a viewer gets, and whose contact details, is decided where the pages decide
it (`domain.filters.visible_postings_query`, `domain.matches.visible_matches` / `visible_contacts`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l

from ..domain.matches import visible_contacts
from ..domain.postings import can_see_budget
from ..models import Demand, Match, Offering, User
from ..templating import industry_label, scenario_label
from ..vocabulary import DEPLOYMENT_LABELS, MATCH_STATUS_LABELS, POSTING_STATUS_LABELS, REGION_LABELS, VOUCHER_LABELS


@dataclass(frozen=True)
class Column:
    """One exported column: its header and how to read its cell from a row's object."""

    header: Any  # a lazy string
    cell: Callable[..., Any]  # called with the row's object, and the viewer too when per_viewer
    per_viewer: bool = False

    def value(self, obj: Any, viewer: User | None) -> Any:
        """Return the cell as this viewer may read it."""
        return self.cell(obj, viewer) if self.per_viewer else self.cell(obj)


def _labels(labels: dict, keys) -> str:
    """Return keys as their labels (unknown ones as written), separated by "; "."""
    return "; ".join(str(labels.get(key, key)) for key in keys or [])


def _scenarios(posting) -> str:
    return "; ".join(scenario_label(key) for key in posting.all_scenarios)


def _budget(demand: Demand, amount: int | None, viewer: User | None):
    """Return the amount, or the word Confidential for a viewer who may not see it."""
    return amount if can_see_budget(viewer, demand) else str(_l("Confidential"))


COMMON = [
    Column(_l("Ref"), lambda p: p.ref or ""),
    Column(_l("Title"), lambda p: p.title),
    Column(_l("Organisation"), lambda p: p.organization.name),
    Column(_l("Status"), lambda p: str(POSTING_STATUS_LABELS[p.status])),
    Column(_l("Scenarios"), _scenarios),
    Column(_l("Description"), lambda p: p.description),
]
DEMAND_COLUMNS = [
    *COMMON,
    Column(_l("Industry"), lambda d: industry_label(d.industry) if d.industry else ""),
    Column(_l("City"), lambda d: d.city),
    Column(_l("Budget from (CNY)"), lambda d, viewer: _budget(d, d.budget_min, viewer), per_viewer=True),
    Column(_l("Budget up to (CNY)"), lambda d, viewer: _budget(d, d.budget_max, viewer), per_viewer=True),
    Column(_l("Deployment"), lambda d: str(DEPLOYMENT_LABELS.get(d.deployment, d.deployment))),
    Column(_l("Vouchers"), lambda d: _labels(VOUCHER_LABELS, d.vouchers)),
    Column(_l("Timeline"), lambda d: d.timeline),
    Column(_l("Expires on"), lambda d: d.expires_on),
    Column(_l("Published"), lambda d: d.published_at.date() if d.published_at else None),
]
OFFERING_COLUMNS = [
    *COMMON,
    Column(_l("Industries served"), lambda o: "; ".join(industry_label(code) for code in o.industries_served or [])),
    Column(_l("Deployment modes"), lambda o: _labels(DEPLOYMENT_LABELS, o.deployment_modes)),
    Column(_l("Price from (CNY)"), lambda o: o.price_min),
    Column(_l("Price up to (CNY)"), lambda o: o.price_max),
    Column(_l("Regions"), lambda o: _labels(REGION_LABELS, o.regions)),
    Column(_l("Capacity"), lambda o: o.capacity),
    Column(_l("Published"), lambda o: o.published_at.date() if o.published_at else None),
]
POSTING_COLUMNS = {Demand: DEMAND_COLUMNS, Offering: OFFERING_COLUMNS}


def posting_table(model: type, postings, viewer: User | None) -> tuple[list[str], Iterator[list[Any]]]:
    """Return the header and the rows of an export of demands or offerings; a confidential budget is left
    blank for those who may not see it."""
    columns = POSTING_COLUMNS[model]
    return [str(c.header) for c in columns], ([c.value(p, viewer) for c in columns] for p in postings)


def _contacts(match: Match, viewer: User) -> str:
    """Return the contact details the viewer may see on this match, one organisation after another."""
    return " | ".join(
        ", ".join(part for part in (c["organization"], c["email"], c["phone"], c["website"]) if part)
        for c in visible_contacts(match, viewer)
    )


def match_table(matches, viewer: User) -> tuple[list[str], Iterator[list[Any]]]:
    """Return the header and the rows of an export of matches, with contacts only where the viewer may see them."""
    columns = [
        Column(_l("Demand ref"), lambda m: m.demand.ref or ""),
        Column(_l("Demand"), lambda m: m.demand.title),
        Column(_l("Manufacturer"), lambda m: m.demand.organization.name),
        Column(_l("Offering ref"), lambda m: m.offering.ref or ""),
        Column(_l("Offering"), lambda m: m.offering.title),
        Column(_l("Vendor"), lambda m: m.offering.organization.name),
        Column(_l("Score"), lambda m: round(m.score, 4)),
        Column(_l("Status"), lambda m: str(MATCH_STATUS_LABELS[m.status])),
        Column(_l("Contacts"), lambda m: _contacts(m, viewer)),
    ]
    return [str(c.header) for c in columns], ([c.cell(m) for c in columns] for m in matches)
