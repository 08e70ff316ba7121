"""HTTP behaviour of the API: JSON errors, CORS for reads, conditional GETs, OpenAPI and
the local /docs page."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.corpus("api")



def test_unknown_paths_and_methods_are_json_errors(client):
    r = client.get("/api/nothing/here")
    assert r.status_code == 404 and r.json() == {
        "error": "no such endpoint or resource: /api/nothing/here"
    }
    r = client.put("/api/daily_papers")
    assert r.status_code == 405 and "error" in r.json()
    assert client.get("/feeds/nothing.atom").json()["error"]


def test_cors_allows_reads_from_any_origin_but_not_writes(client, api_user):
    origin = {"Origin": "https://elsewhere.example"}
    r = client.get("/api/daily_papers", headers=origin)
    assert r.headers["access-control-allow-origin"] == "*"
    assert "ETag" in r.headers["access-control-expose-headers"]
    pre = client.options("/api/daily_papers", headers={
        **origin, "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "authorization"})
    assert pre.status_code == 204 and pre.headers["access-control-allow-origin"] == "*"
    assert "GET" in pre.headers["access-control-allow-methods"]
    write = client.options("/api/papers/2503.11731/vote", headers={
        **origin, "Access-Control-Request-Method": "POST"})
    assert "access-control-allow-origin" not in write.headers
    posted = client.post("/api/papers/2503.11731/vote", headers={**origin, **api_user.auth})
    assert "access-control-allow-origin" not in posted.headers
    page = client.get("/docs", headers=origin)
    assert "access-control-allow-origin" not in page.headers


def test_etag_and_last_modified_give_304(client):
    url = "/api/papers/2503.11731"
    first = client.get(url)
    etag, modified = first.headers["etag"], first.headers["last-modified"]
    assert first.headers["cache-control"].startswith("public, max-age=")
    assert client.get(url, headers={"If-None-Match": etag}).status_code == 304
    assert client.get(url, headers={"If-None-Match": f'"other", W/{etag}'}).status_code == 304
    assert client.get(url, headers={"If-None-Match": '"other"'}).status_code == 200
    assert client.get(url, headers={"If-Modified-Since": modified}).status_code == 304
    old = "Mon, 01 Jan 2001 00:00:00 GMT"
    assert client.get(url, headers={"If-Modified-Since": old}).status_code == 200
    assert client.get(url, headers={"If-Modified-Since": "garbage"}).status_code == 200
    # If-None-Match wins over If-Modified-Since
    both = client.get(url, headers={"If-None-Match": '"other"', "If-Modified-Since": modified})
    assert both.status_code == 200


def test_paging_headers(client):
    r = client.get("/api/daily_papers", params={"month": "2025-03", "limit": 10, "p": 1})
    assert r.headers["x-total-count"] == "26"
    links = {rel: url for url, rel in re.findall(r'<([^>]+)>; rel="(\w+)"', r.headers["link"])}
    assert "p=2" in links["next"] and "p=0" in links["prev"]


def test_openapi_documents_every_endpoint_with_json_errors(client):
    spec = client.get("/openapi.json").json()
    paths = spec["paths"]
    for path in ["/api/daily_papers", "/api/papers/search", "/api/papers/{arxiv_id}",
                 "/papers/{arxiv_id}.md", "/api/papers/{arxiv_id}/similar", "/api/trending",
                 "/api/papers/{arxiv_id}/vote", "/api/submissions", "/api/collections",
                 "/api/collections/{collection_id}", "/api/me", "/feeds/daily.atom",
                 "/feeds/trending.atom", "/feeds/search.atom",
                 "/feeds/categories/{category}.atom", "/feeds/authors/{name}.atom",
                 "/feeds/collections/{collection_id}.atom",
                 "/feeds/users/{username}/{secret}.atom"]:
        assert path in paths, path
    for path, ops in paths.items():
        if path.startswith(("/api/", "/feeds/")):
            for op in ops.values():
                assert "422" not in op["responses"], path
                assert "4XX" in op["responses"], path
    schemas = spec["components"]["schemas"]
    assert "ErrorBody" in schemas
    for name in ("HfUser", "HfAuthor", "HfPaper", "PaperDetail", "DailyPaper", "SimilarPaper",
                 "VoteState", "Submission", "CollectionSummary", "Collection", "Me"):
        fields = " ".join(schemas[name]["properties"]).lower()
        assert "password" not in fields and "email" not in fields, name
    assert "personal token" in spec["components"]["securitySchemes"]


def test_docs_page_is_served_locally(client):
    page = client.get("/docs")
    assert page.status_code == 200
    urls = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert urls and all(u.startswith("/") for u in urls), urls
    assert "<script>" not in page.text  # no inline script (CSP)
    for url in urls:
        assert client.get(url).status_code == 200, url
    init = client.get("/docs/init.js").text
    assert '"/openapi.json"' in init and "validatorUrl: null" in init
    bundle = client.get("/static/swagger-ui/swagger-ui-bundle.js")
    assert bundle.status_code == 200 and len(bundle.content) > 500_000


def test_an_unexpected_failure_is_a_json_500_without_internals(site):
    from fastapi.testclient import TestClient

    from paperfeed.web import deps

    def broken() -> None:
        raise RuntimeError("secret internals")

    site.app.dependency_overrides[deps.paper_views] = broken
    with TestClient(site.app, raise_server_exceptions=False) as client:
        r = client.get("/api/daily_papers")
    assert r.status_code == 500
    assert r.json() == {"error": "internal server error"}


def test_docs_api_md_documents_every_endpoint(client):
    from pathlib import Path

    doc = (Path(__file__).resolve().parent.parent / "docs" / "api.md").read_text()
    spec = client.get("/openapi.json").json()
    for path in spec["paths"]:
        if not re.match(r"^/(api|feeds)/|.*\.md$", path):
            continue
        # docs/api.md names path parameters more briefly ({id}, {cid}) than the schema
        pattern = re.sub(r"\\\{[a-z_]+\\\}", r"\\{[a-z_]+\\}", re.escape(path))
        assert re.search(pattern, doc), f"docs/api.md does not mention {path}"
