"""Curator analytics: figures from a database with known counts, charts with table fallbacks, safe CSV export."""

import csv
import io
import re

import pytest

from matchmaker.charts import Series, bar_chart
from matchmaker.domain import analytics
from matchmaker.extensions import db
from matchmaker.models import Demand, Match, MatchEvent, MatchStatus, Offering, OrgKind, PostingStatus, utcnow
from matchmaker.spreadsheet import BOM, csv_text, safe_cell
from tests.factories import organization

S = MatchStatus
PUBLISHED, DRAFT = PostingStatus.PUBLISHED, PostingStatus.DRAFT


def _demand(title, scenarios, industry=None, city="", status=PUBLISHED) -> Demand:
    org = organization("Foshan Weave Textiles", OrgKind.MANUFACTURER)
    demand = Demand(
        title=title,
        description=title,
        organization=org,
        scenarios=scenarios,
        industry=industry,
        city=city,
        status=status,
    )
    db.session.add(demand)
    return demand


def _offering(title, scenarios, industries=(), status=PUBLISHED) -> Offering:
    org = organization("Lumen Vision AI", OrgKind.VENDOR)
    org.city = "深圳"
    offering = Offering(
        title=title,
        description=title,
        organization=org,
        scenarios=scenarios,
        industries_served=list(industries),
        status=status,
    )
    db.session.add(offering)
    return offering


# Per match: its status now, whether it was introduced, and the statuses its audit trail went through.
MATCHES = [
    (S.PROPOSED, False, []),
    (S.SHORTLISTED, False, ["shortlisted"]),
    (S.REJECTED, False, ["shortlisted", "rejected"]),  # shortlisted, then set aside
    (S.REJECTED, False, ["rejected"]),
    (S.INTRODUCED, True, ["shortlisted", "introduced"]),
    (S.DECLINED, True, ["introduced", "declined"]),
    (S.DECLINED, False, ["declined"]),  # turned down an expression of interest: never introduced
    (S.CONNECTED, True, ["introduced", "connected"]),
    (S.NO_DEAL, True, ["introduced", "connected", "no_deal"]),
    (S.CONTRACT_SIGNED, True, ["introduced", "connected", "pilot_started", "contract_signed"]),
]
FUNNEL = [10, 7, 5, 3, 1]  # proposed, shortlisted or further, introduced or further, connected or further, contract


@pytest.fixture
def market(app):
    """Three visual-inspection demands against one offering; one energy demand against two; drafts that never count."""
    with app.app_context():
        vision = [
            _demand("Fabric defects", ["visual_inspection"], "17", "广州"),
            _demand("Weld seams", ["visual_inspection"], "17", "廣州 "),
            _demand(
                '=HYPERLINK("http://evil")', ["visual_inspection", "energy_management"], "33", "=cmd|' /C calc'!A0"
            ),
        ]
        _demand("Draft demand", ["visual_inspection"], "17", "广州", status=DRAFT)
        camera = _offering("Inline camera", ["visual_inspection"], ["17"])
        _offering("Meters", ["energy_management"], ["33"])
        _offering("Compressed air", ["energy_management"])
        _offering("Draft offering", ["visual_inspection"], status=DRAFT)
        db.session.flush()
        for number, (status, introduced, trail) in enumerate(MATCHES):
            demand = vision[number % 2]
            extra = _offering(f"Offer {number}", [], status=DRAFT) if number else camera
            match = Match(demand=demand, offering=extra, status=status, introduced_at=utcnow() if introduced else None)
            db.session.add(match)
            before = "proposed"
            for after in trail:
                db.session.add(MatchEvent(match=match, action="step", from_status=before, to_status=after))
                before = after
        db.session.commit()
    return app


def test_demand_and_supply_per_scenario_and_industry_count_published_postings_only(market):
    with market.app_context():
        by_scenario = {r.key: (r.demand, r.supply) for r in analytics.demand_supply_by_scenario()}
        by_industry = {r.key: (r.demand, r.supply) for r in analytics.demand_supply_by_industry()}
    assert by_scenario == {"visual_inspection": (3, 1), "energy_management": (1, 2)}
    assert by_industry == {"17": (2, 1), "33": (1, 1)}


