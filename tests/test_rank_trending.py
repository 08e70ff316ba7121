"""The one trending score: events inside the window (local votes, comments, saves,
submissions; Hugging Face upvotes, comments and GitHub stars), decayed by age, plus the
recency prior; past windows scored with their own events only."""

from __future__ import annotations

import datetime as dt
import math

import pytest
from sqlalchemy import Engine, select

from paperfeed.models import Paper, Signal
from paperfeed.rank.listings import list_period, trending
from paperfeed.rank.periods import day_period, week_period
from paperfeed.rank.recommend import MatrixSource, load_candidates
from paperfeed.rank.trending import (
    LATE_DAYS,
    PRIOR,
    STAR_WEIGHT,
    TrendingWindow,
    score_window,
)
from paperfeed.store.community_schema import (
    collection_items,
    collections,
    comments,
    submissions,
    users,
    votes,
)
from paperfeed.store.database import write_transaction
from paperfeed.store.papers import upsert_papers
from paperfeed.store.schema import papers

from .test_recommend import E

W12_TUESDAY = dt.date(2025, 3, 18)  # ISO week 2025-W12: Mon 17 .. Sun 23 March
W13_THURSDAY = dt.date(2025, 3, 27)  # the newest day: "today" of these tests


def paper(arxiv_id: str, day: dt.date, *signals: tuple[str, str, dt.date]) -> Paper:
    return Paper(
        arxiv_id=arxiv_id, title=f"Paper {arxiv_id}", abstract="An abstract.",
        categories=["cs.CL"], primary_category="cs.CL", announced_on=day, source="arxiv-api",
        signals=[Signal("hf", kind, value, on) for kind, value, on in signals],
    )


def add(engine: Engine, *items: Paper) -> dict[str, int]:
    with write_transaction(engine) as conn:
        upsert_papers(conn, list(items))
        return dict(conn.execute(select(papers.c.arxiv_id, papers.c.id)).tuples().all())


def at(day: dt.date, hour: int = 12) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=dt.UTC)


def make_users(engine: Engine, n: int) -> list[int]:
    """``n`` users straight into the table (no password hashing: these tests only vote)."""
    with write_transaction(engine) as conn:
        start = len(conn.execute(select(users.c.id)).all())
        conn.execute(users.insert(), [
            {"username": f"u{start + i}", "email": f"u{start + i}@example.org",
             "password_hash": "-", "created_at": at(W12_TUESDAY)} for i in range(n)
        ])
        return list(conn.execute(select(users.c.id).order_by(users.c.id)).scalars())[start:]


def vote(engine: Engine, paper_id: int, n: int, day: dt.date) -> None:
    """``n`` upvotes on ``paper_id`` cast on ``day`` by fresh users."""
    uids = make_users(engine, n)
    with write_transaction(engine) as conn:
        conn.execute(votes.insert(), [
            {"user_id": uid, "paper_id": paper_id, "created_at": at(day)} for uid in uids
        ])
        conn.execute(papers.update().where(papers.c.id == paper_id)
                     .values(upvotes=papers.c.upvotes + n))


def test_most_hugging_face_upvoted_first_when_nobody_voted_locally(engine):
    add(engine,
        paper("2503.00001", W13_THURSDAY, ("upvotes", "5", W13_THURSDAY)),
        paper("2503.00002", W13_THURSDAY, ("upvotes", "50", W13_THURSDAY)),
        paper("2503.00003", W13_THURSDAY),
        paper("2503.00004", W13_THURSDAY, ("upvotes", "12", W13_THURSDAY)))
    with engine.connect() as conn:
        feed = list_period(conn, day_period(W13_THURSDAY))
    assert [c.arxiv_id for c in feed.items] == [
        "2503.00002", "2503.00004", "2503.00001", "2503.00003"]
    assert feed.items[0].hf_upvotes == 50 and feed.items[2].hf_upvotes == 5
    assert feed.items[3].hf_upvotes is None
    assert feed.items[0].score == pytest.approx(50 + PRIOR)


def test_local_events_blend_with_upstream_ones(engine):
    ids = add(engine,
              paper("2503.00011", W13_THURSDAY, ("upvotes", "3", W13_THURSDAY)),
              paper("2503.00012", W13_THURSDAY),
              paper("2503.00013", W13_THURSDAY))
    vote(engine, ids["2503.00012"], 2, W13_THURSDAY)  # 2 local votes
    (commenter,) = make_users(engine, 1)
    with write_transaction(engine) as conn:
        # 2503.00013: a save (1), a submission (1), two comments (0.5 each) and a hidden
        # comment that counts for nothing: 3.0, ahead of 3 HF upvotes only by the tie-break.
        coll = conn.execute(collections.insert().values(
            user_id=commenter, name="reading", created_at=at(W13_THURSDAY),
            updated_at=at(W13_THURSDAY)).returning(collections.c.id)).scalar_one()
        conn.execute(collection_items.insert().values(
            collection_id=coll, paper_id=ids["2503.00013"], position=0,
            added_at=at(W13_THURSDAY)))
        conn.execute(submissions.insert().values(
            paper_id=ids["2503.00013"], user_id=commenter, feed_day=W13_THURSDAY,
            created_at=at(W13_THURSDAY)))
        conn.execute(comments.insert(), [
            {"paper_id": ids["2503.00013"], "user_id": commenter, "body": "b",
             "created_at": at(W13_THURSDAY), "hidden": hidden}
            for hidden in (False, False, True)
        ])
    with engine.connect() as conn:
        scored = {s.paper_id: s.score for s in score_window(
            conn, papers.c.hidden.is_(False),
            TrendingWindow(W13_THURSDAY, W13_THURSDAY, W13_THURSDAY))}
    assert scored[ids["2503.00011"]] == pytest.approx(3 + PRIOR)
    assert scored[ids["2503.00012"]] == pytest.approx(2 + PRIOR)
    assert scored[ids["2503.00013"]] == pytest.approx(3 + PRIOR)


