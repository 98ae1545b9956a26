"""Minimal codewarden API client built on urllib.

Request construction and response parsing are separate methods so they can
be tested without a network; `_send` is the only place that does I/O.
"""

import json
import urllib.error
import urllib.request
from urllib.parse import quote, urlencode

DEFAULT_TIMEOUT = 10.0


class ApiError(Exception):
    """Raised for non-2xx responses; keeps the decoded error body."""

    def __init__(self, status, body):
        super().__init__(f"codewarden API returned HTTP {status}")
        self.status = status
        self.body = body


class Client:
    def __init__(self, base_url, token=None, timeout=DEFAULT_TIMEOUT):
        # Strip the trailing slash once so joins never produce "//".
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = timeout

    def build_url(self, path, **params):
        """Join `path` onto the base URL, dropping parameters set to None."""
        url = self.base_url + "/" + path.lstrip("/")
        query = {k: v for k, v in params.items() if v is not None}
        return f"{url}?{urlencode(query)}" if query else url

    def build_request(self, path, **params):
        headers = {"Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        return urllib.request.Request(self.build_url(path, **params),
                                      headers=headers, method="GET")

    @staticmethod
    def parse_response(status, raw):
        """Decode a JSON body; raise ApiError for anything but 2xx."""
        body = json.loads(raw.decode("utf-8")) if raw else None
        if not 200 <= status < 300:
            raise ApiError(status, body)
        return body

    def _send(self, request):
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as resp:
                return self.parse_response(resp.status, resp.read())
        except urllib.error.HTTPError as err:
            return self.parse_response(err.code, err.read())

    def health(self):
        return self._send(self.build_request("/health"))

    def list_projects(self, page=None, per_page=None):
        return self._send(self.build_request(
            "/v1/projects", page=page, per_page=per_page))

    def get_project(self, slug):
        return self._send(self.build_request(f"/v1/projects/{quote(slug)}"))
