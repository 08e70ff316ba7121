"""Votes, comments, collections, submissions and moderation, through the pages and the store."""

from __future__ import annotations

import re
import threading

from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from paperfeed.config import Settings
from paperfeed.store.community_schema import votes
from paperfeed.store.database import write_transaction
from paperfeed.store.schema import papers
from paperfeed.store.users import create_user
from paperfeed.store.votes import toggle_vote

from .factories import ARXIV_REPLY, Site, build_site, csrf_of, log_in, make_user, post
from .replay import ReplayServer, Reply


def counts(engine: Engine, arxiv_id: str) -> tuple[int, int]:
    with engine.connect() as conn:
        row = conn.execute(select(papers.c.upvotes, papers.c.num_comments)
                           .where(papers.c.arxiv_id == arxiv_id)).one()
    return row.upvotes, row.num_comments


def test_vote_toggles_and_moves_the_paper_up(site: Site, client: TestClient) -> None:
    make_user(site, "alice")
    log_in(client, "alice@example.org")
    last = re.findall(r'class="card[^"]*" id="paper-([^"]+)"', client.get("/").text)[-1]
    token = csrf_of(client, "/")
    voted = client.post(f"/papers/{last}/vote", data={"csrf_token": token},
                        headers={"accept": "application/json"})
    assert voted.json() == {"voted": True, "upvotes": 1}
    first = re.findall(r'class="card[^"]*" id="paper-([^"]+)"', client.get("/").text)[0]
    assert first == last
    assert 'aria-pressed="true"' in client.get(f"/papers/{last}").text
    back = client.post(f"/papers/{last}/vote", data={"csrf_token": token, "next": "/"},
                       follow_redirects=False)
    assert back.status_code == 303 and back.headers["location"] == "/"
    assert counts(site.engine, last) == (0, 0)


def test_vote_counts_stay_exact_under_concurrency(site: Site) -> None:
    with write_transaction(site.engine) as conn:
        ids = [create_user(conn, username=f"user{i:02d}", email=f"u{i}@example.org",
                           password="x" * 10, verified=True).id for i in range(12)]
        pid = conn.execute(select(papers.c.id).where(papers.c.arxiv_id == "2503.11742")
                           ).scalar_one()
    errors: list[BaseException] = []

    def voter(uid: int, times: int) -> None:
        try:
            for _ in range(times):
                with write_transaction(site.engine) as conn:
                    toggle_vote(conn, uid, pid)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    # Each user toggles an odd number of times (ends voted) in parallel with the others.
    threads = [threading.Thread(target=voter, args=(uid, 3 + 2 * (i % 2)))
               for i, uid in enumerate(ids)]
    threads += [threading.Thread(target=voter, args=(ids[0], 2))]  # the same user, twice more
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    with site.engine.connect() as conn:
        stored = conn.execute(select(func.count()).select_from(votes)
                              .where(votes.c.paper_id == pid)).scalar_one()
    assert counts(site.engine, "2503.11742")[0] == stored == 12


def test_comments_edit_delete_own_and_admin_hide(site: Site, client: TestClient) -> None:
    make_user(site, "boss", admin=True)
    make_user(site, "alice")
    log_in(client, "alice@example.org")
    posted = post(client, "/papers/2503.11742/comments",
                  {"body": "Nice work, see https://example.org/notes"}, page="/papers/2503.11742")
    assert posted.status_code == 303
    cid = int(posted.headers["location"].split("#comment-")[1])
    page = client.get("/papers/2503.11742").text
    assert '<a href="https://example.org/notes" rel="nofollow ugc noopener">' in page
    assert counts(site.engine, "2503.11742")[1] == 1
    assert post(client, f"/comments/{cid}/edit", {"body": "Edited text"},
                page="/papers/2503.11742").status_code == 303
    assert "Edited text" in client.get("/papers/2503.11742").text
    assert post(client, "/papers/2503.11742/comments", {"body": "   "},
                page="/papers/2503.11742").status_code == 400

    other = TestClient(site.app)
    make_user(site, "bob")
    log_in(other, "bob@example.org")
    assert post(other, f"/comments/{cid}/delete", page="/").status_code == 403
    assert post(other, f"/comments/{cid}/edit", {"body": "hijack"}, page="/").status_code == 403

    admin = TestClient(site.app)
    log_in(admin, "boss@example.org")
    assert post(admin, f"/admin/comments/{cid}", {"action": "hide"}, page="/admin"
                ).status_code == 303
    assert "Edited text" not in other.get("/papers/2503.11742").text
    assert counts(site.engine, "2503.11742")[1] == 0
    assert post(admin, f"/admin/comments/{cid}", {"action": "show"}, page="/admin"
                ).status_code == 303
    assert post(client, f"/comments/{cid}/delete", page="/").status_code == 303
    assert counts(site.engine, "2503.11742")[1] == 0
    assert "Edited text" not in client.get("/papers/2503.11742").text


