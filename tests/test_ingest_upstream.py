"""The polite fetcher: User-Agent, >= 3 s per site, Retry-After, bounded backoff, truncation."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest

from paperfeed.ingest.upstream import (
    ManualClock,
    Upstream,
    UpstreamError,
    politeness_key,
    retry_after_seconds,
)

from .ingest_replay import USER_AGENT, nock_replies, polite_client, recorded
from .replay import Reply

GAN = "query_all_GAN_max10_2024-01-22.xml"


class StampingTransport(httpx.HTTPTransport):
    """Notes the manual clock's time at the moment each request is sent."""

    def __init__(self, clock: ManualClock) -> None:
        super().__init__()
        self.clock = clock
        self.sent_at: list[float] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.sent_at.append(self.clock.now)
        return super().handle_request(request)


def test_every_request_carries_the_configured_user_agent(replay):
    replay.add("/api/query", Reply(body=recorded(GAN)))
    with polite_client() as client:
        client.get(f"{replay.url}/api/query", {"search_query": "all:GAN"}, expect="xml")
    assert replay.log[0].headers["User-Agent"] == USER_AGENT


def test_requests_to_one_site_are_at_least_three_seconds_apart_by_default(replay):
    clock = ManualClock()
    transport = StampingTransport(clock)
    replay.add("/api/query", Reply(body=recorded(GAN)))
    client = Upstream(user_agent=USER_AGENT, clock=clock, transport=transport)
    assert client.delay_seconds == 3.0
    with client:
        for start in range(4):
            client.get(f"{replay.url}/api/query", {"start": start}, expect="xml")
    gaps = [b - a for a, b in zip(transport.sent_at, transport.sent_at[1:], strict=False)]
    assert len(gaps) == 3
    assert all(gap >= 3.0 for gap in gaps)
    assert sum(clock.sleeps) == pytest.approx(9.0)  # waited, never more than needed


def test_the_delay_counts_from_the_previous_request_not_from_now(replay):
    clock = ManualClock()
    replay.add("/a", Reply(body=b"{}", content_type="application/json"))
    with polite_client(clock, delay=3.0) as client:
        client.get(f"{replay.url}/a")
        clock.now += 2.0  # e.g. two seconds spent storing the page
        client.get(f"{replay.url}/a")
    assert clock.sleeps == [pytest.approx(1.0)]


def test_arxiv_hosts_share_one_politeness_budget():
    assert politeness_key("https://rss.arxiv.org/rss/cs.CV") == "arxiv.org"
    assert politeness_key("https://export.arxiv.org/api/query") == "arxiv.org"
    assert politeness_key("https://huggingface.co/api/daily_papers") == "huggingface.co"
    assert politeness_key("http://127.0.0.1:8123/x") == "127.0.0.1:8123"


def test_the_recorded_503_with_retry_after_is_waited_out_then_the_200_is_used(replay):
    first, second = nock_replies("nock-listrecords-with-503-retry.json")
    assert first.status == 503 and first.headers["Retry-After"] == "10"
    replay.add("/oai2", first, second)
    clock = ManualClock()
    with polite_client(clock) as client:
        fetched = client.get(f"{replay.url}/oai2", {"verb": "ListRecords"}, expect="xml")
    assert fetched.status == 200 and b"1412.8544" in fetched.body
    assert len(replay.log) == 2
    assert clock.sleeps == [10.0]


def test_retry_after_may_be_an_http_date():
    now = dt.datetime(2025, 4, 28, 12, 0, 0, tzinfo=dt.UTC)
    assert retry_after_seconds("Mon, 28 Apr 2025 12:00:30 GMT", now) == 30.0
    assert retry_after_seconds("120", now) == 120.0
    assert retry_after_seconds("Mon, 28 Apr 2025 11:00:00 GMT", now) == 0.0
    assert retry_after_seconds("soon", now) is None


def test_a_retry_after_date_is_measured_on_the_injected_wall_clock(replay):
    clock = ManualClock()
    when = clock.utcnow() + dt.timedelta(seconds=42)
    stamp = when.strftime("%a, %d %b %Y %H:%M:%S GMT")
    replay.add("/x", Reply(503, b"busy", {"Retry-After": stamp}), Reply(body=b"[]"))
    with polite_client(clock) as client:
        client.get(f"{replay.url}/x", expect="json")
    assert clock.sleeps == [pytest.approx(42.0)]


def test_server_errors_are_retried_with_exponential_backoff_then_reported(replay):
    replay.add("/boom", Reply(500, b"oops", content_type="text/plain"))
    clock = ManualClock()
    client = polite_client(clock, retries=3, backoff_seconds=2.0)
    with client, pytest.raises(UpstreamError) as failure:
        client.get(f"{replay.url}/boom")
    assert len(replay.log) == 4  # the first try and three retries
    assert clock.sleeps == [2.0, 4.0, 8.0]
    assert "HTTP 500" in str(failure.value) and "after 4 attempts" in str(failure.value)
    assert failure.value.attempts == 4


def test_a_client_error_is_not_retried(replay):
    replay.add("/missing", Reply(404, b"not here", content_type="text/plain"))
    with polite_client() as client, pytest.raises(UpstreamError, match="HTTP 404"):
        client.get(f"{replay.url}/missing")
    assert len(replay.log) == 1


def test_a_body_shorter_than_its_content_length_is_fetched_again(replay):
    body = recorded(GAN)
    replay.add("/api/query", Reply(body=body, truncate_to=len(body) // 2), Reply(body=body))
    with polite_client() as client:
        fetched = client.get(f"{replay.url}/api/query", expect="xml")
    assert fetched.body == body
    assert len(replay.log) == 2


def test_xml_cut_before_its_root_closes_is_fetched_again(replay):
    body = recorded(GAN)
    cut = body[: body.index(b"</entry>") + 8]  # well-delivered bytes, but half a feed
    replay.add("/api/query", Reply(body=cut), Reply(body=body))
    with polite_client() as client:
        fetched = client.get(f"{replay.url}/api/query", expect="xml")
    assert fetched.body == body
    assert len(replay.log) == 2


def test_a_body_that_stays_truncated_is_reported_after_the_retries(replay):
    body = recorded(GAN)
    replay.add("/api/query", Reply(body=body, truncate_to=100))
    with polite_client(retries=2) as client, pytest.raises(UpstreamError) as failure:
        client.get(f"{replay.url}/api/query", expect="xml")
    assert len(replay.log) == 3
    assert "after 3 attempts" in str(failure.value)


def test_a_timeout_is_retried(replay):
    replay.add("/slow", Reply(body=b"[]", delay=1.0), Reply(body=b"[]"))
    with polite_client(timeout_seconds=0.3) as client:
        fetched = client.get(f"{replay.url}/slow", expect="json")
    assert fetched.json() == []
    assert len(replay.log) == 2


def test_a_retry_after_beyond_the_limit_fails_instead_of_stalling(replay):
    replay.add("/x", Reply(503, b"down for maintenance", {"Retry-After": "86400"}))
    client = polite_client(max_retry_after_seconds=600)
    with client, pytest.raises(UpstreamError, match="wait 86400 s"):
        client.get(f"{replay.url}/x")
    assert len(replay.log) == 1
