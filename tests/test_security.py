"""Security hardening: headers, cookies, sessions that end on a password change, password rules and reset,
the profile, sign-in throttling and lockout, and request size limits."""

import re
import time

import pytest
import sqlalchemy as sa
from itsdangerous import TimestampSigner

from matchmaker.domain.passwords import password_problems
from matchmaker.extensions import db
from matchmaker.models import OutboundEmail, User
from matchmaker.security import CONTENT_SECURITY_POLICY

from .factories import PASSWORD, persona

FACTORY = "factory@test.example"
NEW_PASSWORD = "glaze kiln 2026 spring"


def _user(email: str = FACTORY) -> User:
    return db.session.scalar(sa.select(User).where(User.email == email))


def _change_password(client, current=PASSWORD, new=NEW_PASSWORD):
    return client.post("/auth/password", data={"current_password": current, "password": new, "confirm": new})


# ---------------------------------------------------------------- headers


@pytest.mark.parametrize("path", ["/", "/auth/login", "/static/style.css", "/no-such-page", "/demands/"])
def test_every_response_carries_the_security_headers(client, path):
    response = client.get(path)
    response.close()
    assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert "script-src 'self'" in CONTENT_SECURITY_POLICY and "unsafe-inline" not in CONTENT_SECURITY_POLICY
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert "Strict-Transport-Security" not in response.headers  # plain HTTP: HSTS would mean nothing


def test_hsts_only_over_https(client):
    assert "max-age=" in client.get("/", base_url="https://localhost").headers["Strict-Transport-Security"]


def test_a_forwarded_https_request_counts_only_behind_a_configured_proxy(app_config, tmp_path):
    from .apps import app_with_schema

    forwarded = {"X-Forwarded-Proto": "https"}
    with app_with_schema(app_config) as direct:
        assert "Strict-Transport-Security" not in direct.test_client().get("/", headers=forwarded).headers
    with app_with_schema({**app_config, "MATCHMAKER_PROXY_HOPS": 1}) as proxied:
        assert "Strict-Transport-Security" in proxied.test_client().get("/", headers=forwarded).headers


# ---------------------------------------------------------------- cookies and sessions


def _set_cookie(response, name: str) -> str:
    return next(value for value in response.headers.getlist("Set-Cookie") if value.startswith(f"{name}="))


def test_session_and_remember_cookies_are_httponly_and_samesite(client, personas):
    response = client.post("/auth/login", data={"email": FACTORY, "password": PASSWORD, "remember": "y"})
    for name in ("session", "remember_token"):
        cookie = _set_cookie(response, name)
        assert "HttpOnly" in cookie and "SameSite=Lax" in cookie, cookie
        assert "Secure" not in cookie, "Secure cookies would not come back over plain HTTP"


def _login_cookies(app, **request) -> dict[str, str]:
    """Sign in with remember-me on a fresh client; return the session and remember-me Set-Cookie values."""
    response = app.test_client().post(
        "/auth/login", data={"email": FACTORY, "password": PASSWORD, "remember": "y"}, **request
    )
    assert response.status_code == 302
    return {name: _set_cookie(response, name) for name in ("session", "remember_token")}


def _secure(cookie: str) -> bool:
    return "secure" in [part.strip().lower() for part in cookie.split(";")[1:]]


HTTPS = {"base_url": "https://localhost"}
FORWARDED_HTTPS = {"headers": {"X-Forwarded-Proto": "https"}}
FORWARDED_HTTP = {"base_url": "https://localhost", "headers": {"X-Forwarded-Proto": "http"}}


