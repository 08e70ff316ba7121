"""GET /api/daily_papers: Hugging Face's parameters, item shape, paging and errors."""

from __future__ import annotations

import pytest

from .factories import NEWEST_DAY, TRICKY_ID, set_upvotes

pytestmark = pytest.mark.corpus("api")


def test_item_has_the_hugging_face_shape(client, corpus):
    set_upvotes(corpus, {"2503.11731": 7})
    r = client.get("/api/daily_papers", params={"date": "2025-03-18"})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/json")
    items = r.json()
    first = items[0]
    assert first["paper"]["id"] == "2503.11731"
    assert first["paper"]["upvotes"] == 7
    assert first["paper"]["authors"][0] == {
        "name": "Xianming Zeng", "hidden": False, "affiliation": None
    }
    assert first["paper"]["title"].startswith("Industrial-Grade Sensor Simulation")
    assert first["paper"]["publishedAt"].startswith("2025-03-18T00:00:00")
    for key in ("discussionId", "githubRepo", "projectPage", "ai_keywords", "summary"):
        assert key in first["paper"]
    for key in ("publishedAt", "title", "summary", "numComments", "submittedBy"):
        assert key in first
    assert first["title"] == first["paper"]["title"]
    assert all(item["publishedAt"].startswith("2025-03-18") for item in items)
    assert len(items) == 9


def test_day_listing_is_ranked_by_votes_then_stable(client, corpus):
    set_upvotes(corpus, {"2503.13051": 3, "2503.11979": 5})
    ids = [i["paper"]["id"] for i in client.get("/api/daily_papers?date=2025-03-18").json()]
    assert ids[:2] == ["2503.11979", "2503.13051"]
    again = [i["paper"]["id"] for i in client.get("/api/daily_papers?date=2025-03-18").json()]
    assert ids == again


def test_without_a_period_lists_everything_newest_first(client):
    r = client.get("/api/daily_papers", params={"limit": 100})
    items = r.json()
    assert len(items) == 26 and r.headers["x-total-count"] == "26"
    days = [i["publishedAt"][:10] for i in items]
    assert days == sorted(days, reverse=True)
    assert days[0] == NEWEST_DAY.isoformat()


def test_week_and_month(client):
    week = client.get("/api/daily_papers", params={"week": "2025-W12", "limit": 100}).json()
    assert {i["publishedAt"][:10] for i in week} == {
        "2025-03-18", "2025-03-19", "2025-03-20", "2025-03-21"
    }
    month = client.get("/api/daily_papers", params={"month": "2025-03", "limit": 100}).json()
    assert len(month) == 26
    assert client.get("/api/daily_papers", params={"month": "2025-04"}).json() == []


def test_pages_do_not_overlap_and_cover_everything(client):
    seen: list[str] = []
    for p in range(6):
        r = client.get("/api/daily_papers", params={"month": "2025-03", "limit": 5, "p": p})
        seen += [i["paper"]["id"] for i in r.json()]
        if p < 5:
            assert 'rel="next"' in r.headers["link"]
    assert len(seen) == len(set(seen)) == 26


def test_sort_published_and_trending(client, corpus):
    set_upvotes(corpus, {"2503.11731": 50})
    trending = client.get("/api/daily_papers", params={"sort": "trending", "month": "2025-03"})
    items = trending.json()
    assert items[0]["score"] is not None
    scores = [i["score"] for i in items]
    assert scores == sorted(scores, reverse=True)
    published = client.get("/api/daily_papers", params={"sort": "publishedAt", "week": "2025-W13"})
    assert published.json()[0]["paper"]["id"] == TRICKY_ID


def test_category_extension(client):
    items = client.get("/api/daily_papers", params={"category": "cs.CL", "limit": 100}).json()
    assert items and all("cs.CL" in i["paper"]["categories"] for i in items)


MALFORMED = [
    {"date": "2025-02-30"},
    {"date": "yesterday"},
    {"date": "2025-3-1"},
    {"week": "2025-W60"},
    {"week": "2025-W00"},
    {"month": "2025-13"},
    {"date": "2025-03-18", "week": "2025-W12"},
    {"limit": -1},
    {"limit": 0},
    {"limit": 100000},
    {"limit": "ten"},
    {"p": -1},
    {"sort": "random"},
    {"date": "２０２５-03-18"},
]


def test_malformed_parameters_are_400_json(client):
    for params in MALFORMED:  # one app for all: each case is a request, not a new database
        r = client.get("/api/daily_papers", params=params)
        assert r.status_code == 400, (params, r.text)
        body = r.json()
        assert set(body) == {"error"} and body["error"], params


def test_submitter_filter_unknown_user_is_empty(client):
    assert client.get("/api/daily_papers", params={"submitter": "nobody"}).json() == []
