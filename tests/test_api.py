"""The JSON API: tokens, what a request must carry, the one error format, paging, language and rate limits."""

import pytest
import sqlalchemy as sa

from matchmaker.domain.accounts import deactivate_user
from matchmaker.domain.tokens import create_token
from matchmaker.extensions import db
from matchmaker.models import ApiToken, Demand, User

from .factories import persona, publish


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def token(app, personas):
    """Return an API token of the manufacturer's."""
    with app.app_context():
        return create_token(persona("manufacturer"), "CRM")[1]


# ---------------------------------------------------------------- tokens


def test_a_token_is_shown_once_and_stored_only_as_a_hash(app, client, auth, personas):
    auth.login_as("manufacturer")
    page = client.post("/account/tokens/", data={"name": "Agency CRM"}).get_data(as_text=True)
    secret = page.split('id="token-secret"')[0].rsplit('value="', 1)[1].split('"')[0]
    assert secret.startswith("mm_") and len(secret) > 40
    with app.app_context():
        stored = db.session.scalar(sa.select(ApiToken))
        assert stored.name == "Agency CRM" and secret not in (stored.token_hash, stored.prefix)
    listing = client.get("/account/tokens/").get_data(as_text=True)
    assert "Agency CRM" in listing and secret not in listing
    assert client.get("/api/v1/demands/", headers=bearer(secret)).status_code == 200
    with app.app_context():
        assert db.session.scalar(sa.select(ApiToken)).last_used_at is not None


def test_a_token_needs_a_name(client, auth, personas):
    auth.login_as("manufacturer")
    response = client.post("/account/tokens/", data={"name": "  "})
    assert response.status_code == 422 and "This field is required." in response.get_data(as_text=True)


def test_a_revoked_token_stops_working(app, client, auth, token):
    assert client.get("/api/v1/demands/", headers=bearer(token)).status_code == 200
    auth.login_as("manufacturer")
    with app.app_context():
        token_id = db.session.scalar(sa.select(ApiToken.id))
    assert client.post(f"/account/tokens/{token_id}/revoke").status_code == 302
    assert client.get("/api/v1/demands/", headers=bearer(token)).status_code == 401


def test_nobody_revokes_another_persons_token(app, client, auth, token):
    auth.login_as("intruder")
    with app.app_context():
        token_id = db.session.scalar(sa.select(ApiToken.id))
    assert client.post(f"/account/tokens/{token_id}/revoke").status_code == 404
    assert client.get("/api/v1/demands/", headers=bearer(token)).status_code == 200


def test_a_deactivated_accounts_tokens_stop_working(app, client, token):
    with app.app_context():
        deactivate_user(persona("admin"), persona("manufacturer"))
    response = client.get("/api/v1/demands/", headers=bearer(token))
    assert response.status_code == 401 and response.json["error"]["code"] == "unauthorized"


@pytest.mark.parametrize("header", ["", "Bearer", "Bearer mm_made-up", "Basic bWU6cGFzcw==", "Token {token}"])
def test_a_request_without_a_working_token_is_refused(client, token, header):
    headers = {"Authorization": header.format(token=token)} if header else {}
    response = client.get("/api/v1/matches/", headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].lower().startswith("bearer")
    assert response.json["error"]["code"] == "unauthorized"


def test_a_signed_in_session_does_not_open_the_api(client, auth, personas):
    auth.login_as("manufacturer")
    assert client.get("/api/v1/demands/").status_code == 401


def test_api_writes_need_no_csrf_token_and_set_no_cookie(app_config, tmp_path):
    from .apps import app_with_schema
    from .factories import PERSONAS, make_user

    with app_with_schema({**app_config, "WTF_CSRF_ENABLED": True}) as app:
        with app.app_context():
            secret = create_token(make_user(*PERSONAS["manufacturer"]), "CRM")[1]
        client = app.test_client()
        body = {"title": "Kiln fault warning", "description": "Warn before the burners fail."}
        response = client.post("/api/v1/demands/", json=body, headers=bearer(secret))
        assert response.status_code == 201 and "Set-Cookie" not in response.headers
        # The pages still insist on their CSRF token.
        assert client.post("/auth/login", data={"email": "x@y.example", "password": "x"}).status_code == 400


