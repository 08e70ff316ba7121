"""SmtpMailer against a real aiosmtpd server on 127.0.0.1: delivery, connection reuse,
bounded concurrency, 4xx retries with backoff, 5xx permanent, dropped connections, and the
refusal to send a password in clear text to a remote host."""

from __future__ import annotations

import threading
import time

import pytest

from paperfeed.mail.mailer import (
    ConsoleMailer,
    InsecureSmtpError,
    MemoryMailer,
    PermanentMailError,
    SmtpMailer,
    TransientMailError,
    check_auth_allowed,
    is_local_host,
    mailer_from_settings,
)
from paperfeed.mail.messages import compose, render_message

from .mail_corpus import mail_settings
from .smtp_sink import SinkHandler, SmtpSink


def message(settings, to="ada@example.org"):
    cfg = mail_settings(settings)
    rendered = render_message(cfg, "password_reset", {"url": "/reset/x", "username": "ada"})
    return compose(cfg, to, rendered)


def test_delivers_and_reuses_one_connection(settings):
    with SmtpSink() as sink:
        mailer = SmtpMailer(sink.url, concurrency=1)
        for i in range(5):
            mailer.send(message(settings, f"r{i}@example.org"))
        mailer.close()
    assert len(sink.received) == 5 and mailer.connections_opened == 1
    assert sink.handler.connections == 1
    assert sink.received[0].message["Subject"] == "Reset your paperfeed password"


