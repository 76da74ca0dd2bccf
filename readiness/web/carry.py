"""Keeping what a person typed when their session or CSRF token ran out mid-edit.

A blueprint registers, per endpoint, a function that re-renders its form from
posted fields. When a POST to such an endpoint arrives signed out, the sign-in
page carries the fields along as hidden inputs; after signing in — or when the
CSRF token had expired — the form comes back filled in, to be saved again.
Nothing is saved on the person's behalf.
"""

from urllib.parse import urlsplit

from flask import current_app, request
from flask_login import current_user
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import HTTPException

from ..extensions import login_manager

PREFIX = "carry-"
_rerenderers = {}
# Never carried: secrets and the stale token.
_SKIP = {"csrf_token", "password"}


def register(endpoint, rerender):
    """`rerender(view_args, formdata)` returns the response that shows the form refilled."""
    _rerenderers[endpoint] = rerender


def can_carry(endpoint):
    return endpoint in _rerenderers


def fields(req):
    """The posted fields worth carrying, as (name, value) pairs."""
    return [(name, value) for name, value in req.form.items(multi=True) if name not in _SKIP]


def fields_from_login(req):
    return [(name[len(PREFIX):], value) for name, value in req.form.items(multi=True)
            if name.startswith(PREFIX)]


def match(endpoint, url):
    """The view arguments of `url` when it is the address of `endpoint`, else None.

    Both come from the client when carried through the sign-in page: trust neither.
    """
    if not can_carry(endpoint):
        return None
    adapter = current_app.url_map.bind(request.host)
    try:
        matched, view_args = adapter.match(urlsplit(url).path, method="POST")
    except HTTPException:
        return None
    return view_args if matched == endpoint else None


def rerender(endpoint, view_args, pairs):
    return _rerenderers[endpoint](view_args, MultiDict(pairs))


def can_carry_current():
    return request.method == "POST" and can_carry(request.endpoint)


def rerender_current():
    """For the CSRF error handler: the current request's form refilled.

    Signed out (the session ended, taking its CSRF token along), it is the sign-in
    page carrying the fields instead.
    """
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    return _rerenderers[request.endpoint](request.view_args, MultiDict(fields(request)))
