"""Log lines as JSON (the ``log_format = "json"`` setting) for log collectors.

``JsonFormatter`` writes one JSON object a line: ``time`` (UTC, ISO 8601), ``level``,
``logger``, ``message``, the process id, and ``exception`` when there is one.
``logging_config`` is the ``logging.config.dictConfig`` that `paperfeed serve` hands to
uvicorn (so its own loggers write JSON too) and that `paperfeed worker` applies.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any

FORMATTER = "paperfeed.log_format.JsonFormatter"


class JsonFormatter(logging.Formatter):
    """One JSON object per record."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "pid": record.process,
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def logging_config(level: str = "INFO") -> dict[str, Any]:
    """A dictConfig writing every logger as JSON to stderr: paperfeed's and uvicorn's from
    ``level``, the libraries' (alembic, httpx, ...) from WARNING."""
    handler = {"class": "logging.StreamHandler", "formatter": "json",
               "stream": "ext://sys.stderr"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": FORMATTER}},
        "handlers": {"default": handler},
        "root": {"handlers": ["default"], "level": "WARNING"},
        "loggers": {
            name: {"handlers": [], "level": level, "propagate": True}
            for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "paperfeed")
        },
    }
