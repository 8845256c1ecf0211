"""One feed refresh and one outbox pass, reading like the data flow.

refresh: fetch -> not modified? -> parse -> keep only unseen articles ->
match -> store articles and their alerts in one transaction -> schedule the
next poll. deliver: send each target's pending alerts in order; a target
that fails waits with a growing delay and holds back only its own alerts.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from functools import partial
from typing import Any

from . import semantic
from .errors import FetchError, NoAnswer, NotifyError, ParseError
from .fetch import Fetcher, Response, public_url
from .models import Article, Config, Feed, Match, Rule
from .notify import Notifier
from .outbox import Policy, plan
from .parse import ParsedFeed
from .rules import Matcher
from .rules.compile import compile_rules, document, scope
from .rules.matcher import in_scope
from .store import Outgoing, Store, iso, now, parse_iso, retry_delay
from .stories import Stories
from .workers import Parsers

log = logging.getLogger(__name__)


@dataclass
class PollResult:
    feed: str
    status: int | None = None
    new: int = 0
    alerts: int = 0
    error: str | None = None
    matches: int = 0


@dataclass
class Pipeline:
    store: Store
    fetcher: Fetcher
    notifier: Notifier
    config: Config
    parsers: Parsers
    clock: Callable[[], datetime] = field(default_factory=lambda: now)  # tests move time
    _delivering: asyncio.Lock = field(default_factory=asyncio.Lock)
    _embedding: asyncio.Lock = field(default_factory=asyncio.Lock)
    _intents: dict[tuple[str, str], Any] = field(default_factory=dict)
    _limits: dict[tuple[str, str, float], tuple[datetime, float]] = field(default_factory=dict)
    _gate_matcher: Matcher | None = None

    def __post_init__(self) -> None:
        self.stats: Counter[str] = Counter()  # since start, for /metrics
        self.targets = _targets(self.config)
        self.stories = self._load_stories()
        # Feeds between fetch and commit at once: bounds the bodies and parsed
        # articles held in memory, however many feeds are due together.
        self.in_flight = asyncio.Semaphore(2 * self.config.settings.concurrency)

    def reconfigure(self, config: Config, notifier: Notifier) -> None:
        self.config, self.notifier = config, notifier
        self.targets = _targets(config)
        self._gate_matcher = None
        self.stories.window = config.settings.story_window
        self.stories.threshold = config.settings.story_threshold
        self.parsers.reconfigure(config)

    async def refresh(self, feed: Feed) -> PollResult:
        """Poll one feed; never raises for a feed's own failure."""
        async with self.in_flight:
            result = await self._refresh(feed)
        self.stats["polls"] += 1
        self.stats["poll_errors"] += result.error is not None
        self.stats["articles"] += result.new
        self.stats["matches"] += result.matches
        return result

    async def _refresh(self, feed: Feed) -> PollResult:
        state = self.store.feed_state(feed.name)
        same_url = state.url == feed.url  # the config's URL changed: start afresh
        if same_url and state.disabled:
            return PollResult(feed.name, error=f"disabled: {state.disabled}")
        started = self.clock()
        moved = state.fetch_url if same_url else None
        try:
            response = await self.fetcher.fetch(
                moved or feed.url,
                state.etag if same_url else None,
                state.last_modified if same_url else None)
            digest = hashlib.sha256(response.body).hexdigest() if response.body else None
            if response.not_modified or (same_url and digest == state.body_hash):
                return self._record_unchanged(feed, response, started)
            args = (feed.name, response.body, response.headers, response.encoding,
                    self.config.settings.max_body)
            if not state.polled:  # first poll: older articles are recorded, not alerted
                cutoff = started - timedelta(seconds=self.config.settings.backfill)
                parsed, matches = await self.parsers.parse_and_match(*args, cutoff)
            else:
                parsed = await self.parsers.parse(*args)
                matches = await self.parsers.match(self.store.unseen(parsed.articles))
        except (FetchError, ParseError) as e:
            return self._record_failure(feed, state.error_count if same_url else 0, e, started,
                                        reset=not same_url)
        if parsed.warning:
            log.info("feed=%s %s", feed.name, parsed.warning)
        return self._store_articles(feed, response, parsed, matches, started, digest,
                                    response.moved_to or moved)

    def _store_articles(self, feed: Feed, response: Response, parsed: ParsedFeed,
                        matches: list[Match], started: datetime, digest: str | None,
                        fetch_url: str | None) -> PollResult:
        articles = parsed.articles
        # Checked again, with no await from here to the commit: another feed
        # carrying the same story may have stored it meanwhile.
        fresh = self.store.unseen(articles)
        keys = {a.key for a in fresh}
        by_key: dict[str, Match] = {}  # one match per article (a feed may repeat one)
        for m in matches:
            if m.article.key in keys:
                by_key.setdefault(m.article.key, m)
        matches = list(by_key.values())
        alerts = 0
        later: list[Callable[[], object]] = []  # story bookkeeping, once the commit is done
        self.stories.expire(started)
        with self.store.transaction():
            ids = self.store.add_articles(fresh, started)
            for m in matches:
                alerts += self._queue(ids.get(m.article.key), m, started, later)
            self._record_success(feed, response, started, parsed.ttl, digest, fetch_url)
            self.store.count_poll(feed.name, len(fresh))
        for step in later:
            step()
        log.log(logging.INFO if fresh else logging.DEBUG,
                "feed=%s polled: %d entries, %d new, %d alerts", feed.name, len(articles),
                len(fresh), alerts)
        return PollResult(feed.name, 200, len(fresh), alerts, matches=len(matches))

    def _queue(self, article_id: int | None, m: Match, when: datetime,
               later: list[Callable[[], object]]) -> int:
        if article_id is None:
            return 0
        article, rules = m.article, set(m.rules)
        story = self.stories.find(article.feed, article.title, when)
        if story is None:
            self.store.set_story(article_id, article_id)
            later.append(partial(self.stories.start, article_id, article.feed, article.title,
                                 rules, when))
            alerting = m.rules
        else:
            self.store.set_story(article_id, story.id)
            later.append(partial(self.stories.join, story, article.feed, rules))
            alerting = tuple(r for r in m.rules if r not in story.rules)
            if not alerting:
                log.info("feed=%s title=%r is a story already alerted (article %d); "
                         "recorded, not sent", article.feed, article.title[:120], story.id)
                return 0
        by_target: dict[str, list[str]] = {}
        for rule in alerting:
            for target in self.targets.get(rule, ()):
                by_target.setdefault(target, []).append(rule)
        for target, names in by_target.items():
            self.store.add_alert(article_id, target, names, m.snippet, when)
        log.info("feed=%s match rules=%s title=%r", m.article.feed, ",".join(alerting),
                 m.article.title[:120])
        return len(by_target)

    # -- semantic (`about`) rules ------------------------------------------------

    async def embed(self, batch: int = 32) -> int:
        """Embed the articles found since `backfill` that have no vector yet, and queue
        alerts for the `about` rules they meet; return how many alerts were queued."""
        rules = self.config.about_rules
        if not rules or self._embedding.locked():
            return 0  # nothing to do, or a pass is already working through the backlog
        async with self._embedding:
            model = await asyncio.to_thread(semantic.configured, self.config.settings)
            intents = [(r, await self._intent(model, r.about)) for r in rules]
            gates = self._gates()
            limits: dict[str, float] | None = None
            queued = 0
            while True:
                now_ = self.clock()
                backfill = timedelta(seconds=self.config.settings.backfill)
                articles = self.store.unembedded(model.name, now_ - backfill, batch)
                if not articles:
                    return queued
                if limits is None:
                    limits = {r.name: self._limit(model, r, intent) for r, intent in intents}
                vectors, rows = await asyncio.to_thread(semantic.embed, model, articles)
                later: list[Callable[[], object]] = []
                with self.store.transaction():
                    self.store.add_vectors(model.name, rows)
                    for article, vector in zip(articles, vectors, strict=True):
                        if article.published and article.published < now_ - backfill:
                            continue  # old news met on a first poll: recorded, not alerted
                        hits = self._about_hits(article, vector, intents, gates, limits)
                        if hits:
                            best = max(score for _, score in hits)
                            text = " ".join((article.summary or article.content).split()[:30])
                            m = Match(article, tuple(name for name, _ in hits),
                                      f"(semantic match, similarity {best:.2f}) {text}")
                            queued += self._queue(article.row_id, m, now_, later)
                for step in later:
                    step()

    async def _intent(self, model: semantic.Embedder, about: str) -> Any:
        key = (model.name, about)
        if key not in self._intents:
            self._intents[key] = await asyncio.to_thread(model.query, about)
        return self._intents[key]

    def _gates(self) -> Matcher:
        """The queries that gate `about` rules (mode "all"), compiled once per config."""
        if self._gate_matcher is None:
            self._gate_matcher = compile_rules(
                self.config, lambda r: bool(r.about and r.query and r.mode == "all"))
        return self._gate_matcher

    def _limit(self, model: semantic.Embedder, rule: Rule, intent: Any) -> float:
        """A rule's similarity threshold; for "top X%", the score that only X% of the
        articles of the last week reach (0.85 until 200 articles have a vector)."""
        if not rule.top:
            return rule.threshold
        key = (model.name, rule.about, rule.top)
        cached = self._limits.get(key)
        if cached and self.clock() - cached[0] < timedelta(minutes=10):
            return cached[1]
        since = self.clock() - timedelta(days=7)
        blobs = [blob for _, blob in self.store.vectors(model.name, since)]
        if len(blobs) < semantic.MIN_SAMPLE:
            return semantic.FALLBACK_THRESHOLD
        import numpy as np

        scores = np.stack([semantic.from_blob(b) for b in blobs]) @ intent
        limit = float(np.quantile(scores, 1 - rule.top))
        self._limits[key] = (self.clock(), limit)
        return limit

    def _about_hits(self, article: Article, vector: Any, intents: list[tuple[Rule, Any]],
                    gates: Matcher, limits: dict[str, float]) -> list[tuple[str, float]]:
        feed = self.config.feed(article.feed)
        tags = feed.tags if feed else ()
        passed: set[str] | None = None
        hits = []
        for rule, intent in intents:
            if not in_scope(*scope(rule), article.feed, tags):
                continue
            score = float(vector @ intent)
            if score < limits[rule.name]:
                continue
            if rule.query and rule.mode == "all":
                if passed is None:
                    language = feed.language if feed and feed.language else None
                    passed = set(gates.match(document(article, language), article.feed, tags))
                if rule.name not in passed:
                    continue
            hits.append((rule.name, score))
        return hits

    def _load_stories(self) -> Stories:
        settings = self.config.settings
        stories = Stories(settings.story_window, settings.story_threshold)
        since = now() - timedelta(seconds=settings.story_window)
        for story_id, _, feed, title, found, rules in self.store.story_articles(since):
            when = parse_iso(found) or now()
            if story_id in stories.stories:
                stories.join(stories.stories[story_id], feed, set(rules))
            else:
                stories.start(story_id, feed, title, set(rules), when)
        return stories

    def _next_poll(self, feed: Feed, started: datetime, wait: float | None = None,
                   hints: tuple[float | None, ...] = ()) -> str | None:
        """The feed's interval, lengthened by its own hints (ttl, max-age) up to a bound,
        and never sooner than a Retry-After; with a little jitter."""
        hinted = max((h for h in hints if h), default=0.0)
        interval = max(feed.interval, min(hinted, self.config.settings.max_hint))
        delay = max(interval * random.uniform(0.95, 1.0), wait or 0.0)
        return iso(started + timedelta(seconds=delay))

    def _record_success(self, feed: Feed, response: Response, started: datetime,
                        ttl: float | None, digest: str | None, fetch_url: str | None) -> None:
        if response.moved_to:
            log.warning("feed=%s moved permanently to %s; polling it there (update the config)",
                        feed.name, public_url(response.moved_to))
        self.store.update_feed(
            feed.name, url=feed.url, fetch_url=fetch_url, etag=response.etag,
            last_modified=response.last_modified, last_poll=iso(started),
            last_success=iso(started), last_status=response.status, last_error=None,
            error_count=0, body_hash=digest, disabled=None,
            next_poll=self._next_poll(feed, started, response.retry_after,
                                      (ttl, response.fresh_for)))

    def _record_unchanged(self, feed: Feed, response: Response, started: datetime) -> PollResult:
        self.store.update_feed(
            feed.name, url=feed.url, last_poll=iso(started), last_success=iso(started),
            last_status=response.status, last_error=None, error_count=0,
            next_poll=self._next_poll(feed, started, response.retry_after, (response.fresh_for,)))
        self.store.count_poll(feed.name, 0)
        log.debug("feed=%s not modified", feed.name)
        return PollResult(feed.name, response.status)

    def _record_failure(self, feed: Feed, errors: int, e: Exception, started: datetime,
                        reset: bool = False) -> PollResult:
        errors += 1
        settings = self.config.settings
        backoff = min(feed.interval * 2 ** min(errors - 1, 16), settings.max_backoff)
        wait = max(backoff, feed.interval)
        status = e.status if isinstance(e, FetchError) else None
        if isinstance(e, FetchError) and e.retry_after:
            wait = max(wait, e.retry_after)
        fields: dict[str, object] = {"url": feed.url}
        if status == 410:
            fields["disabled"] = str(e)
            log.error("feed=%s is gone (%s): polling stopped until its url changes",
                      feed.name, e)
        else:
            log.warning("feed=%s poll failed (%d in a row): %s; next try in %s", feed.name,
                        errors, e, _human(wait))
        if reset:  # a new URL in the config: the old one's state no longer applies
            fields.update(etag=None, last_modified=None, body_hash=None, fetch_url=None)
        self.store.update_feed(
            feed.name, last_poll=iso(started), last_status=status, last_error=str(e),
            error_count=errors, next_poll=iso(started + timedelta(seconds=wait)), **fields)
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

    def _policy(self, target: str) -> Policy:
        t = self.notifier.targets[target]
        quiet = None
        if t.quiet_hours:
            quiet = (time.fromisoformat(t.quiet_hours[0].zfill(5)),
                     time.fromisoformat(t.quiet_hours[1].zfill(5)))
        return Policy(t.digest, t.max_per_hour, quiet, t.timezone)

    async def _deliver_target(self, target: str, items: list[Outgoing]) -> int:
        clock = self.clock()
        due: list[Outgoing] = []
        for alert in items:
            when = parse_iso(alert.next_attempt)
            if when and when > clock:
                break  # keep this target's messages in order
            due.append(alert)
        policy = self._policy(target)
        hour_ago = clock - timedelta(hours=1)
        recent = self.store.messages_sent(target, hour_ago) if policy.max_per_hour else 0
        messages = plan(policy, due, clock, recent)
        sent = 0
        while messages:
            receipts = [_Receipt(self.store, [a.id for a in m], self.clock) for m in messages]
            done, error = await self.notifier.deliver(target, messages, receipts)
            for message in messages[:done]:
                sent += len(message)
                log.info("target=%s %s sent", target,
                         f"alert={message[0].id}" if len(message) == 1
                         else f"digest of {len(message)} alerts")
            if error is None or not self._failed(target, messages[done], error):
                break
            messages = messages[done + 1:]  # every alert of it failed for good: go on
        return sent

    def _failed(self, target: str, message: list[Outgoing], e: NotifyError) -> bool:
        """Record a failed send of a message; True if all its alerts have now given up."""
        settings, clock = self.config.settings, self.clock()
        all_given_up = True
        for alert in message:
            retry_at = clock + retry_delay(alert.attempts + 1, settings.retry_delay,
                                           settings.retry_max)
            created = parse_iso(alert.created) or clock
            give_up = clock - created >= timedelta(seconds=settings.give_up)
            # Unanswered, it may still be taken: it stays marked on its way till then.
            self.store.mark_failed_attempt(alert.id, str(e), retry_at, give_up,
                                           answered=not isinstance(e, NoAnswer))
            if give_up:
                log.error("target=%s alert=%d failed for good after %d attempts: %s "
                          "(`newswatch retry` sends it again)", target, alert.id,
                          alert.attempts + 1, e)
            else:
                all_given_up = False
                log.warning("target=%s alert=%d not sent (attempt %d): %s; next try at %s",
                            target, alert.id, alert.attempts + 1, e, iso(retry_at))
        return all_given_up


@dataclass
class _Receipt:
    """A message's alerts marked leaving, then sent, from the thread that sends it."""

    store: Store
    ids: list[int]
    clock: Callable[[], datetime]

    def leaving(self) -> bool:
        return self.store.mark_sending(self.ids, self.clock()) > 0

    def accepted(self) -> None:
        self.store.mark_sent(self.ids, self.clock())


def _targets(config: Config) -> dict[str, tuple[str, ...]]:
    """Rule name -> the targets its alerts go to."""
    return {r.name: config.targets_for(r) for r in config.rules}


def _human(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 7200:
        return f"{seconds / 60:.0f}m"
    return f"{seconds / 3600:.1f}h"
