"""GET /api/papers/{id}, /papers/{id}.md, /api/papers/search, /api/papers/{id}/similar."""

from __future__ import annotations

import pytest

from paperfeed.store.database import write_transaction
from paperfeed.store.schema import papers

from .factories import TRICKY_ABSTRACT, TRICKY_ID, TRICKY_TITLE, set_upvotes

pytestmark = pytest.mark.corpus("api")


def test_paper_info_is_flat_with_full_record_fields(client, corpus):
    set_upvotes(corpus, {TRICKY_ID: 4})
    r = client.get(f"/api/papers/{TRICKY_ID}")
    assert r.status_code == 200
    body = r.json()
    assert body["id"] == TRICKY_ID and "paper" not in body
    assert body["title"] == TRICKY_TITLE and body["summary"] == TRICKY_ABSTRACT
    assert body["authors"][0] == {"name": "Zoë O'Brien & Co", "hidden": False,
                                  "affiliation": "ETH <Zürich>"}
    assert body["upvotes"] == 4
    assert body["publishedAt"] == "2025-03-21T17:00:00Z"
    assert body["githubRepo"] == "https://github.com/example/tricky"
    assert body["projectPage"] == "https://example.org/tricky?a=1&b=2"
    assert body["arxivComment"] == "12 pages & 3 <figures>"
    assert body["categories"] == ["cs.CL", "cs.LG"]


def test_paper_info_accepts_versioned_ids(client):
    assert client.get("/api/papers/2503.99999v3").json()["id"] == TRICKY_ID


def test_unknown_and_malformed_ids_are_json_errors(client):
    # A path id that is no arXiv id (a URL or "arXiv:" too) matches no route: 404.
    for ident, status in [("2501.00000", 404), ("hep-th/9901001", 404),
                          ("math.GT/0309136v2", 404), ("ü∂ƒ", 404), ("2503.1", 404),
                          ("x" * 400, 404), ("%00", 400), ("..%2F..%2Fetc", 404),
                          ("https://arxiv.org/abs/2503.99999", 404), ("arXiv:2503.99999", 404)]:
        r = client.get(f"/api/papers/{ident}")
        assert r.status_code == status, ident
        assert set(r.json()) == {"error"}


NOT_IDS = ["search", "search/similar", "2503.11731/similar", "2503.11731/x", "a/../search",
           "..", "2503.11731/..", "2503.1", "25031.1234", "2503.11731v", "2503.11731.md",
           "hep-th/990100", "hep-th/9901001/vote", "-th/9901001", "https://arxiv.org/abs/2503.11731",
           "arXiv:2503.11731", "٢٥٠٣.١١٧٣١", ""]
IDS = ["2503.11731", "2503.11731v2", "2501.0123", "hep-th/9901001", "math.GT/0309136v1",
       "cond-mat/0102536"]


def test_paper_routes_match_arxiv_ids_and_nothing_else(site):
    """Every route with an ``arxiv_id`` (pages and API) matches exactly an arXiv id: no other
    path (``/api/papers/search``, a dot segment, a sub-resource) can be read as a paper's."""
    from fastapi.routing import iter_route_contexts  # routes of included routers, too

    routes = [r for r in iter_route_contexts(site.app.routes) if "{arxiv_id" in (r.path or "")]
    assert {r.path_format for r in routes} >= {
        "/api/papers/{arxiv_id}", "/api/papers/{arxiv_id}/similar",
        "/api/papers/{arxiv_id}/vote", "/api/papers/{arxiv_id}/comments",
        "/api/collections/{collection_id}/papers/{arxiv_id}", "/api/submissions/{arxiv_id}",
        "/papers/{arxiv_id}", "/papers/{arxiv_id}.md", "/papers/{arxiv_id}.bib",
        "/papers/{arxiv_id}/vote", "/papers/{arxiv_id}/comments"}
    for route in routes:
        template = route.path_format.replace("{collection_id}", "7")
        for ident in IDS:
            found = route.path_regex.match(template.replace("{arxiv_id}", ident))
            assert found and found["arxiv_id"] == ident, (route.path, ident)
        for text in NOT_IDS:
            path = template.replace("{arxiv_id}", text)
            assert route.path_regex.match(path) is None, (route.path, text)


def test_openapi_gives_every_arxiv_id_parameter_the_id_pattern(client):
    import re

    spec = client.get("/openapi.json").json()
    found = 0
    for path, operations in spec["paths"].items():
        for operation in operations.values():
            for param in operation.get("parameters", []):
                if param["name"] != "arxiv_id":
                    continue
                found += 1
                pattern = re.compile(param["schema"]["pattern"])
                assert all(pattern.search(i) for i in IDS), path
                assert not any(pattern.search(t) for t in NOT_IDS), path
    assert found >= 9


def test_no_other_path_lands_on_a_paper_route(client):
    assert isinstance(client.get("/api/papers/search", params={"q": "model"}).json(), list)
    for url in ["/api/papers/search/similar", "/api/papers/2503.11979/similar/extra",
                "/api/papers/x/..%2Fsearch", "/api/papers/..%2Fdaily_papers",
                "/api/papers/search/comments", "/papers/search.md"]:
        r = client.get(url)
        assert r.status_code == 404 and set(r.json()) == {"error"}, (url, r.text)


