"""What the three loops share, and the loops themselves, top to bottom.

    poll loop     (polling.py)    due feeds -> fetch, parse, match -> articles + alerts
    embed loop    (embedding.py)  articles without a vector -> `about` rule alerts
    deliver loop  (delivery.py)   pending alerts -> each target, one message at a time

Each loop reads its work from the store, does it, and writes what came of it
back, whatever that was. Alerts are queued (`queue`) in the same transaction
that stores their article, one per article and target, once per story.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial

from .delivery import Delivery
from .embedding import Embedder
from .fetch import Fetcher
from .models import Config, Feed, Match
from .notify import Notifier
from .polling import Later, Poller, PollResult
from .store import Store
from .stories import Stories, Story
from .timestamps import now, parse_iso
from .workers import Parsers

log = logging.getLogger(__name__)
__all__ = ["Pipeline", "PollResult"]


@dataclass
class Pipeline:
    store: Store
    fetcher: Fetcher
    notifier: Notifier
    config: Config
    parsers: Parsers
    clock: Callable[[], datetime] = field(default_factory=lambda: now)  # tests move time

    def __post_init__(self) -> None:
        self.stats: Counter[str] = Counter()  # since start, for /metrics
        self.targets = _targets(self.config)
        self.stories = self._load_stories()
        # Feeds between fetch and commit at once: bounds the bodies and parsed
        # articles held in memory, however many feeds are due together.
        self.in_flight = asyncio.Semaphore(2 * self.config.settings.concurrency)
        self.write_error: str | None = None  # the last write that failed, until one works
        self.poller = Poller(self)
        self.embedder = Embedder(self)
        self.delivery = Delivery(self)

    def reconfigure(self, config: Config, notifier: Notifier) -> None:
        self.config, self.notifier = config, notifier
        self.targets = _targets(config)
        self.embedder.reconfigure()
        self.stories.window = config.settings.story_window
        self.stories.threshold = config.settings.story_threshold
        self.parsers.reconfigure(config)

    async def refresh(self, feed: Feed) -> PollResult:
        """Poll one feed now; never raises for anything the feed or the poll did."""
        return await self.poller.refresh(feed)

    async def deliver(self) -> int:
        return await self.delivery.deliver()

    async def embed(self, batch: int = 32) -> int:
        return await self.embedder.embed(batch)

    def write_failed(self, e: BaseException | None) -> None:
        """Note that a write to the database failed (for /healthz), or that one worked."""
        self.write_error = None if e is None else str(e) or type(e).__name__

    def before_queueing(self) -> None:
        """Call in a transaction that will queue alerts, before it does. On a database
        other instances share: wait for theirs to finish, and learn the stories they
        alerted meanwhile, so that one story alerts once whichever instance meets it."""
        if not self.store.shared:
            return
        self.store.serialize_alerts()
        since = self.clock() - timedelta(seconds=self.config.settings.story_window)
        self._join_stories(self.stories, self.store.story_articles(since, self._stories_seen))

    def queue(self, article_id: int | None, m: Match, when: datetime, later: list[Later],
              config: Config | None = None) -> int:
        """Queue an article's alerts (call in the transaction that stored it, or that
        matched it again: `about` rules, an edit) and return how many were queued. A
        story alerts again only for rules it had not matched; an article already in a
        story stays in it, whichever loop matches it; a target an article has alerted
        already is not sent it again (its alert records the new rules)."""
        if article_id is None:
            return 0
        article = m.article
        own, sent = self.store.alerts_of(article_id)
        story = self._story(article_id, own, m, when, later)
        told = self._told(own if own is not None else story.id if story else None, story)
        alerting = tuple(r for r in m.rules if r not in told)
        if not alerting:
            log.info("feed=%s title=%r is a story already alerted (article %d); "
                     "recorded, not sent", article.feed, article.title[:120],
                     story.id if story else article_id)
            return 0
        targets = _targets(config) if config is not None else self.targets
        by_target: dict[str, list[str]] = {}
        for rule in alerting:
            for target in targets.get(rule, ()):
                by_target.setdefault(target, []).append(rule)
        for target, names in by_target.items():
            if target not in sent:
                self.store.add_alert(article_id, target, names, m.snippet, when)
            elif (merged := tuple(dict.fromkeys((*sent[target], *names)))) != sent[target]:
                self.store.add_alert_rules(article_id, target, merged)
        queued = len(by_target.keys() - sent.keys())
        log.info("feed=%s match rules=%s title=%r: %d alerts queued", article.feed,
                 ",".join(alerting), article.title[:120], queued)
        return queued

    def _told(self, story_id: int | None, story: Story | None) -> set[str]:
        """The rules a story alerted already: as this process knows it, and as the
        database does (alerts other instances queued; rules recorded on an alert of
        this transaction, or of a story past the window that an article is still in)."""
        known = set(story.rules) if story is not None else set()
        return known | self.store.story_rules(story_id) if story_id is not None else known

    def _story(self, article_id: int, own: int | None, m: Match, when: datetime,
               later: list[Later]) -> Story | None:
        """The story an article belongs to: its own if it has one (None once past the
        window), else one another feed told, else none (it starts one). Memory follows
        once the transaction is committed (`later`)."""
        article, rules = m.article, set(m.rules)
        if own is not None:
            story = self.stories.stories.get(own)
        elif (story := self.stories.find(article.feed, article.title, when)) is not None:
            self.store.set_story(article_id, story.id)
        else:
            self.store.set_story(article_id, article_id)
            later.append(partial(self.stories.start, article_id, article.feed, article.title,
                                 rules, when))
        if story is not None:
            later.append(partial(self.stories.join, story, article.feed, rules))
        return story

    async def prune(self) -> None:
        """Past the retention period: drop article text, then the articles no alert
        refers to (their identities stay, so they never count as new again). In
        batches of a thousand, so the loops go on between them."""
        settings = self.config.settings
        cutoff = self.clock() - timedelta(seconds=settings.retention)
        # Stories look back `story_window`: the articles inside it stay.
        rows_cutoff = min(cutoff, self.clock() - timedelta(seconds=settings.story_window))
        steps = ((self.store.prune_text, cutoff, "dropped the text of %d articles"),
                 (self.store.prune_rows, rows_cutoff, "deleted %d articles"))
        for step, before, said in steps:
            total = 0
            while dropped := step(before):
                total += dropped
                await asyncio.sleep(0)
            if total:
                log.info(said + " older than the retention period", total)

    def _load_stories(self) -> Stories:
        settings = self.config.settings
        stories = Stories(settings.story_window, settings.story_threshold)
        since = self.clock() - timedelta(seconds=settings.story_window)
        self._stories_seen = 0  # the last article read into `stories` from the database
        self._join_stories(stories, self.store.story_articles(since))
        return stories

    def _join_stories(self, stories: Stories,
                      rows: list[tuple[int, int, str, str, str, list[str]]]) -> None:
        for story_id, article_id, feed, title, found, rules in rows:
            when = parse_iso(found) or self.clock()
            if story_id in stories.stories:
                stories.join(stories.stories[story_id], feed, set(rules))
            else:
                stories.start(story_id, feed, title, set(rules), when)
            self._stories_seen = max(self._stories_seen, article_id)


def _targets(config: Config) -> dict[str, tuple[str, ...]]:
    """Rule name -> the targets its alerts go to."""
    return {r.name: config.targets_for(r) for r in config.rules}
