"""Every setting the app reads, declared once: config key, environment variable, type, default, range, meaning.

`config.load_config` layers them: these defaults, then `instance/config.py`, then the environment
(or, in tests, the dict given to `create_app`). Each value is parsed and checked against its
declaration here; a bad value or an unknown `MATCHMAKER_*` variable stops the app from starting
with a `ConfigurationError` that names the variable, the value and what is expected.
"""

from __future__ import annotations

import difflib
import json
import math
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from email.utils import parseaddr
from typing import Any
from urllib.parse import urlsplit

from .vocabulary import DEFAULT_LOCALE
from .vocabulary import UI_LOCALES as LOCALES

ENV_PREFIX = "MATCHMAKER_"
DEFAULT = "default"
ENVIRONMENT = "environment"
TRUE_WORDS = ("true", "1", "yes")
FALSE_WORDS = ("false", "0", "no")
MASK = "***"
ENCODER_BACKENDS = ("torch", "onnx", "onnx-int8", "openvino")
COOKIE_SECURE_MODES = ("auto", "always", "never")

# Read by the test tooling only (tests/apps.py, tests/test_browser.py, .ci/run), never by the app;
# the app accepts them in its environment so that the test suite's own processes start.
TEST_TOOLING = {
    "MATCHMAKER_TEST_DATABASE_URL": "run the test suite against this database instead of temporary SQLite files",
    "MATCHMAKER_REQUIRE_BROWSER": "`1` makes the browser tests fail instead of skipping when Chromium is missing",
}


class ConfigurationError(Exception):
    """The configuration has values the app cannot run with; the message lists every one."""

    def __init__(self, problems: Sequence[str]):
        self.problems = list(problems)
        lines = "\n".join(f"  {problem}" for problem in self.problems)
        super().__init__(f"Matchmaker cannot start; fix its configuration:\n{lines}")


class Invalid(ValueError):
    """A value does not have the declared type, range or form; the message says what is expected."""


@dataclass(frozen=True)
class Setting:
    """One setting: where it lives, where it comes from, what it may be and what it means."""

    key: str  # the app.config key the code reads
    env: str  # the environment variable that sets it
    type: str  # a key of PARSERS
    default: Any
    description: str
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    secret: bool = False
    default_text: str = ""  # how to describe a default settled at start (None) or too long to print
    check: Callable[[Any], None] | None = field(default=None, compare=False)  # raises Invalid

    def expected(self) -> str:
        """Describe the values this setting accepts."""
        text = EXPECTED[self.type]
        if self.choices:
            text = "one of " + ", ".join(self.choices)
        if self.minimum is not None and self.maximum is not None:
            text += f" from {_number(self.minimum)} to {_number(self.maximum)}"
        elif self.minimum is not None:
            text += f" of at least {_number(self.minimum)}"
        return text

    def shown(self, value: Any) -> str:
        """Return the value as it may be printed: secrets masked, passwords taken out of URLs."""
        if self.secret and value:
            return MASK
        if isinstance(value, str) and self.type == "database_url":
            return repr(mask_url(value))
        return repr(value) if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)

    def shown_default(self) -> str:
        """Describe the default for people, as the README's Configuration table does."""
        if self.default_text:
            return self.default_text
        if isinstance(self.default, bool):
            return "true" if self.default else "false"
        if self.default == "":
            return "empty"
        if isinstance(self.default, float):
            return _number(self.default)
        return f"`{self.default}`" if isinstance(self.default, str) else str(self.default)


def _number(value: float) -> str:
    """Print a bound without a trailing `.0`."""
    return str(int(value)) if float(value).is_integer() else str(value)


# ---------------------------------------------------------------- parsing by type


def _parse_str(value: Any) -> str:
    if not isinstance(value, str):
        raise Invalid()
    return value


def _parse_int(value: Any) -> int:
    if isinstance(value, str) and re.fullmatch(r"\s*[+-]?\d+\s*", value):
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise Invalid()


def _parse_float(value: Any) -> float:
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise Invalid() from None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise Invalid()
    return float(value)


