import socket

import pytest

from tests.conftest import NetworkAccessError


def test_outside_network_is_refused() -> None:
    with pytest.raises(NetworkAccessError):
        socket.create_connection(("192.0.2.1", 443), timeout=0.1)


def test_name_resolution_outside_loopback_is_refused() -> None:
    with pytest.raises(NetworkAccessError):
        socket.getaddrinfo("api.telegram.org", 443)


def test_loopback_is_allowed() -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    try:
        with socket.create_connection(server.getsockname(), timeout=1):
            pass
    finally:
        server.close()


# --------------------------------------------------------------------------- feeds (issue #13, points 2 and 3)
#
# The feed fetcher checks addresses when it connects (the session's resolver), on every redirect hop,
# and reads a body whole or refuses it. A local aiohttp server stands in for the feed's host; names
# resolve through an injected resolver (or a patched getaddrinfo), so nothing leaves loopback.

import asyncio  # noqa: E402
import socket as _socket  # noqa: E402
from collections.abc import AsyncIterator  # noqa: E402
from typing import Any  # noqa: E402

from aiohttp import web  # noqa: E402
from aiohttp.abc import AbstractResolver, ResolveResult  # noqa: E402

from bot.services.feeds import HttpFetcher  # noqa: E402
from tests.local_server import serve  # noqa: E402

RSS = (
    b'<?xml version="1.0"?><rss version="2.0"><channel><title>Coffee Daily</title>'
    b"<item><title>Beans</title><link>https://example.org/1</link><guid>1</guid></item></channel></rss>"
)
BIG = 5 * 1024 * 1024  # the fetcher's limit


class FeedHost:
    def __init__(self) -> None:
        self.requests: list[str] = []
        self.port = 0

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(request.path)
        if request.path == "/rss.xml":
            return web.Response(body=RSS, headers={"ETag": '"v1"', "Content-Type": "application/rss+xml"})
        if request.path == "/hop-to-name":
            raise web.HTTPFound(f"http://inner.example:{self.port}/rss.xml")
        if request.path == "/hop-to-metadata":
            raise web.HTTPFound("http://169.254.169.254/latest/meta-data/")
        if request.path in ("/big", "/huge"):
            # Streamed in pieces, without a Content-Length: the whole body is never buffered at once.
            size = BIG - 1000 if request.path == "/big" else BIG + 1000
            response = web.StreamResponse(headers={"ETag": '"big"', "Content-Type": "application/rss+xml"})
            await response.prepare(request)
            piece = RSS[: -len(b"</channel></rss>")] + b"<!--" + b"x" * (256 * 1024) + b"-->"
            sent = 0
            while sent + len(piece) < size:
                await response.write(piece)
                sent += len(piece)
                await asyncio.sleep(0)
            await response.write(b"-" * (size - sent - 16) + b"</channel></rss>")
            await response.write_eof()
            return response
        if request.path == "/declared-huge":
            return web.Response(body=b"x" * (BIG + 1), headers={"ETag": '"h"'})
        raise web.HTTPNotFound()


@pytest.fixture
async def feed_host() -> AsyncIterator[FeedHost]:
    host = FeedHost()
    app = web.Application()
    app.router.add_route("GET", "/{tail:.*}", host.handle)
    runner, host.port = await serve(app)
    try:
        yield host
    finally:
        await runner.cleanup()


class NamesResolver(AbstractResolver):
    """A resolver a test controls: name → address (any port is the one asked for)."""

    def __init__(self, names: dict[str, str]) -> None:
        self.names = names
        self.asked: list[str] = []

    async def resolve(
        self, host: str, port: int = 0, family: _socket.AddressFamily = _socket.AF_INET
    ) -> list[ResolveResult]:
        self.asked.append(host)
        address = self.names[host]
        return [
            ResolveResult(
                hostname=host, host=address, port=port, family=_socket.AF_INET, proto=0, flags=_socket.AI_NUMERICHOST
            )
        ]

    async def close(self) -> None:
        return None


def _only_the_test_host(address: str) -> str | None:
    """The real policy, except that the test's own server on 127.0.0.1 counts as a public host."""
    from bot.services.feed_fetch import refused_reason

    return None if address == "127.0.0.1" else refused_reason(address)


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("10.1.2.3", "private"),
        ("192.168.0.10", "private"),
        ("172.16.5.4", "private"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("100.64.0.1", "shared (CGNAT)"),
        ("100.127.255.254", "shared (CGNAT)"),
        ("2002:c0a8:0101::1", "6to4"),
        ("224.0.0.251", "multicast"),
        ("ff02::1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("0.0.0.0", "unspecified"),
        ("::ffff:10.0.0.1", "private"),
        ("::ffff:127.0.0.1", "loopback"),
        ("64:ff9b::a00:1", "private"),
        ("fc00::1", "private"),
        ("192.0.2.1", "private"),
        ("93.184.216.34", None),
        ("2606:4700::1111", None),
        ("8.8.8.8", None),
    ],
)
def test_refused_addresses(address: str, reason: str | None) -> None:
    from bot.services.feed_fetch import refused_reason

    assert refused_reason(address) == reason


