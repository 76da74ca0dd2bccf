"""Security headers on every response, and the limits that keep requests bounded."""

import pytest

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