def _parse_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    word = value.strip().lower() if isinstance(value, str) else None
    if word in TRUE_WORDS or word in FALSE_WORDS:
        return word in TRUE_WORDS
    raise Invalid()


def _parse_cookie_secure(value: Any) -> str:
    """Return `auto`, `always` or `never`; true and false (or their words) mean always and never."""
    if isinstance(value, str) and value.strip().lower() in COOKIE_SECURE_MODES:
        return value.strip().lower()
    return "always" if _parse_bool(value) else "never"


def _parse_mapping(value: Any) -> dict:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as error:
            raise Invalid(f"valid JSON ({error.msg} at character {error.pos})") from None
    if not isinstance(value, Mapping):
        raise Invalid()
    return dict(value)


def _parse_path(value: Any) -> str:
    if not isinstance(value, str | os.PathLike) or not str(value).strip():
        raise Invalid()
    return os.path.expanduser(str(value))


def _parse_database_url(value: Any) -> str:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    value = _parse_str(value).strip()
    if value.startswith(("postgres://", "postgresql://")):
        # psycopg 3 is the driver we ship; the bare scheme would ask for psycopg2
        value = "postgresql+psycopg://" + value.split("://", 1)[1]
    try:
        make_url(value).get_dialect()  # an unknown database kind fails here, not at the first query
    except (ArgumentError, NoSuchModuleError, ValueError):
        raise Invalid() from None
    return value


def _parse_http_url(value: Any) -> str:
    value = _parse_str(value).strip()
    if value == "":
        return value
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise Invalid()
    return value


def _parse_email(value: Any) -> str:
    value = _parse_str(value).strip()
    if "@" not in parseaddr(value)[1]:
        raise Invalid()
    return value


def _parse_redis_url(value: Any) -> str:
    value = _parse_str(value).strip()
    if value and urlsplit(value).scheme not in ("redis", "rediss", "unix"):
        raise Invalid()
    return value


def _parse_rate_limit(value: Any) -> str:
    from limits import parse_many

    value = _parse_str(value).strip()
    try:
        parse_many(value)
    except ValueError:
        raise Invalid() from None
    return value


PARSERS: dict[str, Callable[[Any], Any]] = {
    "str": _parse_str,
    "int": _parse_int,
    "float": _parse_float,
    "bool": _parse_bool,
    "cookie_secure": _parse_cookie_secure,
    "mapping": _parse_mapping,
    "path": _parse_path,
    "database_url": _parse_database_url,
    "http_url": _parse_http_url,
    "email": _parse_email,
    "redis_url": _parse_redis_url,
    "rate_limit": _parse_rate_limit,
}
EXPECTED = {
    "str": "text",
    "int": "a whole number",
    "float": "a number",
    "bool": "true or false (or 1/0, yes/no)",
    "cookie_secure": "auto, always or never (true/false, 1/0, yes/no also do)",
    "mapping": 'a JSON object such as {"lexical": 0.5}',
    "path": "a directory path",
    "database_url": "an SQLAlchemy database URL such as postgresql://user@host/dbname or sqlite:////path/to/file",
    "http_url": "an absolute http(s) URL such as https://matchmaker.example.org, or empty",
    "email": "an email address such as Matchmaker <matchmaker@example.org>",
    "redis_url": "a Redis URL such as redis://127.0.0.1:6379/0, or empty",
    "rate_limit": "a rate such as `100 per minute` or `10/second;1000/day`",
}


def mask_url(url: str) -> str:
    """Return a URL with any password replaced by ***."""
    return re.sub(r"(://[^:/@]*:)[^@]*@", rf"\g<1>{MASK}@", url)


def _check_weights(overrides: dict) -> None:
    """Refuse ranking weight overrides RankingWeights would not accept."""
    from .matching.ranking import RankingWeights

    try:
        RankingWeights.from_overrides(overrides)
    except ValueError as error:
        raise Invalid(f"a JSON object of known ranking weights; {error}") from None


