"""The web import for curators: upload, map Chinese headers, see the row report, commit, see the result."""

import io

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
