"""The poll loop: claim the feeds that are due, refresh each, record what came of it.

    tick: claim due feeds in the store (next poll moved on by a lease) -> refresh each
    refresh: fetch -> not modified? -> parse and match (in a worker, time-limited) ->
             keep unseen articles -> store them and their alerts -> record the outcome

Whatever a refresh comes to, even an exception nobody foresaw, is written to
the feed's row as its error with its next poll after a backoff; if even that
write fails (the disk is full), the claim's lease brings the feed back. No
exception leaves a refresh, and none leaves the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import random
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from .backends import database_errors
from .claims import claim_for
from .decide import (
    FeedState,
    FeedUpdate,
    Outcome,
    after_poll,
    after_reload,
    first_poll_after_start,
    lease,
)
from .errors import FetchError, NewswatchError, ParseError
from .fetch import Response, public_url
from .models import Article, Config, Feed, Match
from .network import Network
from .parse import ParsedFeed, with_base
from .realert import NO_EDITS, Edits, Realert
from .realert import queue as queue_edits

if TYPE_CHECKING:
    from .pipeline import Pipeline

log = logging.getLogger(__name__)
DATABASE_ERRORS = database_errors()
TICK = 1.0  # seconds between looks for due feeds when no poll finishes sooner
Later = Callable[[], object]  # a step run once the commit is done
SpawnFn = Callable[[Coroutine[Any, Any, None]], None]  # starts a task the daemon owns


@dataclass
class PollResult:
    feed: str
    status: int | None = None
    new: int = 0
    alerts: int = 0
    error: str | None = None
    matches: int = 0


class Poller:
    def __init__(self, pipeline: Pipeline) -> None:
        self.p = pipeline
        self.network = Network()
        # In this process now, since when: not claimed twice. A poll still here after
        # its lease lapsed is forgotten, so that nothing in memory keeps a feed unpolled.
        self.polling: dict[str, datetime] = {}
        self.resync: Config | None = None  # a config whose feeds still need a row
        self.finished = asyncio.Event()
        self.last_tick: datetime | None = None
        self.realert = Realert()

    # -- the loop ----------------------------------------------------------------

    async def run(self, stopping: asyncio.Event, spawn: SpawnFn) -> None:
        """Claim and start due feeds until `stopping` is set."""
        while not stopping.is_set():
            self.tick(spawn)
            self.finished.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.finished.wait(), TICK)

    def tick(self, spawn: SpawnFn) -> list[Feed]:
        """Start a poll of each feed that is due, as many as there is room for."""
        p = self.p
        config, clock = p.config, p.clock()
        self.last_tick = clock
        for name, since in list(self.polling.items()):
            feed = config.feed(name)
            if feed is None or clock - since > lease(feed, config.settings) * 2:
                del self.polling[name]
        room = 4 * config.settings.concurrency - len(self.polling)
        feeds = {f.name: f for f in config.feeds if f.name not in self.polling}
        try:
            p.store.beat(clock, config.settings.instance)
            if self.resync is not None:  # a reload could not schedule its feeds then
                self.schedule(self.resync)
            # An instance unseen for `failover` is dead: its claims lapse now.
            claimed = p.store.claim_due(
                feeds, clock, room, lambda f: lease(f, config.settings),
                config.settings.instance,
                clock - timedelta(seconds=config.settings.failover))
            p.write_failed(None)
        except (*DATABASE_ERRORS, NewswatchError) as e:  # type: ignore[misc]
            p.write_failed(e)
            log.error("cannot claim due feeds: %s; trying again in %gs", e, TICK)
            return []
        for feed in claimed:
            self.polling[feed.name] = clock
            spawn(self._poll(feed, config))
        return claimed

    async def _poll(self, feed: Feed, config: Config) -> None:
        try:
            result = await self.refresh(feed, config)
        finally:
            self.polling.pop(feed.name, None)
            self.finished.set()
        if result.alerts:
            self.p.delivery.wake()
        if result.new and config.about_rules:
            self.p.embedder.wake()

    # -- one refresh ---------------------------------------------------------------

    async def refresh(self, feed: Feed, config: Config | None = None) -> PollResult:
        """Poll one feed under `config` (the one it started with); never raises but
        for cancellation."""
        config = config or self.p.config
        async with self.p.in_flight:
            # From here: its next poll is an interval after this one's fetch, however
            # long the claimed feed waited for its turn.
            started = self.p.clock()
            try:
                result = await self._refresh(feed, config, started)
            except asyncio.CancelledError:
                raise
            except Exception as e:  # noqa: BLE001 - recorded against the feed, never lost
                result = self._failed(feed, config, started, e)
        stats = self.p.stats
        stats["polls"] += 1
        stats["poll_errors"] += result.error is not None
        stats["articles"] += result.new
        stats["matches"] += result.matches
        return result

    async def _refresh(self, feed: Feed, config: Config, started: datetime) -> PollResult:
        p = self.p
        state = p.store.feed_state(feed.name).for_url(feed.url)
        if state.disabled:  # 410 Gone: only a new URL in the config brings it back
            return PollResult(feed.name, error=f"disabled: {state.disabled}")
        response = await p.fetcher.fetch(state.fetch_url or feed.url, state.etag,
                                         state.last_modified, feed.headers)
        if self.network.record(feed.name, ok=True, when=started):
            self._network_back(config)
        digest = hashlib.sha256(response.body).hexdigest() if response.body else None
        if response.not_modified or (digest is not None and digest == state.body_hash):
            p.stats["unchanged"] += 1
            self._record(feed, config, state, started, _outcome(response, digest))
            log.debug("feed=%s not modified", feed.name)
            return PollResult(feed.name, response.status)
        settings = config.settings
        # Relative links are read against the URL the body came from, after redirects.
        headers = with_base(response.headers, response.url or feed.url)
        args = (feed.name, response.body, headers, response.encoding, settings.max_body)
        edits = NO_EDITS
        if not state.polled:  # first poll: older articles are recorded, not alerted
            cutoff = started - timedelta(seconds=settings.backfill)
            parsed, matches = await p.parsers.parse_and_match(*args, cutoff)
        else:
            parsed = await p.parsers.parse(*args)
            matches = await p.parsers.match(p.store.unseen(parsed.articles,
                                                           claim_for(config)))
            edits = await self.realert.edits(p.store, feed.name, parsed.articles, config)
        if parsed.warning:
            log.info("feed=%s %s", feed.name, parsed.warning)
        if response.moved_to:
            log.warning("feed=%s moved permanently to %s; polling it there (update the config)",
                        feed.name, public_url(response.moved_to))
        outcome = _outcome(response, digest, parsed.ttl, response.moved_to or state.fetch_url)
        return self._store(feed, config, state, started, parsed, matches, outcome, edits)

    def schedule(self, config: Config) -> None:
        """A reloaded config's feeds in the schedule: new and moved ones due now, the
        others as they were (raises when the database cannot be written; `resync` is
        left set so the next tick tries again)."""
        self.resync = config
        now = self.p.clock()
        self.p.store.sync_feeds(config.feeds, lambda f, s: after_reload(f, s, now), now)
        self.resync = None

    def forget_backoff(self, config: Config) -> None:
        """Every feed due within one interval (spread over it), a server's Retry-After
        still honoured: at start, and when the network answers again after an outage."""
        now = self.p.clock()
        self.p.store.sync_feeds(config.feeds, lambda f, s: first_poll_after_start(
            f, s, now, random.uniform(0.0, 1.0)), now)

    def _network_back(self, config: Config) -> None:
        log.warning("the network is back: every feed is polled within one interval")
        self.forget_backoff(config)

    def _store(self, feed: Feed, config: Config, state: FeedState, started: datetime,
               parsed: ParsedFeed, matches: list[Match], outcome: Outcome,
               edits: Edits = NO_EDITS) -> PollResult:
        p = self.p
        # Checked again, with no await from here to the commit: another feed
        # carrying the same story may have stored it meanwhile.
        seen = p.store.triage(parsed.articles, claim_for(config))
        fresh = seen.fresh
        by_key = _matches_of(fresh, seen.original, matches)
        alerts = 0
        later: list[Later] = []  # story bookkeeping, once the commit is done
        p.stories.expire(started)
        with p.store.transaction():
            if by_key or edits.matches:
                p.before_queueing()
            ids = p.store.add_articles(fresh, started)
            p.store.remember(seen.shared, started)
            for m in by_key.values():
                alerts += p.queue(ids.get(m.article.key), m, started, later, config)
            alerts += queue_edits(p, edits, started, later, config)  # `realert` rules
            p.store.apply(self._decide(feed, config, state, started, outcome))
            p.store.count_new(feed.name, len(fresh))
        p.write_failed(None)
        for step in later:
            step()
        log.log(logging.INFO if fresh else logging.DEBUG,
                "feed=%s polled: %d entries, %d new, %d alerts", feed.name,
                len(parsed.articles), len(fresh), alerts)
        return PollResult(feed.name, 200, len(fresh), alerts, matches=len(by_key))

    def _record(self, feed: Feed, config: Config, state: FeedState, started: datetime,
                outcome: Outcome) -> FeedUpdate:
        update = self._decide(feed, config, state, started, outcome)
        with self.p.store.transaction():
            self.p.store.apply(update)
        self.p.write_failed(None)
        return update

    def _decide(self, feed: Feed, config: Config, state: FeedState, started: datetime,
                outcome: Outcome) -> FeedUpdate:
        now = self.p.config.feed(feed.name)
        if now is not None and now.url != feed.url:
            # A reload moved the feed while this poll was out: the new URL is due now,
            # and nothing the old one said (a 410, a backoff) applies to it.
            return FeedUpdate(feed.name, now.url, None, None, None, started, None,
                              outcome.status, outcome.error, 0, None, None, started, None)
        return after_poll(feed, state, outcome, started, config.settings,
                          self.network.down(started), random.uniform(0.95, 1.0))

    def _failed(self, feed: Feed, config: Config, started: datetime,
                e: Exception) -> PollResult:
        """Record any failure against the feed; if even that fails, its lease stands."""
        outcome = _failure(e)
        if isinstance(e, FetchError):
            self.network.record(feed.name, ok=False, when=started, network=e.network)
            if self.network.was_down == started:
                log.error("the network looks down: %s", self.network.reason(started))
        elif not isinstance(e, (ParseError, *DATABASE_ERRORS)):
            log.error("feed=%s poll failed unexpectedly", feed.name, exc_info=e)
        try:
            state = self.p.store.feed_state(feed.name)
            update = self._record(feed, config, state, started, outcome)
        except Exception as again:  # noqa: BLE001 - the claim's lease brings it back
            self.p.write_failed(again)
            log.error("feed=%s poll failed (%s) and could not be recorded (%s); it is "
                      "polled again when its claim lapses", feed.name, outcome.error, again)
            return PollResult(feed.name, outcome.status, error=outcome.error)
        wait = update.next_poll - started
        if update.disabled:
            log.error("feed=%s is gone (%s): polling stopped until its url changes",
                      feed.name, outcome.error)
        else:
            log.warning("feed=%s poll failed (%d in a row): %s; next try in %s", feed.name,
                        update.error_count, outcome.error, _human(wait.total_seconds()))
        return PollResult(feed.name, outcome.status, error=outcome.error)


def _outcome(response: Response, digest: str | None, ttl: float | None = None,
             fetch_url: str | None = None) -> Outcome:
    return Outcome(response.status, None, False, response.retry_after,
                   (ttl, response.fresh_for), response.etag, response.last_modified, digest,
                   fetch_url)


def _failure(e: Exception) -> Outcome:
    if isinstance(e, FetchError):
        return Outcome(e.status, str(e) or "fetch failed", e.network, e.retry_after)
    if isinstance(e, NewswatchError):
        return Outcome(error=str(e) or type(e).__name__)
    if isinstance(e, DATABASE_ERRORS):
        return Outcome(error=f"database: {e}")
    return Outcome(error=f"internal error: {type(e).__name__}: {str(e)[:200]}")


def _human(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 7200:
        return f"{seconds / 60:.0f}m"
    return f"{seconds / 3600:.1f}h"


def _matches_of(fresh: list[Article], original: dict[str, str], matches: list[Match],
                ) -> dict[str, Match]:
    """One match per new article (a feed may repeat one), by the key it is stored
    under: a match may have been made on the article as read, before it got a key of
    its own (store_seen.py)."""
    stored = {a.key: a for a in fresh} | {original[a.key]: a for a in fresh}
    by_key: dict[str, Match] = {}
    for m in matches:
        article = stored.get(m.article.key)
        if article is not None and article.key not in by_key:
            by_key[article.key] = m if article is m.article else replace(m, article=article)
    return by_key
