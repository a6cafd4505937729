"""Fixtures in the flaskr shape: app, client, runner, auth, and personas.

Set MATCHMAKER_TEST_DATABASE_URL (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test)
to run the whole suite against another database than a temporary SQLite file.
"""

import os
import uuid
from contextlib import contextmanager

import pytest
import sqlalchemy as sa
from werkzeug.security import generate_password_hash

from matchmaker import create_app
from matchmaker.extensions import db
from matchmaker.models import Organization, OrgKind, Role, User

PASSWORD = "correct horse battery"

PERSONAS = {
    "manufacturer": ("factory@test.example", OrgKind.MANUFACTURER, "Foshan Weave Textiles", Role.MEMBER),
    "vendor": ("vendor@test.example", OrgKind.VENDOR, "Lumen Vision AI", Role.MEMBER),
    "curator": ("curator@test.example", OrgKind.AGENCY, "GBA Promotion Centre", Role.CURATOR),
    "admin": ("admin@test.example", OrgKind.AGENCY, "GBA Promotion Centre", Role.ADMIN),
    # A member of other organisations of both kinds' shape: owns nothing the others posted.
    "intruder": ("intruder@test.example", OrgKind.MANUFACTURER, "Dongguan Rival Plastics", Role.MEMBER),
    "vendor_intruder": ("rival-vendor@test.example", OrgKind.VENDOR, "Rival Robotics", Role.MEMBER),
}


def _database_url(tmp_path) -> str:
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


def base_config(tmp_path) -> dict:
    """Return the configuration a test app starts from, with its database and data under tmp_path."""
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "WTF_CSRF_ENABLED": False,
        "SQLALCHEMY_DATABASE_URI": _database_url(tmp_path),
        "DATA_DIR": str(tmp_path / "data"),
        "SERVER_NAME": "localhost",
    }


@contextmanager
def app_with_schema(config: dict | None):
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


@pytest.fixture
def app_config(tmp_path):
    """Return the configuration each test app starts from; tests may change it before `app` is built."""
    return base_config(tmp_path)


@pytest.fixture
def app(app_config):
    """Create an app with a fresh schema, and drop it afterwards."""
    with app_with_schema(app_config) as app:
        yield app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def make_user(email, kind, org_name, role=Role.MEMBER, password=PASSWORD) -> User:
    """Create a user in an organisation of the given kind, creating the organisation if needed."""
    org = db.session.scalar(sa.select(Organization).where(Organization.name == org_name))
    if org is None:
        org = Organization(
            name=org_name,
            kind=kind,
            city="Foshan",
            contact_email=f"contact@{kind.value}.example",
            contact_phone="+852 5555 0000",
        )
        db.session.add(org)
    user = User(email=email, name=email.split("@")[0], organization=org, role=role)
    # One hashing round keeps hundreds of logins fast; login still checks the hash for real.
    user.password_hash = generate_password_hash(password, method="pbkdf2:sha256:1")
    db.session.add(user)
    db.session.commit()
    return user


@pytest.fixture
def personas(app):
    """Create every persona; return their user ids by persona name."""
    with app.app_context():
        return {name: make_user(*spec).id for name, spec in PERSONAS.items()}


class AuthActions:
    """Log personas in and out through the real login form."""

    def __init__(self, client):
        self._client = client

    def login(self, email="factory@test.example", password=PASSWORD):
        return self._client.post("/auth/login", data={"email": email, "password": password})

    def login_as(self, persona: str):
        return self.login(PERSONAS[persona][0])

    def logout(self):
        return self._client.post("/auth/logout")


@pytest.fixture
def auth(client):
    return AuthActions(client)
