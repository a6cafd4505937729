"""Fixtures in the flaskr shape: app, client, runner, auth, and personas.

The helpers they build on live in tests/apps.py (apps and their databases) and tests/factories.py (rows).
"""

import os

import pytest
from hypothesis import HealthCheck, settings

from .apps import app_with_schema, base_config
from .factories import PERSONAS, AuthActions, make_user

# The real-browser fixtures (live_server, browser, person), shared by every browser test module.
pytest_plugins = ["tests.browser_support"]

# Property tests: `ci` keeps each under ~20 s on a loaded machine; HYPOTHESIS_PROFILE=long searches far longer.
_PROPERTY_SETTINGS = {"deadline": None, "database": None, "suppress_health_check": [HealthCheck.too_slow]}
settings.register_profile("ci", max_examples=40, **_PROPERTY_SETTINGS)
settings.register_profile("long", max_examples=3000, **_PROPERTY_SETTINGS)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


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
