"""The fetcher against a real local HTTP server."""

from __future__ import annotations

import asyncio
import socket
import time
from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from newswatch.bodies import decode
from newswatch.errors import FetchError
from newswatch.fetch import Fetcher, Response, public_url, retry_after
from newswatch.models import Settings
from servers import FeedServer, Route

SETTINGS = Settings(database=Path("unused.db"), timeout=2.0, max_body=100_000)


def fetch(url: str, settings: Settings = SETTINGS, **kwargs: str | None) -> Response:
    async def go() -> Response:
        fetcher = Fetcher(settings)
        try:
            return await fetcher.fetch(url, **kwargs)
        finally:
            await fetcher.aclose()
    return asyncio.run(go())


def test_conditional_get_returns_304_with_the_etag(feed_server: FeedServer) -> None:
    url = feed_server.publish("/f.xml", "<rss/>", etag='"v1"',
                              last_modified="Tue, 24 Nov 2026 06:30:00 GMT")
    first = fetch(url)
    assert (first.status, first.body, first.etag) == (200, b"<rss/>", '"v1"')
    assert first.last_modified == "Tue, 24 Nov 2026 06:30:00 GMT"
    second = fetch(url, etag=first.etag, last_modified=first.last_modified)
    assert second.not_modified and second.body == b""
    _, headers = feed_server.requests[-1]
    assert headers["If-None-Match"] == '"v1"'
    assert headers["If-Modified-Since"] == "Tue, 24 Nov 2026 06:30:00 GMT"
    assert headers["User-Agent"].startswith("newswatch/")


@pytest.mark.parametrize("status", [404, 410, 500, 503])
def test_http_errors_carry_the_status(feed_server: FeedServer, status: int) -> None:
    url = feed_server.publish("/bad", "oops", status=status)
    with pytest.raises(FetchError) as e:
        fetch(url)
    assert e.value.status == status
    assert str(status) in str(e.value)


def test_slow_server_times_out_within_the_deadline(feed_server: FeedServer) -> None:
    url = feed_server.publish("/slow", "<rss/>", delay=5)
    started = time.monotonic()
    with pytest.raises(FetchError, match="timed out after 0.5s"):
        fetch(url, replace(SETTINGS, timeout=0.5))
    assert time.monotonic() - started < 2


def test_refused_connection_is_a_fetch_error() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(FetchError, match="connection failed"):
        fetch(f"http://127.0.0.1:{port}/feed")


def test_body_over_the_cap_is_refused(feed_server: FeedServer) -> None:
    url = feed_server.publish("/big", b"x" * 200_000)
    with pytest.raises(FetchError, match="body too large"):
        fetch(url)


def test_gzip_body_is_decoded_and_capped_after_decoding(feed_server: FeedServer) -> None:
    url = feed_server.publish("/small.gz", "<rss>hello</rss>", gzip=True)
    small = fetch(url)
    assert small.encoding == "gzip" and small.body != b"<rss>hello</rss>"  # decoded by a worker
    assert decode(small.body, small.encoding, 100_000) == b"<rss>hello</rss>"
    bomb = feed_server.publish("/bomb.gz", b"\0" * 5_000_000, gzip=True)  # ~5 KB on the wire
    response = fetch(bomb)
    assert len(response.body) < 10_000
    with pytest.raises(FetchError, match="body too large"):
        decode(response.body, response.encoding, 100_000)


def test_unknown_content_encoding_is_refused(feed_server: FeedServer) -> None:
    feed_server.routes["/br"] = Route(body=b"xx", headers={"Content-Encoding": "br"})
    with pytest.raises(FetchError, match="unsupported Content-Encoding"):
        fetch(feed_server.url("/br"))


def test_permanent_redirect_is_reported(feed_server: FeedServer) -> None:
    new = feed_server.publish("/new.xml", "<rss/>")
    feed_server.routes["/old.xml"] = Route(status=301, headers={"Location": new})
    response = fetch(feed_server.url("/old.xml"))
    assert response.status == 200 and response.moved_to == new


def test_redirect_loop_is_a_fetch_error(feed_server: FeedServer) -> None:
    feed_server.routes["/a"] = Route(status=302, headers={"Location": feed_server.url("/b")})
    feed_server.routes["/b"] = Route(status=302, headers={"Location": feed_server.url("/a")})
    with pytest.raises(FetchError, match="too many redirects"):
        fetch(feed_server.url("/a"))


def test_retry_after_in_seconds_and_as_a_date() -> None:
    assert retry_after("120") == 120
    assert retry_after("Wed, 25 Nov 2026 00:10:00 GMT", now=1795565400.0 - 600) == 600
    assert retry_after("soon") is None


def test_public_url_shows_the_url_polled_with_credentials_hidden() -> None:
    assert public_url("https://user:pw@feeds.example:8443/rss?outputType=xml&token=abc") == \
        "https://***@feeds.example:8443/rss?outputType=xml&token=***"


def test_dns_failure_is_named() -> None:
    # Resolving a name would send a query off this machine, so the resolver's
    # answer is played by a transport (the one stand-in in these tests).
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno -2] Name or service not known", request=request)

    async def go() -> None:
        fetcher = Fetcher(SETTINGS, transport=httpx.MockTransport(refuse))
        try:
            await fetcher.fetch("https://feeds.nowhere.example/rss")
        finally:
            await fetcher.aclose()

    with pytest.raises(FetchError, match="DNS lookup failed for feeds.nowhere.example"):
        asyncio.run(go())