# ---------------------------------------------------------------- the error format


def error_of(response) -> dict:
    """Return the error of an answer, checking it has the one format."""
    assert response.is_json, response.get_data(as_text=True)[:200]
    error = response.json["error"]
    assert set(error) == {"code", "message", "details"} and error["message"]
    return error


@pytest.mark.parametrize(
    "method, url, status, code",
    [
        ("GET", "/api/v1/no-such-thing", 404, "not_found"),
        ("GET", "/api/v1/demands/999999", 404, "not_found"),
        ("GET", "/api/v1/demands/99999999999999999999", 404, "not_found"),
        ("DELETE", "/api/v1/demands/", 405, "method_not_allowed"),
        ("GET", "/api/v1/demands/?limit=101", 422, "validation_failed"),
        ("GET", "/api/v1/search?kind=everything&q=x", 422, "validation_failed"),
    ],
)
def test_http_errors_have_the_one_format(client, token, method, url, status, code):
    response = client.open(url, method=method, headers=bearer(token))
    assert response.status_code == status
    assert error_of(response)["code"] == code


def test_a_body_that_is_not_json_is_refused(client, token):
    response = client.post("/api/v1/demands/", data="title=Kiln", headers=bearer(token))
    assert response.status_code == 415 and error_of(response)["code"] == "unsupported_media_type"


def test_unreadable_json_is_refused(client, token):
    headers = {**bearer(token), "Content-Type": "application/json"}
    response = client.post("/api/v1/demands/", data="{not json", headers=headers)
    assert response.status_code == 400 and error_of(response)["code"] == "bad_request"


def test_a_body_too_large_is_refused(app, client, token):
    body = {"title": "Kiln", "description": "x" * (1024 * 1024 + 1)}
    response = client.post("/api/v1/demands/", json=body, headers=bearer(token))
    assert response.status_code == 413 and error_of(response)["code"] == "payload_too_large"
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Demand.id))) == 0


def test_wrong_json_types_are_listed_by_field(app, client, token):
    body = {"title": 5, "scenarios": "visual_inspection", "budget_min": "100", "colour": "red"}
    response = client.post("/api/v1/demands/", json=body, headers=bearer(token))
    assert response.status_code == 422
    fields = {d["field"] for d in error_of(response)["details"]}
    assert fields == {"title", "scenarios", "budget_min", "colour"}
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Demand.id))) == 0


def test_every_domain_problem_is_listed_and_nothing_is_saved(app, client, token):
    body = {"title": "", "description": "x", "budget_min": 9, "budget_max": 1, "scenarios": ["telepathy"]}
    response = client.post("/api/v1/demands/", json=body, headers=bearer(token))
    assert response.status_code == 422
    error = error_of(response)
    assert error["code"] == "validation_failed"
    assert {d["field"] for d in error["details"]} == {"title", "budget_max", "scenarios"}
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Demand.id))) == 0


def test_a_closed_posting_conflicts(app, client, token):
    demand = client.post("/api/v1/demands/", json={"title": "Kiln", "description": "Warn."}, headers=bearer(token))
    posting_id = demand.json["id"]
    assert client.post(f"/api/v1/demands/{posting_id}/close", headers=bearer(token)).json["status"] == "closed"
    response = client.patch(f"/api/v1/demands/{posting_id}", json={"city": "Foshan"}, headers=bearer(token))
    assert response.status_code == 409 and error_of(response)["code"] == "illegal_transition"


def test_a_ref_cannot_be_taken_twice(client, token):
    body = {"title": "Kiln", "description": "Warn.", "ref": "FS-001"}
    assert client.post("/api/v1/demands/", json=body, headers=bearer(token)).status_code == 201
    again = client.post("/api/v1/demands/", json=body, headers=bearer(token))
    assert again.status_code == 422 and error_of(again)["details"][0]["field"] == "ref"


def test_errors_are_worded_in_the_token_owners_language(app, client, token):
    with app.app_context():
        persona("manufacturer").locale = "zh_Hans"
        db.session.commit()
    response = client.post("/api/v1/demands/", json={"title": "", "description": "x"}, headers=bearer(token))
    assert error_of(response)["details"] == [{"field": "title", "message": "此项为必填项。"}]


