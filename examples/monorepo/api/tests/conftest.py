import json
from wsgiref.util import setup_testing_defaults

import pytest

from app.main import app


@pytest.fixture
def call():
    """Call the WSGI app in-process and return (status code, decoded JSON)."""

    def _call(path, method="GET", query=""):
        environ = {"PATH_INFO": path, "REQUEST_METHOD": method,
                   "QUERY_STRING": query}
        setup_testing_defaults(environ)
        captured = {}

        def start_response(status, headers):
            captured["status"] = int(status.split(" ", 1)[0])
            captured["headers"] = dict(headers)

        body = b"".join(app(environ, start_response))
        assert captured["headers"]["Content-Type"] == "application/json"
        return captured["status"], json.loads(body)

    return _call
