"""The polite HTTP client: one feed URL in, bytes and headers out.

Conditional GET (ETag / Last-Modified), a User-Agent naming newswatch, a
total deadline per request (not just a read timeout), a body-size cap that
also holds for chunked and compressed bodies, redirects followed within a
limit, a global and a per-host concurrency limit, and Retry-After read.

A redirect from a public address into a private network (loopback, RFC 1918,
link-local: the operator's own machines) is refused unless the feed's own URL
is private too: any feed could otherwise make newswatch request an internal URL.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import re
import socket
import time
from collections import defaultdict
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx

from . import __version__
from .bodies import Decoder
from .errors import FetchError
from .models import Settings
from .urls import ip_literal, is_private, networks, redacted

log = logging.getLogger(__name__)

USER_AGENT = f"newswatch/{__version__} (news alert daemon; +https://pypi.org/project/newswatch/)"
MAX_RETRY_AFTER = 24 * 3600.0  # a server cannot silence a feed for longer than a day
_MAX_AGE = re.compile(r"(?:^|,)\s*max-age\s*=\s*(\d+)", re.I)
ACCEPT = ("application/rss+xml, application/atom+xml, application/feed+json, "
          "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5")
MAX_REDIRECTS = 5


@dataclass(frozen=True)
class Response:
    status: int  # 200 or 304
    url: str  # after redirects
    body: bytes = b""  # as sent: still compressed when `encoding` says so (see bodies.decode)
    headers: dict[str, str] = field(default_factory=dict)
    etag: str | None = None
    last_modified: str | None = None
    moved_to: str | None = None  # set when every redirect was permanent (301/308)
    retry_after: float | None = None
    fresh_for: float | None = None  # seconds, from Cache-Control max-age or Expires
    encoding: str = ""  # Content-Encoding of body: gzip, deflate or none

    @property
    def not_modified(self) -> bool:
        return self.status == 304


def retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (seconds or an HTTP date), capped."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), MAX_RETRY_AFTER)
    seconds = _seconds_until(value, now)
    return None if seconds is None else min(seconds, MAX_RETRY_AFTER)


def _seconds_until(http_date: str, now: float | None = None) -> float | None:
    try:
        when = email.utils.parsedate_to_datetime(http_date)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def fresh_for(headers: httpx.Headers, now: float | None = None) -> float | None:
    """How long a response says it stays fresh: Cache-Control max-age, else Expires."""
    if m := _MAX_AGE.search(headers.get("Cache-Control", "")):
        return float(m.group(1))
    expires = headers.get("Expires")
    return _seconds_until(expires, now) if expires else None


def public_url(url: str) -> str:
    """A URL safe to show: the one polled, with its credentials hidden."""
    return redacted(url)


class Fetcher:
    """Fetch feeds with one shared, small connection pool."""

    def __init__(self, settings: Settings, transport: httpx.AsyncBaseTransport | None = None):
        self.settings = settings
        self.client = httpx.AsyncClient(
            transport=transport,
            headers={"User-Agent": USER_AGENT, "Accept": ACCEPT,
                     "Accept-Encoding": "gzip, deflate"},
            # A small pool: httpx's per-request CPU grows with its size.
            limits=httpx.Limits(max_connections=settings.concurrency,
                                max_keepalive_connections=settings.concurrency),
            timeout=httpx.Timeout(settings.timeout),
            follow_redirects=True,
            max_redirects=MAX_REDIRECTS,
            event_hooks={"request": [self._check_redirect]},
        )
        self.private = networks(settings.private_networks)
        self.slots = asyncio.Semaphore(settings.concurrency)
        self.hosts: defaultdict[str, asyncio.Semaphore] = defaultdict(
            lambda: asyncio.Semaphore(settings.per_host))

    async def _check_redirect(self, request: httpx.Request) -> None:
        """Refuse a redirect hop into a private network from a public feed URL (the
        first request of each fetch is the configured URL: never checked)."""
        first = request.extensions.get("newswatch.first")
        if first is None or str(request.url) == first or self.settings.allow_private_redirects:
            return
        if request.extensions.get("newswatch.origin_private") is None:
            request.extensions["newswatch.origin_private"] = bool(
                await _private(httpx.URL(first), self.private))
        if request.extensions["newswatch.origin_private"]:
            return
        address = await _private(request.url, self.private)
        if address:
            raise _PrivateRedirect(f"{request.url.host} is {address}", request=request)

    async def aclose(self) -> None:
        await self.client.aclose()

    async def fetch(self, url: str, etag: str | None = None, last_modified: str | None = None,
                    extra: tuple[tuple[str, str], ...] = ()) -> Response:
        """GET a feed; raise FetchError for anything but 200 or 304.

        `extra`: the feed's own headers (a private feed's Authorization).
        """
        headers = dict(extra)
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        host = (urlsplit(url).hostname or "").lower()
        async with self.hosts[host], self.slots:
            try:
                async with asyncio.timeout(self.settings.timeout):
                    return await self._get(url, headers)
            except TimeoutError:
                raise FetchError(f"timed out after {self.settings.timeout:g}s") from None
            except _PrivateRedirect as e:
                raise FetchError(f"redirect to a private address refused ({e}); set "
                                 f"allow_private_redirects = true to follow it") from None
            except httpx.TooManyRedirects:
                raise FetchError(f"too many redirects (more than {MAX_REDIRECTS})") from None
            except httpx.ConnectTimeout:
                raise FetchError("connection timed out", network=True) from None
            except httpx.ConnectError as e:
                if "Name or service not known" in str(e) or "nodename nor servname" in str(e) \
                        or "Temporary failure in name resolution" in str(e):
                    raise FetchError(f"DNS lookup failed for {host}", network=True) from None
                raise FetchError(f"connection failed: {_reason(e)}", network=True) from None
            except httpx.DecodingError:
                raise FetchError("the body could not be decompressed") from None
            except httpx.HTTPError as e:
                raise FetchError(f"{type(e).__name__}: {_reason(e)}") from None

    async def _get(self, url: str, headers: dict[str, str]) -> Response:
        async with self.client.stream("GET", url, headers=headers,
                                      extensions={"newswatch.first": str(httpx.URL(url))}) as r:
            moved = None
            if r.history and all(h.status_code in (301, 308) for h in r.history):
                moved = str(r.url)
            wait = retry_after(r.headers.get("Retry-After"))
            if r.status_code == 304:
                return Response(304, str(r.url), moved_to=moved, retry_after=wait,
                                fresh_for=fresh_for(r.headers))
            if r.status_code != 200:
                raise FetchError(f"HTTP {r.status_code} {r.reason_phrase}".strip(), r.status_code,
                                 retry_after=wait)
            body = await self._read(r)
            encoding = r.headers.get("Content-Encoding", "").strip().lower()
            return Response(
                200, str(r.url), body, dict(r.headers.items()),
                encoding="" if encoding == "identity" else encoding,
                etag=r.headers.get("ETag"), last_modified=r.headers.get("Last-Modified"),
                moved_to=moved, retry_after=wait, fresh_for=fresh_for(r.headers))

    async def _read(self, r: httpx.Response) -> bytes:
        cap = self.settings.max_body
        declared = r.headers.get("Content-Length", "")
        encoding = r.headers.get("Content-Encoding", "")
        if declared.isdigit() and int(declared) > cap and not encoding:
            raise FetchError(f"body too large ({int(declared)} bytes; the limit is {cap})")
        Decoder(encoding, cap)  # refuses an encoding it could not decode
        chunks: list[bytes] = []
        size = 0
        # Raw bytes, capped as they come; decompressed (with the same cap) by decode().
        async for chunk in r.aiter_raw():
            size += len(chunk)
            if size > cap:
                raise FetchError(f"body too large (over {cap} bytes)")
            chunks.append(chunk)
        return b"".join(chunks)


class _PrivateRedirect(httpx.RequestError):
    "A redirect led from a public address into a private network"


async def _addresses(host: str, port: int) -> list[str]:
    """The addresses a host name resolves to (itself when it is an address)."""
    literal = ip_literal(host)
    if literal:
        return [literal]
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port,
                                                             type=socket.SOCK_STREAM)
    except OSError:
        return []  # the connection will fail and say so
    return [str(info[4][0]) for info in infos]


async def _private(url: httpx.URL, private: tuple[object, ...]) -> str | None:
    """The first private address a URL's host resolves to, or None."""
    port = url.port or (443 if url.scheme == "https" else 80)
    for address in await _addresses(url.host, port):
        if is_private(address, private):  # type: ignore[arg-type]
            return address
    return None


def _reason(e: Exception) -> str:
    text = str(e) or type(e).__name__
    # httpx messages may quote the URL, which can hold tokens.
    return text.split(" for url ")[0]
