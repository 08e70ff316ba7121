"""Catching up missed listing days: arXiv's calendar (announcements, cut-off windows),
which days count as missed, the announcement day given to caught-up papers, the bound,
and a run stopped by an upstream failure ending where an uninterrupted one does."""

from __future__ import annotations

import datetime as dt
import signal
import subprocess
import sys
import time
from zoneinfo import ZoneInfo

from sqlalchemy import select

from paperfeed.ingest.arxiv_calendar import (
    latest_listing_day,
    listing_days_before,
    submission_window,
)
from paperfeed.ingest.catch_up import catch_up_listings, catch_up_query
from paperfeed.models import Paper
from paperfeed.store.database import write_transaction
from paperfeed.store.papers import upsert_papers
from paperfeed.store.schema import papers

from .ingest_replay import checkpoints, polite_client, recorded, store_snapshot
from .replay import Reply

ET = ZoneInfo("America/New_York")
UTC = dt.UTC
MON, TUE, WED, THU = (dt.date(2025, 4, 28), dt.date(2025, 4, 29), dt.date(2025, 4, 30),
                      dt.date(2025, 5, 1))
# Wednesday after the 20:00 announcement: the newest listing is Thursday's.
NOW = dt.datetime(2025, 4, 30, 21, 0, tzinfo=ET)
EMPTY_FEED = (b'<?xml version="1.0" encoding="UTF-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
              b'<opensearch:totalResults xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/">'
              b'0</opensearch:totalResults></feed>')
PAGE1, PAGE2 = "atom-backfill-page1.xml", "atom-backfill-page2.xml"


def test_listing_windows_follow_arxivs_cutoffs():
    # Tuesday's listing: Friday 14:00 to Monday 14:00 US/Eastern (EDT, UTC-4).
    assert submission_window(TUE) == (dt.datetime(2025, 4, 25, 18, 0, tzinfo=UTC),
                                      dt.datetime(2025, 4, 28, 18, 0, tzinfo=UTC))
    # Monday's listing: Thursday 14:00 to Friday 14:00.
    assert submission_window(MON) == (dt.datetime(2025, 4, 24, 18, 0, tzinfo=UTC),
                                      dt.datetime(2025, 4, 25, 18, 0, tzinfo=UTC))
    # In winter (EST, UTC-5) the cut-off is at 19:00 UTC.
    assert submission_window(dt.date(2025, 1, 15))[1] == dt.datetime(2025, 1, 14, 19, 0,
                                                                     tzinfo=UTC)
    assert "submittedDate:[202504251800 TO 202504281759]" in catch_up_query("cs.CV", TUE)


def test_the_newest_listing_follows_the_announcement_timetable():
    assert latest_listing_day(NOW) == THU
    assert latest_listing_day(dt.datetime(2025, 4, 30, 19, 59, tzinfo=ET)) == WED
    # Friday and Saturday evenings announce nothing: Friday's listing stays the newest.
    assert latest_listing_day(dt.datetime(2025, 5, 3, 23, 0, tzinfo=ET)) == dt.date(2025, 5, 2)
    assert latest_listing_day(dt.datetime(2025, 5, 4, 20, 1, tzinfo=ET)) == dt.date(2025, 5, 5)
    assert listing_days_before(TUE, 3) == [dt.date(2025, 4, 24), dt.date(2025, 4, 25), MON]


def announced(arxiv_id: str, day: dt.date, source: str) -> Paper:
    return Paper(arxiv_id=arxiv_id, title=f"Listed {arxiv_id}", abstract="A stored paper.",
                 categories=["cs.CV"], announced_on=day, source=source)


def serve_days(replay, page2: Reply | None = None) -> None:
    """Monday's listing: two pages of five; Tuesday's and Wednesday's: empty."""
    monday_end = f"{submission_window(MON)[1] - dt.timedelta(minutes=1):%Y%m%d%H%M}%5D"
    replay.add("/api/query", Reply(body=recorded(PAGE1)),
               query_contains=f"{monday_end}&start=0&")
    replay.add("/api/query", page2 or Reply(body=recorded(PAGE2)),
               query_contains=f"{monday_end}&start=5&")
    replay.add("/api/query", Reply(body=EMPTY_FEED), query_contains="submittedDate")


def catch_up(engine, replay, *, max_days=3, retries=0):
    with polite_client(retries=retries) as client:
        return catch_up_listings(engine, client, api_url=f"{replay.url}/api/query",
                                 categories=["cs.CV"], now=NOW, max_days=max_days, page_size=5)


def asked_windows(replay) -> list[str]:
    return [entry.query.split("%5B")[1].split("%5D")[0] for entry in replay.log]