def test_past_week_is_scored_with_its_own_events_not_todays_totals(engine):
    ids = add(engine,
              paper("2503.00021", W12_TUESDAY),
              paper("2503.00022", W12_TUESDAY),
              paper("2503.00023", W12_TUESDAY, ("upvotes", "40", W13_THURSDAY)),
              paper("2503.00024", W13_THURSDAY))
    vote(engine, ids["2503.00021"], 3, W12_TUESDAY + dt.timedelta(days=1))  # inside W12
    vote(engine, ids["2503.00022"], 10, W13_THURSDAY)  # later: today's total, not W12's
    w12 = week_period("2025-W12")
    assert w12.end + dt.timedelta(days=LATE_DAYS) < W13_THURSDAY  # the window is closed
    with engine.connect() as conn:
        by_trending = list_period(conn, w12)
        by_votes = list_period(conn, w12, sort="votes")
        this_month = trending(conn, "month")
    assert [c.arxiv_id for c in by_trending.items] == ["2503.00021", "2503.00023", "2503.00022"]
    assert by_votes.items[0].arxiv_id == "2503.00022"  # lifetime totals rank the other way
    # The 30 days ending today are open: the same late votes and HF upvotes count there.
    assert [c.arxiv_id for c in this_month.items][:3] == [
        "2503.00023", "2503.00022", "2503.00021"]


def test_late_days_after_a_past_window_still_count(engine):
    ids = add(engine, paper("2503.00031", W12_TUESDAY), paper("2503.00032", W12_TUESDAY))
    vote(engine, ids["2503.00031"], 1, W12_TUESDAY + dt.timedelta(days=LATE_DAYS))
    vote(engine, ids["2503.00032"], 5, W12_TUESDAY + dt.timedelta(days=LATE_DAYS + 1))
    add(engine, paper("2503.00033", W13_THURSDAY))
    with engine.connect() as conn:
        feed = list_period(conn, day_period(W12_TUESDAY))
    assert [c.arxiv_id for c in feed.items] == ["2503.00031", "2503.00032"]
    assert feed.items[1].score == pytest.approx(PRIOR)


def test_older_events_in_the_window_weigh_less_and_halve_per_half_window(engine):
    ids = add(engine,
              paper("2503.00041", dt.date(2025, 3, 21)),
              paper("2503.00042", dt.date(2025, 3, 21)))
    vote(engine, ids["2503.00041"], 4, dt.date(2025, 3, 21))
    vote(engine, ids["2503.00042"], 4, dt.date(2025, 3, 27))
    ids = add(engine, paper("2503.00043", W13_THURSDAY))
    window = TrendingWindow(dt.date(2025, 3, 21), W13_THURSDAY, W13_THURSDAY)  # 7 days
    with engine.connect() as conn:
        scored = {s.paper_id: s.score for s in score_window(conn, papers.c.hidden.is_(False),
                                                          window)}
    prior = PRIOR * 0.5 ** (6 / 3.5)
    assert scored[ids["2503.00042"]] == pytest.approx(4 + prior)
    assert scored[ids["2503.00041"]] == pytest.approx(4 * 0.5 ** (6 / 3.5) + prior)
    assert scored[ids["2503.00043"]] == pytest.approx(PRIOR)  # announced today, no events


def test_github_stars_count_per_doubling(engine):
    ids = add(engine,
              paper("2503.00051", W13_THURSDAY, ("github_stars", "1023", W13_THURSDAY)),
              paper("2503.00052", W13_THURSDAY),
              paper("2503.00053", W13_THURSDAY))
    vote(engine, ids["2503.00052"], 6, W13_THURSDAY)
    vote(engine, ids["2503.00053"], 4, W13_THURSDAY)
    with engine.connect() as conn:
        feed = list_period(conn, day_period(W13_THURSDAY))
    assert [c.arxiv_id for c in feed.items] == ["2503.00052", "2503.00051", "2503.00053"]
    assert feed.items[1].score == pytest.approx(STAR_WEIGHT * math.log2(1024) + PRIOR)
    assert feed.items[1].github_stars == 1023


def test_quiet_papers_come_newest_first(engine):
    add(engine, paper("2503.00061", dt.date(2025, 3, 25)), paper("2503.00062", W13_THURSDAY),
        paper("2503.00063", dt.date(2025, 3, 26)))
    with engine.connect() as conn:
        feed = trending(conn, "week")
    assert [c.arxiv_id for c in feed.items] == ["2503.00062", "2503.00063", "2503.00061"]


def test_digest_candidates_use_the_same_score(engine):
    ids = add(engine,
              paper("2503.00071", W13_THURSDAY, ("upvotes", "9", W13_THURSDAY)),
              paper("2503.00072", W13_THURSDAY),
              paper("2503.00073", W13_THURSDAY, ("upvotes", "2", W13_THURSDAY)))
    vote(engine, ids["2503.00072"], 5, W13_THURSDAY)
    with engine.connect() as conn:
        cands = load_candidates(conn, W13_THURSDAY, W13_THURSDAY, MatrixSource(E))
        listed = [c.id for c in list_period(conn, day_period(W13_THURSDAY)).items]
    by_digest = [int(cands.ids[i]) for i in sorted(range(len(cands)),
                                                   key=lambda i: -cands.trending[i])]
    assert by_digest == listed == [ids["2503.00071"], ids["2503.00072"], ids["2503.00073"]]
