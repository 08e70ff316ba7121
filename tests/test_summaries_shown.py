"""TL;DR and keywords reach the JSON API, cards, paper pages and Atom entries, escaped."""

from __future__ import annotations

import datetime as dt
import json

import feedparser
import pytest
from sqlalchemy import select

from paperfeed.index.summaries import METHOD, store_summaries
from paperfeed.store.database import write_transaction
from paperfeed.store.schema import papers

from .factories import TRICKY_ID

pytestmark = pytest.mark.corpus("api")

TLDR = "We propose <script>alert(1)</script> & co for x < y."
KEYWORDS = ["hubness & <b>bold</b>", "image captions"]


def add_summary(engine, arxiv_id, source=METHOD):
    with write_transaction(engine) as conn:
        pid = conn.execute(select(papers.c.id).where(papers.c.arxiv_id == arxiv_id)).scalar_one()
        store_summaries(conn, [{
            "paper_id": pid, "method": METHOD, "text_hash": "x" * 32, "tldr": TLDR,
            "tldr_source": source, "keywords": json.dumps(KEYWORDS),
            "keywords_source": METHOD, "computed_at": dt.datetime.now(dt.UTC)}])


def test_api_fills_ai_summary_and_keywords_with_their_source(client, corpus):
    add_summary(corpus, TRICKY_ID, source="hf")
    item = next(i for i in client.get("/api/daily_papers").json()
                if i["paper"]["id"] == TRICKY_ID)
    assert item["ai_summary"] == TLDR == item["paper"]["ai_summary"]
    assert item["ai_keywords"] == KEYWORDS == item["paper"]["ai_keywords"]
    assert item["paper"]["ai_summary_source"] == "hf"
    assert item["paper"]["ai_keywords_source"] == METHOD
    detail = client.get(f"/api/papers/{TRICKY_ID}").json()
    assert detail["ai_summary"] == TLDR and detail["ai_keywords"] == KEYWORDS
    others = [i for i in client.get("/api/daily_papers").json() if i["paper"]["id"] != TRICKY_ID]
    assert others and all(i["ai_summary"] is None and i["ai_keywords"] == [] for i in others)


def test_cards_paper_page_and_atom_show_them_escaped(client, corpus):
    add_summary(corpus, TRICKY_ID)
    for path in ("/", f"/papers/{TRICKY_ID}"):
        html = client.get(path).text
        assert "TL;DR" in html
        assert "<script>alert(1)</script>" not in html
        assert "We propose &lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in html
        assert 'href="/search?q=image%20captions"' in html
        assert "hubness &amp; &lt;b&gt;bold&lt;/b&gt;</a>" in html
    parsed = feedparser.parse(client.get("/feeds/daily.atom").content)
    assert parsed.bozo == 0
    entry = next(e for e in parsed.entries if e.id.endswith("/papers/" + TRICKY_ID))
    content = entry.content[0].value
    assert "TL;DR:</strong> We propose &lt;script&gt;" in content
    assert "search?q=hubness%20%26%20%3Cb%3Ebold%3C%2Fb%3E" in content


def test_digest_emails_carry_tldr_and_keywords_escaped(engine, settings):
    from paperfeed.index.embedder import HashingEmbedder
    from paperfeed.mail.delivery import send_digests
    from paperfeed.mail.mailer import MemoryMailer

    from .mail_corpus import DAY1, add_corpus, add_subscriber, mail_settings

    add_corpus(engine, day2=False)
    add_subscriber(engine, "ada@example.org", "attention")
    with engine.connect() as conn:
        arxiv_ids = list(conn.execute(select(papers.c.arxiv_id)).scalars())
    for arxiv_id in arxiv_ids:
        add_summary(engine, arxiv_id)
    mailer = MemoryMailer()
    cfg = mail_settings(settings, smtp_concurrency=1)
    send_digests(engine, cfg, mailer, HashingEmbedder(), day=DAY1)
    assert len(mailer.messages) == 1
    message = mailer.messages[0]
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert f"TL;DR: {TLDR}" in text and "Keywords: hubness & <b>bold</b>, image captions" in text
    assert "<script>alert(1)</script>" not in html
    assert "We propose &lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in html
    assert "Keywords: hubness &amp; &lt;b&gt;bold&lt;/b&gt;, image captions" in html
