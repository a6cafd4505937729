"""Configuration: the declared settings' defaults, then instance/config.py, then the environment.

Every deployment setting is declared in `settings.py`; this module layers them onto the app and
settles the data directory, the database URL and the secret key when nobody set them.
"""

import copy
import os
import secrets
from pathlib import Path

from flask import Config

from . import settings
from .settings import ConfigurationError

__all__ = ["ConfigurationError", "load_config"]

INSTANCE_CONFIG = "instance/config.py"
TEST_CONFIG = "test configuration"

# How the app drives its extensions; fixed by the code, so not settings anyone sets.
FRAMEWORK_CONFIG = {
    "WTF_CSRF_TIME_LIMIT": None,
    "LANGUAGES": list(settings.LOCALES),
    # Each app says it: Flask-Limiter's one instance would otherwise inherit the last app's choice.
    "RATELIMIT_HEADERS_ENABLED": True,
    "RATELIMIT_ENABLED": True,
}


def load_config(app, test_config: dict | None = None) -> None:
    """Layer the settings onto the app and settle paths and the secret key; raise ConfigurationError if bad.

    Tests pass test_config in place of instance/config.py and the environment.
    """
    if test_config is None:
        resolved = settings.resolve([(INSTANCE_CONFIG, _instance_values(app))], os.environ)
    else:
        resolved = settings.resolve([(TEST_CONFIG, test_config)])
    app.config.update(copy.deepcopy(FRAMEWORK_CONFIG))
    app.config.update(resolved.values)
    app.extensions["matchmaker.settings"] = resolved.sources
    data_dir = Path(app.config["DATA_DIR"] or app.instance_path)
    data_dir.mkdir(parents=True, exist_ok=True)
    app.config["DATA_DIR"] = str(data_dir)
    if not app.config["SQLALCHEMY_DATABASE_URI"]:
        app.config["SQLALCHEMY_DATABASE_URI"] = _database_url(data_dir)
    if "SQLALCHEMY_ENGINE_OPTIONS" not in (test_config or {}):
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options(app.config)
    if not app.config["SECRET_KEY"]:
        app.config["SECRET_KEY"] = _persistent_secret(data_dir)
    # The shared Redis, when there is one, also keeps the rate-limit counters unless their storage is named.
    if app.config["RATELIMIT_STORAGE_URI"] == "memory://" and app.config["MATCHMAKER_REDIS_URL"]:
        app.config["RATELIMIT_STORAGE_URI"] = app.config["MATCHMAKER_REDIS_URL"]


def engine_options(config) -> dict:
    """SQLAlchemy engine options from the pool settings; the pool's size applies to server databases only."""
    options = {"pool_pre_ping": config["MATCHMAKER_DB_POOL_PRE_PING"]}
    if not str(config["SQLALCHEMY_DATABASE_URI"]).startswith("sqlite"):
        options["pool_size"] = config["MATCHMAKER_DB_POOL_SIZE"]
        options["max_overflow"] = config["MATCHMAKER_DB_MAX_OVERFLOW"]
    return options


def setting_sources(app) -> dict[str, str]:
    """Return where each declared setting's value came from: default, a file, the environment or a test."""
    return app.extensions["matchmaker.settings"]


def _instance_values(app) -> dict:
    """Return the upper-case names instance/config.py sets, if the file exists."""
    config = Config(app.instance_path)
    config.from_pyfile("config.py", silent=True)
    return dict(config)


def _database_url(data_dir: Path) -> str:
    """Return the default SQLite URL inside the data directory."""
    return f"sqlite:///{data_dir / 'matchmaker.sqlite'}"


def _persistent_secret(data_dir: Path) -> str:
    """Return the secret key stored in the data directory, creating it on first use."""
    path = data_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    key = secrets.token_hex(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another worker won the race; use its key
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key
