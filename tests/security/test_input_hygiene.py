"""Issue 11 item 11: input hygiene everywhere.

Only http(s) URLs reach an href; NUL bytes give 400, never a 500; account emails are
validated for real; manage tokens name their address; the CSRF placeholder cannot be
triggered from user content; KaTeX runs bounded."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert, select, update

from paperfeed.ingest.hf_daily import paper_from_daily
from paperfeed.mail import tokens
from paperfeed.store.comments import add_comment
from paperfeed.store.community_schema import users
from paperfeed.store.database import write_transaction
from paperfeed.store.mail_schema import subscriptions
from paperfeed.store.schema import paper_links, paper_signals, papers
from paperfeed.store.subscriptions import Preferences, delete_subscription, upsert_subscription
from paperfeed.web.security import CSRF_PLACEHOLDER

from ..factories import Site, csrf_of, make_user

PAPER = "2503.11742"
EVIL = ["javascript:alert(document.cookie)", "data:text/html,<script>alert(1)</script>",
        " JaVaScRiPt:alert(1)", "vbscript:msgbox(1)"]


def test_only_http_urls_reach_an_href(site: Site, client: TestClient) -> None:
    # at ingest: Hugging Face fields are checked like every other link
    paper = paper_from_daily({"paper": {"id": "2503.99999", "title": "T", "summary": "S",
                                        "githubRepo": EVIL[0], "projectPage": EVIL[1],
                                        "publishedAt": "2025-03-18T00:00:00Z"}},
                             dt.date(2025, 3, 18))
    assert [link.url for link in paper.links] == []
    assert not {s.kind for s in paper.signals} & {"github_repo", "project_page"}
    # and where links are built: rows stored before the check (or by another tool)
    with write_transaction(site.engine) as conn:
        pid = conn.execute(select(papers.c.id).where(papers.c.arxiv_id == PAPER)).scalar_one()
        conn.execute(insert(paper_signals), [
            {"paper_id": pid, "source": "hf", "kind": "github_repo", "value": EVIL[0]},
            {"paper_id": pid, "source": "hf", "kind": "project_page", "value": EVIL[2]}])
        conn.execute(insert(paper_links), [{"paper_id": pid, "url": EVIL[1], "kind": "code"},
                                           {"paper_id": pid, "url": EVIL[3], "kind": "project"}])
    for path in ["/", f"/papers/{PAPER}", f"/api/papers/{PAPER}", "/api/daily_papers",
                 f"/papers/{PAPER}.md", "/feeds/daily.atom", "/trending",
                 "/api/papers/search?q=splatting&mode=keyword"]:
        body = client.get(path).text.lower()
        for bad in ("javascript:", "data:text/html", "vbscript:"):
            assert bad not in body, (path, bad)


def test_nul_bytes_give_400_never_500(site: Site, client: TestClient) -> None:
    token = csrf_of(client, "/login")
    for path in ["/search?q=a%00b", "/papers/2503.11742%00", "/authors/Ada%00Lovelace",
                 "/categories/cs.CV%00", "/?date=2025-03-20%00", "/users/a%00b",
                 "/api/papers/search?q=%00", "/feeds/authors/a%00.atom"]:
        response = client.get(path)
        assert response.status_code == 400, (path, response.status_code)
    for path, data in [("/login", {"email": "a\x00@example.org", "password": "x" * 12}),
                       ("/signup", {"username": "nul\x00", "email": "n@example.org",
                                    "password": "x" * 12}),
                       ("/subscribe", {"email": "n\x00@example.org"})]:
        response = client.post(path, data={"csrf_token": token, **data})
        assert response.status_code == 400, (path, response.status_code)
    response = client.post("/api/collections", content=json.dumps({"name": "a\x00"}),
                           headers={"content-type": "application/json"})
    assert response.status_code == 400


def test_account_emails_are_validated_for_real(site: Site, client: TestClient) -> None:
    for email in ["a,b@example.org", "a@b@example.org", '"a b"@example.org',
                  "victim@example.org,attacker@example.net"]:
        token = csrf_of(client, "/signup")
        response = client.post("/signup", data={
            "csrf_token": token, "username": "mallory", "email": email,
            "password": "correct horse battery"})
        assert response.status_code == 400, email
    with site.engine.connect() as conn:
        assert conn.execute(select(users.c.email)).scalars().all() == []


def _manage_token(site: Site, sub_id: int, email: str) -> str:
    try:
        return tokens.unsubscribe_token(site.settings, sub_id, email)  # type: ignore[call-arg]
    except TypeError:  # the signature before tokens named the address
        return tokens.unsubscribe_token(site.settings, sub_id)  # type: ignore[call-arg]


def test_a_manage_token_never_acts_on_someone_elses_subscription(site: Site) -> None:
    with write_transaction(site.engine) as conn:
        alice, _ = upsert_subscription(conn, "alice@example.org", Preferences(), confirmed=True)
    old_link = _manage_token(site, alice.id, alice.email)
    with write_transaction(site.engine) as conn:
        delete_subscription(conn, "alice@example.org")
        bob, _ = upsert_subscription(conn, "bob@example.org", Preferences(), confirmed=True)
        # the id comes back (SQLite reuses the highest rowid; any import may set it)
        conn.execute(update(subscriptions).where(subscriptions.c.id == bob.id)
                     .values(id=alice.id))
    anonymous = TestClient(site.app)
    page = anonymous.get(f"/subscription/{old_link}")
    assert "bob@example.org" not in page.text and page.status_code >= 400
    assert anonymous.post(f"/unsubscribe/{old_link}").status_code >= 400
    with site.engine.connect() as conn:
        status = conn.execute(select(subscriptions.c.status)
                              .where(subscriptions.c.email == "bob@example.org")).scalar_one()
    assert status == "active"


def test_the_csrf_placeholder_cannot_be_triggered_from_user_content(site: Site) -> None:
    user = make_user(site, "commenter")
    with write_transaction(site.engine) as conn:
        pid = conn.execute(select(papers.c.id).where(papers.c.arxiv_id == PAPER)).scalar_one()
        add_comment(conn, pid, user.id, f'steal https://evil.example/?t={CSRF_PLACEHOLDER} '
                                        f'value="{CSRF_PLACEHOLDER}"')
    visitor = TestClient(site.app)
    token = csrf_of(visitor, "/login")  # this visitor's token (cookie-bound)
    for _ in range(2):  # rendered, then served from the anonymous page cache
        html = visitor.get(f"/papers/{PAPER}").text
        assert "evil.example" in html
        assert token not in html  # the comment did not turn into the visitor's token
        assert CSRF_PLACEHOLDER in html  # it stays the text the user wrote


def test_katex_runs_with_size_and_expansion_limits(client: TestClient) -> None:
    script = (Path(__file__).parents[2] / "paperfeed" / "web" / "static" / "math.js").read_text()
    options = script[script.index("renderMathInElement(el"):]
    size = re.search(r"maxSize:\s*(\d+)", options)
    expand = re.search(r"maxExpand:\s*(\d+)", options)
    assert size and 0 < int(size.group(1)) <= 50
    assert expand and 0 < int(expand.group(1)) <= 1000
    assert "trust: false" in options
    assert '/static/math.js' in client.get(f"/papers/{PAPER}").text


def test_comments_and_collections_are_capped_per_user_and_paged(
        site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    from paperfeed.store import collections as collection_store
    from paperfeed.store import comments as comment_store
    from paperfeed.web.pages import collections as collection_pages
    from paperfeed.web.pages import papers as paper_pages

    monkeypatch.setattr(comment_store, "MAX_COMMENTS_PER_USER_PER_PAPER", 3)
    monkeypatch.setattr(collection_store, "MAX_COLLECTIONS_PER_USER", 2)
    monkeypatch.setattr(collection_store, "MAX_PAPERS_PER_COLLECTION", 2)
    monkeypatch.setattr(paper_pages, "COMMENTS_PER_PAGE", 2)
    monkeypatch.setattr(collection_pages, "PAPERS_PER_PAGE", 1)
    user = make_user(site, "prolific")
    with write_transaction(site.engine) as conn:
        pid = conn.execute(select(papers.c.id).where(papers.c.arxiv_id == PAPER)).scalar_one()
        others = conn.execute(
            select(papers.c.id).where(papers.c.id != pid).limit(2)
        ).scalars().all()
        for n in range(3):
            add_comment(conn, pid, user.id, f"comment number {n}")
        with pytest.raises(comment_store.CommentError):
            add_comment(conn, pid, user.id, "one too many")
        first = collection_store.create_collection(conn, user.id, "one", is_public=True)
        collection_store.create_collection(conn, user.id, "two")
        with pytest.raises(collection_store.CollectionError):
            collection_store.create_collection(conn, user.id, "three")
        collection_store.add_to_collection(conn, first, user.id, pid)
        collection_store.add_to_collection(conn, first, user.id, others[0])
        with pytest.raises(collection_store.CollectionError):
            collection_store.add_to_collection(conn, first, user.id, others[1])
    visitor = TestClient(site.app)
    page_one = visitor.get(f"/papers/{PAPER}").text
    page_two = visitor.get(f"/papers/{PAPER}?cp=2").text
    assert "comment number 0" in page_one and "comment number 1" in page_one
    assert "comment number 2" not in page_one and "?cp=2" in page_one
    assert "comment number 2" in page_two and "comment number 0" not in page_two
    collection_one = visitor.get(f"/collections/{first}").text
    collection_two = visitor.get(f"/collections/{first}?p=2").text
    assert "?p=2" in collection_one and "?p=1" in collection_two  # one paper per page


def test_public_ids_are_never_reused(site: Site) -> None:
    from paperfeed.store import collections as collection_store
    from paperfeed.store import comments as comment_store

    user = make_user(site, "deleter")
    with write_transaction(site.engine) as conn:
        pid = conn.execute(select(papers.c.id).where(papers.c.arxiv_id == PAPER)).scalar_one()
        first_sub, _ = upsert_subscription(conn, "gone@example.org", Preferences(),
                                           confirmed=True)
        delete_subscription(conn, "gone@example.org")  # the newest row goes
        next_sub, _ = upsert_subscription(conn, "new@example.org", Preferences(),
                                          confirmed=True)
        first_comment = add_comment(conn, pid, user.id, "soon deleted")
        comment_store.delete_comment(conn, first_comment, user.id)
        next_comment = add_comment(conn, pid, user.id, "a new one")
        first_collection = collection_store.create_collection(conn, user.id, "old")
        collection_store.delete_collection(conn, first_collection, user.id)
        next_collection = collection_store.create_collection(conn, user.id, "new")
    assert next_sub.id > first_sub.id
    assert next_comment > first_comment
    assert next_collection > first_collection
