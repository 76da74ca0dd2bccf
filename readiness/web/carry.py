"""Keeping what a person typed when their session or CSRF token ran out mid-edit.

A blueprint registers, per endpoint, a function that re-renders its form from
posted fields. When a POST to such an endpoint arrives signed out, the sign-in
page carries the fields along as hidden inputs; after signing in — or when the
CSRF token had expired — the form comes back filled in, to be saved again.
Nothing is saved on the person's behalf.
"""

from flask import request
from werkzeug.datastructures import MultiDict

PREFIX = "carry-"
_rerenderers = {}
# Never carried: secrets and the stale token.
_SKIP = {"csrf_token", "password"}


def register(endpoint, rerender):
    """`rerender(url, formdata)` returns the response that shows the form refilled."""
    _rerenderers[endpoint] = rerender


def can_carry(endpoint):
    return endpoint in _rerenderers


def fields(req):
    """The posted fields worth carrying, as (name, value) pairs."""
    return [(name, value) for name, value in req.form.items(multi=True) if name not in _SKIP]


def fields_from_login(req):
    return [(name[len(PREFIX):], value) for name, value in req.form.items(multi=True)
            if name.startswith(PREFIX)]


def rerender(endpoint, url, pairs):
    return _rerenderers[endpoint](url, MultiDict(pairs))


def rerender_current():
    """For the CSRF error handler: the current request's form refilled, or None."""
    if request.method == "POST" and can_carry(request.endpoint):
        return _rerenderers[request.endpoint](request.path, MultiDict(fields(request)))
    return None
