"""The web import for curators: upload, map Chinese headers, see the row report, commit, see the result."""

import io

import pytest
import sqlalchemy as sa
from werkzeug.test import EnvironBuilder

from matchmaker.extensions import db
from matchmaker.models import ColumnMapping, Demand, ImportJob, Organization, OrgKind, Role

from .factories import make_user

SHEET = (
    "需求編號,需求名稱,需求描述,企業名稱,所在城市,備註\n"
    "W1,布面瑕疵檢測,布面上的跳紗、破洞全靠老師傅肉眼看,佛山織造,佛山,急\n"
    "W2,窯爐故障預警,窯爐溫度一波動就出廢品,肇慶窯業,肇慶,\n"
)
BAD_SHEET = SHEET + "W3,,沒有標題,肇慶窯業,肇慶,\n"


def _curator(app, auth):
    with app.app_context():
        make_user("curator@imports.test", OrgKind.VENDOR, "Promotion Agency", role=Role.CURATOR)
    auth.login("curator@imports.test")


def _upload(client, data: bytes, name="list.csv", kind="demand", encoding=""):
    form = {"kind": kind, "encoding": encoding, "file": (io.BytesIO(data), name)}
    builder = EnvironBuilder(path="/imports/", method="POST", data=form)
    environ = builder.get_environ()  # a large body is spooled to a file the test client would leave open
    try:
        return client.open(environ)
    finally:
        environ["wsgi.input"].close()
        builder.close()


def _job(app):
    with app.app_context():
        return db.session.scalars(sa.select(ImportJob).order_by(ImportJob.id.desc())).first()


def test_big5_sheet_with_chinese_headers_is_mapped_checked_and_imported(app, client, auth):
    _curator(app, auth)
    response = _upload(client, SHEET.encode("big5"))
    assert response.status_code == 302
    job = _job(app)
    page = client.get(f"/imports/{job.id}").get_data(as_text=True)
    assert "布面瑕疵檢測" in page  # decoded from Big5 for the preview
    assert '<option value="title" selected>' in page and '<option value="organization" selected>' in page
    mapping = {"column-0": "ref", "column-1": "title", "column-2": "description", "column-3": "organization"}
    mapping |= {"column-4": "city", "column-5": "", "save_as": "Agency demand list", "shared": "y"}
    client.post(f"/imports/{job.id}/check", data=mapping)
    job = _job(app)
    assert job.status == "checked" and job.result["created"] == ["W1", "W2"]
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Demand.id))) == 0  # checked, not written
        saved = db.session.scalar(sa.select(ColumnMapping))
        assert saved.name == "Agency demand list" and saved.shared and saved.columns["需求名稱"] == "title"
    client.post(f"/imports/{job.id}/commit")
    job = _job(app)
    assert job.status == "done", job.report
    page = client.get(f"/imports/{job.id}").get_data(as_text=True)
    with app.app_context():
        demand = db.session.scalar(sa.select(Demand).where(Demand.ref == "W1"))
        assert demand.city == "佛山" and demand.organization.name == "佛山織造"
        assert f"/demands/{demand.id}" in page


def test_bad_rows_are_reported_in_the_readers_language_and_nothing_is_written(app, client, auth):
    _curator(app, auth)
    _upload(client, BAD_SHEET.encode("utf-8"))
    job = _job(app)
    mapping = {"column-0": "ref", "column-1": "title", "column-2": "description", "column-3": "organization"}
    client.post(f"/imports/{job.id}/check", data=mapping)
    job = _job(app)
    assert job.status == "refused"
    (problem,) = job.report["problems"]
    assert (problem["row"], problem["ref"], problem["column"]) == (4, "W3", "需求名稱")
    assert (
        problem["message"]["en"] == "This field is required."
        and problem["message"]["zh_Hant"] != "This field is required."
    )
    page = client.get(f"/imports/{job.id}").get_data(as_text=True)
    assert "This field is required." in page and "需求名稱" in page
    client.post(f"/imports/{job.id}/commit")
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Demand.id))) == 0
        assert db.session.scalar(sa.select(sa.func.count(Organization.id))) == 1  # the curator's own


def test_oversized_upload_is_refused_before_it_is_read(app, client, auth):
    app.config["MATCHMAKER_IMPORT_MAX_MB"] = 1
    _curator(app, auth)
    response = _upload(client, b"ref,title,description\n" + b"x" * (1024 * 1024 + 1))
    assert response.status_code == 200 and "the limit is 1 MB" in response.get_data(as_text=True)
    assert _job(app) is None


def test_unreadable_encoding_asks_for_one_and_the_choice_is_kept(app, client, auth):
    _curator(app, auth)
    _upload(client, SHEET.encode("big5"), encoding="utf-8")
    job = _job(app)
    page = client.get(f"/imports/{job.id}").get_data(as_text=True)
    assert "cannot be read as utf-8" in page
    client.post(f"/imports/{job.id}/check", data={"encoding": "big5"})
    assert _job(app).encoding == "big5"
    assert "布面瑕疵檢測" in client.get(f"/imports/{job.id}").get_data(as_text=True)