# (setting, proxies trusted, how the request arrives, whether the cookies must be Secure)
COOKIE_CASES = [
    ("auto", 0, {}, False),  # plain HTTP: a Secure cookie would never come back
    ("auto", 0, HTTPS, True),  # the app serves HTTPS itself
    ("auto", 0, FORWARDED_HTTPS, False),  # nobody said a proxy is there: the header is the client's own claim
    ("auto", 1, FORWARDED_HTTPS, True),  # the proxy terminated TLS and says so
    ("auto", 1, FORWARDED_HTTP, False),  # the proxy says the client came over plain HTTP
    ("always", 0, {}, True),
    ("true", 0, {}, True),  # the older boolean form still works
    ("never", 0, HTTPS, False),
    ("false", 1, FORWARDED_HTTPS, False),
]


@pytest.mark.parametrize("setting, hops, request_, secure", COOKIE_CASES)
def test_cookies_are_secure_when_the_request_came_over_https(app_config, setting, hops, request_, secure):
    from .apps import app_with_schema
    from .factories import PERSONAS, make_user

    config = {**app_config, "MATCHMAKER_SESSION_COOKIE_SECURE": setting, "MATCHMAKER_PROXY_HOPS": hops}
    with app_with_schema(config) as app:
        with app.app_context():
            make_user(*PERSONAS["manufacturer"])
        for name, cookie in _login_cookies(app, **request_).items():
            assert _secure(cookie) is secure, (name, cookie)
            assert "HttpOnly" in cookie and "SameSite=Lax" in cookie, cookie
        if secure:  # signing out deletes the cookies with the same flags
            client = app.test_client()
            client.post("/auth/login", data={"email": FACTORY, "password": PASSWORD}, **request_)
            logout = client.post("/auth/logout", **request_)
            assert all(_secure(c) for c in logout.headers.getlist("Set-Cookie")), logout.headers.getlist("Set-Cookie")


def test_the_cookie_setting_refuses_other_words(app_config):
    from matchmaker import create_app
    from matchmaker.settings import ConfigurationError

    with pytest.raises(ConfigurationError) as refused:
        create_app({**app_config, "MATCHMAKER_SESSION_COOKIE_SECURE": "sometimes"})
    assert "MATCHMAKER_SESSION_COOKIE_SECURE" in str(refused.value) and "auto, always or never" in str(refused.value)


def test_changing_the_password_ends_the_other_sessions_and_remember_cookies(app, personas):
    this, other, remembered = app.test_client(), app.test_client(), app.test_client()
    for client in (this, other):
        client.post("/auth/login", data={"email": FACTORY, "password": PASSWORD})
    remembered.post("/auth/login", data={"email": FACTORY, "password": PASSWORD, "remember": "y"})
    remembered.delete_cookie("session", domain="localhost")  # the browser was closed: only the remember cookie
    assert remembered.get("/dashboard").status_code == 200

    assert _change_password(this).status_code == 302

    assert this.get("/dashboard").status_code == 200, "the session that changed it goes on"
    for client in (other, remembered):
        response = client.get("/dashboard")
        assert response.status_code == 302 and "/auth/login" in response.headers["Location"]
    with app.app_context():
        assert _user().check_password(NEW_PASSWORD)


def test_changing_the_password_needs_the_current_one(app, client, auth, personas):
    auth.login()
    response = _change_password(client, current="not my password")
    assert response.status_code == 400
    assert "Your current password is not correct." in response.get_data(as_text=True)
    with app.app_context():
        assert _user().check_password(PASSWORD)


# ---------------------------------------------------------------- password rules and hashing


@pytest.mark.parametrize(
    "password, problem",
    [
        ("short1!", "at least 10"),
        ("1234567890", "too common"),
        ("Password2024!", "too common"),  # a common stem with digits and symbols around it
        ("woaini1314", "too common"),
        ("aaaaaaaaaaaa", "too common"),
        ("abababababab", "too common"),
        ("factory-2026-x", "email address or your name"),
        ("Wei Ming Chan 88", "email address or your name"),
    ],
)
def test_weak_passwords_are_refused_with_a_reason(app, password, problem):
    with app.test_request_context():
        problems = [str(text) for text in password_problems(password, FACTORY, "Wei Ming Chan")]
    assert len(problems) == 1 and problem in problems[0], problems


