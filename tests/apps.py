"""Test apps: their configuration, and a database of their own (a SQLite file or a PostgreSQL schema).

Set MATCHMAKER_TEST_DATABASE_URL (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test)
to run the whole suite against another database than a temporary SQLite file.
"""

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import Flask

from matchmaker import create_app
from matchmaker.extensions import db


def database_url(tmp_path: Path) -> str:
    """Return a database of the test's own: a SQLite file, or a fresh PostgreSQL schema.

    Each PostgreSQL app gets its own schema through the connection's search_path (carried in the URL,
    so a second process given the URL sees the same tables): module- and function-scoped apps then
    never drop each other's tables.
    """
    base = os.environ.get("MATCHMAKER_TEST_DATABASE_URL")
    if not base:
        return f"sqlite:///{tmp_path / 'test.sqlite'}"
    schema = f"t_{uuid.uuid4().hex[:12]}"
    return f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}"


def _schema_of(url: str) -> str | None:
    """Return the PostgreSQL schema a test URL points at, if any."""
    return url.split("search_path%3D", 1)[1] if "search_path%3D" in url else None


def base_config(tmp_path: Path) -> dict[str, Any]:
    """Return the configuration a test app starts from, with its database and data under tmp_path."""
    return {
        "TESTING": True,
        "MATCHMAKER_JOBS": "immediate",  # background jobs run inside the request that enqueues them
        "SECRET_KEY": "test-secret",
        "WTF_CSRF_ENABLED": False,
        "SQLALCHEMY_DATABASE_URI": database_url(tmp_path),
        "DATA_DIR": str(tmp_path / "data"),
        "SERVER_NAME": "localhost",
        # Hundreds of sign-ins from one address: tests of throttling turn it back on.
        "RATELIMIT_ENABLED": False,
        # One hashing round keeps those sign-ins fast (tests/factories.py hashes the personas' passwords so).
        "MATCHMAKER_PASSWORD_HASH": "pbkdf2:sha256:1",
    }


@contextmanager
def app_with_schema(config: dict[str, Any] | None) -> Iterator[Flask]:
    """Yield an app (from config, or from the environment when None) with a fresh schema; drop it afterwards."""
    app = create_app(config)
    schema = _schema_of(app.config["SQLALCHEMY_DATABASE_URI"])
    with app.app_context():
        if schema:
            db.session.execute(sa.text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
            db.session.commit()
        db.drop_all()
        db.create_all()
    try:
        yield app
    finally:
        with app.app_context():
            db.session.remove()
            db.drop_all()
            if schema:
                with db.engine.begin() as conn:
                    conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            db.engine.dispose()
