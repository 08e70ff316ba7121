"""Votes, submissions, collections and /api/me with personal API tokens; rate limits."""

from __future__ import annotations

import pytest

from paperfeed.store.database import write_transaction
from paperfeed.store.tokens import revoke_token
from paperfeed.store.users import set_user_disabled

from .factories import NEWEST_DAY, TRICKY_ID, make_api_user

pytestmark = pytest.mark.corpus("api")


def test_writes_need_a_valid_token(client, api_user):
    for method, url, body in [
        ("POST", "/api/papers/2503.11731/vote", None),
        ("DELETE", "/api/papers/2503.11731/vote", None),
        ("POST", "/api/submissions", {"id": "2503.11731"}),
        ("POST", "/api/collections", {"name": "x"}),
        ("GET", "/api/me", None),
    ]:
        r = client.request(method, url, json=body)
        assert r.status_code == 401, (method, url)
        assert r.json()["error"] and r.headers["www-authenticate"].startswith("Bearer")
        bad = client.request(method, url, json=body, headers={"Authorization": "Bearer pf_nope"})
        assert bad.status_code == 401


def test_vote_is_idempotent_and_counted_once(client, api_user):
    url = "/api/papers/2503.11731/vote"
    for _ in range(2):
        r = client.post(url, headers=api_user.auth)
        assert r.status_code == 200
        assert r.json() == {"id": "2503.11731", "upvoted": True, "upvotes": 1}
    other = make_api_user(client.app.state.engine, "grace")
    assert client.post(url, headers=other.auth).json()["upvotes"] == 2
    assert client.get("/api/papers/2503.11731").json()["upvotes"] == 2
    r = client.delete(url, headers=api_user.auth)
    assert r.json() == {"id": "2503.11731", "upvoted": False, "upvotes": 1}
    assert client.delete(url, headers=api_user.auth).json()["upvotes"] == 1


def test_vote_invalidates_the_etag_of_the_listing(client, api_user):
    # By local upvotes: a vote cast today does not belong to 2025-03-18's trending window.
    first = client.get("/api/daily_papers", params={"date": "2025-03-18", "sort": "upvotes"})
    etag = first.headers["etag"]
    assert client.get("/api/daily_papers", params={"date": "2025-03-18", "sort": "upvotes"},
                      headers={"If-None-Match": etag}).status_code == 304
    client.post("/api/papers/2503.11731/vote", headers=api_user.auth)
    after = client.get("/api/daily_papers", params={"date": "2025-03-18", "sort": "upvotes"},
                       headers={"If-None-Match": etag})
    assert after.status_code == 200 and after.headers["etag"] != etag
    assert after.json()[0]["paper"]["upvotes"] == 1


def test_vote_on_unknown_or_malformed_paper(client, api_user):
    assert client.post("/api/papers/2501.00000/vote", headers=api_user.auth).status_code == 404
    assert client.post("/api/papers/not-an-id/vote", headers=api_user.auth).status_code == 404


def test_revoked_token_and_disabled_user_are_refused(client, corpus, api_user):
    assert client.get("/api/me", headers=api_user.auth).status_code == 200
    with write_transaction(corpus) as conn:
        set_user_disabled(conn, api_user.id, True)
    assert client.get("/api/me", headers=api_user.auth).status_code == 401
    with write_transaction(corpus) as conn:
        set_user_disabled(conn, api_user.id, False)
        revoke_token(conn, api_user.id, 1)
    assert client.get("/api/me", headers=api_user.auth).status_code == 401


def test_me_never_shows_email_or_password_hash(client, api_user):
    r = client.get("/api/me", headers=api_user.auth)
    body = r.json()
    assert body["user"] == "ada" and body["numUpvotes"] == 0
    assert "example.org" not in r.text and "argon2" not in r.text
    assert body["feedUrl"].startswith("http://testserver/feeds/users/ada/")
    assert r.headers["cache-control"].startswith("private")


def test_submit_known_paper_joins_todays_feed(client, api_user):
    r = client.post("/api/submissions", json={"id": "https://arxiv.org/abs/2503.13051v2"},
                    headers=api_user.auth)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["id"] == "2503.13051" and body["submittedBy"]["user"] == "ada"
    assert body["feedDay"] == NEWEST_DAY.isoformat()
    day = client.get("/api/daily_papers", params={"date": NEWEST_DAY.isoformat(), "limit": 100})
    item = next(i for i in day.json() if i["paper"]["id"] == "2503.13051")
    assert item["submittedBy"]["user"] == "ada"
    assert item["paper"]["submittedOnDailyBy"]["fullname"] == "ada"
    mine = client.get("/api/daily_papers", params={"submitter": "ada"}).json()
    assert [i["paper"]["id"] for i in mine] == ["2503.13051"]
    listed = client.get("/api/submissions", params={"submitter": "ada"}).json()
    assert [s["id"] for s in listed] == ["2503.13051"]
    again = client.post("/api/submissions", json={"id": "2503.13051"}, headers=api_user.auth)
    assert again.status_code == 409 and "Already submitted" in again.json()["error"]


