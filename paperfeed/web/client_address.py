"""Who is asking: the client address behind a reverse proxy, and its rate-limit key.

Behind nginx or Caddy every request arrives from the proxy's address, so per-client limits
(log-in, sign-up, search) would be one budget for the whole site. :class:`ClientAddress`
is a pure-ASGI middleware that runs before everything else and rewrites ``scope["client"]``
(what ``request.client.host`` reads) and ``scope["scheme"]``:

- only when the TCP peer is in ``trusted_proxies`` (addresses/CIDRs) are forwarded headers
  read at all; anyone else's ``X-Forwarded-For`` / ``X-Forwarded-Proto`` are ignored, so a
  visitor cannot pick its own address;
- the client is the right-most ``X-Forwarded-For`` entry that is not itself a trusted proxy
  (entries to its left were written by the client and prove nothing);
- ``X-Forwarded-Proto`` (http or https) from a trusted proxy becomes the scheme.

uvicorn's own ``proxy_headers`` stay off (``paperfeed serve`` passes
``proxy_headers=False``) so the headers are applied once, here.

:func:`client_key` is the key every per-client limit uses: the address, with IPv6 clients
bucketed by their /64 (one host usually owns a whole /64, so per-address IPv6 limits would be
free to evade).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def parse_networks(spec: str | Iterable[str]) -> list[IPNetwork]:
    """``"10.0.0.1, 192.168.0.0/16, ::1"`` -> networks; ValueError names a bad entry."""
    items = spec.split(",") if isinstance(spec, str) else list(spec)
    networks: list[IPNetwork] = []
    for item in items:
        text = item.strip()
        if not text:
            continue
        try:
            networks.append(ipaddress.ip_network(text, strict=False))
        except ValueError:
            raise ValueError(f"not an IP address or CIDR network: {text!r}") from None
    return networks


def parse_address(text: str) -> IPAddress | None:
    """An address from a header entry (``1.2.3.4``, ``1.2.3.4:5678``, ``[::1]:80``), or None."""
    text = text.strip().strip('"')
    if text.startswith("["):
        text = text[1:].split("]", 1)[0]
    elif text.count(":") == 1:  # IPv4 with a port; bare IPv6 has several colons
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _trusted(address: IPAddress | None, networks: list[IPNetwork]) -> bool:
    return address is not None and any(address in net for net in networks)


def forwarded_client(peer: str, forwarded_for: list[str],
                     networks: list[IPNetwork]) -> str | None:
    """The client address a trusted ``peer`` vouches for, or None to keep the peer.

    ``forwarded_for`` holds every X-Forwarded-For header value, in order."""
    if not networks or not _trusted(parse_address(peer), networks):
        return None
    entries = [e for value in forwarded_for for e in value.split(",") if e.strip()]
    chosen: str | None = None
    for entry in reversed(entries):
        address = parse_address(entry)
        if address is None:
            break  # garbage can only come from the client's side: stop at the last hop
        chosen = str(address)
        if not _trusted(address, networks):
            return chosen
    return chosen  # every hop was a trusted proxy: the left-most valid one


class ClientAddress:
    """ASGI middleware: the real client address and scheme behind trusted proxies."""

    def __init__(self, app: ASGIApp, trusted_proxies: str | Iterable[str] = "") -> None:
        self.app = app
        self.networks = parse_networks(trusted_proxies)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and self.networks:
            peer = scope.get("client")
            if peer:
                headers = scope.get("headers") or []
                forwarded = [v.decode("latin-1") for k, v in headers
                             if k.lower() == b"x-forwarded-for"]
                client = forwarded_client(str(peer[0]), forwarded, self.networks)
                if client is not None:
                    scope = dict(scope)
                    scope["client"] = (client, 0)
                    proto = [v.decode("latin-1") for k, v in headers
                             if k.lower() == b"x-forwarded-proto"]
                    scheme = proto[-1].split(",")[-1].strip().lower() if proto else ""
                    if scheme in ("http", "https"):
                        ws = scope["type"] == "websocket"
                        scope["scheme"] = {"http": "ws", "https": "wss"}[scheme] if ws else scheme
        await self.app(scope, receive, send)


def client_key(request: Request) -> str:
    """The per-client rate-limit key: the address, IPv6 as its /64 network."""
    host = request.client.host if request.client else ""
    address = parse_address(host)
    if address is None:
        return host or "unknown"
    if isinstance(address, ipaddress.IPv6Address):
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)
