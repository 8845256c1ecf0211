"""The embed loop: articles without a vector -> vectors -> alerts for `about` rules.

Articles found within `backfill` are embedded in batches, in a thread; the
alerts they meet are queued in the same transaction as their vectors, so a
crash neither loses nor repeats one. Which articles may alert is decided as
for keyword rules: on a feed's first poll, only those dated within `backfill`.
A failing model is logged and retried on the next pass; it never stops polling
or delivery.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from . import semantic
from .models import Article, Match, Rule
from .rules import Matcher
from .rules.compile import compile_rules, document, scope
from .rules.matcher import in_scope
from .timestamps import parse_iso

if TYPE_CHECKING:
    from .pipeline import Pipeline

log = logging.getLogger(__name__)
EVERY = 5.0  # seconds between looks at the backlog when nothing wakes the loop


def alertable(published: datetime | None, found: datetime, first_poll: datetime | None,
              backfill: timedelta) -> bool:
    """May an article alert? As a keyword rule decides (workers._alertable): one met on
    its feed's first poll only when dated within `backfill` of it (older news, and news
    of no date, is recorded, not alerted); one met on a later poll, whatever its date."""
    if first_poll is None or found > first_poll:
        return True
    return published is not None and published >= found - backfill


class Embedder:
    def __init__(self, pipeline: Pipeline) -> None:
        self.p = pipeline
        self.queued: Counter[str] = Counter()  # alerts queued, by the feed of their article
        # When each feed's first poll met articles: it never changes, and finding it scans.
        self._first_polls: dict[str, str] = {}
        self._embedding = asyncio.Lock()
        self._wake = asyncio.Event()
        self._texts: dict[tuple[str, str, bool], Any] = {}  # (model, text, is intent) -> vector
        self._limits: dict[tuple[Any, ...], tuple[Any, float]] = {}
        self._gate_matcher: Matcher | None = None

    def reconfigure(self) -> None:
        self._gate_matcher = None

    def wake(self) -> None:
        """New articles: score them now, not at the next look."""
        self._wake.set()

    async def run(self, stopping: asyncio.Event) -> None:
        while not stopping.is_set():
            self._wake.clear()  # a wake during the pass brings another one
            try:
                if await self.embed():
                    self.p.delivery.wake()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - a failing model must not stop the loop
                log.exception("embedding articles for `about` rules failed; will retry")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), EVERY)

    async def embed(self, batch: int = 32) -> int:
        """Embed the articles found since `backfill` that have no vector yet, and queue
        alerts for the `about` rules they meet; return how many alerts were queued."""
        rules = self.p.config.about_rules
        if not rules or self._embedding.locked():
            return 0  # nothing to do, or a pass is already working through the backlog
        async with self._embedding:
            model = await asyncio.to_thread(semantic.configured, self.p.config.settings)
            gates = self._gates()
            meanings: list[tuple[Rule, semantic.Meaning]] = []
            limits: dict[str, float] = {}
            queued = 0
            while True:
                now_ = self.p.clock()
                backfill = timedelta(seconds=self.p.config.settings.backfill)
                articles = self.p.store.unembedded(model.name, now_ - backfill, batch)
                if not articles:
                    return queued
                if not meanings:  # once a pass, and only when there is something to score
                    said = self.p.store.feedback()
                    meanings = [(r, await self._meaning(model, r, said.get(r.name, ([], []))))
                                for r in rules]
                    limits = {r.name: self._limit(model, r, m) for r, m in meanings}
                vectors, rows = await asyncio.to_thread(semantic.embed, model, articles)
                # Every rule's scores for the whole batch at once: a row per rule.
                scores = [meaning.scores(vectors) for _, meaning in meanings]
                news = self._news(articles, now_, backfill)
                hits = {a.row_id: found for n, a in enumerate(articles)
                        if a.row_id is not None and a.row_id in news
                        and (found := self._about_hits(a, [float(s[n]) for s in scores],
                                                       meanings, gates, limits))}
                queued += self._store(model.name, articles, rows, hits, now_)

    def _store(self, model: str, articles: list[Article], rows: list[tuple[int, bytes]],
               hits: dict[int, list[tuple[str, float]]], now_: datetime) -> int:
        """Store a batch's vectors and queue the alerts they meet: the articles without
        any in one transaction, each with some in its own, with its vector (a crash
        neither loses nor repeats an alert), so that the next one sees the story it
        started or joined: copies of one event from two feeds alert once."""
        with self.p.store.transaction():
            self.p.store.add_vectors(model, [r for a, r in zip(articles, rows, strict=True)
                                             if a.row_id not in hits])
        queued = 0
        for article, row in zip(articles, rows, strict=True):
            if not (met := hits.get(article.row_id or 0)):
                continue
            best = max(score for _, score in met)
            text = " ".join((article.summary or article.content).split()[:30])
            m = Match(article, tuple(name for name, _ in met),
                      f"(semantic match, similarity {best:.2f}) {text}")
            later: list[Callable[[], object]] = []
            with self.p.store.transaction():
                self.p.before_queueing()
                self.p.store.add_vectors(model, [row])
                alerts = self.p.queue(article.row_id, m, now_, later)
            for step in later:
                step()
            self.queued[article.feed] += alerts
            queued += alerts
        return queued

    def _news(self, articles: list[Article], now_: datetime, backfill: timedelta) -> set[int]:
        """The articles an alert may be about, by row id, as for keyword rules: every one
        met on a later poll; of those met on their feed's first poll, the ones dated
        within `backfill` of it."""
        doubtful = [a.row_id for a in articles
                    if a.row_id and (not a.published or a.published < now_ - backfill)]
        found = self.p.store.found_times(doubtful) if doubtful else {}
        if unknown := {feed for feed, _ in found.values()} - self._first_polls.keys():
            self._first_polls.update(self.p.store.first_polls(unknown))
        news = {a.row_id for a in articles if a.row_id}
        for a in articles:
            if a.row_id in found:
                feed, when = found[a.row_id]
                first = parse_iso(self._first_polls.get(feed))
                if not alertable(a.published, parse_iso(when) or now_, first, backfill):
                    news.discard(a.row_id)
        return news

    async def _meaning(self, model: semantic.Embedder, rule: Rule,
                       said: tuple[list[str], list[str]]) -> semantic.Meaning:
        """A rule's intent, examples and counter-examples as vectors: those of its config
        and the alerts users judged right and wrong (`newswatch feedback`)."""
        return await asyncio.to_thread(semantic.meaning, model, rule.about,
                                       [*rule.examples, *said[0]],
                                       [*rule.not_about, *said[1]], self._texts)

    def _gates(self) -> Matcher:
        """The queries that gate `about` rules (mode "all"), compiled once per config."""
        if self._gate_matcher is None:
            self._gate_matcher = compile_rules(
                self.p.config, lambda r: bool(r.about and r.query and r.mode == "all"))
        return self._gate_matcher

    def _limit(self, model: semantic.Embedder, rule: Rule, meaning: semantic.Meaning) -> float:
        """A rule's similarity threshold; for "top X%", the score that only X% of the
        articles of the last week reach (0.85 until 200 articles have a vector)."""
        if rule.by_examples:
            return semantic.examples_threshold(meaning, len(rule.examples))
        if not rule.top:
            return rule.threshold
        key = (model.name, rule.about, rule.top, *(0 if m is None else len(m)
                                                   for m in (meaning.like, meaning.unlike)))
        cached = self._limits.get(key)
        if cached and self.p.clock() - cached[0] < timedelta(minutes=10):
            return cached[1]
        since = self.p.clock() - timedelta(days=7)
        blobs = [blob for _, blob in self.p.store.vectors(model.name, since)]
        if len(blobs) < semantic.MIN_SAMPLE:
            return semantic.FALLBACK_THRESHOLD
        import numpy as np

        scores = meaning.scores(np.stack([semantic.from_blob(b) for b in blobs]))
        limit = float(np.quantile(scores, 1 - rule.top))
        self._limits[key] = (self.p.clock(), limit)
        return limit

    def _about_hits(self, article: Article, scores: list[float],
                    meanings: list[tuple[Rule, semantic.Meaning]],
                    gates: Matcher, limits: dict[str, float]) -> list[tuple[str, float]]:
        """The rules an article meets, with its score for each (`scores`: one a rule,
        in the order of `meanings`)."""
        feed = self.p.config.feed(article.feed)
        tags = feed.tags if feed else ()
        passed: set[str] | None = None
        hits = []
        for (rule, _), score in zip(meanings, scores, strict=True):
            if not in_scope(*scope(rule), article.feed, tags):
                continue
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