def _check_model(name: str) -> None:
    """Refuse an empty model name: it would silently mean another model."""
    if not name.strip():
        raise Invalid("a model name or path, not an empty one")


def _check_password_hash(method: str) -> None:
    """Refuse a hashing method werkzeug does not know."""
    from werkzeug.security import generate_password_hash

    try:
        generate_password_hash("probe", method=method)
    except (ValueError, TypeError):
        raise Invalid("a werkzeug password hashing method such as scrypt or pbkdf2:sha256:600000") from None


def _check_rate_limit(text: str) -> None:
    """Refuse a rate limit the limits library cannot read."""
    from limits import parse_many

    try:
        parse_many(text)
    except ValueError:
        raise Invalid("a rate limit such as `30 per minute` or `10/minute;100/hour`") from None


def _check_storage_url(url: str) -> None:
    """Refuse a rate limit storage other than memory or Redis."""
    if urlsplit(url).scheme not in ("memory", "redis", "rediss"):
        raise Invalid("memory:// or a redis:// URL")


# ---------------------------------------------------------------- the declaration

SETTINGS: tuple[Setting, ...] = (
    Setting(
        "SQLALCHEMY_DATABASE_URI",
        "DATABASE_URL",
        "database_url",
        None,
        "any SQLAlchemy URL; `postgres://…` and `postgresql://…` use psycopg 3",
        default_text="SQLite in the data directory",
    ),
    Setting(
        "MATCHMAKER_DB_POOL_SIZE",
        "MATCHMAKER_DB_POOL_SIZE",
        "int",
        10,
        "database connections each process keeps open (a server database such as PostgreSQL; SQLite files "
        "ignore it); under gunicorn at least the threads per worker, and workers × (this + overflow) below "
        "the server's `max_connections`",
        minimum=1,
        maximum=1000,
    ),
    Setting(
        "MATCHMAKER_DB_MAX_OVERFLOW",
        "MATCHMAKER_DB_MAX_OVERFLOW",
        "int",
        5,
        "connections a process may open beyond the pool at a busy moment, closed again when returned",
        minimum=0,
        maximum=1000,
    ),
    Setting(
        "MATCHMAKER_DB_POOL_PRE_PING",
        "MATCHMAKER_DB_POOL_PRE_PING",
        "bool",
        True,
        "test each pooled connection before use, so a restarted database or a cut connection costs one "
        "reconnect instead of an error page",
    ),
    Setting(
        "DATA_DIR",
        "MATCHMAKER_DATA_DIR",
        "path",
        None,
        "the SQLite file, the generated secret key and the index snapshots",
        default_text="the instance folder",
    ),
    Setting(
        "SECRET_KEY",
        "SECRET_KEY",
        "str",
        None,
        "session signing key",
        secret=True,
        default_text="generated once and stored in the data directory",
    ),
    Setting(
        "MATCHMAKER_BASE_URL",
        "MATCHMAKER_BASE_URL",
        "http_url",
        "",
        "public address of the site, e.g. `https://matchmaker.example.org`; makes links in emails absolute",
    ),
    Setting(
        "BABEL_DEFAULT_LOCALE",
        "MATCHMAKER_DEFAULT_LOCALE",
        "str",
        DEFAULT_LOCALE,
        "language for people who chose none and for emails to them: `en`, `zh_Hant` or `zh_Hans`",
        choices=LOCALES,
    ),
    Setting(
        "PER_PAGE",
        "MATCHMAKER_PER_PAGE",
        "int",
        20,
        "rows per page in posting, match, curation and notification lists",
        minimum=1,
        maximum=500,
    ),
    Setting(
        "MATCHMAKER_EMBEDDING_MODEL",
        "MATCHMAKER_EMBEDDING_MODEL",
        "str",
        "use-multilingual-v3",
        "the encoder: `use-multilingual-v3` (offline, cross-lingual) or any sentence-transformers model name "
        "or path, e.g. `BAAI/bge-m3`",
        check=_check_model,
    ),
    Setting(
        "MATCHMAKER_ENCODER_BACKEND",
        "MATCHMAKER_ENCODER_BACKEND",
        "str",
        "torch",
        "what runs a sentence-transformers model: `torch`, `onnx` (ONNX Runtime, exported once into the data "
        "directory), `onnx-int8` (dynamically quantised) or `openvino` (needs `sentence-transformers[openvino]`)",
        choices=ENCODER_BACKENDS,
    ),
    Setting(
        "MATCHMAKER_QUERY_PROMPT",
        "MATCHMAKER_QUERY_PROMPT",
        "str",
        "",
        "prompt put before a searching posting's text for e5/bge-style models, e.g. `query: `",
    ),
    Setting(
        "MATCHMAKER_DOCUMENT_PROMPT",
        "MATCHMAKER_DOCUMENT_PROMPT",
        "str",
        "",
        "prompt put before an indexed posting's text for e5/bge-style models, e.g. `passage: `",
    ),
    Setting(
        "MATCHMAKER_APPROXIMATE_INDEX_FROM",
        "MATCHMAKER_APPROXIMATE_INDEX_FROM",
        "int",
        500_000,
        "postings of one kind from which the vector index switches itself from an exact scan to an inverted file (IVF)",
        minimum=1,
    ),
    Setting(
        "MATCHMAKER_IVF_NPROBE",
        "MATCHMAKER_IVF_NPROBE",
        "int",
        32,
        "IVF lists (about sqrt(n) vectors each) an approximate search scans: more find more of the exact top 10",
        minimum=1,
        maximum=4096,
    ),
    Setting(
        "MATCHMAKER_FAISS_THREADS",
        "MATCHMAKER_FAISS_THREADS",
        "int",
        1,
        "OpenMP threads per process for faiss searches; 1 suits one web worker per core",
        minimum=1,
        maximum=64,
    ),
    Setting(
        "MATCHMAKER_TOP_K",
        "MATCHMAKER_TOP_K",
        "int",
        5,
        "proposals per demand",
        minimum=1,
        maximum=100,
    ),
    Setting(
        "MATCHMAKER_MIN_SCORE",
        "MATCHMAKER_MIN_SCORE",
        "float",
        # Weaker pairs are ranked but not proposed: they waste curators' and parties' time. The scale
        # is that of the default encoder's fused score (see matching/ranking.py).
        0.6,
        "pairs scoring lower are ranked but not proposed (scale of the default encoder; 0 proposes every "
        "top-k pair; at most the highest score the ranking weights allow)",
        minimum=0,
    ),
    Setting(
        "MATCHMAKER_RANKING_WEIGHTS",
        "MATCHMAKER_RANKING_WEIGHTS",
        "mapping",
        {},
        'JSON object overriding ranking weights, e.g. `{"lexical": 0.5}`',
        default_text="the weights in `matchmaker/matching/ranking.py`",
        check=_check_weights,
    ),
    Setting(
        "MATCHMAKER_DIRECT_INTEREST",
        "MATCHMAKER_DIRECT_INTEREST",
        "bool",
        False,
        "let factories and vendors express interest without a curator",
    ),
    Setting(
        "MATCHMAKER_REQUEST_EXPIRY_DAYS",
        "MATCHMAKER_REQUEST_EXPIRY_DAYS",
        "int",
        14,
        "days before an unanswered introduction expires",
        minimum=1,
        maximum=365,
    ),
    Setting(
        "MATCHMAKER_INVITATION_EXPIRY_DAYS",
        "MATCHMAKER_INVITATION_EXPIRY_DAYS",
        "int",
        14,
        "days an invitation link to join an organisation stays valid",
        minimum=1,
        maximum=365,
    ),
    Setting(
        "MATCHMAKER_EXPIRY_CHECK_SECONDS",
        "MATCHMAKER_EXPIRY_CHECK_SECONDS",
        "float",
        60.0,
        "each web process applies due expiries on a request at most this often (`matchmaker expire` for cron)",
        minimum=0,
        maximum=86400,
    ),
    Setting(
        "MAIL_SERVER",
        "MATCHMAKER_MAIL_SERVER",
        "str",
        "",
        "SMTP host for email notifications; empty sends no email (it stays queued)",
        default_text="empty (off)",
    ),
    Setting("MAIL_PORT", "MATCHMAKER_MAIL_PORT", "int", 25, "SMTP port", minimum=1, maximum=65535),
    Setting("MAIL_SENDER", "MATCHMAKER_MAIL_SENDER", "email", "matchmaker@localhost", "From address of emails"),
    Setting("MAIL_USE_SSL", "MATCHMAKER_MAIL_USE_SSL", "bool", False, "connect over SSL (SMTPS, usually port 465)"),
    Setting("MAIL_USE_TLS", "MATCHMAKER_MAIL_USE_TLS", "bool", False, "upgrade the connection with STARTTLS"),
    Setting("MAIL_USERNAME", "MATCHMAKER_MAIL_USERNAME", "str", "", "SMTP login; empty skips logging in"),
    Setting("MAIL_PASSWORD", "MATCHMAKER_MAIL_PASSWORD", "str", "", "SMTP password", secret=True),
    Setting(
        "MATCHMAKER_IMPORT_MAX_MB",
        "MATCHMAKER_IMPORT_MAX_MB",
        "int",
        20,
        "largest import file, in MB; a larger one is refused before it is read",
        minimum=1,
        maximum=1024,
    ),
    Setting(
        "MATCHMAKER_REDIS_URL",
        "MATCHMAKER_REDIS_URL",
        "redis_url",
        "",
        "Redis the web processes share, e.g. `redis://127.0.0.1:6379/0`: the background job queue and, unless "
        "`MATCHMAKER_RATELIMIT_STORAGE_URL` says otherwise, the rate-limit counters; empty keeps the queue in a "
        "SQLite file in the data directory and the counters in each process",
    ),
    Setting(
        "MATCHMAKER_JOBS",
        "MATCHMAKER_JOBS",
        "str",
        "process",
        "who runs background jobs (imports): `process` (a `matchmaker worker` child process, niced and "
        "single-threaded, that the first web process to serve a request starts), `in-process` (worker threads "
        "inside each web process), `worker` (the web only enqueues; run `matchmaker worker` yourself) or "
        "`immediate` (at once, in the request; for tests)",
        choices=("process", "in-process", "worker", "immediate"),
    ),
    Setting(
        "MAIL_TIMEOUT",
        "MATCHMAKER_MAIL_TIMEOUT",
        "float",
        10.0,
        "seconds to wait for the SMTP server",
        minimum=0.1,
        maximum=600,
    ),
    Setting(
        "MATCHMAKER_SESSION_COOKIE_SECURE",
        "MATCHMAKER_SESSION_COOKIE_SECURE",
        "cookie_secure",
        "auto",
        "when cookies (session, remember-me) are marked `Secure`, so that browsers send them over HTTPS only: "
        "`auto` (when the request came over HTTPS, directly or, with `MATCHMAKER_PROXY_HOPS`, through a proxy "
        "saying so in `X-Forwarded-Proto`), `always` (also `true`) or `never` (also `false`)",
    ),
    Setting(
        "MATCHMAKER_PROXY_HOPS",
        "MATCHMAKER_PROXY_HOPS",
        "int",
        0,
        "reverse proxies in front of the app whose `X-Forwarded-For`/`-Proto`/`-Host` headers are trusted "
        "(0: none, the app faces the clients itself)",
        minimum=0,
        maximum=5,
    ),
    Setting(
        "MAX_CONTENT_LENGTH",
        "MATCHMAKER_MAX_UPLOAD_BYTES",
        "int",
        8 * 1024 * 1024,
        "largest request body (a form or an uploaded file) accepted, in bytes; larger ones get a 413 page",
        minimum=1024,
    ),
    Setting(
        "MATCHMAKER_PASSWORD_HASH",
        "MATCHMAKER_PASSWORD_HASH",
        "str",
        "scrypt",
        "how passwords are hashed (a werkzeug method such as `scrypt` or `pbkdf2:sha256:600000`); a stored "
        "hash made another way is replaced at the person's next sign-in",
        check=_check_password_hash,
    ),
    Setting(
        "MATCHMAKER_PASSWORD_RESET_HOURS",
        "MATCHMAKER_PASSWORD_RESET_HOURS",
        "int",
        2,
        "hours a password reset link stays valid; it also stops working once used",
        minimum=1,
        maximum=72,
    ),
    Setting(
        "MATCHMAKER_LOGIN_RATE_LIMIT",
        "MATCHMAKER_LOGIN_RATE_LIMIT",
        "str",
        "30 per minute",
        "sign-in, registration and password reset attempts one IP address may make, e.g. `30 per minute`",
        check=_check_rate_limit,
    ),
    Setting(
        "MATCHMAKER_LOCKOUT_FAILURES",
        "MATCHMAKER_LOCKOUT_FAILURES",
        "int",
        5,
        "failed sign-ins to one email address after which it is locked out for a while",
        minimum=1,
        maximum=1000,
    ),
    Setting(
        "MATCHMAKER_LOCKOUT_MINUTES",
        "MATCHMAKER_LOCKOUT_MINUTES",
        "int",
        15,
        "minutes the failed sign-ins are counted over, and an email address stays locked out",
        minimum=1,
        maximum=1440,
    ),
    Setting(
        "RATELIMIT_STORAGE_URI",
        "MATCHMAKER_RATELIMIT_STORAGE_URL",
        "str",
        "memory://",
        "where sign-in attempts are counted: `memory://` (each process on its own) or a Redis URL such as "
        "`redis://localhost:6379/0`, shared by every process",
        check=_check_storage_url,
    ),
    Setting(
        "MATCHMAKER_API_RATE_LIMIT",
        "MATCHMAKER_API_RATE_LIMIT",
        "rate_limit",
        "300 per minute",
        "requests each API token (or, without one, each address) may make to `/api/v1`, e.g. `100 per minute`",
    ),
)
BY_KEY = {setting.key: setting for setting in SETTINGS}
BY_ENV = {setting.env: setting for setting in SETTINGS}


