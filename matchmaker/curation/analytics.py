"""The curators' analytics as tables in the reader's language, each with its chart and its CSV form.

The figures come from domain/analytics.py; this module only labels them. A page, a chart and a CSV file
are drawn from the same table, so they always agree.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from flask_babel import get_locale
from flask_babel import gettext as _
from markupsafe import Markup

from .. import taxonomy
from ..charts import Series, bar_chart
from ..domain import analytics
from ..vocabulary import MATCH_STATUS_LABELS, place_name

DEMAND_BARS, SUPPLY_BARS, MATCH_BARS = "bar-demand", "bar-supply", "bar-match"


@dataclass
class Table:
    """One analytics table: what it shows, its columns and rows, and the chart drawn from it."""

    name: str
    caption: str
    header: list[str]
    rows: list[list[object]]
    chart: Markup = field(default_factory=Markup)
    note: str = ""


def _locale() -> str:
    return str(get_locale())


def _scenario(key: str) -> str:
    term = taxonomy.scenarios().get(key)
    return term.label(_locale()) if term else key


def _industry(code: str) -> str:
    term = taxonomy.industries().get(code)
    return f"{code} {term.label(_locale())}" if term else code


def _against(name: str, caption: str, column: str, rows, label: Callable[[str], str]) -> Table:
    """Return a demand-against-supply table with a chart of both."""
    labels = [label(row.key) for row in rows]
    chart = bar_chart(
        caption,
        labels,
        [
            Series(_("Demands"), [r.demand for r in rows], DEMAND_BARS),
            Series(_("Offerings"), [r.supply for r in rows], SUPPLY_BARS),
        ],
    )
    return Table(
        name,
        caption,
        [column, _("Demands"), _("Offerings")],
        [[label, r.demand, r.supply] for label, r in zip(labels, rows)],
        chart,
    )


def scenario_table() -> Table:
    """Return published demand against supply per scenario."""
    rows = analytics.demand_supply_by_scenario()
    return _against("scenarios", _("Demand and supply per scenario"), _("Scenario"), rows, _scenario)


def industry_table() -> Table:
    """Return published demand against supply per industry."""
    rows = analytics.demand_supply_by_industry()
    return _against("industries", _("Demand and supply per industry"), _("Industry"), rows, _industry)


def gap_table() -> Table:
    """Return the scenarios with more demand than supply, as vendors to recruit."""
    gaps = analytics.supply_gaps(analytics.demand_supply_by_scenario())
    table = _against("gaps", _("Supply gaps: vendors to recruit"), _("Scenario"), gaps, _scenario)
    table.header += [_("Shortfall"), _("Recruitment target")]
    for row, gap in zip(table.rows, gaps):
        row += [gap.shortfall, _recruitment_target(row[0])]
    table.note = _("Scenarios with more published demands than offerings, the largest shortfall first.")
    return table


def _recruitment_target(scenario: str) -> str:
    return _("Recruit vendors for %(scenario)s.", scenario=scenario)


def funnel_table() -> Table:
    """Return how many matches got at least as far as each stage, from proposed to contract."""
    stages = analytics.match_funnel()
    first = stages[0].count or 1
    labels = [str(MATCH_STATUS_LABELS[s.status]) for s in stages]
    caption = _("Match funnel")
    chart = bar_chart(caption, labels, [Series(_("Matches"), [s.count for s in stages], MATCH_BARS)])
    rows = [[label, s.count, f"{100 * s.count / first:.0f}%"] for label, s in zip(labels, stages)]
    note = _("Each stage counts the matches that got at least that far.")
    return Table("funnel", caption, [_("Stage"), _("Matches"), _("Share of proposed")], rows, chart, note)


def city_table() -> Table:
    """Return demands, offerings and matches per city."""
    cities = analytics.activity_by_city()
    caption = _("Activity by city")
    labels = [place_name(c.city, _locale()) or c.city for c in cities]
    series = [
        Series(_("Demands"), [c.demands for c in cities], DEMAND_BARS),
        Series(_("Offerings"), [c.offerings for c in cities], SUPPLY_BARS),
        Series(_("Matches"), [c.matches for c in cities], MATCH_BARS),
    ]
    header = [_("City"), _("Demands"), _("Offerings"), _("Matches"), _("Introduced"), _("Connected")]
    rows = [[label, c.demands, c.offerings, c.matches, c.introduced, c.connected] for label, c in zip(labels, cities)]
    note = _("Demands by the city they name, offerings by their vendor's city, matches by their demand's city.")
    return Table("cities", caption, header, rows, bar_chart(caption, labels, series), note)


TABLES: dict[str, Callable[[], Table]] = {
    "gaps": gap_table,
    "scenarios": scenario_table,
    "industries": industry_table,
    "funnel": funnel_table,
    "cities": city_table,
}
