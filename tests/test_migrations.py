"""The committed migrations build the schema the models describe, on SQLite and on PostgreSQL."""

import os
import uuid

import pytest
import sqlalchemy as sa

from matchmaker import create_app


def _fresh_database_url(tmp_path):
    """Return an empty database: a new SQLite file, or a new PostgreSQL database when tests run there."""
    base = os.environ.get("MATCHMAKER_TEST_DATABASE_URL", "")
    if not base.startswith("postgresql"):
        return f"sqlite:///{tmp_path / 'migrations.sqlite'}", None
    name = f"mm_migrations_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    return base.rsplit("/", 1)[0] + f"/{name}", (admin, name)


@pytest.fixture
def migration_runner(tmp_path):
    url, cleanup = _fresh_database_url(tmp_path)
    app = create_app(
        {"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": url, "DATA_DIR": str(tmp_path / "data")}
    )
    yield app, app.test_cli_runner()
    with app.app_context():
        from matchmaker.extensions import db

        db.engine.dispose()
    if cleanup:
        admin, name = cleanup
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


def test_upgrade_builds_every_table_and_matches_the_models(migration_runner):
    app, runner = migration_runner
    result = runner.invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    check = runner.invoke(args=["db", "check"])
    assert check.exit_code == 0, check.output  # `db check` exits non-zero when models and migrations differ
    with app.app_context():
        from matchmaker.extensions import db

        tables = set(sa.inspect(db.engine).get_table_names())
    assert {"organization", "user_account", "demand", "offering", "match", "match_event", "index_change"} <= tables


def test_downgrade_to_base_removes_the_schema(migration_runner):
    app, runner = migration_runner
    assert runner.invoke(args=["db", "upgrade"]).exit_code == 0
    assert runner.invoke(args=["db", "downgrade", "base"]).exit_code == 0
    with app.app_context():
        from matchmaker.extensions import db

        assert set(sa.inspect(db.engine).get_table_names()) <= {"alembic_version"}
    assert runner.invoke(args=["db", "check"]).exit_code != 0  # and the check notices