def defaults() -> dict[str, Any]:
    """Return every setting's default (None where it is settled at start)."""
    return {setting.key: _copy(setting.default) for setting in SETTINGS}


def _copy(value: Any) -> Any:
    """Return a fresh copy of a mutable default so no app shares another's."""
    return dict(value) if isinstance(value, dict) else value


# ---------------------------------------------------------------- layering


@dataclass
class Resolved:
    """The layered configuration: values by config key, and where each declared one came from, as given."""

    values: dict[str, Any]
    sources: dict[str, str]
    given: dict[str, Any] = field(default_factory=dict)  # the unparsed value, to quote it back


def resolve(layers: Sequence[tuple[str, Mapping[str, Any]]], environ: Mapping[str, str] | None = None) -> Resolved:
    """Layer the defaults, each (origin, mapping) in turn, then the environment; raise on any bad value.

    Mappings are keyed by config key (instance/config.py, a test's dict): declared keys are parsed
    and checked, other keys (Flask's own settings) pass through. The environment is read only for the
    declared variables; another `MATCHMAKER_*` variable is refused.
    """
    resolved = Resolved(defaults(), dict.fromkeys(BY_KEY, DEFAULT))
    problems: list[str] = []
    for origin, mapping in layers:
        for key, value in mapping.items():
            if key in BY_KEY:
                _apply(resolved, BY_KEY[key], value, origin, key, problems)
            elif _misnamed(key, origin, problems):
                continue
            else:
                resolved.values[key] = value
    if environ is not None:
        for name, raw in sorted(environ.items()):
            if name in BY_ENV:
                if raw != "":  # an empty variable counts as unset, as shells and compose files often leave them
                    _apply(resolved, BY_ENV[name], raw, ENVIRONMENT, name, problems)
            elif name.startswith(ENV_PREFIX) and name not in TEST_TOOLING:
                problems.append(_unknown(name, "environment variable", BY_ENV))
    if not problems:
        _check_min_score(resolved, problems)
    if problems:
        raise ConfigurationError(problems)
    return resolved


