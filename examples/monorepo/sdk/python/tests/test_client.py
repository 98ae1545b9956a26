import pytest

import codewarden
from codewarden import ApiError, Client


def test_version_matches_pyproject():
    assert codewarden.__version__ == "0.1.0"


def test_build_url_joins_paths_and_skips_none():
    client = Client("https://api.codewarden.dev/")
    assert client.build_url("/health") == "https://api.codewarden.dev/health"
    assert (client.build_url("v1/projects", page=2, per_page=None)
            == "https://api.codewarden.dev/v1/projects?page=2")


def test_build_request_sets_auth_header():
    request = Client("https://api.codewarden.dev", token="t0k").build_request("/health")
    assert request.get_header("Authorization") == "Bearer t0k"
    assert request.get_method() == "GET"


def test_parse_response_decodes_and_raises():
    assert Client.parse_response(200, b'{"status": "ok"}') == {"status": "ok"}
    with pytest.raises(ApiError) as excinfo:
        Client.parse_response(404, b'{"error": "not found"}')
    assert excinfo.value.status == 404
    assert excinfo.value.body == {"error": "not found"}


def test_requests_go_through_send(monkeypatch):
    # Stub the single I/O method so nothing touches the network.
    client = Client("https://api.codewarden.dev")
    seen = []
    monkeypatch.setattr(client, "_send", lambda req: seen.append(req.full_url) or {})
    client.get_project("gantry demo")
    assert seen == ["https://api.codewarden.dev/v1/projects/gantry%20demo"]
