import pytest

from app.main import MAX_PAGE_SIZE, is_valid_slug, paginate


def test_list_projects_first_page(call):
    status, body = call("/v1/projects", query="per_page=2")
    assert status == 200
    assert [p["slug"] for p in body["items"]] == ["codewarden", "gantry-demo"]
    assert body["total"] == 3


def test_get_project_by_slug(call):
    status, body = call("/v1/projects/lint-rules")
    assert status == 200
    assert body["visibility"] == "public"


def test_invalid_slug_is_400(call):
    status, _ = call("/v1/projects/Not_A_Slug")
    assert status == 400


@pytest.mark.parametrize("slug,ok", [
    ("codewarden", True),
    ("a-b-c", True),
    ("ab", False),          # too short
    ("-leading", False),
    ("double--hyphen", False),
    ("UPPER", False),
])
def test_is_valid_slug(slug, ok):
    assert is_valid_slug(slug) is ok


def test_paginate_clamps_out_of_range_values():
    page = paginate(list(range(500)), page=0, per_page=10_000)
    assert page["page"] == 1
    assert page["per_page"] == MAX_PAGE_SIZE
    assert len(page["items"]) == MAX_PAGE_SIZE
