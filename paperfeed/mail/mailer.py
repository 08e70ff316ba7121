"""Mailers: where composed messages go. ``SmtpMailer`` (real delivery), ``ConsoleMailer``
(development: prints them) and ``MemoryMailer`` (tests: keeps them).

``SmtpMailer`` reads ``PAPERFEED_SMTP_URL``: ``smtp://user:pass@host:587`` upgrades with
STARTTLS, ``smtps://user:pass@host:465`` speaks TLS from the start. It refuses to send a
password over an unencrypted link to a host that is not this machine. It keeps up to
``smtp_concurrency`` connections open and reuses them, retries 4xx replies and dropped
connections with exponential backoff, and raises :class:`PermanentMailError` on 5xx.
"""

from __future__ import annotations

import contextlib
import ipaddress
import queue
import random
import smtplib
import ssl
import sys
import threading
import time
from email.message import EmailMessage
from typing import TYPE_CHECKING, Protocol, TextIO, Union
from urllib.parse import parse_qs, unquote, urlsplit

from paperfeed.config import Settings

if TYPE_CHECKING:
    from .mime import OutgoingMail


class MailError(Exception):
    """A message could not be delivered; ``code`` is the SMTP reply code if there was one."""

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


class TransientMailError(MailError):
    """Worth trying again later (4xx, dropped connection, timeout)."""


class PermanentMailError(MailError):
    """The server refused the message for good (5xx): record it against the address."""


class InsecureSmtpError(ValueError):
    """Credentials would travel in clear text to a remote host."""


Message = Union[EmailMessage, "OutgoingMail"]


def as_email(message: Message) -> EmailMessage:
    """An EmailMessage view of either kind of message."""
    return message if isinstance(message, EmailMessage) else message.parsed()


class Mailer(Protocol):
    """Something that delivers composed messages (an EmailMessage, or the ready bytes of
    :class:`paperfeed.mail.mime.OutgoingMail`). ``send`` is thread-safe and raises
    TransientMailError / PermanentMailError when delivery fails."""

    def send(self, message: Message) -> None: ...

    def close(self) -> None: ...


class MemoryMailer:
    """Keeps every message in ``messages`` (tests, previews)."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self._lock = threading.Lock()

    def send(self, message: Message) -> None:
        parsed = as_email(message)
        with self._lock:
            self.messages.append(parsed)

    def close(self) -> None:
        pass


class ConsoleMailer:
    """Prints each message's headers and plain-text part (development without SMTP)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout
        self._lock = threading.Lock()

    def send(self, message: Message) -> None:
        message = as_email(message)
        body = message.get_body(("plain",))
        text = body.get_content() if body is not None else ""
        with self._lock:
            print(f"--- mail to {message['To']}: {message['Subject']}", file=self.stream)
            print(f"Message-ID: {message['Message-ID']}", file=self.stream)
            print(text, file=self.stream)

    def close(self) -> None:
        pass


def is_local_host(host: str) -> bool:
    """True for localhost and loopback addresses (clear-text auth is acceptable there)."""
    if host.lower() in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_auth_allowed(host: str, *, encrypted: bool, has_credentials: bool) -> None:
    """Raise InsecureSmtpError when a password would cross the network unencrypted."""
    if has_credentials and not encrypted and not is_local_host(host):
        raise InsecureSmtpError(
            f"refusing to send SMTP credentials to {host} over an unencrypted connection: "
            "use smtps:// or a server that offers STARTTLS"
        )


