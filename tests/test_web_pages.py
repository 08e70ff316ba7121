"""The reading pages: home (day / week / month), trending, paper, category, author, about."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from paperfeed.rank.trending import TRENDING_FORMULA
from paperfeed.store.database import write_transaction
from paperfeed.store.schema import papers

from .community_events import add_votes
from .factories import TODAY, Site


def test_home_shows_the_newest_day_ranked_by_votes(site: Site, client: TestClient) -> None:
    add_votes(site.engine, "2503.99901", 7)
    page = client.get("/")
    assert page.status_code == 200
    assert "Thursday, March 20, 2025" in page.text
    first = re.search(r'<li class="card" id="paper-([^"]+)"', page.text)
    assert first and first.group(1) == "2503.99901"
    assert 'href="/?date=2025-03-19"' in page.text  # previous day
    assert "Next day" not in page.text  # nothing newer than "today"
    assert "Subscribe: get trending papers in your inbox" in page.text
    assert 'action="/subscribe"' in page.text


def test_previous_day_week_and_month_views(client: TestClient) -> None:
    day = client.get("/?date=2025-03-19")
    assert day.status_code == 200 and "March 19, 2025" in day.text
    assert 'href="/?date=2025-03-20"' in day.text and 'href="/?date=2025-03-18"' in day.text
    week = client.get("/?week=2025-W12")
    assert week.status_code == 200 and "Week 12 of 2025" in week.text
    assert week.text.count('class="card"') == 37  # 36 real + 1 made-up paper that week
    month = client.get("/?month=2025-03")
    assert month.status_code == 200 and "March 2025" in month.text
    january = client.get("/?month=2025-01")
    assert "An old paper about image segmentation" in january.text


def test_bad_periods_get_a_helpful_400_not_a_500(client: TestClient) -> None:
    for query in ("date=2025-02-30", "date=yesterday", "week=2025-W60", "month=2025-13",
                  "month=0000-01", "date=2025-03-01&week=2025-W10", "p=-1", "p=abc",
                  "date=9999-12-31"):
        response = client.get(f"/?{query}")
        assert response.status_code in (200, 400), (query, response.status_code)
        assert "<html" in response.text


def test_paper_page_has_everything(client: TestClient) -> None:
    page = client.get("/papers/2503.11742")
    assert page.status_code == 200
    text = page.text
    assert "Safe Vision-Language Models via Unsafe Weights Manipulation" in text
    assert 'href="/authors/Elia%20Peruzzo"' in text
    assert 'href="https://arxiv.org/abs/2503.11742"' in text
    assert 'href="https://arxiv.org/pdf/2503.11742"' in text
    assert 'href="/categories/cs.CV"' in text
    assert "/static/katex/katex.min.js" in text
    assert 'id="comments"' in text and "Similar papers" in text and "Save to collection" in text


def test_paper_links_and_versions(client: TestClient) -> None:
    page = client.get("/papers/2503.99901")
    assert 'href="https://github.com/example/inert"' in page.text  # code link
    assert client.get("/papers/2503.11742v3", follow_redirects=False).headers["location"] \
        == "/papers/2503.11742"
    assert client.get("/papers/2599.99999").status_code == 404
    assert client.get("/papers/not-an-id").status_code == 404


def test_category_author_about_and_trending(client: TestClient) -> None:
    cat = client.get("/categories/cs.CR")
    assert cat.status_code == 200 and "2503.99901" in cat.text
    assert client.get("/categories/nope!").status_code == 404
    author = client.get("/authors/Elia%20Peruzzo")
    assert author.status_code == 200 and "Safe Vision-Language Models" in author.text
    assert client.get("/authors/Nobody%20Atall").status_code == 404
    about = client.get("/about")
    assert TRENDING_FORMULA in about.text and "half-life" in about.text
    for window in ("day", "week", "month"):
        trending = client.get(f"/trending?window={window}")
        assert trending.status_code == 200 and 'class="card"' in trending.text
    assert client.get("/trending?window=year").status_code == 400


def test_pages_never_fail_on_odd_input(client: TestClient) -> None:
    odd = ["/papers/%00", "/papers/..%2F..%2Fetc", "/authors/%F0%9F%92%A9",
           "/authors/" + "x" * 5000,
           "/categories/" + "a" * 300, "/search?q=%00", "/search?q=" + "long+" * 400,
           "/search?from=2025-99-99", "/search?mode=magic&q=x", "/users/%3Cscript%3E",
           "/collections/99999999999999999999", "/collections/abc", "/trending?p=99999",
           "/?p=9999", "/reset/garbage", "/verify/garbage", "/search?q=vision&p=9999",
           "/search?q=%22unclosed", "/search?q=a&from=2026-01-01&to=2025-01-01",
           "/search?q=author:%22x&category=cs.CV"]
    for url in odd:
        response = client.get(url)
        assert response.status_code < 500, (url, response.status_code)


def test_a_user_profile_lists_submissions_and_public_collections(
    site: Site, client: TestClient
) -> None:
    from paperfeed.store.collections import add_to_collection, create_collection
    from paperfeed.store.submissions import record_submission

    from .factories import make_user

    alice = make_user(site)
    with write_transaction(site.engine) as conn:
        public = create_collection(conn, alice.id, "Vision picks", is_public=True)
        create_collection(conn, alice.id, "Secret list", is_public=False)
        pid = conn.execute(papers.select().with_only_columns(papers.c.id)
                           .where(papers.c.arxiv_id == "2503.11742")).scalar_one()
        add_to_collection(conn, public, alice.id, pid)
        import datetime as dt
        record_submission(conn, pid, alice.id, dt.date.fromisoformat(TODAY))
    page = client.get("/users/alice")
    assert page.status_code == 200
    assert "Vision picks" in page.text and "Secret list" not in page.text
    assert "Safe Vision-Language Models" in page.text
    assert client.get("/users/nobody").status_code == 404


def test_cards_and_paper_pages_show_hugging_face_signals_and_rank_by_them(
    site: Site, client: TestClient
) -> None:
    import datetime as dt

    from paperfeed.models import Signal
    from paperfeed.store.papers import load_papers, upsert_papers

    day = dt.date.fromisoformat(TODAY)
    with write_transaction(site.engine) as conn:
        stored = load_papers(conn, ["2503.14620"])["2503.14620"]
        stored.signals = [Signal("hf", "upvotes", "123", day),
                          Signal("hf", "github_stars", "45", day),
                          Signal("hf", "github_repo", "https://github.com/example/sim", day)]
        upsert_papers(conn, [stored])
    page = client.get("/")
    assert "ranked by trending score" in page.text and 'href="/about#trending"' in page.text
    first = re.search(r'<li class="card" id="paper-([^"]+)"', page.text)
    assert first and first.group(1) == "2503.14620"  # nobody voted here: HF upvotes lead
    card = page.text[page.text.index('id="paper-2503.14620"'):]
    card = card[:card.index("</li>")]
    assert "▲ 123 on Hugging Face" in card and "★ 45 GitHub stars" in card
    assert 'href="https://github.com/example/sim"' in card
    paper = client.get("/papers/2503.14620").text
    assert "▲ 123 on Hugging Face" in paper and "★ 45 GitHub stars" in paper
    assert "on Hugging Face" not in client.get("/papers/2503.14626").text
