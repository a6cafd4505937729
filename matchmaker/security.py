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
    secure = app.config["SESSION_COOKIE_SECURE"]
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_SECURE=secure,
    )
    hops = app.config["MATCHMAKER_PROXY_HOPS"]
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops)
    app.after_request(add_security_headers)


def add_security_headers(response: Response) -> Response:
    """Add the security headers, and HSTS when the request came over HTTPS."""
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    if request.is_secure:
        response.headers.setdefault("Strict-Transport-Security", STRICT_TRANSPORT_SECURITY)
    return response