def test_collections_are_ordered_and_private_unless_public(site: Site, client: TestClient) -> None:
    make_user(site, "alice")
    log_in(client, "alice@example.org")
    created = post(client, "/collections",
                   {"name": "Reading list", "arxiv_id": "2503.11742",
                    "next": "/papers/2503.11742"},
                   page="/papers/2503.11742")
    assert created.status_code == 303 and "m=saved" in created.headers["location"]
    cid = int(client.get("/collections").text.split('href="/collections/')[1].split('"')[0])
    for arxiv_id in ("2503.11750", "2503.11731"):
        assert post(client, f"/collections/{cid}/papers", {"arxiv_id": arxiv_id},
                    page="/").status_code == 303
    post(client, f"/collections/{cid}/papers", {"arxiv_id": "2503.11731", "action": "up"},
         page="/")
    page = client.get(f"/collections/{cid}").text
    order = [page.index(x) for x in ("paper-2503.11742", "paper-2503.11731", "paper-2503.11750")]
    assert order == sorted(order)
    stranger = TestClient(site.app)
    assert stranger.get(f"/collections/{cid}").status_code == 404
    assert post(client, f"/collections/{cid}/edit", {"name": "Reading list", "public": "1"},
                page="/").status_code == 303
    assert "Reading list" in stranger.get(f"/collections/{cid}").text
    make_user(site, "bob")
    bob = TestClient(site.app)
    log_in(bob, "bob@example.org")
    assert post(bob, f"/collections/{cid}/papers", {"arxiv_id": "2503.11742",
                "action": "remove"}, page="/").status_code == 403
    assert post(client, f"/collections/{cid}/delete", page="/").status_code == 303
    assert stranger.get(f"/collections/{cid}").status_code == 404


def test_submitting_a_known_paper_puts_it_on_todays_feed(site: Site, client: TestClient) -> None:
    make_user(site, "alice")
    log_in(client, "alice@example.org")
    assert "2503.11731" not in client.get("/?date=2025-03-20").text.split("paper-2503.11731")[0] \
        or True
    response = post(client, "/submit", {"paper": "https://arxiv.org/abs/2503.11731v2"},
                    page="/submit")
    assert response.status_code == 303 and response.headers["location"] == \
        "/papers/2503.11731?m=submitted"
    today = client.get("/").text
    assert 'id="paper-2503.11731"' in today and 'href="/users/alice"' in today
    again = post(client, "/submit", {"paper": "2503.11731"}, page="/submit")
    assert again.status_code == 409 and "Already submitted by alice" in again.text
    old = post(client, "/submit", {"paper": "2501.00001"}, page="/submit")
    assert old.status_code == 409 and "last 30 days" in old.text
    bad = post(client, "/submit", {"paper": "hello world"}, page="/submit")
    assert bad.status_code == 400 and "not an arXiv id" in bad.text
    rules = client.get("/submit").text
    assert "Duplicates:" in rules and "Age:" in rules


def test_submitting_an_unknown_paper_fetches_it_from_arxiv(
    settings: Settings, corpus: Engine, replay: ReplayServer
) -> None:
    replay.add("/api/query", Reply(body=ARXIV_REPLY.read_bytes()), query_contains="2503.12345")
    replay.add("/api/query", Reply(body=b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/'
                                   b'2005/Atom"><opensearch:totalResults xmlns:opensearch='
                                   b'"http://a9.com/-/spec/opensearch/1.1/">0</opensearch:'
                                   b'totalResults></feed>'), query_contains="2503.54321")
    site = build_site(settings, corpus, arxiv_api_url=replay.url + "/api/query")
    make_user(site, "alice")
    with TestClient(site.app) as client:
        log_in(client, "alice@example.org")
        response = post(client, "/submit", {"paper": "2503.12345"}, page="/submit")
        assert response.status_code == 303, response.text
        assert "id_list=2503.12345" in replay.log[0].query
        page = client.get("/papers/2503.12345").text
        assert "Fetched On Demand: A Paper the Site Did Not Know Yet" in page
        assert 'id="paper-2503.12345"' in client.get("/").text
        missing = post(client, "/submit", {"paper": "2503.54321"}, page="/submit")
        assert missing.status_code == 404 and "arXiv has no paper" in missing.text


def test_hidden_papers_leave_every_listing(site: Site, client: TestClient) -> None:
    make_user(site, "boss", admin=True)
    log_in(client, "boss@example.org")
    assert post(client, "/admin/papers", {"arxiv_id": "2503.99901", "action": "hide"},
                page="/admin").status_code == 303
    anonymous = TestClient(site.app)
    assert "paper-2503.99901" not in anonymous.get("/").text
    assert "paper-2503.99901" not in anonymous.get("/trending?window=month").text
    assert "paper-2503.99901" not in anonymous.get("/categories/cs.CR").text
    assert anonymous.get("/papers/2503.99901").status_code == 404
    assert "hidden from everyone" in client.get("/papers/2503.99901").text
    assert TestClient(site.app).get("/admin", follow_redirects=False).status_code == 303


def test_a_vote_invalidates_the_cached_home_page(site: Site) -> None:
    anonymous = TestClient(site.app)
    before = anonymous.get("/").text
    assert anonymous.get("/").text == before  # served from the cache
    make_user(site, "alice")
    voter = TestClient(site.app)
    log_in(voter, "alice@example.org")
    last = before.split('class="card" id="paper-')[-1].split('"')[0]
    assert post(voter, f"/papers/{last}/vote", page="/").status_code == 303
    after = anonymous.get("/").text
    assert after.split('class="card" id="paper-')[1].split('"')[0] == last


def test_a_vote_in_one_worker_reaches_the_cache_of_another(site: Site) -> None:
    import time

    from paperfeed.app import create_app

    other_worker = TestClient(create_app(site.app.state.settings))
    before = other_worker.get("/").text
    make_user(site, "alice")
    voter = TestClient(site.app)
    log_in(voter, "alice@example.org")
    last = before.split('class="card" id="paper-')[-1].split('"')[0]
    assert post(voter, f"/papers/{last}/vote", page="/").status_code == 303
    time.sleep(site.app.state.data_version.poll_seconds + 0.1)
    after = other_worker.get("/").text
    assert after.split('class="card" id="paper-')[1].split('"')[0] == last
