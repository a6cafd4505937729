"""Faults in what the app depends on: the database or the embedding model going away, and coming back."""

import logging
import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa

from matchmaker.extensions import db
from matchmaker.matching import availability
from matchmaker.matching.engine import forget_engines
from matchmaker.models import Demand, Match

from .apps import app_with_schema, base_config
from .factories import PERSONAS, demand_form, make_user, minilm_path, offering_form
from .faults import Relay, SqliteOutage, through_relay

UNREACHABLE = "The database is not reachable right now."


@pytest.fixture
def outage_app(tmp_path):
    """Yield an app and an outage switch (stop/start) for its database, SQLite or PostgreSQL."""
    config = base_config(tmp_path)
    url = sa.make_url(config["SQLALCHEMY_DATABASE_URI"])
    relay = None
    if url.get_backend_name() == "postgresql":
        relay = Relay(url.host or "127.0.0.1", url.port or 5432)
        relay.start()
        config["SQLALCHEMY_DATABASE_URI"] = through_relay(config["SQLALCHEMY_DATABASE_URI"], relay)
    with app_with_schema(config) as app:
        with app.app_context():
            make_user(*PERSONAS["manufacturer"])
        outage = relay or SqliteOutage(Path(url.database))
        try:
            yield app, outage
        finally:
            if relay is None and Path(url.database).is_dir():
                outage.start()
            elif relay is not None:
                relay.stop()
                relay.start()  # let the fixture drop the schema


def _go_down(app, outage) -> None:
    """Take the database away; a SQLite pool's open files would still work, so drop them as a restart would."""
    outage.stop()
    if isinstance(outage, SqliteOutage):
        with app.app_context():
            db.engine.dispose()


def _demand_count(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count(Demand.id)))


def test_database_outage_answers_503_in_every_form_and_recovers(outage_app, caplog):
    app, outage = outage_app
    client = app.test_client()
    client.post("/auth/login", data={"email": PERSONAS["manufacturer"][0], "password": "correct horse battery"})
    assert client.get("/dashboard").status_code == 200
    _go_down(app, outage)
    with caplog.at_level(logging.ERROR, logger="matchmaker.faults"):
        page = client.get("/dashboard")
        html = page.get_data(as_text=True)
        assert page.status_code == 503 and page.headers["Retry-After"] == "30"
        assert UNREACHABLE in html
        assert "Traceback" not in html and "OperationalError" not in html and "sqlalchemy" not in html.lower()
        chinese = client.get("/demands/", headers={"Accept-Language": "zh-HK"})
        assert chinese.status_code == 503 and "資料庫" in chinese.get_data(as_text=True)
        api = client.get("/demands/", headers={"Accept": "application/json"})
        assert api.status_code == 503
        assert api.get_json() == {
            "error": {"code": "database_unavailable", "message": api.get_json()["error"]["message"], "details": {}}
        }
        assert api.get_json()["error"]["message"].startswith(UNREACHABLE)
        posted = client.post("/demands/new", data=demand_form())
        assert posted.status_code == 503
    assert any("database unavailable during GET /dashboard" in r.getMessage() for r in caplog.records)
    outage.start()
    assert client.get("/dashboard").status_code == 200  # same app, same pool: no restart
    assert _demand_count(app) == 0  # the post during the outage changed nothing
    assert client.post("/demands/new", data=demand_form()).status_code == 302
    assert _demand_count(app) == 1


# ---------------------------------------------------------------- the embedding model


def _post(client, kind: str, form: dict) -> int:
    """Post and publish a posting through the web form; return its id."""
    response = client.post(f"/{kind}s/new", data={**form, "publish": "Publish"})
    assert response.status_code == 302, response.get_data(as_text=True)
    return int(response.headers["Location"].rstrip("/").split("/")[-1])


@pytest.mark.slow
def test_unloadable_model_serves_pages_proposes_nothing_and_resumes_once_fixed(app_config, tmp_path, monkeypatch):
    model_dir = tmp_path / "model"  # not there yet: the model cannot be loaded
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    app_config.update(MATCHMAKER_EMBEDDING_MODEL=str(model_dir), MATCHMAKER_MIN_SCORE=0.0)
    with app_with_schema(app_config) as app:
        with app.app_context():
            for name in ("manufacturer", "vendor"):
                make_user(*PERSONAS[name])
        factory, vendor = app.test_client(), app.test_client()
        for client, name in ((factory, "manufacturer"), (vendor, "vendor")):
            client.post("/auth/login", data={"email": PERSONAS[name][0], "password": "correct horse battery"})
        demand_id = _post(factory, "demand", demand_form())
        _post(vendor, "offering", offering_form())
        page = factory.get(f"/demands/{demand_id}").get_data(as_text=True)
        assert "Matching is unavailable" in page and str(model_dir) in page and "not found" in page
        chinese = factory.get("/search/?q=fabric", headers={"Accept-Language": "zh-CN"})
        assert chinese.status_code == 200 and "匹配暂不可用" in chinese.get_data(as_text=True)
        api = factory.get("/search/?q=fabric", headers={"Accept": "application/json"})
        assert api.status_code == 503 and api.get_json()["error"]["code"] == "matching_unavailable"
        with app.app_context():
            assert db.session.scalar(sa.select(sa.func.count(Match.id))) == 0
            assert db.session.scalar(sa.select(sa.func.count(Demand.id)).where(Demand.embedding.is_not(None))) == 0

        shutil.copytree(minilm_path(), model_dir)  # the operator puts the model in place
        monkeypatch.setattr(availability, "RETRY_SECONDS", 0)  # instead of waiting a minute
        second = _post(vendor, "offering", offering_form(title="Loom-side defect camera"))
        with app.app_context():
            pairs = {tuple(row) for row in db.session.execute(sa.select(Match.demand_id, Match.offering_id))}
        # the demand published during the outage is matched with both offerings, the first one included
        assert {(demand_id, second)} < pairs and len(pairs) == 2
        assert "Matching is unavailable" not in factory.get(f"/demands/{demand_id}").get_data(as_text=True)
        assert factory.get("/search/?q=fabric").status_code == 200
    forget_engines()