def test_withdraw_submission(client, api_user):
    client.post("/api/submissions", json={"id": TRICKY_ID}, headers=api_user.auth)
    other = make_api_user(client.app.state.engine, "grace")
    assert client.delete(f"/api/submissions/{TRICKY_ID}", headers=other.auth).status_code == 404
    assert client.delete(f"/api/submissions/{TRICKY_ID}", headers=api_user.auth).status_code == 204
    assert client.get("/api/submissions").json() == []


def test_submit_rejects_bad_ids_and_bodies(client, api_user):
    for body in ({"id": "nonsense"}, {"id": ""}, {}, {"id": 5}, {"id": "x", "extra": 1}):
        r = client.post("/api/submissions", json=body, headers=api_user.auth)
        assert r.status_code == 400, body
        assert set(r.json()) == {"error"}
    r = client.post("/api/submissions", content=b"{not json", headers={
        **api_user.auth, "Content-Type": "application/json"})
    assert r.status_code == 400


def test_collections_lifecycle_and_privacy(client, api_user):
    auth = api_user.auth
    r = client.post("/api/collections", json={"name": "Splats", "public": False}, headers=auth)
    assert r.status_code == 201
    cid = r.json()["id"]
    for arxiv_id in ("2503.11979", TRICKY_ID, "2503.11979"):
        r = client.post(f"/api/collections/{cid}/papers", json={"id": arxiv_id}, headers=auth)
        assert r.status_code == 200
    assert [p["id"] for p in r.json()["papers"]] == ["2503.11979", TRICKY_ID]
    # private: invisible to others, visible to the owner
    assert client.get(f"/api/collections/{cid}").status_code == 404
    assert client.get(f"/api/collections/{cid}", headers=auth).json()["numPapers"] == 2
    assert client.get("/api/collections", params={"owner": "ada"}).json() == []
    assert len(client.get("/api/collections", params={"owner": "ada"}, headers=auth).json()) == 1
    other = make_api_user(client.app.state.engine, "grace")
    r = client.post(f"/api/collections/{cid}/papers", json={"id": "2503.11731"},
                    headers=other.auth)
    assert r.status_code == 404
    r = client.delete(f"/api/collections/{cid}/papers/2503.11979", headers=auth)
    assert [p["id"] for p in r.json()["papers"]] == [TRICKY_ID]
    assert client.delete(f"/api/collections/{cid}", headers=other.auth).status_code == 404
    assert client.delete(f"/api/collections/{cid}", headers=auth).status_code == 204
    assert client.get(f"/api/collections/{cid}", headers=auth).status_code == 404


def test_public_collection_is_readable_by_anyone(client, api_user):
    r = client.post("/api/collections", json={"name": "Reading <list>", "public": True},
                    headers=api_user.auth)
    cid = r.json()["id"]
    client.post(f"/api/collections/{cid}/papers", json={"id": "2503.11731"},
                headers=api_user.auth)
    public = client.get(f"/api/collections/{cid}")
    assert public.status_code == 200 and public.json()["name"] == "Reading <list>"
    assert public.json()["owner"]["user"] == "ada"
    listed = client.get("/api/collections", params={"owner": "ada"}).json()
    assert [c["id"] for c in listed] == [cid]


def test_votes_are_rate_limited_per_user(client, api_user):
    client.app.state.limiter.limits["vote"] = (3, 60.0)
    codes = [client.post("/api/papers/2503.11731/vote", headers=api_user.auth).status_code
             for _ in range(5)]
    assert codes == [200, 200, 200, 429, 429]
    r = client.post("/api/papers/2503.11731/vote", headers=api_user.auth)
    assert r.json()["error"] and int(r.headers["retry-after"]) > 0


def test_submitting_an_unknown_paper_fetches_it_from_arxiv(settings, corpus, replay):
    from fastapi.testclient import TestClient

    from .factories import ARXIV_REPLY, build_site
    from .replay import Reply

    replay.add("/api/query", Reply(body=ARXIV_REPLY.read_bytes()), query_contains="2503.12345")
    replay.add("/api/query", Reply(body=b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/'
                                   b'2005/Atom"><opensearch:totalResults xmlns:opensearch='
                                   b'"http://a9.com/-/spec/opensearch/1.1/">0</opensearch:'
                                   b'totalResults></feed>'), query_contains="2503.54321")
    replay.add("/api/query", Reply(status=503, body=b"down"), query_contains="2503.77777")
    user = make_api_user(corpus)
    app = build_site(settings, corpus, arxiv_api_url=replay.url + "/api/query").app
    with TestClient(app) as client:
        r = client.post("/api/submissions", json={"id": "2503.12345"}, headers=user.auth)
        assert r.status_code == 201, r.text
        assert "id_list=2503.12345" in replay.log[0].query
        assert r.json()["paper"]["title"] == "Fetched On Demand: A Paper the Site Did Not Know Yet"
        assert client.get("/api/papers/2503.12345").json()["submittedOnDailyBy"]["user"] == "ada"
        missing = client.post("/api/submissions", json={"id": "2503.54321"}, headers=user.auth)
        assert missing.status_code == 404 and "arXiv has no paper" in missing.json()["error"]
        down = client.post("/api/submissions", json={"id": "2503.77777"}, headers=user.auth)
        assert down.status_code == 502 and down.json()["error"]