def test_hidden_paper_is_404_everywhere(client, corpus):
    with write_transaction(corpus) as conn:
        conn.execute(papers.update().where(papers.c.arxiv_id == TRICKY_ID).values(hidden=True))
    for url in (f"/api/papers/{TRICKY_ID}", f"/papers/{TRICKY_ID}.md",
                f"/api/papers/{TRICKY_ID}/similar"):
        assert client.get(url).status_code == 404
    listed = client.get("/api/daily_papers", params={"limit": 100}).json()
    assert TRICKY_ID not in {i["paper"]["id"] for i in listed}


def test_markdown_page(client):
    r = client.get(f"/papers/{TRICKY_ID}.md")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/markdown")
    text = r.text
    assert text.startswith("# Escaping &lt;script&gt;")
    assert "$\\alpha &lt; \\beta$" in text  # LaTeX kept, only < escaped
    assert "**Authors:** Zoë O'Brien & Co, Ada Lovelace" in text
    assert "- Code: https://github.com/example/tricky" in text
    assert "## Abstract" in text
    assert client.get("/papers/2501.00000.md").json() == {"error": "paper 2501.00000 not found"}


def test_search_finds_by_words_with_snippet_and_reasons(client):
    r = client.get("/api/papers/search", params={"q": "gaussian splatting slam", "limit": 5})
    assert r.status_code == 200
    items = r.json()
    assert items and items[0]["paper"]["id"] == "2503.11979"
    assert items[0]["snippet"] and "<mark>" not in items[0]["snippet"]
    assert items[0]["reasons"]
    assert items[0]["score"] > 0
    assert len(items) <= 5


def test_search_paging_and_filters(client):
    first = client.get("/api/papers/search", params={"q": "model", "limit": 3}).json()
    second = client.get("/api/papers/search", params={"q": "model", "limit": 3, "p": 1}).json()
    assert {i["paper"]["id"] for i in first}.isdisjoint({i["paper"]["id"] for i in second})
    only_cl = client.get("/api/papers/search", params={"q": "model", "category": "cs.CL"}).json()
    assert all("cs.CL" in i["paper"]["categories"] for i in only_cl)
    by_author = client.get("/api/papers/search",
                           params={"q": "escaping", "author": "Ada Lovelace"}).json()
    assert [i["paper"]["id"] for i in by_author] == [TRICKY_ID]


def test_search_rejects_bad_parameters(client):
    for params in [
        {"q": "x", "limit": 0}, {"q": "x", "limit": 1000}, {"q": "x", "date_from": "2025-13-01"},
        {"q": "x", "mode": "magic"}, {"q": "x", "p": 999, "limit": 100}, {"q": "x" * 600},
    ]:
        r = client.get("/api/papers/search", params=params)
        assert r.status_code == 400 and r.json()["error"], params


def test_search_odd_queries_never_fail(client):
    for q in ["", "\"", "-", "cat:", "author:", "((", "ü∂ƒ 𝒳", "<script>", "2503.99999", "*"]:
        assert client.get("/api/papers/search", params={"q": q}).status_code == 200, q


def test_similar_papers(client):
    r = client.get("/api/papers/2503.11979/similar", params={"limit": 3})
    assert r.status_code == 200
    items = r.json()
    assert 0 < len(items) <= 3
    assert all(i["paper"]["id"] != "2503.11979" for i in items)
    assert items[0]["reasons"] and isinstance(items[0]["score"], float)
    assert client.get("/api/papers/2501.00000/similar").status_code == 404
    assert client.get("/api/papers/2503.11979/similar", params={"limit": 0}).status_code == 400


def test_nul_characters_are_400_and_calendar_edges_answer_not_500(client, api_user):
    for url, params in [
        ("/api/daily_papers", {"category": "\x00"}),
        ("/api/papers/search", {"q": "a\x00b"}),
        ("/api/papers/2503.11731%00", {}),
    ]:
        r = client.get(url, params=params)
        assert r.status_code == 400, (url, params, r.text)
        assert r.json()["error"]
    # Real dates at the calendar's ends are valid filters: an answer, never an overflow.
    everything = client.get("/api/papers/search", params={"q": "x", "date_to": "9999-12-31"})
    assert everything.status_code == 200 and len(everything.json()) > 0
    for q in ("after:9999-12-31 x", "year:9999 x"):
        r = client.get("/api/papers/search", params={"q": q})
        assert r.status_code == 200 and r.json() == [], (q, r.text)
    assert client.get("/feeds/search.atom", params={"q": "after:9999-12-31"}).status_code == 200
    for body in ({"name": "a\x00b"}, {"name": "ok", "description": "\x00"}):
        r = client.post("/api/collections", json=body, headers=api_user.auth)
        assert r.status_code == 400, body
    r = client.post("/api/submissions", json={"id": "2503.11731\x00"}, headers=api_user.auth)
    assert r.status_code == 400
