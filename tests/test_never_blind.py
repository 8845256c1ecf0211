"""Whatever a poll comes to, the feed stays on the schedule and the others go on.

In-process, against a real feed server, real worker processes and a real
SQLite file: a parse past its time limit, a worker killed mid-parse, an
exception nobody foresaw. Each failure is recorded against its own feed, which
is due again after its backoff; the healthy feed beside it still alerts.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from newswatch import config as config_module
from newswatch.daemon import close_pipeline, open_pipeline, poll_all
from newswatch.fetch import Fetcher
from newswatch.models import Config
from newswatch.workers import Parsers
from servers import FeedServer, Item, Webhook, rss
from test_odd_items import CASES as ODD_CASES

HEALTHY = [Item("Largest drone attack on Odesa", "https://healthy.example/1")]


def burner(items: int = 30000) -> str:
    """A feed that costs seconds of CPU to read (~5 s here): a DOCTYPE sends it to
    feedparser, which reads a few thousand items a second."""
    body = rss([Item(f"Story number {i} about nothing", f"https://burn.example/{i}",
                     "Some text. " * 20) for i in range(items)])
    return body.replace("<rss ", '<!DOCTYPE rss [<!ENTITY x "x">]>\n<rss ', 1)


def write(tmp_path: Path, feed_server: FeedServer, webhook: Webhook, feeds: list[str],
          extra: str = "") -> Path:
    text = f'[newswatch]\ndatabase = "nw.db"\nmax_body = "20MB"\n{extra}\n'
    for name in feeds:
        text += f'[[feeds]]\nname = "{name}"\nurl = "{feed_server.url(f"/{name}.xml")}"\n'
    text += (f'[[targets]]\nname = "hook"\nurl = "{webhook.apprise_url}"\n'
             "[[rules]]\nname = \"drones\"\nquery = '\"largest drone attack\"'\n")
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def feed_row(tmp_path: Path, name: str) -> dict[str, Any]:
    with sqlite3.connect(tmp_path / "nw.db") as conn:
        conn.row_factory = sqlite3.Row
        return dict(conn.execute("SELECT * FROM feeds WHERE name = ?", [name]).fetchone())


def due_again(row: dict[str, Any]) -> bool:
    """The feed has a next poll in the future: it is still on the schedule."""
    return bool(row["next_poll"]) and row["next_poll"] > row["last_poll"]


def children() -> list[int]:
    pids = []
    for task in os.listdir(f"/proc/{os.getpid()}/task"):
        with open(f"/proc/{os.getpid()}/task/{task}/children") as f:
            pids += [int(p) for p in f.read().split()]
    return pids


def burner_and_healthy(tmp_path: Path, feed_server: FeedServer, webhook: Webhook,
                       extra: str) -> Config:
    feed_server.publish("/burner.xml", burner())
    feed_server.publish("/healthy.xml", rss(HEALTHY))
    return config_module.load(write(tmp_path, feed_server, webhook, ["burner", "healthy"],
                                    extra))


def test_a_parse_past_its_time_limit_fails_that_feed_alone(
        tmp_path: Path, feed_server: FeedServer, webhook: Webhook) -> None:
    config = burner_and_healthy(tmp_path, feed_server, webhook,
                                'parse_timeout = "1s"\nparse_workers = 1')
    started = time.monotonic()
    results = {r.feed: r for r in asyncio.run(poll_all(config))}
    assert time.monotonic() - started < 15
    assert results["burner"].error == "parsing took longer than 1 s"
    assert results["healthy"].error is None and results["healthy"].alerts == 1
    assert len(webhook.wait_for(1)) == 1
    row = feed_row(tmp_path, "burner")
    assert row["last_error"] == "parsing took longer than 1 s" and row["error_count"] == 1
    assert due_again(row)

    # The killed worker was replaced: the next feed is read as usual.
    HEALTHY.append(Item("Largest drone attack on Lviv", "https://healthy.example/2"))
    try:
        feed_server.publish("/healthy.xml", rss(HEALTHY))
        results = {r.feed: r for r in asyncio.run(poll_all(config))}
        assert results["healthy"].alerts == 1
    finally:
        HEALTHY.pop()


def test_a_worker_killed_mid_parse_fails_only_the_feed_it_was_reading(
        tmp_path: Path, feed_server: FeedServer, webhook: Webhook) -> None:
    config = burner_and_healthy(tmp_path, feed_server, webhook, "parse_workers = 1")
    before = set(children())

    async def scenario() -> tuple[Any, Any]:
        pipeline = open_pipeline(config)
        try:
            poll = asyncio.create_task(pipeline.refresh(config.feeds[0]))
            for _ in range(200):  # the worker has started and taken the feed
                await asyncio.sleep(0.05)
                if feed_server.hits("/burner.xml") and set(children()) - before:
                    break
            await asyncio.sleep(1.5)  # well into feedparser's seconds on it
            for pid in set(children()) - before:
                os.kill(pid, signal.SIGKILL)
            burned = await poll
            return burned, await pipeline.refresh(config.feeds[1])
        finally:
            await close_pipeline(pipeline)

    burned, healthy = asyncio.run(scenario())
    assert burned.error is not None and "worker process died" in burned.error
    assert healthy.error is None and healthy.alerts == 1
    assert due_again(feed_row(tmp_path, "burner"))


class _Unforeseen(httpx.AsyncBaseTransport):
    """A transport that fails in a way no one wrote a handler for (anything can)."""

    def __init__(self, real: httpx.AsyncBaseTransport, path: str) -> None:
        self.real, self.path = real, path

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == self.path:
            raise RuntimeError("something nobody foresaw")
        return await self.real.handle_async_request(request)

    async def aclose(self) -> None:
        await self.real.aclose()


def test_an_unforeseen_exception_is_recorded_against_its_feed(
        tmp_path: Path, feed_server: FeedServer, webhook: Webhook) -> None:
    feed_server.publish("/odd.xml", rss(HEALTHY))
    feed_server.publish("/healthy.xml", rss(HEALTHY[:1]))
    config = config_module.load(write(tmp_path, feed_server, webhook, ["odd", "healthy"]))

    async def scenario() -> list[Any]:
        pipeline = open_pipeline(config)
        await pipeline.fetcher.aclose()
        pipeline.fetcher = Fetcher(config.settings,
                                   _Unforeseen(httpx.AsyncHTTPTransport(), "/odd.xml"))
        try:
            results = [await pipeline.refresh(f) for f in config.feeds]
            await pipeline.deliver()
            return results
        finally:
            await close_pipeline(pipeline)

    odd, healthy = asyncio.run(scenario())
    assert odd.error == "internal error: RuntimeError: something nobody foresaw"
    assert healthy.alerts == 1 and len(webhook.wait_for(1)) == 1
    row = feed_row(tmp_path, "odd")
    assert row["error_count"] == 1 and row["last_error"] == odd.error
    assert due_again(row)


def test_a_body_seen_before_is_not_parsed_again(
        tmp_path: Path, feed_server: FeedServer, webhook: Webhook) -> None:
    """A server without ETag or Last-Modified that sends the same bytes: no parse."""
    feed_server.publish("/healthy.xml", rss(HEALTHY))
    config = config_module.load(write(tmp_path, feed_server, webhook, ["healthy"]))

    async def scenario() -> tuple[int, int]:
        pipeline = open_pipeline(config)
        try:
            await pipeline.refresh(config.feeds[0])
            pipeline.parsers.close()
            # Parsers with no time at all: any parse now fails.
            pipeline.parsers = Parsers(config, workers=0, time_limit=1e-9)
            second = await pipeline.refresh(config.feeds[0])
            assert second.error is None, second.error
            return pipeline.stats["unchanged"], pipeline.stats["polls"]
        finally:
            await close_pipeline(pipeline)

    assert asyncio.run(scenario()) == (1, 2)
    assert feed_row(tmp_path, "healthy")["polls"] == 2


def test_once_lists_failed_feeds_and_exits_zero(
        tmp_path: Path, feed_server: FeedServer, webhook: Webhook) -> None:
    import subprocess
    import sys

    feed_server.publish("/healthy.xml", rss(HEALTHY))
    path = write(tmp_path, feed_server, webhook, ["healthy"])
    url = "http://127.0.0.1:9/feed"  # nothing listens: refused
    path.write_text(path.read_text() + f'[[feeds]]\nname = "down"\nurl = "{url}"\n')
    done = subprocess.run([sys.executable, "-m", "newswatch", "-c", str(path), "once"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "feed down:" in done.stderr
    assert "polled 2 feeds (1 failed)" in done.stdout
    assert len(webhook.wait_for(1)) == 1
    assert datetime.now(UTC).isoformat() > feed_row(tmp_path, "down")["last_poll"][:19]


@pytest.mark.parametrize("case", ODD_CASES, ids=[c[0] for c in ODD_CASES])
def test_an_odd_item_never_keeps_the_valid_one_beside_it_from_alerting(
        case: tuple[str, bytes, Any], tmp_path: Path, feed_server: FeedServer,
        webhook: Webhook) -> None:
    """Each odd input once reported to stop its feed for good, through the whole
    pipeline: fetched, parsed in a worker, matched, stored, alerted."""
    _, body, _ = case
    json_body = body.lstrip().startswith(b"{")
    feed_server.publish("/odd.xml", body, content_type="application/feed+json" if json_body
                        else "application/rss+xml")
    config = config_module.load(write(tmp_path, feed_server, webhook, ["odd"],
                                      'parse_workers = 1\nbackfill = "0s"'))
    first = asyncio.run(poll_all(config))  # a first poll records what is there
    assert first[0].error is None, first[0].error
    assert due_again(feed_row(tmp_path, "odd"))
    # Published after the first poll: the valid article alerts.
    later = body.replace(b"https://ok.example/valid", b"https://ok.example/valid-2")
    feed_server.publish("/odd.xml", later.replace(b'"id": "valid"', b'"id": "valid-2"'),
                        content_type="application/feed+json" if json_body
                        else "application/rss+xml")
    [result] = asyncio.run(poll_all(config))
    assert result.error is None and result.alerts == 1, result
    [message] = webhook.wait_for(1)
    assert "Largest drone attack on Odesa" in message["title"]