# ---------------------------------------------------------------- malformed files, through the upload form


def _xlsx(rows=None, merge=None, formula=None, title="需求清單") -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = title
    for row in rows or []:
        sheet.append(row)
    if merge:
        sheet.merge_cells(merge)
    if formula:
        sheet[formula[0]] = formula[1]
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


XLSX_ROWS = [
    ["需求編號", "需求名稱", "需求描述"],
    ["M1", "窯爐故障預警", "窯爐溫度一波動就出廢品"],
    ["M2", "布面瑕疵檢測", "跳紗"],
]
SIMPLIFIED_SHEET = "需求编号,需求名称,需求描述,企业名称\nG1,布面瑕疵检测,布面上的跳纱、破洞全靠老师傅肉眼看,佛山织造\n"


def _counts(app) -> tuple[int, int, int]:
    with app.app_context():
        return tuple(db.session.scalar(sa.select(sa.func.count(m.id))) for m in (Demand, Organization, ColumnMapping))


FIRST_FOUR = {"column-0": "ref", "column-1": "title", "column-2": "description", "column-3": "organization"}


def _check_all(client, job_id: int, mapping: dict | None = None) -> str:
    """Ask for a check with the mapping given (none: the file cannot be read anyway); return the job page."""
    client.post(f"/imports/{job_id}/check", data=mapping or {})
    return client.get(f"/imports/{job_id}").get_data(as_text=True)


@pytest.mark.parametrize(
    "name, data, message",
    [
        ("empty.xlsx", _xlsx(), "The first sheet, 需求清單, is empty."),
        ("merged-header.xlsx", _xlsx(XLSX_ROWS, merge="B1:C1"), "The header row has merged cells (B1:C1)"),
        ("formulas.xlsx", _xlsx(XLSX_ROWS, formula=("C3", '=CONCAT("跳", "紗")')), "1 cells hold formulas (C3)"),
        ("empty.csv", b"", "The file is empty."),
        ("header-only.csv", "需求編號,需求名稱,需求描述\n".encode("big5"), "There are no rows below the header row."),
    ],
)
def test_malformed_uploads_get_a_clear_message_and_change_nothing(app, client, auth, name, data, message):
    _curator(app, auth)
    before = _counts(app)
    response = _upload(client, data, name=name)
    page = response.get_data(as_text=True)
    if response.status_code == 302:  # kept as a job: the preview says what is wrong
        job = _job(app)
        page = client.get(f"/imports/{job.id}").get_data(as_text=True)
        assert message in page
        page = _check_all(client, job.id)
        assert _job(app).status not in ("checked", "done")
        client.post(f"/imports/{job.id}/commit")
        assert _job(app).status != "done"
    assert message in page
    assert _counts(app) == before


@pytest.mark.parametrize(
    "data, title",
    [
        (SIMPLIFIED_SHEET.encode("gbk"), "布面瑕疵检测"),
        (SIMPLIFIED_SHEET.encode("gb18030"), "布面瑕疵检测"),
        (SHEET.encode("big5"), "布面瑕疵檢測"),
        (SHEET.encode("utf-8-sig"), "布面瑕疵檢測"),
    ],
    ids=["gbk", "gb18030", "big5", "utf-8 with BOM"],
)
def test_chinese_encodings_and_a_bom_are_read_through_the_upload(app, client, auth, data, title):
    _curator(app, auth)
    _upload(client, data)
    job = _job(app)
    page = client.get(f"/imports/{job.id}").get_data(as_text=True)
    assert title in page and "\ufeff" not in page  # decoded, and the BOM is not part of the first header
    assert '<option value="ref" selected>' in page  # the first column, 需求編號 / 需求编号, is still recognised
    assert _counts(app)[0] == 0
    _check_all(client, job.id, FIRST_FOUR)
    assert _job(app).status == "checked", _job(app).report
    client.post(f"/imports/{job.id}/commit")
    assert _job(app).status == "done"
    with app.app_context():
        assert db.session.scalar(sa.select(Demand.title).order_by(Demand.id)) == title


def test_a_50_mb_upload_is_refused_with_a_clear_page_and_changes_nothing(app, client, auth):
    """Above MATCHMAKER_MAX_UPLOAD_BYTES the request is refused whole (413); above the import limit, on the form."""
    _curator(app, auth)
    before = _counts(app)
    big = b"ref,title,description\n" + b"x" * (50 * 1024 * 1024)
    response = _upload(client, big, name="huge.csv")
    assert response.status_code == 413
    assert "too large" in response.get_data(as_text=True).lower()
    assert _job(app) is None and _counts(app) == before
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024 * 1024  # a site that accepts big bodies: the import limit still holds
    response = _upload(client, big, name="huge.csv")
    assert response.status_code == 200
    assert "The file is 50.0 MB; the limit is 20 MB." in response.get_data(as_text=True)
    assert _job(app) is None and _counts(app) == before
