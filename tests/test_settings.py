"""Settings: each documented variable changes what the app does; bad values and unknown names stop it starting.

Apps here are built from the environment alone (`create_app()` without a test config), as a deployment
builds them, with the data directory, database and instance folder under tmp_path.
"""

import json
import os
import re
import sqlite3
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import flask_babel
import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from flask import Flask

from matchmaker import ConfigurationError, create_app, mailer, settings
from matchmaker.config import setting_sources
from matchmaker.domain import workflow
from matchmaker.domain.errors import PermissionDenied
from matchmaker.extensions import db
from matchmaker.matching import encoders
from matchmaker.matching.ranking import FACETS, RankingWeights
from matchmaker.models import Demand, Match, MatchStatus, Offering, OutboundEmail, utcnow

from .apps import app_with_schema, base_config, database_url
from .factories import (
    PERSONAS,
    HashingEncoder,
    free_port,
    make_match,
    make_user,
    matches_of,
    persona,
    publish,
    seed_offerings,
    textile_demand,
    titles,
)

README = Path(__file__).resolve().parents[1] / "README.md"
DEPLOYMENT_VARIABLES = ("DATABASE_URL", "SECRET_KEY")


@pytest.fixture
def env(monkeypatch, tmp_path):
    """Clear the app's variables (the test tooling's stay) and point data, database and instance into tmp_path."""
    url = database_url(tmp_path)  # a PostgreSQL schema of its own when the suite runs there
    for name in list(os.environ):
        if name in DEPLOYMENT_VARIABLES or (name.startswith("MATCHMAKER_") and name not in settings.TEST_TOOLING):
            monkeypatch.delenv(name)
    monkeypatch.setattr(Flask, "auto_find_instance_path", lambda self: str(tmp_path / "instance"))
    monkeypatch.setenv("MATCHMAKER_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("MATCHMAKER_JOBS", "immediate")  # no job worker process outliving the test's database
    return monkeypatch


def env_app(env, **variables):
    """Set the variables and return the app built from the environment, with a fresh schema."""
    for name, value in variables.items():
        env.setenv(name, value)
    return app_with_schema(None)


def with_personas(app) -> None:
    """Create every persona in the app's database."""
    with app.app_context():
        for spec in PERSONAS.values():
            make_user(*spec)


# ---------------------------------------------------------------- each variable changes behaviour


@pytest.mark.parametrize("top_k", [1, 3])
def test_top_k_limits_proposals_per_demand(env, top_k):
    with env_app(env, MATCHMAKER_TOP_K=str(top_k), MATCHMAKER_MIN_SCORE="0") as app, app.app_context():
        seed_offerings()
        assert len(matches_of(textile_demand())) == top_k


def test_min_score_decides_which_ranked_pairs_are_proposed(env):
    with env_app(env, MATCHMAKER_MIN_SCORE="1.7") as app, app.app_context():
        seed_offerings()
        assert matches_of(textile_demand()) == []
    env.setenv("MATCHMAKER_MIN_SCORE", "0")
    with app_with_schema(None) as app, app.app_context():
        seed_offerings()
        assert len(matches_of(textile_demand())) == 5  # the default top K, weak pairs included


def _fused(weights: RankingWeights, parts: dict) -> float:
    """Recompute a proposal's score from its stored breakdown under the given weights."""
    score = weights.dense * parts["dense"] + weights.lexical * parts["lexical_used"]
    score += sum(getattr(weights, name) * parts[name] for name in FACETS)
    return score * (1 - weights.feedback * parts["feedback_penalty"])


def test_ranking_weights_change_the_score(env):
    with env_app(env, MATCHMAKER_RANKING_WEIGHTS='{"lexical": 0, "scenario": 1}') as app, app.app_context():
        seed_offerings()
        best = matches_of(textile_demand())[0]
        assert best.breakdown["lexical_used"] > 0 and best.breakdown["scenario"] > 0
        assert best.score == pytest.approx(_fused(RankingWeights(lexical=0, scenario=1), best.breakdown), abs=1e-3)
        assert abs(best.score - _fused(RankingWeights(), best.breakdown)) > 0.3


@pytest.mark.parametrize("value", ["true", "1", "YES"])
def test_direct_interest_lets_a_party_express_interest(env, value):
    with env_app(env, MATCHMAKER_DIRECT_INTEREST=value) as app:
        with_personas(app)
        with app.app_context():
            match = workflow.apply(make_match(), "express_interest", persona("vendor"))
            assert (match.status, match.offering_response) == (MatchStatus.INTRODUCED, "accepted")


@pytest.mark.parametrize("value", ["false", "0", "no"])
def test_direct_interest_off_leaves_introductions_to_curators(env, value):
    with env_app(env, MATCHMAKER_DIRECT_INTEREST=value) as app:
        with_personas(app)
        with app.app_context(), pytest.raises(PermissionDenied, match="turned off"):
            workflow.apply(make_match(), "express_interest", persona("vendor"))


def test_request_expiry_days_sets_the_deadline(env):
    with env_app(env, MATCHMAKER_REQUEST_EXPIRY_DAYS="3") as app:
        with_personas(app)
        with app.app_context():
            match = workflow.apply(make_match(), "introduce", persona("curator"))
            assert match.expires_at - match.introduced_at == timedelta(days=3)


def test_expiry_check_seconds_sets_how_often_requests_apply_expiry(env):
    with env_app(env, MATCHMAKER_EXPIRY_CHECK_SECONDS="0") as app:
        with_personas(app)
        client = app.test_client()
        assert client.get("/auth/login").status_code == 200  # the first request checks expiry
        with app.app_context():
            match_id = make_match(MatchStatus.INTRODUCED, expires_at=utcnow() - timedelta(minutes=1)).id
        client.get("/auth/login")  # with the default of 60 s this one would not check again
        with app.app_context():
            assert db.session.get(Match, match_id).status is MatchStatus.EXPIRED


def test_base_url_makes_email_links_absolute(env):
    with env_app(env, MATCHMAKER_BASE_URL="https://matchmaker.example.org/") as app:
        with_personas(app)
        with app.app_context():
            match = workflow.apply(make_match(), "introduce", persona("curator"))
            bodies = db.session.scalars(sa.select(OutboundEmail.body)).all()
            assert bodies and all(f"https://matchmaker.example.org/matches/{match.id}" in body for body in bodies)


def test_per_page_sets_list_length(env):
    with env_app(env, MATCHMAKER_PER_PAGE="1") as app:
        with app.app_context():
            for title in ("Loom defects", "Kiln faults", "Mould energy"):
                publish(Demand, "Foshan Weave", title)
        client = app.test_client()
        assert len(titles(client, "/demands/")) == 1
        assert "Page 1 of 3" in client.get("/demands/").get_data(as_text=True)


def test_default_locale_is_used_without_a_choice(env):
    with env_app(env, MATCHMAKER_DEFAULT_LOCALE="zh_Hans") as app, app.test_request_context("/"):
        assert str(flask_babel.get_locale()) == "zh_Hans"


class PromptRecordingEncoder(HashingEncoder):
    """A stand-in for a sentence-transformers model that records the texts it embeds, prompts included."""

    def __init__(self, model_name, query_prompt="", document_prompt="", **backend_options):
        self.fingerprint = f"test:{model_name}:64"
        self.prompts = {"query": query_prompt, "document": document_prompt}
        self.seen = []

    def encode(self, texts, kind="document"):
        texts = [self.prompts[kind] + text for text in texts]
        self.seen += texts
        return super().encode(texts, kind)


def test_model_and_prompts_reach_the_encoder(env):
    env.setattr(encoders, "_cache", {})
    env.setattr(encoders, "SentenceTransformerEncoder", PromptRecordingEncoder)
    variables = {
        "MATCHMAKER_EMBEDDING_MODEL": "intfloat/multilingual-e5-small",
        "MATCHMAKER_QUERY_PROMPT": "query: ",
        "MATCHMAKER_DOCUMENT_PROMPT": "passage: ",
    }
    with env_app(env, **variables) as app, app.app_context():
        offering = publish(Offering, "Loom Vision", "Fabric defect detection")
        publish(Demand, "Foshan Weave", "Find fabric defects")
        (encoder,) = encoders._cache.values()
        assert offering.embedding_model == "test:intfloat/multilingual-e5-small:64"
        assert "passage: Fabric defect detection\nFabric defect detection" in encoder.seen
        assert "query: Find fabric defects\nFind fabric defects" in encoder.seen


def test_eval_uses_the_configured_models_prompts(env):
    env.setattr(encoders, "_cache", {})
    env.setattr(encoders, "SentenceTransformerEncoder", PromptRecordingEncoder)
    env.setenv("MATCHMAKER_EMBEDDING_MODEL", "intfloat/multilingual-e5-small")
    env.setenv("MATCHMAKER_QUERY_PROMPT", "query: ")
    env.setenv("MATCHMAKER_DOCUMENT_PROMPT", "passage: ")
    result = (
        create_app()
        .test_cli_runner()
        .invoke(args=["eval", "--set", "bilingual", "--model", "intfloat/multilingual-e5-small", "--format", "json"])
    )
    assert result.exit_code == 0, result.output
    (encoder,) = encoders._cache.values()
    assert encoder.seen and all(text.startswith(("query: ", "passage: ")) for text in encoder.seen)
    assert {text.split(": ", 1)[0] for text in encoder.seen} == {"query", "passage"}


def test_default_model_is_used_unless_set(env):
    with env_app(env) as app, app.app_context():
        offering = publish(Offering, "Loom Vision", "Fabric defect detection")
        assert offering.embedding_model.startswith("use:use-multilingual-v3")


class Inbox:
    """An aiosmtpd handler that keeps each message's sender and the logins it was given."""

    def __init__(self):
        self.senders, self.logins = [], []

    async def handle_DATA(self, server, session, envelope):
        self.senders.append(envelope.mail_from)
        return "250 Message accepted for delivery"

    def authenticate(self, server, session, envelope, mechanism, auth_data):
        self.logins.append((auth_data.login.decode(), auth_data.password.decode()))
        return AuthResult(success=True)


def _queue_email() -> int:
    """Queue one email and return its id."""
    email = OutboundEmail(recipient="factory@test.example", subject="Hello", body="A match for you.")
    db.session.add(email)
    db.session.commit()
    return email.id


def test_mail_settings_reach_the_smtp_server(env):
    inbox, port = Inbox(), free_port()
    controller = Controller(
        inbox, hostname="127.0.0.1", port=port, authenticator=inbox.authenticate, auth_require_tls=False
    )
    controller.start()
    variables = {
        "MATCHMAKER_MAIL_SERVER": "127.0.0.1",
        "MATCHMAKER_MAIL_PORT": str(port),
        "MATCHMAKER_MAIL_SENDER": "notices@matchmaker.example.org",
        "MATCHMAKER_MAIL_USERNAME": "matchmaker",
        "MATCHMAKER_MAIL_PASSWORD": "31415926",  # digits stay text, not a number
        "MATCHMAKER_MAIL_TIMEOUT": "5",
    }
    try:
        with env_app(env, **variables) as app, app.app_context():
            assert mailer.deliver([_queue_email()]) == 1
    finally:
        controller.stop()
    assert inbox.senders == ["notices@matchmaker.example.org"]
    assert inbox.logins == [("matchmaker", "31415926")]


class RecordingSMTP:
    """Stands in for smtplib's SMTP classes and records how it is opened and used."""

    kind = "SMTP"
    opened: list = []  # noqa: RUF012  (one list per test, set by the test)

    def __init__(self, host, port, timeout):
        self.opened.append((self.kind, host, port, timeout))

    def starttls(self):
        self.opened.append("starttls")

    def login(self, user, password):
        self.opened.append(("login", user, password))

    def send_message(self, message):
        self.opened.append(("send", message["From"]))

    def close(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


class RecordingSMTPSSL(RecordingSMTP):
    kind = "SMTP_SSL"


@pytest.mark.parametrize(
    ("variables", "expected"),
    [
        ({"MATCHMAKER_MAIL_USE_SSL": "1", "MATCHMAKER_MAIL_PORT": "465"}, [("SMTP_SSL", "mail.example.org", 465, 7)]),
        ({"MATCHMAKER_MAIL_USE_TLS": "yes"}, [("SMTP", "mail.example.org", 25, 7), "starttls"]),
        ({"MATCHMAKER_MAIL_USE_TLS": "no", "MATCHMAKER_MAIL_USE_SSL": "no"}, [("SMTP", "mail.example.org", 25, 7)]),
    ],
)
def test_mail_ssl_tls_and_timeout_decide_how_to_connect(env, variables, expected):
    env.setattr(RecordingSMTP, "opened", [])
    env.setattr(mailer.smtplib, "SMTP", RecordingSMTP)
    env.setattr(mailer.smtplib, "SMTP_SSL", RecordingSMTPSSL)
    variables = {"MATCHMAKER_MAIL_SERVER": "mail.example.org", "MATCHMAKER_MAIL_TIMEOUT": "7", **variables}
    with env_app(env, **variables) as app, app.app_context():
        assert mailer.deliver([_queue_email()]) == 1
    assert RecordingSMTP.opened == [*expected, ("send", "matchmaker@localhost")]


def test_data_dir_holds_the_default_database_and_the_secret_key(env, tmp_path):
    env.delenv("DATABASE_URL")
    data_dir = tmp_path / "elsewhere"
    with env_app(env, MATCHMAKER_DATA_DIR=str(data_dir)) as app:
        with_personas(app)
        assert app.secret_key == (data_dir / "secret_key").read_text()
        with sqlite3.connect(data_dir / "matchmaker.sqlite") as connection:
            assert connection.execute("SELECT count(*) FROM user_account").fetchone() == (len(PERSONAS),)


def test_database_url_is_where_the_data_goes(env, tmp_path):
    path = tmp_path / "deployed.sqlite"
    with env_app(env, DATABASE_URL=f"sqlite:///{path}") as app:
        with_personas(app)
        with sqlite3.connect(path) as connection:
            assert connection.execute("SELECT count(*) FROM user_account").fetchone() == (len(PERSONAS),)


@pytest.mark.parametrize("scheme", ["postgres", "postgresql"])
def test_a_bare_postgresql_url_uses_psycopg_3(env, scheme):
    env.setenv("DATABASE_URL", f"{scheme}://matchmaker@127.0.0.1:5432/matchmaker")
    app = create_app()
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://matchmaker@127.0.0.1:5432/matchmaker"
    with app.app_context():
        assert db.engine.dialect.driver == "psycopg"


def test_secret_key_signs_sessions_and_none_is_generated(env, tmp_path):
    with env_app(env, SECRET_KEY="from-the-environment") as app:
        client = app.test_client()
        with client.session_transaction() as session:
            session["probe"] = 1
        cookie = client.get_cookie("session").value
    reader = Flask("reader")
    reader.secret_key = "from-the-environment"
    assert reader.session_interface.get_signing_serializer(reader).loads(cookie) == {"probe": 1}
    assert not (tmp_path / "data" / "secret_key").exists()


# ---------------------------------------------------------------- layers


def test_instance_config_is_read_and_the_environment_wins(env, tmp_path):
    (tmp_path / "instance").mkdir()
    (tmp_path / "instance" / "config.py").write_text("MATCHMAKER_TOP_K = 2\nMAIL_SERVER = 'mail.example.org'\n")
    env.setenv("MATCHMAKER_TOP_K", "4")
    app = create_app()
    assert (app.config["MATCHMAKER_TOP_K"], app.config["MAIL_SERVER"]) == (4, "mail.example.org")
    sources = setting_sources(app)
    assert (sources["MATCHMAKER_TOP_K"], sources["MAIL_SERVER"], sources["PER_PAGE"]) == (
        "environment",
        "instance/config.py",
        "default",
    )


def test_a_bad_instance_config_value_is_refused(env, tmp_path):
    (tmp_path / "instance").mkdir()
    (tmp_path / "instance" / "config.py").write_text("MATCHMAKER_DIRECT_INTEREST = 'sometimes'\n")
    with pytest.raises(ConfigurationError, match=r"MATCHMAKER_DIRECT_INTEREST='sometimes' \(set in instance/config"):
        create_app()


def test_an_empty_variable_counts_as_unset(env):
    env.setenv("MATCHMAKER_TOP_K", "")
    assert create_app().config["MATCHMAKER_TOP_K"] == 5


def test_test_config_values_are_parsed_and_checked(tmp_path):
    app = create_app({**base_config(tmp_path), "MATCHMAKER_TOP_K": "3", "MAIL_PORT": 2525})
    assert (app.config["MATCHMAKER_TOP_K"], app.config["MAIL_PORT"]) == (3, 2525)
    with pytest.raises(ConfigurationError) as refused:
        create_app({**base_config(tmp_path), "MATCHMAKER_TOP_K": "abc", "MAIL_PORT": True})
    assert "MATCHMAKER_TOP_K='abc' (set in test configuration): expected a whole number from 1 to 100." in str(
        refused.value
    )
    assert "MAIL_PORT=true (set in test configuration): expected a whole number from 1 to 65535." in str(refused.value)


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("MATCHMAKER_MAIL_SERVER", "that is the environment variable's name; the config key is MAIL_SERVER"),
        ("MATCHMAKER_TOPK", "unknown setting (set in test configuration); did you mean MATCHMAKER_TOP_K?"),
    ],
)
def test_test_config_refuses_names_that_are_not_keys(tmp_path, key, message):
    with pytest.raises(ConfigurationError, match=re.escape(message)):
        create_app({**base_config(tmp_path), key: "x"})


