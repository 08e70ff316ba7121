"""Read state: what a signed-in user opened, voted on or dismissed is seen (one row per
user and paper, nothing for anonymous visitors); listings and For you can hide it; the
daily page filters by category and says what is new since the last visit."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine, func, select, update

from paperfeed.store.account_export import export_account
from paperfeed.store.community_schema import users
from paperfeed.store.database import write_transaction
from paperfeed.store.follow_schema import seen_papers
from paperfeed.store.schema import papers
from paperfeed.store.seen import mark_seen, record_visit, seen_paper_ids

from .factories import csrf_of, log_in, make_user
from .mail_corpus import mail_settings

pytestmark = pytest.mark.corpus("mail")
T0 = dt.datetime(2026, 8, 14, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def site_settings(settings):
    return mail_settings(settings, "memory://", base_url="http://testserver")


def _ids(engine: Engine, *arxiv_ids: str) -> list[int]:
    with engine.connect() as conn:
        return [conn.execute(select(papers.c.id).where(papers.c.arxiv_id == a)).scalar_one()
                for a in arxiv_ids]


def _seen_rows(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(seen_papers)).scalar_one())


def test_seen_is_one_row_per_user_and_paper(corpus: Engine) -> None:
    engine = corpus
    user = make_user(engine, "ada")
    a, b = _ids(engine, "2608.00101", "2608.00102")
    with write_transaction(engine) as conn:
        mark_seen(conn, user.id, [a, a])
        mark_seen(conn, user.id, [a])
        assert seen_paper_ids(conn, user.id, [a, b]) == {a}
        exported = export_account(conn, user.id)
    assert _seen_rows(engine) == 1
    assert [s["paper"] for s in exported["seen"]] == ["2608.00101"]  # "download my data"


def test_a_visit_ends_after_an_hour_without_one(engine: Engine) -> None:
    user = make_user(engine, "ada")
    with write_transaction(engine) as conn:
        assert record_visit(conn, user.id, T0) is None  # first visit ever
        assert record_visit(conn, user.id, T0 + dt.timedelta(minutes=30)) is None  # same visit
        # 30 min after the last look is still the same visit; 2 h later is a new one.
        assert record_visit(conn, user.id, T0 + dt.timedelta(hours=3)) == (
            T0 + dt.timedelta(minutes=30))
        assert record_visit(conn, user.id, T0 + dt.timedelta(hours=3, minutes=1)) == (
            T0 + dt.timedelta(minutes=30))


def test_opening_and_voting_mark_papers_seen_and_hide_seen_hides_them(site, client) -> None:
    client.get("/papers/2608.00101")  # anonymous: nothing stored
    assert _seen_rows(site.engine) == 0
    make_user(site, "ada")
    log_in(client, "ada@example.org")
    assert "Hide seen papers" in client.get("/").text
    client.get("/papers/2608.00101")
    token = csrf_of(client, "/")
    client.post("/papers/2608.00102/vote", data={"csrf_token": token, "next": "/"})
    assert _seen_rows(site.engine) == 2
    page = client.get("/").text
    assert page.count('class="card seen"') == 2 and page.count('class="card"') == 1
    hidden = client.get("/?hide_seen=1").text
    assert 'id="paper-2608.00103"' in hidden
    assert 'id="paper-2608.00101"' not in hidden and 'id="paper-2608.00102"' not in hidden
    for path in ("/trending?window=month&hide_seen=1", "/categories/cs.CL?hide_seen=1",
                 "/for-you?days=30&hide_seen=1"):
        assert 'id="paper-2608.00101"' not in client.get(path).text, path
    assert 'id="paper-2608.00101"' in client.get("/categories/cs.CL").text
    # Dismissing in For you counts as seen too.
    token = csrf_of(client, "/for-you?days=30")
    client.post("/for-you/not-interested", data={"csrf_token": token, "paper": "2608.00103"})
    assert _seen_rows(site.engine) == 3


def test_daily_page_category_filter_and_new_since_last_visit(site, client) -> None:
    assert 'id="paper-2608.00101"' not in client.get("/?category=cs.CV").text
    assert 'id="paper-2608.00103"' in client.get("/?category=cs.CV").text
    assert client.get("/?category=cs.CV%22%3E%3Cb%3E").status_code == 400
    assert client.get("/?hide_seen=1").status_code == 200  # anonymous: ignored
    user = make_user(site, "ada")
    log_in(client, "ada@example.org")
    first = client.get("/").text
    assert "new since your last visit" not in first  # first visit: nothing to compare with
    now = dt.datetime.now(dt.UTC)
    old, = _ids(site.engine, "2608.00101")
    with write_transaction(site.engine) as conn:
        conn.execute(update(users).where(users.c.id == user.id)
                     .values(active_at=now - dt.timedelta(hours=3)))
        conn.execute(update(papers).where(papers.c.id == old)
                     .values(first_seen_at=now - dt.timedelta(days=2)))
    page = client.get("/").text
    assert "2 papers here are new since your last visit" in page
    assert page.count("New since your last visit</span>") == 2
    again = client.get("/").text  # the same visit: still compared with the previous one
    assert "2 papers here are new since your last visit" in again