def test_errors_follow_accept_language_without_a_profile_language(client, token):
    headers = {**bearer(token), "Accept-Language": "zh-HK"}
    response = client.get("/api/v1/nowhere", headers=headers)
    assert error_of(response)["message"] != "There is nothing at this address."


# ---------------------------------------------------------------- lists, the lifecycle, rate limits


def test_pages_link_to_the_next_one(app, client, token):
    with app.app_context():
        for number in range(5):
            publish(Demand, "Foshan Weave", f"Demand {number}", "Something to do.")
    first = client.get("/api/v1/demands/?limit=2", headers=bearer(token)).json
    assert (first["total"], first["limit"], len(first["items"])) == (5, 2, 2)
    seen = [item["title"] for item in first["items"]]
    following = first["next"]
    while following:
        page = client.get(following, headers=bearer(token)).json
        seen += [item["title"] for item in page["items"]]
        following = page["next"]
    assert sorted(seen) == [f"Demand {number}" for number in range(5)]


def test_create_update_publish_and_close_through_the_domain(app, client, token):
    body = {"title": "Kiln fault warning", "description": "Warn before the burners fail.", "industry": "30"}
    created = client.post("/api/v1/demands/", json=body, headers=bearer(token))
    assert created.status_code == 201 and created.json["status"] == "draft"
    posting_id = created.json["id"]
    patched = client.patch(f"/api/v1/demands/{posting_id}", json={"city": "Foshan"}, headers=bearer(token)).json
    assert (patched["city"], patched["title"], patched["industry"]) == ("Foshan", body["title"], "30")
    published = client.post(f"/api/v1/demands/{posting_id}/publish", headers=bearer(token)).json
    assert published["status"] == "published" and published["published_at"]
    with app.app_context():
        demand = db.session.get(Demand, posting_id)
        assert demand.author == persona("manufacturer") and demand.embedding is not None


def test_the_rate_limit_answers_429_in_the_one_format(app_config, tmp_path):
    from .apps import app_with_schema
    from .factories import PERSONAS, make_user

    with app_with_schema({**app_config, "RATELIMIT_ENABLED": True, "MATCHMAKER_API_RATE_LIMIT": "3 per minute"}) as app:
        with app.app_context():
            secret = create_token(make_user(*PERSONAS["manufacturer"]), "CRM")[1]
            other = create_token(make_user(*PERSONAS["vendor"]), "CRM")[1]
        client = app.test_client()
        answers = [client.get("/api/v1/taxonomy", headers=bearer(secret)).status_code for _ in range(4)]
        assert answers == [200, 200, 200, 429]
        refused = client.get("/api/v1/demands/", headers=bearer(secret))
        assert refused.status_code == 429 and error_of(refused)["code"] == "too_many_requests"
        assert "Retry-After" in refused.headers
        # Each token has its own budget.
        assert client.get("/api/v1/taxonomy", headers=bearer(other)).status_code == 200


def test_the_taxonomy_is_labelled_in_the_readers_language(client, token):
    terms = client.get("/api/v1/taxonomy", headers={**bearer(token), "Accept-Language": "zh-CN"}).json
    textiles = next(term for term in terms["industries"] if term["key"] == "17")
    assert textiles["label"] != "Textiles" and terms["scenarios"]


def test_the_docs_page_lists_every_operation_of_the_document(client):
    spec = client.get("/api/v1/openapi.json").json
    page = client.get("/api/v1/docs").get_data(as_text=True)
    for path, item in spec["paths"].items():
        for method in item:
            if method != "parameters":
                assert f"{method.upper()} {path}" in page
    assert "<script" not in page and "style=" not in page


def test_users_model_is_untouched_by_reads(app, client, token):
    """A read through the API writes nothing but, at most once a minute, the token's last use."""
    client.get("/api/v1/demands/", headers=bearer(token))
    with app.app_context():
        first = db.session.scalar(sa.select(ApiToken.last_used_at))
        before = db.session.scalar(sa.select(User.id).order_by(User.id.desc()))
    client.get("/api/v1/demands/", headers=bearer(token))
    with app.app_context():
        assert db.session.scalar(sa.select(ApiToken.last_used_at)) == first
        assert db.session.scalar(sa.select(User.id).order_by(User.id.desc())) == before