def test_a_test_config_ignores_the_environment(env, tmp_path):
    env.setenv("MATCHMAKER_TOP_K", "abc")
    assert create_app(base_config(tmp_path)).config["MATCHMAKER_TOP_K"] == 5


# ---------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("MATCHMAKER_TOP_K", "abc", "MATCHMAKER_TOP_K='abc' (environment variable): expected a whole number from 1 to"),
        ("MATCHMAKER_TOP_K", "0", "MATCHMAKER_TOP_K='0' (environment variable): expected a whole number from 1 to 100"),
        (
            "MATCHMAKER_MIN_SCORE",
            "2",
            "MATCHMAKER_MIN_SCORE='2' (environment variable): expected a number from 0 to 1.73, the highest score",
        ),
        ("MATCHMAKER_MIN_SCORE", "-0.1", "expected a number of at least 0."),
        ("MATCHMAKER_MIN_SCORE", "high", "MATCHMAKER_MIN_SCORE='high' (environment variable): expected a number"),
        ("MATCHMAKER_RANKING_WEIGHTS", "{lexical: 0.5}", "expected valid JSON (Expecting property name"),
        ("MATCHMAKER_RANKING_WEIGHTS", "[0.5]", 'expected a JSON object such as {"lexical": 0.5}'),
        ("MATCHMAKER_RANKING_WEIGHTS", '{"lexcal": 0.5}', "'lexcal' is not a ranking weight (did you mean lexical?)"),
        ("MATCHMAKER_RANKING_WEIGHTS", '{"dense": "high"}', "dense must be a number of at least 0, not 'high'"),
        ("MATCHMAKER_RANKING_WEIGHTS", '{"language_aware": "no"}', "language_aware must be true or false, not 'no'"),
        ("MATCHMAKER_DIRECT_INTEREST", "maybe", "MATCHMAKER_DIRECT_INTEREST='maybe' (environment variable): expected"),
        ("MATCHMAKER_DIRECT_INTEREST", "on", "expected true or false (or 1/0, yes/no)."),
        ("MATCHMAKER_REQUEST_EXPIRY_DAYS", "2 weeks", "expected a whole number from 1 to 365."),
        ("MATCHMAKER_EXPIRY_CHECK_SECONDS", "-1", "expected a number from 0 to 86400."),
        ("MATCHMAKER_PER_PAGE", "0", "MATCHMAKER_PER_PAGE='0' (environment variable): expected a whole number"),
        ("MATCHMAKER_MAIL_PORT", "70000", "expected a whole number from 1 to 65535."),
        ("MATCHMAKER_MAIL_TIMEOUT", "0", "expected a number from 0.1 to 600."),
        ("MATCHMAKER_MAIL_USE_TLS", "starttls", "MATCHMAKER_MAIL_USE_TLS='starttls' (environment variable)"),
        ("MATCHMAKER_MAIL_SENDER", "nobody", "expected an email address"),
        ("MATCHMAKER_BASE_URL", "matchmaker.example.org", "expected an absolute http(s) URL"),
        ("MATCHMAKER_DEFAULT_LOCALE", "fr", "expected one of en, zh_Hant, zh_Hans."),
        ("MATCHMAKER_EMBEDDING_MODEL", "  ", "expected a model name or path, not an empty one."),
        ("MATCHMAKER_DATA_DIR", " ", "expected a directory path."),
        ("DATABASE_URL", "postgresql://me:hunter2@db:port/x", "DATABASE_URL='postgresql://me:***@db:port/x'"),
        ("DATABASE_URL", "postgress://db/x", "expected an SQLAlchemy database URL"),
    ],
)
def test_bad_values_are_refused_with_what_is_expected(env, name, value, message):
    env.setenv(name, value)
    with pytest.raises(ConfigurationError) as refused:
        create_app()
    assert message in str(refused.value)
    assert "hunter2" not in str(refused.value)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("MATCHMAKER_TOPK", "MATCHMAKER_TOPK: unknown environment variable; did you mean MATCHMAKER_TOP_K?"),
        ("MATCHMAKER_MAIL_SERVR", "did you mean MATCHMAKER_MAIL_SERVER?"),
        ("MATCHMAKER_XYZZY", "MATCHMAKER_XYZZY: unknown environment variable; see README.md or `matchmaker settings`"),
    ],
)
def test_unknown_variables_are_refused_with_the_closest_name(env, name, message):
    env.setenv(name, "5")
    with pytest.raises(ConfigurationError, match=re.escape(message)):
        create_app()


