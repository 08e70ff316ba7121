"""Fast MIME for bulk mail: a composed digest as ready-to-send bytes.

``email.message.EmailMessage`` takes about 1.6 ms to build and flatten a digest; at
100,000 digests that alone would cap delivery near 600 messages/s on one core. This module
writes the same multipart/alternative structure directly (7-bit: RFC 2047 headers,
quoted-printable bodies, CRLF line ends) in about a tenth of that time. Transactional
messages keep using :func:`paperfeed.mail.messages.compose`.
"""

from __future__ import annotations

import binascii
import datetime as dt
import email
import email.policy
import uuid
from dataclasses import dataclass
from email.header import Header
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, parseaddr

from paperfeed.config import Settings

from .messages import RenderedMessage


@dataclass(frozen=True, slots=True)
class OutgoingMail:
    """A message as the SMTP server will receive it: envelope and bytes."""

    sender: str
    recipient: str
    data: bytes

    def parsed(self) -> EmailMessage:
        """The message parsed back (for the console and memory mailers, and tests)."""
        return email.message_from_bytes(self.data, policy=email.policy.default)


def _header(name: str, value: str) -> bytes:
    value = " ".join(value.split())  # no CR/LF: no header injection
    if value.isascii():
        return f"{name}: {value}\r\n".encode("ascii")
    encoded = Header(value, "utf-8", header_name=name).encode(linesep="\r\n")
    return f"{name}: {encoded}\r\n".encode("ascii")


def _qp(text: str) -> bytes:
    body = binascii.b2a_qp(text.replace("\r\n", "\n").encode("utf-8"), quotetabs=False,
                           istext=True)
    return body.replace(b"\n", b"\r\n")


def compose_raw(
    settings: Settings,
    to: str,
    rendered: RenderedMessage,
    *,
    message_id: str,
    headers: dict[str, str] | None = None,
    date: dt.datetime | None = None,
) -> OutgoingMail:
    """``rendered`` for ``to`` as multipart/alternative bytes (text part, then HTML)."""
    name, address = parseaddr(settings.mail_from)
    boundary = f"=_paperfeed_{uuid.uuid4().hex}"
    parts = [
        _header("From", formataddr((name, address), charset="utf-8")),
        _header("To", to),
        _header("Subject", rendered.subject),
        _header("Date", format_datetime(date or dt.datetime.now(dt.UTC))),
        _header("Message-ID", message_id),
    ]
    parts += [_header(k, v) for k, v in (headers or {}).items()]
    parts.append(
        b"MIME-Version: 1.0\r\n"
        b'Content-Type: multipart/alternative; boundary="' + boundary.encode() + b'"\r\n\r\n'
    )
    for subtype, body in (("plain", rendered.text), ("html", rendered.html)):
        parts.append(
            b"--" + boundary.encode() + b"\r\n"
            b'Content-Type: text/' + subtype.encode() + b'; charset="utf-8"\r\n'
            b"Content-Transfer-Encoding: quoted-printable\r\n\r\n" + _qp(body) + b"\r\n"
        )
    parts.append(b"--" + boundary.encode() + b"--\r\n")
    return OutgoingMail(sender=address, recipient=to, data=b"".join(parts))
