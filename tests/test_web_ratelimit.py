"""Rate limits shared through the database: every server process spends one budget."""

from __future__ import annotations

from sqlalchemy import select

from paperfeed.store import rate_limits
from paperfeed.store.community_schema import rate_limit_hits
from paperfeed.store.database import open_engine
from paperfeed.web import ratelimit
from paperfeed.web.ratelimit import RateLimiter

LIMITS = {"login": (3, 60.0), "vote": (100, 60.0)}


def test_two_processes_share_one_budget(engine):
    worker_a = RateLimiter(LIMITS, engine=engine)
    worker_b = RateLimiter(LIMITS, engine=engine)  # another server process, same database
    assert [worker_a.allow("login", "1.2.3.4"), worker_b.allow("login", "1.2.3.4"),
            worker_a.allow("login", "1.2.3.4")] == [True, True, True]
    assert worker_b.allow("login", "1.2.3.4") is False
    assert worker_a.allow("login", "1.2.3.4") is False
    assert worker_b.allow("login", "5.6.7.8") is True  # other keys are not affected
    assert worker_b.allow("vote", "1.2.3.4") is True  # nor other buckets


def test_keys_are_stored_as_digests_only(engine):
    RateLimiter(LIMITS, engine=engine).allow("login", "email:ada@example.org")
    with engine.connect() as conn:
        rows = conn.execute(select(rate_limit_hits)).all()
    assert len(rows) == 1 and "ada" not in str(tuple(rows[0]))
    assert rows[0].key_digest == rate_limits.key_digest("email:ada@example.org")


def test_sliding_window_and_refused_hits_not_counted(engine, monkeypatch):
    clock = [600.0]  # the start of a 60 s window
    monkeypatch.setattr(ratelimit.time, "time", lambda: clock[0])
    limiter = RateLimiter(LIMITS, engine=engine)
    assert all(limiter.allow("login", "k") for _ in range(3))
    assert not limiter.allow("login", "k")
    clock[0] = 661.0  # next window: the previous 3 hits still weigh 3 x 59/60
    assert not limiter.allow("login", "k")
    clock[0] = 700.0  # 3 x 20/60 = 1 old hit left: two more fit
    assert limiter.allow("login", "k") and limiter.allow("login", "k")
    assert not limiter.allow("login", "k")
    with engine.connect() as conn:  # refused hits were not counted
        hits = dict(conn.execute(
            select(rate_limit_hits.c.window_start, rate_limit_hits.c.hits)).tuples().all())
    assert hits == {600: 3, 660: 2}
    with engine.begin() as conn:  # pruning drops only windows that can no longer count
        assert rate_limits.prune_hits(conn, 700.0, 60.0) == 0
        assert rate_limits.prune_hits(conn, 10_000.0, 3600.0) == 2


def test_without_the_table_it_still_limits_in_process(tmp_path):
    bare = open_engine(f"sqlite:///{tmp_path}/not-migrated.db")  # no rate_limit_hits table
    limiter = RateLimiter(LIMITS, engine=bare)
    assert [limiter.allow("login", "k") for _ in range(4)] == [True, True, True, False]
