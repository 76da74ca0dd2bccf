"""Domain errors and HTTP errors become pages in one place."""

from flask import abort, flash, render_template, request
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter

from .. import problems
from ..domain.inputs import InvalidInput, is_storable
from ..faults import give_up_writing, is_busy, takes_no_changes
from . import carry


class PermissionDenied(Exception):
    """The signed-in user may not do this."""


def require(allowed, message="You are not allowed to do that."):
    """:raise PermissionDenied: unless `allowed`."""
    if not allowed:
        raise PermissionDenied(message)


MAX_ID = 2**31 - 1


def found(thing, what):
    """`thing`, or a 404 page saying there is no such `what` (e.g. "service")."""
    if thing is None:
        abort(404, f"There is no such {what}.")
    return thing


class IdConverter(IntegerConverter):
    """`<int:…>` in URLs, bounded to what the databases store: larger ids are a 404,
    not an overflow."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def refuse_nul_characters():
    """No text field may hold a NUL character (PostgreSQL cannot store one) or a lone
    surrogate (it has no UTF-8 encoding)."""
    texts = [request.path]
    sources = (request.args,) if request.method in ("GET", "HEAD") else (request.args,
                                                                         request.form)
    for values in sources:
        texts.extend(value for _, all_values in values.lists() for value in all_values)
    for value in texts:
        if not is_storable(value):
            abort(400, "The text sent contains a NUL character (\\0) or a broken Unicode "
                       "character (a lone surrogate), which no field may hold. Remove it "
                       "and send again.")


# No inline script or style anywhere: every page works under this policy.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}


class SecurityHeaders:
    """WSGI middleware: SECURITY_HEADERS on every response, error pages and static files
    included, unless the response set one itself."""

    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app
        self.headers = list(SECURITY_HEADERS.items())

    def __call__(self, environ, start_response):
        def start_with_headers(status, headers, exc_info=None):
            present = {name.lower() for name, _ in headers}
            headers.extend(item for item in self.headers if item[0].lower() not in present)
            return start_response(status, headers, exc_info)

        return self.wsgi_app(environ, start_with_headers)


# The longest URL (path and query, in bytes as sent) the app answers; longer ones get its
# own 414. gunicorn.conf.py lets request lines up to 8,190 bytes through to it.
MAX_URL = 4096


def refuse_long_urls():
    raw = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI")
    length = len(raw) if raw else len(request.path.encode()) + len(request.query_string) + 1
    if length > MAX_URL:
        abort(414, f"The address is longer than {MAX_URL:,} characters. Shorten the search "
                   "or the filters and try again.")


def register(app):
    app.before_request(refuse_long_urls)
    app.before_request(refuse_nul_characters)
    app.wsgi_app = SecurityHeaders(app.wsgi_app)

    @app.errorhandler(PermissionDenied)
    def permission_denied(error):
        return render_template("errors/error.html", code=403, title="Not allowed",
                               message=str(error)), 403

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        if carry.can_carry_current():
            if current_user.is_authenticated:
                flash("This page had been open a long time and its security token expired. "
                      "Nothing was saved; what you typed is below: save again.", "warning")
            return carry.rerender_current()
        return render_template("errors/error.html", code=400, title="Please try again",
                               message="The form's security token expired or was missing. "
                                       "Go back, reload the page and send it again."), 400

    @app.errorhandler(DBAPIError)
    def database_unavailable(error):
        """A write the database could not take now: busy (SQLite's lock) or taking no
        changes (read-only, full). 503 with Retry-After; anything else is a bug (500)."""
        if is_busy(error):
            title, retry = "Busy, try again", "1"
            message = "The database is busy with other changes; nothing was saved. Try again."
        elif takes_no_changes(error):
            title, retry = "Changes are paused", "60"
            message = ("The database takes no changes right now (it is read-only or full); "
                       "nothing was saved. Reading works; try again later.")
        else:
            raise error
        give_up_writing()
        if request.path.startswith("/api/"):
            return problems.problem_response(503, "Service Unavailable", message,
                                             headers={"Retry-After": retry})
        return render_template("errors/error.html", code=503, title=title,
                               message=message), 503, {"Retry-After": retry}

    @app.errorhandler(InvalidInput)
    def invalid_input(error):
        return render_template("errors/error.html", code=422, title="Please check your input",
                               message=str(error)), 422

    @app.errorhandler(HTTPException)
    def http_error(error):
        if error.code is None or error.code < 400:
            return error
        if request.path.startswith("/api/"):
            return problems.from_http_exception(error)
        response = error.get_response()
        response.data = render_template("errors/error.html", code=error.code, title=error.name,
                                        message=error.description)
        response.content_type = "text/html; charset=utf-8"
        return response