class RebindingResolver(NamesResolver):
    """Answers the first lookup with one address and every later lookup with another (DNS rebinding)."""

    def __init__(self, first: str, then: str) -> None:
        super().__init__({})
        self.first, self.then = first, then

    async def resolve(
        self, host: str, port: int = 0, family: _socket.AddressFamily = _socket.AF_INET
    ) -> list[ResolveResult]:
        self.names[host] = self.first if not self.asked else self.then
        return await super().resolve(host, port, family)


async def test_dns_rebinding_cannot_slip_between_check_and_connect(feed_host: FeedHost) -> None:
    """The old code looked the name up to check it and aiohttp looked it up again to connect: a name that
    answered "public" then "private" got through. Now the one lookup that is checked is the one connected to."""
    # 127.0.0.1 plays the public host (the test's server); 127.0.0.2 the private address behind it.
    resolver = RebindingResolver(first="127.0.0.1", then="127.0.0.2")
    fetcher = HttpFetcher(resolver=resolver, policy=_only_the_test_host)
    first = await fetcher.fetch(f"http://rebind.example:{feed_host.port}/rss.xml", etag=None, last_modified=None)
    assert first.status == 200 and first.body == RSS
    assert resolver.asked == ["rebind.example"]  # checked once, connected to what was checked
    second = await fetcher.fetch(f"http://rebind.example:{feed_host.port}/rss.xml", etag=None, last_modified=None)
    assert second.error == "the address points into a private network (127.0.0.2)"
    assert feed_host.requests == ["/rss.xml"]


async def test_the_system_resolver_is_guarded_too(feed_host: FeedHost, monkeypatch: pytest.MonkeyPatch) -> None:
    loop = asyncio.get_running_loop()
    lookups: list[str] = []

    async def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
        lookups.append(host)
        return [(_socket.AF_INET, _socket.SOCK_STREAM, 6, "", ("127.0.0.1", int(port or 0)))]

    monkeypatch.setattr(loop, "getaddrinfo", getaddrinfo)
    result = await HttpFetcher().fetch(
        f"http://intranet.example:{feed_host.port}/rss.xml", etag=None, last_modified=None
    )
    assert result.error == "the address points into a private network (127.0.0.1)"
    assert lookups == ["intranet.example"] and feed_host.requests == []


async def test_injected_resolver_decides_where_a_name_connects(feed_host: FeedHost) -> None:
    names = {"feed.example": "127.0.0.1", "cgnat.example": "100.64.7.7", "sixtofour.example": "2002:a00:1::1"}
    for host in names:
        refused = await HttpFetcher(resolver=NamesResolver(names)).fetch(
            f"http://{host}:{feed_host.port}/rss.xml", etag=None, last_modified=None
        )
        assert refused.error == f"the address points into a private network ({names[host]})"
    assert feed_host.requests == []
    # scheduler.feed_allow_private = true: the operator's own LAN feed is read.
    allowed = await HttpFetcher(resolver=NamesResolver(names), allow_private=True).fetch(
        f"http://feed.example:{feed_host.port}/rss.xml", etag=None, last_modified=None
    )
    assert allowed.status == 200 and allowed.body == RSS and allowed.etag == '"v1"'


async def test_every_redirect_hop_is_checked(feed_host: FeedHost) -> None:
    resolver = NamesResolver({"feed.example": "127.0.0.1", "inner.example": "127.0.0.2"})
    fetcher = HttpFetcher(resolver=resolver, policy=_only_the_test_host)
    to_name = await fetcher.fetch(f"http://feed.example:{feed_host.port}/hop-to-name", etag=None, last_modified=None)
    assert to_name.error == "the address points into a private network (127.0.0.2)"
    assert resolver.asked == ["feed.example", "inner.example"]
    to_literal = await fetcher.fetch(
        f"http://feed.example:{feed_host.port}/hop-to-metadata", etag=None, last_modified=None
    )
    assert to_literal.error == "the address points into a private network (169.254.169.254)"
    assert feed_host.requests == ["/hop-to-name", "/hop-to-metadata"]  # neither target was reached


def test_private_addresses_are_off_by_default_in_config() -> None:
    from bot.config import Settings

    assert Settings().scheduler.feed_allow_private is False


async def test_a_large_feed_is_read_whole(feed_host: FeedHost) -> None:
    result = await HttpFetcher(allow_private=True).fetch(
        f"http://127.0.0.1:{feed_host.port}/big", etag=None, last_modified=None
    )
    assert result.error is None
    assert len(result.body) == BIG - 1000 and result.body.endswith(b"</channel></rss>")
    assert result.etag == '"big"'


@pytest.mark.parametrize("path", ["/huge", "/declared-huge"])
async def test_a_feed_over_the_limit_is_refused_without_its_validators(feed_host: FeedHost, path: str) -> None:
    result = await HttpFetcher(allow_private=True).fetch(
        f"http://127.0.0.1:{feed_host.port}{path}", etag=None, last_modified=None
    )
    assert result.error == "the feed is larger than 5 MB, so it was not read"
    assert result.body == b"" and result.etag is None and result.last_modified is None