class SmtpMailer:
    """Delivers over SMTP with pooled, reused connections (see the module docstring)."""

    def __init__(
        self,
        url: str,
        *,
        concurrency: int = 4,
        timeout: float = 30.0,
        retries: int = 3,
        retry_base_seconds: float = 2.0,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps"):
            raise ValueError(f"SMTP URL must start with smtp:// or smtps://, not {url!r}")
        self.host = parts.hostname or "localhost"
        self.implicit_tls = parts.scheme == "smtps"
        self.port = parts.port or (465 if self.implicit_tls else 587)
        self.username = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        local = is_local_host(self.host)
        self.starttls = query.get("starttls", "auto" if local else "require")
        if self.starttls not in ("auto", "require", "off"):
            raise ValueError("starttls must be auto, require or off")
        self.verify = query.get("verify", "1") not in ("0", "false", "no")
        if self.starttls == "off" and not self.implicit_tls:
            check_auth_allowed(
                self.host, encrypted=False, has_credentials=self.username is not None
            )
        self.timeout = timeout
        self.retries = retries
        self.retry_base_seconds = retry_base_seconds
        self._slots = threading.BoundedSemaphore(max(1, concurrency))
        self._idle: queue.LifoQueue[smtplib.SMTP] = queue.LifoQueue()
        self.connections_opened = 0

    def _tls_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context()
        if not self.verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context

    def _connect(self) -> smtplib.SMTP:
        client: smtplib.SMTP
        if self.implicit_tls:
            client = smtplib.SMTP_SSL(
                self.host, self.port, timeout=self.timeout, context=self._tls_context()
            )
            encrypted = True
        else:
            client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            client.ehlo()
            encrypted = False
            if self.starttls != "off" and client.has_extn("starttls"):
                client.starttls(context=self._tls_context())
                client.ehlo()
                encrypted = True
            elif self.starttls == "require":
                client.close()
                raise InsecureSmtpError(f"{self.host} does not offer STARTTLS")
        if self.username is not None:
            try:
                check_auth_allowed(self.host, encrypted=encrypted, has_credentials=True)
            except InsecureSmtpError:
                client.close()
                raise
            try:
                client.login(self.username, self.password or "")
            except smtplib.SMTPException as exc:
                client.close()
                # A configuration problem, not the recipient's: defer, never record a bounce.
                raise TransientMailError(f"SMTP login to {self.host} failed: {exc}") from exc
        self.connections_opened += 1
        return client

    def _checkout(self) -> smtplib.SMTP:
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            return self._connect()

    def send(self, message: Message) -> None:
        """Deliver ``message``; retries transient failures, raises MailError subclasses."""
        with self._slots:
            last: MailError | None = None
            for attempt in range(self.retries + 1):
                if attempt:
                    delay = self.retry_base_seconds * 2 ** (attempt - 1)
                    time.sleep(delay * random.uniform(0.8, 1.2))
                client: smtplib.SMTP | None = None
                try:
                    client = self._checkout()
                    if isinstance(message, EmailMessage):
                        client.send_message(message)
                    else:
                        client.sendmail(message.sender, [message.recipient], message.data)
                except InsecureSmtpError:
                    raise
                except smtplib.SMTPServerDisconnected as exc:
                    last = TransientMailError(f"connection lost: {exc}")
                    if client is not None:
                        self._discard(client)
                    continue
                except smtplib.SMTPException as exc:
                    failure = self._classify(exc)
                    if client is not None:
                        if failure.code == 421:  # the server is closing the connection
                            self._discard(client)
                        else:
                            self._release_after_error(client)
                    if isinstance(failure, PermanentMailError):
                        raise failure from exc
                    last = failure
                    continue
                except OSError as exc:  # refused, reset, timed out
                    last = TransientMailError(f"connection failed: {exc}")
                    if client is not None:
                        self._discard(client)
                    continue
                self._idle.put(client)
                return
            assert last is not None
            raise last

    @staticmethod
    def _classify(exc: Exception) -> MailError:
        code: int | None = None
        if isinstance(exc, smtplib.SMTPSenderRefused):
            # Our From: address was refused: a configuration problem, not the recipient's.
            return TransientMailError(f"sender refused: {str(exc)[:280]}", exc.smtp_code)
        if isinstance(exc, smtplib.SMTPRecipientsRefused):
            codes = [c for c, _ in exc.recipients.values()]
            code = max(codes) if codes else None
        elif isinstance(exc, smtplib.SMTPResponseException):
            code = exc.smtp_code
        text = str(exc)[:300]
        if code is not None and 500 <= code < 600:
            return PermanentMailError(text, code)
        return TransientMailError(text, code)

    def _release_after_error(self, client: smtplib.SMTP) -> None:
        try:
            client.rset()
        except (smtplib.SMTPException, OSError):
            self._discard(client)
            return
        self._idle.put(client)

    @staticmethod
    def _discard(client: smtplib.SMTP) -> None:
        with contextlib.suppress(OSError):
            client.close()

    def close(self) -> None:
        """Say QUIT on every idle connection."""
        while True:
            try:
                client = self._idle.get_nowait()
            except queue.Empty:
                return
            try:
                client.quit()
            except (smtplib.SMTPException, OSError):
                self._discard(client)


def mailer_from_settings(settings: Settings) -> Mailer:
    """SmtpMailer for smtp:// and smtps:// URLs, MemoryMailer for ``memory://``, else console."""
    url = settings.smtp_url.strip()
    if url.startswith(("smtp://", "smtps://")):
        return SmtpMailer(
            url,
            concurrency=settings.smtp_concurrency,
            timeout=settings.smtp_timeout_seconds,
            retries=settings.smtp_retries,
            retry_base_seconds=settings.smtp_retry_base_seconds,
        )
    if url == "memory://":
        return MemoryMailer()
    return ConsoleMailer()