def test_supply_gaps_rank_the_largest_shortfall_first():
    rows = [
        analytics.SupplyDemand("energy_management", 1, 2),
        analytics.SupplyDemand("visual_inspection", 3, 1),
        analytics.SupplyDemand("fault_warning", 4, 3),
        analytics.SupplyDemand("rd_design", 0, 0),
    ]
    assert [g.key for g in analytics.supply_gaps(rows)] == ["visual_inspection", "fault_warning"]


def test_the_funnel_counts_matches_that_got_at_least_that_far(market):
    with market.app_context():
        stages = analytics.match_funnel()
    assert [s.status for s in stages] == [S.PROPOSED, S.SHORTLISTED, S.INTRODUCED, S.CONNECTED, S.CONTRACT_SIGNED]
    assert [s.count for s in stages] == FUNNEL


def test_activity_by_city_joins_spellings_of_one_city(market):
    with market.app_context():
        cities = {c.city: c for c in analytics.activity_by_city()}
    assert set(cities) == {"广州", "深圳", "=cmd|' /C calc'!A0"}
    guangzhou = cities["广州"]
    assert (guangzhou.demands, guangzhou.offerings, guangzhou.matches) == (2, 0, 10)
    assert (guangzhou.introduced, guangzhou.connected) == (5, 3)
    assert (cities["深圳"].offerings, cities["深圳"].matches) == (3, 0)


# ---------------------------------------------------------------- CSV and charts


@pytest.mark.parametrize("cell", ["=1+1", "+86 5555", "-2", "@SUM(A1)", "\tx"])
def test_cells_that_start_like_a_formula_get_an_apostrophe(cell):
    assert safe_cell(cell) == "'" + cell


def test_other_cells_are_left_alone():
    assert [safe_cell(v) for v in ["佛山", "a=b", 3, -2]] == ["佛山", "a=b", 3, -2]
    assert csv_text(["城市", "n"], [["佛山", 1]]) == BOM + "城市,n\r\n佛山,1\r\n"


def test_a_chart_is_an_accessible_svg_that_fits_a_phone():
    chart = bar_chart("Demand <& supply>", ["<script>x</script>", "视觉检测" * 30], [Series("Demands", [3, 0], "bar")])
    assert chart.startswith("<svg") and 'role="img"' in chart and 'width="100%"' in chart
    assert 'aria-label="Demand &lt;&amp; supply&gt;"' in chart and "<title>Demand &lt;&amp; supply&gt;</title>" in chart
    assert "<script>" not in chart and "&lt;script&gt;" in chart
    width = int(re.search(r'viewBox="0 0 (\d+) \d+"', chart).group(1))
    assert width <= 390 and all(float(w) <= width for w in re.findall(r'<rect[^>]* width="([\d.]+)"', chart))
    # A label too long for the width is cut (26 Chinese characters fit); the table below keeps it whole.
    assert ">" + "视觉检测" * 6 + "视觉…</text>" in chart


# ---------------------------------------------------------------- the pages


@pytest.fixture
def curator(market, client, auth, personas):
    auth.login_as("curator")
    return client


def test_the_page_draws_each_table_as_a_chart_with_the_table_beside_it(curator):
    page = curator.get("/curation/analytics", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    for name in ("gaps", "scenarios", "industries", "funnel", "cities"):
        section = page[page.index(f'id="{name}"') :]
        section = section[: section.index("</section>")]
        assert "<svg" in section and 'role="img"' in section and "<caption>" in section
        assert f'href="/curation/analytics/{name}.csv"' in section
    gaps = page[page.index('id="gaps"') : page.index('id="scenarios"')]
    assert "视觉检测" in gaps and "能源管理" not in gaps  # labels in the reader's language; no gap in energy


def test_csv_export_is_excel_safe_and_in_the_readers_language(curator):
    response = curator.get("/curation/analytics/cities.csv", headers={"Accept-Language": "zh-HK"})
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    text = response.get_data().decode("utf-8")
    assert text.startswith(BOM)
    rows = list(csv.reader(io.StringIO(text[1:])))
    assert rows[0] == ["城市", "需求", "供給", "配對", "已引薦", "已對接"]
    assert ["'=cmd|' /C calc'!A0", "1", "0", "0", "0", "0"] in rows
    funnel = list(csv.reader(io.StringIO(curator.get("/curation/analytics/funnel.csv").get_data(as_text=True)[1:])))
    assert [int(row[1]) for row in funnel[1:]] == FUNNEL


def test_an_unknown_table_is_404(curator):
    assert curator.get("/curation/analytics/passwords.csv").status_code == 404
