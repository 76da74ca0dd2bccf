"""Cookie sessions for the web pages only: the API authenticates each call with a bearer
token, so its responses neither read nor set the session cookie (and need no
`Vary: Cookie`)."""

from flask import request
from flask.sessions import SecureCookieSessionInterface

API_PREFIX = "/api/"


class PagesOnlySessionInterface(SecureCookieSessionInterface):
    def open_session(self, app, request):
        if request.path.startswith(API_PREFIX):
            return self.session_class()  # empty, and never saved
        return super().open_session(app, request)

    def save_session(self, app, session, response):
        if request.path.startswith(API_PREFIX):
            return
        super().save_session(app, session, response)
