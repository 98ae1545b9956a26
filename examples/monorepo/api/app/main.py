"""WSGI entry point for the codewarden API.

Kept to the standard library (wsgiref) so the service and its tests need
nothing but Python; a production deployment would put it behind gunicorn.
"""

import json
import os
import re
from urllib.parse import parse_qs
from wsgiref.simple_server import make_server

from app import __version__

# Slugs appear in URLs and in the dashboard, so keep them lowercase and
# URL-safe: letters, digits and single hyphens, 3-40 characters.
SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){2,39}$")

MAX_PAGE_SIZE = 100

# In-memory fixture data; the real service reads the Supabase `projects` table.
PROJECTS = [
    {"slug": "codewarden", "name": "codewarden", "visibility": "private"},
    {"slug": "gantry-demo", "name": "gantry demo", "visibility": "public"},
    {"slug": "lint-rules", "name": "Lint rules", "visibility": "public"},
]


def is_valid_slug(slug):
    """Return True if `slug` may be used as a project identifier."""
    return bool(SLUG_RE.match(slug or ""))


def paginate(items, page=1, per_page=20):
    """Return one page of `items` plus paging metadata.

    Out-of-range values are clamped rather than rejected so that a stale
    link never produces an error page.
    """
    per_page = max(1, min(int(per_page), MAX_PAGE_SIZE))
    page = max(1, int(page))
    start = (page - 1) * per_page
    return {
        "items": items[start:start + per_page],
        "page": page,
        "per_page": per_page,
        "total": len(items),
    }


def _json(start_response, status, body):
    payload = json.dumps(body).encode("utf-8")
    start_response(status, [
        ("Content-Type", "application/json"),
        ("Content-Length", str(len(payload))),
    ])
    return [payload]


def _int_param(query, name, default):
    try:
        return int(query.get(name, [default])[0])
    except ValueError:
        return default


def app(environ, start_response):
    """The WSGI callable: routes on method and path only."""
    method = environ.get("REQUEST_METHOD", "GET")
    path = environ.get("PATH_INFO", "/")

    if method != "GET":
        return _json(start_response, "405 Method Not Allowed",
                     {"error": "method not allowed"})

    if path == "/health":
        # Used by the ECS container health check; must stay cheap.
        return _json(start_response, "200 OK",
                     {"status": "ok", "version": __version__})

    if path == "/v1/projects":
        query = parse_qs(environ.get("QUERY_STRING", ""))
        page = paginate(PROJECTS, _int_param(query, "page", 1),
                        _int_param(query, "per_page", 20))
        return _json(start_response, "200 OK", page)

    if path.startswith("/v1/projects/"):
        slug = path[len("/v1/projects/"):]
        if not is_valid_slug(slug):
            return _json(start_response, "400 Bad Request",
                         {"error": "invalid slug"})
        for project in PROJECTS:
            if project["slug"] == slug:
                return _json(start_response, "200 OK", project)

    return _json(start_response, "404 Not Found", {"error": "not found"})


def main():
    port = int(os.environ.get("PORT", "8000"))
    # Bind all interfaces: inside a container, localhost is unreachable.
    with make_server("0.0.0.0", port, app) as server:
        print(f"codewarden-api {__version__} listening on :{port}", flush=True)
        server.serve_forever()


if __name__ == "__main__":
    main()