def test_concurrency_is_bounded(settings):
    active, peak, lock = [0], [0], threading.Lock()

    def slow(_: int) -> None:
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        time.sleep(0.05)
        with lock:
            active[0] -= 1

    handler = SinkHandler(data_reply=lambda n: slow(n))  # type: ignore[func-returns-value]
    with SmtpSink(handler) as sink:
        mailer = SmtpMailer(sink.url, concurrency=2)
        threads = [
            threading.Thread(target=mailer.send, args=(message(settings),)) for _ in range(8)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        mailer.close()
    assert len(sink.received) == 8 and peak[0] <= 2 and mailer.connections_opened <= 2


def test_4xx_is_retried_with_backoff_then_succeeds(settings):
    handler = SinkHandler(data_reply=lambda n: "451 4.7.1 greylisted" if n <= 2 else None)
    with SmtpSink(handler) as sink:
        mailer = SmtpMailer(sink.url, retries=3, retry_base_seconds=0.05)
        started = time.monotonic()
        mailer.send(message(settings))
        elapsed = time.monotonic() - started
        mailer.close()
    assert len(sink.received) == 1 and handler.attempts == 3
    assert elapsed >= 0.05 * 0.8 + 0.1 * 0.8  # two backoff sleeps: 0.05 then 0.10


def test_4xx_gives_up_after_the_retries(settings):
    handler = SinkHandler(data_reply=lambda n: "452 4.3.1 insufficient storage")
    with SmtpSink(handler) as sink:
        mailer = SmtpMailer(sink.url, retries=2, retry_base_seconds=0.01)
        with pytest.raises(TransientMailError) as info:
            mailer.send(message(settings))
    assert info.value.code == 452 and handler.attempts == 3


def test_5xx_is_permanent_and_not_retried(settings):
    handler = SinkHandler(refuse={"nobody@example.org": "550 5.1.1 user unknown"})
    with SmtpSink(handler) as sink:
        mailer = SmtpMailer(sink.url, retries=3, retry_base_seconds=0.01)
        with pytest.raises(PermanentMailError) as info:
            mailer.send(message(settings, "nobody@example.org"))
        mailer.send(message(settings))  # the connection is still usable after RSET
        mailer.close()
    assert info.value.code == 550 and len(sink.received) == 1 and mailer.connections_opened == 1


def test_421_closing_connection_is_reopened(settings):
    handler = SinkHandler(data_reply=lambda n: "421 4.4.2 closing" if n == 1 else None)
    with SmtpSink(handler) as sink:
        mailer = SmtpMailer(sink.url, retries=2, retry_base_seconds=0.01)
        mailer.send(message(settings))
        mailer.close()
    assert len(sink.received) == 1 and mailer.connections_opened == 2


def test_refused_connection_is_transient(settings):
    from .smtp_sink import free_port

    mailer = SmtpMailer(f"smtp://127.0.0.1:{free_port()}", retries=1, retry_base_seconds=0.01)
    with pytest.raises(TransientMailError):
        mailer.send(message(settings))


def test_no_clear_text_password_to_a_remote_host():
    assert is_local_host("127.0.0.1") and is_local_host("localhost") and is_local_host("::1")
    assert not is_local_host("smtp.example.org")
    with pytest.raises(InsecureSmtpError):
        SmtpMailer("smtp://user:secret@smtp.example.org:25?starttls=off")
    with pytest.raises(InsecureSmtpError):
        check_auth_allowed("smtp.example.org", encrypted=False, has_credentials=True)
    check_auth_allowed("smtp.example.org", encrypted=True, has_credentials=True)
    check_auth_allowed("127.0.0.1", encrypted=False, has_credentials=True)
    remote = SmtpMailer("smtp://user:secret@smtp.example.org")
    assert remote.starttls == "require" and remote.port == 587
    tls = SmtpMailer("smtps://user:p%40ss@smtp.example.org")
    assert tls.implicit_tls and tls.port == 465 and tls.password == "p@ss"


def test_server_without_starttls_is_refused_when_required(settings):
    with SmtpSink() as sink:
        mailer = SmtpMailer(sink.url + "?starttls=require", retries=0)
        with pytest.raises(InsecureSmtpError):
            mailer.send(message(settings))
    assert not sink.received


def test_mailer_from_settings(settings):
    assert isinstance(mailer_from_settings(mail_settings(settings, "")), ConsoleMailer)
    assert isinstance(mailer_from_settings(mail_settings(settings, "memory://")), MemoryMailer)
    assert isinstance(
        mailer_from_settings(mail_settings(settings, "smtp://127.0.0.1:2525")), SmtpMailer
    )


def _self_signed(tmp_path):
    import shutil
    import ssl
    import subprocess

    if not shutil.which("openssl"):
        pytest.skip("openssl is not installed")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


def _authenticator(seen):
    from aiosmtpd.smtp import AuthResult, LoginPassword

    def check(server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
            b"mailer", b"s3cret p@ss")
        seen.append((mechanism, ok, session.ssl is not None))
        return AuthResult(success=ok)

    return check


@pytest.mark.parametrize("mode", ["starttls", "smtps"])
def test_tls_and_auth(settings, tmp_path, mode):
    from aiosmtpd.controller import Controller

    from .smtp_sink import free_port

    context = _self_signed(tmp_path)
    handler, seen, port = SinkHandler(), [], free_port()
    common = {"authenticator": _authenticator(seen), "auth_require_tls": mode == "starttls"}
    if mode == "starttls":
        controller = Controller(handler, hostname="127.0.0.1", port=port, tls_context=context,
                                require_starttls=True, **common)
        url = f"smtp://mailer:s3cret%20p%40ss@127.0.0.1:{port}?verify=0&starttls=require"
    else:
        controller = Controller(handler, hostname="127.0.0.1", port=port, ssl_context=context,
                                **common)
        url = f"smtps://mailer:s3cret%20p%40ss@127.0.0.1:{port}?verify=0"
    controller.start()
    try:
        mailer = SmtpMailer(url, retries=0)
        mailer.send(message(settings))
        mailer.send(message(settings))
        mailer.close()
    finally:
        controller.stop()
    assert len(handler.received) == 2 and mailer.connections_opened == 1
    assert seen and all(ok for _, ok, _ in seen)
    if mode == "starttls":
        assert all(encrypted for _, _, encrypted in seen)  # AUTH only after STARTTLS


def test_bad_credentials_defer_instead_of_bouncing(settings, tmp_path):
    from aiosmtpd.controller import Controller

    from .smtp_sink import free_port

    context = _self_signed(tmp_path)
    seen, port = [], free_port()
    controller = Controller(SinkHandler(), hostname="127.0.0.1", port=port, tls_context=context,
                            authenticator=_authenticator(seen), auth_require_tls=True)
    controller.start()
    try:
        mailer = SmtpMailer(f"smtp://mailer:wrong@127.0.0.1:{port}?verify=0", retries=0, timeout=2)
        with pytest.raises(TransientMailError, match="login"):
            mailer.send(message(settings))
    finally:
        controller.stop()
