"""How the app's connections to its database are set up, beyond the pool settings (config.engine_options).

SQLite files are switched to write-ahead logging: readers no longer wait for a writer nor block its
commit, which under gunicorn (several processes, several threads each) turned every review step into a
wait behind the page loads of everyone else. A connection that still finds the file locked waits up to
BUSY_TIMEOUT_MS for it, instead of failing at once.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import Flask

BUSY_TIMEOUT_MS = 15_000


def init_database(app: Flask, db) -> None:
    """Set up each new connection of the app's engine for its kind of database."""
    with app.app_context():
        engine = db.engine
    if engine.dialect.name == "sqlite" and (engine.url.database or ":memory:") != ":memory:":
        sa.event.listen(engine, "connect", _sqlite_file_connection)


def _sqlite_file_connection(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")  # kept in the file: later connections find it on
    finally:
        cursor.close()
