"""Exports: labels in the reader's language, contacts only where the viewer may see them, no formula injection."""

import csv
import io

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from matchmaker.extensions import db
from matchmaker.models import Demand, Match, MatchStatus, Offering, OrgKind, PostingStatus, Role, utcnow
from matchmaker.spreadsheet import safe_cell

from .factories import make_user


@pytest.fixture
def world(app):
    """A published demand with a formula-like title, a published offering, and a connected match between them."""
    with app.app_context():
        maker = make_user("maker@export.test", OrgKind.MANUFACTURER, "Foshan Weave")
        vendor = make_user("vendor@export.test", OrgKind.VENDOR, "Seam AI")
        make_user("rival@export.test", OrgKind.MANUFACTURER, "Other Mill")
        make_user("curator@export.test", OrgKind.VENDOR, "Agency", Role.CURATOR)
        demand = Demand(
            ref="X-1",
            title='=HYPERLINK("http://evil.example","click")',
            description="-2+3 seams",
            organization_id=maker.organization_id,
            status=PostingStatus.PUBLISHED,
            published_at=utcnow(),
            scenarios=["visual_inspection"],
            industry="17",
            vouchers=["compute"],
            city="佛山",
        )
        offering = Offering(
            ref="O-1",
            title="@SUM(A1:A9) seam finder",
            description="Finds seams.",
            organization_id=vendor.organization_id,
            status=PostingStatus.PUBLISHED,
            published_at=utcnow(),
        )
        draft = Demand(title="Secret draft", description="Not yet.", organization_id=maker.organization_id)
        db.session.add_all([demand, offering, draft])
        db.session.flush()
        db.session.add(Match(demand_id=demand.id, offering_id=offering.id, status=MatchStatus.CONNECTED, score=0.8))
        db.session.commit()


def _csv(response) -> list[list[str]]:
    body = response.get_data()
    assert body.startswith("\ufeff".encode()), "CSV must start with a UTF-8 BOM"
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def _xlsx(response) -> list[list]:
    sheet = load_workbook(io.BytesIO(response.get_data()), read_only=True).worksheets[0]
    return [list(row) for row in sheet.iter_rows(values_only=True)]