def test_every_problem_is_listed_at_once(env):
    env.setenv("MATCHMAKER_TOP_K", "abc")
    env.setenv("MATCHMAKER_TOPK", "5")
    with pytest.raises(ConfigurationError) as refused:
        create_app()
    assert len(refused.value.problems) == 2
    assert str(refused.value).startswith("Matchmaker cannot start; fix its configuration:\n  ")


def test_the_test_toolings_variables_are_accepted(env):
    env.setenv("MATCHMAKER_REQUIRE_BROWSER", "1")
    env.setenv("MATCHMAKER_TEST_DATABASE_URL", os.environ.get("MATCHMAKER_TEST_DATABASE_URL", "sqlite://"))
    assert create_app().config["MATCHMAKER_TOP_K"] == 5


def _console(*args: str) -> subprocess.CompletedProcess:
    """Run the real `matchmaker` console script with the test's environment."""
    script = Path(sys.executable).with_name("matchmaker")
    return subprocess.run([str(script), *args], env=dict(os.environ), capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("MATCHMAKER_MIN_SCORE", "2", "MATCHMAKER_MIN_SCORE='2' (environment variable): expected a number from 0"),
        ("MATCHMAKER_TOPK", "3", "MATCHMAKER_TOPK: unknown environment variable; did you mean MATCHMAKER_TOP_K?"),
    ],
)
def test_the_console_script_prints_the_problem_and_exits(env, name, value, message):
    env.setenv(name, value)
    result = _console("settings")
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_settings_command_shows_values_sources_and_masks_secrets(env):
    env.setenv("SECRET_KEY", "very-secret")
    env.setenv("MATCHMAKER_MAIL_PASSWORD", "hunter2")
    env.setenv("DATABASE_URL", "postgresql://matchmaker:pa55word@127.0.0.1/matchmaker")
    env.setenv("MATCHMAKER_TOP_K", "7")
    result = create_app().test_cli_runner().invoke(args=["settings"])
    assert result.exit_code == 0, result.output
    assert "MATCHMAKER_TOP_K = 7  [environment]\n    proposals per demand\n" in result.output
    assert "MATCHMAKER_PER_PAGE = 20  [default]" in result.output
    assert "SECRET_KEY = ***  [environment]" in result.output
    assert "DATABASE_URL = 'postgresql+psycopg://matchmaker:***@127.0.0.1/matchmaker'" in result.output
    assert not {"very-secret", "hunter2", "pa55word"} & set(re.findall(r"[\w-]+", result.output))


