"""Configuration: defaults, then the instance folder, then MATCHMAKER_/plain environment variables."""

import os
import secrets
from pathlib import Path

DEFAULT_EMBEDDING_MODEL = "use-multilingual-v3"


class DefaultConfig:
    """Settings every deployment starts from."""

    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}  # noqa: RUF012
    WTF_CSRF_TIME_LIMIT = None
    BABEL_DEFAULT_LOCALE = "en"
    LANGUAGES = ["en", "zh_Hant", "zh_Hans"]  # noqa: RUF012
    PER_PAGE = 20
    MATCHMAKER_EMBEDDING_MODEL = DEFAULT_EMBEDDING_MODEL
    MATCHMAKER_QUERY_PROMPT = ""
    MATCHMAKER_DOCUMENT_PROMPT = ""
    MATCHMAKER_TOP_K = 5
    # Weaker pairs are ranked but not proposed: they waste curators' and parties' time. The scale is
    # that of the default encoder's fused score (see matching/ranking.py); set 0 to propose every top-k pair.
    MATCHMAKER_MIN_SCORE = 0.6
    MATCHMAKER_INDEX_SYNC = True
    MATCHMAKER_DIRECT_INTEREST = False
    MATCHMAKER_REQUEST_EXPIRY_DAYS = 14
    MATCHMAKER_INVITATION_EXPIRY_DAYS = 14
    MAIL_SERVER = ""
    MAIL_PORT = 25
    MAIL_SENDER = "matchmaker@localhost"


def load_config(app, test_config=None):
    """Layer configuration onto the app and settle paths and the secret key."""
    app.config.from_object(DefaultConfig)
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
        app.config.from_prefixed_env("MATCHMAKER")
        _read_plain_env(app)
    else:
        app.config.from_mapping(test_config)
    data_dir = Path(app.config.get("DATA_DIR") or os.environ.get("MATCHMAKER_DATA_DIR") or app.instance_path)
    data_dir.mkdir(parents=True, exist_ok=True)
    app.config["DATA_DIR"] = str(data_dir)
    app.config.setdefault("SQLALCHEMY_DATABASE_URI", _database_url(data_dir))
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _persistent_secret(data_dir)


def _read_plain_env(app):
    """Honour the unprefixed variables that deployments conventionally set."""
    for env_name, key in (
        ("DATABASE_URL", "SQLALCHEMY_DATABASE_URI"),
        ("SECRET_KEY", "SECRET_KEY"),
        ("MATCHMAKER_DATA_DIR", "DATA_DIR"),
        ("MATCHMAKER_EMBEDDING_MODEL", "MATCHMAKER_EMBEDDING_MODEL"),
    ):
        if os.environ.get(env_name):
            app.config[key] = os.environ[env_name]
    uri = app.config.get("SQLALCHEMY_DATABASE_URI", "")
    if uri.startswith("postgres://") or uri.startswith("postgresql://"):
        # psycopg 3 is the driver we ship; the bare scheme would ask for psycopg2
        app.config["SQLALCHEMY_DATABASE_URI"] = "postgresql+psycopg://" + uri.split("://", 1)[1]


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