def _apply(resolved: Resolved, setting: Setting, value: Any, origin: str, name: str, problems: list[str]) -> None:
    """Parse and check one value, then store it, or add the problem it has."""
    try:
        resolved.values[setting.key] = parse(setting, value)
        resolved.sources[setting.key] = origin
        resolved.given[setting.key] = value
    except Invalid as error:
        problems.append(_problem(setting, name, value, origin, str(error)))


def parse(setting: Setting, value: Any) -> Any:
    """Return the value as the setting's type, or raise Invalid saying what is expected."""
    if value is None and setting.default is None:
        return None  # settled at start, like the data directory
    try:
        parsed = PARSERS[setting.type](value)
    except Invalid as error:
        raise Invalid(str(error) or setting.expected()) from None
    if setting.choices and parsed not in setting.choices:
        raise Invalid(setting.expected())
    if (setting.minimum is not None and parsed < setting.minimum) or (
        setting.maximum is not None and parsed > setting.maximum
    ):
        raise Invalid(setting.expected())
    if setting.check:
        setting.check(parsed)
    return parsed


def _problem(setting: Setting, name: str, value: Any, origin: str, expected: str) -> str:
    """Word one refused value: the variable or key, the value, where it was set and what is expected."""
    return f"{name}={setting.shown(value)} ({_where(origin)}): expected {expected}."


