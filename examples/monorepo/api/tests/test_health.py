from app import __version__


def test_health_reports_ok(call):
    status, body = call("/health")
    assert status == 200
    assert body == {"status": "ok", "version": __version__}


def test_unknown_path_is_404(call):
    status, body = call("/nope")
    assert status == 404
    assert body["error"] == "not found"


def test_post_is_rejected(call):
    status, _ = call("/health", method="POST")
    assert status == 405