# ---------------------------------------------------------------- the declaration and the README


def _readme_configuration() -> str:
    """Return the README's Configuration section."""
    text = README.read_text(encoding="utf-8")
    return text.split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]


def test_readme_lists_exactly_the_declared_settings():
    rows = [line for line in _readme_configuration().splitlines() if line.startswith("| `")]
    documented = {name for row in rows for name in re.findall(r"`([A-Z_]+)`", row.split("|")[1])}
    declared = {setting.env for setting in settings.SETTINGS}
    assert documented - declared == set(), "documented in README.md but not declared in matchmaker/settings.py"
    assert declared - documented == set(), "declared in matchmaker/settings.py but missing from README.md"


def test_readme_table_is_the_declaration():
    assert settings.markdown_table() in _readme_configuration(), "paste `matchmaker settings --markdown` into README"


def test_readme_names_the_test_toolings_variables():
    section = _readme_configuration()
    assert all(f"`{name}`" in section for name in settings.TEST_TOOLING)


def test_every_declared_default_passes_its_own_checks():
    for setting in settings.SETTINGS:
        assert settings.parse(setting, setting.default) == setting.default, setting.env
    assert json.dumps(settings.defaults())  # plain values, printable by `matchmaker settings`


# ---------------------------------------------------------------- the database connection pool


