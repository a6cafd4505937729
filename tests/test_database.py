"""Connections to a SQLite file: write-ahead logging, so a reader never holds up a writer's commit."""

import time

import pytest
import sqlalchemy as sa

from matchmaker.extensions import db
from matchmaker.models import Organization, OrgKind


@pytest.fixture
def sqlite_app(app):
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        pytest.skip("SQLite's journal is checked; PostgreSQL readers never block writers")
    return app


def test_a_sqlite_file_is_in_wal_mode(sqlite_app):
    with sqlite_app.app_context():
        assert db.session.scalar(sa.text("PRAGMA journal_mode")) == "wal"
        assert db.session.scalar(sa.text("PRAGMA busy_timeout")) >= 5000


def test_a_write_commits_while_another_connection_is_reading(sqlite_app):
    """In the default rollback journal the commit would wait for the reader to finish (or time out)."""
    with sqlite_app.app_context():
        engine = db.engine
        with engine.connect() as reader:
            # A statement half read holds the file's read lock until it is finished.
            rows = reader.exec_driver_sql(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000) "
                "SELECT i FROM n, organization UNION ALL SELECT i FROM n"
            )
            rows.fetchone()
            started = time.perf_counter()
            with engine.begin() as writer:
                writer.execute(sa.insert(Organization).values(name="Written meanwhile", kind=OrgKind.VENDOR))
            assert time.perf_counter() - started < 2
            rows.close()
        assert db.session.scalar(sa.select(sa.func.count(Organization.id))) == 1
