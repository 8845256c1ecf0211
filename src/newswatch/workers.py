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
import itertools
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures.process import BrokenProcessPool
from datetime import datetime
from typing import TypeVar

from pebble import ProcessExpired, ProcessPool

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
    """Worker processes that parse feeds and match articles (workers=0: a local thread).

    Each task has a time limit: a worker past it is killed and replaced, and the
    feed it was reading fails with "parsing took longer than ...". A worker that
    dies (out of memory, killed) fails only the feed it was reading. New rules
    start a new pool; the old one finishes what it was given under the old rules.
    """

    def __init__(self, config: Config, workers: int | None = None,
                 time_limit: float | None = None) -> None:
        self.config = config
        self.workers = (os.cpu_count() or 1) if workers is None else workers
        self.time_limit = time_limit or config.settings.parse_timeout
        self.pool: ProcessPool | None = None
        self.local: Rules | None = None
        self.started: dict[int, float] = {}  # task id -> monotonic time it was handed over
        self._ids = itertools.count()

    def reconfigure(self, config: Config) -> None:
        """New rules: a new pool compiles them; the old one finishes its queue, then ends."""
        old, self.pool = self.pool, None
        self.config, self.local = config, None
        self.time_limit = config.settings.parse_timeout
        if old is not None:
            old.close()  # type: ignore[no-untyped-call]  # does not wait: queued and running tasks still complete
            threading.Thread(target=old.join, daemon=True).start()

    def _pool(self) -> ProcessPool:
        if self.pool is None:
            self.pool = ProcessPool(
                self.workers, context=multiprocessing.get_context("spawn"),
                initializer=_start_worker, initargs=(os.getpid(), self.config))
        return self.pool

    async def parse(self, feed: str, body: bytes, headers: dict[str, str],
                    encoding: str = "", cap: int = 2**62) -> ParsedFeed:
        """Parse a body, decompressing it first if `encoding` says it is compressed."""
        args = (feed, body, headers, encoding, cap)
        if self.workers == 0:
            return await self._in_thread(read_feed, *args)
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
            return await self._in_thread(lambda: [m for a in articles if (m := rules.match(a))])
        matches: list[Match] = await self._run(_match, articles)
        return matches

    async def _in_thread(self, function: Callable[..., T], *args: object) -> T:
        # A thread cannot be killed: past the limit the feed fails, the thread runs on.
        try:
            return await asyncio.wait_for(asyncio.to_thread(function, *args), self.time_limit)
        except TimeoutError:
            raise ParseError(self._too_long()) from None

    async def _run(self, function: Callable[..., T], *args: object) -> T:
        task = next(self._ids)
        self.started[task] = time.monotonic()
        try:
            pool = self._pool()
            try:
                return await self._schedule(pool, function, args)
            except BrokenProcessPool:
                # pebble gives up a whole pool when a worker dies with none of the
                # queued tasks running yet: that failed no task of its own, so a fresh
                # pool takes this one (only the pool that broke is discarded: another
                # task may have started a fresh one already).
                self._discard(pool)
                pool = self._pool()
                return await self._schedule(pool, function, args)
        except TimeoutError:
            raise ParseError(self._too_long()) from None
        except ProcessExpired as e:
            raise ParseError(f"a worker process died while reading this feed "
                             f"(exit code {e.exitcode})") from None
        except BrokenProcessPool as e:  # twice: the workers cannot start at all
            self._discard(pool)
            raise ParseError(f"the parse workers stopped: {e}") from None
        finally:
            del self.started[task]

    async def _schedule(self, pool: ProcessPool, function: Callable[..., T],
                        args: tuple[object, ...]) -> T:
        future = pool.schedule(function, args=args, timeout=self.time_limit)
        # The pool kills a task past its limit; should it fail to, the feed still fails.
        try:
            return await asyncio.wait_for(asyncio.wrap_future(future), self._allowed() + 30)
        except TimeoutError:
            future.cancel()  # type: ignore[no-untyped-call]
            raise

    def _allowed(self) -> float:
        """The longest a task may take, waiting behind those in flight included."""
        return self.time_limit * (1 + len(self.started) / max(1, self.workers))

    def _too_long(self) -> str:
        return f"parsing took longer than {self.time_limit:g} s"

    def stuck(self) -> int:
        """Tasks in flight for longer than the limit allows, queueing included: a pool
        that should have killed them has not."""
        if not self.started:
            return 0
        allowed = self._allowed() + 15.0
        now = time.monotonic()
        return sum(1 for t in self.started.values() if now - t > allowed)

    def _discard(self, pool: ProcessPool) -> None:
        if self.pool is pool:
            self.pool = None
        pool.stop()  # type: ignore[no-untyped-call]
        # join() lets the pool fail its pending futures and reap its workers.
        threading.Thread(target=pool.join, daemon=True).start()

    def close(self) -> None:
        """Stop the workers now (shutting down: unfinished work is abandoned)."""
        if self.pool is not None:
            self.pool.stop()  # type: ignore[no-untyped-call]
            self.pool.join(timeout=5)
            self.pool = None
