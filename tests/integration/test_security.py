"""Security headers on every response, and the limits that keep requests bounded."""

import pytest

from readiness.commands.tokens import create_token
from readiness.extensions import db
from readiness.web.errors import SECURITY_HEADERS

from ..factories import make_user


@pytest.mark.parametrize("url", ["/login", "/", "/static/style.css", "/no-such-page",
                                 "/api/v1/openapi.json", "/api/v1/services"])
def test_every_response_carries_the_security_headers(client, app, url):
    response = client.get(url)
    response.close()  # static files are streamed
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get(name) == value, (url, name)
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "'unsafe-inline'" not in csp


def test_signed_in_pages_carry_them_too(client, login, app):
    login(make_user())
    assert client.get("/my-work").headers["X-Content-Type-Options"] == "nosniff"


def test_a_body_over_the_limit_is_refused(client, app):
    response = client.post("/login", data={"email": "x" * (3 * 1024 * 1024)})
    assert response.status_code == 413


def test_the_api_neither_reads_nor_sets_the_session_cookie(client, login, app):
    """Bearer tokens only: a signed-in browser's cookie does not authenticate an API call,
    and API answers carry no cookie (and vary on none)."""
    user = login(make_user())
    assert client.get("/my-work").status_code == 200  # the cookie works on the pages
    refused = client.get("/api/v1/services")
    assert refused.status_code == 401
    _row, token = create_token(user, name="t", actor=user)
    db.session.commit()
    answered = client.get("/api/v1/services", headers={"Authorization": f"Bearer {token}"})
    assert answered.status_code == 200
    for response in (refused, answered):
        assert "Set-Cookie" not in response.headers and "Cookie" not in response.headers.get(
            "Vary", "")
    assert client.get("/my-work").status_code == 200  # and the session lives on
