"""Fixtures in the flaskr shape: app, client, runner, auth, and personas.

The helpers they build on live in tests/apps.py (apps and their databases) and tests/factories.py (rows).
"""

import pytest

from .apps import app_with_schema, base_config
from .factories import PERSONAS, AuthActions, make_user

# The real-browser fixtures (live_server, browser, person), shared by every browser test module.
pytest_plugins = ["tests.browser_support"]


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


@pytest.fixture
def personas(app):
    """Create every persona; return their user ids by persona name."""
    with app.app_context():
        return {name: make_user(*spec).id for name, spec in PERSONAS.items()}


@pytest.fixture
def auth(client):
    return AuthActions(client)
