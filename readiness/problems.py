"""Errors as RFC 9457 problem documents (application/problem+json)."""

from flask import jsonify
from werkzeug.exceptions import HTTPException

PROBLEM_TYPE = "about:blank"


class Problem(Exception):
    """An API error with a status, a clear detail and, for bad entries, `errors`."""

    def __init__(self, status, title, detail, errors=None, headers=None):
        super().__init__(detail)
        self.status, self.title, self.detail = status, title, detail
        self.errors = errors
        self.headers = headers or {}


def problem_response(status, title, detail, errors=None, headers=None):
    body = {"type": PROBLEM_TYPE, "title": title, "status": status, "detail": detail}
    if errors is not None:
        body["errors"] = errors
    response = jsonify(body)
    response.status_code = status
    response.mimetype = "application/problem+json"
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def from_problem(problem):
    return problem_response(problem.status, problem.title, problem.detail, problem.errors,
                            problem.headers)


def from_http_exception(error: HTTPException):
    """Keeps the exception's own headers (405 needs Allow, 401 WWW-Authenticate)."""
    headers = {name: value for name, value in error.get_headers()
               if name.lower() != "content-type"}
    return problem_response(error.code, error.name, error.description, headers=headers)