def test_missed_days_are_read_with_their_listing_day_as_announcement_day(engine, replay):
    with write_transaction(engine) as conn:
        # Tuesday was listed by the RSS step before the downtime; Wednesday has only a
        # paper first seen on Hugging Face, whose day is just an upper bound.
        upsert_papers(conn, [announced("2504.00001", TUE, "arxiv-rss"),
                             announced("2504.00002", WED, "hf")])
    serve_days(replay)
    run = catch_up(engine, replay)
    assert run.newest_day == THU and run.unfinished == []
    assert run.caught_up == [("cs.CV", MON), ("cs.CV", WED)]
    assert asked_windows(replay) == ["202504241800+TO+202504251759"] * 2 + [
        "202504281800+TO+202504291759"]
    assert run.summary.inserted == 10 and not run.summary.errors
    with engine.connect() as conn:
        days = dict(conn.execute(select(papers.c.arxiv_id, papers.c.announced_on)).all())
    assert days.pop("2504.00001") == TUE and days.pop("2504.00002") == WED
    assert len(days) == 10 and set(days.values()) == {MON}
    assert checkpoints(engine) == {("catch-up", "cs.CV 2025-04-28"): "done",
                                   ("catch-up", "cs.CV 2025-04-30"): "done"}
    # A second cycle finds nothing missed and asks nothing.
    replay.log.clear()
    again = catch_up(engine, replay)
    assert again.caught_up == [] and replay.log == []


def test_the_catch_up_is_bounded_to_max_days(engine, replay):
    serve_days(replay)
    run = catch_up(engine, replay, max_days=1)
    assert run.caught_up == [("cs.CV", WED)]
    assert asked_windows(replay) == ["202504281800+TO+202504291759"]
    assert catch_up(engine, replay, max_days=0).caught_up == []


def test_a_stopped_catch_up_resumes_to_the_same_end_state(engine, other_engine, replay):
    serve_days(replay, page2=Reply(status=503, body=b"busy", content_type="text/plain"))
    stopped = catch_up(engine, replay)
    assert stopped.unfinished == [("cs.CV", MON)] and stopped.summary.errors
    assert stopped.summary.inserted == 5
    assert checkpoints(engine)[("catch-up", "cs.CV 2025-04-28")] == "5"
    # The next cycle continues Monday at the page that failed (page 1 is not asked again).
    replay.routes.clear()
    replay.log.clear()
    serve_days(replay)
    resumed = catch_up(engine, replay)
    assert resumed.caught_up == [("cs.CV", MON)]  # Tue and Wed finished in the first run
    assert [e.query for e in replay.log if "start=0&" in e.query and "20250425" in e.query] == []
    uninterrupted = catch_up(other_engine, replay)
    assert store_snapshot(engine) == store_snapshot(other_engine)
    assert checkpoints(engine) == checkpoints(other_engine)
    assert len(uninterrupted.caught_up) == 3


CATCH_UP_PROCESS = """
import datetime as dt, sys
from zoneinfo import ZoneInfo
from paperfeed.ingest.catch_up import catch_up_listings
from paperfeed.ingest.upstream import Upstream
from paperfeed.store.database import open_engine
now = dt.datetime(2025, 4, 30, 21, 0, tzinfo=ZoneInfo("America/New_York"))
with Upstream(user_agent="paperfeed-tests", delay_seconds=0, retries=0) as client:
    catch_up_listings(open_engine(sys.argv[1]), client, api_url=sys.argv[2],
                      categories=["cs.CV"], now=now, max_days=3, page_size=5)
"""


def test_a_catch_up_killed_mid_day_resumes_to_the_same_end_state(
        settings, engine, other_engine, replay):
    # page 2 of Monday's listing answers slowly: the process is killed while it waits
    serve_days(replay, page2=Reply(body=recorded(PAGE2), delay=30))
    process = subprocess.Popen(
        [sys.executable, "-c", CATCH_UP_PROCESS, settings.database_url,
         f"{replay.url}/api/query"])
    try:
        deadline = time.monotonic() + 60
        while checkpoints(engine).get(("catch-up", "cs.CV 2025-04-28")) != "5":
            assert process.poll() is None and time.monotonic() < deadline
            time.sleep(0.1)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    assert len(store_snapshot(engine)) == 5  # page 1 landed with its checkpoint, then death
    replay.routes.clear()
    serve_days(replay)
    resumed = catch_up(engine, replay)
    assert resumed.caught_up == [("cs.CV", MON), ("cs.CV", TUE), ("cs.CV", WED)]
    catch_up(other_engine, replay)
    assert store_snapshot(engine) == store_snapshot(other_engine)
    assert checkpoints(engine) == checkpoints(other_engine)
