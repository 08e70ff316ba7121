"""Tokens never reach the logs.

Links in emails carry their credential in the path (``/verify/TOKEN``, ``/reset/TOKEN``,
``/unsubscribe/TOKEN``, ...), personal feeds in the file name, invites in the query. An
access-log line or an error report naming such a URL would hand the token to whoever reads
the logs. :func:`install_log_redaction` (called by ``create_app``) wraps the logging
record factory so that every record of the ``uvicorn``, ``paperfeed``, ``fastapi`` and
``starlette`` loggers has those parts replaced by ``[redacted]`` in its message, its
arguments and its traceback text, whatever handlers and formatters the operator configured.
"""

from __future__ import annotations

import logging
import re
import traceback
from collections.abc import Mapping
from typing import Any

REDACTED = "[redacted]"
LOGGERS = ("uvicorn", "paperfeed", "fastapi", "starlette")

_PATTERNS = (
    # the email-link routes: the path segment after the route name
    re.compile(r"(/(?:verify|reset|unsubscribe|subscription|not-interested|subscribe/confirm"
               r"|settings/email/confirm)/)"
               r"[^/\s?#\"'<>]+"),
    # personal feeds: /feeds/users/<name>/<secret>.atom
    re.compile(r"(/feeds/users/[^/\s?#\"'<>]+/)[^/\s?#\"'<>]+?(?=\.atom)"),
    # tokens in a query string
    re.compile(r"([?&](?:invite|token)=)[^&\s#\"'<>]+"),
    # any other path segment that looks like a signed token or a digest
    re.compile(r"(/)[A-Za-z0-9_.\-]{40,}"),
    # a bare itsdangerous token (payload.timestamp.signature), e.g. in an error message
    re.compile(r"(^|[^A-Za-z0-9_.\-])\.?[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]{4,}\."
               r"[A-Za-z0-9_\-]{20,}"),
)


def redact(text: str) -> str:
    """``text`` with every token-bearing URL part replaced by ``[redacted]``."""
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: m.group(1) + REDACTED, text)
    return text


def _redact_value(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if value is None or isinstance(value, int | float):
        return value
    text = str(value)  # a URL object, an exception: redacted only if it carried a token
    cleaned = redact(text)
    return value if cleaned == text else cleaned


def redact_record(record: logging.LogRecord) -> None:
    """Redact ``record`` in place: message, arguments and the traceback's text."""
    if isinstance(record.msg, str):
        record.msg = redact(record.msg)
    if isinstance(record.args, tuple):
        record.args = tuple(_redact_value(arg) for arg in record.args)
    elif isinstance(record.args, Mapping):
        record.args = {key: _redact_value(arg) for key, arg in record.args.items()}
    if record.exc_info and record.exc_info[0] is not None:
        # Formatters use exc_text when it is set: give them the redacted one.
        text = "".join(traceback.format_exception(*record.exc_info))
        record.exc_text = redact(text.rstrip("\n"))
    if record.stack_info:
        record.stack_info = redact(record.stack_info)


class RedactingRecordFactory:
    """A logging record factory that redacts the records of LOGGERS (see the module)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def __call__(self, *args: Any, **kwargs: Any) -> logging.LogRecord:
        record: logging.LogRecord = self.inner(*args, **kwargs)
        if record.name.startswith(LOGGERS):
            redact_record(record)
        return record


def install_log_redaction() -> None:
    """Redact tokens in this process's log records (idempotent)."""
    current = logging.getLogRecordFactory()
    if not isinstance(current, RedactingRecordFactory):
        logging.setLogRecordFactory(RedactingRecordFactory(current))
