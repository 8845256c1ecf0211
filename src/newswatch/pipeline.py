"""One feed refresh and one outbox pass, reading like the data flow.

refresh: fetch -> not modified? -> parse -> keep only unseen articles ->
match -> store articles and their alerts in one transaction -> schedule the
next poll. deliver: send each target's pending alerts in order; a target
that fails waits with a growing delay and holds back only its own alerts.
"""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from .errors import FetchError, NotifyError, ParseError
from .fetch import Fetcher, Response
from .models import Article, Config, Feed, Match
from .notify import Notifier
from .parse import parse_feed
from .rules import Matcher, snippet
from .rules.compile import compile_rules, document
from .store import Outgoing, Store, iso, now, parse_iso, retry_delay

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Rules:
    """The compiled rule set and where each rule's alerts go."""

    matcher: Matcher
    targets: dict[str, tuple[str, ...]]

    tags: dict[str, tuple[str, ...]]  # feed name -> its tags, for scoped rules

    @classmethod
    def compile(cls, config: Config) -> Rules:
        return cls(compile_rules(config), {r.name: config.targets_for(r) for r in config.rules},
                   {f.name: f.tags for f in config.feeds})

    def match(self, article: Article) -> Match | None:
        doc = document(article)
        names = self.matcher.match(doc, article.feed, self.tags.get(article.feed, ()))
        if not names:
            return None
        return Match(article, tuple(names), snippet(doc, self.matcher.nodes(names)))


@dataclass
class PollResult:
    feed: str
    status: int | None = None
    new: int = 0
    alerts: int = 0
    error: str | None = None


@dataclass
class Pipeline:
    store: Store
    fetcher: Fetcher
    notifier: Notifier
    config: Config
    rules: Rules
    _delivering: asyncio.Lock = field(default_factory=asyncio.Lock)

    def reconfigure(self, config: Config, rules: Rules, notifier: Notifier) -> None:
        self.config, self.rules, self.notifier = config, rules, notifier

    async def refresh(self, feed: Feed) -> PollResult:
        """Poll one feed; never raises for a feed's own failure."""
        state = self.store.feed_state(feed.name)
        same_url = state.url == feed.url
        started = now()
        try:
            response = await self.fetcher.fetch(
                feed.url, state.etag if same_url else None,
                state.last_modified if same_url else None)
            if response.not_modified:
                return self._record_unchanged(feed, response, started)
            parsed = await asyncio.to_thread(parse_feed, feed.name, response.body,
                                             response.headers)
        except (FetchError, ParseError) as e:
            return self._record_failure(feed, state.error_count, e, started)
        if parsed.warning:
            log.info("feed=%s %s", feed.name, parsed.warning)
        # No await from here to the commit: two feeds carrying the same story
        # cannot both see it as new.
        return self._store_articles(feed, response, parsed.articles, not state.polled, started)

    def _store_articles(self, feed: Feed, response: Response, articles: list[Article],
                        first_poll: bool, started: datetime) -> PollResult:
        fresh = self.store.unseen(articles)
        alertable = fresh
        if first_poll:
            cutoff = started - timedelta(seconds=self.config.settings.backfill)
            alertable = [a for a in fresh if a.published and a.published >= cutoff]
        matches = [m for a in alertable if (m := self.rules.match(a))]
        alerts = 0
        with self.store.transaction():
            ids = self.store.add_articles(fresh, started)
            for m in matches:
                alerts += self._queue(ids.get(m.article.key), m, started)
            self._record_success(feed, response, started)
            self.store.count_poll(feed.name, len(fresh))
        log.log(logging.INFO if fresh else logging.DEBUG,
                 "feed=%s polled: %d entries, %d new, %d alerts", feed.name, len(articles),
                 len(fresh), alerts)
        return PollResult(feed.name, 200, len(fresh), alerts)

    def _queue(self, article_id: int | None, m: Match, when: datetime) -> int:
        if article_id is None:
            return 0
        by_target: dict[str, list[str]] = {}
        for rule in m.rules:
            for target in self.rules.targets.get(rule, ()):
                by_target.setdefault(target, []).append(rule)
        for target, rules in by_target.items():
            self.store.add_alert(article_id, target, rules, m.snippet, when)
        log.info("feed=%s match rules=%s title=%r", m.article.feed, ",".join(m.rules),
                 m.article.title[:120])
        return len(by_target)

    def _next_poll(self, feed: Feed, started: datetime, wait: float | None = None) -> str | None:
        delay = max(feed.interval, wait or 0.0) * random.uniform(0.95, 1.0)
        return iso(started + timedelta(seconds=delay))

    def _record_success(self, feed: Feed, response: Response, started: datetime) -> None:
        self.store.update_feed(
            feed.name, url=feed.url, etag=response.etag, last_modified=response.last_modified,
            last_poll=iso(started), last_success=iso(started), last_status=response.status,
            last_error=None, error_count=0,
            next_poll=self._next_poll(feed, started, response.retry_after))
        if response.moved_to:
            log.warning("feed=%s moved permanently; update its url in the config", feed.name)

    def _record_unchanged(self, feed: Feed, response: Response, started: datetime) -> PollResult:
        self.store.update_feed(
            feed.name, last_poll=iso(started), last_success=iso(started), last_status=304,
            last_error=None, error_count=0,
            next_poll=self._next_poll(feed, started, response.retry_after))
        self.store.count_poll(feed.name, 0)
        log.debug("feed=%s not modified", feed.name)
        return PollResult(feed.name, 304)

    def _record_failure(self, feed: Feed, errors: int, e: Exception,
                        started: datetime) -> PollResult:
        errors += 1
        backoff = min(feed.interval * 2 ** min(errors - 1, 16), self.config.settings.max_backoff)
        status = e.status if isinstance(e, FetchError) else None
        self.store.update_feed(
            feed.name, url=feed.url, last_poll=iso(started), last_status=status,
            last_error=str(e), error_count=errors,
            next_poll=iso(started + timedelta(seconds=max(backoff, feed.interval))))
        log.warning("feed=%s poll failed (%d in a row): %s", feed.name, errors, e)
        return PollResult(feed.name, status, error=str(e))

    def prune(self) -> None:
        """Drop article text older than the retention period."""
        cutoff = now() - timedelta(seconds=self.config.settings.retention)
        if dropped := self.store.prune_text(cutoff):
            log.info("dropped the text of %d articles older than the retention period", dropped)

    async def deliver(self) -> int:
        """Send every due pending alert; return how many were accepted."""
        async with self._delivering:
            pending = self.store.pending(self.notifier.names())
            sent = await asyncio.gather(*(self._deliver_target(t, items)
                                          for t, items in pending.items()))
            return sum(sent)

    async def _deliver_target(self, target: str, items: list[Outgoing]) -> int:
        sent = 0
        for alert in items:
            due = parse_iso(alert.next_attempt)
            if due and due > now():
                break  # keep this target's messages in order
            try:
                await self.notifier.send_alert(alert)
            except NotifyError as e:
                retry_at = now() + retry_delay(alert.attempts + 1)
                self.store.mark_failed_attempt(alert.id, str(e), retry_at)
                log.warning("target=%s alert=%d not sent (attempt %d): %s; next try at %s",
                            target, alert.id, alert.attempts + 1, e, iso(retry_at))
                break
            self.store.mark_sent(alert.id, now())
            sent += 1
            log.info("target=%s alert=%d sent", target, alert.id)
        return sent
