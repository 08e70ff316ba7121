"""Atom feeds: valid for feedparser (bozo == 0), escaping of LaTeX, & and <, every kind."""

from __future__ import annotations

import feedparser
import pytest

from paperfeed.store.collections import add_to_collection, create_collection
from paperfeed.store.database import write_transaction
from paperfeed.store.schema import papers
from paperfeed.web.feeds.atom import AtomEntry, AtomFeed, render_atom, xml_text

from .factories import TRICKY_ABSTRACT, TRICKY_ID, TRICKY_TITLE, make_api_user, set_upvotes

pytestmark = pytest.mark.corpus("api")


def parse(response):
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/atom+xml")
    parsed = feedparser.parse(response.content)
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    return parsed


def entry_for(parsed, arxiv_id):
    return next(e for e in parsed.entries if e.id.endswith("/papers/" + arxiv_id))


def test_daily_feed_carries_abstract_authors_categories_links(client):
    parsed = parse(client.get("/feeds/daily.atom"))
    assert parsed.feed.title == "paperfeed: daily papers"
    assert len(parsed.entries) == 5
    entry = entry_for(parsed, TRICKY_ID)
    assert entry.title == TRICKY_TITLE
    assert entry.summary == TRICKY_ABSTRACT
    assert [a.name for a in entry.authors] == ["Zoë O'Brien & Co", "Ada Lovelace"]
    assert [t.term for t in entry.tags] == ["cs.CL", "cs.LG"]
    hrefs = {link.href for link in entry.links}
    assert "https://arxiv.org/abs/2503.99999" in hrefs
    assert "https://arxiv.org/pdf/2503.99999" in hrefs
    assert "https://example.org/tricky?a=1&b=2" in hrefs
    assert entry.link == "http://testserver/papers/2503.99999"
    # the HTML content is escaped once: the <script> of the title is text, not markup
    assert "<script>" not in entry.content[0].value
    assert "&lt;b&gt;tags&lt;/b&gt;" in entry.content[0].value


def test_daily_feed_of_a_given_day_and_bad_day(client):
    parsed = parse(client.get("/feeds/daily.atom", params={"date": "2025-03-18"}))
    assert len(parsed.entries) == 9
    bad = client.get("/feeds/daily.atom", params={"date": "2025-02-30"})
    assert bad.status_code == 400 and "error" in bad.json()


def test_trending_feed_follows_votes(client, corpus):
    set_upvotes(corpus, {"2503.16516": 40})
    parsed = parse(client.get("/feeds/trending.atom", params={"window": "week"}))
    assert parsed.entries[0].id.endswith("2503.16516")
    assert client.get("/feeds/trending.atom", params={"window": "year"}).status_code == 400


def test_category_feed(client):
    parsed = parse(client.get("/feeds/categories/cs.CL.atom"))
    assert parsed.entries and all(
        "cs.CL" in [t.term for t in e.tags] for e in parsed.entries
    )
    assert client.get("/feeds/categories/68T50.atom").status_code == 404


def test_author_feed_matches_spelling_variants(client):
    parsed = parse(client.get("/feeds/authors/ada lovelace.atom"))
    assert [e.id.rsplit("/", 1)[1] for e in parsed.entries] == [TRICKY_ID]
    assert parsed.feed.title == "paperfeed: papers by Ada Lovelace"
    missing = client.get("/feeds/authors/Nobody Atall.atom")
    assert missing.status_code == 404 and missing.json()["error"]


def test_public_collection_feed_and_private_is_404(client, corpus):
    user = make_api_user(corpus, "grace")
    with write_transaction(corpus) as conn:
        ids = dict(conn.execute(
            papers.select().with_only_columns(papers.c.arxiv_id, papers.c.id)
        ).all())
        public = create_collection(conn, user.id, "Splats & <SLAM>", is_public=True)
        private = create_collection(conn, user.id, "secret", is_public=False)
        for arxiv_id in ("2503.11979", TRICKY_ID):
            add_to_collection(conn, public, user.id, ids[arxiv_id])
        add_to_collection(conn, private, user.id, ids["2503.11979"])
    parsed = parse(client.get(f"/feeds/collections/{public}.atom"))
    assert parsed.feed.title == "paperfeed: Splats & <SLAM> (collection by grace)"
    assert [e.id.rsplit("/", 1)[1] for e in parsed.entries] == ["2503.11979", TRICKY_ID]
    assert client.get(f"/feeds/collections/{private}.atom").status_code == 404
    assert client.get("/feeds/collections/999999.atom").status_code == 404
    assert client.get("/feeds/collections/abc.atom").status_code == 400


def test_hidden_papers_leave_every_feed(client, corpus):
    with write_transaction(corpus) as conn:
        conn.execute(papers.update().where(papers.c.arxiv_id == TRICKY_ID).values(hidden=True))
    for url in ("/feeds/daily.atom", "/feeds/categories/cs.CL.atom", "/feeds/trending.atom"):
        parsed = parse(client.get(url))
        assert all(not e.id.endswith(TRICKY_ID) for e in parsed.entries)


def test_feeds_answer_304_to_a_matching_etag(client):
    first = client.get("/feeds/daily.atom")
    again = client.get("/feeds/daily.atom", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304 and again.content == b""


@pytest.mark.parametrize("text", ["\x00\x0b\x1f", "a\ud800b", "]]>", "&amp;"])
def test_render_atom_survives_characters_xml_cannot_carry(text):
    import datetime as dt

    feed = AtomFeed(id="urn:x", title=text, self_url="http://x/f?a=1&b=2", site_url="http://x/")
    feed.entries.append(AtomEntry(
        id="urn:y", title=text, updated=dt.datetime(2025, 1, 1), summary=text,
        authors=[text], links=[], categories=[],
    ))
    parsed = feedparser.parse(render_atom(feed))
    assert parsed.bozo == 0
    assert parsed.entries[0].title == xml_text(text)


def test_search_feed(client):
    parsed = parse(client.get("/feeds/search.atom", params={"q": "gaussian splatting slam"}))
    assert parsed.entries[0].id.endswith("2503.11979")
    assert "gaussian splatting slam" in parsed.feed.title
    assert client.get("/feeds/search.atom").status_code == 400


def test_personal_feed_needs_the_secret_url(client, api_user):
    me = client.get("/api/me", headers=api_user.auth).json()
    url = me["feedUrl"].removeprefix("http://testserver")
    r = client.get(url)
    parsed = parse(r)
    assert parsed.entries  # a user without signals gets the week's trending papers
    assert r.headers["cache-control"].startswith("private")
    assert "/feeds/users/ada/" in parsed.feed.links[0].href
    secret = url.rsplit("/", 1)[1].removesuffix(".atom")
    assert secret not in parsed.feed.id
    wrong = url.replace(secret, "0" * 32)
    assert client.get(wrong).status_code == 404
    assert client.get("/feeds/users/nobody/" + secret + ".atom").status_code == 404


def test_personal_feed_follows_upvotes(client, api_user):
    client.post("/api/papers/2503.11979/vote", headers=api_user.auth)
    url = client.get("/api/me", headers=api_user.auth).json()["feedUrl"]
    parsed = parse(client.get(url.removeprefix("http://testserver")))
    ids = [e.id.rsplit("/", 1)[1] for e in parsed.entries]
    assert "2503.11979" not in ids  # already upvoted: not recommended again
    assert "upvoted" in parsed.entries[0].content[0].value
