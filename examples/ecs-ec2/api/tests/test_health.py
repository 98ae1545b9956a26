from app.main import app


def test_health():
    seen = {}
    body = b"".join(app({"PATH_INFO": "/health"}, lambda s, h: seen.update(status=s)))
    assert seen["status"] == "200 OK"
    assert b'"ok"' in body
