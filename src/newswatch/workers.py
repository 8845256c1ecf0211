"""Parsing and matching in worker processes, so every core works and the event loop stays free.

feedparser is pure Python and costs milliseconds per feed, and matching a
long article costs a fraction of one; in the daemon's process either would
hold the GIL that the event loop and the sending threads need. Workers are
spawned fresh (never forked from the threaded daemon), compile the rules
once, ignore SIGINT and SIGTERM (the daemon decides when they stop), and die
with the daemon even when it is killed with SIGKILL: no orphans.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import datetime
from typing import TypeVar

from .bodies import decode
from .errors import FetchError, ParseError
from .matching import Rules
from .models import Article, Config, Match
from .parse import ParsedFeed, parse_feed

T = TypeVar("T")
PR_SET_PDEATHSIG = 1
_rules: Rules | None = None  # in a worker: the rule set it matches with


def _start_worker(owner: int, config: Config) -> None:
    global _rules
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    _die_with_parent()
    threading.Thread(target=_exit_with, args=(owner,), daemon=True).start()
    _rules = Rules.compile(config)


def _die_with_parent() -> None:
    """Ask Linux to SIGKILL this worker when its parent dies."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass  # not Linux: the watcher thread below does the same, within a second


def _exit_with(owner: int) -> None:
    """End this worker once its parent is gone (it was adopted by another process)."""
    while True:
        if os.getppid() != owner:
            os._exit(0)
        time.sleep(1.0)


def read_feed(feed: str, body: bytes, headers: dict[str, str], encoding: str,
              cap: int) -> ParsedFeed:
    """Decompress (bounded) and parse a feed body: the CPU-heavy half of a poll."""
    try:
        data = decode(body, encoding, cap)
    except FetchError as e:
        raise ParseError(str(e)) from None
    return parse_feed(feed, data, headers)


def _match(articles: list[Article]) -> list[Match]:
    assert _rules is not None
    return [m for a in articles if (m := _rules.match(a))]


def _alertable(articles: list[Article], since: datetime) -> list[Article]:
    """A new feed's articles worth an alert: those published since `since`."""
    return [a for a in articles if a.published and a.published >= since]


def _read_and_match(feed: str, body: bytes, headers: dict[str, str], encoding: str, cap: int,
                    since: datetime) -> tuple[ParsedFeed, list[Match]]:
    parsed = read_feed(feed, body, headers, encoding, cap)
    return parsed, _match(_alertable(parsed.articles, since))


class Parsers:
    """Worker processes that parse feeds and match articles (workers=0: a local thread)."""

    def __init__(self, config: Config, workers: int | None = None) -> None:
        self.config = config
        self.workers = (os.cpu_count() or 1) if workers is None else workers
        self.pool: ProcessPoolExecutor | None = None
        self.local: Rules | None = None

    def reconfigure(self, config: Config) -> None:
        """New rules: workers started from now on compile them."""
        self.close()
        self.config, self.local = config, None

    def _pool(self) -> ProcessPoolExecutor:
        if self.pool is None:
            self.pool = ProcessPoolExecutor(
                self.workers, mp_context=multiprocessing.get_context("spawn"),
                initializer=_start_worker, initargs=(os.getpid(), self.config))
        return self.pool

    async def parse(self, feed: str, body: bytes, headers: dict[str, str],
                    encoding: str = "", cap: int = 2**62) -> ParsedFeed:
        """Parse a body, decompressing it first if `encoding` says it is compressed."""
        args = (feed, body, headers, encoding, cap)
        if self.workers == 0:
            return await asyncio.to_thread(read_feed, *args)
        parsed: ParsedFeed = await self._run(read_feed, *args)
        return parsed

    async def parse_and_match(self, feed: str, body: bytes, headers: dict[str, str],
                              encoding: str, cap: int, since: datetime,
                              ) -> tuple[ParsedFeed, list[Match]]:
        """A feed never polled before, in one trip: every article is new, so parse it
        and match those published since `since` (the caller keeps the matches of
        the articles it finds unseen)."""
        if self.workers == 0 or not self.config.rules:
            parsed = await self.parse(feed, body, headers, encoding, cap)
            return parsed, await self.match(_alertable(parsed.articles, since))
        found: tuple[ParsedFeed, list[Match]] = await self._run(
            _read_and_match, feed, body, headers, encoding, cap, since)
        return found

    async def match(self, articles: list[Article]) -> list[Match]:
        """The articles that match a rule, with the rules and a snippet."""
        if not articles or not self.config.rules:
            return []
        if self.workers == 0:
            if self.local is None:
                self.local = Rules.compile(self.config)
            rules = self.local
            return await asyncio.to_thread(lambda: [m for a in articles if (m := rules.match(a))])
        matches: list[Match] = await self._run(_match, articles)
        return matches

    async def _run(self, function: Callable[..., T], *args: object) -> T:
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._pool(), function, *args)
        except BrokenProcessPool:
            self.close()  # a worker died (out of memory?): start afresh next time
            raise ParseError("a worker process died while reading this feed") from None

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None
