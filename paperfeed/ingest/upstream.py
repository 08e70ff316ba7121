"""A polite HTTP fetcher for upstream sources (arXiv, Hugging Face), on httpx.

Politeness is arXiv's published policy: a real User-Agent, at least ``delay_seconds``
between requests to one site (3 s by default), ``503`` + ``Retry-After`` honoured, and a
bounded number of retries with exponential backoff on timeouts, connection errors, 5xx
replies and truncated bodies. When the retries run out, :class:`UpstreamError` says what
failed; the ingest source reports it and its checkpoint lets the next run continue.

Time is a :class:`Clock` so tests can prove the spacing with :class:`ManualClock` instead
of sleeping.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import time
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, Self
from urllib.parse import urlsplit

import httpx
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as safe_fromstring

Expect = Literal["xml", "json", "any"]
# Largest upstream reply read (after decompression): arXiv API and OAI-PMH pages are a few
# MB; anything far larger is a broken or hostile server.
MAX_RESPONSE_BYTES = 64 * 1024 * 1024
RETRYABLE_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504, 520, 521, 522, 523, 524})


class Clock(Protocol):
    """Where the fetcher reads time and waits."""

    def monotonic(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...

    def utcnow(self) -> dt.datetime: ...


class SystemClock:
    """The real clock: time.monotonic, time.sleep, the wall clock in UTC."""

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)

    def utcnow(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)


@dataclass
class ManualClock:
    """A clock that only moves when someone sleeps: waits are recorded, not spent."""

    now: float = 1000.0
    wall_start: dt.datetime = field(
        default_factory=lambda: dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    )
    sleeps: list[float] = field(default_factory=list)

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += max(seconds, 0.0)

    def utcnow(self) -> dt.datetime:
        return self.wall_start + dt.timedelta(seconds=self.now)


class UpstreamError(RuntimeError):
    """An upstream request that failed for good (after retries, or not retryable)."""

    def __init__(self, url: str, reason: str, attempts: int = 1) -> None:
        self.url = url
        self.reason = reason
        self.attempts = attempts
        tries = f" after {attempts} attempts" if attempts > 1 else ""
        super().__init__(f"{url}: {reason}{tries}")


class _Retry(Exception):
    """One failed attempt worth repeating; ``wait`` is the server's Retry-After, if any."""

    def __init__(self, reason: str, wait: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.wait = wait


@dataclass(frozen=True, slots=True)
class Fetched:
    """A complete upstream reply."""

    url: str
    status: int
    body: bytes
    headers: Mapping[str, str]

    def json(self) -> Any:
        return json.loads(self.body)


def politeness_key(url: str) -> str:
    """The site a delay applies to: the registered domain ('arxiv.org' for
    export.arxiv.org and rss.arxiv.org alike), or host:port for addresses."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    labels = host.split(".")
    if host.replace(".", "").isdigit() or len(labels) < 2 or host == "localhost":
        return f"{host}:{parts.port or ''}"
    return ".".join(labels[-2:])


def retry_after_seconds(value: str | None, now: dt.datetime) -> float | None:
    """Retry-After as seconds from ``now``: delta-seconds or an HTTP date; None if absent
    or unreadable."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max((when - now).total_seconds(), 0.0)


def check_complete(body: bytes, expect: Expect) -> None:
    """Raise _Retry when a body is visibly cut short: XML whose root element is not
    closed, JSON that does not parse. XML that is complete but malformed inside passes:
    the source rejects the bad entry and keeps the rest."""
    if expect == "json":
        try:
            json.loads(body)
        except ValueError as exc:
            raise _Retry(f"truncated or invalid JSON body ({exc})") from exc
    elif expect == "xml":
        try:
            safe_fromstring(body)
            return
        except DefusedXmlException:
            return  # complete but hostile: parse_document refuses it, no retry
        except ET.ParseError as exc:
            if not xml_root_closed(body):
                raise _Retry(f"truncated XML body ({exc})") from exc


def xml_root_closed(body: bytes) -> bool:
    """True when the document ends with the closing tag of its root element."""
    text = body.decode("utf-8", "replace")
    start = 0
    while True:  # skip the XML declaration, comments and processing instructions
        start = text.find("<", start)
        if start < 0:
            return False
        if text.startswith(("<?", "<!"), start):
            start += 2
            continue
        break
    name = ""
    for ch in text[start + 1 :]:
        if ch.isspace() or ch in "/>":
            break
        name += ch
    return bool(name) and text.rstrip().endswith(f"</{name}>")


class Upstream:
    """A polite HTTP client for one ingest run.

    Inputs: ``user_agent`` (sent on every request), ``delay_seconds`` (minimum time
    between the start of one request and the start of the next to the same site),
    ``retries`` (extra attempts after the first), ``backoff_seconds`` (first backoff,
    doubled each retry, capped at ``max_backoff_seconds``), ``max_retry_after_seconds``
    (a longer Retry-After fails the request instead of stalling the run), ``clock``
    and ``transport`` (injectable for tests). Use as a context manager or call close().
    """

    def __init__(
        self,
        *,
        user_agent: str,
        delay_seconds: float = 3.0,
        timeout_seconds: float = 30.0,
        retries: int = 4,
        backoff_seconds: float = 2.0,
        max_backoff_seconds: float = 120.0,
        max_retry_after_seconds: float = 600.0,
        clock: Clock | None = None,
        transport: httpx.BaseTransport | None = None,
        max_bytes: int = MAX_RESPONSE_BYTES,
    ) -> None:
        self.user_agent = user_agent
        self.max_bytes = max_bytes
        self.delay_seconds = delay_seconds
        self.retries = max(retries, 0)
        self.backoff_seconds = backoff_seconds
        self.max_backoff_seconds = max_backoff_seconds
        self.max_retry_after_seconds = max_retry_after_seconds
        self.clock: Clock = clock or SystemClock()
        self.requests = 0
        self._last_start: dict[str, float] = {}
        self._client = httpx.Client(
            headers={"User-Agent": user_agent},
            timeout=timeout_seconds,
            follow_redirects=True,
            transport=transport,
        )

    @classmethod
    def from_settings(
        cls, settings: Any, *, delay_seconds: float | None = None, **kwargs: Any
    ) -> Self:
        """A client configured from Settings (user_agent, arxiv_delay_seconds,
        http_timeout_seconds, http_retries); ``delay_seconds`` overrides the delay."""
        return cls(
            user_agent=settings.user_agent,
            delay_seconds=settings.arxiv_delay_seconds if delay_seconds is None else delay_seconds,
            timeout_seconds=settings.http_timeout_seconds,
            retries=settings.http_retries,
            **kwargs,
        )

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    def get(
        self, url: str, params: Mapping[str, str | int] | None = None, *, expect: Expect = "any"
    ) -> Fetched:
        """GET ``url`` politely and return the complete 200 reply.

        Retries timeouts, connection errors, retryable statuses (5xx, 429, 408) and
        truncated bodies (short Content-Length, XML root not closed, JSON not parsing),
        waiting Retry-After when given, else exponential backoff. Raises UpstreamError
        after the last retry, or at once for other statuses (e.g. 400, 404).
        """
        attempts = 0
        while True:
            attempts += 1
            try:
                return self._attempt(url, params, expect)
            except _Retry as failure:
                if attempts > self.retries:
                    raise UpstreamError(url, failure.reason, attempts) from None
                wait = failure.wait
                if wait is not None and wait > self.max_retry_after_seconds:
                    raise UpstreamError(
                        url, f"{failure.reason}; server asks to wait {wait:.0f} s", attempts
                    ) from None
                if wait is None:
                    wait = min(
                        self.backoff_seconds * 2 ** (attempts - 1), self.max_backoff_seconds
                    )
                self.clock.sleep(wait)

    def _attempt(self, url: str, params: Mapping[str, str | int] | None, expect: Expect) -> Fetched:
        self._wait_turn(url)
        try:
            with self._client.stream("GET", url, params=params) as response:
                status = response.status_code
                if status in RETRYABLE_STATUS:
                    wait = retry_after_seconds(response.headers.get("Retry-After"),
                                               self.clock.utcnow())
                    raise _Retry(f"HTTP {status}", wait)
                body = self._read_capped(response)
        except httpx.TimeoutException as exc:
            raise _Retry(f"timeout ({type(exc).__name__})") from exc
        except httpx.TransportError as exc:
            # Includes a connection closed before Content-Length bytes arrived.
            raise _Retry(f"connection error: {exc}") from exc
        finally:
            self.requests += 1
        if status != 200:
            raise UpstreamError(str(response.url), f"HTTP {status}: {body[:200]!r}")
        declared = response.headers.get("Content-Length")
        if declared and declared.isdigit() and response.num_bytes_downloaded < int(declared):
            raise _Retry(
                f"truncated body ({response.num_bytes_downloaded} of {declared} bytes)"
            )
        check_complete(body, expect)
        return Fetched(str(response.url), status, body, response.headers)

    def _read_capped(self, response: httpx.Response) -> bytes:
        """The (decoded) body, refused once it passes ``max_bytes``: a hostile or broken
        server cannot make an ingest hold gigabytes (a gzip bomb counts unpacked)."""
        declared = response.headers.get("Content-Length", "")
        too_big = UpstreamError(str(response.url), f"response larger than {self.max_bytes} bytes")
        if declared.isdigit() and int(declared) > self.max_bytes:
            raise too_big
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > self.max_bytes:
                raise too_big
            chunks.append(chunk)
        return b"".join(chunks)

    def _wait_turn(self, url: str) -> None:
        key = politeness_key(url)
        last = self._last_start.get(key)
        if last is not None and self.delay_seconds > 0:
            remaining = self.delay_seconds - (self.clock.monotonic() - last)
            if remaining > 0:
                self.clock.sleep(remaining)
        self._last_start[key] = self.clock.monotonic()