@pytest.mark.parametrize(
    "value, written",
    [
        ("=1+1", "'=1+1"),
        ("+86 123", "'+86 123"),
        ("-x", "'-x"),
        ("@a", "'@a"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("ok", "ok"),
        (-5, -5),
    ],
)
def test_cells_that_would_run_as_formulas_are_quoted(value, written):
    assert safe_cell(value) == written


def test_demand_export_is_labelled_in_the_readers_language_and_respects_the_list(app, client, world):
    rows = _csv(client.get("/exports/demands.csv", headers={"Accept-Language": "zh-HK"}))
    header, *data = rows
    assert header[:4] == ["編號", "標題", "機構", "狀態"]
    assert len(data) == 1 and data[0][1].startswith("'=HYPERLINK")  # the draft is not on the public list
    assert data[0][3] != "Published" and "published" not in data[0][3]
    english = _csv(client.get("/exports/demands.csv", headers={"Accept-Language": "en"}))
    assert english[0][:4] == ["Ref", "Title", "Organisation", "Status"]
    assert english[1][3] == "Published" and english[1][4] == "Visual inspection" and english[1][5] == "'-2+3 seams"
    assert english[1][7] == "佛山" and english[1][11] == "Compute voucher"


def test_demand_export_follows_the_list_filters(app, client, world):
    assert len(_csv(client.get("/exports/demands.csv?industry=17"))) == 2
    assert len(_csv(client.get("/exports/demands.csv?industry=30"))) == 1  # the header only


def test_offering_export_as_xlsx_is_written_as_text(app, client, world):
    rows = _xlsx(client.get("/exports/offerings.xlsx", headers={"Accept-Language": "en"}))
    assert rows[0][:2] == ["Ref", "Title"] and rows[1][1] == "'@SUM(A1:A9) seam finder"


@pytest.mark.parametrize(
    "email, sees_contacts",
    [("maker@export.test", "Seam AI"), ("curator@export.test", "Foshan Weave"), ("rival@export.test", None)],
)
def test_match_export_shows_contacts_only_to_those_who_may_see_them(app, client, world, auth, email, sees_contacts):
    auth.login(email)
    rows = _xlsx(client.get("/exports/matches.xlsx", headers={"Accept-Language": "en"}))
    if sees_contacts is None:
        assert rows == [rows[0]]  # not their match: no rows at all
        return
    contacts = rows[1][rows[0].index("Contacts")]
    assert sees_contacts in contacts and "contact@" in contacts


def test_match_export_hides_contacts_before_the_parties_connect(app, client, world, auth):
    with app.app_context():
        db.session.execute(sa.update(Match).values(status=MatchStatus.PROPOSED))
        db.session.commit()
    auth.login("maker@export.test")
    rows = _csv(client.get("/exports/matches.csv", headers={"Accept-Language": "en"}))
    assert rows[1][rows[0].index("Contacts")] == ""
    assert "contact@" not in "".join(rows[1])


# What a reader of each language sees at the head of each export (the catalogues' words, checked by hand).
HEADERS = {
    "zh-CN": {
        "posting": ["编号", "标题", "机构", "状态", "场景"],
        "match": ["需求编号", "需求"],
        "contacts": "联系方式",
    },
    "zh-TW": {
        "posting": ["編號", "標題", "機構", "狀態", "場景"],
        "match": ["需求編號", "需求"],
        "contacts": "聯絡資料",
    },
    "en": {
        "posting": ["Ref", "Title", "Organisation", "Status", "Scenarios"],
        "match": ["Demand ref", "Demand"],
        "contacts": "Contacts",
    },
}


@pytest.mark.parametrize("language", HEADERS)
@pytest.mark.parametrize("kind", ["demands", "offerings"])
def test_posting_xlsx_headers_are_in_the_readers_language(app, client, world, language, kind):
    rows = _xlsx(client.get(f"/exports/{kind}.xlsx", headers={"Accept-Language": language}))
    assert rows[0][:5] == HEADERS[language]["posting"]
    assert len(rows) == 2  # one published posting of each kind; the draft demand is not listed


@pytest.mark.parametrize("language", HEADERS)
def test_match_xlsx_headers_and_contacts_in_the_readers_language(app, client, world, auth, language):
    auth.login("maker@export.test")
    rows = _xlsx(client.get("/exports/matches.xlsx", headers={"Accept-Language": language}))
    header = rows[0]
    assert header[:2] == HEADERS[language]["match"] and HEADERS[language]["contacts"] in header
    assert "Seam AI" in rows[1][header.index(HEADERS[language]["contacts"])]


def test_xlsx_exports_neutralise_formula_cells(app, client, world, auth):
    """No cell of any XLSX export is a formula, and the formula-like texts come back as the text typed."""
    auth.login("curator@export.test")
    for url in ("/exports/demands.xlsx", "/exports/offerings.xlsx", "/exports/matches.xlsx"):
        book = load_workbook(io.BytesIO(client.get(url).get_data()))  # not read-only: cell types are kept
        cells = [cell for row in book.worksheets[0].iter_rows() for cell in row]
        assert cells and all(cell.data_type != "f" for cell in cells), url
        texts = [cell.value for cell in cells if isinstance(cell.value, str)]
        assert not [t for t in texts if t.startswith(("=", "+", "-", "@"))], url
    demands = _xlsx(client.get("/exports/demands.xlsx"))
    assert demands[1][1] == "'" + '=HYPERLINK("http://evil.example","click")' and demands[1][5] == "'-2+3 seams"
    matches = _xlsx(client.get("/exports/matches.xlsx"))
    assert "'@SUM(A1:A9) seam finder" in matches[1]


@pytest.mark.parametrize(
    "language, city_header, caption",
    [("zh-CN", "城市", "各城市动态"), ("zh-TW", "城市", "各城市動態"), ("en", "City", "Activity by city")],
)
def test_analytics_table_downloads_as_xlsx_in_the_readers_language(
    app, client, world, auth, language, city_header, caption
):
    with app.app_context():
        db.session.execute(sa.update(Demand).where(Demand.ref == "X-1").values(city="=cmd|' /C calc'!A0"))
        db.session.commit()
    auth.login("curator@export.test")
    response = client.get("/curation/analytics/cities.xlsx", headers={"Accept-Language": language})
    assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
    book = load_workbook(io.BytesIO(response.get_data()))
    sheet = book.worksheets[0]
    assert sheet.title == caption
    rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert rows[0][0] == city_header
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)
    assert "'=cmd|' /C calc'!A0" in [row[0] for row in rows[1:]]
    csv_rows = _csv(client.get("/curation/analytics/cities.csv", headers={"Accept-Language": language}))
    assert [row[0] for row in csv_rows] == [row[0] for row in rows]  # the same table in both formats


def test_analytics_xlsx_sheet_names_hold_no_forbidden_characters(app, client, world, auth):
    auth.login("curator@export.test")
    for name in ("gaps", "scenarios", "industries", "funnel", "cities"):
        response = client.get(f"/curation/analytics/{name}.xlsx", headers={"Accept-Language": "en"})
        title = load_workbook(io.BytesIO(response.get_data())).worksheets[0].title
        assert title and not set(title) & set("[]:*?/\\"), (name, title)


@pytest.mark.parametrize("email, status", [("maker@export.test", 403), ("vendor@export.test", 403), (None, 302)])
def test_analytics_xlsx_is_for_curators_only(app, client, world, auth, email, status):
    if email:
        auth.login(email)
    assert client.get("/curation/analytics/cities.xlsx").status_code == status
