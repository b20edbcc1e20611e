"""Which names a browser may reach kb's page and API by: the defence against DNS rebinding.

A page on evil.example whose name is made to resolve to 127.0.0.1 talks to a loopback `kb serve` as
if it were the user at the machine, and the browser lets it read the answers: same origin, as far as
the browser knows. What it cannot hide is the name: every request carries ``Host: evil.example``.
So kb answers only to names that cannot be rebound: loopback names, IP addresses (a rebinding page
has a name, not an address) and the names the office lists in ``allowed_hosts``. A websocket or a
request that changes something must moreover come from a page of the same origin (or of a listed
name): that stops a page elsewhere from opening the page's websocket on 127.0.0.1 itself.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable, Iterable
from urllib.parse import urlsplit

LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain"})
# Methods that read only; anything else must come from kb's own page (or a listed name).
_READING = frozenset({"GET", "HEAD", "OPTIONS"})

Asgi = Callable[[dict, Callable[[], Awaitable[dict]], Callable[[dict], Awaitable[None]]], Awaitable[None]]


def _name_of(host: str) -> str:
    """`Kb.Lan:8501` -> kb.lan; `[::1]:8501` -> ::1."""
    host = host.strip().lower().rstrip(".")
    if host.startswith("["):
        return host[1:host.find("]")] if "]" in host else host[1:]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def _is_address(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


class HostRule:
    """The names kb answers to. ``allowed`` are the office's names (``allowed_hosts``); ``*`` among
    them turns the check off (for a proxy in front that checks names itself)."""

    def __init__(self, allowed: Iterable[str] = ()):
        names = {_name_of(name) for name in allowed if name.strip()}
        self.any = "*" in names
        self.names = frozenset(names - {"*"})

    def allows_host(self, host: str | None) -> bool:
        """A request's Host header. None (an HTTP/1.0 client, never a browser) names nothing to rebind."""
        if host is None or self.any:
            return True
        name = _name_of(host)
        return name in LOOPBACK_NAMES or name.endswith(".localhost") or name in self.names or _is_address(name)

    def allows_origin(self, origin: str | None, host: str | None) -> bool:
        """A browser's Origin for a websocket or a change: the page's own origin, or a listed name."""
        if origin is None or self.any:
            return True  # not a browser (browsers send Origin on every websocket and every POST/PUT)
        origin_host = urlsplit(origin).netloc.lower()
        if not origin_host:
            return False  # "null": a sandboxed frame or a file on disk
        return origin_host == (host or "").strip().lower() or _name_of(origin_host) in self.names


def _header(scope: dict, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return value.decode("latin-1")
    return None


def guard_hosts(app: Asgi, rule: HostRule, check_origin: bool) -> Asgi:
    """``app`` behind ``rule``: a request naming another host gets 403 with what to set, and so, with
    ``check_origin``, does a websocket or change from another origin. A pure ASGI wrapper, so it goes in
    front of Streamlit's server and FastAPI alike."""

    async def guarded(scope: dict, receive, send) -> None:
        if scope["type"] not in ("http", "websocket"):
            return await app(scope, receive, send)
        host = _header(scope, b"host")
        why = None
        if not rule.allows_host(host):
            why = (f"kb does not answer to the name {host!r}: open it by this machine's address, or add "
                   f"the name to allowed_hosts in kb.toml")
        elif check_origin and (scope["type"] == "websocket" or scope.get("method") not in _READING):
            origin = _header(scope, b"origin")
            if not rule.allows_origin(origin, host):
                why = f"kb does not take this from a page of {origin!r}, another site than kb's own"
        if why is None:
            return await app(scope, receive, send)
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008, "reason": why[:120]})
            return None
        return await refuse(send, 403, why)

    return guarded


async def refuse(send, status: int, why: str) -> None:
    """An HTTP answer of ``status`` whose body says ``why``, in plain text."""
    body = why.encode("utf-8")
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
