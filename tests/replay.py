"""A tiny HTTP server on 127.0.0.1 replaying recorded upstream responses.

Routes map a path (and optionally a query substring) to a queue of responses; each request
pops the next one (the last one repeats), and every request is logged for assertions.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/xml; charset=utf-8"
    truncate_to: int | None = None  # send a Content-Length larger than the body sent
    delay: float = 0.0


@dataclass
class Logged:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    at: float


class ReplayServer:
    def __init__(self) -> None:
        self.routes: list[tuple[str, str, list[Reply]]] = []
        self.log: list[Logged] = []
        self._lock = threading.Lock()
        handler = self._make_handler()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def add(self, path: str, *replies: Reply, query_contains: str = "") -> None:
        """Queue replies for requests to ``path`` whose query contains ``query_contains``."""
        self.routes.append((path, query_contains, list(replies)))

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def _next_reply(self, path: str, query: str) -> Reply:
        with self._lock:
            for route_path, needle, replies in self.routes:
                if route_path == path and needle in query:
                    return replies.pop(0) if len(replies) > 1 else replies[0]
        return Reply(status=404, body=b"not recorded", content_type="text/plain")

    def _make_handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:  # keep test output clean
                pass

            def do_GET(self) -> None:
                self._answer()

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode() if length else ""
                self._answer(extra_query=body)

            def _answer(self, extra_query: str = "") -> None:
                parts = urlsplit(self.path)
                query = "&".join(q for q in (parts.query, extra_query) if q)
                server.log.append(
                    Logged(self.command, parts.path, query, dict(self.headers), time.monotonic())
                )
                reply = server._next_reply(parts.path, query)
                if reply.delay:
                    time.sleep(reply.delay)
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.content_type)
                body = reply.body
                if reply.truncate_to is not None:
                    self.send_header("Content-Length", str(len(body)))
                    body = body[: reply.truncate_to]
                else:
                    self.send_header("Content-Length", str(len(body)))
                for k, v in reply.headers.items():
                    self.send_header(k, v)
                self.end_headers()
                try:
                    self.wfile.write(body)
                    self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    pass
                if reply.truncate_to is not None:
                    self.close_connection = True

        return Handler