def test_pool_settings_size_a_server_databases_pool(env):
    """Pool size, overflow and pre-ping reach the engine; nothing connects until a request needs it."""
    env.setenv("DATABASE_URL", "postgresql://bench@127.0.0.1:9/nowhere")
    env.setenv("MATCHMAKER_DB_POOL_SIZE", "3")
    env.setenv("MATCHMAKER_DB_MAX_OVERFLOW", "7")
    env.setenv("MATCHMAKER_DB_POOL_PRE_PING", "false")
    app = create_app()
    with app.app_context():
        pool = db.engine.pool
        assert (pool.size(), pool._max_overflow, pool._pre_ping) == (3, 7, False)
    env.delenv("MATCHMAKER_DB_POOL_SIZE")
    env.delenv("MATCHMAKER_DB_POOL_PRE_PING")
    app = create_app()
    with app.app_context():
        assert (db.engine.pool.size(), db.engine.pool._pre_ping) == (10, True)


def test_pool_size_is_left_to_sqlite_and_a_bad_size_is_refused(env):
    env.setenv("DATABASE_URL", "sqlite:///" + str(Path(os.environ["MATCHMAKER_DATA_DIR"]) / "pool.sqlite"))
    env.setenv("MATCHMAKER_DB_POOL_SIZE", "3")
    app = create_app()
    assert "pool_size" not in app.config["SQLALCHEMY_ENGINE_OPTIONS"]
    env.setenv("MATCHMAKER_DB_POOL_SIZE", "0")
    with pytest.raises(ConfigurationError, match="MATCHMAKER_DB_POOL_SIZE"):
        create_app()
