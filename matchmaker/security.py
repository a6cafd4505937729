"""What every response carries for the browser's protection: security headers and the cookies' flags.

The Content-Security-Policy allows scripts, styles and images from this site only, with no inline code:
templates put JavaScript and CSS in files under `static/`, never in `<script>` blocks or `style=""`/`on*=`
attributes.
"""

from __future__ import annotations

from flask import Flask, Response, request
from werkzeug.middleware.proxy_fix import ProxyFix

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "frame-ancestors 'none'",
        "form-action 'self'",
        "base-uri 'self'",
        "object-src 'none'",
    ]
)
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}
# Browsers remember HSTS for this long; sent only over HTTPS, where it means something.
STRICT_TRANSPORT_SECURITY = "max-age=31536000; includeSubDomains"


def init_security(app: Flask) -> None:
    """Set the cookies' flags, trust the configured proxies, and add the security headers to every response."""
    mode = app.config["MATCHMAKER_SESSION_COOKIE_SECURE"]
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=mode == "always",
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_SECURE=mode == "always",
    )
    if mode == "auto":
        app.wsgi_app = SecureCookiesOverHttps(app.wsgi_app)
    # Outermost, so that the layers inside (and Flask's request.is_secure) see the scheme the client used.
    hops = app.config["MATCHMAKER_PROXY_HOPS"]
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops)
    app.after_request(add_security_headers)


class SecureCookiesOverHttps:
    """WSGI middleware: mark every cookie of a response to an HTTPS request `Secure`.

    Wrapping the app rather than one cookie's code covers each cookie anything sets (Flask's session,
    Flask-Login's remember-me, a deleted cookie), whatever response class set it. Behind a proxy it sits
    inside ProxyFix, so the scheme is the one the client used, as `X-Forwarded-Proto` tells it.
    """

    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        if environ.get("wsgi.url_scheme") != "https":
            return self.wsgi_app(environ, start_response)

        def secure_start_response(status, headers, exc_info=None):
            headers = [
                (name, _with_secure(value) if name.lower() == "set-cookie" else value) for name, value in headers
            ]
            return start_response(status, headers, exc_info)

        return self.wsgi_app(environ, secure_start_response)


def _with_secure(cookie: str) -> str:
    """Return a Set-Cookie value with the Secure attribute, adding it unless it is there."""
    attributes = [part.strip().lower() for part in cookie.split(";")[1:]]
    return cookie if "secure" in attributes else f"{cookie}; Secure"


def add_security_headers(response: Response) -> Response:
    """Add the security headers, and HSTS when the request came over HTTPS."""
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    if request.is_secure:
        response.headers.setdefault("Strict-Transport-Security", STRICT_TRANSPORT_SECURITY)
    return response
