"""A real SMTP server (aiosmtpd) on 127.0.0.1 for mail tests and the delivery benchmark.

It records every accepted message and can misbehave on purpose: refuse chosen recipients
with 5xx, answer 4xx to DATA for a while, or drop the connection.
"""

from __future__ import annotations

import email
import email.policy
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    accepted_at: float = 0.0  # time.time() just before the 250 to DATA is returned

    @property
    def message(self) -> EmailMessage:
        return email.message_from_bytes(self.data, policy=email.policy.default)

    @property
    def message_id(self) -> str:
        return str(self.message["Message-ID"])


@dataclass
class SinkHandler:
    received: list[Received] = field(default_factory=list)
    refuse: dict[str, str] = field(default_factory=dict)  # rcpt -> "550 ..." reply
    data_reply: Callable[[int], str | None] | None = None  # attempt number -> reply or None
    on_message: Callable[[int], None] | None = None  # called with the count after each message
    parse: bool = True
    attempts: int = 0
    connections: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_EHLO(self, server: Any, session: Any, envelope: Any, hostname: str,
                          responses: list[str]) -> list[str]:
        with self.lock:
            self.connections += 1
        session.host_name = hostname
        return responses

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        reply = self.refuse.get(address.lower())
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.attempts += 1
            attempt = self.attempts
        if self.data_reply is not None:
            reply = self.data_reply(attempt)
            if reply:
                return reply
        with self.lock:
            self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos),
                                          bytes(envelope.content), time.time()))
            count = len(self.received)
        if self.on_message is not None:
            self.on_message(count)
        return "250 OK queued"


class SmtpSink:
    """Start with ``with SmtpSink() as sink:``; ``sink.url`` is the smtp:// URL."""

    def __init__(self, handler: SinkHandler | None = None) -> None:
        self.handler = handler or SinkHandler()
        self.port = free_port()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port,
                                     data_size_limit=10_000_000)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    @property
    def received(self) -> list[Received]:
        return self.handler.received

    def __enter__(self) -> SmtpSink:  # noqa: PYI034
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()