# ---------------------------------------------------------------- what PostgreSQL cannot store (found by the fuzz)


def test_text_with_a_nul_character_is_refused_by_field(app, client, token):
    body = {"title": "Kiln\x00", "description": "Warn.", "scenarios": ["\x00"], "ref": "K\x00"}
    response = client.post("/api/v1/demands/", json=body, headers=bearer(token))
    assert response.status_code == 422
    nul = [d["field"] for d in error_of(response)["details"] if "NUL" in d["message"]]
    assert sorted(nul) == ["ref", "scenarios", "title"]


def test_a_nul_character_in_a_filter_narrows_nothing(app, client, token):
    """On PostgreSQL the filter was a server error (SQLite reads the NUL as the end of the pattern)."""
    with app.app_context():
        publish(Demand, "Foshan Weave", "Kiln fault warning", "Warn.", city="Foshan")
    listed = client.get("/api/v1/demands/", query_string={"city": "\x00"}, headers=bearer(token))
    assert listed.status_code == 200 and listed.json["total"] == 1


def test_a_reason_is_kept_only_for_steps_that_take_one(app, client, personas):
    from matchmaker.models import MatchEvent

    from .factories import make_match

    with app.app_context():
        match_id = make_match().id
        secret = create_token(persona("curator"), "queue")[1]
    body = {"action": "shortlist", "reason": "x" * 60, "note": "Strong fit."}
    response = client.post(f"/api/v1/matches/{match_id}/transitions", json=body, headers=bearer(secret))
    assert response.status_code == 200 and response.json["status"] == "shortlisted"
    with app.app_context():
        event = db.session.scalar(sa.select(MatchEvent))
        assert (event.reason, event.note) == ("", "Strong fit.")
    refused = client.post(
        f"/api/v1/matches/{match_id}/transitions", json={"action": "introduce", "note": "\x00"}, headers=bearer(secret)
    )
    assert refused.status_code == 422 and error_of(refused)["details"][0]["field"] == "note"


REDIS_URL = "redis://127.0.0.1:6379/14"


def _redis():
    """Return a client of the local Redis test database, or skip when no server answers."""
    redis = pytest.importorskip("redis")
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.RedisError:
        pytest.skip("no Redis server on 127.0.0.1:6379")
    return client


def test_rate_limits_are_counted_in_redis_when_it_is_configured(app_config):
    from limits.storage import RedisStorage

    from matchmaker.extensions import limiter

    from .apps import app_with_schema
    from .factories import PERSONAS, make_user

    redis = _redis()
    for key in redis.scan_iter("*api*"):  # counters an earlier run left in this test database
        redis.delete(key)
    config = {
        **app_config,
        "RATELIMIT_ENABLED": True,
        "MATCHMAKER_REDIS_URL": REDIS_URL,
        "MATCHMAKER_API_RATE_LIMIT": "2 per minute",
    }
    with app_with_schema(config) as app:
        assert isinstance(limiter.storage, RedisStorage)
        with app.app_context():
            secret = create_token(make_user(*PERSONAS["manufacturer"]), "CRM")[1]
        client = app.test_client()
        answers = [client.get("/api/v1/taxonomy", headers=bearer(secret)).status_code for _ in range(3)]
        assert answers == [200, 200, 429]
        assert list(redis.scan_iter("*api*")), "no counter in Redis"
    for key in redis.scan_iter("*api*"):
        redis.delete(key)


@pytest.mark.parametrize(
    "key, value", [("MATCHMAKER_API_RATE_LIMIT", "lots"), ("MATCHMAKER_REDIS_URL", "http://127.0.0.1:6379")]
)
def test_a_bad_rate_limit_or_redis_url_stops_the_app(app_config, key, value):
    from matchmaker import ConfigurationError, create_app

    with pytest.raises(ConfigurationError, match=key):
        create_app({**app_config, key: value})