def test_a_strong_password_passes(app):
    with app.test_request_context():
        assert password_problems("copper kettle 7 winds", FACTORY, "Wei Ming Chan") == []


def test_registration_refuses_a_common_password_in_the_readers_language(app, client):
    response = client.post(
        "/auth/register",
        data={
            "email": "new@maker.example",
            "name": "New",
            "password": "qwertyuiop123",
            "confirm": "qwertyuiop123",
            "organization_kind": "manufacturer",
            "organization_name": "New Maker",
        },
        headers={"Accept-Language": "zh-CN"},
    )
    assert response.status_code == 200
    assert "此密码过于常见或简单" in response.get_data(as_text=True)
    with app.app_context():
        assert _user("new@maker.example") is None


@pytest.fixture
def current_hashing(app_config):
    app_config["MATCHMAKER_PASSWORD_HASH"] = "scrypt"


def test_an_outdated_hash_is_replaced_at_sign_in(current_hashing, app, client, auth, personas):
    with app.app_context():
        assert _user().password_hash.startswith("pbkdf2:sha256:1$")
    assert auth.login().status_code == 302
    with app.app_context():
        user = _user()
        assert user.password_hash.startswith("scrypt:") and user.check_password(PASSWORD)
    assert client.get("/dashboard").status_code == 200, "rehashing keeps the session"


# ---------------------------------------------------------------- password reset


def _ask_for_reset(client, email: str) -> str:
    response = client.post("/auth/forgot", data={"email": email}, follow_redirects=True)
    assert response.status_code == 200
    return response.get_data(as_text=True).replace(email, "EMAIL")


def _reset_link(app) -> str:
    with app.app_context():
        body = db.session.scalars(sa.select(OutboundEmail.body).order_by(OutboundEmail.id.desc())).first()
    return re.search(r"http://localhost(/auth/reset/\S+)", body).group(1)


def test_reset_says_the_same_whether_or_not_the_email_has_an_account(app, client, personas):
    known = _ask_for_reset(client, FACTORY)
    unknown = _ask_for_reset(client, "nobody@nowhere.example")
    assert known == unknown
    assert "If an account uses EMAIL" in known
    with app.app_context():
        assert db.session.scalars(sa.select(OutboundEmail.recipient)).all() == [FACTORY]


def test_a_reset_link_sets_a_new_password_once_and_ends_the_sessions(app, personas):
    signed_in, visitor = app.test_client(), app.test_client()
    signed_in.post("/auth/login", data={"email": FACTORY, "password": PASSWORD})
    _ask_for_reset(visitor, FACTORY)
    link = _reset_link(app)
    assert visitor.get(link).status_code == 200

    response = visitor.post(link, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 302 and response.headers["Location"].endswith("/auth/login")

    assert "/auth/login" in signed_in.get("/dashboard").headers["Location"]
    again = visitor.post(link, data={"password": "another fine password", "confirm": "another fine password"})
    assert again.headers["Location"].endswith("/auth/forgot"), "a used link no longer works"
    with app.app_context():
        assert _user().check_password(NEW_PASSWORD)


def test_an_expired_or_forged_reset_link_is_refused(app, client, personas, monkeypatch):
    hours = app.config["MATCHMAKER_PASSWORD_RESET_HOURS"]
    with monkeypatch.context() as patched:
        patched.setattr(TimestampSigner, "get_timestamp", lambda self: int(time.time()) - hours * 3600 - 5)
        _ask_for_reset(client, FACTORY)
    expired = _reset_link(app)
    for link in (expired, expired[:-3] + "abc"):
        response = client.post(link, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}, follow_redirects=True)
        assert "This password reset link has expired or was already used" in response.get_data(as_text=True)
    with app.app_context():
        assert _user().check_password(PASSWORD)


def test_a_reset_refuses_a_weak_new_password(app, client, personas):
    _ask_for_reset(client, FACTORY)
    response = client.post(_reset_link(app), data={"password": "1234567890", "confirm": "1234567890"})
    assert response.status_code == 200 and "too common" in response.get_data(as_text=True)
    with app.app_context():
        assert _user().check_password(PASSWORD)


