"""The worker's jobs and how each last went (migration ``0015_jobs``).

One row per job name ("ingest arxiv", "catch-up", "ingest hf", "index", "channels",
"outbox", "digests"): when it last started, last succeeded, last failed (with the error),
and when the worker plans to run it next. `paperfeed status` and ``/metrics`` read it.
"""

from __future__ import annotations

from sqlalchemy import Column, Float, String, Table, Text

from .schema import TZ, metadata

worker_jobs = Table(
    "worker_jobs",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("last_started_at", TZ),
    Column("last_success_at", TZ),
    Column("last_error_at", TZ),
    Column("last_error", Text, nullable=False, server_default=""),
    Column("last_seconds", Float),  # how long the last run took, success or not
    Column("next_run_at", TZ),
)