def _where(origin: str) -> str:
    """Name where a value came from."""
    return "environment variable" if origin == ENVIRONMENT else f"set in {origin}"


def _misnamed(key: str, origin: str, problems: list[str]) -> bool:
    """Refuse an environment variable's name or an unknown MATCHMAKER_ key used as a config key."""
    if key in BY_ENV:
        problems.append(
            f"{key} ({_where(origin)}): that is the environment variable's name; the config key is {BY_ENV[key].key}."
        )
        return True
    if key.startswith(ENV_PREFIX):
        problems.append(_unknown(key, f"setting ({_where(origin)})", BY_KEY))
        return True
    return False


def _unknown(name: str, what: str, known: Mapping[str, Setting]) -> str:
    """Word an unknown name, suggesting the closest declared one."""
    # Compare the parts after the prefix, which every name shares and would make all of them look close.
    tails = {candidate.removeprefix(ENV_PREFIX): candidate for candidate in known}
    close = difflib.get_close_matches(name.removeprefix(ENV_PREFIX), list(tails), n=1, cutoff=0.6)
    hint = f"did you mean {tails[close[0]]}?" if close else "see README.md or `matchmaker settings` for the known ones."
    return f"{name}: unknown {what}; {hint}"


def _check_min_score(resolved: Resolved, problems: list[str]) -> None:
    """Refuse a minimum score that no pair can reach under the configured ranking weights."""
    from .matching.ranking import RankingWeights

    setting = BY_KEY["MATCHMAKER_MIN_SCORE"]
    floor = resolved.values[setting.key]
    highest = RankingWeights.from_overrides(resolved.values["MATCHMAKER_RANKING_WEIGHTS"]).highest_score()
    if floor > highest:
        origin = resolved.sources[setting.key]
        name = setting.env if origin == ENVIRONMENT else setting.key
        expected = f"a number from 0 to {round(highest, 4)}, the highest score the ranking weights allow"
        problems.append(_problem(setting, name, resolved.given.get(setting.key, floor), origin, expected))


# ---------------------------------------------------------------- documentation


def markdown_table() -> str:
    """Return the README's Configuration table, one declared setting a row."""
    rows = ["| variable | config key | default | meaning |", "|---|---|---|---|"]
    rows += [f"| `{s.env}` | `{s.key}` | {s.shown_default()} | {s.description} |" for s in SETTINGS]
    return "\n".join(rows)
