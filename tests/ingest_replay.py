"""What the network-ingestion tests share: recorded replies from tests/data/ingest, a
polite client on a manual clock, and a snapshot of the whole paper store."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from paperfeed.ingest.upstream import ManualClock, Upstream
from paperfeed.models import Paper
from paperfeed.store.papers import load_papers
from paperfeed.store.schema import ingest_checkpoints, papers

from .replay import Reply

INGEST_DATA = Path(__file__).parent / "data" / "ingest"
USER_AGENT = "paperfeed-tests/1.0 (mailto:tests@example.org)"


def recorded(name: str) -> bytes:
    """The bytes of a recorded (or hand-made) reply in tests/data/ingest."""
    return (INGEST_DATA / name).read_bytes()


def xml_reply(name: str, **kwargs: Any) -> Reply:
    return Reply(body=recorded(name), **kwargs)


def nock_replies(name: str) -> list[Reply]:
    """The replies of a nock recording (status, raw headers, body) in order."""
    replies = []
    for entry in json.loads(recorded(name)):
        raw = entry["rawHeaders"]
        headers = dict(zip(raw[::2], raw[1::2], strict=True))
        content_type = headers.pop("Content-Type", "text/plain")
        keep = {k: v for k, v in headers.items() if k == "Retry-After"}
        replies.append(
            Reply(entry["status"], entry["response"].encode(), keep, content_type=content_type)
        )
    return replies


def polite_client(
    clock: ManualClock | None = None, *, delay: float = 0.0, retries: int = 3, **kw: Any
) -> Upstream:
    """An Upstream on a manual clock: waits are recorded, never slept."""
    return Upstream(
        user_agent=USER_AGENT,
        delay_seconds=delay,
        retries=retries,
        timeout_seconds=kw.pop("timeout_seconds", 5.0),
        clock=clock or ManualClock(),
        **kw,
    )


def store_snapshot(engine: Engine) -> dict[str, Paper]:
    """Every stored paper, fully loaded, by arXiv id."""
    with engine.connect() as conn:
        ids = list(conn.execute(select(papers.c.arxiv_id)).scalars())
        return load_papers(conn, ids)


def checkpoints(engine: Engine) -> dict[tuple[str, str], str]:
    with engine.connect() as conn:
        rows = conn.execute(select(ingest_checkpoints)).all()
    return {(r.source, r.key): r.cursor for r in rows}
