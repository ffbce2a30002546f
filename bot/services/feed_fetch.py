"""Fetching a feed over HTTP: conditional, bounded, and never into the bot's own network.

Any group admin can name a feed URL, so the URL is hostile until proven otherwise:

* **Where it connects.** The address check happens when aiohttp connects, not before: the
  session's resolver (:class:`GuardedResolver`) refuses a name that resolves to a loopback,
  private, link-local, CGNAT (100.64.0.0/10), 6to4 (2002::/16), multicast, reserved or otherwise
  non-public address, and aiohttp connects only to the addresses that resolver returned. A name
  that answers "public" once and "127.0.0.1" the next time (DNS rebinding) is caught on the
  connection itself. IP literals never reach a resolver, so each hop's literal is checked too.
  Redirects are followed by hand, every hop through the same guard. ``scheduler.feed_allow_private``
  switches the guard off (for a feed on the operator's own LAN).
* **How much it reads.** The body is read to the end, up to ``MAX_BODY``; a larger one is refused
  with a reason (never cut short and parsed as if whole), so the ETag / Last-Modified of a feed
  are only returned, and saved, after a full read.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urljoin, urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult

__all__ = [
    "MAX_BODY",
    "MAX_REDIRECTS",
    "FetchResult",
    "Fetcher",
    "GuardedResolver",
    "HttpFetcher",
    "RefusedAddress",
    "refused_reason",
]

MAX_BODY = 5 * 1024 * 1024
MAX_REDIRECTS = 5
_CHUNK = 64 * 1024

_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_SIX_TO_FOUR = ipaddress.ip_network("2002::/16")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")

AddressPolicy = Callable[[str], "str | None"]


@dataclass(frozen=True)
class FetchResult:
    status: int  # HTTP status; 0 when the server could not be reached
    body: bytes = b""
    etag: str | None = None
    last_modified: str | None = None
    error: str | None = None


class Fetcher(Protocol):
    async def fetch(self, url: str, *, etag: str | None, last_modified: str | None) -> FetchResult: ...


def refused_reason(address: str) -> str | None:
    """Why the bot must not connect to ``address`` (an IP), or None for a public address."""
    try:
        ip: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return "not an IP address"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip in _SIX_TO_FOUR:
            return "6to4"
        if ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        elif ip in _NAT64:
            ip = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    checks = (
        (ip.is_loopback, "loopback"),
        (ip.is_unspecified, "unspecified"),
        (ip.is_link_local, "link-local"),
        (ip.is_multicast, "multicast"),
        (isinstance(ip, ipaddress.IPv4Address) and ip in _CGNAT, "shared (CGNAT)"),
        (ip.is_reserved, "reserved"),
        (ip.is_private, "private"),
        (not ip.is_global, "not public"),
    )
    for refused, reason in checks:
        if refused:
            return reason
    return None


class RefusedAddress(OSError):
    """A host resolved (or was written as) an address the bot must not connect to."""

    def __init__(self, host: str, address: str, reason: str) -> None:
        super().__init__(f"{host} resolves to {address} ({reason})")
        self.host, self.address, self.reason = host, address, reason


class GuardedResolver(AbstractResolver):
    """Resolves through ``inner`` and refuses the answer when any address is not public."""

    def __init__(self, inner: AbstractResolver | None = None, *, policy: AddressPolicy = refused_reason) -> None:
        self.inner = inner if inner is not None else aiohttp.ThreadedResolver()
        self.policy = policy

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self.inner.resolve(host, port, family)
        for result in results:
            reason = self.policy(result["host"])
            if reason is not None:
                raise RefusedAddress(host, result["host"], reason)
        return results

    async def close(self) -> None:
        await self.inner.close()


def _refusal(exc: BaseException) -> RefusedAddress | None:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, RefusedAddress):
            return seen
        seen = getattr(seen, "os_error", None) or seen.__cause__
    return None


def _size(n: int) -> str:
    return f"{n / (1024 * 1024):g} MB" if n >= 1024 * 1024 else f"{n:,} bytes"


def _private_message(address: str) -> str:
    return f"the address points into a private network ({address})"


class HttpFetcher:
    """aiohttp GET with conditional headers, a timeout, a size limit and the connect-time address guard.

    ``resolver`` is the name resolver under the guard (tests inject one; default: the system's).
    ``policy`` decides which addresses are refused (default :func:`refused_reason`).
    """

    def __init__(
        self,
        *,
        timeout_s: float = 20.0,
        user_agent: str = "Steward feed reader (+self-hosted bot)",
        allow_private: bool = False,
        resolver: AbstractResolver | None = None,
        policy: AddressPolicy = refused_reason,
        max_body: int = MAX_BODY,
    ) -> None:
        self.timeout_s = timeout_s
        self.user_agent = user_agent
        self.allow_private = allow_private
        self.resolver = resolver
        self.policy = policy
        self.max_body = max_body

    def _connector(self) -> aiohttp.TCPConnector:
        inner = self.resolver if self.resolver is not None else aiohttp.ThreadedResolver()
        resolver: AbstractResolver = inner if self.allow_private else GuardedResolver(inner, policy=self.policy)
        return aiohttp.TCPConnector(resolver=resolver, use_dns_cache=False, force_close=True)

    def _literal_refused(self, url: str) -> str | None:
        """An IP literal is connected to without any resolver: check it here (it cannot change later)."""
        host = urlsplit(url).hostname
        if not host:
            return "no host"
        try:
            ipaddress.ip_address(host.split("%", 1)[0])
        except ValueError:
            return None  # a name: the resolver checks it at connect time
        return None if self.policy(host) is None else host

    async def fetch(self, url: str, *, etag: str | None, last_modified: str | None) -> FetchResult:
        headers = {"User-Agent": self.user_agent, "Accept": "application/rss+xml, application/atom+xml, */*"}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        timeout = aiohttp.ClientTimeout(total=self.timeout_s)
        try:
            async with aiohttp.ClientSession(timeout=timeout, connector=self._connector()) as session:
                # Redirects are followed by hand so that every hop goes through the guard.
                for _hop in range(MAX_REDIRECTS + 1):
                    if not self.allow_private:
                        literal = self._literal_refused(url)
                        if literal is not None:
                            return FetchResult(0, error=_private_message(literal))
                    async with session.get(url, headers=headers, allow_redirects=False) as resp:
                        if resp.status in (301, 302, 303, 307, 308) and resp.headers.get("Location"):
                            url = urljoin(url, resp.headers["Location"])
                            continue
                        return await self._read(resp, etag=etag, last_modified=last_modified)
                return FetchResult(0, error=f"more than {MAX_REDIRECTS} redirects")
        except TimeoutError:
            return FetchResult(0, error=f"no answer within {self.timeout_s:g} s")
        except aiohttp.ClientError as exc:
            refused = _refusal(exc)
            if refused is not None:
                return FetchResult(0, error=_private_message(refused.address))
            if isinstance(exc, aiohttp.ClientPayloadError):
                return FetchResult(0, error="the server closed the connection before the whole feed arrived")
            return FetchResult(0, error=f"could not reach the server ({type(exc).__name__})")
        except RefusedAddress as exc:
            return FetchResult(0, error=_private_message(exc.address))
        except ValueError as exc:  # invalid URL
            return FetchResult(0, error=f"invalid address ({exc})")

    async def _read(self, resp: Any, *, etag: str | None, last_modified: str | None) -> FetchResult:
        if resp.status == 304:
            return FetchResult(304, etag=etag, last_modified=last_modified)
        if resp.status >= 400:
            return FetchResult(resp.status, error=f"the server answered {resp.status} {resp.reason or ''}".strip())
        too_large = FetchResult(
            resp.status, error=f"the feed is larger than {_size(self.max_body)}, so it was not read"
        )
        if resp.content_length is not None and resp.content_length > self.max_body:
            return too_large
        # Read to the end: content.read(n) returns only what is buffered, which silently cut large feeds
        # short (and their ETag then hid the missing items for good).
        chunks: list[bytes] = []
        size = 0
        async for chunk in resp.content.iter_chunked(_CHUNK):
            size += len(chunk)
            if size > self.max_body:
                return too_large
            chunks.append(chunk)
        # Only a body read whole carries the validators that will be saved with the feed.
        body = b"".join(chunks)
        return FetchResult(resp.status, body, resp.headers.get("ETag"), resp.headers.get("Last-Modified"))
