"""A tiny WSGI service (standard library only), so the example runs offline."""

import json


def app(environ, start_response):
    body = json.dumps({"status": "ok", "path": environ.get("PATH_INFO", "/")}).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body]