# ---------------------------------------------------------------- the profile


def test_the_profile_keeps_name_and_language(app, client, auth, personas):
    auth.login()
    page = client.get("/auth/profile").get_data(as_text=True)
    assert 'name="name"' in page and 'name="locale"' in page and 'name="current_password"' in page
    response = client.post("/auth/profile", data={"name": "梁國華", "locale": "zh_Hant"}, follow_redirects=True)
    assert '<html lang="zh-Hant">' in response.get_data(as_text=True)
    with app.app_context():
        user = persona("manufacturer")
        assert (user.name, user.locale) == ("梁國華", "zh_Hant")


def test_the_profile_refuses_an_empty_name_and_changes_nothing(app, client, auth, personas):
    auth.login()
    response = client.post("/auth/profile", data={"name": "  ", "locale": "xx"})
    assert response.status_code == 200
    with app.app_context():
        user = persona("manufacturer")
        assert (user.name, user.locale) == ("factory", "")


# ---------------------------------------------------------------- throttling and lockout


@pytest.fixture
def throttling(app_config):
    app_config.update(RATELIMIT_ENABLED=True, MATCHMAKER_LOCKOUT_FAILURES=3, MATCHMAKER_LOGIN_RATE_LIMIT="50/minute")


def _failed_login(client, email: str):
    return client.post("/auth/login", data={"email": email, "password": "wrong password"})


def test_lockout_after_failures_reads_the_same_for_known_and_unknown_emails(throttling, app, personas):
    answers = {}
    for email in (FACTORY, "nobody@nowhere.example"):
        client = app.test_client()
        assert [_failed_login(client, email).status_code for _ in range(3)] == [200, 200, 200]
        locked = _failed_login(client, email)
        # Each visitor has a session, so a CSRF token, of their own; the rest must not differ by a byte.
        page = re.sub(r'name="csrf_token" value="[^"]*"', "", locked.get_data(as_text=True))
        answers[email] = (locked.status_code, page)
    assert answers[FACTORY] == answers["nobody@nowhere.example"]
    status, page = answers[FACTORY]
    assert status == 429 and "Too many attempts" in page
    right = app.test_client().post("/auth/login", data={"email": FACTORY, "password": PASSWORD})
    assert right.status_code == 429, "a locked-out email stays locked, even with the right password"
    other = app.test_client().post("/auth/login", data={"email": "vendor@test.example", "password": PASSWORD})
    assert other.status_code == 302, "other accounts are not locked out"


def test_successful_sign_ins_do_not_count_towards_the_lockout(throttling, app, personas):
    client = app.test_client()
    for _ in range(5):
        assert client.post("/auth/login", data={"email": FACTORY, "password": PASSWORD}).status_code == 302
        client.post("/auth/logout")


@pytest.fixture
def tight_address_limit(app_config):
    app_config.update(RATELIMIT_ENABLED=True, MATCHMAKER_LOGIN_RATE_LIMIT="4/minute")


def test_one_address_may_try_only_so_often(tight_address_limit, app, client, personas):
    statuses = [_failed_login(client, f"person{n}@nowhere.example").status_code for n in range(5)]
    assert statuses == [200, 200, 200, 200, 429]
    assert client.get("/auth/login").status_code == 200, "only attempts count, not the page"


# ---------------------------------------------------------------- size limits


@pytest.fixture
def small_uploads(app_config):
    app_config["MAX_CONTENT_LENGTH"] = 2048


def test_a_request_over_the_size_limit_gets_a_clear_413_page(small_uploads, app, client):
    response = client.post(
        "/auth/login", data={"email": "x@example.org", "password": "p" * 4000}, headers={"Accept-Language": "zh-HK"}
    )
    assert response.status_code == 413
    assert "提交的內容太大" in response.get_data(as_text=True)
